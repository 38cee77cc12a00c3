//! The notification outbox and log (tables `notify_outbox`, `notify_log`).
//!
//! The groups due at one instant flush in one transaction (one commit, so
//! one fsync, however many groups): read what each integration was last
//! told about each group, decide (the pure pipeline), insert the
//! notifications to send and update the log. On PostgreSQL the transaction
//! first takes an advisory lock per group key (in key order, so two
//! instances cannot deadlock), so two instances flushing the same group
//! take turns and the second sees the first's log entry: the notification
//! is written once.
//!
//! Ordered delivery per group and integration: a new notification for a
//! (group, integration) supersedes that pair's older rows still waiting
//! (status `superseded`, with a history row), and a row is claimable only
//! when no older row of its pair is still pending, i.e. being sent right
//! now by some instance. So a receiver sees a group's notifications in the
//! order they were made and the last one it sees is the group's current
//! state, across restarts and between instances (the rule lives in the
//! shared tables, not in memory).
//!
//! Senders claim due rows by setting a lease (owner, until); on PostgreSQL
//! with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never take the
//! same row. A row whose owner died becomes claimable when its lease runs
//! out, so after a crash pending notifications are still sent. Marking a
//! row checks the lease owner: a sender whose lease was taken over does
//! not overwrite the new owner's outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::history::HistoryEvent;
use crate::clock::from_ms;
use crate::db::on_db;
use crate::db::{Db, DbError};
use crate::notify::dedup::LogEntry;
use crate::notify::status::{HistoryStatus, OutboxState, UnknownWord};

/// One notification to write during a flush.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub group_key: String,
    pub integration: String,
    pub receiver: String,
    /// Rendered payload; `None` when only the log changes (nothing left
    /// to send once resolved alerts were dropped).
    pub payload: Option<serde_json::Value>,
    pub entry: LogEntry,
    /// `firing` or `resolved`: what the notification tells.
    pub state: String,
}

/// A claimed row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub created_at: i64,
    pub group_key: String,
    pub integration: String,
    pub receiver: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    /// `firing` or `resolved`.
    pub state: String,
}

/// How one delivery attempt ends for its row.
#[derive(Debug, Clone, PartialEq)]
pub enum RowResult {
    /// Delivered or failed.
    Done {
        status: OutboxState,
        at: DateTime<Utc>,
        error: Option<String>,
    },
    /// Pending again, due at `next`.
    Retry { next: DateTime<Utc>, error: String },
}

/// A row's outcome and the history event that tells it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: i64,
    pub result: RowResult,
    pub event: HistoryEvent,
}

/// A row as listed for inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxStatus {
    pub id: i64,
    pub integration: String,
    pub status: OutboxState,
    pub attempts: i32,
    pub last_error: Option<String>,
}

pub fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn fps_json(s: &BTreeSet<u64>) -> String {
    let v: Vec<String> = s.iter().map(|f| format!("{f:016x}")).collect();
    serde_json::to_string(&v).unwrap_or_default()
}

fn fps_parse(s: &str) -> Result<BTreeSet<u64>, DbError> {
    let v: Vec<String> = serde_json::from_str(s).map_err(|e| DbError::Corrupt(e.to_string()))?;
    v.iter()
        .map(|h| u64::from_str_radix(h, 16).map_err(|e| DbError::Corrupt(e.to_string())))
        .collect()
}

const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
const READ_LOG: &str =
    "SELECT integration, firing, resolved, at FROM notify_log WHERE group_key = $1";
const INSERT: &str = "INSERT INTO notify_outbox (created_at, group_key, integration, receiver, payload, status, attempts, next_attempt_at, state) \
     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $1, $6) RETURNING id";
const UPSERT_LOG: &str = "INSERT INTO notify_log (group_key, integration, firing, resolved, at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (group_key, integration) DO UPDATE SET firing = excluded.firing, resolved = excluded.resolved, at = excluded.at";
/// The pair's older rows that nobody is sending (a row being sent cannot
/// be taken back; the claim rule below keeps the newer one waiting).
const SUPERSEDE: &str = "UPDATE notify_outbox SET status = 'superseded', done_at = $3, \
     last_error = 'superseded by a newer notification of the group', lease_owner = NULL, lease_until = NULL \
     WHERE group_key = $1 AND integration = $2 AND status = 'pending' \
     AND (lease_until IS NULL OR lease_until < $3) RETURNING id, state";
/// Rows waiting (a retry, or a dead sender's) behind a newer row of their
/// pair: superseded before each claim.
const SUPERSEDE_STALE_SQLITE: &str = "UPDATE notify_outbox SET status = 'superseded', done_at = $1, \
     last_error = 'superseded by a newer notification of the group', lease_owner = NULL, lease_until = NULL \
     WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < $1) AND EXISTS (\
     SELECT 1 FROM notify_outbox n WHERE n.group_key = notify_outbox.group_key \
     AND n.integration = notify_outbox.integration AND n.status = 'pending' AND n.id > notify_outbox.id) \
     RETURNING id, group_key, integration, state";
/// On PostgreSQL the rows are picked with `SKIP LOCKED`, so instances
/// claiming at the same time never wait on (or deadlock over) each other.
const SUPERSEDE_STALE_PG: &str = "UPDATE notify_outbox SET status = 'superseded', done_at = $1, \
     last_error = 'superseded by a newer notification of the group', lease_owner = NULL, lease_until = NULL \
     WHERE id IN (SELECT id FROM notify_outbox r WHERE status = 'pending' \
     AND (lease_until IS NULL OR lease_until < $1) AND EXISTS (\
     SELECT 1 FROM notify_outbox n WHERE n.group_key = r.group_key \
     AND n.integration = r.integration AND n.status = 'pending' AND n.id > r.id) FOR UPDATE SKIP LOCKED) \
     RETURNING id, group_key, integration, state";
/// Due rows whose pair has no older row pending (being sent).
const CLAIM_PG: &str = "UPDATE notify_outbox SET lease_owner = $1, lease_until = $2 WHERE id IN (\
     SELECT id FROM notify_outbox r WHERE status = 'pending' AND next_attempt_at <= $3 \
     AND (lease_until IS NULL OR lease_until < $3) AND NOT EXISTS (SELECT 1 FROM notify_outbox o \
     WHERE o.group_key = r.group_key AND o.integration = r.integration AND o.status = 'pending' AND o.id < r.id) \
     ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) \
     RETURNING id, created_at, group_key, integration, receiver, payload, attempts, state";
const CLAIM_SQLITE: &str = "UPDATE notify_outbox SET lease_owner = $1, lease_until = $2 WHERE id IN (\
     SELECT id FROM notify_outbox r WHERE status = 'pending' AND next_attempt_at <= $3 \
     AND (lease_until IS NULL OR lease_until < $3) AND NOT EXISTS (SELECT 1 FROM notify_outbox o \
     WHERE o.group_key = r.group_key AND o.integration = r.integration AND o.status = 'pending' AND o.id < r.id) \
     ORDER BY id LIMIT $4) \
     RETURNING id, created_at, group_key, integration, receiver, payload, attempts, state";
const DONE: &str = "UPDATE notify_outbox SET status = $3, done_at = $4, last_error = $5, attempts = attempts + 1, \
     lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2";
const RETRY: &str = "UPDATE notify_outbox SET next_attempt_at = $3, last_error = $4, attempts = attempts + 1, \
     lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2";
const RENEW: &str =
    "UPDATE notify_outbox SET lease_until = $2 WHERE lease_owner = $1 AND status = 'pending'";
const RELEASE: &str = "UPDATE notify_outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND status = 'pending'";
const NEXT_DUE: &str = "SELECT MIN(next_attempt_at) FROM notify_outbox WHERE status = 'pending'";
const LIST: &str =
    "SELECT id, integration, status, attempts, last_error FROM notify_outbox ORDER BY id";

/// The history row of a superseded notification.
fn superseded_event(
    at: DateTime<Utc>,
    group_key: &str,
    integration: &str,
    id: i64,
    state: &str,
) -> HistoryEvent {
    let detail = format!("outbox row {id} replaced by a newer notification of the group");
    super::history::notification_event(
        at,
        group_key,
        integration,
        HistoryStatus::Superseded,
        &detail,
        state,
    )
}

/// The outbox and the notification log, as the dispatcher and the senders use
/// them: one transaction per flush, leases per sender.
/// Implemented for [`Db`] below, for SQLite and PostgreSQL alike.
pub trait OutboxStore: Send + Sync {
    /// The flush of the groups `keys`: `decide` sees each group's log
    /// entries by integration and returns the notifications and history
    /// events to write; returns the new row ids.
    fn flush_groups(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        decide: impl FnOnce(
            &BTreeMap<String, BTreeMap<String, LogEntry>>,
        ) -> (Vec<NewNotification>, Vec<HistoryEvent>)
        + Send,
    ) -> impl Future<Output = Result<Vec<i64>, DbError>> + Send;

    /// Claims up to `limit` due rows for `owner` until `lease_until`.
    fn claim_due(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, DbError>> + Send;

    /// Records delivery outcomes of rows `owner` claimed, each with its
    /// history event, in one transaction. Rows whose lease was lost are
    /// left alone (their new owner records them); returns how many.
    fn record_outcomes(
        &self,
        owner: &str,
        outcomes: &[Outcome],
    ) -> impl Future<Output = Result<usize, DbError>> + Send;

    /// Moves the end of every lease `owner` holds to `until` (while its
    /// sends are in progress).
    fn renew_leases(
        &self,
        owner: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Frees the leases `owner` holds (a clean shutdown, or a restart
    /// under the same instance name), so its rows need not wait for the
    /// lease to run out.
    fn release_leases(&self, owner: &str) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// When the next pending row is due.
    fn next_due(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>, DbError>> + Send;

    /// Every row, oldest first (tests, `vigil alerts history`).
    fn outbox_list(&self) -> impl Future<Output = Result<Vec<OutboxStatus>, DbError>> + Send;
}

impl OutboxStore for Db {
    /// The flush of the groups `keys`: `decide` sees each group's log
    /// entries by integration and returns the notifications and history
    /// events to write; returns the new row ids.
    async fn flush_groups(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        decide: impl FnOnce(
            &BTreeMap<String, BTreeMap<String, LogEntry>>,
        ) -> (Vec<NewNotification>, Vec<HistoryEvent>)
        + Send,
    ) -> Result<Vec<i64>, DbError> {
        let pg = matches!(self, Db::Postgres(_));
        let mut keys: Vec<&String> = keys.iter().collect();
        keys.sort();
        keys.dedup();
        on_db!(self, |pool, sql, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let mut logs: BTreeMap<String, BTreeMap<String, LogEntry>> = BTreeMap::new();
            for key in keys {
                if pg {
                    sqlx::query(sql(LOCK)).bind(key).execute(&mut *tx).await?;
                }
                let log = logs.entry(key.clone()).or_default();
                for row in sqlx::query(sql(READ_LOG))
                    .bind(key)
                    .fetch_all(&mut *tx)
                    .await?
                {
                    let integration: String = row.try_get(0)?;
                    let firing: String = row.try_get(1)?;
                    let resolved: String = row.try_get(2)?;
                    let at: i64 = row.try_get(3)?;
                    let entry = LogEntry {
                        firing: fps_parse(&firing)?,
                        resolved: fps_parse(&resolved)?,
                        at: from_ms(at),
                    };
                    log.insert(integration, entry);
                }
            }
            let mut ids = Vec::new();
            let (notifications, events) = decide(&logs);
            for e in &events {
                super::history::insert_history!(&mut *tx, sql, e)?;
            }
            for n in notifications {
                let old = sqlx::query(sql(SUPERSEDE))
                    .bind(&n.group_key)
                    .bind(&n.integration)
                    .bind(ms(now))
                    .fetch_all(&mut *tx)
                    .await?;
                for row in old {
                    let (id, state): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
                    let e = superseded_event(now, &n.group_key, &n.integration, id, &state);
                    super::history::insert_history!(&mut *tx, sql, &e)?;
                }
                if let Some(p) = &n.payload {
                    let row = sqlx::query(sql(INSERT))
                        .bind(ms(now))
                        .bind(&n.group_key)
                        .bind(&n.integration)
                        .bind(&n.receiver)
                        .bind(p.to_string())
                        .bind(&n.state)
                        .fetch_one(&mut *tx)
                        .await?;
                    ids.push(row.try_get::<i64, _>(0)?);
                }
                sqlx::query(sql(UPSERT_LOG))
                    .bind(&n.group_key)
                    .bind(&n.integration)
                    .bind(fps_json(&n.entry.firing))
                    .bind(fps_json(&n.entry.resolved))
                    .bind(ms(n.entry.at))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// Claims up to `limit` due rows for `owner` until `lease_until`.
    async fn claim_due(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, DbError> {
        let (stale, claim) = match self {
            Db::Postgres(_) => (SUPERSEDE_STALE_PG, CLAIM_PG),
            Db::Sqlite(_) => (SUPERSEDE_STALE_SQLITE, CLAIM_SQLITE),
        };
        on_db!(self, |pool, sql, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let stale = sqlx::query(sql(stale))
                .bind(ms(now))
                .fetch_all(&mut *tx)
                .await?;
            for row in stale {
                let (id, group_key, integration, state): (i64, String, String, String) = (
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                );
                let e = superseded_event(now, &group_key, &integration, id, &state);
                super::history::insert_history!(&mut *tx, sql, &e)?;
            }
            let rows = sqlx::query(sql(claim))
                .bind(owner)
                .bind(ms(lease_until))
                .bind(ms(now))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            let mut out = Vec::new();
            for row in rows {
                let payload: String = row.try_get(5)?;
                out.push(OutboxRow {
                    id: row.try_get(0)?,
                    created_at: row.try_get(1)?,
                    group_key: row.try_get(2)?,
                    integration: row.try_get(3)?,
                    receiver: row.try_get(4)?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| DbError::Corrupt(e.to_string()))?,
                    attempts: row.try_get(6)?,
                    state: row.try_get(7)?,
                });
            }
            out.sort_by_key(|r| r.id);
            Ok(out)
        })
    }

    /// Records delivery outcomes of rows `owner` claimed, each with its
    /// history event, in one transaction. Rows whose lease was lost are
    /// left alone (their new owner records them); returns how many.
    async fn record_outcomes(&self, owner: &str, outcomes: &[Outcome]) -> Result<usize, DbError> {
        if outcomes.is_empty() {
            return Ok(0);
        }
        on_db!(self, |pool, sql, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let mut lost = 0;
            for o in outcomes {
                let r = match &o.result {
                    RowResult::Done { status, at, error } => {
                        sqlx::query(sql(DONE))
                            .bind(o.id)
                            .bind(owner)
                            .bind(status.as_str())
                            .bind(ms(*at))
                            .bind(error.as_deref())
                            .execute(&mut *tx)
                            .await?
                    }
                    RowResult::Retry { next, error } => {
                        sqlx::query(sql(RETRY))
                            .bind(o.id)
                            .bind(owner)
                            .bind(ms(*next))
                            .bind(error)
                            .execute(&mut *tx)
                            .await?
                    }
                };
                if r.rows_affected() != 1 {
                    lost += 1;
                    continue;
                }
                let e = &o.event;
                super::history::insert_history!(&mut *tx, sql, e)?;
            }
            tx.commit().await?;
            Ok(lost)
        })
    }

    /// Moves the end of every lease `owner` holds to `until` (while its
    /// sends are in progress).
    async fn renew_leases(&self, owner: &str, until: DateTime<Utc>) -> Result<u64, DbError> {
        on_db!(self, |pool, sql, _begin| {
            let r = sqlx::query(sql(RENEW))
                .bind(owner)
                .bind(ms(until))
                .execute(pool)
                .await?;
            Ok(r.rows_affected())
        })
    }

    /// Frees the leases `owner` holds (a clean shutdown, or a restart
    /// under the same instance name), so its rows need not wait for the
    /// lease to run out.
    async fn release_leases(&self, owner: &str) -> Result<u64, DbError> {
        on_db!(self, |pool, sql, _begin| {
            let r = sqlx::query(sql(RELEASE)).bind(owner).execute(pool).await?;
            Ok(r.rows_affected())
        })
    }

    /// When the next pending row is due.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, DbError> {
        on_db!(self, |pool, sql, _begin| {
            let row = sqlx::query(sql(NEXT_DUE)).fetch_one(pool).await?;
            let v: Option<i64> = row.try_get(0)?;
            Ok(v.map(from_ms))
        })
    }

    /// Every row, oldest first (tests, `vigil alerts history`).
    async fn outbox_list(&self) -> Result<Vec<OutboxStatus>, DbError> {
        on_db!(self, |pool, sql, _begin| {
            let mut out = Vec::new();
            for row in sqlx::query(sql(LIST)).fetch_all(pool).await? {
                out.push(OutboxStatus {
                    id: row.try_get(0)?,
                    integration: row.try_get(1)?,
                    status: row
                        .try_get::<String, _>(2)?
                        .parse()
                        .map_err(|e: UnknownWord| DbError::Corrupt(e.to_string()))?,
                    attempts: row.try_get(3)?,
                    last_error: row.try_get(4)?,
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tables::HistoryStore;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn event(status: &str) -> HistoryEvent {
        HistoryEvent {
            at: t(0),
            kind: crate::notify::status::HistoryKind::Notification,
            fingerprint: String::new(),
            labels: String::new(),
            group_key: "g".into(),
            integration: "r/webhook/0".into(),
            status: status.parse().unwrap(),
            detail: String::new(),
            state: "firing".into(),
        }
    }

    /// An instance that claimed a row and died (no mark, no release):
    /// nobody else takes the row while the lease runs; then another
    /// instance does, and the dead owner's late mark is refused.
    #[tokio::test]
    async fn a_dead_owners_lease_runs_out_and_its_late_mark_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(&dir.path().join("v.db")).await.unwrap();
        let entry = LogEntry {
            firing: BTreeSet::from([1]),
            resolved: BTreeSet::new(),
            at: t(0),
        };
        let ids = db
            .flush_groups(&["g".into()], t(0), |logs| {
                assert!(logs["g"].is_empty());
                let n = NewNotification {
                    group_key: "g".into(),
                    integration: "r/webhook/0".into(),
                    receiver: "r".into(),
                    payload: Some(serde_json::json!({"x": 1})),
                    entry: entry.clone(),
                    state: "firing".into(),
                };
                (vec![n], vec![event("queued")])
            })
            .await
            .unwrap();
        assert_eq!(ids.len(), 1);
        let a = db.claim_due("a", t(1), t(61), 10).await.unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].payload, serde_json::json!({"x": 1}));
        assert!(
            db.claim_due("b", t(30), t(90), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let b = db.claim_due("b", t(62), t(122), 10).await.unwrap();
        assert_eq!(b.len(), 1, "the lease ran out");
        let done = |status: &str| Outcome {
            id: ids[0],
            result: RowResult::Done {
                status: status.parse().unwrap(),
                at: t(63),
                error: None,
            },
            event: event(status),
        };
        assert_eq!(
            db.record_outcomes("a", &[done("delivered")]).await.unwrap(),
            1
        );
        assert_eq!(
            db.record_outcomes("b", &[done("delivered")]).await.unwrap(),
            0
        );
        let rows = db.outbox_list().await.unwrap();
        assert_eq!(
            (rows[0].status.as_str(), rows[0].attempts),
            ("delivered", 1)
        );
        // The log entry was written with the row, in the same transaction.
        db.flush_groups(&["g".into()], t(70), |logs| {
            assert_eq!(logs["g"]["r/webhook/0"], entry);
            (vec![], vec![])
        })
        .await
        .unwrap();
    }

    /// Writes one notification of group `g` to `r/webhook/0`.
    async fn queue(db: &Db, at: i64, x: i64) -> i64 {
        let entry = LogEntry {
            firing: BTreeSet::from([1]),
            resolved: BTreeSet::new(),
            at: t(at),
        };
        let ids = db
            .flush_groups(&["g".into()], t(at), |_| {
                let n = NewNotification {
                    group_key: "g".into(),
                    integration: "r/webhook/0".into(),
                    receiver: "r".into(),
                    payload: Some(serde_json::json!({ "x": x })),
                    entry,
                    state: "firing".into(),
                };
                (vec![n], vec![])
            })
            .await
            .unwrap();
        ids[0]
    }

    /// A newer notification of a group replaces an older one still
    /// waiting; one being sent is not taken back, but the newer one waits
    /// until its outcome is recorded, and if that outcome is a retry the
    /// older one is superseded then.
    #[tokio::test]
    async fn notifications_of_a_group_go_out_in_order_newest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(&dir.path().join("v.db")).await.unwrap();
        let first = queue(&db, 0, 1).await;
        let second = queue(&db, 1, 2).await;
        let got = db.claim_due("a", t(2), t(12), 10).await.unwrap();
        assert_eq!(got.iter().map(|r| r.id).collect::<Vec<_>>(), vec![second]);
        let status =
            |rows: &[OutboxStatus], id: i64| rows.iter().find(|r| r.id == id).unwrap().status;
        assert_eq!(
            status(&db.outbox_list().await.unwrap(), first),
            "superseded"
        );

        // `second` is being sent by a; a third comes meanwhile.
        let third = queue(&db, 3, 3).await;
        assert!(db.claim_due("b", t(4), t(14), 10).await.unwrap().is_empty());
        let retry = Outcome {
            id: second,
            result: RowResult::Retry {
                next: t(5),
                error: "down".into(),
            },
            event: event("retry"),
        };
        assert_eq!(db.record_outcomes("a", &[retry]).await.unwrap(), 0);
        let got = db.claim_due("b", t(6), t(16), 10).await.unwrap();
        assert_eq!(got.iter().map(|r| r.id).collect::<Vec<_>>(), vec![third]);
        assert_eq!(
            status(&db.outbox_list().await.unwrap(), second),
            "superseded"
        );
        let h = db.history(&Default::default()).await.unwrap();
        assert_eq!(h.iter().filter(|e| e.status == "superseded").count(), 2);
    }
}
