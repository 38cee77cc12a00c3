//! `pagerduty_configs`: PagerDuty's Events API v2 (`routing_key`) or the
//! older v1 (`service_key`), as Alertmanager 0.25 sends them: one event per
//! notification, `trigger` while the group fires and `resolve` once it is
//! resolved, deduplicated by the SHA-256 of the group key. The summary
//! (v1: description) is cut to 1024 characters; an event over 512 kB has
//! its custom details replaced by a note, as Alertmanager does. Retried:
//! 5xx and 429 (v2), 5xx and 403 (v1).
//!
//! The key is a secret: it is left out of the stored payload and put back
//! when sending, unless it is a template (rendered with the notification).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::common::{
    Check, at_most_one, classify, client, go_json_len, insert_nonempty, parse_url, secret,
};
use super::error::IntegrationError;
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::http::{Answer, HttpClient, HttpRequest};
use crate::notify::retry::Decision;
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// Alertmanager's v1 endpoint (not configurable there).
pub const V1_URL: &str = "https://events.pagerduty.com/generic/2010-04-15/create_event.json";
/// The largest event PagerDuty takes, in bytes.
pub const MAX_EVENT_SIZE: usize = 512_000;
/// The longest v1 description and v2 summary, in characters.
pub const MAX_SUMMARY_RUNES: usize = 1024;

/// One `pagerduty_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    pub service_key: Option<Secret>,
    pub service_key_file: Option<String>,
    pub routing_key: Option<Secret>,
    pub routing_key_file: Option<String>,
    /// The v2 endpoint; `global.pagerduty_url` when absent.
    pub url: Option<String>,
    pub client: Option<String>,
    pub client_url: Option<String>,
    pub description: Option<String>,
    /// Merged over Alertmanager's defaults (`firing`, `resolved`,
    /// `num_firing`, `num_resolved`).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    #[serde(default)]
    pub images: Vec<PagerdutyImage>,
    #[serde(default)]
    pub links: Vec<PagerdutyLink>,
    /// `client` when absent.
    pub source: Option<String>,
    /// `error` when absent.
    pub severity: Option<String>,
    pub class: Option<String>,
    pub component: Option<String>,
    pub group: Option<String>,
}

http_entries!(PagerdutyConfig);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyImage {
    #[serde(default)]
    pub src: String,
    #[serde(default)]
    pub alt: String,
    #[serde(default)]
    pub href: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyLink {
    #[serde(default)]
    pub href: String,
    #[serde(default)]
    pub text: String,
}

fn yes() -> bool {
    true
}

impl Check for PagerdutyConfig {
    fn check(&self) -> Result<(), String> {
        if self.routing_key.is_none()
            && self.service_key.is_none()
            && self.routing_key_file.is_none()
            && self.service_key_file.is_none()
        {
            return Err("missing service or routing key in PagerDuty config".into());
        }
        at_most_one(
            &self.routing_key,
            &self.routing_key_file,
            ("routing_key", "routing_key_file"),
        )?;
        at_most_one(
            &self.service_key,
            &self.service_key_file,
            ("service_key", "service_key_file"),
        )?;
        if let Some(u) = &self.url {
            parse_url("url", u)?;
        }
        Ok(())
    }
}

/// Which API, with its key.
enum Api {
    V1 { service_key: Secret },
    V2 { routing_key: Secret },
}

/// A built `pagerduty_configs` entry.
pub struct PagerDuty {
    api: Api,
    url: Secret,
    client: Arc<HttpClient>,
    cfg: Box<PagerdutyConfig>,
}

impl Build for PagerDuty {
    type Config = PagerdutyConfig;
    const KIND: &'static str = "pagerduty";

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let service_key = secret(
            "service_key",
            c.service_key.as_ref(),
            c.service_key_file.as_deref(),
            cx.base_dir,
        )?;
        let routing_key = secret(
            "routing_key",
            c.routing_key.as_ref(),
            c.routing_key_file.as_deref(),
            cx.base_dir,
        )?;
        // A service key means v1, as in Alertmanager (whose v1 endpoint is
        // fixed; vigil takes the entry's own `url` when one is given).
        let (api, url) = match (service_key, routing_key) {
            (Some(k), _) => (
                Api::V1 { service_key: k },
                c.url.clone().unwrap_or_else(|| V1_URL.to_string()),
            ),
            (None, Some(k)) => (
                Api::V2 { routing_key: k },
                c.url
                    .clone()
                    .or_else(|| cx.global.pagerduty_url.clone())
                    .unwrap_or_else(|| "https://events.pagerduty.com/v2/enqueue".to_string()),
            ),
            (None, None) => {
                return Err(IntegrationError::Missing("missing service or routing key"));
            }
        };
        parse_url("url", &url)?;
        Ok(PagerDuty {
            api,
            url: Secret::new(url),
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

/// The details' defaults, as Alertmanager's `DefaultPagerdutyDetails`.
const DEFAULT_DETAILS: [(&str, &str); 4] = [
    (
        "firing",
        r#"{{ template "pagerduty.default.instances" .Alerts.Firing }}"#,
    ),
    (
        "resolved",
        r#"{{ template "pagerduty.default.instances" .Alerts.Resolved }}"#,
    ),
    ("num_firing", "{{ .Alerts.Firing | len }}"),
    ("num_resolved", "{{ .Alerts.Resolved | len }}"),
];

/// The note that replaces the details of an event over the limit.
const TOO_BIG: &str =
    "Custom details have been removed because the original event exceeds the maximum size of 512KB";

impl PagerDuty {
    fn key(&self) -> (&'static str, &Secret) {
        match &self.api {
            Api::V1 { service_key } => ("service_key", service_key),
            Api::V2 { routing_key } => ("routing_key", routing_key),
        }
    }

    fn details(&self, cx: &Render<'_>) -> Result<Map<String, Value>, TemplateError> {
        let mut all: BTreeMap<&str, &str> = DEFAULT_DETAILS.into_iter().collect();
        for (k, v) in &self.cfg.details {
            all.insert(k, v);
        }
        all.into_iter()
            .map(|(k, v)| Ok((k.to_string(), Value::String(cx.text(v)?))))
            .collect()
    }
}

impl HttpIntegration for PagerDuty {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        let t = |s: &str| cx.text(s);
        let (key_field, key) = self.key();
        // A templated key is rendered here and stored; a plain one is put
        // back when sending.
        let templated = key.expose().contains("{{");
        let key_value = if templated {
            t(key.expose())?
        } else {
            key.expose().to_string()
        };
        if key_value.is_empty() {
            return Err(TemplateError(format!("{key_field} cannot be empty")));
        }
        let trigger = cx.firing();
        let description = t(&tmpl_or(&c.description, "pagerduty.default.description"))?;
        let client_tmpl = tmpl_or(&c.client, "pagerduty.default.client");
        let client = t(&client_tmpl)?;
        let client_url = t(&tmpl_or(&c.client_url, "pagerduty.default.clientURL"))?;
        let details = self.details(cx)?;
        let mut msg = match &self.api {
            Api::V1 { .. } => {
                let mut m = json!({
                    "service_key": key_value,
                    "incident_key": cx.key_hash(),
                    "event_type": if trigger { "trigger" } else { "resolve" },
                    "description": cx.runes("description", description, MAX_SUMMARY_RUNES),
                    // Not omitted by Alertmanager's encoder.
                    "event_action": "",
                    "payload": null,
                    "details": details,
                });
                if let (true, Some(o)) = (trigger, m.as_object_mut()) {
                    insert_nonempty(o, "client", client);
                    insert_nonempty(o, "client_url", client_url);
                }
                m
            }
            Api::V2 { .. } => {
                let source = match &c.source {
                    Some(s) => t(s)?,
                    None => t(&client_tmpl)?,
                };
                let severity = t(c.severity.as_deref().unwrap_or("error"))?;
                let mut payload = json!({
                    "summary": cx.runes("summary", description, MAX_SUMMARY_RUNES),
                    "source": source,
                    "severity": severity,
                });
                if let Some(o) = payload.as_object_mut() {
                    insert_nonempty(o, "class", cx.text_or_empty(&c.class)?);
                    insert_nonempty(o, "component", cx.text_or_empty(&c.component)?);
                    insert_nonempty(o, "group", cx.text_or_empty(&c.group)?);
                }
                if !details.is_empty() {
                    payload["custom_details"] = Value::Object(details);
                }
                let mut m = json!({
                    "routing_key": key_value,
                    "dedup_key": cx.key_hash(),
                    "event_action": if trigger { "trigger" } else { "resolve" },
                    "payload": payload,
                });
                if let Some(o) = m.as_object_mut() {
                    insert_nonempty(o, "client", client);
                    insert_nonempty(o, "client_url", client_url);
                }
                let images: Vec<Value> = c
                    .images
                    .iter()
                    .map(|i| Ok(json!({"src": t(&i.src)?, "alt": t(&i.alt)?, "href": t(&i.href)?})))
                    .collect::<Result<Vec<_>, TemplateError>>()?
                    .into_iter()
                    .filter(|i| i["src"] != "")
                    .collect();
                let links: Vec<Value> = c
                    .links
                    .iter()
                    .map(|l| Ok(json!({"href": t(&l.href)?, "text": t(&l.text)?})))
                    .collect::<Result<Vec<_>, TemplateError>>()?
                    .into_iter()
                    .filter(|l| l["href"] != "")
                    .collect();
                if !images.is_empty() {
                    m["images"] = Value::Array(images);
                }
                if !links.is_empty() {
                    m["links"] = Value::Array(links);
                }
                m
            }
        };
        if go_json_len(&msg) > MAX_EVENT_SIZE {
            let note = json!({"error": TOO_BIG});
            match &self.api {
                Api::V1 { .. } => msg["details"] = note,
                Api::V2 { .. } => msg["payload"]["custom_details"] = note,
            }
            cx.note_truncated("details");
        }
        if !templated && let Some(o) = msg.as_object_mut() {
            o.remove(key_field);
        }
        Ok(msg)
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        let mut body = payload.clone();
        let (key_field, key) = self.key();
        let o = body.as_object_mut().ok_or("payload is not an object")?;
        if !o.contains_key(key_field) {
            o.insert(key_field.into(), Value::String(key.expose().to_string()));
        }
        Ok(vec![HttpRequest::json(self.url.clone(), &body)])
    }

    fn classify(&self, a: &Answer, now: DateTime<Utc>) -> Decision {
        match self.api {
            Api::V1 { .. } => classify(a, &[403], now),
            Api::V2 { .. } => classify(a, &[429], now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::retry::FailureReason;
    use crate::notify::route::parse_str;
    use std::path::Path;

    fn built(entry: &str) -> PagerDuty {
        let text = format!(
            "route: {{receiver: r}}\nreceivers:\n  - name: r\n    pagerduty_configs: [{entry}]\n"
        );
        let loaded = parse_str("am.yml", &text, &|_| None).unwrap();
        let cx = BuildContext {
            global: &loaded.config.global,
            base_dir: Path::new("."),
        };
        PagerDuty::build(&loaded.config.receivers[0].pagerduty_configs[0], &cx).unwrap()
    }

    /// v1 retries 403 (its rate limit), v2 retries 429; both retry 5xx and
    /// wait at least `Retry-After`.
    #[test]
    fn retry_codes_per_api() {
        let now = Utc::now();
        let answer = |status, ra: Option<&str>| Answer {
            status,
            retry_after: ra.map(String::from),
            body: String::new(),
        };
        let v1 = built("{service_key: k}");
        let v2 = built("{routing_key: k}");
        assert_eq!(v1.url.expose(), V1_URL);
        assert_eq!(v2.url.expose(), "https://events.pagerduty.com/v2/enqueue");
        assert!(v1.classify(&answer(403, None), now).retryable());
        assert!(!v2.classify(&answer(403, None), now).retryable());
        assert!(!v1.classify(&answer(400, None), now).retryable());
        assert_eq!(
            v2.classify(&answer(429, Some("30")), now),
            Decision::Retry {
                reason: FailureReason::RateLimited,
                not_before: Some(std::time::Duration::from_secs(30))
            }
        );
        assert!(v2.classify(&answer(502, None), now).retryable());
        assert_eq!(v2.classify(&answer(202, None), now), Decision::Delivered);
    }
}
