//! Metric metadata (`# TYPE`, `# HELP`, `# UNIT`) as targets last exposed
//! it, for `/api/v1/metadata` (Grafana's query editor shows it). Kept per
//! target and replaced on each successful scrape, so a removed target's
//! metadata goes with it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::parse::MetricType;

/// One family's metadata, Prometheus's JSON shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MetricMetadata {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub help: String,
    pub unit: String,
}

/// The names Prometheus's API uses for metric types.
pub fn type_name(t: MetricType) -> &'static str {
    match t {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::GaugeHistogram => "gaugehistogram",
        MetricType::Summary => "summary",
        MetricType::StateSet => "stateset",
        MetricType::Info => "info",
        MetricType::Unknown => "unknown",
    }
}

/// Family name to metadata, for one target.
pub type TargetMetadata = BTreeMap<String, MetricMetadata>;

/// Metadata of every target.
#[derive(Debug, Default)]
pub struct MetadataStore {
    by_target: Mutex<HashMap<String, Arc<TargetMetadata>>>,
}

impl MetadataStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<TargetMetadata>>> {
        self.by_target.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces a target's metadata (unchanged content is not copied).
    pub fn set(&self, target: &str, md: TargetMetadata) {
        let mut map = self.lock();
        if map.get(target).is_some_and(|old| **old == md) {
            return;
        }
        map.insert(target.to_string(), Arc::new(md));
    }

    pub fn remove(&self, target: &str) {
        self.lock().remove(target);
    }

    /// Distinct metadata per metric across targets, optionally for one
    /// metric, at most `limit` metrics (0: all), as `/api/v1/metadata`.
    pub fn query(
        &self,
        metric: Option<&str>,
        limit: usize,
    ) -> BTreeMap<String, Vec<MetricMetadata>> {
        let snapshot: Vec<Arc<TargetMetadata>> = self.lock().values().cloned().collect();
        let mut merged: BTreeMap<String, BTreeSet<MetricMetadata>> = BTreeMap::new();
        for md in &snapshot {
            for (name, m) in md.iter() {
                if metric.is_none_or(|w| w == name) {
                    merged.entry(name.clone()).or_default().insert(m.clone());
                }
            }
        }
        let take = if limit == 0 { usize::MAX } else { limit };
        merged
            .into_iter()
            .take(take)
            .map(|(k, v)| (k, v.into_iter().collect()))
            .collect()
    }
}
