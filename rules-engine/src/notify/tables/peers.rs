//! Shared alert state between instances on one database (tables
//! `notify_instances` and `notify_alert_views`): each instance heartbeats
//! and records, per alert fingerprint, until when it sees the alert firing
//! (the alert's end of validity; a resolved alert's end is in the past).
//! The dispatcher asks, before notifying a resolution, whether a live
//! peer still sees the alert firing; a peer whose heartbeat is older than
//! the peer timeout no longer counts, and a clean shutdown removes an
//! instance's rows at once.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::outbox::ms;
use crate::db::on_db;
use crate::db::{Db, DbError};

const HEARTBEAT: &str = "INSERT INTO notify_instances (instance, heartbeat_at) VALUES ($1, $2) \
     ON CONFLICT (instance) DO UPDATE SET heartbeat_at = excluded.heartbeat_at";
const VIEW: &str = "INSERT INTO notify_alert_views (instance, fingerprint, ends_at) VALUES ($1, $2, $3) \
     ON CONFLICT (instance, fingerprint) DO UPDATE SET ends_at = excluded.ends_at";
/// `$1` me, `$2` now, `$3` the oldest live heartbeat, `$4` a JSON array of
/// fingerprints.
const FIRING_PG: &str = "SELECT v.fingerprint, MAX(v.ends_at) FROM notify_alert_views v \
     JOIN notify_instances i ON i.instance = v.instance \
     WHERE v.instance <> $1 AND v.ends_at > $2 AND i.heartbeat_at >= $3 \
     AND v.fingerprint IN (SELECT jsonb_array_elements_text($4::text::jsonb)) GROUP BY v.fingerprint";
const FIRING_SQLITE: &str = "SELECT v.fingerprint, MAX(v.ends_at) FROM notify_alert_views v \
     JOIN notify_instances i ON i.instance = v.instance \
     WHERE v.instance <> $1 AND v.ends_at > $2 AND i.heartbeat_at >= $3 \
     AND v.fingerprint IN (SELECT value FROM json_each($4)) GROUP BY v.fingerprint";
const PRUNE_VIEWS: &str = "DELETE FROM notify_alert_views WHERE ends_at < $1";
const PRUNE_INSTANCES: &str = "DELETE FROM notify_instances WHERE heartbeat_at < $1";
const FORGET_VIEWS: &str = "DELETE FROM notify_alert_views WHERE instance = $1";
const FORGET_INSTANCE: &str = "DELETE FROM notify_instances WHERE instance = $1";

/// A fingerprint as stored (16 hex digits, as in the history).
pub fn fp_hex(fp: u64) -> String {
    format!("{fp:016x}")
}

/// The peers' shared views of alerts (PostgreSQL: several instances; SQLite:
/// one instance, nothing shared).
/// Implemented for [`Db`] below, for SQLite and PostgreSQL alike.
pub trait PeerStore: Send + Sync {
    /// Whether other instances can share this database (PostgreSQL).
    fn is_shared(&self) -> bool;

    /// Records that `instance` is alive at `now`, and drops what is long
    /// dead: views ended before `forget_before`, instances silent since.
    fn heartbeat(
        &self,
        instance: &str,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Records `instance`'s view of alerts: fingerprint and until when it
    /// sees each firing (milliseconds; in the past for a resolved one).
    fn write_views(
        &self,
        instance: &str,
        views: &[(u64, i64)],
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Of `fps`, those another instance with a heartbeat since `live_since`
    /// sees firing at `now`, each with the latest end any of them gives.
    fn firing_elsewhere(
        &self,
        instance: &str,
        fps: &[u64],
        now: DateTime<Utc>,
        live_since: DateTime<Utc>,
    ) -> impl Future<Output = Result<BTreeMap<u64, i64>, DbError>> + Send;

    /// Removes `instance`'s heartbeat and views (a clean shutdown: its view
    /// stops counting at once).
    fn forget_instance(&self, instance: &str) -> impl Future<Output = Result<(), DbError>> + Send;
}

impl PeerStore for Db {
    /// Whether other instances can share this database (PostgreSQL).
    fn is_shared(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// Records that `instance` is alive at `now`, and drops what is long
    /// dead: views ended before `forget_before`, instances silent since.
    async fn heartbeat(
        &self,
        instance: &str,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), DbError> {
        on_db!(self, |pool, sql, begin| {
            let mut tx = pool.begin_with(begin).await?;
            sqlx::query(sql(HEARTBEAT))
                .bind(instance)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
            for q in [PRUNE_VIEWS, PRUNE_INSTANCES] {
                sqlx::query(sql(q))
                    .bind(ms(forget_before))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Records `instance`'s view of alerts: fingerprint and until when it
    /// sees each firing (milliseconds; in the past for a resolved one).
    async fn write_views(&self, instance: &str, views: &[(u64, i64)]) -> Result<(), DbError> {
        if views.is_empty() {
            return Ok(());
        }
        on_db!(self, |pool, sql, begin| {
            let mut tx = pool.begin_with(begin).await?;
            for (fp, ends_at) in views {
                sqlx::query(sql(VIEW))
                    .bind(instance)
                    .bind(fp_hex(*fp))
                    .bind(*ends_at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Of `fps`, those another instance with a heartbeat since `live_since`
    /// sees firing at `now`, each with the latest end any of them gives.
    async fn firing_elsewhere(
        &self,
        instance: &str,
        fps: &[u64],
        now: DateTime<Utc>,
        live_since: DateTime<Utc>,
    ) -> Result<BTreeMap<u64, i64>, DbError> {
        if fps.is_empty() {
            return Ok(BTreeMap::new());
        }
        let q = match self {
            Db::Postgres(_) => FIRING_PG,
            Db::Sqlite(_) => FIRING_SQLITE,
        };
        let list: Vec<String> = fps.iter().map(|f| fp_hex(*f)).collect();
        let list = serde_json::to_string(&list).unwrap_or_else(|_| "[]".into());
        on_db!(self, |pool, sql, _begin| {
            let rows = sqlx::query(sql(q))
                .bind(instance)
                .bind(ms(now))
                .bind(ms(live_since))
                .bind(&list)
                .fetch_all(pool)
                .await?;
            let mut out = BTreeMap::new();
            for r in rows {
                let fp: String = r.try_get(0)?;
                let ends: i64 = r.try_get(1)?;
                let fp = u64::from_str_radix(&fp, 16)
                    .map_err(|e| DbError::Corrupt(format!("fingerprint {fp:?}: {e}")))?;
                out.insert(fp, ends);
            }
            Ok(out)
        })
    }

    /// Removes `instance`'s heartbeat and views (a clean shutdown: its view
    /// stops counting at once).
    async fn forget_instance(&self, instance: &str) -> Result<(), DbError> {
        on_db!(self, |pool, sql, begin| {
            let mut tx = pool.begin_with(begin).await?;
            for q in [FORGET_VIEWS, FORGET_INSTANCE] {
                sqlx::query(sql(q)).bind(instance).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    /// A peer's firing view counts while its heartbeat is live and the
    /// view has not ended; never one's own; a clean stop removes it.
    #[tokio::test]
    async fn peers_count_while_they_heartbeat() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(&dir.path().join("v.db")).await.unwrap();
        db.heartbeat("a", t(0), t(-3600)).await.unwrap();
        db.heartbeat("b", t(0), t(-3600)).await.unwrap();
        db.write_views("a", &[(1, ms(t(100))), (2, ms(t(-1)))])
            .await
            .unwrap();
        db.write_views("b", &[(1, ms(t(50)))]).await.unwrap();
        let got = db
            .firing_elsewhere("b", &[1, 2, 3], t(1), t(-10))
            .await
            .unwrap();
        assert_eq!(
            got,
            BTreeMap::from([(1, ms(t(100)))]),
            "2 is resolved in a's view"
        );
        assert!(
            db.firing_elsewhere("a", &[2], t(1), t(-10))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            db.firing_elsewhere("a", &[1], t(1), t(-10))
                .await
                .unwrap()
                .len(),
            1
        );
        // a stops heartbeating: it no longer counts
        assert!(
            db.firing_elsewhere("b", &[1], t(20), t(10))
                .await
                .unwrap()
                .is_empty()
        );
        db.forget_instance("b").await.unwrap();
        assert!(
            db.firing_elsewhere("a", &[1], t(1), t(-10))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
