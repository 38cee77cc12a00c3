//! Running VACUUMs, `pg_stat_progress_vacuum_*{datname,relname}`, as
//! postgres_exporter 0.20's `stat_progress_vacuum` collector writes them:
//! one sample per running VACUUM (none when none runs), the phase as seven
//! `{phase}` samples with 1 on the current one, missing numbers as 0, and
//! `relname` the table's name in the connected database or its OID in
//! another (a name can only be resolved where the table lives).
//!
//! PostgreSQL 17 counts dead tuples in bytes and item ids; the two
//! `*_dead_tuples` families then carry `max_dead_tuple_bytes` and
//! `num_dead_item_ids`, the columns that took their place.

use super::batch::{Batch, Results, Slot};
use super::columns::{self, Column};
use crate::metrics::{Family, MetricType::*, labels};

/// The phases in the order of PostgreSQL's phase numbers, as upstream
/// labels them (the view's own `phase` text).
const PHASES: [&str; 7] = [
    "initializing",
    "scanning heap",
    "vacuuming indexes",
    "vacuuming heap",
    "cleaning up indexes",
    "truncating heap",
    "performing final cleanup",
];

const UP_TO_16: &[Column] = &[
    Column::new(
        "heap_blks",
        "p.heap_blks_total",
        Gauge,
        "Total number of heap blocks in the table being vacuumed.",
    ),
    Column::new(
        "heap_blks_scanned",
        "p.heap_blks_scanned",
        Gauge,
        "Number of heap blocks scanned so far.",
    ),
    Column::new(
        "heap_blks_vacuumed",
        "p.heap_blks_vacuumed",
        Gauge,
        "Number of heap blocks vacuumed so far.",
    ),
    Column::new(
        "index_vacuums",
        "p.index_vacuum_count",
        Gauge,
        "Number of completed index vacuum cycles.",
    ),
    Column::new(
        "max_dead_tuples",
        "p.max_dead_tuples",
        Gauge,
        "Number of dead tuples that we can store before needing to perform an index vacuum cycle.",
    ),
    Column::new(
        "num_dead_tuples",
        "p.num_dead_tuples",
        Gauge,
        "Number of dead tuples collected since the last index vacuum cycle.",
    ),
];

const FROM_17: &[Column] = &[
    Column::new(
        "heap_blks",
        "p.heap_blks_total",
        Gauge,
        "Total number of heap blocks in the table being vacuumed.",
    ),
    Column::new(
        "heap_blks_scanned",
        "p.heap_blks_scanned",
        Gauge,
        "Number of heap blocks scanned so far.",
    ),
    Column::new(
        "heap_blks_vacuumed",
        "p.heap_blks_vacuumed",
        Gauge,
        "Number of heap blocks vacuumed so far.",
    ),
    Column::new(
        "index_vacuums",
        "p.index_vacuum_count",
        Gauge,
        "Number of completed index vacuum cycles.",
    ),
    Column::new(
        "max_dead_tuples",
        "p.max_dead_tuple_bytes",
        Gauge,
        "Amount of dead tuple data that we can store before needing to perform an index vacuum cycle (bytes, PostgreSQL 17+).",
    ),
    Column::new(
        "num_dead_tuples",
        "p.num_dead_item_ids",
        Gauge,
        "Number of dead item identifiers collected since the last index vacuum cycle.",
    ),
];

/// The label columns of the statement, before the numbers.
const LABELS: [&str; 3] = ["datname", "relname", "phase"];

fn query(version: u32) -> (&'static [Column], String) {
    let table = if version >= 170000 { FROM_17 } else { UP_TO_16 };
    let values = table
        .iter()
        .map(|c| format!("coalesce(({})::float8, 0) AS \"{}\"", c.sql, c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT coalesce(d.datname::text, 'unknown') AS datname, \
           CASE WHEN p.datid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             THEN p.relid::regclass::text ELSE p.relid::text END AS relname, \
           coalesce(p.phase, '') AS phase, {values} \
         FROM pg_stat_progress_vacuum p LEFT JOIN pg_database d ON d.oid = p.datid \
         ORDER BY 1, 2"
    );
    (table, sql)
}

/// Adds the statement for a server of `version` to `batch`.
pub(crate) fn plan(batch: &mut Batch, version: u32) -> Plan {
    let (table, sql) = query(version);
    Plan {
        table,
        slot: batch.add(&sql, columns::names(&LABELS, &[table], version)),
    }
}

/// Where the running VACUUMs' rows will be in a batch.
pub(crate) struct Plan {
    table: &'static [Column],
    slot: Slot,
}

pub(crate) fn decode(results: &Results, plan: &Plan) -> Result<Vec<Family>, sqlx::Error> {
    let (table, rows) = (plan.table, results.rows(plan.slot));
    let mut phase = Family::gauge(
        "pg_stat_progress_vacuum_phase",
        "Current vacuum phase (1 = active, 0 = inactive). Label 'phase' is human-readable.",
    );
    for row in rows {
        let names = columns::text_labels(row, &LABELS)?;
        let current = &names[2].1;
        for name in PHASES {
            let value = if name == current { 1.0 } else { 0.0 };
            phase.push(
                labels(&[
                    ("datname", &names[0].1),
                    ("relname", &names[1].1),
                    ("phase", name),
                ]),
                value,
            );
        }
    }
    let mut out = vec![phase];
    out.extend(columns::families(
        "pg_stat_progress_vacuum",
        table,
        0,
        &["datname", "relname"],
        rows,
    )?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_17_reads_the_renamed_dead_tuple_columns() {
        let (_, v16) = query(160000);
        assert!(v16.contains("p.num_dead_tuples") && !v16.contains("num_dead_item_ids"));
        let (t17, v17) = query(170000);
        assert!(v17.contains("coalesce((p.num_dead_item_ids)::float8, 0) AS \"num_dead_tuples\""));
        assert_eq!(t17.len(), 6);
    }
}
