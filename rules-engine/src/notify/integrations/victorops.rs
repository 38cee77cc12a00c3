//! `victorops_configs`: Splunk On-Call's (VictorOps) REST endpoint, as
//! Alertmanager 0.25 posts to it: `<api_url><api_key>/<routing_key>` with
//! a flat JSON object — `message_type` (CRITICAL, or INFO/WARNING when
//! configured, RECOVERY once resolved), `entity_id` (the SHA-256 of the
//! group key), display name, state message (cut to 20480 characters),
//! monitoring tool and the custom fields. The API key is in the path, so
//! the path is built when sending.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::common::{
    Check, at_most_one, client, join_path, parse_url, secret_or_global, with_slash,
};
use super::error::IntegrationError;
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::route::config::GlobalConfig;
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// The longest state message, in characters.
pub const MAX_MESSAGE_RUNES: usize = 20480;

/// One `victorops_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VictorOpsConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    pub api_key: Option<Secret>,
    pub api_key_file: Option<String>,
    /// `global.victorops_api_url` when absent.
    pub api_url: Option<String>,
    /// Required; a template.
    #[serde(default)]
    pub routing_key: String,
    /// `CRITICAL` when absent.
    pub message_type: Option<String>,
    pub state_message: Option<String>,
    pub entity_display_name: Option<String>,
    pub monitoring_tool: Option<String>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
}

http_entries!(VictorOpsConfig);

fn yes() -> bool {
    true
}

/// Fields Alertmanager sets itself.
const RESERVED: [&str; 7] = [
    "routing_key",
    "message_type",
    "state_message",
    "entity_display_name",
    "monitoring_tool",
    "entity_id",
    "entity_state",
];

impl Check for VictorOpsConfig {
    fn check(&self) -> Result<(), String> {
        if self.routing_key.is_empty() {
            return Err("missing Routing key in VictorOps config".into());
        }
        at_most_one(
            &self.api_key,
            &self.api_key_file,
            ("api_key", "api_key_file"),
        )?;
        if let Some(f) = RESERVED
            .iter()
            .find(|f| self.custom_fields.contains_key(**f))
        {
            return Err(format!(
                "victorOps config contains custom field {f} which cannot be used as it conflicts with the fixed/static fields"
            ));
        }
        if let Some(u) = &self.api_url {
            parse_url("api_url", u)?;
        }
        Ok(())
    }
}

/// A built `victorops_configs` entry.
pub struct VictorOps {
    api_url: url::Url,
    api_key: Secret,
    client: Arc<HttpClient>,
    cfg: Box<VictorOpsConfig>,
}

impl Build for VictorOps {
    type Config = VictorOpsConfig;
    const KIND: &'static str = "victorops";

    fn global_problem(c: &Self::Config, g: &GlobalConfig) -> Option<String> {
        let own = c.api_key.is_some() || c.api_key_file.is_some();
        let global = g.victorops_api_key.is_some() || g.victorops_api_key_file.is_some();
        (!own && !global).then(|| "no global VictorOps API Key set".to_string())
    }

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let g = cx.global;
        let api_key = secret_or_global(
            cx,
            ("api_key", c.api_key.as_ref(), c.api_key_file.as_deref()),
            (
                "victorops_api_key",
                g.victorops_api_key.as_ref(),
                g.victorops_api_key_file.as_deref(),
            ),
        )?
        .ok_or(IntegrationError::Missing("no global VictorOps API Key set"))?;
        let url = c
            .api_url
            .clone()
            .or_else(|| g.victorops_api_url.clone())
            .unwrap_or_else(|| {
                "https://alert.victorops.com/integrations/generic/20131114/alert/".to_string()
            });
        Ok(VictorOps {
            api_url: with_slash(parse_url("api_url", &url)?),
            api_key,
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

impl HttpIntegration for VictorOps {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        let t = |s: &str| cx.text(s);
        let mut message_type = t(c.message_type.as_deref().unwrap_or("CRITICAL"))?;
        if !cx.firing() {
            message_type = "RECOVERY".into();
        } else if !["INFO", "WARNING", "CRITICAL"].contains(&message_type.as_str()) {
            message_type = "CRITICAL".into();
        }
        let state = t(&tmpl_or(
            &c.state_message,
            "victorops.default.state_message",
        ))?;
        let mut body = json!({
            "message_type": message_type,
            "entity_id": cx.key_hash(),
            "entity_display_name": t(&tmpl_or(&c.entity_display_name, "victorops.default.entity_display_name"))?,
            "state_message": cx.runes("state_message", state, MAX_MESSAGE_RUNES),
            "monitoring_tool": t(&tmpl_or(&c.monitoring_tool, "victorops.default.monitoring_tool"))?,
        });
        for (k, v) in &c.custom_fields {
            body[k] = Value::String(t(v)?);
        }
        let mut stored = Map::new();
        stored.insert("routing_key".into(), Value::String(t(&c.routing_key)?));
        stored.insert("body".into(), body);
        Ok(Value::Object(stored))
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        let routing_key = payload["routing_key"]
            .as_str()
            .ok_or("payload has no routing_key")?;
        let u = join_path(
            &self.api_url,
            &format!("{}/{routing_key}", self.api_key.expose()),
        );
        Ok(vec![HttpRequest::json(
            Secret::new(u.to_string()),
            &payload["body"],
        )])
    }
}
