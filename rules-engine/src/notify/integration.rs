//! Integrations as the pipeline sees them: each `*_configs` entry of a
//! receiver built once from the configuration (see `integrations/`, one
//! module per kind), able to render a group's notification into a payload
//! and to deliver a payload.
//!
//! Rendering and delivery are split so the outbox can store what was
//! rendered at flush time and deliver it later, after a retry or a
//! restart. The payload holds no secret: URLs, passwords and tokens stay
//! in the built integration and are looked up again by the integration's
//! key when sending.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::alert::Alert;
use super::errors::BuildError;
use super::integrations::{self, BuildContext, Integrate, Receiver, Render};
use super::retry::{Decision, FailureReason};
use super::template::{TemplateError, Templates};
use crate::model::Labels;
use crate::notify::route::config::GlobalConfig;

/// An integration's kind (`webhook`, `pagerduty`, ...): the name of its
/// `<kind>_configs` key and the `integration` label of metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind(&'static str);

impl Kind {
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// One built integration.
pub struct Integration {
    /// `<receiver>/<kind>/<index>`: the notification log and outbox key.
    pub key: String,
    pub receiver: String,
    pub kind: Kind,
    pub send_resolved: bool,
    imp: Arc<dyn Integrate>,
}

impl std::fmt::Debug for Integration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integration")
            .field("key", &self.key)
            .finish()
    }
}

/// What a group flush tells one integration.
pub struct Notice<'a> {
    pub group_key: &'a str,
    pub group_labels: &'a Labels,
    /// In notification order, resolved ones already dropped when the
    /// integration does not send them.
    pub alerts: &'a [Alert],
    pub external_url: &'a str,
    pub now: DateTime<Utc>,
}

/// A rendered notification: the payload to store and the fields cut to
/// the receiver's length limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub payload: Value,
    pub truncated: Vec<&'static str>,
}

/// How a delivery attempt ended; `detail` holds no URL or credential.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub decision: Decision,
    pub detail: String,
}

impl Delivery {
    pub fn ok() -> Delivery {
        Delivery {
            decision: Decision::Delivered,
            detail: String::new(),
        }
    }

    pub fn fail(reason: FailureReason, detail: impl Into<String>) -> Delivery {
        Delivery {
            decision: Decision::Fail { reason },
            detail: detail.into(),
        }
    }
}

/// Builds every integration of a receiver. `base_dir` anchors relative
/// `*_file` paths (the config file's directory).
pub fn build_receiver(
    r: &Receiver,
    g: &GlobalConfig,
    base_dir: &Path,
) -> Result<Vec<Integration>, BuildError> {
    let cx = BuildContext {
        global: g,
        base_dir,
    };
    Ok(integrations::build_all(r, &cx)?
        .into_iter()
        .map(|(i, b)| Integration {
            key: format!("{}/{}/{i}", r.name, b.kind),
            receiver: r.name.clone(),
            kind: Kind(b.kind),
            send_resolved: b.send_resolved,
            imp: b.imp,
        })
        .collect())
}

impl Integration {
    /// The payload for one notification, rendered from the templates.
    pub fn render(&self, t: &Templates, n: &Notice<'_>) -> Result<Rendered, TemplateError> {
        let cx = Render::new(t, n, &self.receiver);
        let payload = self.imp.render(&cx)?;
        Ok(Rendered {
            payload,
            truncated: cx.truncated(),
        })
    }

    /// Delivers a payload [`render`](Self::render) made.
    pub async fn deliver(&self, payload: &Value, now: DateTime<Utc>) -> Delivery {
        self.imp.deliver(payload, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Alert;
    use crate::notify::retry::Decision;
    use crate::notify::route::parse_str;
    use chrono::TimeZone;

    /// One secret per place a secret can be: inline, in a `_file`, in a
    /// global, in an `http_config`.
    const SECRETS: [&str; 20] = [
        "hooktoken123",
        "slacktoken456",
        "smtppass789",
        "pdroutingkey01",
        "pdservicekey02",
        "opsgeniekey03",
        "telegramtoken04",
        "discordhook05",
        "victoropskey06",
        "pushoveruser07",
        "pushovertoken08",
        "webexbearer09",
        "wechatsecret10",
        "snssecret11",
        "teamshook12",
        "teamsflow13",
        "mattermost14",
        "rocketchat15",
        "incidentio16",
        "jirapass17",
    ];

    /// Every integration kind pointed at a closed port, each carrying a
    /// secret (inline, in a file or in a global): renders, fails
    /// retryably, and no secret shows in `Debug` output, in the failure's
    /// detail or in the stored payload (the compliance check each notifier
    /// gets).
    #[tokio::test]
    async fn failures_are_retryable_and_never_show_secrets() {
        let dir = tempfile::tempdir().unwrap();
        for (file, secret) in [
            ("pd.key", SECRETS[3]),
            ("og.key", SECRETS[5]),
            ("tg.token", SECRETS[6]),
            (
                "discord.url",
                &format!("http://127.0.0.1:1/api/webhooks/{}", SECRETS[7]),
            ),
            ("vo.key", SECRETS[8]),
            ("po.user", SECRETS[9]),
            ("po.token", SECRETS[10]),
            (
                "mm.url",
                &format!("http://127.0.0.1:1/hooks/{}", SECRETS[16]),
            ),
            ("io.token", SECRETS[18]),
        ] {
            std::fs::write(dir.path().join(file), format!("{secret}\n")).unwrap();
        }
        // TLS files, relative to the configuration's directory.
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ck.cert.pem()).unwrap();
        std::fs::write(dir.path().join("client.pem"), ck.cert.pem()).unwrap();
        std::fs::write(
            dir.path().join("client.key"),
            ck.signing_key.serialize_pem(),
        )
        .unwrap();
        let closed = "http://127.0.0.1:1";
        let proxy = format!("{{proxy_url: '{closed}'}}");
        let text = [
            "global:".to_string(),
            "  smtp_smarthost: 127.0.0.1:1".into(),
            "  smtp_from: v@example.org".into(),
            "  smtp_require_tls: false".into(),
            "  smtp_auth_username: u".into(),
            format!("  smtp_auth_password: {}", SECRETS[2]),
            "  opsgenie_api_key_file: og.key".into(),
            format!("  opsgenie_api_url: {closed}/"),
            format!("  wechat_api_secret: {}", SECRETS[12]),
            "  wechat_api_corp_id: corp".into(),
            format!("  wechat_api_url: {closed}/cgi-bin/"),
            "route: {receiver: all}".into(),
            "receivers:".into(),
            "  - name: all".into(),
            format!("    webhook_configs: [{{url: '{closed}/hook?token={}'}}]", SECRETS[0]),
            format!("    slack_configs: [{{api_url: '{closed}/services/{}'}}]", SECRETS[1]),
            "    email_configs: [{to: ops@example.org}]".into(),
            format!(
                "    pagerduty_configs: [{{routing_key_file: pd.key, url: '{closed}/v2/enqueue'}}, {{service_key: {}, http_config: {proxy}}}]",
                SECRETS[4]
            ),
            "    opsgenie_configs: [{update_alerts: true}]".into(),
            format!("    telegram_configs: [{{bot_token_file: tg.token, chat_id: 42, api_url: '{closed}'}}]"),
            "    discord_configs: [{webhook_url_file: discord.url}]".into(),
            format!("    victorops_configs: [{{api_key_file: vo.key, routing_key: ops, api_url: '{closed}/alert/'}}]"),
            format!("    pushover_configs: [{{user_key_file: po.user, token_file: po.token, http_config: {proxy}}}]"),
            format!(
                "    webex_configs: [{{room_id: r, api_url: '{closed}/v1/messages', http_config: {{authorization: {{credentials: {}}}, tls_config: {{ca_file: ca.pem, cert_file: client.pem, key_file: client.key, min_version: TLS12}}}}}}]",
                SECRETS[11]
            ),
            "    wechat_configs: [{}]".into(),
            format!(
                "    sns_configs: [{{topic_arn: 'arn:aws:sns:eu-west-1:1:t', api_url: '{closed}/', sigv4: {{region: eu-west-1, access_key: AKID, secret_key: {}}}}}]",
                SECRETS[13]
            ),
            format!("    msteams_configs: [{{webhook_url: '{closed}/webhookb2/{}'}}]", SECRETS[14]),
            format!("    msteamsv2_configs: [{{webhook_url: '{closed}/flow?sig={}'}}]", SECRETS[15]),
            "    mattermost_configs: [{webhook_url_file: mm.url}]".into(),
            format!("    rocketchat_configs: [{{api_url: '{closed}/', token: {}, token_id: u1}}]", SECRETS[17]),
            format!("    incidentio_configs: [{{url: '{closed}/v2/alert_events', alert_source_token_file: io.token}}]"),
            format!(
                "    jira_configs: [{{api_url: '{closed}/rest/api/2', project: P, issue_type: Bug, http_config: {{basic_auth: {{username: u, password: {}}}}}}}]",
                SECRETS[19]
            ),
        ]
        .join("\n");
        let loaded = parse_str("am.yml", &text, &|_| None).unwrap();
        let built = build_receiver(
            &loaded.config.receivers[0],
            &loaded.config.global,
            dir.path(),
        )
        .unwrap();
        let kinds: Vec<&str> = built.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "webhook",
                "slack",
                "email",
                "pagerduty",
                "pagerduty",
                "opsgenie",
                "telegram",
                "discord",
                "victorops",
                "pushover",
                "webex",
                "wechat",
                "sns",
                "msteams",
                "msteamsv2",
                "mattermost",
                "incidentio",
                "rocketchat",
                "jira"
            ]
        );
        let t = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let alerts = [Alert {
            labels: Labels::from_pairs([("alertname", "A")]),
            annotations: Labels::empty(),
            starts_at: t,
            ends_at: None,
            generator_url: String::new(),
        }];
        let notice = Notice {
            group_key: "{}:{}",
            group_labels: &Labels::empty(),
            alerts: &alerts,
            external_url: "http://vigil",
            now: t,
        };
        let templates = Templates::defaults();
        for i in &built {
            let debug = format!("{i:?}");
            let payload = i.render(&templates, &notice).unwrap().payload;
            let d = i.deliver(&payload, t).await;
            assert!(
                matches!(d.decision, Decision::Retry { .. }),
                "{}: {d:?}",
                i.key
            );
            for s in SECRETS {
                assert!(!debug.contains(s), "{}: {debug}", i.key);
                assert!(!d.detail.contains(s), "{}: {}", i.key, d.detail);
                assert!(!payload.to_string().contains(s), "{}: payload", i.key);
            }
        }
    }

    #[test]
    fn email_uses_globals_and_templated_headers() {
        let text = "global:\n  smtp_smarthost: mail:25\n  smtp_from: Vigil <v@example.org>\n\
route: {receiver: m}\n\
receivers:\n  - name: m\n    email_configs:\n      - to: '{{ .GroupLabels.team }}@example.org'\n        headers: {Subject: 'Alert {{ .Status }}', X-Group: '{{ .GroupLabels.team }}'}\n        html: ''\n";
        let loaded = parse_str("am.yml", text, &|_| None).unwrap();
        let built = build_receiver(
            &loaded.config.receivers[0],
            &loaded.config.global,
            Path::new("."),
        )
        .unwrap();
        let t = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let group = Labels::from_pairs([("team", "dba")]);
        let alerts = [Alert {
            labels: Labels::from_pairs([("alertname", "A"), ("team", "dba")]),
            annotations: Labels::empty(),
            starts_at: t,
            ends_at: None,
            generator_url: String::new(),
        }];
        let notice = Notice {
            group_key: "{}:{team=\"dba\"}",
            group_labels: &group,
            alerts: &alerts,
            external_url: "http://vigil",
            now: t,
        };
        let p = built[0]
            .render(&Templates::defaults(), &notice)
            .unwrap()
            .payload;
        assert_eq!(p["to"], "dba@example.org");
        assert_eq!(p["from"], "Vigil <v@example.org>");
        assert_eq!(p["subject"], "Alert firing");
        assert!(p["text"].as_str().unwrap().contains("alertname = A"), "{p}");
        // An empty html template means no HTML part.
        assert!(p["html"].is_null(), "{p}");
        let headers = p["headers"].as_array().unwrap();
        assert!(
            headers.iter().any(|h| h[0] == "X-Group" && h[1] == "dba"),
            "{p}"
        );
    }
}
