//! The dispatcher end to end on SQLite, against local axum webhook
//! receivers whose answers the test scripts: grouping (group_wait, then
//! group_interval), resolved sent once, a receiver answering 500 retried
//! until delivered, 400 not retried (logged, counted, in the history), a
//! receiver that was down when the alert fired delivered once after a
//! restart of the dispatcher on the same database. The pipeline runs on a
//! manual clock that the tests move (`support/manual_time.rs`): waiting
//! for group_wait or a retry, and proving that nothing more is sent, take
//! no real time.

#[path = "support/manual_time.rs"]
mod manual_time;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::{Router, extract::State, routing::post};
use prometheus_client::registry::Registry;

use manual_time::{drive_until, run_for, send, wall_ms};
use vigil::clock::{Clock, ManualClock};
use vigil::db::Db;
use vigil::model::Labels;
use vigil::notify::metrics::NotifyMetrics;
use vigil::notify::retry::Backoff;
use vigil::notify::route::parse_str;
use vigil::notify::tables::history::HistoryQuery;
use vigil::notify::tables::{HistoryStore, OutboxStore};
use vigil::notify::{DispatchOptions, Dispatcher, Notifier};
use vigil::rules::query::OutgoingAlert;

/// How far the tests move the clock at a time.
const STEP: Duration = Duration::from_millis(100);
/// The most clock time a test waits for something to arrive.
const LIMIT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Hook {
    /// Statuses to answer, in order; 200 once empty.
    script: VecDeque<u16>,
    /// Every request: path, answered status, body.
    seen: Vec<(String, u16, serde_json::Value)>,
}

type Shared = Arc<Mutex<Hook>>;

async fn hook(listener: tokio::net::TcpListener) -> Shared {
    let shared: Shared = Arc::default();
    let app = Router::new()
        .route(
            "/{path}",
            post(
                |State(h): State<Shared>,
                 axum::extract::Path(path): axum::extract::Path<String>,
                 body: axum::Json<serde_json::Value>| async move {
                    let mut h = h.lock().unwrap();
                    let code = h.script.pop_front().unwrap_or(200);
                    h.seen.push((path, code, body.0));
                    StatusCode::from_u16(code).unwrap()
                },
            ),
        )
        .with_state(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    shared
}

async fn bind() -> (tokio::net::TcpListener, u16) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn config(port: u16) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\n\
receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{port}/hook\n"
    )
}

fn opts() -> DispatchOptions {
    DispatchOptions {
        instance: "test".into(),
        backoff: Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        },
        poll: Duration::from_millis(100),
        ..DispatchOptions::default()
    }
}

async fn start(db: &Db, cfg: &str, metrics: NotifyMetrics, clock: &ManualClock) -> Dispatcher {
    let loaded = parse_str("am.yml", cfg, &|_| None).unwrap();
    let n = Notifier::build(&loaded, "http://vigil.example").unwrap();
    Dispatcher::start(n, db.clone(), opts(), metrics, Arc::new(clock.clone()))
}

fn alert(name: &str, instance: &str, starts: i64, ends: i64) -> OutgoingAlert {
    OutgoingAlert {
        labels: Labels::from_pairs([("alertname", name), ("instance", instance)]),
        annotations: vec![("summary".into(), format!("{name} on {instance}"))],
        starts_at: starts,
        ends_at: ends,
        generator_url: "http://prom/graph".into(),
    }
}

fn instances(body: &serde_json::Value, status: &str) -> Vec<String> {
    body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == status)
        .map(|a| a["labels"]["instance"].as_str().unwrap().to_string())
        .collect()
}

async fn sqlite() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite(&dir.path().join("vigil.db")).await.unwrap();
    (dir, db)
}

#[tokio::test]
async fn groups_wait_then_notify_and_resolve_once() {
    let (listener, port) = bind().await;
    let h = hook(listener).await;
    let (_dir, db) = sqlite().await;
    let clock = ManualClock::new(wall_ms());
    let d = start(&db, &config(port), NotifyMetrics::default(), &clock).await;
    let now = clock.now_ms();
    send(
        &d,
        vec![
            alert("Down", "a", now, now + 3_600_000),
            alert("Down", "b", now, now + 3_600_000),
        ],
    )
    .await;
    let waited = drive_until(
        &clock,
        &db,
        "the firing notification",
        STEP,
        LIMIT,
        async || !h.lock().unwrap().seen.is_empty(),
    )
    .await;
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(2500),
        "first notification after {waited:?}, group_wait is 1s"
    );
    {
        let h = h.lock().unwrap();
        let body = &h.seen[0].2;
        assert_eq!(instances(body, "firing"), ["a", "b"]);
        assert_eq!(body["groupKey"], "{}:{alertname=\"Down\"}");
        assert_eq!(body["status"], "firing");
    }
    // b resolves; the next flush (group_interval after the first) says so.
    let end = clock.now_ms();
    send(&d, vec![alert("Down", "b", now, end)]).await;
    drive_until(
        &clock,
        &db,
        "the resolved notification",
        STEP,
        LIMIT,
        async || h.lock().unwrap().seen.len() >= 2,
    )
    .await;
    {
        let h = h.lock().unwrap();
        assert_eq!(instances(&h.seen[1].2, "firing"), ["a"]);
        assert_eq!(instances(&h.seen[1].2, "resolved"), ["b"]);
    }
    // a resolves too: one "resolved" for the group, then silence.
    send(&d, vec![alert("Down", "a", now, clock.now_ms())]).await;
    drive_until(
        &clock,
        &db,
        "the all-resolved notification",
        STEP,
        LIMIT,
        async || h.lock().unwrap().seen.len() >= 3,
    )
    .await;
    run_for(&clock, &db, STEP, Duration::from_secs(5)).await;
    let seen = h.lock().unwrap().seen.clone();
    assert_eq!(seen.len(), 3, "resolved is sent once: {seen:?}");
    assert_eq!(seen[2].2["status"], "resolved");
    assert_eq!(instances(&seen[2].2, "resolved"), ["a"]);
    d.shutdown().await;
    let history = db.history(&HistoryQuery::default()).await.unwrap();
    let delivered = history
        .iter()
        .filter(|e| e.kind == "notification" && e.status == "delivered")
        .count();
    assert_eq!(delivered, 3);
    let alert_changes: Vec<_> = history
        .iter()
        .filter(|e| e.kind == "alert")
        .map(|e| e.status.as_str())
        .collect();
    // Newest first: a resolved, b resolved, then both fired.
    assert_eq!(alert_changes, ["resolved", "resolved", "firing", "firing"]);
}

#[tokio::test]
async fn server_errors_are_retried_until_delivered() {
    let (listener, port) = bind().await;
    let h = hook(listener).await;
    h.lock().unwrap().script.extend([500, 503]);
    let (_dir, db) = sqlite().await;
    let metrics = NotifyMetrics::default();
    let clock = ManualClock::new(wall_ms());
    let d = start(&db, &config(port), metrics.clone(), &clock).await;
    let now = clock.now_ms();
    send(&d, vec![alert("Down", "a", now - 60_000, now + 3_600_000)]).await;
    drive_until(&clock, &db, "three attempts", STEP, LIMIT, async || {
        h.lock().unwrap().seen.len() >= 3
    })
    .await;
    run_for(&clock, &db, STEP, Duration::from_millis(500)).await;
    d.shutdown().await;
    let codes: Vec<u16> = h.lock().unwrap().seen.iter().map(|s| s.1).collect();
    assert_eq!(codes, [500, 503, 200]);
    let rows = db.outbox_list().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].status.as_str(), rows[0].attempts),
        ("delivered", 3)
    );
    let mut reg = Registry::default();
    metrics.register(&mut reg);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
    assert!(
        text.contains("vigil_notifications_total{integration=\"webhook\",outcome=\"retry\",reason=\"server_error\"} 2"),
        "{text}"
    );
    assert!(text.contains("outcome=\"delivered\""), "{text}");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (listener, port) = bind().await;
    let h = hook(listener).await;
    h.lock().unwrap().script.extend([400]);
    let (_dir, db) = sqlite().await;
    let metrics = NotifyMetrics::default();
    let clock = ManualClock::new(wall_ms());
    let d = start(&db, &config(port), metrics.clone(), &clock).await;
    let now = clock.now_ms();
    send(&d, vec![alert("Down", "a", now - 60_000, now + 3_600_000)]).await;
    drive_until(&clock, &db, "one attempt", STEP, LIMIT, async || {
        !h.lock().unwrap().seen.is_empty()
    })
    .await;
    run_for(&clock, &db, STEP, Duration::from_secs(2)).await;
    d.shutdown().await;
    assert_eq!(h.lock().unwrap().seen.len(), 1, "a 400 is not retried");
    let rows = db.outbox_list().await.unwrap();
    assert_eq!(rows[0].status, "failed");
    let err = rows[0].last_error.as_deref().unwrap();
    assert!(err.contains("client_error") && err.contains("400"), "{err}");
    assert!(!err.contains("127.0.0.1"), "no URL in errors: {err}");
    let history = db.history(&HistoryQuery::default()).await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.status == "failed" && e.detail.contains("400"))
    );
    let mut reg = Registry::default();
    metrics.register(&mut reg);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
    assert!(
        text.contains("vigil_notifications_total{integration=\"webhook\",outcome=\"failed\",reason=\"client_error\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn pending_notifications_survive_a_restart() {
    // The receiver's port is known but nothing listens yet.
    let (listener, port) = bind().await;
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.db");
    let db = Db::open_sqlite(&path).await.unwrap();
    let clock = ManualClock::new(wall_ms());
    let d = start(&db, &config(port), NotifyMetrics::default(), &clock).await;
    let now = clock.now_ms();
    send(&d, vec![alert("Down", "a", now - 60_000, now + 3_600_000)]).await;
    drive_until(&clock, &db, "a failed attempt", STEP, LIMIT, async || {
        db.outbox_list()
            .await
            .unwrap()
            .first()
            .is_some_and(|r| r.attempts >= 1)
    })
    .await;
    d.shutdown().await;
    drop(d);
    db_close(db).await;

    // A new process: same database, the receiver is back, no alert re-sent.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let h = hook(listener).await;
    let db = Db::open_sqlite(&path).await.unwrap();
    let d = start(&db, &config(port), NotifyMetrics::default(), &clock).await;
    drive_until(
        &clock,
        &db,
        "delivery after restart",
        STEP,
        LIMIT,
        async || !h.lock().unwrap().seen.is_empty(),
    )
    .await;
    run_for(&clock, &db, STEP, Duration::from_secs(1)).await;
    d.shutdown().await;
    let seen = h.lock().unwrap().seen.clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(instances(&seen[0].2, "firing"), ["a"]);
    let rows = db.outbox_list().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "delivered");
}

async fn db_close(db: Db) {
    if let Db::Sqlite(p) = db {
        p.close().await;
    }
}

#[tokio::test]
async fn slack_blocks_max_alerts_and_send_resolved() {
    let (listener, port) = bind().await;
    let h = hook(listener).await;
    let (_dir, db) = sqlite().await;
    let cfg = format!(
        "route:\n  receiver: both\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n\
receivers:\n  - name: both\n    slack_configs:\n      - api_url: http://127.0.0.1:{port}/slack\n        channel: '#ops'\n        fields: [{{title: Instances, value: '{{{{ range .Alerts }}}}{{{{ .Labels.instance }}}} {{{{ end }}}}'}}]\n    webhook_configs:\n      - url: http://127.0.0.1:{port}/hook\n        max_alerts: 1\n        send_resolved: false\n"
    );
    let clock = ManualClock::new(wall_ms());
    let d = start(&db, &cfg, NotifyMetrics::default(), &clock).await;
    let now = clock.now_ms();
    send(
        &d,
        vec![
            alert("Down", "a", now - 1000, now + 3_600_000),
            alert("Down", "b", now - 1000, now + 3_600_000),
        ],
    )
    .await;
    drive_until(&clock, &db, "slack and webhook", STEP, LIMIT, async || {
        h.lock().unwrap().seen.len() >= 2
    })
    .await;
    let seen = h.lock().unwrap().seen.clone();
    let slack = &seen.iter().find(|s| s.0 == "slack").unwrap().2;
    let blocks = slack["attachments"][0]["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], "[FIRING:2] Down ");
    assert_eq!(slack["attachments"][0]["color"], "#a30200");
    assert_eq!(slack["channel"], "#ops");
    assert!(
        slack["text"].as_str().unwrap().contains("[FIRING:2] Down"),
        "{slack}"
    );
    let fields = blocks.iter().find(|b| b.get("fields").is_some()).unwrap();
    assert_eq!(fields["fields"][0]["text"], "*Instances*\na b ");
    assert_eq!(
        blocks.last().unwrap()["elements"][0]["url"],
        "http://vigil.example/#/alerts?receiver=both"
    );
    let hook_body = &seen.iter().find(|s| s.0 == "hook").unwrap().2;
    assert_eq!(hook_body["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(hook_body["truncatedAlerts"], 1);

    // Resolved: neither Slack (default send_resolved: false) nor this
    // webhook (send_resolved: false) is told.
    let end = clock.now_ms();
    send(
        &d,
        vec![
            alert("Down", "a", now - 1000, end),
            alert("Down", "b", now - 1000, end),
        ],
    )
    .await;
    run_for(&clock, &db, STEP, Duration::from_secs(3)).await;
    d.shutdown().await;
    assert_eq!(h.lock().unwrap().seen.len(), 2);
    let rows = db.outbox_list().await.unwrap();
    assert_eq!(rows.len(), 2, "nothing queued for the resolution: {rows:?}");
}
