//! `telegram_configs`: a message to a chat through the Bot API's
//! `sendMessage`, as Alertmanager 0.25 sends it (through telebot): JSON
//! with string values, link previews off, `parse_mode` HTML by default
//! (the message then rendered as HTML, escaped by context). The message
//! is cut to 4096 characters. The bot token is part of the URL path, so
//! it is added when sending.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{Check, at_most_one, client, parse_url, secret};
use super::error::IntegrationError;
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// The longest message Telegram takes, in characters.
pub const MAX_MESSAGE_RUNES: usize = 4096;

/// One `telegram_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    /// `global.telegram_api_url` when absent.
    pub api_url: Option<String>,
    pub bot_token: Option<Secret>,
    /// vigil (and Alertmanager 0.26+): the token read from a file.
    pub bot_token_file: Option<String>,
    #[serde(default)]
    pub chat_id: i64,
    pub message: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub disable_notifications: bool,
    /// `HTML` when absent; empty for plain text.
    #[serde(default = "html")]
    pub parse_mode: String,
}

http_entries!(TelegramConfig);

fn yes() -> bool {
    true
}

fn html() -> String {
    "HTML".into()
}

impl Check for TelegramConfig {
    fn check(&self) -> Result<(), String> {
        if self.bot_token.is_none() && self.bot_token_file.is_none() {
            return Err("missing bot_token on telegram_config".into());
        }
        at_most_one(
            &self.bot_token,
            &self.bot_token_file,
            ("bot_token", "bot_token_file"),
        )?;
        if self.chat_id == 0 {
            return Err("missing chat_id on telegram_config".into());
        }
        if !["", "Markdown", "MarkdownV2", "HTML"].contains(&self.parse_mode.as_str()) {
            return Err("unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string".into());
        }
        if let Some(u) = &self.api_url {
            parse_url("api_url", u)?;
        }
        Ok(())
    }
}

/// A built `telegram_configs` entry.
pub struct Telegram {
    api_url: String,
    token: Secret,
    client: Arc<HttpClient>,
    cfg: Box<TelegramConfig>,
}

impl Build for Telegram {
    type Config = TelegramConfig;
    const KIND: &'static str = "telegram";

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let token = secret(
            "bot_token",
            c.bot_token.as_ref(),
            c.bot_token_file.as_deref(),
            cx.base_dir,
        )?
        .ok_or(IntegrationError::Missing("missing bot_token"))?;
        let api_url = c
            .api_url
            .clone()
            .or_else(|| cx.global.telegram_api_url.clone())
            .unwrap_or_else(|| "https://api.telegram.org".to_string());
        // Kept as written: telebot appends `/bot<token>/<method>`.
        let api_url = parse_url("api_url", &api_url)?.to_string();
        Ok(Telegram {
            api_url: api_url.trim_end_matches('/').to_string(),
            token,
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

impl HttpIntegration for Telegram {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        let src = tmpl_or(&c.message, "telegram.default.message");
        let text = if c.parse_mode == "HTML" {
            cx.html(&src)?
        } else {
            cx.text(&src)?
        };
        let mut msg = json!({
            "chat_id": c.chat_id.to_string(),
            "text": cx.runes("message", text, MAX_MESSAGE_RUNES),
            "disable_web_page_preview": "true",
        });
        if !c.parse_mode.is_empty() {
            msg["parse_mode"] = Value::String(c.parse_mode.clone());
        }
        if c.disable_notifications {
            msg["disable_notification"] = Value::String("true".into());
        }
        Ok(msg)
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        let url = format!("{}/bot{}/sendMessage", self.api_url, self.token.expose());
        Ok(vec![HttpRequest::json(Secret::new(url), payload)])
    }
}
