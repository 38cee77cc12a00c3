//! The WAL directory, `pg_wal_segments` and `pg_wal_size_bytes`, as
//! postgres_exporter's `wal` collector reads them from `pg_ls_waldir()`:
//! segment files only (24 hex digits), not `.history` or `.partial` files.
//!
//! `pg_ls_waldir()` needs superuser, `pg_monitor` or an explicit grant. An
//! error would abort the scrape's transaction and with it every other
//! family, so the privilege is asked first (with the server's version, see
//! `server.rs`) and, without it, both families are left out (logged at
//! debug) rather than failing the target.

use super::batch::{Batch, Results, Slot};

use crate::metrics::Family;

/// Adds the statement to `batch` when the user may list the WAL
/// directory; nothing otherwise.
pub(crate) fn plan(batch: &mut Batch, allowed: bool) -> Option<Slot> {
    if !allowed {
        tracing::debug!("pg_ls_waldir() is not allowed for this user: no pg_wal_* families");
        return None;
    }
    Some(batch.add(
        "SELECT count(*)::float8 AS segments, sum(size)::float8 AS size FROM pg_ls_waldir() \
         WHERE name ~ '^[0-9A-F]{24}$'",
        ["segments", "size"],
    ))
}

pub(crate) fn decode(results: &Results, slot: Option<Slot>) -> Result<Vec<Family>, sqlx::Error> {
    let Some(slot) = slot else {
        return Ok(Vec::new());
    };
    let row = results.one(slot)?;
    let segments = row.float("segments")?;
    let size = row.optional_float("size")?;
    let mut out = vec![Family::gauge("pg_wal_segments", "Number of WAL segments").single(segments)];
    // As upstream: no size when the directory is empty (SUM of nothing).
    if let Some(size) = size {
        out.push(Family::gauge("pg_wal_size_bytes", "Total size of WAL segments").single(size));
    }
    Ok(out)
}
