//! `webex_configs`: a Markdown message to a Webex room, as Alertmanager
//! 0.25 posts it (`{"markdown", "roomId"}`), authorized by the
//! `http_config.authorization` the entry must have (the bot's token). The
//! message is cut to 7439 bytes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{Check, client, parse_url, truncate_bytes};
use super::error::IntegrationError;
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// The longest message Webex takes, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 7439;

/// One `webex_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebexConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    /// `global.webex_api_url` when absent.
    pub api_url: Option<String>,
    pub message: Option<String>,
    #[serde(default)]
    pub room_id: String,
}

http_entries!(WebexConfig);

fn yes() -> bool {
    true
}

impl Check for WebexConfig {
    fn check(&self) -> Result<(), String> {
        if self.room_id.is_empty() {
            return Err("missing room_id on webex_config".into());
        }
        if self
            .http_config
            .as_ref()
            .is_none_or(|h| h.authorization.is_none())
        {
            return Err("missing webex_configs.http_config.authorization".into());
        }
        if let Some(u) = &self.api_url {
            parse_url("api_url", u)?;
        }
        Ok(())
    }
}

/// A built `webex_configs` entry.
pub struct Webex {
    url: Secret,
    client: Arc<HttpClient>,
    cfg: Box<WebexConfig>,
}

impl Build for Webex {
    type Config = WebexConfig;
    const KIND: &'static str = "webex";

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let url = c
            .api_url
            .clone()
            .or_else(|| cx.global.webex_api_url.clone())
            .unwrap_or_else(|| "https://webexapis.com/v1/messages".to_string());
        parse_url("api_url", &url)?;
        Ok(Webex {
            url: Secret::new(url),
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

impl HttpIntegration for Webex {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        let message = cx.text(&tmpl_or(&c.message, "webex.default.message"))?;
        let (message, cut) = truncate_bytes(&message, MAX_MESSAGE_BYTES);
        if cut {
            cx.note_truncated("message");
        }
        Ok(json!({"markdown": message, "roomId": c.room_id}))
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        Ok(vec![HttpRequest::json(self.url.clone(), payload)])
    }
}
