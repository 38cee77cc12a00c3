//! A deterministic synthetic target for the store benchmarks: many series
//! whose values move the way exporter data does, rendered as text
//! exposition or handed over directly.
//!
//! The mix, per 100 series (modelled on postgres/redis/haproxy exporter
//! output, where settings, info and idle counters are a large share):
//! 26 integer counters with a rate (requests, bytes), 9 idle integer
//! counters (errors that rarely move), 10 float counters in 0.01 steps
//! (CPU seconds), 20 integer gauges that random-walk (connections, keys),
//! 5 float gauges printed with 3 decimals (latencies, load averages), 5
//! float gauges with full-precision noise (computed ratios: the worst case
//! for any lossless coding), 25 constants (settings, `*_info`, `up`).

#![allow(dead_code)] // each bench uses part of it

use vigil::model::Labels;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Counter { per_scrape: f64 },
    CpuSeconds { per_scrape: f64 },
    IntGauge,
    FloatGauge { center: f64, decimals: bool },
    Constant,
}

pub struct Series {
    pub text: String,
    pub labels: Labels,
    pub kind: Kind,
    pub value: f64,
}

pub struct Synth {
    pub series: Vec<Series>,
    rng: u64,
}

impl Synth {
    /// `n` series across families of 500 (50 instances x 10 handlers).
    pub fn new(n: usize) -> Self {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let series = (0..n)
            .map(|i| {
                let family = i / 500;
                let instance = (i / 10) % 50;
                let handler = i % 10;
                let slot = (splitmix(&mut rng) % 100) as u32;
                let (kind, suffix) = match slot {
                    0..=25 => (
                        Kind::Counter {
                            per_scrape: (splitmix(&mut rng) % 300) as f64,
                        },
                        "_total",
                    ),
                    26..=34 => (Kind::Counter { per_scrape: 0.01 }, "_errors_total"),
                    35..=44 => (
                        Kind::CpuSeconds {
                            per_scrape: 0.01 * (1 + splitmix(&mut rng) % 50) as f64,
                        },
                        "_seconds_total",
                    ),
                    45..=64 => (Kind::IntGauge, ""),
                    65..=74 => (
                        Kind::FloatGauge {
                            center: (splitmix(&mut rng) % 1000) as f64 / 100.0,
                            decimals: slot < 70,
                        },
                        "_ratio",
                    ),
                    _ => (Kind::Constant, "_setting"),
                };
                let name = format!("vigil_synth_metric_{family}{suffix}");
                let inst = format!("10.0.{}.{}:9187", instance / 10, instance % 10);
                let handler = format!("/api/v1/handler_{handler}");
                let text = format!(
                    "{name}{{job=\"synthetic\",instance=\"{inst}\",handler=\"{handler}\"}}"
                );
                let labels = Labels::from_pairs([
                    ("__name__", name.as_str()),
                    ("job", "synthetic"),
                    ("instance", inst.as_str()),
                    ("handler", handler.as_str()),
                ]);
                let value = match kind {
                    Kind::Constant | Kind::IntGauge => (splitmix(&mut rng) % 10_000) as f64,
                    Kind::FloatGauge { center, .. } => center,
                    _ => (splitmix(&mut rng) % 1_000_000) as f64,
                };
                Series {
                    text,
                    labels,
                    kind,
                    value,
                }
            })
            .collect();
        Synth { series, rng }
    }

    /// Moves every value one scrape interval forward.
    pub fn step(&mut self) {
        for s in &mut self.series {
            let r = splitmix(&mut self.rng);
            s.value = match s.kind {
                // Idle counters (rate 0.01/scrape) move about once in 100 scrapes.
                Kind::Counter { per_scrape } if per_scrape < 1.0 => {
                    s.value + f64::from(r.is_multiple_of(100))
                }
                Kind::Counter { per_scrape } => {
                    let jitter = (r % 1000) as f64 / 1000.0 + 0.5;
                    s.value + (per_scrape * jitter).round()
                }
                Kind::CpuSeconds { per_scrape } => {
                    let ticks = (per_scrape * 100.0 * ((r % 100) as f64 / 50.0)).round();
                    ((s.value * 100.0).round() + ticks) / 100.0
                }
                Kind::IntGauge => (s.value + (r % 11) as f64 - 5.0).max(0.0),
                Kind::FloatGauge {
                    center,
                    decimals: true,
                } => ((center + (r % 1000) as f64 / 1000.0) * 1000.0).round() / 1000.0,
                Kind::FloatGauge { center, .. } => center + (r % 1_000_000) as f64 / 3_000_000.0,
                Kind::Constant => s.value,
            };
        }
    }

    /// The current values as a text exposition body.
    pub fn exposition(&self, out: &mut String) {
        use std::fmt::Write;
        out.clear();
        for s in &self.series {
            let _ = writeln!(out, "{} {}", s.text, s.value);
        }
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
