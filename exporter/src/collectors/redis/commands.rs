//! Per-command families from INFO's `# Commandstats`, `# Latencystats` and
//! `# Errorstats` sections:
//!
//! ```text
//! cmdstat_get:calls=3,usec=9,usec_per_call=3.00,rejected_calls=0,failed_calls=0
//! latency_percentiles_usec_get:p50=1.003,p99=2.007,p99.9=2.007
//! errorstat_ERR:count=2
//! ```
//!
//! `redis_latency_percentiles_usec` is a summary, as in redis_exporter: the
//! percentiles are its quantiles (labelled `50`, `99`, `99.9` like
//! redis_exporter, so existing queries match), and its `_sum`/`_count` are
//! the command's total microseconds and calls from commandstats.

use std::collections::BTreeMap;

use super::info::{self, Info};
use crate::metrics::{Family, MetricType, Sample, labels};

pub fn families(info: &Info<'_>, out: &mut Vec<Family>) {
    let stats = command_stats(info);
    push_command_families(&stats, out);
    latency(info, &stats, out);
    errors(info, out);
}

/// One command's `cmdstat_` numbers.
#[derive(Debug, Default, Clone, Copy)]
struct CommandStats {
    calls: f64,
    usec: f64,
    rejected: f64,
    failed: f64,
}

fn command_stats<'a>(info: &Info<'a>) -> BTreeMap<&'a str, CommandStats> {
    let mut stats = BTreeMap::new();
    for field in info.section("commandstats") {
        let Some(cmd) = field.name.strip_prefix("cmdstat_") else {
            continue;
        };
        let get = |key| {
            info::pair(field.value, key)
                .and_then(info::number)
                .unwrap_or(0.0)
        };
        stats.insert(
            cmd,
            CommandStats {
                calls: get("calls"),
                usec: get("usec"),
                rejected: get("rejected_calls"),
                failed: get("failed_calls"),
            },
        );
    }
    stats
}

fn push_command_families(stats: &BTreeMap<&str, CommandStats>, out: &mut Vec<Family>) {
    if stats.is_empty() {
        return;
    }
    let mut calls = Family::counter("redis_commands_total", "Total number of calls per command");
    let mut duration = Family::counter(
        "redis_commands_duration_seconds_total",
        "Total amount of time in seconds spent per command",
    );
    let mut rejected = Family::counter(
        "redis_commands_rejected_calls_total",
        "Calls rejected before execution (unknown command, wrong arity, ACL, OOM) per command",
    );
    let mut failed = Family::counter(
        "redis_commands_failed_calls_total",
        "Calls that failed during execution per command",
    );
    for (cmd, s) in stats {
        let l = labels(&[("cmd", cmd)]);
        calls.push(l.clone(), s.calls);
        duration.push(l.clone(), s.usec / 1e6);
        rejected.push(l.clone(), s.rejected);
        failed.push(l, s.failed);
    }
    out.extend([calls, duration, rejected, failed]);
}

fn latency(info: &Info<'_>, stats: &BTreeMap<&str, CommandStats>, out: &mut Vec<Family>) {
    let mut summary = Family::new(
        "redis_latency_percentiles_usec",
        "A summary of latency percentile distribution per command",
        MetricType::Summary,
    );
    for field in info.section("latencystats") {
        let Some(cmd) = field.name.strip_prefix("latency_percentiles_usec_") else {
            continue;
        };
        for (key, value) in info::pairs(field.value) {
            let (Some(quantile), Some(v)) = (key.strip_prefix('p'), info::number(value)) else {
                continue;
            };
            summary.samples.push(Sample {
                suffix: "",
                labels: labels(&[("cmd", cmd), ("quantile", quantile)]),
                value: v,
            });
        }
        if let Some(s) = stats.get(cmd) {
            for (suffix, value) in [("_sum", s.usec), ("_count", s.calls)] {
                summary.samples.push(Sample {
                    suffix,
                    labels: labels(&[("cmd", cmd)]),
                    value,
                });
            }
        }
    }
    if !summary.samples.is_empty() {
        out.push(summary);
    }
}

fn errors(info: &Info<'_>, out: &mut Vec<Family>) {
    let mut family = Family::counter(
        "redis_errors_total",
        "Error replies sent, by error prefix (errorstats)",
    );
    for field in info.section("errorstats") {
        let Some(err) = field.name.strip_prefix("errorstat_") else {
            continue;
        };
        if let Some(count) = info::pair(field.value, "count").and_then(info::number) {
            family.push(labels(&[("err", err)]), count);
        }
    }
    if !family.samples.is_empty() {
        out.push(family);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# Commandstats\n\
        cmdstat_get:calls=4,usec=20,usec_per_call=5.00,rejected_calls=1,failed_calls=2\n\
        cmdstat_config|get:calls=1,usec=7,usec_per_call=7.00,rejected_calls=0,failed_calls=0\n\
        # Errorstats\n\
        errorstat_ERR:count=3\n\
        # Latencystats\n\
        latency_percentiles_usec_get:p50=1.003,p99=2.007,p99.9=4.015\n";

    fn run() -> Vec<Family> {
        let mut out = Vec::new();
        families(&info::parse(TEXT).unwrap(), &mut out);
        out
    }

    #[test]
    fn commandstats_become_four_counters_per_command() {
        let out = run();
        let calls = out
            .iter()
            .find(|f| f.name == "redis_commands_total")
            .unwrap();
        assert_eq!(calls.samples.len(), 2);
        assert_eq!(calls.samples[0].labels, labels(&[("cmd", "config|get")]));
        let duration = out
            .iter()
            .find(|f| f.name == "redis_commands_duration_seconds_total")
            .unwrap();
        assert_eq!(duration.samples[1].value, 20e-6);
        let failed = out
            .iter()
            .find(|f| f.name == "redis_commands_failed_calls_total")
            .unwrap();
        assert_eq!(failed.samples[1].value, 2.0);
    }

    #[test]
    fn latency_is_a_summary_with_sum_and_count_from_commandstats() {
        let out = run();
        let summary = out
            .iter()
            .find(|f| f.name == "redis_latency_percentiles_usec")
            .unwrap();
        assert_eq!(summary.kind, MetricType::Summary);
        let quantiles: Vec<&str> = summary
            .samples
            .iter()
            .filter(|s| s.suffix.is_empty())
            .map(|s| s.labels[1].1.as_str())
            .collect();
        assert_eq!(quantiles, ["50", "99", "99.9"]);
        let count = summary
            .samples
            .iter()
            .find(|s| s.suffix == "_count")
            .unwrap();
        assert_eq!(count.value, 4.0);
        let sum = summary.samples.iter().find(|s| s.suffix == "_sum").unwrap();
        assert_eq!(sum.value, 20.0);
    }

    #[test]
    fn errorstats_by_prefix() {
        let out = run();
        let errors = out.iter().find(|f| f.name == "redis_errors_total").unwrap();
        assert_eq!(errors.samples[0].labels, labels(&[("err", "ERR")]));
        assert_eq!(errors.samples[0].value, 3.0);
    }
}
