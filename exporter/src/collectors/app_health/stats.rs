//! What an app target keeps across scrapes: the probe-duration histogram and
//! the failure counters (cumulative, as Prometheus expects), and the last
//! `/ready` and `/live` answers for a scrape whose `/health` probe failed.

use std::time::Duration;

use crate::encode::format_value;
use crate::metrics::{Family, MetricType, Sample, labels};

/// The documents' buckets for `health_check_duration_seconds` (seeds/001).
pub const BUCKETS: [f64; 7] = [0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0];

/// The three probes, in label order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckType {
    Health,
    Ready,
    Live,
}

impl CheckType {
    pub const ALL: [CheckType; 3] = [CheckType::Health, CheckType::Ready, CheckType::Live];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckType::Health => "health",
            CheckType::Ready => "ready",
            CheckType::Live => "live",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Non-cumulative counts per bucket of [`BUCKETS`]; `+Inf` is `count`.
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
pub struct ProbeStats {
    histograms: [Histogram; 3],
    failures: [u64; 3],
    /// Set while a collection runs; still set when the registry aborted it
    /// at the deadline.
    pub in_flight: bool,
    pub last_ready: bool,
    pub last_live: bool,
}

impl ProbeStats {
    /// Records one probe: its time, and whether it failed.
    pub fn record(&mut self, check: CheckType, took: Duration, failed: bool) {
        self.histograms[check.index()].observe(took.as_secs_f64());
        if failed {
            self.failures[check.index()] += 1;
        }
    }

    /// A probe that never finished (the registry's deadline cut it off).
    pub fn record_abandoned(&mut self, check: CheckType, after: Duration) {
        self.record(check, after, true);
    }

    /// `health_check_duration_seconds` and `health_check_failures_total`.
    pub fn families(&self) -> Vec<Family> {
        let mut hist = Family::new(
            "health_check_duration_seconds",
            "Time the exporter's health probes took, in seconds, by probe.",
            MetricType::Histogram,
        );
        let mut failures = Family::counter(
            "health_check_failures_total",
            "Health probes that failed (unreachable, error status, not ready or not live, unhealthy), by probe.",
        );
        for check in CheckType::ALL {
            let h = &self.histograms[check.index()];
            let t = check.as_str();
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                hist.samples.push(Sample {
                    suffix: "_bucket",
                    labels: labels(&[("check_type", t), ("le", &format_value(*bound))]),
                    value: cumulative as f64,
                });
            }
            hist.samples.push(Sample {
                suffix: "_bucket",
                labels: labels(&[("check_type", t), ("le", "+Inf")]),
                value: h.count as f64,
            });
            hist.samples.push(Sample {
                suffix: "_sum",
                labels: labels(&[("check_type", t)]),
                value: h.sum,
            });
            hist.samples.push(Sample {
                suffix: "_count",
                labels: labels(&[("check_type", t)]),
                value: h.count as f64,
            });
            failures.push(
                labels(&[("check_type", t)]),
                self.failures[check.index()] as f64,
            );
        }
        vec![hist, failures]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let mut s = ProbeStats::default();
        s.record(CheckType::Health, Duration::from_millis(30), false);
        s.record(CheckType::Health, Duration::from_secs(7), true);
        let fams = s.families();
        let value = |suffix: &str, le: Option<&str>| {
            fams[0]
                .samples
                .iter()
                .find(|x| {
                    x.suffix == suffix
                        && x.labels[0].1 == "health"
                        && le.is_none_or(|le| x.labels.get(1).is_some_and(|l| l.1 == le))
                })
                .unwrap()
                .value
        };
        assert_eq!(value("_bucket", Some("0.01")), 0.0);
        assert_eq!(value("_bucket", Some("0.05")), 1.0);
        assert_eq!(value("_bucket", Some("5")), 1.0);
        assert_eq!(value("_bucket", Some("+Inf")), 2.0);
        assert_eq!(value("_count", None), 2.0);
        assert!((value("_sum", None) - 7.03).abs() < 1e-9);
        assert_eq!(fams[1].samples[0].value, 1.0);
        assert_eq!(fams[1].samples[1].value, 0.0);
    }
}
