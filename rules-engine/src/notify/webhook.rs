//! Alertmanager's webhook payload, version 4: the notification data plus
//! `version`, `groupKey` and `truncatedAlerts`. With `max_alerts`, only the
//! first alerts are sent and the rest counted, so a receiver knows it saw
//! part of the group.

use serde::Serialize;

use super::data::Data;

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
    /// `max_alerts` 0 means no limit.
    pub fn new(mut data: Data, group_key: &str, max_alerts: u64) -> WebhookMessage {
        let total = data.alerts.len() as u64;
        let truncated = if max_alerts > 0 && total > max_alerts {
            data.alerts.truncate(max_alerts as usize);
            total - max_alerts
        } else {
            0
        };
        WebhookMessage {
            data,
            version: "4",
            group_key: group_key.to_string(),
            truncated_alerts: truncated,
        }
    }
}
