//! `msteamsv2_configs` (Alertmanager 0.28+): a message with one Adaptive
//! Card (schema 1.2, full width) for a Teams workflow (Power Automate) —
//! a heading (`title`, coloured Attention while firing, Good once
//! resolved) and a wrapped Markdown text block. The flow's URL carries its
//! signature, so it is a secret.

use serde::Deserialize;
use serde_json::{Value, json};

use super::common::Check;
use super::json_post::{JsonPost, JsonPostConfig, check_webhook};
use super::{Render, tmpl_or};
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// One `msteamsv2_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsTeamsV2Config {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    pub webhook_url: Option<Secret>,
    pub webhook_url_file: Option<String>,
    pub title: Option<String>,
    pub text: Option<String>,
}

http_entries!(MsTeamsV2Config);

fn yes() -> bool {
    true
}

impl Check for MsTeamsV2Config {
    fn check(&self) -> Result<(), String> {
        check_webhook(&self.webhook_url, &self.webhook_url_file)
    }
}

/// A built `msteamsv2_configs` entry.
pub type MsTeamsV2 = JsonPost<MsTeamsV2Config>;

impl JsonPostConfig for MsTeamsV2Config {
    const KIND: &'static str = "msteamsv2";
    const MISSING: &'static str = "one of webhook_url or webhook_url_file must be configured";

    fn webhook_url(&self) -> (Option<&Secret>, Option<&str>) {
        (self.webhook_url.as_ref(), self.webhook_url_file.as_deref())
    }

    fn payload(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = self;
        let title = cx.text(&tmpl_or(&c.title, "msteamsv2.default.title"))?;
        let text = cx.text(&tmpl_or(&c.text, "msteamsv2.default.text"))?;
        let color = if cx.firing() { "Attention" } else { "Good" };
        Ok(json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.2",
                    "body": [
                        {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true, "style": "heading", "color": color},
                        {"type": "TextBlock", "text": text, "wrap": true},
                    ],
                    "msteams": {"width": "full"},
                },
            }],
        }))
    }
}
