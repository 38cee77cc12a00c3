//! Samples survive a restart of the real `vigil` binary: a counter target,
//! an alert on its `rate()` and a webhook receiver. vigil is SIGKILLed
//! while the alert fires and started again at once on the same
//! `storage.path`: the receiver gets no "resolved" until the condition
//! really clears (the rate window is replayed from the write-ahead log),
//! a pending alert keeps its `for` timer, and `query_range` over the
//! time before the kill answers the same. Then the same with SIGTERM,
//! which restarts from the shutdown snapshot. A second vigil on the same
//! directory is refused.

mod support;
#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use vigil_bin::{VigilProcess, now_ms};
use vigil_test_support::{Recorder, eventually};

/// The shared recorder as the webhook receiver, and its URL.
async fn receiver() -> (String, Recorder) {
    let rec = Recorder::start().await;
    (format!("{}/hook", rec.base()), rec)
}

/// The status of every `name` alert in every payload so far.
fn notified(got: &Recorder, name: &str) -> Vec<String> {
    got.received()
        .iter()
        .flat_map(|p| p.json()["alerts"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["labels"]["alertname"] == name)
        .map(|a| a["status"].as_str().unwrap_or("").to_string())
        .collect()
}

/// A target whose counter grows by 10 a second while `rising`.
async fn counter_target(rising: Arc<AtomicBool>) -> Arc<support::Target> {
    let target = Arc::new(support::Target::start("probe_errors_total 0\n").await);
    let t = target.clone();
    tokio::spawn(async move {
        let mut n = 0u64;
        loop {
            if rising.load(Ordering::SeqCst) {
                n += 2;
            }
            t.set_body(&format!("probe_errors_total {n}\n"));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    target
}

fn write_config(dir: &std::path::Path, target: &str, hook: &str) -> std::path::PathBuf {
    std::fs::write(
        dir.join("errors.rules.yml"),
        "groups:
  - name: errors
    interval: 1s
    rules:
      - alert: ErrorBurst
        expr: rate(probe_errors_total[10s]) > 1
        for: 2s
      - alert: SlowBurn
        expr: rate(probe_errors_total[10s]) > 1
        for: 10m
",
    )
    .unwrap();
    let config = dir.join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "storage:
  path: data
rule_files: ['errors.rules.yml']
scrape_configs:
  - job_name: probe
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs: [{{targets: ['{target}']}}]
alerting:
  instance: wal-test
  alertmanager_config:
    route:
      receiver: hook
      group_by: [alertname]
      group_wait: 100ms
      group_interval: 1s
      repeat_interval: 1h
    receivers:
      - name: hook
        webhook_configs:
          - url: {hook}
"
        ),
    )
    .unwrap();
    config
}

async fn active_at(v: &VigilProcess, name: &str) -> i64 {
    let a = v
        .alert(name)
        .await
        .unwrap_or_else(|| panic!("{name} active"));
    chrono::DateTime::parse_from_rfc3339(a["activeAt"].as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

/// Waits until the rule group's last evaluation is `secs` after `since`.
async fn evaluated_after(v: &VigilProcess, since: i64, secs: i64) {
    eventually!(30, "evaluations after the restart", {
        let r = v.get("/api/v1/rules").await;
        r["data"]["groups"][0]["lastEvaluation"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .is_some_and(|t| t.timestamp_millis() >= since + secs * 1000)
    });
}

async fn query_range(v: &VigilProcess, start: i64, end: i64) -> Value {
    let q = format!(
        "/api/v1/query_range?query=probe_errors_total&start={}&end={}&step=1",
        start as f64 / 1000.0,
        end as f64 / 1000.0
    );
    v.get(&q).await["data"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_and_samples_survive_sigkill_and_sigterm() {
    let rising = Arc::new(AtomicBool::new(true));
    let target = counter_target(rising.clone()).await;
    let (hook, got) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &target.addr.to_string(), &hook);

    let first = VigilProcess::start(&config);
    let started = now_ms();
    eventually!(40, "ErrorBurst firing", {
        notified(&got, "ErrorBurst") == ["firing"]
    });
    assert_eq!(first.alert("SlowBurn").await.unwrap()["state"], "pending");
    let slow_since = active_at(&first, "SlowBurn").await;

    // A second vigil on the same directory is refused, naming the owner.
    let other = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "run",
            "--web.listen-address",
            "127.0.0.1:0",
            "--config.file",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!other.status.success());
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(err.contains("in use by another process"), "{err}");
    assert!(err.contains("pid "), "{err}");

    // The history before the kill (at least 8 scrapes), as served before it.
    eventually!(30, "8 s of history", {
        let r = query_range(&first, started, now_ms() - 1000).await;
        r["result"][0]["values"].as_array().map_or(0, Vec::len) >= 8
    });
    let before_end = now_ms() - 1000;
    let history = query_range(&first, started, before_end).await;

    first.kill();
    let second = VigilProcess::start(&config);
    let restarted = now_ms();
    assert!(!second.logged("replayed").is_empty(), "replay logged");
    assert_eq!(query_range(&second, started, before_end).await, history);
    evaluated_after(&second, restarted, 6).await;
    assert_eq!(
        notified(&got, "ErrorBurst"),
        ["firing"],
        "no resolved and no second firing after a SIGKILL"
    );
    assert_eq!(
        active_at(&second, "SlowBurn").await,
        slow_since,
        "the pending alert keeps its for timer"
    );

    // The condition clears for real: one resolved, then it fires again.
    rising.store(false, Ordering::SeqCst);
    eventually!(40, "ErrorBurst resolved", {
        notified(&got, "ErrorBurst") == ["firing", "resolved"]
    });
    rising.store(true, Ordering::SeqCst);
    eventually!(40, "ErrorBurst firing again", {
        notified(&got, "ErrorBurst") == ["firing", "resolved", "firing"]
    });

    // A clean stop writes the snapshot; the restart loads it.
    second.signal("TERM");
    eventually!(
        20,
        "the snapshot written on SIGTERM",
        !second.logged("head snapshot written").is_empty()
    );
    drop(second);
    let third = VigilProcess::start(&config);
    let restarted = now_ms();
    assert!(!third.logged("head snapshot loaded").is_empty());
    let metrics = third.text("/metrics").await;
    assert!(
        metrics.contains("vigil_tsdb_head_snapshot_loaded 1"),
        "{metrics}"
    );
    evaluated_after(&third, restarted, 6).await;
    assert_eq!(
        notified(&got, "ErrorBurst"),
        ["firing", "resolved", "firing"],
        "no resolved after a SIGTERM restart"
    );
    assert_eq!(query_range(&third, started, before_end).await, history);
}
