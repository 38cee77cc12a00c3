//! Replication slots, `pg_replication_slot_*{slot_name,slot_type}`, under
//! the names of postgres_exporter's `replication_slot` collector, plus
//! `pg_replication_slot_wal_retained_bytes`: how much WAL a slot holds back
//! on this server. A slot whose standby is gone keeps every WAL segment from
//! its `restart_lsn` on until the disk fills, the classic way a primary
//! dies of its replication; this is the number to alert on, with
//! `pg_replication_slot_slot_is_active`.
//!
//! `confirmed_flush_lsn` (logical slots only) and `safe_wal_size` (only with
//! `max_slot_wal_keep_size` set) are left out when NULL, as
//! postgres_exporter does, rather than written as NaN.

use sqlx::PgConnection;

use super::columns::{self, Column};
use crate::metrics::{Family, MetricType::*, Sample};

/// On a standby the local WAL position is what it has received.
const CURRENT_LSN: &str = "CASE WHEN pg_is_in_recovery() \
     THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) \
     ELSE pg_current_wal_lsn() END";

const SLOTS: &[Column] = &[
    Column::new("slot_is_active", "CASE WHEN s.active THEN 1 ELSE 0 END", Gauge, "whether the replication slot is active or not"),
    Column::new("slot_current_wal_lsn", "pg_wal_lsn_diff(w.cur, '0/0')", Gauge, "current wal lsn value"),
    Column::new("slot_confirmed_flush_lsn", "pg_wal_lsn_diff(s.confirmed_flush_lsn, '0/0')", Gauge, "last lsn confirmed flushed to the replication slot"),
    Column::new("wal_retained_bytes", "pg_wal_lsn_diff(w.cur, s.restart_lsn)", Gauge, "Bytes of WAL this slot keeps on the server (from its restart_lsn to the current position)"),
    Column::new("safe_wal_size_bytes", "s.safe_wal_size", Gauge, "number of bytes that can be written to WAL such that this slot is not in danger of getting in state lost").since(130000),
];

/// Families left out for a slot when PostgreSQL has no value for it.
const SKIP_NULL: &[&str] = &[
    "pg_replication_slot_slot_confirmed_flush_lsn",
    "pg_replication_slot_safe_wal_size_bytes",
];

pub(crate) async fn collect(
    conn: &mut PgConnection,
    version: u32,
) -> Result<Vec<Family>, sqlx::Error> {
    // wal_status came with safe_wal_size in 13; older servers have neither.
    let wal_status = if version >= 130000 {
        "coalesce(s.wal_status, '')"
    } else {
        "''::text"
    };
    let sql = format!(
        "SELECT s.slot_name::text AS slot_name, coalesce(s.slot_type, '') AS slot_type, \
           {wal_status} AS wal_status, {} \
         FROM pg_replication_slots s CROSS JOIN (SELECT {CURRENT_LSN} AS cur) w ORDER BY 1",
        columns::select_list(SLOTS, version)
    );
    let rows = sqlx::query(columns::audited(sql))
        .fetch_all(&mut *conn)
        .await?;
    let mut out = columns::families(
        "pg_replication_slot",
        SLOTS,
        version,
        &["slot_name", "slot_type"],
        &rows,
    )?;
    for family in out
        .iter_mut()
        .filter(|f| SKIP_NULL.contains(&f.name.as_str()))
    {
        family.samples.retain(|s| !s.value.is_nan());
    }
    let mut status = Family::gauge(
        "pg_replication_slot_wal_status",
        "availability of WAL files claimed by this slot",
    );
    for row in &rows {
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
    out.push(status);
    Ok(out)
}
