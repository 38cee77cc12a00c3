//! Alertmanager's webhook payload, version 4: the notification data plus
//! `version`, `groupKey` and `truncatedAlerts`. With `max_alerts`, only the
//! first alerts are sent and the rest counted, so a receiver knows it saw
//! part of the group.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::common::{Check, client};
use super::error::IntegrationError;
use super::{Build, BuildContext, HttpIntegration, Render};
use crate::notify::alert::Alert;
use crate::notify::data::Data;
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::route::receivers::WebhookConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage {
    #[serde(flatten)]
    pub data: Data,
    pub version: &'static str,
    pub group_key: String,
    pub truncated_alerts: u64,
}

impl WebhookMessage {
    /// `data` built from the alerts [`limit`] kept; `truncated` is the
    /// count it left out.
    pub fn new(data: Data, group_key: &str, truncated: u64) -> WebhookMessage {
        WebhookMessage {
            data,
            version: "4",
            group_key: group_key.to_string(),
            truncated_alerts: truncated,
        }
    }
}

/// The first `max_alerts` alerts (all when 0) and how many were left out.
/// Alertmanager truncates before building the data, so common labels are
/// those of the alerts sent.
pub fn limit(alerts: &[Alert], max_alerts: u64) -> (&[Alert], u64) {
    let max = usize::try_from(max_alerts).unwrap_or(usize::MAX);
    if max == 0 || alerts.len() <= max {
        return (alerts, 0);
    }
    (&alerts[..max], (alerts.len() - max) as u64)
}

/// A built `webhook_configs` entry.
pub struct Webhook {
    url: Secret,
    client: Arc<HttpClient>,
    max_alerts: u64,
}

http_entries!(WebhookConfig);

/// Alertmanager makes no check of its own while reading the entry.
impl Check for WebhookConfig {}

impl Build for Webhook {
    type Config = WebhookConfig;
    const KIND: &'static str = "webhook";

    fn build(c: &WebhookConfig, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let url = c
            .url
            .clone()
            .ok_or(IntegrationError::Missing("missing URL in webhook config"))?;
        Ok(Webhook {
            url,
            client: client(c.http_config.as_ref(), cx)?,
            max_alerts: c.max_alerts,
        })
    }
}

impl HttpIntegration for Webhook {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let n = cx.notice;
        let (sent, truncated) = limit(n.alerts, self.max_alerts);
        let data = Data::new(cx.receiver, n.group_labels, sent, n.external_url, n.now);
        let msg = WebhookMessage::new(data, n.group_key, truncated);
        serde_json::to_value(&msg).map_err(|e| TemplateError(e.to_string()))
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        Ok(vec![HttpRequest::json(self.url.clone(), payload)])
    }
}
