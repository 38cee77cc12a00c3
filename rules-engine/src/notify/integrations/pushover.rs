//! `pushover_configs`: Pushover's message API, as Alertmanager 0.25 calls
//! it — a POST to `https://api.pushover.net/1/messages.json` with every
//! parameter in the query string and no body. Title cut to 250
//! characters, message to 1024 (`(no details)` when empty), URL to 512.
//! The user key and token are left out of the stored payload and added
//! when sending.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::common::{Check, at_most_one, client, parse_go_duration, secret};
use super::error::IntegrationError;
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// Alertmanager 0.25's endpoint (not configurable there).
pub const API_URL: &str = "https://api.pushover.net/1/messages.json";
pub const MAX_TITLE_RUNES: usize = 250;
pub const MAX_MESSAGE_RUNES: usize = 1024;
pub const MAX_URL_RUNES: usize = 512;

/// One `pushover_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushoverConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    pub user_key: Option<Secret>,
    /// vigil (and Alertmanager 0.26+): the user key read from a file.
    pub user_key_file: Option<String>,
    pub token: Option<Secret>,
    /// vigil (and Alertmanager 0.26+): the token read from a file.
    pub token_file: Option<String>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub url: Option<String>,
    #[serde(default)]
    pub url_title: String,
    #[serde(default)]
    pub sound: String,
    /// `2` (emergency) while firing, `0` once resolved, when absent.
    pub priority: Option<String>,
    /// Go durations (`1m`, `1h30m`); 1 minute and 1 hour by default.
    #[serde(default = "one_minute", deserialize_with = "go_duration")]
    pub retry: u64,
    #[serde(default = "one_hour", deserialize_with = "go_duration")]
    pub expire: u64,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub html: bool,
}

http_entries!(PushoverConfig);

fn yes() -> bool {
    true
}

fn one_minute() -> u64 {
    60
}

fn one_hour() -> u64 {
    3600
}

/// A Go duration (`time.ParseDuration`) in whole seconds.
fn go_duration<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    parse_go_duration(&s)
        .map(|secs| secs as u64)
        .ok_or_else(|| serde::de::Error::custom(format!("time: invalid duration {s:?}")))
}

impl Check for PushoverConfig {
    fn check(&self) -> Result<(), String> {
        if self.user_key.is_none() && self.user_key_file.is_none() {
            return Err("missing user key in Pushover config".into());
        }
        at_most_one(
            &self.user_key,
            &self.user_key_file,
            ("user_key", "user_key_file"),
        )?;
        if self.token.is_none() && self.token_file.is_none() {
            return Err("missing token in Pushover config".into());
        }
        at_most_one(&self.token, &self.token_file, ("token", "token_file"))
    }
}

/// A built `pushover_configs` entry.
pub struct Pushover {
    user_key: Secret,
    token: Secret,
    client: Arc<HttpClient>,
    cfg: Box<PushoverConfig>,
}

impl Build for Pushover {
    type Config = PushoverConfig;
    const KIND: &'static str = "pushover";

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let dir = cx.base_dir;
        let user_key = secret(
            "user_key",
            c.user_key.as_ref(),
            c.user_key_file.as_deref(),
            dir,
        )?
        .ok_or(IntegrationError::Missing("missing user key"))?;
        let token = secret("token", c.token.as_ref(), c.token_file.as_deref(), dir)?
            .ok_or(IntegrationError::Missing("missing token"))?;
        Ok(Pushover {
            user_key,
            token,
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

impl HttpIntegration for Pushover {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        let t = |s: &str| cx.text(s);
        let title = cx.runes(
            "title",
            t(&tmpl_or(&c.title, "pushover.default.title"))?,
            MAX_TITLE_RUNES,
        );
        let src = tmpl_or(&c.message, "pushover.default.message");
        let message = if c.html { cx.html(&src)? } else { t(&src)? };
        let message = cx.runes("message", message, MAX_MESSAGE_RUNES);
        let message = match message.trim() {
            "" => "(no details)".to_string(),
            m => m.to_string(),
        };
        let url = cx.runes(
            "url",
            t(&tmpl_or(&c.url, "pushover.default.url"))?,
            MAX_URL_RUNES,
        );
        let priority = match &c.priority {
            Some(p) => t(p)?,
            None => if cx.firing() { "2" } else { "0" }.to_string(),
        };
        // In Alertmanager's order; the secrets are added when sending.
        let mut params = vec![("title", title)];
        if c.html {
            params.push(("html", "1".into()));
        }
        params.extend([
            ("message", message),
            ("url", url),
            ("url_title", t(&c.url_title)?),
            ("priority", priority),
            ("retry", c.retry.to_string()),
            ("expire", c.expire.to_string()),
            ("sound", t(&c.sound)?),
        ]);
        Ok(json!({ "params": params }))
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        let params = payload["params"]
            .as_array()
            .ok_or("payload has no params")?;
        let mut pairs: Vec<(String, String)> = vec![
            ("token".into(), self.token.expose().to_string()),
            ("user".into(), self.user_key.expose().to_string()),
        ];
        for p in params {
            let (Some(k), Some(v)) = (p[0].as_str(), p[1].as_str()) else {
                return Err("bad parameter in payload".into());
            };
            pairs.push((k.to_string(), v.to_string()));
        }
        // Go's url.Values.Encode sorts by key.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        Ok(vec![HttpRequest {
            method: reqwest::Method::POST,
            url: Secret::new(format!("{API_URL}?{query}")),
            headers: vec![("Content-Type", Secret::new("text/plain"))],
            body: Vec::new(),
        }])
    }
}
