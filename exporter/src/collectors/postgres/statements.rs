//! Per-statement statistics from the `pg_stat_statements` extension, under
//! the names of postgres_exporter's `stat_statements` collector
//! (`pg_stat_statements_calls_total{user,datname,queryid}`, ...), which
//! community dashboards chart.
//!
//! Off unless the target sets `stat_statements: true`, as in
//! postgres_exporter: every distinct statement is a series. Only the
//! statements with the most execution time are kept (`stat_statements_limit`,
//! default 100), and nothing is collected when the extension is not
//! installed in the DSN's database (the view lives where `CREATE EXTENSION`
//! ran). PostgreSQL 17 renamed the block time columns to `shared_blk_*`.

use sqlx::PgConnection;

use super::columns::{self, Column};
use crate::metrics::{Family, MetricType::*};

/// How many statements are kept when the target does not say.
pub(crate) const DEFAULT_LIMIT: u32 = 100;

const UP_TO_16: &[Column] = &[
    Column::new(
        "calls_total",
        "s.calls",
        Counter,
        "Number of times executed",
    ),
    Column::new(
        "seconds_total",
        "s.total_exec_time / 1000.0",
        Counter,
        "Total time spent in the statement, in seconds",
    ),
    Column::new(
        "rows_total",
        "s.rows",
        Counter,
        "Total number of rows retrieved or affected by the statement",
    ),
    Column::new(
        "block_read_seconds_total",
        "s.blk_read_time / 1000.0",
        Counter,
        "Total time the statement spent reading blocks, in seconds",
    ),
    Column::new(
        "block_write_seconds_total",
        "s.blk_write_time / 1000.0",
        Counter,
        "Total time the statement spent writing blocks, in seconds",
    ),
];

const FROM_17: &[Column] = &[
    Column::new(
        "calls_total",
        "s.calls",
        Counter,
        "Number of times executed",
    ),
    Column::new(
        "seconds_total",
        "s.total_exec_time / 1000.0",
        Counter,
        "Total time spent in the statement, in seconds",
    ),
    Column::new(
        "rows_total",
        "s.rows",
        Counter,
        "Total number of rows retrieved or affected by the statement",
    ),
    Column::new(
        "block_read_seconds_total",
        "s.shared_blk_read_time / 1000.0",
        Counter,
        "Total time the statement spent reading blocks, in seconds",
    ),
    Column::new(
        "block_write_seconds_total",
        "s.shared_blk_write_time / 1000.0",
        Counter,
        "Total time the statement spent writing blocks, in seconds",
    ),
];

fn query(version: u32, limit: u32) -> (&'static [Column], String) {
    let table = if version >= 170000 { FROM_17 } else { UP_TO_16 };
    let sql = format!(
        "SELECT coalesce(pg_get_userbyid(s.userid)::text, '') AS \"user\", \
           coalesce(d.datname::text, '') AS datname, coalesce(s.queryid::text, '') AS queryid, {} \
         FROM pg_stat_statements s LEFT JOIN pg_database d ON d.oid = s.dbid \
         ORDER BY s.total_exec_time DESC LIMIT {limit}",
        columns::select_list(table, version)
    );
    (table, sql)
}

/// The statement families, or none when the extension is not installed in
/// this database.
pub(crate) async fn collect(
    conn: &mut PgConnection,
    version: u32,
    limit: u32,
) -> Result<Vec<Family>, sqlx::Error> {
    let installed: bool =
        sqlx::query_scalar("SELECT to_regclass('pg_stat_statements') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    if !installed {
        tracing::debug!("pg_stat_statements is not installed in this database");
        return Ok(Vec::new());
    }
    let (table, sql) = query(version, limit);
    let rows = sqlx::query(columns::audited(sql))
        .fetch_all(&mut *conn)
        .await?;
    columns::families(
        "pg_stat_statements",
        table,
        version,
        &["user", "datname", "queryid"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_times_follow_the_postgres_17_rename() {
        let (_, v16) = query(160000, 100);
        assert!(v16.contains("(s.blk_read_time / 1000.0)::float8"), "{v16}");
        let (_, v17) = query(170000, 7);
        assert!(v17.contains("s.shared_blk_write_time"), "{v17}");
        assert!(v17.ends_with("LIMIT 7"));
    }
}
