//! `opsgenie_configs`: Opsgenie's Alert API v2 as Alertmanager 0.25 uses
//! it. A firing group creates an alert (alias: the SHA-256 of the group
//! key, so Opsgenie deduplicates), and with `update_alerts` also updates
//! its message and description; a resolved group closes it. The message is
//! cut to 130 characters. Retried: 5xx and 429.
//!
//! The stored payload is the list of requests (method, path under
//! `api_url`, body); the API key is added when sending.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::common::{
    Check, at_most_one, classify, client, join_path, parse_url, safe_split, secret_or_global,
    with_slash,
};
use super::error::IntegrationError;
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::http::{Answer, HttpClient, HttpRequest};
use crate::notify::retry::Decision;
use crate::notify::route::config::GlobalConfig;
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// The longest message Opsgenie takes, in characters.
pub const MAX_MESSAGE_RUNES: usize = 130;

/// One `opsgenie_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    pub api_key: Option<Secret>,
    pub api_key_file: Option<String>,
    /// `global.opsgenie_api_url` when absent.
    pub api_url: Option<String>,
    pub message: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    /// Added to the common labels (and over them).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    pub entity: Option<String>,
    #[serde(default)]
    pub responders: Vec<Responder>,
    /// Comma-separated.
    pub actions: Option<String>,
    /// Comma-separated.
    pub tags: Option<String>,
    pub note: Option<String>,
    pub priority: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub update_alerts: bool,
}

http_entries!(OpsgenieConfig);

/// Who is told: by id, name or username; `type` one of team, teams (a
/// comma-separated `name` list), user, escalation, schedule, or a
/// template.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Responder {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub username: String,
    #[serde(default, rename = "type")]
    pub kind: String,
}

fn yes() -> bool {
    true
}

const RESPONDER_TYPES: [&str; 5] = ["team", "teams", "user", "escalation", "schedule"];

impl Check for OpsgenieConfig {
    fn check(&self) -> Result<(), String> {
        at_most_one(
            &self.api_key,
            &self.api_key_file,
            ("api_key", "api_key_file"),
        )?;
        if let Some(u) = &self.api_url {
            parse_url("api_url", u)?;
        }
        for r in &self.responders {
            if r.id.is_empty() && r.username.is_empty() && r.name.is_empty() {
                return Err(format!(
                    "opsGenieConfig responder {r:?} has to have at least one of id, username or name specified"
                ));
            }
            if !r.kind.contains("{{") && !RESPONDER_TYPES.contains(&r.kind.to_lowercase().as_str())
            {
                return Err(format!(
                    "opsGenieConfig responder {r:?} type does not match valid options ^(team|teams|user|escalation|schedule)$"
                ));
            }
        }
        Ok(())
    }
}

/// A built `opsgenie_configs` entry.
pub struct Opsgenie {
    api_url: url::Url,
    api_key: Secret,
    client: Arc<HttpClient>,
    cfg: Box<OpsgenieConfig>,
}

impl Build for Opsgenie {
    type Config = OpsgenieConfig;
    const KIND: &'static str = "opsgenie";

    fn global_problem(c: &Self::Config, g: &GlobalConfig) -> Option<String> {
        let own = c.api_key.is_some() || c.api_key_file.is_some();
        let global = g.opsgenie_api_key.is_some() || g.opsgenie_api_key_file.is_some();
        (!own && !global)
            .then(|| "no global OpsGenie API Key set either inline or in a file".to_string())
    }

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let g = cx.global;
        let api_key = secret_or_global(
            cx,
            ("api_key", c.api_key.as_ref(), c.api_key_file.as_deref()),
            (
                "opsgenie_api_key",
                g.opsgenie_api_key.as_ref(),
                g.opsgenie_api_key_file.as_deref(),
            ),
        )?
        .ok_or(IntegrationError::Missing(
            "no global OpsGenie API Key set either inline or in a file",
        ))?;
        let url = c
            .api_url
            .clone()
            .or_else(|| g.opsgenie_api_url.clone())
            .unwrap_or_else(|| "https://api.opsgenie.com/".to_string());
        Ok(Opsgenie {
            api_url: with_slash(parse_url("api_url", &url)?),
            api_key,
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

impl Opsgenie {
    fn responders(&self, cx: &Render<'_>) -> Result<Vec<Value>, TemplateError> {
        let mut out = Vec::new();
        for r in &self.cfg.responders {
            let (id, name, username, kind) = (
                cx.text(&r.id)?,
                cx.text(&r.name)?,
                cx.text(&r.username)?,
                cx.text(&r.kind)?,
            );
            if id.is_empty() && name.is_empty() && username.is_empty() && kind.is_empty() {
                continue;
            }
            if kind == "teams" {
                for team in safe_split(&name, ',') {
                    out.push(json!({"name": cx.text(&team)?, "type": "team"}));
                }
                continue;
            }
            let mut v = json!({"type": kind});
            for (k, s) in [("id", id), ("name", name), ("username", username)] {
                if !s.is_empty() {
                    v[k] = Value::String(s);
                }
            }
            out.push(v);
        }
        Ok(out)
    }
}

fn request(method: &str, path: String, body: Value) -> Value {
    json!({"method": method, "path": path, "body": body})
}

impl HttpIntegration for Opsgenie {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        let t = |s: &str| cx.text(s);
        let alias = cx.key_hash();
        let source = t(&tmpl_or(&c.source, "opsgenie.default.source"))?;
        let by_alias = "?identifierType=alias";
        if !cx.firing() {
            let path = format!("v2/alerts/{alias}/close{by_alias}");
            let close = request("POST", path, json!({"source": source}));
            return Ok(json!({ "requests": [close] }));
        }
        let message = cx.runes(
            "message",
            t(&tmpl_or(&c.message, "opsgenie.default.message"))?,
            MAX_MESSAGE_RUNES,
        );
        let description = t(&tmpl_or(&c.description, "opsgenie.default.description"))?;
        let mut details: Map<String, Value> = cx
            .data
            .common_labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        for (k, v) in &c.details {
            details.insert(k.clone(), Value::String(t(v)?));
        }
        let mut create = json!({
            "alias": alias,
            "message": message,
            "details": details,
            "source": source,
        });
        let responders = self.responders(cx)?;
        if !responders.is_empty() {
            create["responders"] = Value::Array(responders);
        }
        for (k, list) in [("tags", &c.tags), ("actions", &c.actions)] {
            let items = safe_split(&cx.text_or_empty(list)?, ',');
            if !items.is_empty() {
                create[k] = json!(items);
            }
        }
        for (k, v) in [
            ("description", description.clone()),
            ("note", cx.text_or_empty(&c.note)?),
            ("priority", cx.text_or_empty(&c.priority)?),
            ("entity", cx.text_or_empty(&c.entity)?),
        ] {
            if !v.is_empty() {
                create[k] = Value::String(v);
            }
        }
        let mut reqs = vec![request("POST", "v2/alerts".into(), create)];
        if c.update_alerts {
            let nonempty = |k: &str, v: String| {
                if v.is_empty() {
                    json!({})
                } else {
                    json!({ k: v })
                }
            };
            reqs.push(request(
                "PUT",
                format!("v2/alerts/{alias}/message{by_alias}"),
                nonempty("message", message),
            ));
            reqs.push(request(
                "PUT",
                format!("v2/alerts/{alias}/description{by_alias}"),
                nonempty("description", description),
            ));
        }
        Ok(json!({ "requests": reqs }))
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        let list = payload["requests"]
            .as_array()
            .ok_or("payload has no requests")?;
        list.iter()
            .map(|r| {
                let method = match r["method"].as_str() {
                    Some("PUT") => reqwest::Method::PUT,
                    _ => reqwest::Method::POST,
                };
                let path = r["path"].as_str().ok_or("request without a path")?;
                let (path, query) = path.split_once('?').unwrap_or((path, ""));
                let mut u = join_path(&self.api_url, path);
                u.set_query((!query.is_empty()).then_some(query));
                let mut req = HttpRequest::json(Secret::new(u.to_string()), &r["body"]);
                req.method = method;
                Ok(req.header(
                    "Authorization",
                    format!("GenieKey {}", self.api_key.expose()),
                ))
            })
            .collect()
    }

    fn classify(&self, a: &Answer, now: DateTime<Utc>) -> Decision {
        classify(a, &[429], now)
    }
}
