//! The SLA report against Debian's Prometheus on the same month of data.
//!
//! A synthetic October 2026 of `up{job="app"}` (one sample a minute, at
//! second 30, with known outages and a half hour with no samples at all)
//! is turned into TSDB blocks by `promtool tsdb create-blocks-from
//! openmetrics` in Prometheus's data directory. `vigil sla backfill` fills
//! vigil's ledger from that Prometheus's range API, and `vigil sla report`
//! must count exactly the down minutes that PromQL counts with
//! `count_over_time((max_over_time(up[1m]) == 0)[44640m:1m])` at the
//! month's end.
//!
//! Samples sit at second 30 so that each minute's window holds exactly one
//! sample whether the range is closed (Prometheus 2.x) or left-open (3.x),
//! and the instant evaluation at the minute sees that same sample.

mod support;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use support::prometheus::Prometheus;
use vigil::sla::period;
use vigil_test_support::eventually;

const BIN: &str = env!("CARGO_BIN_EXE_vigil");
const MIN: i64 = 60_000;

/// Outages as (day, hour, minute, length in minutes), UTC.
const OUTAGES: [(i64, i64, i64, i64); 5] = [
    (3, 10, 0, 7),
    (9, 23, 50, 25), // across midnight
    (17, 4, 0, 1),
    (24, 15, 30, 90),
    (30, 12, 12, 3),
];
/// No samples at all (the target was unreachable and nobody recorded it).
const GAP: (i64, i64, i64, i64) = (14, 8, 0, 30);

fn minute_of(day: i64, h: i64, m: i64) -> i64 {
    (day - 1) * 1440 + h * 60 + m
}

fn within(m: i64, (d, h, mi, len): (i64, i64, i64, i64)) -> bool {
    let s = minute_of(d, h, mi);
    m >= s && m < s + len
}

/// The month as OpenMetrics text: one sample per minute at second 30.
fn openmetrics(start_ms: i64, minutes: i64) -> String {
    let mut out = String::with_capacity(minutes as usize * 48);
    out.push_str("# TYPE up gauge\n");
    for m in 0..minutes {
        if within(m, GAP) {
            continue;
        }
        let v = if OUTAGES.iter().any(|&o| within(m, o)) {
            0
        } else {
            1
        };
        let t = (start_ms + m * MIN) / 1000 + 30;
        writeln!(out, "up{{job=\"app\",instance=\"app-1:8080\"}} {v} {t}").unwrap();
    }
    out.push_str("# EOF\n");
    out
}

async fn query(base: &str, expr: &str, t_secs: i64) -> serde_json::Value {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("query", expr)
        .append_pair("time", &t_secs.to_string())
        .finish();
    reqwest::Client::new()
        .get(format!("{base}/api/v1/query?{q}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls until Prometheus is ready and answers a query with the month's
/// data.
async fn wait_ready(prom: &Prometheus, end_secs: i64) {
    prom.ready().await;
    let base = &prom.base;
    eventually!(60, format!("Prometheus at {base} with the month's data"), {
        let v = query(base, "count(up)", end_secs).await;
        v["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    });
}

fn vigil(args: &[&str], config: &Path) -> std::process::Output {
    let out = Command::new(BIN)
        .args(args)
        .arg("--config.file")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vigil {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test]
async fn report_downtime_equals_promql_down_minutes() {
    vigil_common::install_crypto_provider();
    let month = period::month(2026, 10, chrono_tz::UTC).unwrap();
    let minutes = month.minutes();
    assert_eq!(minutes, 44_640);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("up.om");
    std::fs::write(&input, openmetrics(month.span.start, minutes)).unwrap();
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(&input)
        .arg(dir.path().join("data"))
        .output()
        .expect("promtool is missing: install Debian's `prometheus` package");
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The month is in the past: keep it.
    let prom = Prometheus::start(
        dir.path(),
        "global:\n  scrape_interval: 1m\n",
        &["--storage.tsdb.retention.time=100y"],
    );
    let end_secs = month.span.end / 1000;
    wait_ready(&prom, end_secs).await;

    let expr = format!("count_over_time((max_over_time(up[1m]) == 0)[{minutes}m:1m])");
    let v = query(&prom.base, &expr, end_secs).await;
    let promql_down: i64 = v["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap_or_else(|| panic!("{expr}: {v}"))
        .parse()
        .unwrap();
    let expected: i64 = OUTAGES.iter().map(|o| o.3).sum();
    assert_eq!(promql_down, expected, "PromQL sees the outages as written");

    let config = dir.path().join("vigil.yml");
    std::fs::write(
        &config,
        "storage:\n  path: vigil-data\nsla:\n  services:\n    - { name: app, up: 'min(up{job=\"app\"})' }\n",
    )
    .unwrap();
    let out = vigil(
        &[
            "sla",
            "backfill",
            "--month",
            "2026-10",
            "--source.url",
            &prom.base,
        ],
        &config,
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("app: "));
    let out = vigil(
        &["sla", "report", "--month", "2026-10", "--format", "json"],
        &config,
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &j["services"][0];
    let down_ms = s["ms"]["down"].as_i64().unwrap();
    assert_eq!(down_ms % MIN, 0);
    assert_eq!(down_ms / MIN, promql_down, "report: {s}");
    assert_eq!(s["ms"]["counted_down"].as_i64(), Some(down_ms));
    // Never down, but unknown: the half hour without samples once the 5m
    // lookback runs out (evaluations at +5m .. +30m: 26), and the month's
    // first minute (its sample comes at 00:00:30).
    assert_eq!(s["ms"]["unknown"].as_i64(), Some((26 + 1) * MIN));
    assert_eq!(s["incidents"].as_array().map(Vec::len), Some(OUTAGES.len()));
    // A second backfill of the same month changes nothing.
    vigil(
        &[
            "sla",
            "backfill",
            "--month",
            "2026-10",
            "--source.url",
            &prom.base,
        ],
        &config,
    );
    let again = vigil(
        &["sla", "report", "--month", "2026-10", "--format", "json"],
        &config,
    );
    assert_eq!(again.stdout, out.stdout);
}
