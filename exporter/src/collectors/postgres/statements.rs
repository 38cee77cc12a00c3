//! Per-statement statistics from the `pg_stat_statements` extension, under
//! the names of postgres_exporter's `stat_statements` collector
//! (`pg_stat_statements_calls_total{user,datname,queryid}`, ...), which
//! community dashboards chart.
//!
//! Off unless the `stat_statements` collector is enabled (`collectors:`),
//! as in postgres_exporter: every distinct statement is a series. Only the
//! statements with the most execution time are kept (`stat_statements_limit`,
//! default 100). The view lives where `CREATE EXTENSION` ran: when the
//! DSN's database has none, nothing is collected and
//! `pg_scrape_collector_success{collector="stat_statements"}` is 0 (the
//! target stays up). PostgreSQL 17 renamed the block time columns to
//! `shared_blk_*`.
//! `stat_statements_include_query` adds upstream's
//! `pg_stat_statements_query_id{queryid,query}` (value 1), the statement's
//! text cut to `stat_statements_query_length` characters (120).

use super::batch::{Batch, Results, Slot};
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

/// What to read of `pg_stat_statements`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// How many statements, those with the most execution time.
    pub limit: u32,
    /// Also `pg_stat_statements_query_id{queryid,query}` with the
    /// statement's text cut to this many characters.
    pub query_length: Option<u32>,
}

/// postgres_exporter's default `--collector.stat_statements.query_length`.
pub(crate) const DEFAULT_QUERY_LENGTH: u32 = 120;

/// The label columns of the statement, before the numbers: `query` only
/// labels `pg_stat_statements_query_id`.
const LABELS: [&str; 4] = ["user", "datname", "queryid", "query"];

fn query(version: u32, options: Options) -> (&'static [Column], String) {
    let table = if version >= 170000 { FROM_17 } else { UP_TO_16 };
    let limit = options.limit;
    // An integer from the configuration: nothing else reaches the text.
    // Without the text, the function form is asked not to read it: the
    // view (`showtext` true) reads the whole query-text file, up to every
    // tracked statement's text, on each call, for rows that are then cut
    // to the top `limit` and never show it.
    let (text, showtext) = match options.query_length {
        Some(n) => (format!("left(s.query, {n})"), true),
        None => ("''".to_string(), false),
    };
    let sql = format!(
        "SELECT coalesce(pg_get_userbyid(s.userid)::text, '') AS \"user\", \
           coalesce(d.datname::text, '') AS datname, coalesce(s.queryid::text, '') AS queryid, \
           coalesce({text}, '') AS query, {} \
         FROM pg_stat_statements({showtext}) s LEFT JOIN pg_database d ON d.oid = s.dbid \
         ORDER BY s.total_exec_time DESC LIMIT {limit}",
        columns::select_list(table, version)
    );
    (table, sql)
}

/// Adds the statement for a server of `version` to `batch`. Only when the
/// extension is installed in the connected database (see `server::info`):
/// the statement would fail otherwise, and with it the whole batch.
pub(crate) fn plan(batch: &mut Batch, version: u32, options: Options) -> Plan {
    let (table, sql) = query(version, options);
    Plan {
        version,
        table,
        include_query: options.query_length.is_some(),
        slot: batch.add(&sql, columns::names(&LABELS, &[table], version)),
    }
}

/// Where the statements' rows will be in a batch.
pub(crate) struct Plan {
    version: u32,
    table: &'static [Column],
    include_query: bool,
    slot: Slot,
}

impl Plan {
    pub(crate) fn decode(&self, results: &Results) -> Result<Vec<Family>, sqlx::Error> {
        let rows = results.rows(self.slot);
        let mut out = columns::families(
            "pg_stat_statements",
            self.table,
            self.version,
            &LABELS[..3],
            rows,
        )?;
        if self.include_query {
            let mut texts = Family::counter(
                "pg_stat_statements_query_id",
                "SQL Query to queryid mapping",
            );
            let mut seen = std::collections::BTreeSet::new();
            for row in rows {
                let labels = columns::text_labels(row, &["queryid", "query"])?;
                // One statement text can be listed for several users/databases.
                if seen.insert(labels.clone()) {
                    texts.push(labels, 1.0);
                }
            }
            out.push(texts);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_times_follow_the_postgres_17_rename() {
        let options = |limit| Options {
            limit,
            query_length: None,
        };
        let (_, v16) = query(160000, options(100));
        assert!(v16.contains("(s.blk_read_time / 1000.0)::float8"), "{v16}");
        assert!(v16.contains("coalesce('', '') AS query"), "{v16}");
        let (_, v17) = query(170000, options(7));
        assert!(v17.contains("s.shared_blk_write_time"), "{v17}");
        assert!(v17.ends_with("LIMIT 7"));
        let (_, text) = query(
            150000,
            Options {
                limit: 5,
                query_length: Some(40),
            },
        );
        assert!(
            text.contains("coalesce(left(s.query, 40), '') AS query"),
            "{text}"
        );
    }
}
