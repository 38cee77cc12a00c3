//! Runs every collector concurrently on each scrape, each under its own
//! deadline, and turns the outcomes into one list of families.
//!
//! A collector that fails or passes its deadline still yields samples
//! (STYLE 10, "failure is a sample"): its source's `*_up` gauge at 0, its
//! duration, a failure counter, and whatever
//! [`Collector::failure_families`] gives. Each collection runs as its own
//! task, so a collector that is slow (or blocks) cannot hold up the others;
//! at the deadline its task is aborted.
//!
//! Families with the same name from several targets are merged into one
//! (one HELP and TYPE line; the first target's help and type win). Each
//! sample gets its target's labels, except a label the sample already has.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::collectors::{CollectError, Collector, Source};
use crate::metrics::{Family, labels};

/// One configured target, ready to collect.
struct Target {
    collector: Arc<dyn Collector>,
    deadline: Duration,
    /// The value of the `target` label on self-metrics: the first target
    /// label's value (`server` for PostgreSQL, `target` for Redis, ...).
    name: String,
}

/// What one collection gave.
struct Outcome {
    families: Vec<Family>,
    error: Option<CollectError>,
    duration: Duration,
}

/// Counters and per-target state that must survive a configuration reload,
/// so counters never go backwards and a failure is not logged twice.
#[derive(Default)]
pub struct ExporterStats {
    scrapes: AtomicU64,
    inner: Mutex<StatsInner>,
}

#[derive(Default)]
struct StatsInner {
    /// (collector, target, kind) -> failed collections.
    failures: BTreeMap<(&'static str, String, &'static str), u64>,
    /// (collector, target) -> the kind of the last failure, `None` when the
    /// last collection succeeded.
    states: HashMap<(&'static str, String), Option<&'static str>>,
}

impl ExporterStats {
    /// Records an outcome and logs the reason when the target's state changes
    /// (up to down, down to up, or one kind of failure to another), not on
    /// every scrape.
    fn record(&self, source: Source, target: &str, error: Option<&CollectError>) {
        let mut inner = self.inner.lock().expect("stats lock");
        let kind = error.map(|e| e.kind);
        if let Some(kind) = kind {
            *inner
                .failures
                .entry((source.name(), target.to_string(), kind))
                .or_default() += 1;
        }
        let previous = inner
            .states
            .insert((source.name(), target.to_string()), kind);
        match (previous, error) {
            (Some(Some(before)), Some(e)) if before == e.kind => {}
            (_, Some(e)) => tracing::warn!(
                collector = source.name(),
                target,
                kind = e.kind,
                reason = %e.reason,
                "collection failed"
            ),
            (Some(Some(_)), None) => {
                tracing::info!(collector = source.name(), target, "collection recovered")
            }
            (_, None) => {}
        }
    }
}

/// The collectors of one configuration.
pub struct Registry {
    targets: Vec<Target>,
    stats: Arc<ExporterStats>,
}

impl Registry {
    /// `default_timeout` applies to collectors without their own.
    pub fn new(
        collectors: Vec<Arc<dyn Collector>>,
        default_timeout: Duration,
        stats: Arc<ExporterStats>,
    ) -> Registry {
        let targets = collectors
            .into_iter()
            .map(|collector| Target {
                deadline: collector.timeout().unwrap_or(default_timeout),
                name: collector
                    .target_labels()
                    .first()
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default(),
                collector,
            })
            .collect();
        Registry { targets, stats }
    }

    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Collects from every target and returns all families, self-metrics
    /// last, each sample with its target's labels.
    pub async fn gather(&self) -> Vec<Family> {
        self.gather_within(None).await.into_families()
    }

    /// [`gather`](Self::gather) as the encoder takes it (target labels kept
    /// once, see [`Gathered`]), with no target's deadline later than `cap`
    /// (the scraper's own timeout, less a margin, so that its scrape gets
    /// an answer with `*_up 0` rather than none).
    pub async fn gather_within(&self, cap: Option<Duration>) -> Gathered {
        let started = Instant::now();
        self.stats.scrapes.fetch_add(1, Ordering::Relaxed);
        let outcomes = futures::future::join_all(self.targets.iter().map(|t| run(t, cap))).await;

        // Every family may have a name of its own, plus the self-metrics.
        let families = outcomes.iter().map(|o| o.families.len()).sum::<usize>() + 16;
        let mut merged = Gathered::with_capacity(families);
        let mut ups: Vec<(Source, Family)> = Vec::new();
        let mut duration = Family::gauge(
            "vigil_exporter_collector_duration_seconds",
            "How long the last collection from each target took, in seconds.",
        );
        let mut success = Family::gauge(
            "vigil_exporter_collector_success",
            "Whether the last collection from each target succeeded (1) or not (0).",
        );
        for (target, outcome) in self.targets.iter().zip(outcomes) {
            let c = &target.collector;
            let source = c.source();
            self.stats
                .record(source, &target.name, outcome.error.as_ref());
            let ok = outcome.error.is_none();
            let mut families = outcome.families;
            if let Some(e) = &outcome.error {
                families.extend(c.failure_families(e));
            }
            let up_name = source.up_metric();
            let labels_index = merged.target(c.target_labels());
            for family in families.into_iter().filter(|f| f.name != up_name) {
                merged.add(family, Some(labels_index));
            }
            let up = match ups.iter_mut().find(|(s, _)| *s == source) {
                Some((_, f)) => f,
                None => {
                    ups.push((source, up_family(source)));
                    &mut ups.last_mut().expect("just pushed").1
                }
            };
            up.push(c.target_labels().to_vec(), if ok { 1.0 } else { 0.0 });
            let self_labels = labels(&[("collector", source.name()), ("target", &target.name)]);
            duration.push(self_labels.clone(), outcome.duration.as_secs_f64());
            success.push(self_labels, if ok { 1.0 } else { 0.0 });
        }
        for (_, up) in ups {
            merged.push(up);
        }
        merged.push(duration);
        merged.push(success);
        for family in self.stats_families(started.elapsed()) {
            merged.push(family);
        }
        merged
    }

    fn stats_families(&self, scrape_time: Duration) -> Vec<Family> {
        let mut failures = Family::counter(
            "vigil_exporter_collector_failures_total",
            "Failed collections by target and kind of failure.",
        );
        {
            let inner = self.stats.inner.lock().expect("stats lock");
            for ((collector, target, kind), n) in &inner.failures {
                failures.push(
                    labels(&[
                        ("collector", collector),
                        ("target", target),
                        ("reason", kind),
                    ]),
                    *n as f64,
                );
            }
        }
        let scrapes = Family::counter(
            "vigil_exporter_scrapes_total",
            "Scrapes of /metrics served since the exporter started.",
        )
        .single(self.stats.scrapes.load(Ordering::Relaxed) as f64);
        let scrape_duration = Family::gauge(
            "vigil_exporter_scrape_duration_seconds",
            "How long the collection for this scrape took, in seconds.",
        )
        .single(scrape_time.as_secs_f64());
        let mut build = Family::gauge(
            "vigil_exporter_build_info",
            "A metric with a constant '1' value labelled by the exporter's version.",
        );
        build.push(labels(&[("version", env!("CARGO_PKG_VERSION"))]), 1.0);
        vec![failures, scrapes, scrape_duration, build]
    }
}

fn up_family(source: Source) -> Family {
    Family::gauge(
        source.up_metric(),
        format!(
            "Whether the last collection from the {} target succeeded (1) or not (0).",
            source.name()
        ),
    )
}

/// Runs one collection as its own task, aborted at the deadline.
async fn run(target: &Target, cap: Option<Duration>) -> Outcome {
    let started = Instant::now();
    let deadline = cap.map_or(target.deadline, |c| c.min(target.deadline));
    let collector = target.collector.clone();
    let mut task = tokio::spawn(crate::collectors::with_deadline(
        started + deadline,
        async move { collector.collect().await },
    ));
    let result = match tokio::time::timeout(deadline, &mut task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(CollectError::new(
            "panic",
            format!("the collector stopped unexpectedly: {join}"),
        )),
        Err(_) => {
            task.abort();
            Err(CollectError::new(
                "timeout",
                format!("no answer within the deadline of {deadline:?}"),
            ))
        }
    };
    let duration = started.elapsed();
    match result {
        Ok(families) => Outcome {
            families,
            error: None,
            duration,
        },
        Err(e) => Outcome {
            families: Vec::new(),
            error: Some(e),
            duration,
        },
    }
}

mod merge;

pub use merge::Gathered;
pub(crate) use merge::target_labels;

#[cfg(test)]
mod tests;
