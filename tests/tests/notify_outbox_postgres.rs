//! Two vigil dispatchers sharing one real PostgreSQL (started by the test
//! support) receive the same alerts, as two instances evaluating the same
//! rules do: every group notification reaches the webhook exactly once —
//! the flush transaction's advisory lock lets the second instance see the
//! first one's notification log, and the senders' `FOR UPDATE SKIP LOCKED`
//! claims keep them from sending the same outbox row.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::{Router, extract::State, routing::post};

use vigil::db::Db;
use vigil::model::Labels;
use vigil::notify::metrics::NotifyMetrics;
use vigil::notify::retry::Backoff;
use vigil::notify::route::parse_str;
use vigil::notify::tables::{HistoryStore, OutboxStore};
use vigil::notify::{DispatchOptions, Dispatcher, Notifier};
use vigil::rules::query::{AlertSink, OutgoingAlert};
use vigil_test_support::eventually;
use vigil_tests::postgres::PgServer;

type Seen = Arc<Mutex<Vec<serde_json::Value>>>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn alert(name: &str, starts: i64, ends: i64) -> OutgoingAlert {
    OutgoingAlert {
        labels: Labels::from_pairs([("alertname", name), ("instance", "x")]),
        annotations: vec![],
        starts_at: starts,
        ends_at: ends,
        generator_url: String::new(),
    }
}

async fn dispatcher(dsn: &str, cfg: &str, instance: &str) -> Dispatcher {
    let db = Db::open(Some(dsn), std::path::Path::new("/nonexistent"))
        .await
        .unwrap();
    let loaded = parse_str("am.yml", cfg, &|_| None).unwrap();
    let n = Notifier::build(&loaded, "http://vigil.example").unwrap();
    let opts = DispatchOptions {
        instance: instance.into(),
        backoff: Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        },
        poll: Duration::from_millis(50),
        ..DispatchOptions::default()
    };
    Dispatcher::start(
        n,
        db,
        opts,
        NotifyMetrics::default(),
        std::sync::Arc::new(vigil::clock::SystemClock),
    )
}

#[tokio::test]
async fn two_instances_on_one_postgres_deliver_once() {
    let pg = PgServer::start_primary().expect(
        "PostgreSQL could not start: install Debian's postgresql package (scripts/test does)",
    );
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(s): State<Seen>, body: axum::Json<serde_json::Value>| async move {
                    // A slow receiver widens the window for double sends.
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    s.lock().unwrap().push(body.0);
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let cfg = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n\
receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{port}/hook\n"
    );
    let a = dispatcher(&pg.dsn(), &cfg, "vigil-a").await;
    let b = dispatcher(&pg.dsn(), &cfg, "vigil-b").await;

    const GROUPS: usize = 20;
    let now = now_ms();
    let firing: Vec<OutgoingAlert> = (0..GROUPS)
        .map(|i| alert(&format!("A{i:02}"), now, now + 3_600_000))
        .collect();
    a.send(firing.clone());
    b.send(firing);
    let count = || seen.lock().unwrap().len();
    eventually!(20, format!("{GROUPS} notifications"), count() >= GROUPS);
    // Resolve them all, again on both instances.
    let end = now_ms();
    let resolved: Vec<OutgoingAlert> = (0..GROUPS)
        .map(|i| alert(&format!("A{i:02}"), now, end))
        .collect();
    a.send(resolved.clone());
    b.send(resolved);
    eventually!(
        20,
        format!("{} notifications", 2 * GROUPS),
        count() >= 2 * GROUPS
    );
    // Nothing else may arrive. Settled once both instances hold no group
    // (each group left at the flush that handled its resolved alerts, so
    // no later flush can queue anything) and no outbox row waits to be
    // sent; shutting down then waits for any send still in flight, so a
    // duplicate would be in `seen` below. (Each instance's first flush
    // ran a group interval before the resolved ones could be queued, so
    // its gauge of zero is a count, not "never set".)
    eventually(
        "both instances holding no group and no outbox row pending",
        Duration::from_secs(20),
        || {
            a.metrics().groups.get() == 0
                && b.metrics().groups.get() == 0
                && pg
                    .query("SELECT count(*) FROM notify_outbox WHERE status = 'pending'")
                    .unwrap()
                    .trim()
                    == "0"
        },
    )
    .await;
    a.shutdown().await;
    b.shutdown().await;

    let seen = seen.lock().unwrap().clone();
    let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for body in &seen {
        by_group
            .entry(body["groupKey"].as_str().unwrap().to_string())
            .or_default()
            .push(body["status"].as_str().unwrap().to_string());
    }
    assert_eq!(by_group.len(), GROUPS, "{by_group:?}");
    for (group, statuses) in &by_group {
        assert_eq!(statuses, &["firing", "resolved"], "group {group}");
    }
    // One outbox row per notification, each delivered.
    let owners = pg
        .query("SELECT count(*) FROM notify_outbox WHERE status = 'delivered'")
        .unwrap();
    assert_eq!(owners.trim(), (2 * GROUPS).to_string());
}

/// Ordered delivery on PostgreSQL's statements (the claim with `SKIP
/// LOCKED`): a newer notification of a group supersedes an older waiting
/// one; one being sent holds the newer back until its outcome, and a retry
/// outcome is superseded at the next claim.
#[tokio::test]
async fn newer_notifications_supersede_older_ones_on_postgres() {
    use vigil::notify::dedup::LogEntry;
    use vigil::notify::tables::history::HistoryQuery;
    use vigil::notify::tables::outbox::{NewNotification, Outcome, RowResult};

    let pg = PgServer::start_primary().expect(
        "PostgreSQL could not start: install Debian's postgresql package (scripts/test does)",
    );
    let db = Db::open_postgres(&pg.dsn()).await.unwrap();
    let t = |s: i64| vigil::clock::from_ms((1_800_000_000 + s) * 1000);
    let queue = |at: i64| {
        let db = db.clone();
        async move {
            let entry = LogEntry {
                firing: [1u64].into(),
                resolved: Default::default(),
                at: t(at),
            };
            db.flush_groups(&["g".into()], t(at), |_| {
                let n = NewNotification {
                    group_key: "g".into(),
                    integration: "r/webhook/0".into(),
                    receiver: "r".into(),
                    payload: Some(serde_json::json!({ "at": at })),
                    entry,
                    state: "firing".into(),
                };
                (vec![n], vec![])
            })
            .await
            .unwrap()[0]
        }
    };
    let ids = |rows: Vec<vigil::notify::tables::outbox::OutboxRow>| {
        rows.iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let first = queue(0).await;
    let second = queue(1).await;
    assert_eq!(
        ids(db.claim_due("a", t(2), t(12), 10).await.unwrap()),
        [second]
    );
    let third = queue(3).await;
    assert!(db.claim_due("b", t(4), t(14), 10).await.unwrap().is_empty());
    let retry = Outcome {
        id: second,
        result: RowResult::Retry {
            next: t(5),
            error: "down".into(),
        },
        event: vigil::notify::tables::history::HistoryEvent {
            at: t(4),
            kind: vigil::notify::status::HistoryKind::Notification,
            fingerprint: String::new(),
            labels: String::new(),
            group_key: "g".into(),
            integration: "r/webhook/0".into(),
            status: vigil::notify::status::HistoryStatus::Retry,
            detail: String::new(),
            state: "firing".into(),
        },
    };
    assert_eq!(db.record_outcomes("a", &[retry]).await.unwrap(), 0);
    assert_eq!(
        ids(db.claim_due("b", t(6), t(16), 10).await.unwrap()),
        [third]
    );
    let status: BTreeMap<i64, String> = db
        .outbox_list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.status.to_string()))
        .collect();
    assert_eq!(status[&first], "superseded");
    assert_eq!(status[&second], "superseded");
    assert_eq!(status[&third], "pending");
    let h = db.history(&HistoryQuery::default()).await.unwrap();
    assert_eq!(h.iter().filter(|e| e.status == "superseded").count(), 2);
}
