//! The WAL directory, `pg_wal_segments` and `pg_wal_size_bytes`, as
//! postgres_exporter's `wal` collector reads them from `pg_ls_waldir()`:
//! segment files only (24 hex digits), not `.history` or `.partial` files.
//!
//! `pg_ls_waldir()` needs superuser, `pg_monitor` or an explicit grant. An
//! error would abort the scrape's transaction and with it every other
//! family, so the privilege is asked first (with the server's version, see
//! `server.rs`) and, without it, both families are left out (logged at
//! debug) rather than failing the target.

use sqlx::PgConnection;

use crate::metrics::Family;

pub(crate) async fn collect(
    conn: &mut PgConnection,
    allowed: bool,
) -> Result<Vec<Family>, sqlx::Error> {
    if !allowed {
        tracing::debug!("pg_ls_waldir() is not allowed for this user: no pg_wal_* families");
        return Ok(Vec::new());
    }
    let (segments, size): (f64, Option<f64>) = sqlx::query_as(
        "SELECT count(*)::float8, sum(size)::float8 FROM pg_ls_waldir() \
         WHERE name ~ '^[0-9A-F]{24}$'",
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut out = vec![Family::gauge("pg_wal_segments", "Number of WAL segments").single(segments)];
    // As upstream: no size when the directory is empty (SUM of nothing).
    if let Some(size) = size {
        out.push(Family::gauge("pg_wal_size_bytes", "Total size of WAL segments").single(size));
    }
    Ok(out)
}
