//! Alert state rows: each active (pending, firing, or resolved and still
//! retained) alert of an alerting rule, written after every evaluation and
//! read back at start. The rule stage owns this table: [`AlertStateStore`]
//! is what it needs, implemented here for both SQL backends.

use std::future::Future;

use sqlx::Row;

use crate::alert::{Alert, AlertState};
use crate::db::on_db;
use crate::db::{Db, DbError};
use crate::model::Labels;

/// An alert as stored, with the rule it belongs to.
pub type StoredAlert = Alert;

/// The key of a rule's alerts: file, group and rule name, so two groups
/// with a rule of the same name keep separate state.
pub fn rule_key(file: &str, group: &str, rule: &str) -> String {
    format!("{file}\u{1f}{group}\u{1f}{rule}")
}

// One statement text for both backends (`on_db!` respells `$N` for
// SQLite). A save is an upsert per alert plus one delete of the rule's
// alerts no longer held: two instances saving the same rule in the same
// instant cannot collide on the primary key (a delete-then-insert could:
// both delete nothing, then both insert).
const UPSERT: &str = "INSERT INTO alert_state (rule_key, labels_key, labels, annotations, state, value, \
     active_at, fired_at, resolved_at, last_sent_at, keep_firing_since) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (rule_key, labels_key) DO UPDATE SET labels = excluded.labels, \
     annotations = excluded.annotations, state = excluded.state, value = excluded.value, \
     active_at = excluded.active_at, fired_at = excluded.fired_at, resolved_at = excluded.resolved_at, \
     last_sent_at = excluded.last_sent_at, keep_firing_since = excluded.keep_firing_since";
/// `$2` is a JSON array of the label keys to keep.
const DELETE_OTHERS_PG: &str = "DELETE FROM alert_state WHERE rule_key = $1 \
     AND labels_key NOT IN (SELECT jsonb_array_elements_text($2::jsonb))";
const DELETE_OTHERS_SQLITE: &str = "DELETE FROM alert_state WHERE rule_key = $1 \
     AND labels_key NOT IN (SELECT value FROM json_each($2))";
const SELECT: &str = "SELECT labels, annotations, state, value, active_at, fired_at, resolved_at, \
     last_sent_at, keep_firing_since FROM alert_state WHERE rule_key = $1 ORDER BY labels_key";

fn pairs(l: &Labels) -> Vec<(String, String)> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// Binds one alert's columns to an insert, for either backend.
macro_rules! bind_alert {
    ($q:expr, $key:expr, $a:expr) => {{
        let a: &Alert = $a;
        let labels = serde_json::to_string(&pairs(&a.labels)).unwrap_or_default();
        let annotations = serde_json::to_string(&a.annotations).unwrap_or_default();
        $q.bind($key.to_string())
            .bind(a.labels.to_string())
            .bind(labels)
            .bind(annotations)
            .bind(a.state.as_str())
            .bind(a.value)
            .bind(a.active_at)
            .bind(a.fired_at)
            .bind(a.resolved_at)
            .bind(a.last_sent_at)
            .bind(a.keep_firing_since)
    }};
}

/// Reads one row, for either backend.
macro_rules! read_alert {
    ($row:expr) => {{
        let row = $row;
        let labels: String = row.try_get(0)?;
        let annotations: String = row.try_get(1)?;
        let state: String = row.try_get(2)?;
        let labels: Vec<(String, String)> =
            serde_json::from_str(&labels).map_err(|e| DbError::Corrupt(e.to_string()))?;
        Alert {
            labels: Labels::from_pairs(labels),
            annotations: serde_json::from_str(&annotations)
                .map_err(|e| DbError::Corrupt(e.to_string()))?,
            state: AlertState::parse(&state)
                .ok_or_else(|| DbError::Corrupt(format!("state {state:?}")))?,
            value: row.try_get(3)?,
            active_at: row.try_get(4)?,
            fired_at: row.try_get(5)?,
            resolved_at: row.try_get(6)?,
            last_sent_at: row.try_get(7)?,
            keep_firing_since: row.try_get(8)?,
        }
    }};
}

/// Where the rule stage keeps its alerts across restarts, keyed by
/// [`rule_key`].
pub trait AlertStateStore: Send + Sync {
    /// Makes the stored alerts of `rule` be `alerts`, atomically: upserts
    /// them and deletes the rule's other rows.
    fn save_alerts<'a>(
        &self,
        rule: &str,
        alerts: impl IntoIterator<Item = &'a Alert> + Send,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The stored alerts of `rule`, sorted by labels.
    fn load_alerts(&self, rule: &str) -> impl Future<Output = Result<Vec<Alert>, DbError>> + Send;
}

impl AlertStateStore for Db {
    async fn save_alerts<'a>(
        &self,
        rule: &str,
        alerts: impl IntoIterator<Item = &'a Alert> + Send,
    ) -> Result<(), DbError> {
        let delete = match self {
            Db::Postgres(_) => DELETE_OTHERS_PG,
            Db::Sqlite(_) => DELETE_OTHERS_SQLITE,
        };
        let alerts: Vec<&Alert> = alerts.into_iter().collect();
        let keep: Vec<String> = alerts.iter().map(|a| a.labels.to_string()).collect();
        let keep = serde_json::to_string(&keep).unwrap_or_else(|_| "[]".into());
        on_db!(self, |pool, sql, begin| {
            let mut tx = pool.begin_with(begin).await?;
            sqlx::query(sql(delete))
                .bind(rule)
                .bind(&keep)
                .execute(&mut *tx)
                .await?;
            for a in alerts {
                bind_alert!(sqlx::query(sql(UPSERT)), rule, a)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn load_alerts(&self, rule: &str) -> Result<Vec<Alert>, DbError> {
        on_db!(self, |pool, sql, _begin| {
            let mut out = Vec::new();
            for row in sqlx::query(sql(SELECT)).bind(rule).fetch_all(pool).await? {
                out.push(read_alert!(&row));
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, value: f64) -> Alert {
        Alert::new(
            Labels::from_pairs([("alertname", name)]),
            vec![],
            value,
            1000,
        )
    }

    /// A save replaces the rule's rows: kept alerts updated in place,
    /// others deleted, other rules untouched; saving twice is harmless.
    #[tokio::test]
    async fn saves_are_upserts_of_the_rules_alerts() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(&dir.path().join("v.db")).await.unwrap();
        db.save_alerts("r", [&alert("a", 1.0), &alert("b", 1.0)])
            .await
            .unwrap();
        db.save_alerts("other", [&alert("a", 5.0)]).await.unwrap();
        for _ in 0..2 {
            db.save_alerts("r", [&alert("b", 2.0)]).await.unwrap();
        }
        let got = db.load_alerts("r").await.unwrap();
        assert_eq!(got, vec![alert("b", 2.0)]);
        assert_eq!(
            db.load_alerts("other").await.unwrap(),
            vec![alert("a", 5.0)]
        );
        db.save_alerts("r", std::iter::empty()).await.unwrap();
        assert!(db.load_alerts("r").await.unwrap().is_empty());
    }
}
