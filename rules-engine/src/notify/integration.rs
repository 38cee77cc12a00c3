//! Integrations: each `webhook_configs`, `slack_configs` and
//! `email_configs` entry of a receiver, built once from the configuration
//! (global defaults applied, secrets read from their files, HTTP clients
//! made), able to render a group's notification into a payload and to
//! deliver a payload.
//!
//! Rendering and delivery are split so the outbox can store what was
//! rendered at flush time and deliver it later, after a retry or a
//! restart. The payload holds no secret: URLs, passwords and tokens stay
//! in the built integration and are looked up again by the integration's
//! key when sending.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::alert::Alert;
use super::data::Data;
use super::email::{self, EmailContent, EmailError, SmtpTarget, TlsMode};
use super::http::{HttpClient, HttpSendError};
use super::retry::Decision;
use super::slack::{self, SlackContent};
use super::template::{TemplateError, Templates};
use super::webhook::{self, WebhookMessage};
use crate::model::Labels;
use crate::route::config::GlobalConfig;
use crate::route::receivers::{EmailConfig, HttpConfig, Receiver, SlackConfig};
use vigil_common::{Secret, resolve_secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Webhook,
    Slack,
    Email,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Slack => "slack",
            Kind::Email => "email",
        }
    }
}

/// One built integration.
pub struct Integration {
    /// `<receiver>/<kind>/<index>`: the notification log and outbox key.
    pub key: String,
    pub receiver: String,
    pub kind: Kind,
    pub send_resolved: bool,
    target: Target,
}

impl std::fmt::Debug for Integration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integration")
            .field("key", &self.key)
            .finish()
    }
}

enum Target {
    Webhook {
        url: Secret,
        client: Arc<HttpClient>,
        max_alerts: u64,
    },
    Slack {
        url: Secret,
        client: Arc<HttpClient>,
        cfg: Box<SlackConfig>,
    },
    Email {
        smtp: SmtpTarget,
        cfg: Box<EmailConfig>,
        from: String,
    },
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

/// How a delivery attempt ended; `detail` holds no URL or credential.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub decision: Decision,
    pub detail: String,
}

impl Delivery {
    fn ok() -> Delivery {
        Delivery {
            decision: Decision::Delivered,
            detail: String::new(),
        }
    }

    fn fail(reason: &'static str, detail: impl Into<String>) -> Delivery {
        Delivery {
            decision: Decision::Fail { reason },
            detail: detail.into(),
        }
    }
}

/// An email as stored in the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredEmail {
    from: String,
    to: String,
    subject: String,
    headers: Vec<(String, String)>,
    text: Option<String>,
    html: Option<String>,
}

/// Builds every integration of a receiver. `base_dir` anchors relative
/// `*_file` paths (the config file's directory).
pub fn build_receiver(
    r: &Receiver,
    g: &GlobalConfig,
    base_dir: &Path,
) -> Result<Vec<Integration>, String> {
    let mut out = Vec::new();
    let key = |kind: Kind, i: usize| format!("{}/{}/{i}", r.name, kind.as_str());
    let err = |kind: Kind, i: usize, e: &dyn std::fmt::Display| {
        format!("receiver {:?} {}_configs[{i}]: {e}", r.name, kind.as_str())
    };
    for (i, w) in r.webhook_configs.iter().enumerate() {
        let url = secret("url", w.url.as_ref(), w.url_file.as_deref(), base_dir)
            .map_err(|e| err(Kind::Webhook, i, &e))?
            .ok_or_else(|| err(Kind::Webhook, i, &"url missing"))?;
        let client = client(w.http_config.as_ref(), g).map_err(|e| err(Kind::Webhook, i, &e))?;
        out.push(Integration {
            key: key(Kind::Webhook, i),
            receiver: r.name.clone(),
            kind: Kind::Webhook,
            send_resolved: w.send_resolved,
            target: Target::Webhook {
                url,
                client,
                max_alerts: w.max_alerts,
            },
        });
    }
    for (i, s) in r.slack_configs.iter().enumerate() {
        let own = secret(
            "api_url",
            s.api_url.as_ref(),
            s.api_url_file.as_deref(),
            base_dir,
        )
        .map_err(|e| err(Kind::Slack, i, &e))?;
        let url = match own {
            Some(u) => Some(u),
            None => secret(
                "slack_api_url",
                g.slack_api_url.as_ref(),
                g.slack_api_url_file.as_deref(),
                base_dir,
            )
            .map_err(|e| err(Kind::Slack, i, &e))?,
        }
        .ok_or_else(|| err(Kind::Slack, i, &"no Slack API URL"))?;
        let client = client(s.http_config.as_ref(), g).map_err(|e| err(Kind::Slack, i, &e))?;
        out.push(Integration {
            key: key(Kind::Slack, i),
            receiver: r.name.clone(),
            kind: Kind::Slack,
            send_resolved: s.send_resolved,
            target: Target::Slack {
                url,
                client,
                cfg: Box::new(s.clone()),
            },
        });
    }
    for (i, e) in r.email_configs.iter().enumerate() {
        let (smtp, from) = smtp_target(e, g, base_dir).map_err(|m| err(Kind::Email, i, &m))?;
        out.push(Integration {
            key: key(Kind::Email, i),
            receiver: r.name.clone(),
            kind: Kind::Email,
            send_resolved: e.send_resolved,
            target: Target::Email {
                smtp,
                cfg: Box::new(e.clone()),
                from,
            },
        });
    }
    Ok(out)
}

fn secret(
    field: &str,
    inline: Option<&Secret>,
    file: Option<&str>,
    base_dir: &Path,
) -> Result<Option<Secret>, vigil_common::SecretFileError> {
    let path = file.map(|f| base_dir.join(f));
    resolve_secret(field, inline, path.as_deref())
}

fn client(own: Option<&HttpConfig>, g: &GlobalConfig) -> Result<Arc<HttpClient>, HttpSendError> {
    let cfg = own.or(g.http_config.as_ref()).cloned().unwrap_or_default();
    HttpClient::build(&cfg).map(Arc::new)
}

fn smtp_target(
    e: &EmailConfig,
    g: &GlobalConfig,
    base_dir: &Path,
) -> Result<(SmtpTarget, String), String> {
    let smarthost = e
        .smarthost
        .clone()
        .or_else(|| g.smtp_smarthost.clone())
        .ok_or("no SMTP smarthost")?;
    let (host, port) = smarthost
        .rsplit_once(':')
        .and_then(|(h, p)| {
            Some((
                h.trim_matches(['[', ']']).to_string(),
                p.parse::<u16>().ok()?,
            ))
        })
        .ok_or_else(|| format!("smarthost {smarthost:?} is not host:port"))?;
    let password = match secret(
        "auth_password",
        e.auth_password.as_ref(),
        e.auth_password_file.as_deref(),
        base_dir,
    )
    .map_err(|x| x.to_string())?
    {
        Some(p) => Some(p),
        None => secret(
            "smtp_auth_password",
            g.smtp_auth_password.as_ref(),
            g.smtp_auth_password_file.as_deref(),
            base_dir,
        )
        .map_err(|x| x.to_string())?,
    };
    // lettre speaks PLAIN and LOGIN only: say so rather than drop the
    // settings silently (the file still loads, as in Alertmanager).
    if e.auth_secret.is_some() || g.smtp_auth_secret.is_some() {
        tracing::warn!(
            "email: auth_secret (CRAM-MD5) is not supported; PLAIN or LOGIN with the password is used"
        );
    }
    if e.auth_identity.is_some() || g.smtp_auth_identity.is_some() {
        tracing::warn!("email: auth_identity is not supported; PLAIN authorizes as the user");
    }
    let root_pem = match &e.tls_config.ca_file {
        Some(f) => Some(std::fs::read(base_dir.join(f)).map_err(|x| format!("ca_file {f}: {x}"))?),
        None => None,
    };
    let require_tls = e.require_tls.unwrap_or(g.smtp_require_tls);
    let from = e
        .from
        .clone()
        .or_else(|| g.smtp_from.clone())
        .ok_or("no from address")?;
    Ok((
        SmtpTarget {
            host,
            port,
            tls: TlsMode::from_alertmanager(port, require_tls),
            hello: e.hello.clone().unwrap_or_else(|| g.smtp_hello.clone()),
            username: e
                .auth_username
                .clone()
                .or_else(|| g.smtp_auth_username.clone()),
            password,
            root_pem,
        },
        from,
    ))
}

/// `text` when configured, else the named default template.
fn tmpl<'a>(own: &'a Option<String>, default: &'a str) -> std::borrow::Cow<'a, str> {
    match own {
        Some(t) => std::borrow::Cow::Borrowed(t.as_str()),
        None => std::borrow::Cow::Owned(format!("{{{{ template \"{default}\" . }}}}")),
    }
}

impl Integration {
    /// The payload for one notification, rendered from the templates.
    pub fn render(&self, t: &Templates, n: &Notice<'_>) -> Result<Value, TemplateError> {
        let data = |alerts: &[Alert]| {
            Data::new(
                &self.receiver,
                n.group_labels,
                alerts,
                n.external_url,
                n.now,
            )
        };
        match &self.target {
            Target::Webhook { max_alerts, .. } => {
                let (sent, truncated) = webhook::limit(n.alerts, *max_alerts);
                let msg = WebhookMessage::new(data(sent), n.group_key, truncated);
                serde_json::to_value(&msg).map_err(|e| TemplateError(e.to_string()))
            }
            Target::Slack { cfg, .. } => {
                let d = data(n.alerts);
                let r = |s: &str| t.render(s, &d);
                let opt = |s: &Option<String>| -> Result<Option<String>, TemplateError> {
                    s.as_deref().map(r).transpose()
                };
                let content = SlackContent {
                    title: r(&tmpl(&cfg.title, "slack.default.title"))?,
                    title_link: r(&tmpl(&cfg.title_link, "slack.default.titlelink"))?,
                    text: r(&tmpl(&cfg.text, "slack.default.text"))?,
                    fields: cfg
                        .fields
                        .iter()
                        .map(|f| {
                            Ok((
                                r(&f.title)?,
                                r(&f.value)?,
                                f.short.unwrap_or(cfg.short_fields),
                            ))
                        })
                        .collect::<Result<_, TemplateError>>()?,
                    color: opt(&cfg.color)?.filter(|c| !c.is_empty()),
                    fallback: r(&tmpl(&cfg.fallback, "slack.default.fallback"))?,
                    channel: opt(&cfg.channel)?,
                    username: Some(r(&tmpl(&cfg.username, "slack.default.username"))?),
                    icon_emoji: opt(&cfg.icon_emoji)?,
                    icon_url: opt(&cfg.icon_url)?,
                };
                Ok(slack::payload(&content, &d))
            }
            Target::Email { cfg, from, .. } => {
                let d = data(n.alerts);
                let r = |s: &str| t.render(s, &d);
                let header = |name: &str| {
                    cfg.headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.clone())
                };
                let subject = header("Subject")
                    .unwrap_or_else(|| "{{ template \"email.default.subject\" . }}".into());
                let mail = StoredEmail {
                    from: r(&header("From").unwrap_or_else(|| from.clone()))?,
                    to: r(&header("To").unwrap_or_else(|| cfg.to.clone().unwrap_or_default()))?,
                    subject: r(&subject)?.replace(['\r', '\n'], " "),
                    headers: cfg
                        .headers
                        .iter()
                        .map(|(k, v)| Ok((k.clone(), r(v)?)))
                        .collect::<Result<_, TemplateError>>()?,
                    text: Some(r(&tmpl(&cfg.text, "email.default.text"))?),
                    // Escaped by context, as Alertmanager's html/template.
                    html: Some(t.render_html(&tmpl(&cfg.html, "email.default.html"), &d)?)
                        .filter(|h| !h.trim().is_empty()),
                };
                serde_json::to_value(&mail).map_err(|e| TemplateError(e.to_string()))
            }
        }
    }

    /// Delivers a payload [`render`](Self::render) made.
    pub async fn deliver(&self, payload: &Value, now: DateTime<Utc>) -> Delivery {
        match &self.target {
            Target::Webhook { url, client, .. } | Target::Slack { url, client, .. } => {
                match client.post_json(&self.key, url, payload, now).await {
                    Ok(()) => Delivery::ok(),
                    Err(HttpSendError::Config(e)) => Delivery::fail("config", e),
                    Err(HttpSendError::Delivery { what, decision, .. }) => Delivery {
                        decision,
                        detail: what,
                    },
                }
            }
            Target::Email { smtp, .. } => {
                let mail: StoredEmail = match serde_json::from_value(payload.clone()) {
                    Ok(m) => m,
                    Err(e) => return Delivery::fail("bad_payload", e.to_string()),
                };
                let content = EmailContent {
                    from: mail.from,
                    to: mail.to,
                    subject: mail.subject,
                    headers: mail.headers,
                    text: mail.text,
                    html: mail.html,
                };
                let msg = match email::build_message(&content) {
                    Ok(m) => m,
                    Err(e) => return Delivery::fail("invalid_message", e.to_string()),
                };
                match email::send(smtp, msg).await {
                    Ok(()) => Delivery::ok(),
                    Err(
                        e @ EmailError::Smtp {
                            retryable: true, ..
                        },
                    ) => Delivery {
                        decision: Decision::Retry {
                            reason: "smtp_unavailable",
                            not_before: None,
                        },
                        detail: e.to_string(),
                    },
                    Err(e) => Delivery::fail("smtp_rejected", e.to_string()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Alert;
    use crate::notify::retry::Decision;
    use crate::route::parse_str;
    use chrono::TimeZone;

    const SECRETS: [&str; 3] = ["hooktoken123", "slacktoken456", "smtppass789"];

    /// Every integration kind pointed at a closed port, each carrying a
    /// secret: renders, fails retryably, and no secret shows in `Debug`
    /// output or in the failure's detail (the compliance check each
    /// notifier gets).
    #[tokio::test]
    async fn failures_are_retryable_and_never_show_secrets() {
        let text = format!(
            "global:\n  smtp_smarthost: 127.0.0.1:1\n  smtp_from: v@example.org\n  smtp_require_tls: false\n  smtp_auth_username: u\n  smtp_auth_password: {}\n\
route: {{receiver: all}}\n\
receivers:\n  - name: all\n    webhook_configs: [{{url: 'http://127.0.0.1:1/hook?token={}'}}]\n    slack_configs: [{{api_url: 'http://127.0.0.1:1/services/{}'}}]\n    email_configs: [{{to: ops@example.org}}]\n",
            SECRETS[2], SECRETS[0], SECRETS[1]
        );
        let loaded = parse_str("am.yml", &text, &|_| None).unwrap();
        let built = build_receiver(
            &loaded.config.receivers[0],
            &loaded.config.global,
            Path::new("."),
        )
        .unwrap();
        assert_eq!(built.len(), 3);
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
            let payload = i.render(&templates, &notice).unwrap();
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
        let p = built[0].render(&Templates::defaults(), &notice).unwrap();
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
