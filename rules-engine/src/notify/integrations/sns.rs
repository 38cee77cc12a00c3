//! `sns_configs`: Amazon SNS `Publish`, as Alertmanager 0.25 calls it
//! (through the AWS SDK's query protocol): a form-encoded POST to the
//! endpoint (`api_url`, else the region's), signed with SigV4: static
//! keys (`sigv4.access_key`/`secret_key`), a `sigv4.profile` of the shared
//! credentials file, the `AWS_*` environment, and with `sigv4.role_arn`
//! the temporary keys of that role (see [`super::aws`]). One of
//! `topic_arn`, `phone_number`, `target_arn`; a FIFO topic gets the
//! SHA-256 of the group key as deduplication and group ID. The message is
//! cut to 256 KiB (1600 bytes for SMS), and then carries the attribute
//! `truncated=true`.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};

use super::aws::{self, Keys, Signer};
use super::common::{Check, classify, client, parse_url};
use super::error::IntegrationError;
use super::{Build, BuildContext, Integrate, Render, tmpl_or};
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::integration::Delivery;
use crate::notify::retry::{Decision, FailureReason};
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// SNS's message limits, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
pub const MAX_SMS_BYTES: usize = 1600;

/// One `sns_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
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
    signer: Signer,
    client: Arc<HttpClient>,
    cfg: Box<SnsConfig>,
}

impl Build for Sns {
    type Config = SnsConfig;
    const KIND: &'static str = "sns";

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let s = &c.sigv4;
        let l = aws::Lookup {
            env: &aws::process_env,
        };
        let profile = s.profile.as_deref();
        let region = s
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| l.var("AWS_REGION"))
            .or_else(|| l.var("AWS_DEFAULT_REGION"))
            .or_else(|| aws::profile_region(profile, &l))
            .ok_or(IntegrationError::Missing(
                "region not configured in sns.sigv4.region or in the environment",
            ))?;
        let base = aws::base_keys(s.access_key.as_deref(), s.secret_key.as_ref(), profile, &l)?;
        let signer = match s.role_arn.as_deref().filter(|r| !r.is_empty()) {
            Some(role) => Signer::Role(Box::new(
                aws::AssumeRole::new(base, role, &region, &l).map_err(IntegrationError::Sts)?,
            )),
            None => Signer::Fixed(base),
        };
        Ok(Sns {
            region,
            signer,
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

impl Integrate for Sns {
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

    fn deliver<'a>(&'a self, payload: &'a Value, now: DateTime<Utc>) -> BoxFuture<'a, Delivery> {
        Box::pin(async move {
            let keys = match &self.signer {
                Signer::Fixed(k) => k.clone(),
                Signer::Role(r) => match r.keys(now).await {
                    Ok(k) => k,
                    // As the SDK's failed credential refresh: retried.
                    Err(detail) => {
                        return Delivery {
                            decision: crate::notify::retry::from_network_error(),
                            detail,
                        };
                    }
                },
            };
            let req = match self.request(payload, &keys, now) {
                Ok(r) => r,
                Err(e) => return Delivery::fail(FailureReason::BadPayload, e),
            };
            let answer = match self.client.send(&req, now).await {
                Ok(a) => a,
                Err(detail) => {
                    return Delivery {
                        decision: crate::notify::retry::from_network_error(),
                        detail,
                    };
                }
            };
            match classify(&answer, &[], now) {
                Decision::Delivered => Delivery::ok(),
                decision => Delivery {
                    decision,
                    detail: answer.detail(),
                },
            }
        })
    }
}

impl Sns {
    /// The signed `Publish` request of a stored payload.
    fn request(
        &self,
        payload: &Value,
        keys: &Keys,
        now: DateTime<Utc>,
    ) -> Result<HttpRequest, String> {
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
        aws::signed_form_post(&url, body, keys, &self.region, "sns", now)
    }
}
