//! The notification pipeline's own metrics, declared in one place with
//! bounded labels (integration kind, outcome, reason: fixed sets, never a
//! receiver name or URL). Registered into a registry passed in.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::status::{DeliveryOutcome, FailureReason, FlushResult};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub integration: String,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FlushLabels {
    /// A muting stage's reason, a dedup reason, or `queued`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TruncatedLabels {
    pub integration: String,
    /// The payload field cut (`summary`, `message`, ...).
    pub field: String,
}

#[derive(Clone, Debug, Default)]
pub struct NotifyMetrics {
    pub truncated: Family<TruncatedLabels, Counter>,
    pub alerts_received: Counter,
    pub notifications: Family<OutcomeLabels, Counter>,
    pub flushes: Family<FlushLabels, Counter>,
    pub groups: Gauge,
    pub errors: Counter,
    /// Posted alerts refused by validation (Alertmanager's
    /// `alertmanager_alerts_invalid_total`).
    pub alerts_invalid: Counter,
    /// New alerts not taken because `alerting.max_alerts` were held.
    pub alerts_dropped: Counter,
}

impl NotifyMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "vigil_notify_alerts_received",
            "Alerts handed to the dispatcher",
            self.alerts_received.clone(),
        );
        r.register(
            "vigil_notifications",
            "Notification delivery attempts by integration kind, outcome and reason",
            self.notifications.clone(),
        );
        r.register(
            "vigil_notify_flush_decisions",
            "Per-integration decisions of group flushes",
            self.flushes.clone(),
        );
        r.register(
            "vigil_notifications_truncated",
            "Notification fields cut to a receiver's length limit, as Alertmanager cuts them",
            self.truncated.clone(),
        );
        r.register(
            "vigil_notify_aggregation_groups",
            "Aggregation groups held",
            self.groups.clone(),
        );
        r.register(
            "vigil_notify_store_errors",
            "Outbox or history writes that failed (retried at the next flush)",
            self.errors.clone(),
        );
        r.register(
            "vigil_notify_alerts_invalid",
            "Alerts posted to /api/v2/alerts and refused as invalid",
            self.alerts_invalid.clone(),
        );
        r.register(
            "vigil_notify_alerts_dropped",
            "New alerts not taken because alerting.max_alerts alerts were held",
            self.alerts_dropped.clone(),
        );
    }

    /// One delivery attempt; `reason` is empty for a delivered one.
    pub fn outcome(
        &self,
        integration: &str,
        outcome: DeliveryOutcome,
        reason: Option<FailureReason>,
    ) {
        self.notifications
            .get_or_create(&OutcomeLabels {
                integration: integration.to_string(),
                outcome: outcome.as_str().to_string(),
                reason: reason.map_or("", |r| r.as_str()).to_string(),
            })
            .inc();
    }

    pub fn truncated(&self, integration: &str, field: &str) {
        self.truncated
            .get_or_create(&TruncatedLabels {
                integration: integration.to_string(),
                field: field.to_string(),
            })
            .inc();
    }

    pub fn flush(&self, result: FlushResult) {
        self.flushes
            .get_or_create(&FlushLabels {
                result: result.as_str().to_string(),
            })
            .inc();
    }
}
