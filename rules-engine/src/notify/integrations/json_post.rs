//! The kinds that post their rendered JSON to one webhook URL holding its
//! token (Discord, both Teams kinds, Mattermost). Each kind's file keeps
//! what differs, its config and its payload ([`JsonPostConfig`]); reading
//! the URL once at build, the HTTP client and the request are this one
//! type, [`JsonPost`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::common::{Check, Entry, at_most_one, client, secret};
use super::error::IntegrationError;
use super::{Build, BuildContext, HttpIntegration, Render};
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// A `<kind>_configs` entry whose notifications are one JSON POST to its
/// webhook URL.
pub trait JsonPostConfig:
    DeserializeOwned + Clone + std::fmt::Debug + Entry + Check + Send + Sync + 'static
{
    const KIND: &'static str;
    /// The build error when no URL is configured, worded as Alertmanager's.
    const MISSING: &'static str;
    /// An empty URL (from an empty file) counts as missing.
    const EMPTY_IS_MISSING: bool = false;
    /// `webhook_url` and `webhook_url_file`.
    fn webhook_url(&self) -> (Option<&Secret>, Option<&str>);
    /// The body posted for a notification.
    fn payload(&self, cx: &Render<'_>) -> Result<Value, TemplateError>;
}

/// A built entry of a [`JsonPostConfig`] kind.
pub struct JsonPost<C> {
    url: Secret,
    client: Arc<HttpClient>,
    cfg: Box<C>,
}

impl<C: JsonPostConfig> Build for JsonPost<C> {
    type Config = C;
    const KIND: &'static str = C::KIND;

    fn build(c: &C, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let (inline, file) = c.webhook_url();
        let url = secret("webhook_url", inline, file, cx.base_dir)?
            .filter(|u| !(C::EMPTY_IS_MISSING && u.is_empty()))
            .ok_or(IntegrationError::Missing(C::MISSING))?;
        Ok(JsonPost {
            url,
            client: client(c.http_config(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

impl<C: JsonPostConfig> HttpIntegration for JsonPost<C> {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        self.cfg.payload(cx)
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        Ok(vec![HttpRequest::json(self.url.clone(), payload)])
    }
}

/// The check of both Teams kinds and Mattermost: a webhook URL, inline or
/// in a file, not both.
pub(super) fn check_webhook(url: &Option<Secret>, file: &Option<String>) -> Result<(), String> {
    if url.is_none() && file.is_none() {
        return Err("one of webhook_url or webhook_url_file must be configured".into());
    }
    at_most_one(url, file, ("webhook_url", "webhook_url_file"))
}
