//! The notification benchmark harness (not a test; `scripts/bench/notify`
//! runs it): N alerts in G groups posted through `POST /api/v2/alerts` in
//! batches, at the same instants, to vigil's dispatcher (its v2 API router
//! in this process, SQLite outbox in a temp dir) and to Debian's
//! Alertmanager 0.25, both routing to webhook receivers here. Prints, for
//! each, the alerts per second accepted and the latency from an alert's
//! post to the webhook receiving it, less group_wait (p50, p99, max).
//!
//! Usage: bench_notify [--alerts 10000] [--groups 100] [--group-wait 10]

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{Router, extract::State, routing::post};

use vigil::db::Db;
use vigil::notify::metrics::NotifyMetrics;
use vigil::notify::route::parse_str;
use vigil::notify::{DispatchOptions, Dispatcher, Notifier};

/// Arrival time of the first notification naming each alert id, per side.
type Arrivals = Arc<Mutex<HashMap<(String, u64), Instant>>>;

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

fn config(port: u16, side: &str, group_wait: u64) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname, group]\n  group_wait: {group_wait}s\n  group_interval: 5m\n  repeat_interval: 4h\n\
receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{port}/{side}\n"
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    vigil_common::install_crypto_provider();
    let args: Vec<String> = std::env::args().collect();
    let n = arg(&args, "--alerts", 10_000);
    let groups = arg(&args, "--groups", 100);
    let group_wait = arg(&args, "--group-wait", 10);

    let arrivals: Arrivals = Arc::default();
    let app = Router::new()
        .route(
            "/{side}",
            post(
                |State(a): State<Arrivals>,
                 axum::extract::Path(side): axum::extract::Path<String>,
                 body: axum::Json<serde_json::Value>| async move {
                    let now = Instant::now();
                    let mut a = a.lock().unwrap();
                    for al in body.0["alerts"].as_array().into_iter().flatten() {
                        let id: u64 = al["labels"]["id"].as_str().unwrap().parse().unwrap();
                        a.entry((side.clone(), id)).or_insert(now);
                    }
                },
            ),
        )
        .with_state(arrivals.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });

    // Alertmanager.
    let dir = tempfile::tempdir().unwrap();
    let am_cfg = dir.path().join("alertmanager.yml");
    std::fs::write(&am_cfg, config(hook_port, "am", group_wait)).unwrap();
    let am_port = vigil_test_support::free_port();
    let mut am = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", am_cfg.display()))
        .arg(format!("--storage.path={}", dir.path().display()))
        .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("install Debian's prometheus-alertmanager");

    // vigil: the dispatcher behind its v2 API.
    let db = Db::open_sqlite(&dir.path().join("vigil.db")).await.unwrap();
    let loaded = parse_str("am.yml", &config(hook_port, "vigil", group_wait), &|_| None).unwrap();
    let d = Dispatcher::start(
        Notifier::build(&loaded, "http://vigil").unwrap(),
        db,
        DispatchOptions::default(),
        NotifyMetrics::default(),
        std::sync::Arc::new(vigil::clock::SystemClock),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let vigil_port = l.local_addr().unwrap().port();
    let router = vigil::notify::api::router(d.clone());
    tokio::spawn(async move { axum::serve(l, router).await.unwrap() });

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client
        .get(format!("http://127.0.0.1:{am_port}/-/ready"))
        .send()
        .await
        .map_or(true, |r| !r.status().is_success())
    {
        assert!(Instant::now() < deadline, "Alertmanager not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The same batches to both (no startsAt: each side stamps the
    // arrival, so group_wait runs from the first post of each group), one side after the other per batch, so
    // both see the same timeline within a batch's posting time.
    const BATCH: u64 = 100;
    let mut posted: HashMap<u64, Instant> = HashMap::new();
    let mut spent: HashMap<&str, Duration> = HashMap::new();
    let mut i = 0;
    while i < n {
        let body: Vec<serde_json::Value> = (i..(i + BATCH).min(n))
            .map(|id| {
                serde_json::json!({
                    "labels": {"alertname": "Bench", "group": format!("g{}", id % groups), "id": id.to_string()},
                    "annotations": {"summary": "bench"},
                })
            })
            .collect();
        let t = Instant::now();
        for id in i..(i + BATCH).min(n) {
            posted.insert(id, t);
        }
        for (side, port) in [("vigil", vigil_port), ("am", am_port)] {
            let t = Instant::now();
            let r = client
                .post(format!("http://127.0.0.1:{port}/api/v2/alerts"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{side}: {}", r.status());
            *spent.entry(side).or_default() += t.elapsed();
        }
        i += BATCH;
    }

    // Wait for every alert on both sides (group_wait plus slack).
    let deadline = Instant::now() + Duration::from_secs(group_wait + 60);
    loop {
        let got = arrivals.lock().unwrap().len() as u64;
        if got >= 2 * n || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = am.kill();
    let _ = am.wait();
    d.shutdown().await;

    let a = arrivals.lock().unwrap();
    println!("{n} alerts in {groups} groups, group_wait {group_wait}s, batches of {BATCH}");
    for side in ["vigil", "am"] {
        let mut lat: Vec<Duration> = (0..n)
            .filter_map(|id| {
                let at = a.get(&(side.to_string(), id))?;
                let raw = at.duration_since(posted[&id]);
                Some(raw.saturating_sub(Duration::from_secs(group_wait)))
            })
            .collect();
        lat.sort();
        let secs = spent[side].as_secs_f64();
        println!(
            "{:<13} accepted {:>8.0} alerts/s   received {:>5}/{n}   beyond group_wait: p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
            if side == "am" {
                "alertmanager"
            } else {
                "vigil"
            },
            n as f64 / secs,
            lat.len(),
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
    }
}
