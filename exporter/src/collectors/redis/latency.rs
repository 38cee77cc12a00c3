//! `LATENCY LATEST` and `LATENCY HISTOGRAM` (Redis 7+), as redis_exporter
//! reads them by default:
//!
//! - `redis_latency_spike_last{event_name}` (Unix time of the latest spike)
//!   and `redis_latency_spike_duration_seconds{event_name}` (its length),
//!   present once `latency-monitor-threshold` is set and a spike happened;
//! - `redis_commands_latencies_usec{cmd}`, a histogram per command with
//!   Redis's power-of-two microsecond buckets, its `_sum` the command's
//!   total microseconds from INFO commandstats (subcommands included).
//!
//! Both commands fail on servers that lack them (a Sentinel, Redis < 7 for
//! the histogram); their families are then absent, as upstream.

use redis::Value;

use super::info::{self, Info};
use crate::metrics::{Family, MetricType, Sample, labels};

/// One event of `LATENCY LATEST`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spike {
    pub event: String,
    pub last: f64,
    pub duration_ms: f64,
}

/// One command of `LATENCY HISTOGRAM`: calls, and (bound, cumulative count).
#[derive(Debug, Clone, PartialEq)]
pub struct CommandHistogram {
    pub cmd: String,
    pub calls: f64,
    pub buckets: Vec<(f64, f64)>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(n) => Some(*n as f64),
        Value::Double(d) => Some(*d),
        other => text(other).and_then(|t| info::number(&t)),
    }
}

/// A map reply as pairs, from RESP3 maps and RESP2 flat arrays alike.
fn pairs(v: &Value) -> Vec<(&Value, &Value)> {
    match v {
        Value::Map(m) => m.iter().map(|(k, v)| (k, v)).collect(),
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|kv| match kv {
                [k, v] => Some((k, v)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `[[event, last, duration_ms, max_ms], ...]`; malformed entries skipped.
pub fn parse_latest(reply: &Value) -> Vec<Spike> {
    let Value::Array(entries) = reply else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| match e {
            Value::Array(f) if f.len() >= 3 => Some(Spike {
                event: text(&f[0])?,
                last: number(&f[1])?,
                duration_ms: number(&f[2])?,
            }),
            _ => None,
        })
        .collect()
}

/// `cmd -> {calls, histogram_usec: {bound: count}}`.
pub fn parse_histogram(reply: &Value) -> Vec<CommandHistogram> {
    pairs(reply)
        .into_iter()
        .filter_map(|(cmd, details)| {
            let mut calls = None;
            let mut buckets = Vec::new();
            for (key, value) in pairs(details) {
                match text(key).as_deref() {
                    Some("calls") => calls = number(value),
                    Some("histogram_usec") => {
                        buckets = pairs(value)
                            .into_iter()
                            .filter_map(|(b, c)| Some((number(b)?, number(c)?)))
                            .collect();
                    }
                    _ => {}
                }
            }
            Some(CommandHistogram {
                cmd: text(cmd)?,
                calls: calls?,
                buckets,
            })
        })
        .collect()
}

pub fn families(
    spikes: &[Spike],
    histograms: &[CommandHistogram],
    info: &Info<'_>,
    out: &mut Vec<Family>,
) {
    if !spikes.is_empty() {
        let mut last = Family::gauge(
            "redis_latency_spike_last",
            "When the latency spike last occurred (Unix time)",
        );
        let mut duration = Family::gauge(
            "redis_latency_spike_duration_seconds",
            "Length of the last latency spike in seconds",
        );
        for s in spikes {
            let l = labels(&[("event_name", &s.event)]);
            last.push(l.clone(), s.last);
            duration.push(l, s.duration_ms / 1e3);
        }
        out.push(last);
        out.push(duration);
    }
    if histograms.is_empty() {
        return;
    }
    let mut family = Family::new(
        "redis_commands_latencies_usec",
        "A histogram of latencies per command",
        MetricType::Histogram,
    );
    for h in histograms {
        let cmd = labels(&[("cmd", &h.cmd)]);
        let with_le = |le: &str| {
            let mut l = cmd.clone();
            l.push(("le".into(), le.into()));
            l
        };
        for (bound, count) in &h.buckets {
            family.samples.push(Sample {
                suffix: "_bucket",
                labels: with_le(&crate::encode::format_value(*bound)),
                value: *count,
            });
        }
        family.samples.push(Sample {
            suffix: "_bucket",
            labels: with_le("+Inf"),
            value: h.calls,
        });
        family.samples.push(Sample {
            suffix: "_sum",
            labels: cmd.clone(),
            value: total_usec(info, &h.cmd),
        });
        family.samples.push(Sample {
            suffix: "_count",
            labels: cmd,
            value: h.calls,
        });
    }
    out.push(family);
}

/// Microseconds spent in `cmd` and its subcommands (`cmdstat_cmd|sub`).
fn total_usec(info: &Info<'_>, cmd: &str) -> f64 {
    info.section("commandstats")
        .filter_map(|f| {
            let name = f.name.strip_prefix("cmdstat_")?;
            let ours = name == cmd
                || name
                    .strip_prefix(cmd)
                    .is_some_and(|rest| rest.starts_with('|'));
            ours.then(|| info::pair(f.value, "usec").and_then(info::number))
                .flatten()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn histogram_in_resp2_with_subcommand_sums() {
        let reply = Value::Array(vec![
            bulk("config|get"),
            Value::Array(vec![
                bulk("calls"),
                Value::Int(3),
                bulk("histogram_usec"),
                Value::Array(vec![
                    Value::Int(4),
                    Value::Int(1),
                    Value::Int(16),
                    Value::Int(3),
                ]),
            ]),
        ]);
        let hists = parse_histogram(&reply);
        assert_eq!(
            hists,
            [CommandHistogram {
                cmd: "config|get".into(),
                calls: 3.0,
                buckets: vec![(4.0, 1.0), (16.0, 3.0)],
            }]
        );
        let text = "# Commandstats\r\ncmdstat_config|get:calls=3,usec=21,usec_per_call=7.00\r\n";
        let info = info::parse(text).unwrap();
        let mut out = Vec::new();
        families(&[], &hists, &info, &mut out);
        let h = &out[0];
        assert_eq!(h.kind, MetricType::Histogram);
        let sum = h.samples.iter().find(|s| s.suffix == "_sum").unwrap();
        assert_eq!(sum.value, 21.0);
        assert_eq!(h.samples.len(), 5);
    }

    #[test]
    fn latest_spikes() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("command"),
            Value::Int(1_700_000_000),
            Value::Int(250),
            Value::Int(300),
        ])]);
        let spikes = parse_latest(&reply);
        let mut out = Vec::new();
        families(&spikes, &[], &info::parse("").unwrap(), &mut out);
        assert_eq!(out[1].samples[0].value, 0.25);
        assert!(parse_latest(&Value::Nil).is_empty());
    }
}
