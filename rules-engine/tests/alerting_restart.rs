//! Nothing lost, nothing twice, across a crash: the real `vigil` binary
//! routes a firing alert to a webhook that answers 503, so the notification
//! waits in the outbox for its retry; vigil is SIGKILLed there; the webhook
//! recovers and vigil is started again on the same SQLite file. The
//! notification must then be delivered exactly once (the restored alert
//! must not make a second one: the notification log is in the same
//! database as the outbox).

#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::{Json, Router, extract::State, routing::post};
use parking_lot::Mutex;
use serde_json::Value;
use vigil_bin::VigilProcess;
use vigil_test_support::eventually;

#[derive(Default)]
struct Hook {
    accepting: AtomicBool,
    refused: AtomicUsize,
    delivered: Mutex<Vec<Value>>,
}

/// The webhook: 503 until `accepting`, then 200 and the payload recorded.
async fn hook() -> (String, Arc<Hook>) {
    let state = Arc::new(Hook::default());
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(h): State<Arc<Hook>>, Json(v): Json<Value>| async move {
                    if h.accepting.load(Ordering::SeqCst) {
                        h.delivered.lock().push(v);
                        StatusCode::OK
                    } else {
                        h.refused.fetch_add(1, Ordering::SeqCst);
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                },
            ),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notification_pending_at_a_sigkill_is_delivered_once_after_restart() {
    let (url, hook) = hook().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("always.rules.yml"),
        "groups:\n  - name: always\n    interval: 500ms\n    rules:\n      - alert: AlwaysFiring\n        expr: vector(1)\n",
    )
    .unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "storage:\n  path: data\nrule_files: ['always.rules.yml']\nalerting:\n  instance: crash-test\n  alertmanager_config:\n    route:\n      receiver: hook\n      group_by: [alertname]\n      group_wait: 100ms\n      group_interval: 10m\n      repeat_interval: 12h\n    receivers:\n      - name: hook\n        webhook_configs:\n          - url: {url}\n"
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();

    let first = VigilProcess::start(&config);
    eventually(
        "the first (refused) attempt",
        Duration::from_secs(30),
        || hook.refused.load(Ordering::SeqCst) > 0,
    )
    .await;
    first.kill();
    assert!(hook.delivered.lock().is_empty());

    hook.accepting.store(true, Ordering::SeqCst);
    // A short resend delay: the restored alert (its last send restored
    // too) is handed to the dispatcher again at once, not a minute later.
    let second = VigilProcess::start_with(&config, &["--rules.alert.resend-delay=200ms"]);
    eventually(
        "the delivery after the restart",
        Duration::from_secs(60),
        || !hook.delivered.lock().is_empty(),
    )
    .await;
    // The restored alert reaches the dispatcher again; its group's one
    // flush (the next is group_interval, 10 minutes, away) finds the
    // notification in the log and queues nothing.
    let flushed = "the restored alert's flush, deciding \"unchanged\"";
    let mut metrics;
    eventually!(30, format!("{flushed}:\n{metrics}"), {
        metrics = second.text("/metrics").await;
        assert!(
            !metrics.contains(r#"vigil_notify_flush_decisions_total{result="queued"}"#),
            "the restored alert was queued again:\n{metrics}"
        );
        metrics.contains(r#"vigil_notify_flush_decisions_total{result="unchanged"} 1"#)
    });
    let delivered = hook.delivered.lock().clone();
    assert_eq!(delivered.len(), 1, "delivered once: {delivered:#?}");
    assert_eq!(delivered[0]["status"], "firing");
    assert_eq!(delivered[0]["groupLabels"]["alertname"], "AlwaysFiring");
    second.kill();
}
