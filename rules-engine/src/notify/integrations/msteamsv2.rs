//! `msteamsv2_configs` (Alertmanager 0.28+): a message with one Adaptive
//! Card (schema 1.2, full width) for a Teams workflow (Power Automate) —
//! a heading (`title`, coloured Attention while firing, Good once
//! resolved) and a wrapped Markdown text block. The flow's URL carries its
//! signature, so it is a secret.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{Check, client, secret};
use super::msteams::check_webhook;
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::template::TemplateError;
use crate::route::receivers::HttpConfig;
use vigil_common::Secret;

/// One `msteamsv2_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsTeamsV2Config {
    #[serde(
        default = "yes",
        deserialize_with = "crate::route::config::yaml11_bool"
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
pub struct MsTeamsV2 {
    url: Secret,
    client: Arc<HttpClient>,
    cfg: Box<MsTeamsV2Config>,
}

impl Build for MsTeamsV2 {
    type Config = MsTeamsV2Config;
    const KIND: &'static str = "msteamsv2";

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, String> {
        let url = secret(
            "webhook_url",
            c.webhook_url.as_ref(),
            c.webhook_url_file.as_deref(),
            cx.base_dir,
        )?
        .ok_or("one of webhook_url or webhook_url_file must be configured")?;
        Ok(MsTeamsV2 {
            url,
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

impl HttpIntegration for MsTeamsV2 {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
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

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        Ok(vec![HttpRequest::json(self.url.clone(), payload)])
    }
}
