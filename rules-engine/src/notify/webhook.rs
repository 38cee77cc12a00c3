//! Alertmanager's webhook payload, version 4: the notification data plus
//! `version`, `groupKey` and `truncatedAlerts`. With `max_alerts`, only the
//! first alerts are sent and the rest counted, so a receiver knows it saw
//! part of the group.

use serde::Serialize;

use super::alert::Alert;
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
