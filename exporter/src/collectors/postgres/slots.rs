//! Replication slots under the names of postgres_exporter 0.20's
//! `replication_slots` collector:
//!
//! - `pg_replication_slots_active{database,slot_name}` and
//!   `pg_replication_slots_pg_wal_lsn_diff{database,slot_name}`: whether a
//!   slot is in use, and the WAL it holds back on this server in bytes (from
//!   its `restart_lsn` to the current position). A slot whose standby is
//!   gone keeps every WAL segment until the disk fills, the classic way a
//!   primary dies of its replication: these two are what to alert on.
//! - `pg_replication_slots_slot_*{slot_name,slot_type}`, the LSNs,
//!   `safe_wal_size_bytes` and `wal_status` (13+).
//!
//! As upstream: `slot_confirmed_flush_lsn` only for active slots (0 for a
//! physical one), `pg_wal_lsn_diff` only when `restart_lsn` is set,
//! `safe_wal_size_bytes` only when `max_slot_wal_keep_size` gives one, and
//! `database` empty for physical slots.

use super::batch::{Batch, Results, Row, Slot};
use super::columns::{self, Column};
use crate::metrics::{Family, MetricType::*, Sample};

/// On a standby the local WAL position is what it has received.
const CURRENT_LSN: &str = "CASE WHEN pg_is_in_recovery() \
     THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) \
     ELSE pg_current_wal_lsn() END";

const PREFIX: &str = "pg_replication_slots";

/// Families labelled `{slot_name,slot_type}`.
const BY_TYPE: &[Column] = &[
    Column::new("slot_is_active", "CASE WHEN s.active THEN 1 ELSE 0 END", Gauge, "whether the replication slot is active or not"),
    Column::new("slot_current_wal_lsn", "pg_wal_lsn_diff(w.cur, '0/0')", Gauge, "current wal lsn value"),
    Column::new("slot_confirmed_flush_lsn", "CASE WHEN s.active THEN coalesce(pg_wal_lsn_diff(s.confirmed_flush_lsn, '0/0'), 0) END", Gauge, "last lsn confirmed flushed to the replication slot"),
    Column::new("safe_wal_size_bytes", "s.safe_wal_size", Gauge, "number of bytes that can be written to WAL such that this slot is not in danger of getting in state lost").since(130000),
];

/// Families labelled `{database,slot_name}`.
const BY_DATABASE: &[Column] = &[
    Column::new(
        "active",
        "CASE WHEN s.active THEN 1 ELSE 0 END",
        Gauge,
        "Flag indicating if the slot is active",
    ),
    Column::new(
        "pg_wal_lsn_diff",
        "pg_wal_lsn_diff(w.cur, s.restart_lsn)",
        Gauge,
        "Replication lag in bytes: the WAL this slot keeps on the server, from its restart_lsn to the current position",
    ),
];

/// Families left out for a slot when PostgreSQL has no value for it.
const SKIP_NULL: &[&str] = &[
    "pg_replication_slots_slot_confirmed_flush_lsn",
    "pg_replication_slots_safe_wal_size_bytes",
    "pg_replication_slots_pg_wal_lsn_diff",
];

/// The statement for a server of `version`.
fn query(version: u32) -> String {
    // wal_status came with safe_wal_size in 13; older servers have neither.
    let wal_status = if version >= 130000 {
        "coalesce(s.wal_status, '')"
    } else {
        "''::text"
    };
    format!(
        "SELECT s.slot_name::text AS slot_name, coalesce(s.slot_type, '') AS slot_type, \
           coalesce(s.database::text, '') AS database, {wal_status} AS wal_status, {}, {} \
         FROM pg_replication_slots s CROSS JOIN (SELECT {CURRENT_LSN} AS cur) w ORDER BY 1",
        columns::select_list(BY_TYPE, version),
        columns::select_list(BY_DATABASE, version)
    )
}

/// Adds the statement for a server of `version` to `batch`.
pub(crate) fn plan(batch: &mut Batch, version: u32) -> Plan {
    Plan {
        version,
        slot: batch.add(
            &query(version),
            columns::names(
                &["slot_name", "slot_type", "database", "wal_status"],
                &[BY_TYPE, BY_DATABASE],
                version,
            ),
        ),
    }
}

/// Where the slots' rows will be in a batch.
pub(crate) struct Plan {
    version: u32,
    slot: Slot,
}

impl Plan {
    pub(crate) fn decode(&self, results: &Results) -> Result<Vec<Family>, sqlx::Error> {
        let (version, rows) = (self.version, results.rows(self.slot));
        let mut out =
            columns::families(PREFIX, BY_TYPE, version, &["slot_name", "slot_type"], rows)?;
        out.extend(columns::families(
            PREFIX,
            BY_DATABASE,
            version,
            &["database", "slot_name"],
            rows,
        )?);
        for family in out.iter_mut().filter(|f| SKIP_NULL.contains(&&*f.name)) {
            family.samples.retain(|s| !s.value.is_nan());
        }
        if version >= 130000 {
            out.push(wal_status(rows)?);
        }
        Ok(out)
    }
}

/// `pg_replication_slots_wal_status`: 1, with the state in a label.
fn wal_status(rows: &[Row]) -> Result<Family, sqlx::Error> {
    let mut status = Family::gauge(
        "pg_replication_slots_wal_status",
        "availability of WAL files claimed by this slot",
    );
    for row in rows {
        let labels = columns::text_labels(row, &["slot_name", "slot_type", "wal_status"])?;
        if labels
            .iter()
            .any(|(n, v)| n == "wal_status" && !v.is_empty())
        {
            status.samples.push(Sample {
                suffix: "",
                labels,
                value: 1.0,
            });
        }
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_status_and_safe_size_only_from_13() {
        let v12 = query(120000);
        assert!(!v12.contains("safe_wal_size") && v12.contains("''::text AS wal_status"));
        let v15 = query(150000);
        assert!(v15.contains("(s.safe_wal_size)::float8 AS \"safe_wal_size_bytes\""));
        assert!(v15.contains("AS \"pg_wal_lsn_diff\""), "{v15}");
    }
}
