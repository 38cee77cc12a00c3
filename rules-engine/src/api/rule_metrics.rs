//! The rule engine's metrics, named as Prometheus's with `vigil_` in place
//! of `prometheus_` so dashboards and the benchmark compare them directly:
//! per group (label `rule_group="file;group"`, as Prometheus) the last
//! duration, interval, rule count, failures and missed iterations, read
//! from the running groups when `/metrics` is scraped; one histogram of
//! every rule evaluation's duration; and whether the last reload worked.

use std::sync::atomic::Ordering;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::rules::runtime::GroupsView;

/// What the rule engine updates directly.
#[derive(Debug, Clone)]
pub struct RuleMetrics {
    pub groups: GroupsViewHandle,
    /// `vigil_rule_evaluation_duration_seconds`.
    pub eval_seconds: Histogram,
    /// `vigil_config_last_reload_successful`: 1 after a start or a reload
    /// that worked, 0 after one that was refused.
    pub reload_ok: Gauge,
    /// `vigil_config_last_reload_success_timestamp_seconds`.
    pub reload_time: Gauge,
}

/// A [`GroupsView`] with a `Debug` (the registry wants one).
#[derive(Clone, Default)]
pub struct GroupsViewHandle(pub GroupsView);

impl std::fmt::Debug for GroupsViewHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupsView")
    }
}

impl Default for RuleMetrics {
    fn default() -> Self {
        RuleMetrics {
            groups: GroupsViewHandle::default(),
            // 100 µs .. ~26 s: a simple rule takes well under a millisecond,
            // a heavy one over 100k series seconds.
            eval_seconds: Histogram::new(exponential_buckets(0.0001, 4.0, 10)),
            reload_ok: Gauge::default(),
            reload_time: Gauge::default(),
        }
    }
}

impl RuleMetrics {
    /// Marks the outcome of a start or reload at `now_ms`.
    pub fn reloaded(&self, ok: bool, now_ms: i64) {
        self.reload_ok.set(i64::from(ok));
        if ok {
            self.reload_time.set(now_ms / 1000);
        }
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "vigil_rule_evaluation_duration_seconds",
            "The duration of rule evaluations",
            self.eval_seconds.clone(),
        );
        registry.register(
            "vigil_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful",
            self.reload_ok.clone(),
        );
        registry.register(
            "vigil_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload",
            self.reload_time.clone(),
        );
        registry.register_collector(Box::new(GroupCollector(self.groups.clone())));
    }
}

/// Per-group figures, read at scrape time.
#[derive(Debug)]
struct GroupCollector(GroupsViewHandle);

type Lbl = Vec<(String, String)>;

impl Collector for GroupCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let last = Family::<Lbl, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        let interval = Family::<Lbl, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        let rules = Family::<Lbl, Gauge>::default();
        let failures = Family::<Lbl, Counter>::default();
        let missed = Family::<Lbl, Counter>::default();
        for g in self.0.0.read().iter() {
            // Read without the group's lock, which an evaluation holds.
            let lbl: Lbl = vec![("rule_group".into(), g.label.clone())];
            let (secs, every, n) = (
                g.last_duration_seconds(),
                g.interval_seconds,
                g.rule_count as i64,
            );
            last.get_or_create(&lbl).set(secs);
            interval.get_or_create(&lbl).set(every);
            rules.get_or_create(&lbl).set(n);
            failures
                .get_or_create(&lbl)
                .inc_by(g.failures.load(Ordering::Relaxed));
            missed
                .get_or_create(&lbl)
                .inc_by(g.missed.load(Ordering::Relaxed));
        }
        let e = &mut enc;
        let m = e.encode_descriptor(
            "vigil_rule_group_last_duration_seconds",
            "The duration of the last rule group evaluation",
            None,
            last.metric_type(),
        )?;
        last.encode(m)?;
        let m = e.encode_descriptor(
            "vigil_rule_group_interval_seconds",
            "The interval of a rule group",
            None,
            interval.metric_type(),
        )?;
        interval.encode(m)?;
        let m = e.encode_descriptor(
            "vigil_rule_group_rules",
            "The number of rules in a group",
            None,
            rules.metric_type(),
        )?;
        rules.encode(m)?;
        let m = e.encode_descriptor(
            "vigil_rule_evaluation_failures",
            "Rule evaluations that failed",
            None,
            failures.metric_type(),
        )?;
        failures.encode(m)?;
        let m = e.encode_descriptor(
            "vigil_rule_group_iterations_missed",
            "Rule group evaluations missed because the previous one ran late",
            None,
            missed.metric_type(),
        )?;
        missed.encode(m)
    }
}
