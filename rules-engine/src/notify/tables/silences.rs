//! Silences in SQL (table `silences`). Nothing is deleted: expiring a
//! silence rewrites its end, so the table is the audit trail.

use sqlx::Row;
use std::future::Future;

use super::outbox::ms;
use crate::clock::from_ms;
use crate::db::on_db;
use crate::db::{Db, DbError};
use crate::notify::silence::{Silence, SilenceMatcher};

const UPSERT: &str = "INSERT INTO silences (id, matchers, starts_at, ends_at, updated_at, created_by, comment) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, \
     starts_at = excluded.starts_at, ends_at = excluded.ends_at, updated_at = excluded.updated_at, \
     created_by = excluded.created_by, comment = excluded.comment";
const SELECT: &str = "SELECT id, matchers, starts_at, ends_at, updated_at, created_by, comment FROM silences \
     WHERE ($1 = '' OR id = $1) ORDER BY starts_at, id";

/// Silences, kept as an audit trail (nothing deleted).
/// Implemented for [`Db`] below, for SQLite and PostgreSQL alike.
pub trait SilenceStore: Send + Sync {
    fn save_silence(&self, s: &Silence) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Every silence (`id` empty), or the one with that id.
    fn silences(&self, id: &str) -> impl Future<Output = Result<Vec<Silence>, DbError>> + Send;
}

impl SilenceStore for Db {
    async fn save_silence(&self, s: &Silence) -> Result<(), DbError> {
        let matchers = serde_json::to_string(&s.matchers).unwrap_or_default();
        on_db!(self, |pool, sql, _begin| {
            sqlx::query(sql(UPSERT))
                .bind(&s.id)
                .bind(&matchers)
                .bind(ms(s.starts_at))
                .bind(ms(s.ends_at))
                .bind(ms(s.updated_at))
                .bind(&s.created_by)
                .bind(&s.comment)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Every silence (`id` empty), or the one with that id.
    async fn silences(&self, id: &str) -> Result<Vec<Silence>, DbError> {
        on_db!(self, |pool, sql, _begin| {
            let rows = sqlx::query(sql(SELECT)).bind(id).fetch_all(pool).await?;
            let mut out = Vec::new();
            for row in rows {
                let matchers: String = row.try_get(1)?;
                let matchers: Vec<SilenceMatcher> =
                    serde_json::from_str(&matchers).map_err(|e| DbError::Corrupt(e.to_string()))?;
                out.push(Silence {
                    id: row.try_get(0)?,
                    matchers,
                    starts_at: from_ms(row.try_get(2)?),
                    ends_at: from_ms(row.try_get(3)?),
                    updated_at: from_ms(row.try_get(4)?),
                    created_by: row.try_get(5)?,
                    comment: row.try_get(6)?,
                });
            }
            Ok(out)
        })
    }
}
