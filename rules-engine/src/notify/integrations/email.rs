//! `email_configs`: one email per notification over SMTP (see
//! `notify/smtp.rs`), fields falling back to `global.smtp_*`. The stored
//! payload is the rendered message (sender, recipients, subject, headers,
//! text and HTML parts); the SMTP password stays in the built integration.

use std::path::Path;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{Check, Entry, secret};
use super::error::IntegrationError;
use super::{Build, BuildContext, Integrate, Render, tmpl_or};
use crate::notify::integration::Delivery;
use crate::notify::retry::{Decision, FailureReason};
use crate::notify::route::config::GlobalConfig;
use crate::notify::route::receivers::EmailConfig;
use crate::notify::smtp::{self, EmailContent, EmailError, SmtpTarget, SmtpTls, TlsMode};
use crate::notify::template::TemplateError;
use crate::notify::tls::TlsError;
use vigil_common::Secret;

/// A built `email_configs` entry.
pub struct Email {
    smtp: SmtpTarget,
    cfg: Box<EmailConfig>,
    from: String,
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

impl Entry for EmailConfig {
    fn send_resolved(&self) -> bool {
        self.send_resolved
    }
}

/// Email's checks need the globals; they run with the routing file
/// (`route/load.rs`).
impl Check for EmailConfig {}

impl Build for Email {
    type Config = EmailConfig;
    const KIND: &'static str = "email";

    fn build(c: &EmailConfig, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let (smtp, from) = smtp_target(c, cx.global, cx.base_dir)?;
        Ok(Email {
            smtp,
            cfg: Box::new(c.clone()),
            from,
        })
    }
}

fn smtp_target(
    e: &EmailConfig,
    g: &GlobalConfig,
    base_dir: &Path,
) -> Result<(SmtpTarget, String), IntegrationError> {
    let smarthost = e
        .smarthost
        .clone()
        .or_else(|| g.smtp_smarthost.clone())
        .ok_or(IntegrationError::Missing("no SMTP smarthost"))?;
    let (host, port) = smarthost
        .rsplit_once(':')
        .and_then(|(h, p)| {
            Some((
                h.trim_matches(['[', ']']).to_string(),
                p.parse::<u16>().ok()?,
            ))
        })
        .ok_or_else(|| IntegrationError::Smarthost(smarthost.clone()))?;
    // The file wins when both are given, as Alertmanager reads them.
    let inline = e
        .auth_password
        .as_ref()
        .filter(|_| e.auth_password_file.is_none());
    let password = match secret(
        "auth_password",
        inline,
        e.auth_password_file.as_deref(),
        base_dir,
    )? {
        Some(p) => Some(p),
        None => secret(
            "smtp_auth_password",
            g.smtp_auth_password.as_ref(),
            g.smtp_auth_password_file.as_deref(),
            base_dir,
        )?,
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
    let read = |what: &'static str, f: &String| {
        std::fs::read(base_dir.join(f)).map_err(|x| TlsError::File {
            what,
            path: f.clone(),
            source: x.into(),
        })
    };
    let t = &e.tls_config;
    let root_pem = t.ca_file.as_ref().map(|f| read("ca_file", f)).transpose()?;
    let identity = match (&t.cert_file, &t.key_file) {
        (Some(c), Some(k)) => {
            let key = String::from_utf8(read("key_file", k)?)
                .map_err(|_| TlsError::KeyNotPem { path: k.clone() })?;
            Some((read("cert_file", c)?, Secret::new(key)))
        }
        (None, None) => None,
        _ => return Err(TlsError::CertKeyPair.into()),
    };
    let tls_options = SmtpTls {
        server_name: t.server_name.clone(),
        insecure_skip_verify: t.insecure_skip_verify,
        min_version: t.min_version.clone(),
        identity,
    };
    let require_tls = e.require_tls.unwrap_or(g.smtp_require_tls);
    let from = e
        .from
        .clone()
        .or_else(|| g.smtp_from.clone())
        .ok_or(IntegrationError::Missing("no from address"))?;
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
            tls_options,
        },
        from,
    ))
}

impl Integrate for Email {
    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let cfg = &self.cfg;
        let r = |s: &str| cx.text(s);
        let header = |name: &str| {
            cfg.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let subject = header("Subject")
            .unwrap_or_else(|| "{{ template \"email.default.subject\" . }}".into());
        let mail = StoredEmail {
            from: r(&header("From").unwrap_or_else(|| self.from.clone()))?,
            to: r(&header("To").unwrap_or_else(|| cfg.to.clone().unwrap_or_default()))?,
            subject: r(&subject)?.replace(['\r', '\n'], " "),
            headers: cfg
                .headers
                .iter()
                .map(|(k, v)| Ok((k.clone(), r(v)?)))
                .collect::<Result<_, TemplateError>>()?,
            text: Some(r(&tmpl_or(&cfg.text, "email.default.text"))?),
            // Escaped by context, as Alertmanager's html/template.
            html: Some(cx.html(&tmpl_or(&cfg.html, "email.default.html"))?)
                .filter(|h| !h.trim().is_empty()),
        };
        serde_json::to_value(&mail).map_err(|e| TemplateError(e.to_string()))
    }

    fn deliver<'a>(&'a self, payload: &'a Value, _now: DateTime<Utc>) -> BoxFuture<'a, Delivery> {
        Box::pin(async move {
            let mail: StoredEmail = match serde_json::from_value(payload.clone()) {
                Ok(m) => m,
                Err(e) => return Delivery::fail(FailureReason::BadPayload, e.to_string()),
            };
            let content = EmailContent {
                from: mail.from,
                to: mail.to,
                subject: mail.subject,
                headers: mail.headers,
                text: mail.text,
                html: mail.html,
            };
            let msg = match smtp::build_message(&content) {
                Ok(m) => m,
                Err(e) => return Delivery::fail(FailureReason::InvalidMessage, e.to_string()),
            };
            match smtp::send(&self.smtp, msg).await {
                Ok(()) => Delivery::ok(),
                Err(
                    e @ EmailError::Smtp {
                        retryable: true, ..
                    },
                ) => Delivery {
                    decision: Decision::Retry {
                        reason: FailureReason::SmtpUnavailable,
                        not_before: None,
                    },
                    detail: e.to_string(),
                },
                Err(e) => Delivery::fail(FailureReason::SmtpRejected, e.to_string()),
            }
        })
    }
}
