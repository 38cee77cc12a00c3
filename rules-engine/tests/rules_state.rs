//! Alert state survives a restart through the SQLite store: a pending alert
//! continues its `for` timer, a firing one is not notified again, and one
//! that resolved while vigil was down is notified as resolved once. The
//! "restart" drops every in-memory object and rebuilds from the rule file
//! and the database file, as a killed process would.

use std::sync::Arc;

use parking_lot::Mutex;
use vigil::alert::AlertState;
use vigil::db::Db;
use vigil::promql::Engine;
use vigil::rules::alerting::AlertContext;
use vigil::rules::state_store::{AlertStateStore, rule_key};
use vigil::rules::{AlertSink, EngineQuery, EvalDeps, Group, OutgoingAlert, Rule};
use vigil::store::{Appender, Head};

const MIN: i64 = 60_000;
const T0: i64 = 1_800_000_000_000;
const RULES: &str =
    "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: app_up == 0\n    for: 5m\n";

#[derive(Default)]
struct Sink(Mutex<Vec<OutgoingAlert>>);

impl AlertSink for Sink {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        self.0.lock().extend(alerts);
    }
}

/// One process lifetime: a store with `app_up` samples, the group, a sink.
struct Process {
    head: Arc<Head>,
    group: Group,
    sink: Sink,
}

impl Process {
    async fn start(db: &Db) -> Process {
        let f = vigil::rules::check_text("r.yml", RULES).unwrap();
        let mut group = Group::build("r.yml", &f.groups[0], MIN).unwrap();
        for r in &mut group.rules {
            if let Rule::Alerting(r) = r {
                r.restore(
                    db.load_alerts(&rule_key("r.yml", "g", &r.name))
                        .await
                        .unwrap(),
                );
            }
        }
        Process {
            head: Arc::new(Head::default()),
            group,
            sink: Sink::default(),
        }
    }

    /// Writes `app_up` at `t` and evaluates, then saves the alert state.
    async fn step(&mut self, db: &Db, t: i64, up: f64) {
        let l = vigil::model::Labels::from_pairs([("__name__", "app_up"), ("instance", "a")]);
        self.head.append(&l, t, up).unwrap();
        let deps = EvalDeps {
            query: Arc::new(EngineQuery {
                engine: Engine::default(),
                querier: self.head.clone(),
            }),
            appender: self.head.as_ref(),
            sink: &self.sink,
            alert_ctx: &AlertContext::default(),
            resend_delay_ms: MIN,
        };
        self.group.eval(t, &deps);
        let Rule::Alerting(r) = &self.group.rules[0] else {
            panic!()
        };
        db.save_alerts(&rule_key("r.yml", "g", &r.name), r.active.values())
            .await
            .unwrap();
    }

    fn alert(&self) -> Option<vigil::alert::Alert> {
        let Rule::Alerting(r) = &self.group.rules[0] else {
            panic!()
        };
        r.active.values().next().cloned()
    }
}

#[tokio::test]
async fn pending_timer_continues_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(None, dir.path()).await.unwrap();
    let mut p = Process::start(&db).await;
    p.step(&db, T0, 0.0).await;
    p.step(&db, T0 + 2 * MIN, 0.0).await;
    assert_eq!(p.alert().unwrap().state, AlertState::Pending);
    drop(p);
    let db = Db::open(None, dir.path()).await.unwrap();
    let mut p = Process::start(&db).await;
    p.step(&db, T0 + 4 * MIN, 0.0).await;
    assert_eq!(p.alert().unwrap().state, AlertState::Pending);
    p.step(&db, T0 + 5 * MIN, 0.0).await;
    let a = p.alert().unwrap();
    assert_eq!(
        (a.state, a.active_at, a.fired_at),
        (AlertState::Firing, T0, Some(T0 + 5 * MIN))
    );
}

#[tokio::test]
async fn firing_alert_is_not_notified_again_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(None, dir.path()).await.unwrap();
    let mut p = Process::start(&db).await;
    for i in 0..=5 {
        p.step(&db, T0 + i * MIN, 0.0).await;
    }
    assert_eq!(p.sink.0.lock().len(), 1, "notified once when it fired");
    drop(p);
    let mut p = Process::start(&db).await;
    p.step(&db, T0 + 5 * MIN + 30_000, 0.0).await;
    assert!(
        p.sink.0.lock().is_empty(),
        "a restart is not a reason to notify"
    );
    p.step(&db, T0 + 6 * MIN, 0.0).await;
    assert_eq!(p.sink.0.lock().len(), 1, "the normal resend resumes");
}

#[tokio::test]
async fn alert_resolved_while_down_is_resolved_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(None, dir.path()).await.unwrap();
    let mut p = Process::start(&db).await;
    for i in 0..=5 {
        p.step(&db, T0 + i * MIN, 0.0).await;
    }
    drop(p);
    let mut p = Process::start(&db).await;
    p.step(&db, T0 + 10 * MIN, 1.0).await;
    let sent = p.sink.0.lock().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].ends_at, T0 + 10 * MIN, "sent as resolved");
    p.step(&db, T0 + 10 * MIN + 15_000, 1.0).await;
    assert_eq!(p.sink.0.lock().len(), 1, "not twice");
}
