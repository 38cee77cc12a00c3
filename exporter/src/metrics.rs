//! The metric model collectors produce and the encoder writes.
//!
//! Names are kept exactly as given: contract names such as
//! `pg_stat_database_xact_commit` are counters without `_total`, and must stay
//! so (see DESIGN.md, "exposition out").

use std::borrow::Cow;

/// The exposition type of a family, as written on its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl MetricType {
    /// The word used on a text-format 0.0.4 `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Untyped => "untyped",
        }
    }
}

/// A name known at compile time, which most metric and label names and
/// help texts are, is borrowed; one made at run time (custom queries,
/// Redis INFO keys) is owned. A full stack's scrape has a few thousand
/// samples with a few labels each: allocating every label name again, on
/// every scrape, was a large share of the exporter's allocations.
pub type Name = Cow<'static, str>;

/// A label value: inline up to 24 bytes (see `Cargo.toml`), which nearly
/// every value is (database, proxy and server names, states, addresses).
pub type LabelValue = compact_str::CompactString;

/// A label pair: its name and its value.
pub type Label = (Name, LabelValue);

/// One sample of a family. `suffix` is `""` for counters and gauges, and
/// `"_bucket"`, `"_sum"`, `"_count"` for histogram and summary parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub suffix: &'static str,
    pub labels: Vec<Label>,
    pub value: f64,
}

/// A metric family: one name, one help text, one type, its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: Name,
    pub help: Name,
    pub kind: MetricType,
    pub samples: Vec<Sample>,
}

impl Family {
    pub fn new(name: impl Into<Name>, help: impl Into<Name>, kind: MetricType) -> Self {
        Family {
            name: name.into(),
            help: help.into(),
            kind,
            samples: Vec::new(),
        }
    }

    pub fn gauge(name: impl Into<Name>, help: impl Into<Name>) -> Self {
        Self::new(name, help, MetricType::Gauge)
    }

    pub fn counter(name: impl Into<Name>, help: impl Into<Name>) -> Self {
        Self::new(name, help, MetricType::Counter)
    }

    /// Adds a plain sample (counter, gauge or untyped).
    pub fn push(&mut self, labels: Vec<Label>, value: f64) -> &mut Self {
        self.samples.push(Sample {
            suffix: "",
            labels,
            value,
        });
        self
    }

    /// A family holding one unlabelled sample.
    pub fn single(mut self, value: f64) -> Self {
        self.push(Vec::new(), value);
        self
    }
}

/// Builds a label list from string pairs: `labels(&[("datname", db)])`.
pub fn labels(pairs: &[(&'static str, &str)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|(n, v)| (Cow::Borrowed(*n), LabelValue::from(*v)))
        .collect()
}
