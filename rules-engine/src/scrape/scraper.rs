//! One target's scrape, start to finish: fetch, parse, label, limit, append,
//! staleness, and the synthetic series (`up`, `scrape_duration_seconds`,
//! `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling`,
//! `scrape_series_added`). The caller passes the timestamp, so tests pin
//! time while the HTTP is real.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::model::{Labels, stale_nan};
use crate::scrape::config::ScrapeConfig;
use crate::store::{Appender, BatchItem, PackedLabels, SeriesRef};

use super::client::ScrapeClient;
use super::metadata::{MetadataStore, TargetMetadata, type_name};
use super::samples::process_sample;
use super::stats::ScrapeCounters;
use super::target::Target;
use crate::parse::{Entry, Format, ParseOptions, Parser};

/// A target's health as `/api/v1/targets` shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Health {
    #[default]
    Unknown,
    Up,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// The latest scrape of a target, shared with the API.
#[derive(Debug, Clone, Default)]
pub struct ScrapeStatus {
    pub health: Health,
    pub last_error: String,
    /// Timestamp (ms) of the last scrape, `None` before the first.
    pub last_scrape_ms: Option<i64>,
    pub last_duration: Duration,
    pub last_samples: usize,
}

/// What one scrape did; the synthetic series carry the same numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScrapeReport {
    pub error: Option<String>,
    pub duration: Duration,
    pub samples_scraped: usize,
    pub samples_post_relabel: usize,
    pub series_added: usize,
    /// Samples the store refused (out of order, duplicate timestamp).
    pub rejected: usize,
    pub stale_markers: usize,
    pub body_bytes: usize,
}

impl ScrapeReport {
    pub fn up(&self) -> bool {
        self.error.is_none()
    }
}

/// Scrapes one target and remembers which series it wrote last time, to
/// mark the missing ones stale.
pub struct Scraper {
    target: Target,
    target_labels: Labels,
    cfg: Arc<ScrapeConfig>,
    client: ScrapeClient,
    appender: Arc<dyn Appender>,
    /// Series written by the last successful scrape, keyed by the address
    /// of their cached labels; `true` when the target gave its own
    /// timestamp (no staleness for those, as in Prometheus).
    previous: Map<usize, (Arc<CachedSeries>, bool)>,
    /// Raw series text (`name{a="1"}`) to final labels (`None`: dropped by
    /// metric relabeling). Entries not seen in a successful scrape go.
    cache: Map<Box<[u8]>, CacheEntry>,
    scrape_no: u64,
    status: Arc<Mutex<ScrapeStatus>>,
    metadata: Option<Arc<MetadataStore>>,
    counters: Option<Arc<ScrapeCounters>>,
    /// History restored at start (from the write-ahead log): the first
    /// successful scrape marks stale what the target no longer exposes.
    restored: Option<RestoredHistory>,
}

/// What a scraper needs to retire series that vanished while vigil was
/// down: the store to look in and how far back a series is still visible.
#[derive(Clone)]
pub struct RestoredHistory {
    pub store: Arc<dyn crate::store::Querier>,
    pub lookback_ms: i64,
}

/// Hash maps keyed by data the target controls: foldhash is fast and
/// seeded per process, so a hostile target cannot aim for collisions.
type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A scraped series as the cache keeps it: final labels and the store's
/// reference, so a known series is appended without a label lookup. The
/// labels are packed (one allocation for all names and values): the cache
/// holds one set per series of every target, and the store needs them only
/// for a new series or a stale reference.
struct CachedSeries {
    labels: PackedLabels,
    sref: AtomicU64,
}

/// A sample that passed relabeling: its series, own timestamp, value.
type Accepted = (Arc<CachedSeries>, Option<i64>, f64);

struct CacheEntry {
    /// `None`: metric relabeling drops this series.
    series: Option<Arc<CachedSeries>>,
    last_scrape: u64,
}

const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

impl Scraper {
    pub fn new(
        target: Target,
        cfg: Arc<ScrapeConfig>,
        client: ScrapeClient,
        appender: Arc<dyn Appender>,
    ) -> Self {
        let target_labels = target.labels();
        Scraper {
            target,
            target_labels,
            cfg,
            client,
            appender,
            previous: Map::default(),
            cache: Map::default(),
            scrape_no: 0,
            status: Arc::new(Mutex::new(ScrapeStatus::default())),
            metadata: None,
            counters: None,
            restored: None,
        }
    }

    /// Adds every scrape's outcome to the job's totals in `counters`.
    pub fn with_counters(mut self, counters: Arc<ScrapeCounters>) -> Self {
        self.counters = Some(counters);
        self
    }

    /// Retires, at the first successful scrape, the target's restored
    /// series it no longer exposes.
    pub fn with_restored(mut self, restored: Option<RestoredHistory>) -> Self {
        self.restored = restored;
        self
    }

    /// Records the target's `# TYPE`/`# HELP`/`# UNIT` in `store`.
    pub fn with_metadata(mut self, store: Arc<MetadataStore>) -> Self {
        self.metadata = Some(store);
        self
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The live status, for the API to read while the loop runs.
    pub fn status(&self) -> Arc<Mutex<ScrapeStatus>> {
        self.status.clone()
    }

    /// Scrapes once, stamping samples without their own timestamp with `t` (ms).
    pub async fn scrape(&mut self, t: i64) -> ScrapeReport {
        let start = Instant::now();
        let fetched = self
            .client
            .fetch(&self.target.url, self.target.timeout)
            .await;
        let mut report = match fetched {
            Ok(f) => {
                let mut r = self.ingest(&f.body, &f.content_type, t);
                r.body_bytes = f.body.len();
                r
            }
            Err(e) => ScrapeReport {
                error: Some(e.to_string()),
                ..ScrapeReport::default()
            },
        };
        if report.error.is_some() {
            report.stale_markers = self.mark_previous_stale(t);
        }
        report.duration = start.elapsed();
        self.write_report(t, &report);
        self.update_status(t, &report);
        if let Some(c) = &self.counters {
            c.record(&self.cfg.job_name, &report);
        }
        report
    }

    /// Parses and appends a body. On a parse error or a broken limit nothing
    /// of the body is stored (Prometheus rolls the whole scrape back).
    fn ingest(&mut self, body: &[u8], content_type: &str, t: i64) -> ScrapeReport {
        let mut report = ScrapeReport::default();
        self.scrape_no += 1;
        let mut metadata = TargetMetadata::new();
        let accepted = match self.parse_and_label(body, content_type, &mut report, &mut metadata) {
            Ok(a) => a,
            Err(e) => {
                report.error = Some(e);
                return report;
            }
        };
        report.samples_post_relabel = accepted.len();
        if self.cfg.sample_limit > 0 && accepted.len() > self.cfg.sample_limit {
            report.error = Some("sample limit exceeded".into());
            return report;
        }
        let honor = self.cfg.honor_timestamps;
        let mut items: Vec<BatchItem> = accepted
            .iter()
            .map(|(series, ts, v)| {
                let sref = SeriesRef(series.sref.load(Ordering::Relaxed));
                let at = ts.filter(|_| honor).unwrap_or(t);
                BatchItem::packed(sref, &series.labels, at, *v)
            })
            .collect();
        self.appender.append_batch(&mut items);
        let mut current = Map::with_capacity_and_hasher(accepted.len(), Default::default());
        for ((series, ts, _), item) in accepted.iter().zip(&items) {
            match item.result {
                Ok(()) => series.sref.store(item.sref.0, Ordering::Relaxed),
                Err(_) => report.rejected += 1,
            }
            let key = Arc::as_ptr(series) as usize;
            if !self.previous.contains_key(&key) {
                report.series_added += 1;
            }
            let own_ts = ts.is_some() && honor;
            current.insert(key, (series.clone(), own_ts));
        }
        let vanished: Vec<BatchItem> = self
            .previous
            .iter()
            .filter(|(key, (_, own_ts))| !own_ts && !current.contains_key(*key))
            .map(|(_, (series, _))| {
                BatchItem::packed(SeriesRef::NONE, &series.labels, t, stale_nan())
            })
            .collect();
        report.stale_markers += vanished.len();
        self.appender.append_batch(&mut { vanished });
        if let Some(restored) = self.restored.take() {
            report.stale_markers += self.retire_restored(&restored, &current, t);
        }
        self.previous = current;
        if let Some(store) = &self.metadata {
            for m in metadata.values_mut().filter(|m| m.kind.is_empty()) {
                m.kind = "unknown";
            }
            store.set(&self.target.key(), metadata);
        }
        let no = self.scrape_no;
        self.cache.retain(|_, e| e.last_scrape == no);
        report
    }

    /// Parses the body and gives each sample its final labels, through the
    /// cache of raw series text (as Prometheus's scrape cache: an unchanged
    /// series costs a hash lookup, not a relabeling).
    fn parse_and_label(
        &mut self,
        body: &[u8],
        content_type: &str,
        report: &mut ScrapeReport,
        metadata: &mut TargetMetadata,
    ) -> Result<Vec<Accepted>, String> {
        let opts = ParseOptions::new(Format::from_content_type(content_type));
        let mut parser = Parser::new(body, opts);
        let mut accepted = Vec::with_capacity(self.previous.len());
        while let Some(entry) = parser.next() {
            let s = match entry.map_err(|e| e.to_string())? {
                Entry::Sample(s) => s,
                Entry::Help { family, text } => {
                    metadata.entry(family.to_string()).or_default().help = text.to_string();
                    continue;
                }
                Entry::Type { family, kind } => {
                    metadata.entry(family.to_string()).or_default().kind = type_name(kind);
                    continue;
                }
                Entry::Unit { family, unit } => {
                    metadata.entry(family.to_string()).or_default().unit = unit.to_string();
                    continue;
                }
            };
            report.samples_scraped += 1;
            let no = self.scrape_no;
            let labels = match self.cache.get_mut(s.series) {
                Some(e) => {
                    e.last_scrape = no;
                    e.series.clone()
                }
                None => {
                    let processed = process_sample(s.to_labels(), &self.target_labels, &self.cfg)?;
                    let labels = processed.map(|labels| {
                        Arc::new(CachedSeries {
                            labels: PackedLabels::new(&labels),
                            sref: AtomicU64::new(0),
                        })
                    });
                    let entry = CacheEntry {
                        series: labels.clone(),
                        last_scrape: no,
                    };
                    self.cache.insert(s.series.into(), entry);
                    labels
                }
            };
            if let Some(l) = labels {
                accepted.push((l, s.timestamp, s.value));
            }
        }
        Ok(accepted)
    }

    /// Marks stale, at `t`, the series this target wrote before vigil
    /// restarted that its first scrape since no longer has: without it they
    /// would stay visible for the lookback window (Prometheus's behaviour
    /// after a restart), and an alert on a vanished series would wait
    /// minutes to resolve. Series are the target's when they carry all its
    /// target labels.
    fn retire_restored(
        &self,
        restored: &RestoredHistory,
        current: &Map<usize, (Arc<CachedSeries>, bool)>,
        t: i64,
    ) -> usize {
        let matchers: Vec<crate::model::Matcher> = self
            .target_labels
            .iter()
            .map(|l| crate::model::Matcher::equal(l.name.clone(), l.value.clone()))
            .collect();
        if matchers.is_empty() {
            return 0;
        }
        let scraped: std::collections::HashSet<Labels> = current
            .values()
            .map(|(s, _)| s.labels.to_labels())
            .collect();
        let report: std::collections::HashSet<&str> = REPORT_SERIES.iter().copied().collect();
        let gone: Vec<Labels> = restored
            .store
            .series(&matchers, t - restored.lookback_ms, t)
            .into_iter()
            .filter(|l| !scraped.contains(l))
            .filter(|l| !l.metric_name().is_some_and(|n| report.contains(n)))
            .collect();
        self.mark_stale(&gone, t)
    }

    /// Appends a staleness marker at `t` for each of `series`, in one batch.
    fn mark_stale(&self, series: &[Labels], t: i64) -> usize {
        let mut items: Vec<BatchItem> = series
            .iter()
            .map(|l| BatchItem::new(SeriesRef::NONE, l, t, stale_nan()))
            .collect();
        self.appender.append_batch(&mut items);
        items.len()
    }

    /// Marks every series of the last successful scrape stale at `t`.
    fn mark_previous_stale(&mut self, t: i64) -> usize {
        let previous = std::mem::take(&mut self.previous);
        let mut items: Vec<BatchItem> = previous
            .values()
            .filter(|(_, own_ts)| !own_ts)
            .map(|(series, _)| BatchItem::packed(SeriesRef::NONE, &series.labels, t, stale_nan()))
            .collect();
        self.appender.append_batch(&mut items);
        items.len()
    }

    /// The target is going away (removed from the config or discovery):
    /// its series and synthetic series become stale at `t`.
    pub fn stop(&mut self, t: i64) {
        self.leave();
        self.mark_previous_stale(t);
        let labels: Vec<Labels> = REPORT_SERIES
            .iter()
            .map(|n| self.report_labels(n))
            .collect();
        self.mark_stale(&labels, t);
    }

    /// vigil is stopping: the target's metadata goes, its series stay as
    /// they are.
    pub fn leave(&mut self) {
        if let Some(store) = &self.metadata {
            store.remove(&self.target.key());
        }
    }

    fn report_labels(&self, name: &str) -> Labels {
        let mut l = self.target_labels.clone();
        l.set(crate::model::METRIC_NAME, name);
        l
    }

    fn write_report(&self, t: i64, r: &ScrapeReport) {
        let values = [
            if r.up() { 1.0 } else { 0.0 },
            r.duration.as_secs_f64(),
            r.samples_scraped as f64,
            r.samples_post_relabel as f64,
            r.series_added as f64,
        ];
        // One batch, so the log gets one record for the five series.
        let labels: Vec<Labels> = REPORT_SERIES
            .iter()
            .map(|n| self.report_labels(n))
            .collect();
        let mut items: Vec<BatchItem> = labels
            .iter()
            .zip(values)
            .map(|(l, v)| BatchItem::new(SeriesRef::NONE, l, t, v))
            .collect();
        self.appender.append_batch(&mut items);
    }

    /// Updates the shared status and logs the reason once per change.
    fn update_status(&self, t: i64, r: &ScrapeReport) {
        let mut st = self.status.lock().unwrap_or_else(|p| p.into_inner());
        let error = r.error.clone().unwrap_or_default();
        if error != st.last_error || st.health == Health::Unknown {
            let (job, url) = (&self.cfg.job_name, &self.target.url);
            match &r.error {
                Some(e) => tracing::warn!(job = %job, target = %url, error = %e, "scrape failed"),
                None if st.health == Health::Down => {
                    tracing::info!(job = %job, target = %url, "target is up again")
                }
                None => {}
            }
        }
        st.health = if r.up() { Health::Up } else { Health::Down };
        st.last_error = error;
        st.last_scrape_ms = Some(t);
        st.last_duration = r.duration;
        st.last_samples = r.samples_post_relabel;
    }
}
