//! `discord_configs`: one embed posted to a Discord webhook, as
//! Alertmanager 0.25 sends it: title and description from templates, red
//! while firing, green once resolved (0.25 cuts nothing). The webhook URL
//! carries its own token, so it is a secret.

use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{Check, at_most_one};
use super::json_post::{JsonPost, JsonPostConfig};
use super::{Render, tmpl_or};
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// Discord's colours, as Alertmanager's.
pub const RED: u32 = 0x992D22;
pub const GREEN: u32 = 0x2ECC71;

/// One `discord_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    pub webhook_url: Option<Secret>,
    /// vigil (and Alertmanager 0.26+): the URL read from a file.
    pub webhook_url_file: Option<String>,
    pub title: Option<String>,
    pub message: Option<String>,
}

http_entries!(DiscordConfig);

fn yes() -> bool {
    true
}

impl Check for DiscordConfig {
    fn check(&self) -> Result<(), String> {
        if self.webhook_url.is_none() && self.webhook_url_file.is_none() {
            return Err("no discord webhook URL provided".into());
        }
        at_most_one(
            &self.webhook_url,
            &self.webhook_url_file,
            ("webhook_url", "webhook_url_file"),
        )
    }
}

/// A built `discord_configs` entry.
pub type Discord = JsonPost<DiscordConfig>;

impl JsonPostConfig for DiscordConfig {
    const KIND: &'static str = "discord";
    const MISSING: &'static str = "no discord webhook URL provided";

    fn webhook_url(&self) -> (Option<&Secret>, Option<&str>) {
        (self.webhook_url.as_ref(), self.webhook_url_file.as_deref())
    }

    fn payload(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = self;
        let title = cx.text(&tmpl_or(&c.title, "discord.default.title"))?;
        let description = cx.text(&tmpl_or(&c.message, "discord.default.message"))?;
        let color = if cx.firing() { RED } else { GREEN };
        Ok(json!({
            "content": "",
            "embeds": [{"title": title, "description": description, "color": color}],
        }))
    }
}
