//! The append-only alert history (table `alert_history`): every alert
//! state change the dispatcher sees and every notification outcome, with
//! its reason. Rows are only ever inserted; queries read newest first.

use chrono::{DateTime, Utc};
use sqlx::Row;
use std::future::Future;

use super::outbox::ms;
use crate::clock::from_ms;
use crate::db::on_db;
use crate::db::{Db, DbError};
use crate::notify::status::{HistoryKind, HistoryStatus};

/// One history row.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub at: DateTime<Utc>,
    pub kind: HistoryKind,
    /// The alert's fingerprint (16 hex digits); empty for notifications.
    pub fingerprint: String,
    /// The alert's labels, or the group's, as `{a="1", ...}`.
    pub labels: String,
    pub group_key: String,
    pub integration: String,
    /// `firing`/`resolved` for alerts; `queued`, `delivered`, `retry`,
    /// `failed`, `superseded` for notifications.
    pub status: HistoryStatus,
    /// The reason or error (no secrets).
    pub detail: String,
    /// For notifications: what it told, `firing` or `resolved` (empty for
    /// alert rows, whose status says it).
    pub state: String,
}

/// The history row of a notification's step (queued, retry, delivered...).
pub fn notification_event(
    at: DateTime<Utc>,
    group_key: &str,
    integration: &str,
    status: HistoryStatus,
    detail: &str,
    state: &str,
) -> HistoryEvent {
    HistoryEvent {
        at,
        kind: HistoryKind::Notification,
        fingerprint: String::new(),
        labels: String::new(),
        group_key: group_key.to_string(),
        integration: integration.to_string(),
        status,
        detail: detail.to_string(),
        state: state.to_string(),
    }
}

/// What to read back.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub since: Option<DateTime<Utc>>,
    pub kind: Option<String>,
    pub fingerprint: Option<String>,
    pub limit: Option<i64>,
}

pub(super) const INSERT: &str = "INSERT INTO alert_history (at, kind, fingerprint, labels, group_key, integration, status, detail, state) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Records one [`HistoryEvent`] with `$sql` (the backend's spelling, from
/// `on_db!`) on `$conn` (a transaction): the one place the row is bound,
/// for the history's own appends and the outbox's transactions.
macro_rules! insert_history {
    ($conn:expr, $sql:ident, $e:expr) => {{
        let e: &$crate::notify::tables::history::HistoryEvent = $e;
        sqlx::query($sql($crate::notify::tables::history::INSERT))
            .bind($crate::notify::tables::outbox::ms(e.at))
            .bind(e.kind.as_str())
            .bind(&e.fingerprint)
            .bind(&e.labels)
            .bind(&e.group_key)
            .bind(&e.integration)
            .bind(e.status.as_str())
            .bind(&e.detail)
            .bind(&e.state)
            .execute($conn)
            .await
    }};
}

pub(super) use insert_history;
const SELECT: &str = "SELECT at, kind, fingerprint, labels, group_key, integration, status, detail, state FROM alert_history \
     WHERE at >= $1 AND ($2 = '' OR kind = $2) AND ($3 = '' OR fingerprint = $3) ORDER BY at DESC, id DESC LIMIT $4";

/// A stored word read back as its type.
fn word<T: std::str::FromStr<Err = crate::notify::status::UnknownWord>>(
    s: String,
) -> Result<T, DbError> {
    s.parse()
        .map_err(|e: crate::notify::status::UnknownWord| DbError::Corrupt(e.to_string()))
}

/// The append-only alert history.
/// Implemented for [`Db`] below, for SQLite and PostgreSQL alike.
pub trait HistoryStore: Send + Sync {
    fn append_history(
        &self,
        events: &[HistoryEvent],
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Matching rows, newest first (at most 1000 unless told).
    fn history(
        &self,
        q: &HistoryQuery,
    ) -> impl Future<Output = Result<Vec<HistoryEvent>, DbError>> + Send;
}

impl HistoryStore for Db {
    async fn append_history(&self, events: &[HistoryEvent]) -> Result<(), DbError> {
        if events.is_empty() {
            return Ok(());
        }
        on_db!(self, |pool, sql, begin| {
            let mut tx = pool.begin_with(begin).await?;
            for e in events {
                insert_history!(&mut *tx, sql, e)?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Matching rows, newest first (at most 1000 unless told).
    async fn history(&self, q: &HistoryQuery) -> Result<Vec<HistoryEvent>, DbError> {
        on_db!(self, |pool, sql, _begin| {
            let rows = sqlx::query(sql(SELECT))
                .bind(q.since.map_or(i64::MIN, ms))
                .bind(q.kind.clone().unwrap_or_default())
                .bind(q.fingerprint.clone().unwrap_or_default())
                .bind(q.limit.unwrap_or(1000))
                .fetch_all(pool)
                .await?;
            let mut out = Vec::new();
            for row in rows {
                out.push(HistoryEvent {
                    at: from_ms(row.try_get(0)?),
                    kind: word(row.try_get(1)?)?,
                    fingerprint: row.try_get(2)?,
                    labels: row.try_get(3)?,
                    group_key: row.try_get(4)?,
                    integration: row.try_get(5)?,
                    status: word(row.try_get(6)?)?,
                    detail: row.try_get(7)?,
                    state: row.try_get(8)?,
                });
            }
            Ok(out)
        })
    }
}
