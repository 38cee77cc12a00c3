//! Per-database statistics: `pg_stat_database_*`,
//! `pg_stat_database_conflicts_*`, `pg_database_size_bytes`,
//! `pg_database_connection_limit` and `pg_database_wraparound_*`, with
//! postgres_exporter's labels (`datid`, `datname`).
//!
//! Types follow postgres_exporter 0.11 so that existing recording rules keep
//! their meaning: the columns it knew are counters (and `numbackends` a
//! gauge); the session columns PostgreSQL 14 added, and the checksum columns,
//! were unknown to it and are `untyped`. Times stay in milliseconds, as the
//! view has them and as postgres_exporter exports them.

use super::batch::{Batch, Results, Row, Slot};
use super::columns::{self, Column};
use super::frozen_sizes::{self, FrozenSizes};
use crate::metrics::{Family, MetricType::*};

/// Columns of `pg_stat_database`. `datid 0` is the row for shared catalogs
/// (PostgreSQL 12+), kept like postgres_exporter does, with `datname=""`.
const STAT_DATABASE: &[Column] = &[
    Column::new("numbackends", "numbackends", Gauge, "Number of backends currently connected to this database. This is the only column in this view that returns a value reflecting current state; all other columns return the accumulated values since the last reset."),
    Column::new("xact_commit", "xact_commit", Counter, "Number of transactions in this database that have been committed"),
    Column::new("xact_rollback", "xact_rollback", Counter, "Number of transactions in this database that have been rolled back"),
    Column::new("blks_read", "blks_read", Counter, "Number of disk blocks read in this database"),
    Column::new("blks_hit", "blks_hit", Counter, "Number of times disk blocks were found already in the buffer cache, so that a read was not necessary (this only includes hits in the PostgreSQL buffer cache, not the operating system's file system cache)"),
    Column::new("tup_returned", "tup_returned", Counter, "Number of rows returned by queries in this database"),
    Column::new("tup_fetched", "tup_fetched", Counter, "Number of rows fetched by queries in this database"),
    Column::new("tup_inserted", "tup_inserted", Counter, "Number of rows inserted by queries in this database"),
    Column::new("tup_updated", "tup_updated", Counter, "Number of rows updated by queries in this database"),
    Column::new("tup_deleted", "tup_deleted", Counter, "Number of rows deleted by queries in this database"),
    Column::new("conflicts", "conflicts", Counter, "Number of queries canceled due to conflicts with recovery in this database. (Conflicts occur only on standby servers; see pg_stat_database_conflicts for details.)"),
    Column::new("temp_files", "temp_files", Counter, "Number of temporary files created by queries in this database. All temporary files are counted, regardless of why the temporary file was created (e.g., sorting or hashing), and regardless of the log_temp_files setting."),
    Column::new("temp_bytes", "temp_bytes", Counter, "Total amount of data written to temporary files by queries in this database. All temporary files are counted, regardless of why the temporary file was created, and regardless of the log_temp_files setting."),
    Column::new("deadlocks", "deadlocks", Counter, "Number of deadlocks detected in this database"),
    Column::new("blk_read_time", "blk_read_time", Counter, "Time spent reading data file blocks by backends in this database, in milliseconds"),
    Column::new("blk_write_time", "blk_write_time", Counter, "Time spent writing data file blocks by backends in this database, in milliseconds"),
    Column::new("stats_reset", "extract(epoch FROM stats_reset)", Counter, "Time at which these statistics were last reset"),
    Column::new("checksum_failures", "checksum_failures", Untyped, "Number of data page checksum failures detected in this database (NaN when data checksums are not enabled)").since(120000),
    Column::new("checksum_last_failure", "extract(epoch FROM checksum_last_failure)", Untyped, "Time at which the last data page checksum failure was detected in this database, in seconds since the epoch").since(120000),
    Column::new("session_time", "session_time", Untyped, "Time spent by database sessions in this database, in milliseconds").since(140000),
    Column::new("active_time", "active_time", Untyped, "Time spent executing SQL statements in this database, in milliseconds").since(140000),
    Column::new("idle_in_transaction_time", "idle_in_transaction_time", Untyped, "Time spent idling while in a transaction in this database, in milliseconds").since(140000),
    Column::new("sessions", "sessions", Untyped, "Total number of sessions established to this database").since(140000),
    Column::new("sessions_abandoned", "sessions_abandoned", Untyped, "Number of database sessions to this database that were terminated because connection to the client was lost").since(140000),
    Column::new("sessions_fatal", "sessions_fatal", Untyped, "Number of database sessions to this database that were terminated by fatal errors").since(140000),
    Column::new("sessions_killed", "sessions_killed", Untyped, "Number of database sessions to this database that were terminated by operator intervention").since(140000),
    // postgres_exporter 0.20's name and unit for `active_time`; the untyped
    // milliseconds above stay for dashboards written against 0.11.
    Column::new("active_time_seconds_total", "active_time / 1000.0", Counter, "Time spent executing SQL statements in this database, in seconds").since(140000),
];

/// Columns of `pg_stat_database_conflicts` (no shared-catalog row there).
const CONFLICTS: &[Column] = &[
    Column::new(
        "confl_tablespace",
        "confl_tablespace",
        Counter,
        "Number of queries in this database that have been canceled due to dropped tablespaces",
    ),
    Column::new(
        "confl_lock",
        "confl_lock",
        Counter,
        "Number of queries in this database that have been canceled due to lock timeouts",
    ),
    Column::new(
        "confl_snapshot",
        "confl_snapshot",
        Counter,
        "Number of queries in this database that have been canceled due to old snapshots",
    ),
    Column::new(
        "confl_bufferpin",
        "confl_bufferpin",
        Counter,
        "Number of queries in this database that have been canceled due to pinned buffers",
    ),
    Column::new(
        "confl_deadlock",
        "confl_deadlock",
        Counter,
        "Number of queries in this database that have been canceled due to deadlocks",
    ),
    // Unknown to postgres_exporter's map, so untyped there.
    Column::new(
        "confl_active_logicalslot",
        "confl_active_logicalslot",
        Untyped,
        "Number of uses of logical slots in this database that have been canceled due to old snapshots or too low a wal_level on the primary",
    )
    .since(160000),
];

/// Columns of `pg_database`, one row per database (template0 included:
/// no connection is needed; its size comes from `frozen_sizes.rs` once
/// measured).
const DATABASE: &[Column] = &[
    Column::new(
        "size_bytes",
        frozen_sizes::SIZE_SQL,
        Gauge,
        "Disk space used by the database",
    ),
    Column::new(
        "connection_limit",
        "datconnlimit",
        Gauge,
        "Connection limit set for the database (-1: no limit)",
    ),
];

/// Transaction ID wraparound, under the names of postgres_exporter's
/// `database_wraparound` collector (opt-in there, always on here: one row
/// per database, and the age that forces an anti-wraparound shutdown is
/// worth an alert everywhere). The values are XID and multixact ages
/// despite the `_seconds` suffix upstream chose; the names are kept so its
/// rules work.
const WRAPAROUND: &[Column] = &[
    Column::new(
        "age_datfrozenxid_seconds",
        "age(datfrozenxid)",
        Gauge,
        "Age of the oldest transaction ID that has not been frozen (an XID count)",
    ),
    Column::new(
        "age_datminmxid_seconds",
        "mxid_age(datminmxid)",
        Gauge,
        "Age of the oldest multi-transaction ID that has been replaced with a transaction ID (a multixact count)",
    ),
];

/// Where the three views' rows will be in a batch.
pub(crate) struct Plan {
    version: u32,
    stat: Slot,
    conflicts: Slot,
    databases: Slot,
}

/// Adds the three views' statements to `batch`.
pub(crate) fn plan(batch: &mut Batch, version: u32) -> Plan {
    let stat = format!(
        "SELECT datid::text AS datid, datname::text AS datname, {} FROM pg_stat_database",
        columns::select_list(STAT_DATABASE, version)
    );
    let conflicts = format!(
        "SELECT datid::text AS datid, datname::text AS datname, {} FROM pg_stat_database_conflicts",
        columns::select_list(CONFLICTS, version)
    );
    let databases = format!(
        "SELECT datname::text AS datname, datallowconn, {} AS frozen_key, {}, {} FROM pg_database",
        frozen_sizes::KEY_SQL,
        columns::select_list(DATABASE, version),
        columns::select_list(WRAPAROUND, version)
    );
    let ids = &["datid", "datname"];
    Plan {
        version,
        stat: batch.add(&stat, columns::names(ids, &[STAT_DATABASE], version)),
        conflicts: batch.add(&conflicts, columns::names(ids, &[CONFLICTS], version)),
        databases: batch.add(
            &databases,
            columns::names(
                &["datname", "datallowconn", "frozen_key"],
                &[DATABASE, WRAPAROUND],
                version,
            ),
        ),
    }
}

impl Plan {
    /// The keys of the frozen databases the batch listed (see
    /// `frozen_sizes.rs`): their sizes come from the cache.
    pub(crate) fn frozen_keys<'r>(
        &self,
        results: &'r Results,
    ) -> Result<Vec<&'r str>, sqlx::Error> {
        let mut keys = Vec::new();
        for row in results.rows(self.databases) {
            keys.extend(row.str("frozen_key")?);
        }
        Ok(keys)
    }

    /// The families, with the sizes of frozen databases from `frozen`.
    pub(crate) fn decode(
        &self,
        results: &Results,
        frozen: &FrozenSizes,
    ) -> Result<Vec<Family>, sqlx::Error> {
        let version = self.version;
        let labels = &["datid", "datname"];
        let mut out = columns::families(
            "pg_stat_database",
            STAT_DATABASE,
            version,
            labels,
            results.rows(self.stat),
        )?;
        out.extend(columns::families(
            "pg_stat_database_conflicts",
            CONFLICTS,
            version,
            labels,
            results.rows(self.conflicts),
        )?);
        let rows = results.rows(self.databases);
        let mut databases =
            columns::families("pg_database", DATABASE, version, &["datname"], rows)?;
        // One size sample per row, in order; frozen rows take the cache's.
        let sizes = databases
            .iter_mut()
            .find(|f| f.name == "pg_database_size_bytes")
            .map_or(&mut [][..], |f| &mut f.samples[..]);
        for (sample, row) in sizes.iter_mut().zip(rows) {
            if let Some(key) = row.str("frozen_key")? {
                sample.value = frozen.get(key).unwrap_or(f64::NAN);
            }
        }
        out.extend(databases);
        // Upstream reads wraparound ages only for databases that accept
        // connections (template0 is frozen and never vacuumed).
        let allowed: Vec<&Row> = rows
            .iter()
            .filter(|row| row.flag("datallowconn").unwrap_or(false))
            .collect();
        out.extend(columns::families(
            "pg_database_wraparound",
            WRAPAROUND,
            version,
            &["datname"],
            allowed,
        )?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_columns_only_from_postgres_14() {
        let v13 = columns::select_list(STAT_DATABASE, 130012);
        let v14 = columns::select_list(STAT_DATABASE, 140009);
        assert!(!v13.contains("session_time") && v13.contains("checksum_failures"));
        assert!(v14.contains("(sessions_killed)::float8 AS \"sessions_killed\""));
        assert_eq!(columns::available(STAT_DATABASE, 130012).count(), 19);
        assert_eq!(columns::available(STAT_DATABASE, 170000).count(), 27);
    }
}
