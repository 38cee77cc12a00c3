//! vigil's own metrics on `/metrics`, declared in one place. The registry
//! is built per server (never global), so each test starts clean. Store and
//! scrape figures are read when `/metrics` is scraped, from the head's
//! counters and the scrape manager's target states.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::rule_metrics::RuleMetrics;
use crate::scrape::ScrapeManager;
use crate::scrape::stats::JobCounters;
use crate::store::Head;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandlerLabels {
    /// The route pattern (`/api/v1/query`), not the raw path: bounded.
    handler: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    handler: String,
}

/// The server's registry and the metrics the HTTP layer updates.
#[derive(Debug)]
pub struct ServerMetrics {
    registry: Registry,
    /// The rule engine's metrics (it updates them directly).
    pub rules: RuleMetrics,
    requests: Family<HandlerLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
}

impl ServerMetrics {
    pub fn new(head: Option<Arc<Head>>, scrape: Option<Arc<ScrapeManager>>) -> Self {
        let mut registry = Registry::default();
        let build = Family::<Vec<(String, String)>, Gauge>::default();
        build
            .get_or_create(&vec![("version".into(), env!("CARGO_PKG_VERSION").into())])
            .set(1);
        registry.register("vigil_build_info", "vigil's version; always 1", build);
        let requests = Family::<HandlerLabels, Counter>::default();
        registry.register(
            "vigil_http_requests",
            "HTTP requests by route and status code",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 4.0, 9))
        });
        registry.register(
            "vigil_http_request_duration_seconds",
            "Time to answer HTTP requests, by route",
            durations.clone(),
        );
        let rules = RuleMetrics::default();
        rules.register(&mut registry);
        if let Some(head) = head {
            registry.register_collector(Box::new(HeadCollector(head)));
        }
        if let Some(scrape) = scrape {
            registry.register_collector(Box::new(ScrapeCollector(scrape)));
        }
        ServerMetrics {
            registry,
            rules,
            requests,
            durations,
        }
    }

    /// Adds figures another stage keeps (the SLA gauges), read at every
    /// scrape of `/metrics`.
    pub fn with_collector(mut self, c: Box<dyn Collector>) -> Self {
        self.registry.register_collector(c);
        self
    }

    /// Registers a stage's own metrics (the notification pipeline's).
    pub fn with_registry(mut self, register: impl FnOnce(&mut Registry)) -> Self {
        register(&mut self.registry);
        self
    }

    /// The exposition text (OpenMetrics).
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    fn observe(&self, handler: String, code: u16, seconds: f64) {
        self.durations
            .get_or_create(&RouteLabels {
                handler: handler.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&HandlerLabels {
                handler,
                code: code.to_string(),
            })
            .inc();
    }
}

/// Middleware counting every request by route pattern and status.
pub async fn track(State(m): State<Arc<ServerMetrics>>, req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let start = Instant::now();
    let res = next.run(req).await;
    m.observe(
        handler,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: i64) -> std::fmt::Result {
    let g = ConstGauge::new(v);
    let m = enc.encode_descriptor(name, help, None, g.metric_type())?;
    g.encode(m)
}

fn counter(enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    let m = enc.encode_descriptor(name, help, None, c.metric_type())?;
    c.encode(m)
}

/// The head's counters as `vigil_tsdb_*`.
#[derive(Debug)]
struct HeadCollector(Arc<Head>);

impl Collector for HeadCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let s = self.0.stats();
        let e = &mut enc;
        gauge(
            e,
            "vigil_tsdb_head_series",
            "Series in the in-memory head",
            s.series as i64,
        )?;
        gauge(
            e,
            "vigil_tsdb_head_chunks",
            "Chunks in the in-memory head",
            s.chunks as i64,
        )?;
        gauge(
            e,
            "vigil_tsdb_head_chunk_bytes",
            "Bytes of encoded samples in the head",
            s.chunk_bytes as i64,
        )?;
        counter(
            e,
            "vigil_tsdb_head_samples_appended",
            "Samples stored",
            s.samples_appended,
        )?;
        counter(
            e,
            "vigil_tsdb_head_series_created",
            "Series created",
            s.series_created,
        )?;
        counter(
            e,
            "vigil_tsdb_head_series_removed",
            "Series removed by retention",
            s.series_removed,
        )?;
        counter(
            e,
            "vigil_tsdb_out_of_order_samples",
            "Samples rejected as out of order",
            s.out_of_order,
        )?;
        counter(
            e,
            "vigil_tsdb_duplicate_samples",
            "Samples rejected for a different value at the same timestamp",
            s.duplicate_timestamp,
        )?;
        counter(
            e,
            "vigil_tsdb_too_old_samples",
            "Samples rejected as older than retention",
            s.too_old,
        )?;
        counter(
            e,
            "vigil_tsdb_head_truncations",
            "Retention truncations run",
            s.truncations,
        )
    }
}

/// The data directory's figures (`vigil_tsdb_wal_*`, blocks), once open.
#[derive(Debug)]
pub struct StorageCollector(pub Arc<std::sync::OnceLock<Arc<crate::store::storage::Storage>>>);

impl Collector for StorageCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let Some(storage) = self.0.get() else {
            return Ok(());
        };
        let e = &mut enc;
        encode_blocks(e, storage)?;
        let wal = storage.wal();
        let s = wal.stats();
        let counters: [(&str, &str, u64); 11] = [
            (
                "vigil_tsdb_wal_records_written",
                "Records written to the write-ahead log",
                s.records_written,
            ),
            (
                "vigil_tsdb_wal_bytes_written",
                "Bytes written to write-ahead log segments",
                s.bytes_written,
            ),
            (
                "vigil_tsdb_wal_write_failures",
                "Write-ahead log writes that failed (their samples stayed in memory only)",
                s.write_failures,
            ),
            (
                "vigil_tsdb_wal_corruptions",
                "Damaged write-ahead log records, files or snapshots found",
                s.corruptions,
            ),
            (
                "vigil_tsdb_wal_fsyncs",
                "fdatasync calls on write-ahead log segments",
                s.fsyncs,
            ),
            (
                "vigil_tsdb_checkpoint_creations",
                "Write-ahead log checkpoints written",
                s.checkpoints,
            ),
            (
                "vigil_tsdb_checkpoint_creations_failed",
                "Write-ahead log checkpoints that failed",
                s.checkpoint_failures,
            ),
            (
                "vigil_tsdb_wal_truncated_segments",
                "Segments folded into checkpoints and deleted",
                s.truncated_segments,
            ),
            (
                "vigil_tsdb_wal_replay_unknown_series_samples",
                "Samples at the last replay whose series no record named",
                s.replay_unknown_refs,
            ),
            (
                "vigil_tsdb_head_snapshots",
                "Head snapshots written (while running and at shutdown)",
                s.snapshots,
            ),
            (
                "vigil_tsdb_head_snapshot_failures",
                "Head snapshots that failed to write",
                s.snapshot_failures,
            ),
        ];
        for (name, help, v) in counters {
            counter(e, name, help, v)?;
        }
        let gauges: [(&str, &str, i64); 7] = [
            (
                "vigil_tsdb_wal_segment_current",
                "Index of the segment being written",
                s.segment_current as i64,
            ),
            (
                "vigil_tsdb_wal_storage_size_bytes",
                "Bytes of the write-ahead log on disk",
                wal.disk_bytes() as i64,
            ),
            (
                "vigil_tsdb_wal_replayed_segments",
                "Segments read by the last replay",
                s.replayed_segments as i64,
            ),
            (
                "vigil_tsdb_wal_replayed_series",
                "Series records read by the last replay",
                s.replayed_series as i64,
            ),
            (
                "vigil_tsdb_wal_replayed_samples",
                "Samples read by the last replay",
                s.replayed_samples as i64,
            ),
            (
                "vigil_tsdb_head_snapshot_loaded",
                "1 when the last start loaded a head snapshot",
                i64::from(s.snapshot_loaded),
            ),
            (
                "vigil_tsdb_head_snapshot_size_bytes",
                "Size of the last head snapshot written",
                s.snapshot_bytes as i64,
            ),
        ];
        for (name, help, v) in gauges {
            gauge(e, name, help, v)?;
        }
        float_gauge(
            e,
            "vigil_tsdb_wal_replay_duration_seconds",
            "Time the last replay took",
            s.replay_seconds,
        )?;
        float_gauge(
            e,
            "vigil_tsdb_head_snapshot_duration_seconds",
            "Time the last head snapshot took to write",
            s.snapshot_seconds,
        )?;
        let c = ConstCounter::new(s.fsync_seconds);
        let m = e.encode_descriptor(
            "vigil_tsdb_wal_fsync_duration_seconds",
            "Time spent in fdatasync on write-ahead log segments",
            None,
            c.metric_type(),
        )?;
        c.encode(m)
    }
}

fn encode_blocks(
    e: &mut DescriptorEncoder,
    storage: &crate::store::storage::Storage,
) -> std::fmt::Result {
    use std::sync::atomic::Ordering::Relaxed;
    let c = &storage.counters;
    gauge(
        e,
        "vigil_tsdb_blocks_loaded",
        "Blocks open for queries",
        storage.blocks().len() as i64,
    )?;
    gauge(
        e,
        "vigil_tsdb_corrupt_blocks",
        "Blocks left out of queries for damage (never deleted automatically)",
        storage.corrupt_blocks() as i64,
    )?;
    gauge(
        e,
        "vigil_tsdb_storage_blocks_bytes",
        "Bytes of blocks on disk",
        storage.blocks_bytes() as i64,
    )?;
    counter(
        e,
        "vigil_tsdb_head_blocks_written",
        "Blocks cut from the head",
        c.head_blocks.load(Relaxed),
    )?;
    counter(
        e,
        "vigil_tsdb_compactions",
        "Block compactions",
        c.compactions.load(Relaxed),
    )?;
    counter(
        e,
        "vigil_tsdb_compactions_failed",
        "Block compactions that failed",
        c.compaction_failures.load(Relaxed),
    )?;
    counter(
        e,
        "vigil_tsdb_retention_deleted_blocks",
        "Blocks deleted by retention",
        c.retention_deletions.load(Relaxed),
    )
}

fn float_gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> std::fmt::Result {
    let g = ConstGauge::new(v);
    let m = enc.encode_descriptor(name, help, None, g.metric_type())?;
    g.encode(m)
}

/// Targets per job and health, as `vigil_scrape_targets`.
struct ScrapeCollector(Arc<ScrapeManager>);

impl std::fmt::Debug for ScrapeCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScrapeCollector")
    }
}

impl Collector for ScrapeCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let view = self.0.targets();
        let mut counts: std::collections::BTreeMap<(String, &'static str), i64> =
            Default::default();
        for t in &view.active {
            *counts
                .entry((t.job.clone(), t.status.health.as_str()))
                .or_default() += 1;
        }
        let fam = Family::<Vec<(String, String)>, Gauge>::default();
        for ((job, health), n) in counts {
            fam.get_or_create(&vec![("job".into(), job), ("health".into(), health.into())])
                .set(n);
        }
        let m = enc.encode_descriptor(
            "vigil_scrape_targets",
            "Scrape targets by job and health of their last scrape",
            None,
            fam.metric_type(),
        )?;
        fam.encode(m)?;
        let totals = self.0.counters().snapshot();
        type Pick = fn(&JobCounters) -> u64;
        let families: [(&str, &str, Pick); 5] = [
            ("vigil_scrape_scrapes", "Scrapes run, by job", |c| c.scrapes),
            (
                "vigil_scrape_failures",
                "Scrapes that failed (target down, bad body, limits)",
                |c| c.failures,
            ),
            ("vigil_scrape_samples", "Samples stored by scrapes", |c| {
                c.samples
            }),
            (
                "vigil_scrape_samples_rejected",
                "Scraped samples the store refused (out of order, duplicate)",
                |c| c.rejected,
            ),
            (
                "vigil_scrape_stale_markers",
                "Staleness markers written for vanished series",
                |c| c.stale_markers,
            ),
        ];
        for (name, help, pick) in families {
            let fam = Family::<Vec<(String, String)>, Counter>::default();
            for (job, c) in &totals {
                fam.get_or_create(&vec![("job".into(), job.clone())])
                    .inc_by(pick(c));
            }
            let m = enc.encode_descriptor(name, help, None, fam.metric_type())?;
            fam.encode(m)?;
        }
        Ok(())
    }
}
