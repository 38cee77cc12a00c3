//! Alert state rows: each active (pending, firing, or resolved and still
//! retained) alert of an alerting rule, written after every evaluation and
//! read back at start.

use sqlx::Row;

use super::{Db, DbError};
use crate::alert::{Alert, AlertState};
use crate::model::Labels;

/// An alert as stored, with the rule it belongs to.
pub type StoredAlert = Alert;

/// The key of a rule's alerts: file, group and rule name, so two groups
/// with a rule of the same name keep separate state.
pub fn rule_key(file: &str, group: &str, rule: &str) -> String {
    format!("{file}\u{1f}{group}\u{1f}{rule}")
}

const DELETE: &str = "DELETE FROM alert_state WHERE rule_key = $1";
const INSERT: &str = "INSERT INTO alert_state (rule_key, labels_key, labels, annotations, state, value, \
     active_at, fired_at, resolved_at, last_sent_at, keep_firing_since) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const SELECT: &str = "SELECT labels, annotations, state, value, active_at, fired_at, resolved_at, \
     last_sent_at, keep_firing_since FROM alert_state WHERE rule_key = $1 ORDER BY labels_key";

// SQLite spells positional parameters `?N`; sqlx 0.9 takes only static
// SQL, so each statement is written out for both backends.
const SQLITE_DELETE: &str = "DELETE FROM alert_state WHERE rule_key = ?1";
const SQLITE_INSERT: &str = "INSERT INTO alert_state (rule_key, labels_key, labels, annotations, state, value, \
     active_at, fired_at, resolved_at, last_sent_at, keep_firing_since) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
const SQLITE_SELECT: &str = "SELECT labels, annotations, state, value, active_at, fired_at, resolved_at, \
     last_sent_at, keep_firing_since FROM alert_state WHERE rule_key = ?1 ORDER BY labels_key";

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

impl Db {
    /// Replaces the stored alerts of `rule` with `alerts`, atomically.
    pub async fn save_alerts<'a>(
        &self,
        rule: &str,
        alerts: impl IntoIterator<Item = &'a Alert>,
    ) -> Result<(), DbError> {
        match self {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(SQLITE_DELETE)
                    .bind(rule)
                    .execute(&mut *tx)
                    .await?;
                for a in alerts {
                    bind_alert!(sqlx::query(SQLITE_INSERT), rule, a)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(DELETE).bind(rule).execute(&mut *tx).await?;
                for a in alerts {
                    bind_alert!(sqlx::query(INSERT), rule, a)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The stored alerts of `rule`, sorted by labels.
    pub async fn load_alerts(&self, rule: &str) -> Result<Vec<Alert>, DbError> {
        let mut out = Vec::new();
        match self {
            Db::Sqlite(pool) => {
                for row in sqlx::query(SQLITE_SELECT)
                    .bind(rule)
                    .fetch_all(pool)
                    .await?
                {
                    out.push(read_alert!(&row));
                }
            }
            Db::Postgres(pool) => {
                for row in sqlx::query(SELECT).bind(rule).fetch_all(pool).await? {
                    out.push(read_alert!(&row));
                }
            }
        }
        Ok(out)
    }
}
