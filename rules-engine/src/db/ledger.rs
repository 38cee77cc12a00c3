//! The SLA availability ledger in SQL: one row per interval of unchanged
//! state (`sla_ledger`), so a quiet month is one row per service.
//!
//! Appending an interval that starts where the service's last row of the
//! same state ends extends that row instead of adding one, which keeps the
//! table at state changes even though the evaluation task appends every
//! closed interval. Two engines sharing one PostgreSQL may write the same
//! start: the upsert keeps one row, and readers tile overlaps anyway.

use sqlx::Row;

use super::{Db, DbError};
use crate::sla::ledger::{Interval, LedgerStore, State};
use crate::sla::span::Span;

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
    async fn begin(db: &Db) -> Result<Tx, DbError> {
        Ok(match db {
            Db::Postgres(p) => Tx::Pg(p.begin().await?),
            Db::Sqlite(p) => Tx::Lite(p.begin().await?),
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

impl Db {
    /// Appends (or extends) one ledger interval of `service`.
    pub async fn ledger_append(&self, service: &str, iv: Interval) -> Result<(), DbError> {
        if iv.span.is_empty() {
            return Ok(());
        }
        let mut tx = Tx::begin(self).await?;
        append_in(self, &mut tx, service, iv).await?;
        tx.commit().await
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
        let mut tx = Tx::begin(self).await?;
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
