//! Ordered delivery after an outage, on SQLite with a real webhook
//! receiver: the receiver refuses connections while an alert fires and
//! resolves (and vigil's dispatcher restarts in between); when it comes
//! back, the last notification it holds for the group is "resolved", and
//! whatever it received came in the order the states happened. The
//! pipeline runs on a manual clock the test moves (`support/manual_time.rs`).

#[path = "support/manual_time.rs"]
mod manual_time;

use std::sync::Arc;
use std::time::Duration;

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
use vigil_test_support::Recorder;

/// How far the test moves the clock at a time.
const STEP: Duration = Duration::from_millis(100);

fn alert(starts: i64, ends: i64) -> OutgoingAlert {
    OutgoingAlert {
        labels: Labels::from_pairs([("alertname", "Down"), ("instance", "a")]),
        annotations: vec![],
        starts_at: starts,
        ends_at: ends,
        generator_url: String::new(),
    }
}

async fn start(db: &Db, port: u16, clock: &ManualClock) -> Dispatcher {
    let cfg = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 200ms\n  group_interval: 500ms\n  repeat_interval: 1h\n\
receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{port}/hook\n"
    );
    let loaded = parse_str("am.yml", &cfg, &|_| None).unwrap();
    let n = Notifier::build(&loaded, "http://vigil.example").unwrap();
    let opts = DispatchOptions {
        instance: "test".into(),
        // Retries every second or so: the firing notification is retried
        // while the receiver is down, as after any outage.
        backoff: Backoff {
            initial: Duration::from_millis(300),
            max: Duration::from_secs(1),
        },
        poll: Duration::from_millis(100),
        ..DispatchOptions::default()
    };
    Dispatcher::start(
        n,
        db.clone(),
        opts,
        NotifyMetrics::default(),
        Arc::new(clock.clone()),
    )
}

/// Moves the clock until the history holds `n` notification rows of
/// `status`.
async fn history_count(clock: &ManualClock, db: &Db, status: &str, n: usize) {
    let what = format!("{n} {status} notifications in the history");
    drive_until(
        clock,
        db,
        &what,
        STEP,
        Duration::from_secs(20),
        async || {
            let h = db.history(&HistoryQuery::default()).await.unwrap();
            h.iter()
                .filter(|e| e.kind == "notification" && e.status == status)
                .count()
                >= n
        },
    )
    .await;
}

#[tokio::test]
async fn after_an_outage_the_last_notification_is_the_current_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(None, dir.path()).await.unwrap();
    // A port nobody listens on yet: connections are refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let clock = ManualClock::new(wall_ms());
    let d = start(&db, port, &clock).await;
    let t0 = clock.now_ms();
    send(&d, vec![alert(t0, t0 + 3_600_000)]).await;
    history_count(&clock, &db, "queued", 1).await;
    history_count(&clock, &db, "retry", 2).await;
    send(&d, vec![alert(t0, clock.now_ms())]).await;
    history_count(&clock, &db, "queued", 2).await;
    history_count(&clock, &db, "superseded", 1).await;
    // A restart while the receiver is still down.
    d.shutdown().await;
    let d = start(&db, port, &clock).await;
    history_count(&clock, &db, "retry", 3).await;
    let seen = Recorder::start_on(port).await;
    history_count(&clock, &db, "delivered", 1).await;
    // Several retry periods and group intervals: nothing else arrives.
    run_for(&clock, &db, STEP, Duration::from_secs(3)).await;
    d.shutdown().await;
    let statuses: Vec<String> = seen
        .received()
        .iter()
        .map(|r| r.json()["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["resolved"]);
    let rows = db.outbox_list().await.unwrap();
    let by: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(by, ["superseded", "delivered"]);
}
