//! `msteams_configs` (Alertmanager 0.26+): an Office 365 connector
//! `MessageCard` posted to a Teams incoming webhook — title, summary and
//! Markdown text from templates, theme colour red while firing and green
//! once resolved. The webhook URL carries its token, so it is a secret.

use serde::Deserialize;
use serde_json::{Value, json};

use super::common::Check;
use super::json_post::{JsonPost, JsonPostConfig, check_webhook};
use super::{Render, tmpl_or};
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// One `msteams_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsTeamsConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
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

impl Check for MsTeamsConfig {
    fn check(&self) -> Result<(), String> {
        check_webhook(&self.webhook_url, &self.webhook_url_file)
    }
}

/// A built `msteams_configs` entry.
pub type MsTeams = JsonPost<MsTeamsConfig>;

impl JsonPostConfig for MsTeamsConfig {
    const KIND: &'static str = "msteams";
    const MISSING: &'static str = "one of webhook_url or webhook_url_file must be configured";

    fn webhook_url(&self) -> (Option<&Secret>, Option<&str>) {
        (self.webhook_url.as_ref(), self.webhook_url_file.as_deref())
    }

    fn payload(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = self;
        Ok(json!({
            "@context": "http://schema.org/extensions",
            "type": "MessageCard",
            "title": cx.text(&tmpl_or(&c.title, "msteams.default.title"))?,
            "summary": cx.text(&tmpl_or(&c.summary, "msteams.default.summary"))?,
            "text": cx.text(&tmpl_or(&c.text, "msteams.default.text"))?,
            "themeColor": if cx.firing() { "8C1A1A" } else { "2DC72D" },
        }))
    }
}
