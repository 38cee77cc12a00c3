//! The WAL directory, `pg_wal_segments` and `pg_wal_size_bytes`, as
//! postgres_exporter's `wal` collector reads them from `pg_ls_waldir()`:
//! segment files only (24 hex digits), not `.history` or `.partial` files.
//!
//! `pg_ls_waldir()` needs superuser, `pg_monitor` or an explicit grant. An
//! error would abort the scrape's transaction and with it every other
//! family, so the privilege is asked first (with the server's version, see
//! `server.rs`) and, without it, both families are left out (logged at
//! debug) rather than failing the target.

use sqlx::postgres::PgRow;

use super::columns;

use crate::metrics::Family;

/// The statement, for [`read`], when this user may call `pg_ls_waldir()`.
pub(crate) fn queries(allowed: bool) -> Vec<String> {
    if !allowed {
        tracing::debug!("pg_ls_waldir() is not allowed for this user: no pg_wal_* families");
        return Vec::new();
    }
    vec![
        "SELECT count(*)::float8 AS segments, sum(size)::float8 AS size FROM pg_ls_waldir() \
         WHERE name ~ '^[0-9A-F]{24}$'"
            .to_string(),
    ]
}

/// The families of the rows of [`queries`] (none when it had none).
pub(crate) fn read(_version: u32, sets: &[Vec<PgRow>]) -> Result<Vec<Family>, sqlx::Error> {
    let Some(row) = sets.first().and_then(|rows| rows.first()) else {
        return Ok(Vec::new());
    };
    let segments = columns::float(row, "segments")?;
    let mut out = vec![Family::gauge("pg_wal_segments", "Number of WAL segments").single(segments)];
    // As upstream: no size when the directory is empty (SUM of nothing).
    let size = columns::float(row, "size")?;
    if !size.is_nan() {
        out.push(Family::gauge("pg_wal_size_bytes", "Total size of WAL segments").single(size));
    }
    Ok(out)
}
