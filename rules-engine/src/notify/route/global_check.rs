//! The `global:` block as Alertmanager 0.25 checks it: its URLs (http or
//! https, with a host), the SMTP smarthost (`host:port`), at most one of
//! each secret and its `_file`, and its `http_config`. What a receiver
//! needs from the globals (a from address, an API key) is checked with
//! the receiver.

use super::config::GlobalConfig;
use super::http_check::check_http_config;
use super::locate::{Path, Problem};
use super::url_check;

/// Every problem of the block (one per key).
pub fn check_global(g: &GlobalConfig) -> Vec<Problem> {
    let at = Path::root().key("global");
    let mut out = Vec::new();
    let secret_url = g.slack_api_url.as_ref().map(|s| s.expose());
    let urls = [
        ("pagerduty_url", g.pagerduty_url.as_deref()),
        ("opsgenie_api_url", g.opsgenie_api_url.as_deref()),
        ("wechat_api_url", g.wechat_api_url.as_deref()),
        ("victorops_api_url", g.victorops_api_url.as_deref()),
        ("telegram_api_url", g.telegram_api_url.as_deref()),
        ("webex_api_url", g.webex_api_url.as_deref()),
        ("jira_api_url", g.jira_api_url.as_deref()),
        ("rocketchat_api_url", g.rocketchat_api_url.as_deref()),
    ];
    let checked = urls
        .into_iter()
        .map(|(k, v)| (k, v.map(url_check::http_url)))
        .chain([("slack_api_url", secret_url.map(url_check::secret_url))]);
    for (key, result) in checked {
        if let Some(Err(e)) = result {
            out.push(Problem::new(at.key(key), format!("{key}: {e}")));
        }
    }
    if let Some(Err(e)) = g.smtp_smarthost.as_deref().map(url_check::host_port) {
        out.push(Problem::new(at.key("smtp_smarthost"), e));
    }
    let given = |s: Option<&str>| s.is_some_and(|s| !s.is_empty());
    let secret = |s: &Option<vigil_common::Secret>| given(s.as_ref().map(|s| s.expose()));
    let pairs = [
        // Alertmanager counts an empty Slack URL as given (it is a pointer).
        (
            g.slack_api_url.is_some(),
            &g.slack_api_url_file,
            "slack_api_url",
        ),
        (
            secret(&g.opsgenie_api_key),
            &g.opsgenie_api_key_file,
            "opsgenie_api_key",
        ),
        (
            secret(&g.victorops_api_key),
            &g.victorops_api_key_file,
            "victorops_api_key",
        ),
        (
            secret(&g.smtp_auth_password),
            &g.smtp_auth_password_file,
            "smtp_auth_password",
        ),
        // Pointers in Alertmanager: given even when empty.
        (
            g.rocketchat_token.is_some(),
            &g.rocketchat_token_file,
            "rocketchat_token",
        ),
        (
            g.rocketchat_token_id.is_some(),
            &g.rocketchat_token_id_file,
            "rocketchat_token_id",
        ),
    ];
    for (inline, file, key) in pairs {
        if inline && given(file.as_deref()) {
            out.push(Problem::new(
                at.key(&format!("{key}_file")),
                format!("at most one of {key} & {key}_file must be configured"),
            ));
        }
    }
    if let Some(h) = &g.http_config {
        out.extend(check_http_config(h, &at.key("http_config")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<String> {
        let g: GlobalConfig = yaml_serde::from_str(yaml).unwrap();
        check_global(&g)
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    }

    #[test]
    fn sound_globals_pass() {
        let ok = "{smtp_smarthost: '[::1]:25', slack_api_url: '<secret>', pagerduty_url: 'https://p/', opsgenie_api_key: k, smtp_auth_password_file: /p}";
        assert_eq!(problems(ok), Vec::<String>::new());
    }

    #[test]
    fn newer_globals_are_checked() {
        let got = problems(
            "{jira_api_url: 'jira.example.org', rocketchat_api_url: 'https://chat/', rocketchat_token: t, rocketchat_token_file: /t, rocketchat_token_id_file: /i}",
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("global.jira_api_url: jira_api_url: unsupported scheme"));
        assert!(
            got[1].starts_with("global.rocketchat_token_file: at most one of rocketchat_token")
        );
    }

    #[test]
    fn each_problem_names_its_key() {
        let got = problems(
            "{smtp_smarthost: localhost, webex_api_url: 'ftp://w/', slack_api_url: 'https://s/', slack_api_url_file: /s, victorops_api_key: k, victorops_api_key_file: /k, http_config: {bearer_token: a, bearer_token_file: /b}}",
        );
        let want = [
            "global.webex_api_url: webex_api_url: unsupported scheme \"ftp\"",
            "global.smtp_smarthost: address \"localhost\": missing port",
            "global.slack_api_url_file: at most one of slack_api_url & slack_api_url_file",
            "global.victorops_api_key_file: at most one of victorops_api_key",
            "global.http_config.bearer_token_file: at most one of bearer_token",
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(g.starts_with(w), "{g} does not start with {w}");
        }
    }
}
