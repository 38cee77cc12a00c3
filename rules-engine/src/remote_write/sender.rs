//! One receiver's sending task: wait for a full batch or the batch
//! deadline, label and relabel the samples, encode, POST; on a recoverable
//! failure wait (exponential backoff from `min_backoff` to `max_backoff`,
//! or the receiver's Retry-After) and send the same request again, on a
//! refusal count the samples as failed and go on. Only this task waits:
//! rule evaluation only ever pushes onto the queue.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::client::{Outcome, RemoteClient};
use super::config::QueueConfig;
use super::metrics::UrlMetrics;
use super::proto;
use super::queue::{Queue, QueuedSample};
use crate::model::Labels;
use crate::scrape::relabel::{RelabelConfig, process};

/// Longest Retry-After honoured, so a receiver's typo cannot park the
/// queue for a day.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A receiver's failure state, so a failure is logged at `warn` once per
/// change (a new reason), not once per attempt, and recovery once.
#[derive(Debug, Default)]
struct FailureLog {
    last: Option<String>,
}

impl FailureLog {
    /// Records a failure; true when it is news (to be logged).
    fn failed(&mut self, reason: &str) -> bool {
        if self.last.as_deref() == Some(reason) {
            return false;
        }
        self.last = Some(reason.to_string());
        true
    }

    /// Records a delivery; true when it ends a failure (to be logged).
    fn recovered(&mut self) -> bool {
        self.last.take().is_some()
    }
}

/// What a sender needs besides its queue.
pub struct Sender {
    pub url: String,
    pub client: RemoteClient,
    pub queue_config: QueueConfig,
    pub external_labels: Labels,
    pub relabel: Vec<RelabelConfig>,
    pub metrics: UrlMetrics,
}

impl Sender {
    /// Sends until `stop`; then makes one last attempt at what is queued.
    pub async fn run(self, queue: Arc<Queue>, stop: CancellationToken) {
        let deadline = self.queue_config.batch_send_deadline.as_duration();
        let mut state = FailureLog::default();
        loop {
            if !queue.batch_full() {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = queue.ready.notified() => {}
                    _ = tokio::time::sleep(deadline) => {}
                }
            }
            let batch = queue.take_batch();
            self.metrics.pending.set(gauge(queue.len()));
            if !batch.is_empty() && !self.deliver(batch, &stop, &mut state).await {
                break;
            }
        }
        self.flush(&queue).await;
    }

    /// Sends one batch, retrying while that is worth it; `false` when
    /// stopped in the middle (the batch then counts as dropped).
    async fn deliver(
        &self,
        batch: Vec<QueuedSample>,
        stop: &CancellationToken,
        state: &mut FailureLog,
    ) -> bool {
        let Some((body, n)) = self.encode(batch) else {
            return true;
        };
        let qc = &self.queue_config;
        let mut backoff = qc.min_backoff.as_duration();
        loop {
            match self.client.send(body.clone()).await {
                Outcome::Delivered => {
                    if state.recovered() {
                        tracing::info!(url = %self.url, "remote write delivers again");
                    }
                    self.delivered(n);
                    return true;
                }
                Outcome::Refused { reason } => {
                    state.failed(&reason.to_string());
                    tracing::warn!(url = %self.url, samples = n, %reason, "remote write refused; dropping the batch");
                    self.metrics.failed.inc_by(n);
                    return true;
                }
                Outcome::Retry { reason, after } => {
                    if state.failed(&reason.to_string()) {
                        tracing::warn!(url = %self.url, samples = n, %reason, "remote write failing; retrying with backoff (logged again when the reason changes)");
                    } else {
                        tracing::debug!(url = %self.url, samples = n, %reason, "remote write failed; retrying");
                    }
                    self.metrics.retried.inc_by(n);
                    let wait = after.map_or(backoff, |a| a.min(MAX_RETRY_AFTER));
                    tokio::select! {
                        _ = stop.cancelled() => {
                            self.metrics.dropped.inc_by(n);
                            return false;
                        }
                        _ = tokio::time::sleep(wait) => {}
                    }
                    backoff = (backoff * 2).min(qc.max_backoff.as_duration());
                }
            }
        }
    }

    /// On stop: what is still queued gets one attempt each batch, no
    /// retries, so a shutdown is not held up by a dead receiver.
    async fn flush(&self, queue: &Queue) {
        loop {
            let batch = queue.take_batch();
            if batch.is_empty() {
                break;
            }
            let Some((body, n)) = self.encode(batch) else {
                continue;
            };
            match self.client.send(body).await {
                Outcome::Delivered => self.delivered(n),
                Outcome::Refused { .. } => {
                    self.metrics.failed.inc_by(n);
                }
                Outcome::Retry { .. } => {
                    let rest = queue.take_all().len() as u64;
                    self.metrics.dropped.inc_by(n + rest);
                    break;
                }
            }
        }
        self.metrics.pending.set(0);
    }

    fn delivered(&self, n: u64) {
        self.metrics.sent.inc_by(n);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.metrics.last_send.set(now);
    }

    /// The request body and its sample count; `None` when relabeling
    /// dropped every sample.
    fn encode(&self, batch: Vec<QueuedSample>) -> Option<(Vec<u8>, u64)> {
        let kept: Vec<QueuedSample> = batch
            .into_iter()
            .filter_map(|(l, t, v)| self.series_labels(l).map(|l| (l, t, v)))
            .collect();
        if kept.is_empty() {
            return None;
        }
        let n = kept.len() as u64;
        Some((proto::encode(&proto::write_request(kept)), n))
    }

    /// External labels added (the series' own win, as in Prometheus), then
    /// `write_relabel_configs`.
    fn series_labels(&self, mut labels: Labels) -> Option<Labels> {
        for l in &self.external_labels {
            if labels.get(&l.name).is_none() {
                labels.set(&l.name, &l.value);
            }
        }
        if self.relabel.is_empty() {
            return Some(labels);
        }
        process(labels, &self.relabel)
    }
}

/// A count as a gauge's value.
pub(super) fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod failure_log_tests {
    use super::FailureLog;

    #[test]
    fn failures_are_news_once_per_change() {
        let mut s = FailureLog::default();
        assert!(!s.recovered());
        assert!(s.failed("connection refused"));
        assert!(!s.failed("connection refused"));
        assert!(s.failed("HTTP 503"));
        assert!(s.recovered());
        assert!(!s.recovered());
        assert!(s.failed("HTTP 503"));
    }
}
