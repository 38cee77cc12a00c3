//! `sns_configs`: Amazon SNS `Publish`, as Alertmanager 0.25 calls it
//! (through the AWS SDK's query protocol): a form-encoded POST to the
//! endpoint (`api_url`, else the region's), signed with SigV4 from static
//! keys (`sigv4.access_key`/`secret_key`, else the `AWS_*` environment
//! variables). One of `topic_arn`, `phone_number`, `target_arn`; a FIFO
//! topic gets the SHA-256 of the group key as deduplication and group ID.
//! The message is cut to 256 KiB (1600 bytes for SMS), and then carries
//! the attribute `truncated=true`. Roles (`role_arn`) and profiles are not
//! supported.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{Check, client, parse_url};
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::template::TemplateError;
use crate::route::receivers::HttpConfig;
use vigil_common::Secret;

/// SNS's message limits, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
pub const MAX_SMS_BYTES: usize = 1600;

/// One `sns_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsConfig {
    #[serde(default = "yes")]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    /// The endpoint (a template); the region's when absent.
    pub api_url: Option<String>,
    #[serde(default)]
    pub sigv4: SigV4Config,
    pub topic_arn: Option<String>,
    pub phone_number: Option<String>,
    pub target_arn: Option<String>,
    pub subject: Option<String>,
    pub message: Option<String>,
    /// Message attributes (names and values are templates).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

http_entries!(SnsConfig);

/// Prometheus's `sigv4` block.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigV4Config {
    pub region: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<Secret>,
    pub profile: Option<String>,
    pub role_arn: Option<String>,
}

fn yes() -> bool {
    true
}

impl Check for SnsConfig {
    fn check(&self) -> Result<(), String> {
        let unset = |s: &Option<String>| s.as_deref().unwrap_or("").is_empty();
        // Alertmanager's test, kept as written: `(a != b) != c`.
        if (unset(&self.target_arn) != unset(&self.topic_arn)) != unset(&self.phone_number) {
            return Err(
                "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config"
                    .into(),
            );
        }
        if self.sigv4.access_key.is_some() != self.sigv4.secret_key.is_some() {
            return Err(
                "must provide a AWS SigV4 Access key and Secret Key if one is specified".into(),
            );
        }
        Ok(())
    }
}

/// A built `sns_configs` entry.
pub struct Sns {
    region: String,
    access_key: String,
    secret_key: Secret,
    session_token: Option<Secret>,
    client: Arc<HttpClient>,
    cfg: Box<SnsConfig>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Build for Sns {
    type Config = SnsConfig;
    const KIND: &'static str = "sns";

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, String> {
        let s = &c.sigv4;
        if s.role_arn.is_some() || s.profile.is_some() {
            return Err(
                "sigv4: role_arn and profile are not supported; give access_key and secret_key"
                    .into(),
            );
        }
        let region = s
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .ok_or("region not configured in sns.sigv4.region or in the environment")?;
        let (access_key, secret_key, session_token) = match (&s.access_key, &s.secret_key) {
            (Some(a), Some(k)) => (a.clone(), k.clone(), None),
            _ => (
                env("AWS_ACCESS_KEY_ID").ok_or("no sigv4 access_key and no AWS_ACCESS_KEY_ID")?,
                Secret::new(
                    env("AWS_SECRET_ACCESS_KEY")
                        .ok_or("no sigv4 secret_key and no AWS_SECRET_ACCESS_KEY")?,
                ),
                env("AWS_SESSION_TOKEN").map(Secret::new),
            ),
        };
        Ok(Sns {
            region,
            access_key,
            secret_key,
            session_token,
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

/// The first `max` bytes of `s`, whole characters only.
/// A key given and not empty.
fn set(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.is_empty())
}

fn cut_bytes(s: String, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (s[..end].to_string(), true)
}

impl HttpIntegration for Sns {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        let t = |s: &str| cx.text(s);
        let mut params: BTreeMap<String, String> = BTreeMap::new();
        params.insert("Action".into(), "Publish".into());
        params.insert("Version".into(), "2010-03-31".into());
        let mut limit = MAX_MESSAGE_BYTES;
        if let Some(topic) = set(&c.topic_arn) {
            let topic = t(topic)?;
            if topic.ends_with(".fifo") {
                params.insert("MessageDeduplicationId".into(), cx.key_hash());
                params.insert("MessageGroupId".into(), cx.key_hash());
            }
            params.insert("TopicArn".into(), topic);
        }
        if let Some(phone) = set(&c.phone_number) {
            params.insert("PhoneNumber".into(), t(phone)?);
            limit = MAX_SMS_BYTES;
        }
        if let Some(target) = set(&c.target_arn) {
            params.insert("TargetArn".into(), t(target)?);
        }
        let (message, cut) = cut_bytes(t(&tmpl_or(&c.message, "sns.default.message"))?, limit);
        let mut attributes: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &c.attributes {
            attributes.insert(t(k)?, t(v)?);
        }
        if cut {
            cx.note_truncated("message");
            attributes.insert("truncated".into(), "true".into());
        }
        // The SDK numbers map entries from 1 in key order.
        for (i, (k, v)) in attributes.iter().enumerate() {
            let p = format!("MessageAttributes.entry.{}", i + 1);
            params.insert(format!("{p}.Name"), k.clone());
            params.insert(format!("{p}.Value.DataType"), "String".into());
            params.insert(format!("{p}.Value.StringValue"), v.clone());
        }
        params.insert("Message".into(), message);
        // Alertmanager's default subject is set, so a subject is sent
        // unless configured empty.
        let subject = tmpl_or(&c.subject, "sns.default.subject");
        if !subject.is_empty() {
            params.insert("Subject".into(), t(&subject)?);
        }
        let endpoint = match set(&c.api_url) {
            Some(u) => t(u)?,
            None => String::new(),
        };
        Ok(json!({"endpoint": endpoint, "params": params}))
    }

    fn requests(&self, payload: &Value, now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        let params: BTreeMap<String, String> =
            serde_json::from_value(payload["params"].clone()).map_err(|e| e.to_string())?;
        let endpoint = match payload["endpoint"].as_str().unwrap_or("") {
            "" => format!("https://sns.{}.amazonaws.com", self.region),
            e => e.to_string(),
        };
        let mut url = parse_url("api_url", &endpoint)?;
        if url.path().is_empty() {
            url.set_path("/");
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish()
            .into_bytes();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let identity = Credentials::new(
            &self.access_key,
            self.secret_key.expose(),
            self.session_token.as_ref().map(|t| t.expose().to_string()),
            None,
            "vigil",
        )
        .into();
        let time = SystemTime::from(now);
        let signing = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("sns")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("sigv4: {e}"))?
            .into();
        let url_text = url.to_string();
        let signable = SignableRequest::new(
            "POST",
            &url_text,
            [("content-type", content_type)].into_iter(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| format!("sigv4: {e}"))?;
        let (instructions, _) = sign(signable, &signing)
            .map_err(|e| format!("sigv4: {e}"))?
            .into_parts();
        let mut headers = vec![("Content-Type", Secret::new(content_type))];
        for (name, value) in instructions.headers() {
            let name: &'static str = match name.to_ascii_lowercase().as_str() {
                "authorization" => "Authorization",
                "x-amz-date" => "X-Amz-Date",
                "x-amz-security-token" => "X-Amz-Security-Token",
                _ => continue,
            };
            headers.push((name, Secret::new(value)));
        }
        Ok(vec![HttpRequest {
            method: reqwest::Method::POST,
            url: Secret::new(url_text),
            headers,
            body,
        }])
    }
}
