//! Creating, updating and expiring silences in SQL with Alertmanager's
//! rules, shared by the v2 API and the `vigil silence` commands:
//!
//! - a new silence gets a fresh id (UUID form);
//! - posting with an existing id updates it in place when only the end,
//!   the comment or the creator change on a silence that has not expired
//!   (and, if active, keeps its start); otherwise the old one is expired
//!   and a new one created, so the record of what was muted when stays;
//! - expiring sets the end to now; nothing is ever deleted.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};

use super::silence::{Silence, SilenceState};
use super::tables::SilenceStore;
use crate::db::DbError;
use crate::model::{Labels, Matcher};
use crate::notify::route::matchers::matches_all;

#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    #[error("silence not found")]
    NotFound,
    #[error("invalid silence: {0}")]
    Invalid(String),
    #[error("silence {0} already expired")]
    AlreadyExpired(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A fresh id in UUID v4 form. Ids need to be unique, not secret: a
/// digest of the time, the process and a counter is enough.
pub fn new_id(now: DateTime<Utc>) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = Md5::new();
    h.update(now.timestamp_nanos_opt().unwrap_or(0).to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let mut b: [u8; 16] = h.finalize().into();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Creates `s` (empty id) or updates it; returns the id now in force.
pub async fn save(
    db: &impl SilenceStore,
    mut s: Silence,
    now: DateTime<Utc>,
) -> Result<String, SilenceError> {
    s.updated_at = now;
    if s.id.is_empty() {
        s.validate(now).map_err(SilenceError::Invalid)?;
        s.id = new_id(now);
        db.save_silence(&s).await?;
        return Ok(s.id);
    }
    let old = db
        .silences(&s.id)
        .await?
        .into_iter()
        .next()
        .ok_or(SilenceError::NotFound)?;
    let state = old.state(now);
    if state == SilenceState::Active && s.starts_at < now {
        // An active silence's start is history; keep it.
        s.starts_at = old.starts_at;
    }
    s.validate(now).map_err(SilenceError::Invalid)?;
    let in_place = state != SilenceState::Expired
        && old.matchers == s.matchers
        && (state == SilenceState::Pending || old.starts_at == s.starts_at);
    if in_place {
        db.save_silence(&s).await?;
        return Ok(s.id);
    }
    if state != SilenceState::Expired {
        let mut old = old;
        old.expire(now);
        db.save_silence(&old).await?;
    }
    s.id = new_id(now);
    db.save_silence(&s).await?;
    Ok(s.id)
}

/// Expires a silence that has not expired yet.
pub async fn expire(
    db: &impl SilenceStore,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), SilenceError> {
    let mut s = db
        .silences(id)
        .await?
        .into_iter()
        .next()
        .ok_or(SilenceError::NotFound)?;
    if s.state(now) == SilenceState::Expired {
        return Err(SilenceError::AlreadyExpired(id.to_string()));
    }
    s.expire(now);
    db.save_silence(&s).await?;
    Ok(())
}

/// Silences whose equality matchers satisfy every `filter` matcher
/// (Alertmanager's `filter` on silences), expired ones included.
pub async fn list(
    db: &impl SilenceStore,
    filter: &[Matcher],
) -> Result<Vec<Silence>, SilenceError> {
    let all = db.silences("").await?;
    Ok(all
        .into_iter()
        .filter(|s| {
            let as_labels = Labels::from_pairs(
                s.matchers
                    .iter()
                    .filter(|m| !m.is_regex && m.is_equal)
                    .map(|m| (m.name.clone(), m.value.clone())),
            );
            matches_all(filter, &as_labels)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::notify::silence::SilenceMatcher;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn silence(value: &str, from: i64, to: i64) -> Silence {
        Silence {
            id: String::new(),
            matchers: vec![SilenceMatcher {
                name: "alertname".into(),
                value: value.into(),
                is_regex: false,
                is_equal: true,
            }],
            starts_at: t(from),
            ends_at: t(to),
            updated_at: t(from),
            created_by: "ops".into(),
            comment: "maintenance".into(),
        }
    }

    #[test]
    fn ids_look_like_uuids_and_differ() {
        let a = new_id(t(0));
        let b = new_id(t(0));
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[tokio::test]
    async fn update_in_place_or_replace_and_keep_history() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(&dir.path().join("v.db")).await.unwrap();
        let id = save(&db, silence("A", 0, 100), t(0)).await.unwrap();
        // Extending the end keeps the id.
        let mut s = silence("A", 0, 200);
        s.id = id.clone();
        assert_eq!(save(&db, s, t(10)).await.unwrap(), id);
        // Changing the matchers expires the old one and makes a new one.
        let mut s = silence("B", 0, 200);
        s.id = id.clone();
        let id2 = save(&db, s, t(20)).await.unwrap();
        assert_ne!(id2, id);
        let all = db.silences("").await.unwrap();
        assert_eq!(all.len(), 2);
        let old = all.iter().find(|s| s.id == id).unwrap();
        assert_eq!(old.state(t(20)), SilenceState::Expired);
        expire(&db, &id2, t(30)).await.unwrap();
        assert!(matches!(
            expire(&db, &id2, t(31)).await,
            Err(SilenceError::AlreadyExpired(_))
        ));
        assert!(matches!(
            expire(&db, "nope", t(31)).await,
            Err(SilenceError::NotFound)
        ));
        // Both kept for audit; the filter finds by matcher.
        let f = [Matcher::equal("alertname", "B")];
        let found = list(&db, &f).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, id2);
    }
}
