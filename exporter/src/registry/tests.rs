//! The registry's own rules, with collectors that are pure functions of
//! their configuration (no server involved: what is under test is the
//! running, merging and labelling, not a source).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::*;
use crate::encode::{Format, encode, write_gathered};
use crate::metrics::{Family, Label};

/// Answers `families` after `delay`, or fails with `error`.
struct Scripted {
    source: Source,
    labels: Vec<Label>,
    delay: Duration,
    timeout: Option<Duration>,
    outcome: Result<Vec<Family>, (&'static str, &'static str)>,
}

impl Collector for Scripted {
    fn source(&self) -> Source {
        self.source
    }
    fn target_labels(&self) -> &[Label] {
        &self.labels
    }
    fn collect(&self) -> BoxFuture<'_, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            match &self.outcome {
                Ok(f) => Ok(f.clone()),
                Err((kind, reason)) => Err(CollectError::new(kind, *reason)),
            }
        })
    }
    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
    fn failure_families(&self, error: &CollectError) -> Vec<Family> {
        vec![Family::gauge("scripted_failure_seen", error.kind).single(1.0)]
    }
}

fn scripted(
    source: Source,
    target: &str,
    outcome: Result<Vec<Family>, (&'static str, &'static str)>,
) -> Scripted {
    Scripted {
        source,
        labels: labels(&[("server", target), ("env", "test")]),
        delay: Duration::ZERO,
        timeout: None,
        outcome,
    }
}

fn gauge(name: &'static str, pairs: &[(&'static str, &str)], v: f64) -> Family {
    let mut f = Family::gauge(name, "help");
    f.push(labels(pairs), v);
    f
}

fn find<'a>(families: &'a [Family], name: &str) -> &'a Family {
    families
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no family {name}"))
}

fn registry(collectors: Vec<Scripted>, timeout: Duration) -> Registry {
    let collectors = collectors
        .into_iter()
        .map(|c| Arc::new(c) as Arc<dyn Collector>)
        .collect();
    Registry::new(collectors, timeout, Arc::new(ExporterStats::default()))
}

#[tokio::test(start_paused = true)]
async fn merges_families_and_adds_target_labels() {
    let r = registry(
        vec![
            scripted(
                Source::Postgres,
                "a:1",
                Ok(vec![gauge("pg_x", &[("datname", "d")], 1.0)]),
            ),
            scripted(
                Source::Postgres,
                "b:2",
                Ok(vec![gauge("pg_x", &[("server", "own")], 2.0)]),
            ),
        ],
        Duration::from_secs(5),
    );
    let out = r.gather().await;
    assert_eq!(
        out.iter().filter(|f| f.name == "pg_x").count(),
        1,
        "one family"
    );
    let x = find(&out, "pg_x");
    assert_eq!(
        x.samples[0].labels,
        labels(&[("datname", "d"), ("server", "a:1"), ("env", "test")])
    );
    assert_eq!(
        x.samples[1].labels,
        labels(&[("server", "own"), ("env", "test")]),
        "a label the sample has is kept"
    );
    let up = find(&out, "pg_up");
    assert_eq!(up.samples.len(), 2);
    assert!(up.samples.iter().all(|s| s.value == 1.0));
    let build = find(&out, "vigil_exporter_build_info");
    assert_eq!(build.samples[0].labels[0].0, "version");
}

/// The encoder writes target labels from the runs of each merged family;
/// its text must be that of the families with the labels copied in.
#[tokio::test(start_paused = true)]
async fn text_from_runs_equals_text_of_labelled_families() {
    let r = registry(
        vec![
            scripted(
                Source::Postgres,
                "a:1",
                Ok(vec![
                    gauge("pg_x", &[("datname", "d")], 1.0),
                    gauge("pg_y", &[], 3.0),
                ]),
            ),
            scripted(Source::Redis, "r:1", Ok(vec![gauge("redis_z", &[], 4.0)])),
            scripted(
                Source::Postgres,
                "b:2",
                Ok(vec![
                    gauge("pg_x", &[("server", "own")], 2.0),
                    gauge("pg_x", &[("datname", "e")], 5.0),
                ]),
            ),
            scripted(Source::App, "api-1", Err(("connect", "refused"))),
        ],
        Duration::from_secs(5),
    );
    for format in [Format::Text, Format::OpenMetrics] {
        let gathered = r.gather_within(None).await;
        let mut from_runs = String::new();
        let mut pieces = 0;
        write_gathered(&gathered, format, &mut from_runs, 1, &mut |_| pieces += 1);
        assert!(pieces > 5, "flushed between families: {pieces}");
        let mut whole = String::new();
        write_gathered(&gathered, format, &mut whole, usize::MAX, &mut |_| {});
        let copied = encode(&gathered.into_families(), format);
        // Self-metrics (durations, scrape count) differ between scrapes.
        let stable = |t: &str| -> String {
            t.lines()
                .filter(|l| !l.starts_with("vigil_exporter_"))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        assert_eq!(from_runs, whole);
        assert_eq!(stable(&whole), stable(&copied));
        assert!(
            whole.contains("pg_x{server=\"own\",env=\"test\"} 2\n")
                && whole.contains("pg_x{datname=\"e\",server=\"b:2\",env=\"test\"} 5\n"),
            "{whole}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_target_is_cut_at_its_deadline_and_others_unaffected() {
    let mut slow = scripted(
        Source::Redis,
        "slow:1",
        Ok(vec![gauge("redis_x", &[], 1.0)]),
    );
    slow.delay = Duration::from_secs(60);
    slow.timeout = Some(Duration::from_secs(2));
    let fast = scripted(
        Source::Redis,
        "fast:1",
        Ok(vec![gauge("redis_x", &[], 1.0)]),
    );
    let r = registry(vec![slow, fast], Duration::from_secs(5));
    let started = tokio::time::Instant::now();
    let out = r.gather().await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2),
        "the scrape ends at the slow target's deadline"
    );
    let up = find(&out, "redis_up");
    assert_eq!(up.samples[0].value, 0.0);
    assert_eq!(up.samples[1].value, 1.0);
    assert_eq!(
        find(&out, "redis_x").samples.len(),
        1,
        "only the fast target's samples"
    );
    assert_eq!(find(&out, "scripted_failure_seen").help, "timeout");
    let failures = find(&out, "vigil_exporter_collector_failures_total");
    assert_eq!(
        failures.samples[0].labels,
        labels(&[
            ("collector", "redis"),
            ("target", "slow:1"),
            ("reason", "timeout")
        ])
    );
    let success = find(&out, "vigil_exporter_collector_success");
    assert_eq!(
        success.samples.iter().map(|s| s.value).collect::<Vec<_>>(),
        vec![0.0, 1.0]
    );
}

#[tokio::test(start_paused = true)]
async fn the_scrapers_timeout_caps_every_deadline() {
    let mut slow = scripted(Source::App, "api-1", Ok(vec![]));
    slow.delay = Duration::from_secs(60);
    let r = registry(vec![slow], Duration::from_secs(5));
    let started = tokio::time::Instant::now();
    let out = r
        .gather_within(Some(Duration::from_secs(1)))
        .await
        .into_families();
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(find(&out, "app_up").samples[0].value, 0.0);
}

#[tokio::test(start_paused = true)]
async fn failures_count_and_up_families_are_per_source() {
    let r = registry(
        vec![
            scripted(Source::App, "api-1", Err(("connect", "refused"))),
            scripted(Source::Haproxy, "lb:1", Ok(vec![])),
        ],
        Duration::from_secs(5),
    );
    for _ in 0..3 {
        r.gather().await;
    }
    let out = r.gather().await;
    assert_eq!(find(&out, "app_up").samples[0].value, 0.0);
    assert_eq!(find(&out, "haproxy_up").samples[0].value, 1.0);
    assert_eq!(
        find(&out, "vigil_exporter_collector_failures_total").samples[0].value,
        4.0
    );
    assert_eq!(
        find(&out, "vigil_exporter_scrapes_total").samples[0].value,
        4.0
    );
}

#[tokio::test(start_paused = true)]
async fn a_collector_cannot_write_its_own_up() {
    let r = registry(
        vec![scripted(
            Source::Postgres,
            "a:1",
            Ok(vec![gauge("pg_up", &[], 0.0)]),
        )],
        Duration::from_secs(5),
    );
    let out = r.gather().await;
    let up = find(&out, "pg_up");
    assert_eq!(up.samples.len(), 1);
    assert_eq!(up.samples[0].value, 1.0);
}

#[test]
fn state_changes_are_recorded_once() {
    let stats = ExporterStats::default();
    let err = CollectError::new("connect", "refused");
    stats.record(Source::Redis, "r:1", Some(&err));
    stats.record(Source::Redis, "r:1", Some(&err));
    stats.record(Source::Redis, "r:1", None);
    let inner = stats.inner.lock().unwrap();
    assert_eq!(inner.failures[&("redis", "r:1".to_string(), "connect")], 2);
    assert_eq!(inner.states[&("redis", "r:1".to_string())], None);
}

/// Reports the deadline the registry gave its collection, in seconds from
/// the start of the collection.
struct DeadlineProbe(Vec<Label>);

impl Collector for DeadlineProbe {
    fn source(&self) -> Source {
        Source::Postgres
    }
    fn target_labels(&self) -> &[Label] {
        &self.0
    }
    fn collect(&self) -> BoxFuture<'_, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let left = crate::collectors::deadline()
                .map(|d| d.saturating_duration_since(std::time::Instant::now()))
                .ok_or_else(|| CollectError::new("parse", "no deadline set"))?;
            Ok(vec![
                Family::gauge("deadline_left_seconds", "").single(left.as_secs_f64().round()),
            ])
        })
    }
    fn timeout(&self) -> Option<Duration> {
        Some(Duration::from_secs(7))
    }
}

#[tokio::test]
async fn collectors_see_their_deadline() {
    let probe: Arc<dyn Collector> = Arc::new(DeadlineProbe(labels(&[("server", "a:1")])));
    let r = Registry::new(
        vec![probe],
        Duration::from_secs(5),
        Arc::new(ExporterStats::default()),
    );
    let fams = r.gather().await;
    let left = fams
        .iter()
        .find(|f| f.name == "deadline_left_seconds")
        .expect("the probe ran with a deadline");
    assert_eq!(left.samples[0].value, 7.0);
}
