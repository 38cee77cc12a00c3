//! The SLA availability ledger on a real PostgreSQL (started from the
//! system binaries by the test support) and on SQLite, through the same
//! `LedgerStore` seam the evaluation task and `vigil sla report` use: rows
//! are state changes, reads return what overlaps, a backfill replaces a
//! period, and a second engine on the same database sees the same rows.

use vigil::db::Db;
use vigil::sla::ledger::{Interval, LedgerStore, State};
use vigil::sla::span::Span;
use vigil_tests::postgres::PgServer;

const MIN: i64 = 60_000;
const T0: i64 = 1_790_000_000_000;

fn iv(s: i64, e: i64, state: State) -> Interval {
    Interval {
        span: Span::new(T0 + s * MIN, T0 + e * MIN),
        state,
    }
}

fn span(s: i64, e: i64) -> Span {
    Span::new(T0 + s * MIN, T0 + e * MIN)
}

/// The same checks on any backend; `other` is a second pool on the same
/// database (a second engine, or the CLI next to a running vigil).
async fn check_ledger(db: &Db, other: &Db) {
    // A minute-by-minute feed of the evaluation task: 10 up, 3 down, 7 up.
    for m in 0..20 {
        let state = if (10..13).contains(&m) {
            State::Down
        } else {
            State::Up
        };
        db.append("app", iv(m, m + 1, state)).await.unwrap();
    }
    let want = vec![
        iv(0, 10, State::Up),
        iv(10, 13, State::Down),
        iv(13, 20, State::Up),
    ];
    assert_eq!(other.read("app", span(0, 60)).await.unwrap(), want);
    assert_eq!(row_count(other).await, 3, "state changes, not samples");
    // Reads return overlapping rows unclipped; a touching row is not read.
    assert_eq!(
        other.read("app", span(11, 12)).await.unwrap(),
        vec![iv(10, 13, State::Down)]
    );
    assert!(other.read("app", span(20, 30)).await.unwrap().is_empty());
    assert!(other.read("db", span(0, 60)).await.unwrap().is_empty());
    // The same interval written twice (two engines) stays one row.
    other
        .append("app", iv(20, 25, State::Unknown))
        .await
        .unwrap();
    db.append("app", iv(20, 25, State::Unknown)).await.unwrap();
    assert_eq!(row_count(db).await, 4);
    // A backfill of minutes 5..22 replaces them; run twice, same result.
    let fill = [
        iv(0, 15, State::Up),
        iv(15, 16, State::Down),
        iv(16, 30, State::Up),
    ];
    for _ in 0..2 {
        db.ledger_replace("app", span(5, 22), &fill).await.unwrap();
    }
    assert_eq!(
        other.read("app", span(0, 60)).await.unwrap(),
        vec![
            iv(0, 15, State::Up),
            iv(15, 16, State::Down),
            iv(16, 22, State::Up),
            iv(22, 25, State::Unknown),
        ]
    );
}

async fn row_count(db: &Db) -> i64 {
    let q = "SELECT COUNT(*) FROM sla_ledger";
    match db {
        Db::Postgres(p) => sqlx::query_scalar(q).fetch_one(p).await.unwrap(),
        Db::Sqlite(p) => sqlx::query_scalar(q).fetch_one(p).await.unwrap(),
    }
}

#[tokio::test]
async fn sla_ledger_on_postgres() {
    let pg = PgServer::start_primary().expect(
        "PostgreSQL could not start: install Debian's postgresql package (scripts/test does)",
    );
    let nowhere = std::path::Path::new("/nonexistent");
    let db = Db::open(Some(&pg.dsn()), nowhere).await.unwrap();
    // The second open migrates nothing and fails nothing.
    let other = Db::open(Some(&pg.dsn()), nowhere).await.unwrap();
    check_ledger(&db, &other).await;
}

#[tokio::test]
async fn sla_ledger_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(None, dir.path()).await.unwrap();
    let other = Db::open(None, dir.path()).await.unwrap();
    check_ledger(&db, &other).await;
}
