//! Forwarding alerts to existing Alertmanagers, for users who keep theirs:
//! the alerts vigil's rules produce are posted to each Alertmanager's
//! `/api/v2/alerts` as Prometheus's notifier posts them (a JSON array of
//! `labels`, `annotations`, `startsAt`, `endsAt`, `generatorURL`), from a
//! bounded queue that drops the oldest alerts when full and in batches.
//! As in Prometheus, a failed post is counted and not retried: rules
//! re-send active alerts on every evaluation, so the next one repairs it.
//! A reload swaps the list ([`Forwarder::set_targets`]) between batches;
//! with an empty list nothing is queued.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::data::go_time;
use super::errors::BuildError;
use super::http::HttpClient;
use crate::clock::Clock;
use crate::clock::from_ms;
use crate::notify::route::receivers::HttpConfig;
use crate::rules::query::{AlertSink, OutgoingAlert};
use vigil_common::Secret;

/// Prometheus's defaults: `--alertmanager.notification-queue-capacity`
/// and the batch size of one post.
pub const QUEUE_CAPACITY: usize = 10_000;
pub const BATCH: usize = 256;

/// One Alertmanager to forward to.
pub struct ForwardTarget {
    /// The Alertmanager's base URL (`http://am:9093`); a secret since it
    /// may carry credentials.
    pub url: Secret,
    pub http: HttpConfig,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabel {
    /// The target's index in the configuration (never its URL).
    alertmanager: String,
}

#[derive(Clone, Debug, Default)]
pub struct ForwardMetrics {
    sent: Family<TargetLabel, Counter>,
    errors: Family<TargetLabel, Counter>,
    dropped: Counter,
}

impl ForwardMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "vigil_forward_alerts_sent",
            "Alerts posted to each Alertmanager",
            self.sent.clone(),
        );
        r.register(
            "vigil_forward_errors",
            "Failed posts (a batch each) per Alertmanager",
            self.errors.clone(),
        );
        r.register(
            "vigil_forward_alerts_dropped",
            "Alerts dropped because the queue was full",
            self.dropped.clone(),
        );
    }
}

/// A target with its client built: what a reload checks before it swaps.
pub struct BuiltTarget {
    /// The position in the configuration: the metric label.
    index: usize,
    /// `.../api/v2/alerts`.
    url: Secret,
    client: HttpClient,
}

/// Builds every target's client; the first bad one is the error (which
/// names the target by position, never by its URL).
pub fn build_targets(targets: Vec<ForwardTarget>) -> Result<Vec<BuiltTarget>, BuildError> {
    targets
        .into_iter()
        .enumerate()
        .map(|(index, t)| {
            let scheme = reqwest::Url::parse(t.url.expose()).map(|u| u.scheme().to_string());
            if !matches!(scheme.as_deref(), Ok("http" | "https")) {
                return Err(BuildError::ForwardUrl { index });
            }
            let client = HttpClient::build(&t.http)
                .map_err(|source| BuildError::ForwardClient { index, source })?;
            let base = t.url.expose().trim_end_matches('/');
            Ok(BuiltTarget {
                index,
                url: Secret::new(format!("{base}/api/v2/alerts")),
                client,
            })
        })
        .collect()
}

struct Inner {
    queue: Mutex<VecDeque<OutgoingAlert>>,
    targets: Mutex<Arc<Vec<BuiltTarget>>>,
    wake: Notify,
    metrics: ForwardMetrics,
    cancel: CancellationToken,
    clock: Arc<dyn Clock>,
}

/// The forwarding sink. Cloning shares it.
#[derive(Clone)]
pub struct Forwarder {
    inner: Arc<Inner>,
}

/// Prometheus's wire form of one alert.
pub fn alert_json(a: &OutgoingAlert) -> Value {
    let labels: serde_json::Map<String, Value> = a
        .labels
        .iter()
        .map(|l| (l.name.clone(), json!(l.value)))
        .collect();
    let annotations: serde_json::Map<String, Value> = a
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({
        "labels": labels,
        "annotations": annotations,
        "startsAt": go_time(Some(from_ms(a.starts_at))),
        "endsAt": go_time((a.ends_at > 0).then(|| from_ms(a.ends_at))),
        "generatorURL": a.generator_url,
    })
}

impl Forwarder {
    /// Builds the clients and starts the sending task.
    pub fn start(
        targets: Vec<ForwardTarget>,
        metrics: ForwardMetrics,
        clock: Arc<dyn Clock>,
    ) -> Result<Forwarder, BuildError> {
        let built = build_targets(targets)?;
        let inner = Arc::new(Inner {
            queue: Mutex::new(VecDeque::new()),
            targets: Mutex::new(Arc::new(built)),
            wake: Notify::new(),
            metrics,
            cancel: CancellationToken::new(),
            clock,
        });
        tokio::spawn(run(inner.clone()));
        Ok(Forwarder { inner })
    }

    /// Forwards to `targets` from the next batch on (a reload). Alerts
    /// already queued go to the new list.
    pub fn set_targets(&self, targets: Vec<BuiltTarget>) {
        *self.inner.targets.lock() = Arc::new(targets);
        self.inner.wake.notify_one();
    }

    pub fn shutdown(&self) {
        self.inner.cancel.cancel();
    }
}

impl AlertSink for Forwarder {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        if self.inner.targets.lock().is_empty() {
            return;
        }
        let mut q = self.inner.queue.lock();
        q.extend(alerts);
        let over = q.len().saturating_sub(QUEUE_CAPACITY);
        if over > 0 {
            q.drain(..over);
            self.inner.metrics.dropped.inc_by(over as u64);
        }
        drop(q);
        self.inner.wake.notify_one();
    }
}

async fn run(inner: Arc<Inner>) {
    loop {
        let targets = inner.targets.lock().clone();
        let batch: Vec<OutgoingAlert> = {
            let mut q = inner.queue.lock();
            let n = q.len().min(BATCH);
            q.drain(..n).collect()
        };
        if batch.is_empty() {
            tokio::select! {
                _ = inner.cancel.cancelled() => return,
                _ = inner.wake.notified() => continue,
            }
        }
        let body = Value::Array(batch.iter().map(alert_json).collect());
        let count = batch.len() as u64;
        let posts = targets.iter().map(|t| {
            let (i, url, client) = (t.index, &t.url, &t.client);
            let body = &body;
            let inner = &inner;
            async move {
                let label = TargetLabel {
                    alertmanager: i.to_string(),
                };
                match client
                    .post_json("alertmanager", url, body, inner.clock.now())
                    .await
                {
                    Ok(()) => {
                        inner.metrics.sent.get_or_create(&label).inc_by(count);
                    }
                    Err(e) => {
                        inner.metrics.errors.get_or_create(&label).inc();
                        tracing::warn!(alertmanager = i, error = %e, "forwarding alerts failed");
                    }
                };
            }
        });
        futures::future::join_all(posts).await;
    }
}

/// Hands every alert to several sinks (the dispatcher and a forwarder).
pub struct Tee(pub Vec<Arc<dyn AlertSink>>);

impl AlertSink for Tee {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        if let Some((last, rest)) = self.0.split_last() {
            for s in rest {
                s.send(alerts.clone());
            }
            last.send(alerts);
        }
    }
}
