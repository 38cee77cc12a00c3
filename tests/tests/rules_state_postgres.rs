//! vigil's alert state store on a real PostgreSQL (started from the system
//! binaries by the test support): migrations run on first connect and are
//! idempotent, saving replaces a rule's alerts atomically, and every field
//! reads back as written.

use vigil::alert::{Alert, AlertState};
use vigil::db::Db;
use vigil::model::Labels;
use vigil::rules::state_store::{AlertStateStore, rule_key};
use vigil_tests::postgres::PgServer;

fn alert(instance: &str, state: AlertState) -> Alert {
    let mut a = Alert::new(
        Labels::from_pairs([("alertname", "Down"), ("instance", instance)]),
        vec![("summary".into(), format!("{instance} is down"))],
        f64::INFINITY,
        1_800_000_000_000,
    );
    a.state = state;
    if state == AlertState::Firing {
        a.fired_at = Some(1_800_000_300_000);
        a.last_sent_at = Some(1_800_000_300_000);
    }
    a
}

#[tokio::test]
async fn alert_state_round_trips_on_postgres() {
    let pg = PgServer::start_primary().expect(
        "PostgreSQL could not start: install Debian's postgresql package (scripts/test does)",
    );
    let db = Db::open(Some(&pg.dsn()), std::path::Path::new("/nonexistent"))
        .await
        .unwrap();
    // A second start migrates nothing and fails nothing.
    let db2 = Db::open(Some(&pg.dsn()), std::path::Path::new("/nonexistent"))
        .await
        .unwrap();
    let key = rule_key("r.yml", "g", "Down");
    let first = [
        alert("a", AlertState::Pending),
        alert("b", AlertState::Firing),
    ];
    db.save_alerts(&key, first.iter()).await.unwrap();
    let got = db2.load_alerts(&key).await.unwrap();
    assert_eq!(got, first.to_vec());
    let second = [alert("c", AlertState::Inactive)];
    db.save_alerts(&key, second.iter()).await.unwrap();
    assert_eq!(db2.load_alerts(&key).await.unwrap(), second.to_vec());
    assert!(
        db.load_alerts(&rule_key("r.yml", "g", "Other"))
            .await
            .unwrap()
            .is_empty()
    );
}
