//! The v2 silences and alerts API driven by Debian's `amtool` (the real
//! Alertmanager client): `amtool alert add` posts an alert, `amtool
//! silence add` mutes it (no notification while the silence is active),
//! `amtool silence query` and `amtool alert query` read back through the
//! API, `amtool silence expire` lifts it — after which the alert is
//! notified — and the expired silence is still listed for audit. The
//! pipeline runs on a manual clock the test moves
//! (`support/manual_time.rs`), half a minute behind amtool's wall clock:
//! the silence starts at the pipeline's "now" (`--start`), and the
//! silence the pipeline expires has ended on amtool's clock too.

#[path = "support/manual_time.rs"]
mod manual_time;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use manual_time::{drive_until, ingested, run_for, wall_ms};
use vigil::clock::{Clock, ManualClock};
use vigil::db::Db;
use vigil::notify::metrics::NotifyMetrics;
use vigil::notify::route::parse_str;
use vigil::notify::{DispatchOptions, Dispatcher, Notifier};
use vigil_test_support::{Recorder, eventually};

fn amtool(url: &str, args: &[&str]) -> String {
    let out = Command::new("amtool")
        .arg(format!("--alertmanager.url={url}"))
        .args(args)
        .output()
        .expect("amtool not found: install Debian's prometheus-alertmanager");
    assert!(
        out.status.success(),
        "amtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn amtool_silences_and_alerts() {
    let seen = Recorder::start().await;
    let hook_port = seen.port;

    let cfg = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n\
receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{hook_port}/hook\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite(&dir.path().join("vigil.db")).await.unwrap();
    let n = Notifier::build(
        &parse_str("am.yml", &cfg, &|_| None).unwrap(),
        "http://vigil",
    )
    .unwrap();
    let opts = DispatchOptions {
        poll: Duration::from_millis(50),
        ..DispatchOptions::default()
    };
    let clock = ManualClock::new(wall_ms() - 30_000);
    let d = Dispatcher::start(
        n,
        db.clone(),
        opts,
        NotifyMetrics::default(),
        Arc::new(clock.clone()),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
    let app = vigil::notify::api::router(d.clone());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });

    let u = url.clone();
    let start = format!(
        "--start={}",
        clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let id = tokio::task::spawn_blocking(move || {
        amtool(
            &u,
            &[
                "silence",
                "add",
                "alertname=DiskFull",
                "--comment=disk swap",
                "--author=ops",
                "--duration=1h",
                &start,
            ],
        )
    })
    .await
    .unwrap();
    let id = id.trim().to_string();
    assert_eq!(id.len(), 36, "silence id: {id:?}");

    let u = url.clone();
    tokio::task::spawn_blocking(move || {
        amtool(
            &u,
            &[
                "alert",
                "add",
                "alertname=DiskFull",
                "instance=a",
                "--annotation=summary=full",
            ],
        );
    })
    .await
    .unwrap();
    ingested(&d, |held| held.len() == 1).await;
    let step = Duration::from_millis(100);
    run_for(&clock, &db, step, Duration::from_secs(3)).await;
    assert!(seen.received().is_empty(), "a silenced alert was notified");

    let u = url.clone();
    let (silences, alerts) = tokio::task::spawn_blocking(move || {
        (
            amtool(&u, &["silence", "query", "-o", "json"]),
            amtool(&u, &["alert", "query", "-s", "-o", "json"]),
        )
    })
    .await
    .unwrap();
    let silences: serde_json::Value = serde_json::from_str(&silences).unwrap();
    assert_eq!(silences[0]["id"], id.as_str());
    assert_eq!(silences[0]["status"]["state"], "active");
    assert_eq!(silences[0]["createdBy"], "ops");
    let alerts: serde_json::Value = serde_json::from_str(&alerts).unwrap();
    assert_eq!(alerts[0]["labels"]["alertname"], "DiskFull");
    assert_eq!(alerts[0]["status"]["state"], "suppressed");
    assert_eq!(alerts[0]["status"]["silencedBy"][0], id.as_str());
    assert_eq!(alerts[0]["receivers"][0]["name"], "hook");

    let u = url.clone();
    let i = id.clone();
    tokio::task::spawn_blocking(move || amtool(&u, &["silence", "expire", &i]))
        .await
        .unwrap();
    let what = "not notified after the silence expired";
    drive_until(
        &clock,
        &db,
        what,
        step,
        Duration::from_secs(10),
        async || !seen.received().is_empty(),
    )
    .await;
    assert_eq!(
        seen.received()[0].json()["alerts"][0]["labels"]["instance"],
        "a"
    );

    // Expired, but kept.
    let u = url.clone();
    let all = tokio::task::spawn_blocking(move || {
        amtool(&u, &["silence", "query", "--expired", "-o", "json"])
    })
    .await
    .unwrap();
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(all[0]["id"], id.as_str());
    assert_eq!(all[0]["status"]["state"], "expired");

    // Errors are Alertmanager's shape and carry no internals.
    let client = reqwest::Client::new();
    let r = client
        .delete(format!("{url}/api/v2/silence/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client
        .post(format!("{url}/api/v2/silences"))
        .json(
            &serde_json::json!({"matchers": [], "startsAt": "2030-01-01T00:00:00Z",
            "endsAt": "2030-01-02T00:00:00Z", "createdBy": "a", "comment": "b"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body.as_str().unwrap().contains("at least one matcher"),
        "{body}"
    );

    // The history shows the alert firing and its notification delivered.
    let mut h: serde_json::Value;
    eventually!(
        5,
        format!("the alert firing and delivered in the history: {h}"),
        {
            let history = reqwest::get(format!("{url}/api/v1/alerts/history"));
            h = history.await.unwrap().json().await.unwrap();
            let rows = h["data"].as_array().unwrap();
            let has = |kind: &str, status: &str| {
                rows.iter()
                    .any(|r| r["kind"] == kind && r["status"] == status)
            };
            has("alert", "firing") && has("notification", "delivered")
        }
    );
    d.shutdown().await;
}
