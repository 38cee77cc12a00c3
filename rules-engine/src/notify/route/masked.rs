//! The configuration as `/api/v2/status` shows it (`config.original`):
//! the text the user wrote, re-serialized with every secret replaced by
//! `<secret>`, as Alertmanager shows its secrets. Secrets are found by key
//! (every field that vigil reads as a secret, in any integration or HTTP
//! client block), so an unknown place holding a key of that name is masked
//! too: showing too little is the safe mistake. `${ENV}` references are
//! shown as written, never expanded.
//!
//! A webhook's `url` is shown as `<scheme>://<secret>/`: Alertmanager 0.25
//! reads that field as a plain URL, so amtool (`amtool config routes`
//! parses the served configuration) refuses a bare `<secret>` there.

use yaml_serde::Value;

/// What Alertmanager prints instead of a secret.
pub const MASK: &str = "<secret>";

/// The keys whose values are secrets (vigil's `Secret` fields). URLs of
/// webhooks and Slack carry their own credentials, so they are secrets.
const SECRET_KEYS: [&str; 27] = [
    "smtp_auth_password",
    "smtp_auth_secret",
    "slack_api_url",
    "opsgenie_api_key",
    "victorops_api_key",
    "wechat_api_secret",
    "auth_password",
    "auth_secret",
    "api_url",
    "url",
    "password",
    "bearer_token",
    "credentials",
    "api_key",
    // The other integrations' (PagerDuty, Telegram, SNS, Pushover,
    // WeChat, Discord, Teams, Mattermost, Rocket.Chat, incident.io) keys,
    // tokens and webhook URLs.
    "routing_key",
    "service_key",
    "bot_token",
    "secret_key",
    "token",
    "user_key",
    "api_secret",
    "webhook_url",
    "token_id",
    "alert_source_token",
    // OAuth2's client secret; Rocket.Chat's global credentials.
    "client_secret",
    "rocketchat_token",
    "rocketchat_token_id",
];

/// Secrets that are URLs: shown as a URL, so that a reader that parses the
/// field as one still can.
const URL_KEYS: [&str; 3] = ["url", "api_url", "webhook_url"];

/// `text` (a YAML document) with its secrets masked; empty when it is not
/// YAML (it was checked before, so that does not happen in practice).
pub fn masked(text: &str) -> String {
    let Ok(mut v) = yaml_serde::from_str::<Value>(text) else {
        return String::new();
    };
    mask(&mut v);
    yaml_serde::to_string(&v).unwrap_or_default()
}

/// `https://<secret>/` for an https URL: only the scheme is kept.
fn masked_url(url: &str) -> String {
    let scheme = match url.split_once("://") {
        Some(("https", _)) => "https",
        _ => "http",
    };
    format!("{scheme}://{MASK}/")
}

fn mask(v: &mut Value) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m.iter_mut() {
                let secret = k.as_str().is_some_and(|k| SECRET_KEYS.contains(&k));
                if secret && !val.is_null() {
                    let is_url = k.as_str().is_some_and(|k| URL_KEYS.contains(&k));
                    *val = Value::String(if is_url {
                        masked_url(val.as_str().unwrap_or(""))
                    } else {
                        MASK.into()
                    });
                } else {
                    mask(val);
                }
            }
        }
        Value::Sequence(s) => s.iter_mut().for_each(mask),
        Value::Tagged(t) => mask(&mut t.value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_the_rest_kept() {
        let text = "global:\n  smtp_auth_password: hunter2\n  smtp_smarthost: mail:25\n  slack_api_url: https://hooks.slack.com/services/T/B/X\nroute: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n      - url: http://h/?token=abc\n        http_config:\n          basic_auth: {username: u, password: p4ss}\n          authorization: {credentials: tok}\n    email_configs: [{to: a@b, auth_password: '${PW}'}]\n";
        let out = masked(text);
        for s in [
            "hunter2",
            "hooks.slack.com",
            "token=abc",
            "p4ss",
            "tok",
            "${PW}",
        ] {
            assert!(!out.contains(s), "{s} in {out}");
        }
        assert!(out.contains("smtp_smarthost: mail:25"), "{out}");
        assert!(out.contains("username: u"), "{out}");
        assert!(out.contains("name: r"), "{out}");
        assert!(out.contains("url: http://<secret>/"), "{out}");
        assert_eq!(out.matches(MASK).count(), 6, "{out}");
    }

    #[test]
    fn oauth2_and_newer_globals_are_masked() {
        let text = "global:\n  rocketchat_token: rc-t0ken\n  rocketchat_token_id: rc-1d\n  jira_api_url: https://jira.example/\n  http_config:\n    oauth2: {client_id: vigil, client_secret: 0auth-s3cret, token_url: 'https://auth/token'}\nroute: {receiver: r}\nreceivers: [{name: r}]\n";
        let out = masked(text);
        for s in ["rc-t0ken", "rc-1d", "0auth-s3cret"] {
            assert!(!out.contains(s), "{s} in {out}");
        }
        assert!(out.contains("client_id: vigil"), "{out}");
        assert!(out.contains("jira.example"), "{out}");
    }
}
