//! A running vigil keeping its alert state in a real PostgreSQL named by
//! `storage.database_url_file`: the firing alert is saved there, and a
//! second vigil on the same database starts with it (same `activeAt`)
//! without notifying it again. The URL, which holds the password, stays
//! out of vigil's API.

use std::sync::{Arc, Mutex};

use vigil::db::Db;
use vigil::rules::state_store::{AlertStateStore, rule_key};
use vigil::rules::{AlertSink, OutgoingAlert};
use vigil::server::{Options, load};
use vigil_test_support::eventually;
use vigil_tests::api::{alerts, get_text};
use vigil_tests::postgres::PgServer;

#[derive(Default)]
struct Recorder(Mutex<Vec<OutgoingAlert>>);

impl AlertSink for Recorder {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        self.0.lock().unwrap().extend(alerts);
    }
}

/// Serves a vigil on `config` until the returned sender fires.
async fn serve(
    config: &std::path::Path,
    sink: Arc<Recorder>,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let cfg = vigil::config::Config::load(config).unwrap();
    let options = Options {
        alert_sink: Some(sink),
        ..Options::new(
            Some(config.to_path_buf()),
            Arc::new(vigil::clock::SystemClock),
        )
    };
    let vigil = load(cfg, options).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let h = tokio::spawn(async move {
        vigil
            .serve(listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    (base, tx, h)
}

/// Rule evaluations so far (the file has one rule).
async fn evaluations(base: &str) -> f64 {
    get_text(&format!("{base}/metrics"))
        .await
        .lines()
        .find_map(|l| l.strip_prefix("vigil_rule_evaluation_duration_seconds_count "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_state_in_postgres_across_restarts() {
    let pg = PgServer::start_primary().expect(
        "PostgreSQL could not start: install Debian's postgresql package (scripts/test does)",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("db-url"), format!("{}\n", pg.dsn())).unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: pg\n    interval: 200ms\n    rules:\n      - alert: Always\n        expr: vector(1)\n",
    )
    .unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(
        &config,
        "storage:\n  database_url_file: db-url\nrule_files: [r.yml]\n",
    )
    .unwrap();

    let first = Arc::new(Recorder::default());
    let (base, stop, h) = serve(&config, first.clone()).await;
    eventually!(20, "the alert to fire", !first.0.lock().unwrap().is_empty());
    let active_at = alerts(&base).await[0]["activeAt"].clone();
    let body = get_text(&format!("{base}/api/v1/rules")).await;
    assert!(
        !body.contains(&pg.dsn()) && !body.contains("127.0.0.1:"),
        "{body}"
    );
    let _ = stop.send(());
    h.await.unwrap();

    let db = Db::open_postgres(&pg.dsn()).await.unwrap();
    let key = rule_key(&rules.display().to_string(), "pg", "Always");
    let saved = db.load_alerts(&key).await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].state, vigil::alert::AlertState::Firing);

    let second = Arc::new(Recorder::default());
    let (base, stop, h) = serve(&config, second.clone()).await;
    let restored = alerts(&base).await;
    assert_eq!(restored.len(), 1, "restored before the first evaluation");
    assert_eq!(restored[0]["activeAt"], active_at);
    assert_eq!(restored[0]["state"], "firing");
    // Several evaluations later it still has not been sent again.
    eventually!(
        20,
        "five evaluations of the restored group",
        evaluations(&base).await >= 5.0
    );
    assert_eq!(alerts(&base).await[0]["state"], "firing");
    assert!(second.0.lock().unwrap().is_empty(), "notified again");
    let _ = stop.send(());
    h.await.unwrap();
}
