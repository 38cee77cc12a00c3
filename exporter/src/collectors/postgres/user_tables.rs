//! Per-table and per-index statistics,
//! `pg_stat_user_tables_*{datname,schemaname,relname}`,
//! `pg_statio_user_tables_*{datname,schemaname,relname}` and
//! `pg_statio_user_indexes_*{datname,schemaname,relname,indexrelname}`,
//! under the names of postgres_exporter's `stat_user_tables`,
//! `statio_user_tables` and `statio_user_indexes` collectors (the last is
//! opt-in upstream, on here: the postgres mixin's dashboards chart it), and
//! the opt-in `pg_stat_user_indexes_*{datname,schemaname,relname,indexrelname}`.
//!
//! These views only show the tables of the database a session is
//! connected to, so each database needs its own connection: the DSN's
//! database always, every other database that accepts connections when the
//! target sets `auto_discover_databases`.

use super::batch::{Batch, Results, Row, Slot};
use super::columns::{self, Column};
use crate::metrics::{Family, MetricType::*};

const USER_TABLES: &[Column] = &[
    Column::new(
        "seq_scan",
        "seq_scan",
        Counter,
        "Number of sequential scans initiated on this table",
    ),
    Column::new(
        "seq_tup_read",
        "seq_tup_read",
        Counter,
        "Number of live rows fetched by sequential scans",
    ),
    Column::new(
        "idx_scan",
        "idx_scan",
        Counter,
        "Number of index scans initiated on this table",
    ),
    Column::new(
        "idx_tup_fetch",
        "idx_tup_fetch",
        Counter,
        "Number of live rows fetched by index scans",
    ),
    Column::new("n_tup_ins", "n_tup_ins", Counter, "Number of rows inserted"),
    Column::new("n_tup_upd", "n_tup_upd", Counter, "Number of rows updated"),
    Column::new("n_tup_del", "n_tup_del", Counter, "Number of rows deleted"),
    Column::new(
        "n_tup_hot_upd",
        "n_tup_hot_upd",
        Counter,
        "Number of rows HOT updated (i.e., with no separate index update required)",
    ),
    Column::new(
        "n_live_tup",
        "n_live_tup",
        Gauge,
        "Estimated number of live rows",
    ),
    Column::new(
        "n_dead_tup",
        "n_dead_tup",
        Gauge,
        "Estimated number of dead rows",
    ),
    Column::new(
        "n_mod_since_analyze",
        "n_mod_since_analyze",
        Gauge,
        "Estimated number of rows changed since last analyze",
    ),
    Column::new(
        "last_vacuum",
        "extract(epoch FROM last_vacuum)",
        Gauge,
        "Last time at which this table was manually vacuumed (not counting VACUUM FULL)",
    ),
    Column::new(
        "last_autovacuum",
        "extract(epoch FROM last_autovacuum)",
        Gauge,
        "Last time at which this table was vacuumed by the autovacuum daemon",
    ),
    Column::new(
        "last_analyze",
        "extract(epoch FROM last_analyze)",
        Gauge,
        "Last time at which this table was manually analyzed",
    ),
    Column::new(
        "last_autoanalyze",
        "extract(epoch FROM last_autoanalyze)",
        Gauge,
        "Last time at which this table was analyzed by the autovacuum daemon",
    ),
    Column::new(
        "vacuum_count",
        "vacuum_count",
        Counter,
        "Number of times this table has been manually vacuumed (not counting VACUUM FULL)",
    ),
    Column::new(
        "autovacuum_count",
        "autovacuum_count",
        Counter,
        "Number of times this table has been vacuumed by the autovacuum daemon",
    ),
    Column::new(
        "analyze_count",
        "analyze_count",
        Counter,
        "Number of times this table has been manually analyzed",
    ),
    Column::new(
        "autoanalyze_count",
        "autoanalyze_count",
        Counter,
        "Number of times this table has been analyzed by the autovacuum daemon",
    ),
    Column::new(
        "index_size_bytes",
        "pg_indexes_size(relid)",
        Gauge,
        "Total disk space used by the indexes on this table, in bytes",
    ),
    Column::new(
        "table_size_bytes",
        "pg_table_size(relid)",
        Gauge,
        "Total disk space used by this table, in bytes",
    ),
];

/// `pg_statio_user_tables`, under postgres_exporter 0.20's
/// `statio_user_tables` names (`blocks`, not the view's `blks`), `NULL`
/// (a table without an index or TOAST table) as 0, as upstream does: the
/// cache-hit ratio rules of the postgres mixin sum these.
const STATIO_USER_TABLES: &[Column] = &[
    Column::new(
        "heap_blocks_read",
        "coalesce(heap_blks_read, 0)",
        Counter,
        "Number of disk blocks read from this table",
    ),
    Column::new(
        "heap_blocks_hit",
        "coalesce(heap_blks_hit, 0)",
        Counter,
        "Number of buffer hits in this table",
    ),
    Column::new(
        "idx_blocks_read",
        "coalesce(idx_blks_read, 0)",
        Counter,
        "Number of disk blocks read from all indexes on this table",
    ),
    Column::new(
        "idx_blocks_hit",
        "coalesce(idx_blks_hit, 0)",
        Counter,
        "Number of buffer hits in all indexes on this table",
    ),
    Column::new(
        "toast_blocks_read",
        "coalesce(toast_blks_read, 0)",
        Counter,
        "Number of disk blocks read from this table's TOAST table (if any)",
    ),
    Column::new(
        "toast_blocks_hit",
        "coalesce(toast_blks_hit, 0)",
        Counter,
        "Number of buffer hits in this table's TOAST table (if any)",
    ),
    Column::new(
        "tidx_blocks_read",
        "coalesce(tidx_blks_read, 0)",
        Counter,
        "Number of disk blocks read from this table's TOAST table indexes (if any)",
    ),
    Column::new(
        "tidx_blocks_hit",
        "coalesce(tidx_blks_hit, 0)",
        Counter,
        "Number of buffer hits in this table's TOAST table indexes (if any)",
    ),
];

const USER_INDEXES: &[Column] = &[
    Column::new(
        "idx_blks_read_total",
        "idx_blks_read",
        Counter,
        "Number of disk blocks read from this index",
    ),
    Column::new(
        "idx_blks_hit_total",
        "idx_blks_hit",
        Counter,
        "Number of buffer hits in this index",
    ),
];

/// `pg_stat_user_indexes`, the opt-in `stat_user_indexes` collector.
/// postgres_exporter has none (its pull request #1071 proposed one and was
/// closed); the names are that proposal's, the types those of the view's
/// columns: `idx_scan` the scans that used the index (0 over weeks: an
/// index that only costs writes), the tuples read and fetched through it,
/// and from PostgreSQL 16 the time of its last scan.
const STAT_USER_INDEXES: &[Column] = &[
    Column::new(
        "idx_scan_total",
        "idx_scan",
        Counter,
        "Number of index scans initiated on this index",
    ),
    Column::new(
        "idx_tup_read",
        "idx_tup_read",
        Counter,
        "Number of index entries returned by scans on this index",
    ),
    Column::new(
        "idx_tup_fetch",
        "idx_tup_fetch",
        Counter,
        "Number of live table rows fetched by simple index scans using this index",
    ),
    Column::new(
        "last_idx_scan",
        "extract(epoch FROM last_idx_scan)",
        Gauge,
        "The time of the last scan on this index, in seconds since the epoch",
    )
    .since(160000),
];

/// Where the per-table statements' rows will be in a batch.
pub(crate) struct Plan {
    version: u32,
    tables: Slot,
    indexes: Slot,
    /// Whether the indexes' rows also carry `STAT_USER_INDEXES`.
    stat_indexes: bool,
}

const TABLE_LABELS: &[&str] = &["datname", "schemaname", "relname"];
const INDEX_LABELS: &[&str] = &["datname", "schemaname", "relname", "indexrelname"];

/// Adds the statements for the database the batch's connection is
/// connected to; `stat_user_indexes` for the opt-in collector.
pub(crate) fn plan(batch: &mut Batch, version: u32, stat_user_indexes: bool) -> Plan {
    // Both views in one statement: they have a row per user table, joined
    // on its OID.
    let tables = format!(
        "SELECT current_database()::text AS datname, s.schemaname::text AS schemaname, \
           s.relname::text AS relname, {}, {} \
         FROM pg_stat_user_tables s JOIN pg_statio_user_tables USING (relid) ORDER BY 2, 3",
        columns::select_list(USER_TABLES, version),
        columns::select_list(STATIO_USER_TABLES, version)
    );
    // Both index views in one statement too, when both are read: they
    // have a row per user index (the same filter on the same joins).
    let (index_columns, view): (&[&[Column]], _) = if stat_user_indexes {
        (
            &[USER_INDEXES, STAT_USER_INDEXES],
            "pg_statio_user_indexes s JOIN pg_stat_user_indexes USING (indexrelid)",
        )
    } else {
        (&[USER_INDEXES], "pg_statio_user_indexes s")
    };
    let select: Vec<String> = index_columns
        .iter()
        .map(|c| columns::select_list(c, version))
        .collect();
    let indexes = format!(
        "SELECT current_database()::text AS datname, s.schemaname::text AS schemaname, \
           s.relname::text AS relname, s.indexrelname::text AS indexrelname, {} \
         FROM {view} ORDER BY 2, 3, 4",
        select.join(", ")
    );
    Plan {
        version,
        tables: batch.add(
            &tables,
            columns::names(TABLE_LABELS, &[USER_TABLES, STATIO_USER_TABLES], version),
        ),
        indexes: batch.add(
            &indexes,
            columns::names(INDEX_LABELS, index_columns, version),
        ),
        stat_indexes: stat_user_indexes,
    }
}

impl Plan {
    pub(crate) fn decode(&self, results: &Results) -> Result<Vec<Family>, sqlx::Error> {
        let version = self.version;
        let rows = results.rows(self.tables);
        let mut out = columns::families(
            "pg_stat_user_tables",
            USER_TABLES,
            version,
            TABLE_LABELS,
            rows,
        )?;
        out.extend(columns::families(
            "pg_statio_user_tables",
            STATIO_USER_TABLES,
            version,
            TABLE_LABELS,
            rows,
        )?);
        let indexes = results.rows(self.indexes);
        out.extend(columns::families(
            "pg_statio_user_indexes",
            USER_INDEXES,
            version,
            INDEX_LABELS,
            indexes,
        )?);
        if self.stat_indexes {
            out.extend(columns::families(
                "pg_stat_user_indexes",
                STAT_USER_INDEXES,
                version,
                INDEX_LABELS,
                indexes,
            )?);
        }
        Ok(out)
    }
}

/// The statement listing the databases other than the connected one worth
/// connecting to: those that accept connections and are not templates;
/// [`discovered`] leaves out the excluded ones.
pub(crate) const DISCOVER: &str = "SELECT datname::text AS datname FROM pg_database \
     WHERE datallowconn AND NOT datistemplate AND datname <> current_database() \
     ORDER BY 1";

/// The names [`DISCOVER`] found, without those in `exclude`.
pub(crate) fn discovered(rows: &[Row], exclude: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let mut names = Vec::with_capacity(rows.len());
    for row in rows {
        let name = row.text("datname")?.unwrap_or_default();
        if !exclude.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Appends `more`'s samples to the family of the same name in `into` (the
/// same family collected from several databases is still one family).
pub(crate) fn merge(into: &mut Vec<Family>, more: Vec<Family>) {
    for family in more {
        match into.iter_mut().find(|f| f.name == family.name) {
            Some(existing) => existing.samples.extend(family.samples),
            None => into.push(family),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_one_family_per_name() {
        let mut a = vec![Family::counter("x", "X").single(1.0)];
        merge(
            &mut a,
            vec![
                Family::counter("x", "X").single(2.0),
                Family::gauge("y", "Y").single(3.0),
            ],
        );
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].samples.len(), 2);
        assert_eq!(a[1].name, "y");
    }
}
