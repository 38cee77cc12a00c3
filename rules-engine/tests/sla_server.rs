//! A running vigil with an `sla:` section: it scrapes a real target, the
//! SLA task evaluates `up` at every slot, `/metrics` shows the month's
//! gauges, and the ledger in `storage.path` holds the state changes (the
//! target up, then failing) after shutdown.

mod support;

use axum::http::StatusCode;
use support::served::{Served, vigil_from};
use vigil::db::Db;
use vigil::sla::ledger::{LedgerStore, State};
use vigil::sla::span::Span;
use vigil_test_support::eventually;

/// The value of the sample line starting with `prefix` on `/metrics`.
async fn wait_for(v: &Served, prefix: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let (mut text, mut value);
    eventually!(60, format!("{prefix} to match:\n{text}"), {
        text = v.text("/metrics").await;
        value = text
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| ok(*v));
        value.is_some()
    });
    value.unwrap()
}

#[tokio::test]
async fn a_running_vigil_keeps_the_ledger_and_the_gauges() {
    let target = support::Target::start("demo_requests_total 1\n").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(
        &path,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nstorage:\n  path: data\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{}']\nsla:\n  max_gap: 5s\n  services:\n    - {{ name: app, up: 'min(up{{job=\"app\"}})' }}\n",
            target.addr
        ),
    )
    .unwrap();
    let v = Served::start(vigil_from(&path).await).await;

    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ratio = "vigil_sla_availability_ratio{service=\"app\"} ";
    assert_eq!(wait_for(&v, ratio, |v| v == 1.0).await, 1.0);
    let budget = "vigil_sla_error_budget_remaining_ratio{service=\"app\"} ";
    assert_eq!(wait_for(&v, budget, |v| v == 1.0).await, 1.0);
    // The target fails: up is 0, the service is down.
    target.set_status(StatusCode::INTERNAL_SERVER_ERROR);
    let down = "vigil_sla_downtime_seconds_total{service=\"app\"} ";
    let secs = wait_for(&v, down, |v| v > 0.0).await;
    assert!(secs >= 1.0, "whole evaluation slots: {secs}");
    assert!(wait_for(&v, ratio, |v| v < 1.0).await < 1.0);
    v.stop().await;

    let db = Db::open(None, &dir.path().join("data")).await.unwrap();
    let rows = db
        .read("app", Span::new(started - 60_000, started + 3_600_000))
        .await
        .unwrap();
    let states: Vec<State> = rows.iter().map(|r| r.state).collect();
    let up_at = states
        .iter()
        .position(|s| *s == State::Up)
        .expect("an up row");
    assert!(
        states[up_at..].contains(&State::Down),
        "up, then down: {rows:?}"
    );
    assert!(rows.len() <= 4, "state changes, not samples: {rows:?}");
}
