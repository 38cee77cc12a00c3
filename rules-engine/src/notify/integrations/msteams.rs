//! `msteams_configs` (Alertmanager 0.26+): an Office 365 connector
//! `MessageCard` posted to a Teams incoming webhook — title, summary and
//! Markdown text from templates, theme colour red while firing and green
//! once resolved. The webhook URL carries its token, so it is a secret.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{Check, at_most_one, client, secret};
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::template::TemplateError;
use crate::route::receivers::HttpConfig;
use vigil_common::Secret;

/// One `msteams_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsTeamsConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    pub webhook_url: Option<Secret>,
    pub webhook_url_file: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub text: Option<String>,
}

http_entries!(MsTeamsConfig);

fn yes() -> bool {
    true
}

/// Both Teams kinds: a webhook URL, inline or in a file.
pub(super) fn check_webhook(url: &Option<Secret>, file: &Option<String>) -> Result<(), String> {
    if url.is_none() && file.is_none() {
        return Err("one of webhook_url or webhook_url_file must be configured".into());
    }
    at_most_one(url, file, ("webhook_url", "webhook_url_file"))
}

impl Check for MsTeamsConfig {
    fn check(&self) -> Result<(), String> {
        check_webhook(&self.webhook_url, &self.webhook_url_file)
    }
}

/// A built `msteams_configs` entry.
pub struct MsTeams {
    url: Secret,
    client: Arc<HttpClient>,
    cfg: Box<MsTeamsConfig>,
}

impl Build for MsTeams {
    type Config = MsTeamsConfig;
    const KIND: &'static str = "msteams";

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, String> {
        let url = secret(
            "webhook_url",
            c.webhook_url.as_ref(),
            c.webhook_url_file.as_deref(),
            cx.base_dir,
        )?
        .ok_or("one of webhook_url or webhook_url_file must be configured")?;
        Ok(MsTeams {
            url,
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

impl HttpIntegration for MsTeams {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        Ok(json!({
            "@context": "http://schema.org/extensions",
            "type": "MessageCard",
            "title": cx.text(&tmpl_or(&c.title, "msteams.default.title"))?,
            "summary": cx.text(&tmpl_or(&c.summary, "msteams.default.summary"))?,
            "text": cx.text(&tmpl_or(&c.text, "msteams.default.text"))?,
            "themeColor": if cx.firing() { "8C1A1A" } else { "2DC72D" },
        }))
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        Ok(vec![HttpRequest::json(self.url.clone(), payload)])
    }
}
