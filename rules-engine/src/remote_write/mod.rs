//! Remote write: recording-rule results and `ALERTS` / `ALERTS_FOR_STATE`
//! sent to Prometheus-compatible receivers (Prometheus with its receiver
//! enabled, Mimir, Thanos Receive, VictoriaMetrics) in remote write 1.0.
//!
//! ```text
//! rule evaluation --append--> TeeAppender --> embedded store
//!                                  \--push--> Queue (bounded, per receiver) --> Sender --POST--> receiver
//! ```
//!
//! [`RemoteWrite`] owns the running queues; [`RemoteWrite::prepare`] builds
//! a config's clients (reading credential files) without touching them,
//! and [`RemoteWrite::apply`] swaps them in, so a reload is checked first
//! and a receiver that stays keeps what it had queued.

pub mod client;
pub mod config;
pub mod metrics;
pub mod proto;
pub mod queue;
pub mod sender;

use std::sync::Arc;

use parking_lot::RwLock;
use tokio_util::sync::CancellationToken;

pub use config::{QueueConfig, RemoteWriteConfig};
pub use metrics::RemoteWriteMetrics;

use crate::model::Labels;
use crate::store::{AppendError, Appender, BatchItem};
use metrics::UrlMetrics;
use queue::Queue;
use sender::Sender;

/// A receiver built from config, not yet sending.
pub struct Prepared {
    sender: Sender,
    capacity: usize,
    batch: usize,
}

/// A receiver being sent to.
struct Running {
    url: String,
    queue: Arc<Queue>,
    metrics: UrlMetrics,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// The running receivers (none unless configured).
#[derive(Default)]
pub struct RemoteWrite {
    metrics: RemoteWriteMetrics,
    remotes: RwLock<Vec<Running>>,
}

/// A receiver whose client could not be built, named by its URL without
/// credentials.
#[derive(Debug, thiserror::Error)]
#[error("remote write to {url}: {source}")]
pub struct PrepareError {
    pub url: String,
    #[source]
    pub source: crate::scrape::client::ClientError,
}

impl RemoteWrite {
    pub fn new(metrics: RemoteWriteMetrics) -> RemoteWrite {
        RemoteWrite {
            metrics,
            remotes: RwLock::new(Vec::new()),
        }
    }

    /// Builds a client per configured receiver. The error names the
    /// receiver by its URL without credentials.
    pub fn prepare(
        &self,
        configs: &[RemoteWriteConfig],
        external_labels: &Labels,
    ) -> Result<Vec<Prepared>, PrepareError> {
        configs
            .iter()
            .map(|c| {
                let url = c.display_url();
                let client = match client::RemoteClient::new(c) {
                    Ok(client) => client,
                    Err(source) => return Err(PrepareError { url, source }),
                };
                Ok(Prepared {
                    capacity: c.queue_config.capacity,
                    batch: c.queue_config.max_samples_per_send,
                    sender: Sender {
                        metrics: self.metrics.for_url(&url),
                        url,
                        client,
                        queue_config: c.queue_config.clone(),
                        external_labels: external_labels.clone(),
                        relabel: c.write_relabel_configs.clone(),
                    },
                })
            })
            .collect()
    }

    /// Starts `next` on the current runtime and stops the receivers it
    /// replaces; samples queued for a URL that stays move to its new queue.
    pub async fn apply(&self, next: Vec<Prepared>) {
        let started: Vec<Running> = next.into_iter().map(start).collect();
        let old = std::mem::replace(&mut *self.remotes.write(), started);
        for r in old {
            let left = r.queue.take_all();
            let successor = self.with_url(&r.url, |q| {
                for s in left.iter().cloned() {
                    q.push(s);
                }
            });
            if successor.is_none() {
                r.metrics.dropped.inc_by(left.len() as u64);
            }
            r.stop.cancel();
            let _ = r.task.await;
        }
    }

    fn with_url(&self, url: &str, f: impl FnOnce(&Queue)) -> Option<()> {
        let remotes = self.remotes.read();
        let r = remotes.iter().find(|r| r.url == url)?;
        f(&r.queue);
        Some(())
    }

    /// Queues one sample for every receiver; never waits on the network.
    pub fn push(&self, labels: &Labels, t: i64, v: f64) {
        let remotes = self.remotes.read();
        for r in remotes.iter() {
            let (dropped, len) = r.queue.push((labels.clone(), t, v));
            if dropped > 0 {
                r.metrics.dropped.inc_by(dropped as u64);
            }
            r.metrics.pending.set(sender::gauge(len));
        }
    }

    /// Whether any receiver is configured.
    pub fn is_active(&self) -> bool {
        !self.remotes.read().is_empty()
    }

    /// Stops every sender after one last attempt at what is queued.
    pub async fn stop(&self) {
        let old = std::mem::take(&mut *self.remotes.write());
        for r in old {
            r.stop.cancel();
            let _ = r.task.await;
        }
    }
}

fn start(p: Prepared) -> Running {
    let queue = Arc::new(Queue::new(p.capacity, p.batch));
    let stop = CancellationToken::new();
    let url = p.sender.url.clone();
    let metrics = p.sender.metrics.clone();
    let task = tokio::spawn(p.sender.run(queue.clone(), stop.clone()));
    Running {
        url,
        queue,
        metrics,
        stop,
        task,
    }
}

/// The rules' appender: each sample goes to the store and, once the store
/// took it, to the remote write queues (a sample the store refuses, such as
/// a re-run of the same timestamp, is not sent twice).
pub struct TeeAppender {
    pub store: Arc<dyn Appender>,
    pub remote: Arc<RemoteWrite>,
}

impl Appender for TeeAppender {
    fn append(&self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        self.store.append(labels, t, v)?;
        self.remote.push(labels, t, v);
        Ok(())
    }

    fn append_batch(&self, items: &mut [BatchItem<'_>]) {
        self.store.append_batch(items);
        for it in items.iter().filter(|it| it.result.is_ok()) {
            self.remote.push(&it.labels.get(), it.t, it.v);
        }
    }
}

#[cfg(test)]
mod config_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// A receiver that never answers (nothing listens on the port): the
    /// pushes still return at once, the oldest samples make room and are
    /// counted, and stopping gives up on what is left (counted too).
    #[tokio::test]
    async fn a_full_queue_drops_the_oldest_and_counts_them_without_waiting() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let text = format!(
            "remote_write:\n  - url: http://127.0.0.1:{port}/w\n    queue_config: {{capacity: 2, batch_send_deadline: 1h}}\n"
        );
        let cfg = crate::config::Config::parse(&text, "t.yml").unwrap();
        let metrics = RemoteWriteMetrics::default();
        let rw = RemoteWrite::new(metrics.clone());
        rw.apply(rw.prepare(&cfg.remote_write, &Labels::empty()).unwrap())
            .await;
        let l = Labels::from_pairs([("__name__", "x")]);
        let started = std::time::Instant::now();
        for t in 0..5 {
            rw.push(&l, t, 1.0);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let m = metrics.for_url(&format!("http://127.0.0.1:{port}/w"));
        assert_eq!(m.dropped.get(), 3);
        assert_eq!(m.pending.get(), 2);
        rw.stop().await;
        assert_eq!(m.dropped.get(), 5, "the two left could not be sent");
        assert_eq!(m.sent.get(), 0);
    }
}
