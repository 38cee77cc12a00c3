//! The SLA availability ledger in SQL: one row per interval of unchanged
//! state (`sla_ledger`), so a quiet month is one row per service.
//!
//! The evaluation task appends at every slot; [`Db::ledger_append`] is a
//! conditional write keyed on the service and the change, not on the
//! writer: it looks at the service's latest row only (under a per-service
//! advisory lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite) and
//!
//! - does nothing when that row already covers the interval (another
//!   instance wrote this stretch first: the first writer wins),
//! - extends that one row when the state is the same,
//! - adds a row only where the state changes (or after a gap).
//!
//! So two instances evaluating the same slots write one row per state
//! change between them, and an append touches at most one row.

use sqlx::Row;

use super::ledger::{Interval, LedgerStore, State};
use super::span::Span;
use crate::db::on_db;
use crate::db::{Db, DbError};

// sqlx 0.9 takes only static SQL, and SQLite spells positional parameters
// `?N`: each statement is written out for both backends.
const PG_EXTEND: &str = "UPDATE sla_ledger SET end_ms = $3 \
     WHERE service = $1 AND end_ms = $2 AND state = $4 AND end_ms < $3";
const LITE_EXTEND: &str = "UPDATE sla_ledger SET end_ms = ?3 \
     WHERE service = ?1 AND end_ms = ?2 AND state = ?4 AND end_ms < ?3";
const PG_INSERT: &str = "INSERT INTO sla_ledger (service, start_ms, end_ms, state) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (service, start_ms) \
     DO UPDATE SET end_ms = excluded.end_ms, state = excluded.state";
const LITE_INSERT: &str = "INSERT INTO sla_ledger (service, start_ms, end_ms, state) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (service, start_ms) \
     DO UPDATE SET end_ms = excluded.end_ms, state = excluded.state";
const PG_SELECT: &str = "SELECT start_ms, end_ms, state FROM sla_ledger \
     WHERE service = $1 AND start_ms < $3 AND end_ms > $2 ORDER BY start_ms";
const LITE_SELECT: &str = "SELECT start_ms, end_ms, state FROM sla_ledger \
     WHERE service = ?1 AND start_ms < ?3 AND end_ms > ?2 ORDER BY start_ms";
const PG_DELETE: &str =
    "DELETE FROM sla_ledger WHERE service = $1 AND start_ms < $3 AND end_ms > $2";
const LITE_DELETE: &str =
    "DELETE FROM sla_ledger WHERE service = ?1 AND start_ms < ?3 AND end_ms > ?2";

/// Runs one statement on either backend, binding `$binds` in order, inside
/// the transaction `$tx` (a `&mut` connection).
macro_rules! exec {
    ($db:expr, $tx:expr, $pg:expr, $lite:expr, $($bind:expr),+) => {
        match $db {
            Db::Postgres(_) => sqlx::query($pg)$(.bind($bind))+.execute(&mut *$tx.pg()).await?
                .rows_affected(),
            Db::Sqlite(_) => sqlx::query($lite)$(.bind($bind))+.execute(&mut *$tx.lite()).await?
                .rows_affected(),
        }
    };
}

/// The intervals a `*_SELECT` statement returns on `$executor`, as a
/// `Result<Vec<Interval>, DbError>`.
macro_rules! select {
    ($sql:expr, $executor:expr, $service:expr, $span:expr) => {
        sqlx::query($sql)
            .bind($service)
            .bind($span.start)
            .bind($span.end)
            .fetch_all($executor)
            .await
            .map_err(DbError::from)
            .and_then(|rows| {
                rows.iter()
                    .map(|r| to_interval(r.try_get(0)?, r.try_get(1)?, &r.try_get::<String, _>(2)?))
                    .collect::<Result<Vec<Interval>, DbError>>()
            })
    };
}

/// A transaction on either backend.
enum Tx {
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
    Lite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl Tx {
    /// Opens a write transaction that holds `service`'s ledger lock, as
    /// [`Db::ledger_append`] does, so a live append and a backfill of the
    /// same service take turns.
    async fn begin(db: &Db, service: &str) -> Result<Tx, DbError> {
        Ok(match db {
            Db::Postgres(p) => {
                let mut t = p.begin().await?;
                sqlx::query(LOCK).bind(service).execute(&mut *t).await?;
                Tx::Pg(t)
            }
            Db::Sqlite(p) => Tx::Lite(p.begin_with("BEGIN IMMEDIATE").await?),
        })
    }
    fn pg(&mut self) -> &mut sqlx::PgConnection {
        match self {
            Tx::Pg(t) => t,
            Tx::Lite(_) => unreachable!("a SQLite transaction used as PostgreSQL"),
        }
    }
    fn lite(&mut self) -> &mut sqlx::SqliteConnection {
        match self {
            Tx::Lite(t) => t,
            Tx::Pg(_) => unreachable!("a PostgreSQL transaction used as SQLite"),
        }
    }
    async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Pg(t) => t.commit().await?,
            Tx::Lite(t) => t.commit().await?,
        }
        Ok(())
    }
}

fn to_interval(start: i64, end: i64, state: &str) -> Result<Interval, DbError> {
    let state =
        State::parse(state).ok_or_else(|| DbError::CorruptLedger(format!("state {state:?}")))?;
    if end <= start {
        return Err(DbError::CorruptLedger(format!(
            "interval [{start}, {end}) is empty"
        )));
    }
    Ok(Interval {
        span: Span::new(start, end),
        state,
    })
}

const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended('sla_ledger:' || $1, 0))";
const LATEST: &str = "SELECT start_ms, end_ms, state FROM sla_ledger WHERE service = $1 \
     ORDER BY start_ms DESC LIMIT 1";
const SET_END: &str = "UPDATE sla_ledger SET end_ms = $3 WHERE service = $1 AND start_ms = $2";
const ADD: &str = "INSERT INTO sla_ledger (service, start_ms, end_ms, state) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (service, start_ms) DO NOTHING";

/// What an append does given the service's latest row.
#[derive(Debug, PartialEq)]
enum Write {
    Nothing,
    /// Move the end of the row starting at `.0` to `.1`.
    Extend(i64, i64),
    Add(Interval),
}

/// The conditional write: see the module documentation.
fn plan_append(latest: Option<Interval>, iv: Interval) -> Write {
    let Some(l) = latest else {
        return Write::Add(iv);
    };
    if iv.span.end <= l.span.end {
        Write::Nothing
    } else if iv.span.start > l.span.end {
        Write::Add(iv)
    } else if iv.state == l.state {
        Write::Extend(l.span.start, iv.span.end)
    } else {
        Write::Add(Interval {
            span: Span::new(l.span.end, iv.span.end),
            state: iv.state,
        })
    }
}

impl Db {
    /// Records that `service` was in `iv.state` during `iv.span`, as a
    /// conditional write (see the module documentation).
    pub async fn ledger_append(&self, service: &str, iv: Interval) -> Result<(), DbError> {
        if iv.span.is_empty() {
            return Ok(());
        }
        let pg = matches!(self, Db::Postgres(_));
        on_db!(self, |pool, sql, begin| {
            let mut tx = pool.begin_with(begin).await?;
            if pg {
                sqlx::query(sql(LOCK))
                    .bind(service)
                    .execute(&mut *tx)
                    .await?;
            }
            let latest = match sqlx::query(sql(LATEST))
                .bind(service)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(r) => Some(to_interval(
                    r.try_get(0)?,
                    r.try_get(1)?,
                    &r.try_get::<String, _>(2)?,
                )?),
                None => None,
            };
            match plan_append(latest, iv) {
                Write::Nothing => return Ok(()),
                Write::Extend(start, end) => {
                    sqlx::query(sql(SET_END))
                        .bind(service)
                        .bind(start)
                        .bind(end)
                        .execute(&mut *tx)
                        .await?;
                }
                Write::Add(n) => {
                    sqlx::query(sql(ADD))
                        .bind(service)
                        .bind(n.span.start)
                        .bind(n.span.end)
                        .bind(n.state.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every interval of `service` overlapping `span`, unclipped, by start.
    pub async fn ledger_read(&self, service: &str, span: Span) -> Result<Vec<Interval>, DbError> {
        match self {
            Db::Postgres(p) => select!(PG_SELECT, p, service, span),
            Db::Sqlite(p) => select!(LITE_SELECT, p, service, span),
        }
    }

    /// Replaces what the ledger says about `service` during `span` with
    /// `intervals` (clipped to `span`), atomically: what `vigil sla
    /// backfill` writes, so running it twice over a period changes nothing.
    /// Rows reaching outside `span` keep their outside parts.
    pub async fn ledger_replace(
        &self,
        service: &str,
        span: Span,
        intervals: &[Interval],
    ) -> Result<(), DbError> {
        let mut tx = Tx::begin(self, service).await?;
        // Read in the transaction, so an append from a running vigil
        // cannot slip in between the read and the delete.
        let old = match &mut tx {
            Tx::Pg(t) => select!(PG_SELECT, &mut **t, service, span)?,
            Tx::Lite(t) => select!(LITE_SELECT, &mut **t, service, span)?,
        };
        exec!(
            self,
            tx,
            PG_DELETE,
            LITE_DELETE,
            service,
            span.start,
            span.end
        );
        let mut keep = Vec::new();
        for iv in &old {
            if iv.span.start < span.start {
                keep.push(Interval {
                    span: Span::new(iv.span.start, span.start),
                    state: iv.state,
                });
            }
        }
        let mut new: Vec<Interval> = intervals
            .iter()
            .filter_map(|iv| {
                iv.span.intersect(span).map(|s| Interval {
                    span: s,
                    state: iv.state,
                })
            })
            .collect();
        new.sort_by_key(|iv| iv.span.start);
        keep.extend(new);
        for iv in &old {
            if iv.span.end > span.end {
                keep.push(Interval {
                    span: Span::new(span.end, iv.span.end),
                    state: iv.state,
                });
            }
        }
        for iv in keep {
            append_in(self, &mut tx, service, iv).await?;
        }
        tx.commit().await
    }
}

/// Writes one interval of a replacement, merged with the row it touches
/// (the rows around it were just rewritten, so at most one does).
async fn append_in(db: &Db, tx: &mut Tx, service: &str, iv: Interval) -> Result<(), DbError> {
    let state = iv.state.as_str();
    let extended = exec!(
        db,
        tx,
        PG_EXTEND,
        LITE_EXTEND,
        service,
        iv.span.start,
        iv.span.end,
        state
    );
    if extended == 0 {
        exec!(
            db,
            tx,
            PG_INSERT,
            LITE_INSERT,
            service,
            iv.span.start,
            iv.span.end,
            state
        );
    }
    Ok(())
}

impl LedgerStore for Db {
    type Error = DbError;

    async fn append(&self, service: &str, interval: Interval) -> Result<(), DbError> {
        self.ledger_append(service, interval).await
    }

    async fn read(&self, service: &str, span: Span) -> Result<Vec<Interval>, DbError> {
        self.ledger_read(service, span).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(s: i64, e: i64, state: State) -> Interval {
        Interval {
            span: Span::new(s, e),
            state,
        }
    }

    #[tokio::test]
    async fn sqlite_ledger_keeps_state_changes_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(None, dir.path()).await.unwrap();
        db.ledger_append("app", iv(0, 60, State::Up)).await.unwrap();
        db.ledger_append("app", iv(60, 120, State::Up))
            .await
            .unwrap();
        db.ledger_append("app", iv(120, 180, State::Down))
            .await
            .unwrap();
        db.ledger_append("app", iv(180, 240, State::Up))
            .await
            .unwrap();
        db.ledger_append("db", iv(0, 240, State::Unknown))
            .await
            .unwrap();
        assert_eq!(
            db.ledger_read("app", Span::new(0, 1000)).await.unwrap(),
            vec![
                iv(0, 120, State::Up),
                iv(120, 180, State::Down),
                iv(180, 240, State::Up)
            ]
        );
        // overlapping, unclipped; touching at the edge is not overlapping
        assert_eq!(
            db.ledger_read("app", Span::new(100, 121)).await.unwrap(),
            vec![iv(0, 120, State::Up), iv(120, 180, State::Down)]
        );
        assert!(
            db.ledger_read("app", Span::new(240, 300))
                .await
                .unwrap()
                .is_empty()
        );
        // a backfill replaces the middle, keeping the outside parts
        db.ledger_replace("app", Span::new(60, 200), &[iv(0, 300, State::Down)])
            .await
            .unwrap();
        assert_eq!(
            db.ledger_read("app", Span::new(0, 1000)).await.unwrap(),
            vec![
                iv(0, 60, State::Up),
                iv(60, 200, State::Down),
                iv(200, 240, State::Up)
            ]
        );
    }

    /// Two instances evaluating the same slots (each appending its open
    /// interval so far, as the evaluation task does) write one row per
    /// state change between them, whichever writes first.
    #[tokio::test]
    async fn two_writers_in_lockstep_write_each_change_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(None, dir.path()).await.unwrap();
        let state = |m: i64| {
            if (m / 4) % 2 == 0 {
                State::Up
            } else {
                State::Down
            }
        };
        // each writer's run start, as its tracker keeps it
        let mut since = [0i64; 2];
        for m in 1..=20 {
            for w in [(m % 2) as usize, 1 - (m % 2) as usize] {
                if state(m - 1) != state(since[w]) {
                    since[w] = m - 1;
                }
                db.ledger_append("app", iv(since[w], m, state(since[w])))
                    .await
                    .unwrap();
            }
        }
        let rows = db.ledger_read("app", Span::new(0, 100)).await.unwrap();
        assert_eq!(
            rows,
            vec![
                iv(0, 4, State::Up),
                iv(4, 8, State::Down),
                iv(8, 12, State::Up),
                iv(12, 16, State::Down),
                iv(16, 20, State::Up)
            ]
        );
    }

    #[test]
    fn an_append_looks_at_the_latest_row_only() {
        let l = Some(iv(10, 20, State::Up));
        assert_eq!(
            plan_append(None, iv(0, 5, State::Up)),
            Write::Add(iv(0, 5, State::Up))
        );
        assert_eq!(plan_append(l, iv(12, 20, State::Down)), Write::Nothing);
        assert_eq!(plan_append(l, iv(15, 25, State::Up)), Write::Extend(10, 25));
        assert_eq!(plan_append(l, iv(20, 25, State::Up)), Write::Extend(10, 25));
        assert_eq!(
            plan_append(l, iv(18, 25, State::Down)),
            Write::Add(iv(20, 25, State::Down))
        );
        assert_eq!(
            plan_append(l, iv(30, 35, State::Up)),
            Write::Add(iv(30, 35, State::Up))
        );
    }

    #[tokio::test]
    async fn corrupt_rows_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(None, dir.path()).await.unwrap();
        let Db::Sqlite(pool) = &db else { panic!() };
        sqlx::query("INSERT INTO sla_ledger VALUES ('app', 0, 10, 'sideways')")
            .execute(pool)
            .await
            .unwrap();
        let err = db.ledger_read("app", Span::new(0, 10)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "database: SLA ledger row is malformed: state \"sideways\""
        );
        // an empty append writes nothing
        db.ledger_append("db", iv(5, 5, State::Up)).await.unwrap();
        assert!(
            db.ledger_read("db", Span::new(0, 10))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
