//! Remote write's own metrics, declared in one place, labelled by the
//! receiver's URL without credentials or query (a bounded set: the
//! configured receivers). They live as long as the server, across reloads.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RemoteLabels {
    pub url: String,
}

#[derive(Clone, Debug, Default)]
pub struct RemoteWriteMetrics {
    pub sent: Family<RemoteLabels, Counter>,
    pub failed: Family<RemoteLabels, Counter>,
    pub dropped: Family<RemoteLabels, Counter>,
    pub retried: Family<RemoteLabels, Counter>,
    pub pending: Family<RemoteLabels, Gauge>,
    pub last_send: Family<RemoteLabels, Gauge<f64, AtomicU64>>,
}

impl RemoteWriteMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "vigil_remote_write_samples_sent",
            "Samples the receiver accepted",
            self.sent.clone(),
        );
        r.register(
            "vigil_remote_write_samples_failed",
            "Samples the receiver refused for good (HTTP 4xx other than 429); not retried",
            self.failed.clone(),
        );
        r.register(
            "vigil_remote_write_samples_dropped",
            "Samples dropped unsent because the queue was full (oldest first) or vigil stopped",
            self.dropped.clone(),
        );
        r.register(
            "vigil_remote_write_samples_retried",
            "Samples sent again after a recoverable failure (5xx, 429, network)",
            self.retried.clone(),
        );
        r.register(
            "vigil_remote_write_samples_pending",
            "Samples queued, not yet sent",
            self.pending.clone(),
        );
        r.register(
            "vigil_remote_write_last_send_timestamp_seconds",
            "When the receiver last accepted a request (Unix seconds)",
            self.last_send.clone(),
        );
    }

    /// The handles of one receiver.
    pub fn for_url(&self, url: &str) -> UrlMetrics {
        let l = RemoteLabels { url: url.into() };
        UrlMetrics {
            sent: self.sent.get_or_create(&l).clone(),
            failed: self.failed.get_or_create(&l).clone(),
            dropped: self.dropped.get_or_create(&l).clone(),
            retried: self.retried.get_or_create(&l).clone(),
            pending: self.pending.get_or_create(&l).clone(),
            last_send: self.last_send.get_or_create(&l).clone(),
        }
    }
}

/// One receiver's counters, updated without a family lookup.
#[derive(Clone, Debug)]
pub struct UrlMetrics {
    pub sent: Counter,
    pub failed: Counter,
    pub dropped: Counter,
    pub retried: Counter,
    pub pending: Gauge,
    pub last_send: Gauge<f64, AtomicU64>,
}
