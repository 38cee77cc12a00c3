//! Background writer, checkpointer and WAL archiver: `pg_stat_bgwriter_*`,
//! `pg_stat_checkpointer_*` (PostgreSQL 17+) and `pg_stat_archiver_*`.
//!
//! PostgreSQL 17 moved the checkpoint columns out of `pg_stat_bgwriter` into
//! `pg_stat_checkpointer` (renamed: `num_timed`, `num_requested`,
//! `buffers_written`) and dropped `buffers_backend` and
//! `buffers_backend_fsync` in favour of `pg_stat_io`. The contract names stay
//! postgres_exporter's, so on 17 and later each is read from where the fact
//! now lives; backend writes and fsyncs are the `pg_stat_io` sums over shared
//! relation buffers of every backend type except the checkpointer and the
//! background writer, which is what the old columns counted.

use super::batch::{Batch, Results, Slot};
use super::columns::{self, Column};
use crate::metrics::{Family, MetricType::*};

/// Up to PostgreSQL 16: everything in `pg_stat_bgwriter`.
const BGWRITER_16: &[Column] = &[
    Column::new(
        "checkpoints_timed_total",
        "checkpoints_timed",
        Counter,
        "Number of scheduled checkpoints that have been performed",
    ),
    Column::new(
        "checkpoints_req_total",
        "checkpoints_req",
        Counter,
        "Number of requested checkpoints that have been performed",
    ),
    Column::new(
        "checkpoint_write_time_total",
        "checkpoint_write_time",
        Counter,
        "Total amount of time that has been spent in the portion of checkpoint processing where files are written to disk, in milliseconds",
    ),
    Column::new(
        "checkpoint_sync_time_total",
        "checkpoint_sync_time",
        Counter,
        "Total amount of time that has been spent in the portion of checkpoint processing where files are synchronized to disk, in milliseconds",
    ),
    Column::new(
        "buffers_checkpoint_total",
        "buffers_checkpoint",
        Counter,
        "Number of buffers written during checkpoints",
    ),
    Column::new(
        "buffers_clean_total",
        "buffers_clean",
        Counter,
        "Number of buffers written by the background writer",
    ),
    Column::new(
        "maxwritten_clean_total",
        "maxwritten_clean",
        Counter,
        "Number of times the background writer stopped a cleaning scan because it had written too many buffers",
    ),
    Column::new(
        "buffers_backend_total",
        "buffers_backend",
        Counter,
        "Number of buffers written directly by a backend",
    ),
    Column::new(
        "buffers_backend_fsync_total",
        "buffers_backend_fsync",
        Counter,
        "Number of times a backend had to execute its own fsync call (normally the background writer handles those even when the backend does its own write)",
    ),
    Column::new(
        "buffers_alloc_total",
        "buffers_alloc",
        Counter,
        "Number of buffers allocated",
    ),
    Column::new(
        "stats_reset_total",
        "extract(epoch FROM b.stats_reset)",
        Counter,
        "Time at which these statistics were last reset",
    ),
];

/// From PostgreSQL 17: `b` is `pg_stat_bgwriter`, `c` `pg_stat_checkpointer`,
/// `io` the backend sums of `pg_stat_io` (see the module comment).
const BGWRITER_17: &[Column] = &[
    Column::new(
        "checkpoints_timed_total",
        "c.num_timed",
        Counter,
        "Number of scheduled checkpoints that have been performed",
    ),
    Column::new(
        "checkpoints_req_total",
        "c.num_requested",
        Counter,
        "Number of requested checkpoints that have been performed",
    ),
    Column::new(
        "checkpoint_write_time_total",
        "c.write_time",
        Counter,
        "Total amount of time that has been spent in the portion of checkpoint processing where files are written to disk, in milliseconds",
    ),
    Column::new(
        "checkpoint_sync_time_total",
        "c.sync_time",
        Counter,
        "Total amount of time that has been spent in the portion of checkpoint processing where files are synchronized to disk, in milliseconds",
    ),
    Column::new(
        "buffers_checkpoint_total",
        "c.buffers_written",
        Counter,
        "Number of buffers written during checkpoints",
    ),
    Column::new(
        "buffers_clean_total",
        "b.buffers_clean",
        Counter,
        "Number of buffers written by the background writer",
    ),
    Column::new(
        "maxwritten_clean_total",
        "b.maxwritten_clean",
        Counter,
        "Number of times the background writer stopped a cleaning scan because it had written too many buffers",
    ),
    Column::new(
        "buffers_backend_total",
        "io.writes",
        Counter,
        "Number of buffers written directly by a backend (from pg_stat_io)",
    ),
    Column::new(
        "buffers_backend_fsync_total",
        "io.fsyncs",
        Counter,
        "Number of times a backend had to execute its own fsync call (from pg_stat_io)",
    ),
    Column::new(
        "buffers_alloc_total",
        "b.buffers_alloc",
        Counter,
        "Number of buffers allocated",
    ),
    Column::new(
        "stats_reset_total",
        "extract(epoch FROM b.stats_reset)",
        Counter,
        "Time at which these statistics were last reset",
    ),
];

/// PostgreSQL 17's `pg_stat_checkpointer`, under postgres_exporter 0.20's
/// `stat_checkpointer` names (opt-in there; on here, since on 17 the
/// checkpoint facts live nowhere else). Times in milliseconds, as upstream.
const CHECKPOINTER: &[Column] = &[
    Column::new(
        "num_timed_total",
        "num_timed",
        Counter,
        "Number of scheduled checkpoints due to timeout",
    ),
    Column::new(
        "num_requested_total",
        "num_requested",
        Counter,
        "Number of requested checkpoints that have been performed",
    ),
    Column::new(
        "restartpoints_timed_total",
        "restartpoints_timed",
        Counter,
        "Number of scheduled restartpoints due to timeout or after a failed attempt to perform it",
    ),
    Column::new(
        "restartpoints_req_total",
        "restartpoints_req",
        Counter,
        "Number of requested restartpoints",
    ),
    Column::new(
        "restartpoints_done_total",
        "restartpoints_done",
        Counter,
        "Number of restartpoints that have been performed",
    ),
    Column::new(
        "write_time_total",
        "write_time",
        Counter,
        "Total amount of time that has been spent in the portion of processing checkpoints and restartpoints where files are written to disk, in milliseconds",
    ),
    Column::new(
        "sync_time_total",
        "sync_time",
        Counter,
        "Total amount of time that has been spent in the portion of processing checkpoints and restartpoints where files are synchronized to disk, in milliseconds",
    ),
    Column::new(
        "buffers_written_total",
        "buffers_written",
        Counter,
        "Number of buffers written during checkpoints and restartpoints",
    ),
    Column::new(
        "stats_reset_total",
        "extract(epoch FROM stats_reset)",
        Counter,
        "Time at which these statistics were last reset",
    ),
];

/// `pg_stat_archiver`: the counts, and the ages of the last archived and
/// the last failed WAL file, left out while there is none (as upstream
/// does for the first). With continuous WAL archiving as the backup, a
/// growing `last_archive_age` while WAL is written, or a recent
/// `last_failed_age`, means backups are falling behind.
const ARCHIVER: &[Column] = &[
    Column::new(
        "archived_count",
        "archived_count",
        Counter,
        "Number of WAL files that have been successfully archived",
    ),
    Column::new(
        "failed_count",
        "failed_count",
        Counter,
        "Number of failed attempts for archiving WAL files",
    ),
    Column::new(
        "last_archive_age",
        "extract(epoch FROM clock_timestamp() - last_archived_time)",
        Gauge,
        "Time in seconds since last WAL segment was successfully archived",
    ),
    Column::new(
        "last_failed_age",
        "extract(epoch FROM clock_timestamp() - last_failed_time)",
        Gauge,
        "Time in seconds since the last failed attempt to archive a WAL segment (vigil-exporter; absent when none failed)",
    ),
];

/// The column table and statement for a server of `version`.
fn bgwriter_query(version: u32) -> (&'static [Column], String) {
    if version >= 170000 {
        (
            BGWRITER_17,
            format!(
                "SELECT {} FROM pg_stat_bgwriter b, pg_stat_checkpointer c, \
                 (SELECT coalesce(sum(writes), 0) AS writes, coalesce(sum(fsyncs), 0) AS fsyncs \
                  FROM pg_stat_io WHERE object = 'relation' \
                  AND backend_type NOT IN ('checkpointer', 'background writer')) io",
                columns::select_list(BGWRITER_17, version)
            ),
        )
    } else {
        (
            BGWRITER_16,
            format!(
                "SELECT {} FROM pg_stat_bgwriter b",
                columns::select_list(BGWRITER_16, version)
            ),
        )
    }
}

/// Where the views' rows will be in a batch.
pub(crate) struct Plan {
    version: u32,
    table: &'static [Column],
    bgwriter: Slot,
    checkpointer: Option<Slot>,
    archiver: Slot,
}

/// Adds the statements for a server of `version` to `batch`.
pub(crate) fn plan(batch: &mut Batch, version: u32) -> Plan {
    let (table, sql) = bgwriter_query(version);
    let bgwriter = batch.add(&sql, columns::names(&[], &[table], version));
    let checkpointer = (version >= 170000).then(|| {
        let sql = format!(
            "SELECT {} FROM pg_stat_checkpointer",
            columns::select_list(CHECKPOINTER, version)
        );
        batch.add(&sql, columns::names(&[], &[CHECKPOINTER], version))
    });
    let sql = format!(
        "SELECT {} FROM pg_stat_archiver",
        columns::select_list(ARCHIVER, version)
    );
    Plan {
        version,
        table,
        bgwriter,
        checkpointer,
        archiver: batch.add(&sql, columns::names(&[], &[ARCHIVER], version)),
    }
}

impl Plan {
    pub(crate) fn decode(&self, results: &Results) -> Result<Vec<Family>, sqlx::Error> {
        let version = self.version;
        let mut out = columns::families(
            "pg_stat_bgwriter",
            self.table,
            version,
            &[],
            results.rows(self.bgwriter),
        )?;
        if let Some(slot) = self.checkpointer {
            out.extend(columns::families(
                "pg_stat_checkpointer",
                CHECKPOINTER,
                version,
                &[],
                results.rows(slot),
            )?);
        }
        let mut archiver = columns::families(
            "pg_stat_archiver",
            ARCHIVER,
            version,
            &[],
            results.rows(self.archiver),
        )?;
        for family in &mut archiver {
            family.samples.retain(|s| !s.value.is_nan());
        }
        out.extend(archiver);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_17_reads_the_checkpointer_and_io_views() {
        let (table, sql) = bgwriter_query(170002);
        assert!(sql.contains("pg_stat_checkpointer c") && sql.contains("pg_stat_io"));
        assert!(sql.contains("(c.num_timed)::float8 AS \"checkpoints_timed_total\""));
        assert!(!sql.contains("buffers_backend_fsync)"), "{sql}");
        let (older, sql16) = bgwriter_query(160004);
        assert!(!sql16.contains("pg_stat_checkpointer"));
        assert!(sql16.contains("(checkpoints_timed)::float8"));
        // The same contract families either way.
        let names = |t: &[Column]| t.iter().map(|c| c.name).collect::<Vec<_>>();
        assert_eq!(names(table), names(older));
        assert_eq!(table.len(), 11);
    }
}
