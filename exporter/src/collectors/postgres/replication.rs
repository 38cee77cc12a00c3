//! Streaming replication, seen from both ends.
//!
//! On every server: `pg_replication_is_replica`, and the replay delay as
//! `pg_replication_lag_seconds` and under postgres_exporter 0.11's older
//! name `pg_replication_lag`. 0.11 computes `now() -
//! pg_last_xact_replay_timestamp()` unconditionally, which grows forever on a
//! standby of an idle primary although nothing is left to replay. Here the
//! lag is 0 on a primary, 0 on a standby that has replayed everything it has
//! received, and only otherwise the age of the last replayed transaction:
//! the time the standby's data has been behind. A standby that has pending
//! WAL but has not replayed any transaction since it started has no replay
//! timestamp to count from; it reports 0 then (PostgreSQL cannot say more).
//! A standby cut off from its primary has received nothing new, so it too
//! shows 0 once it has replayed what it had: alert on
//! `pg_replication_wal_receiver_streaming == 0` (standbys only) for that,
//! or on the primary's per-standby series. `pg_replication_last_replay_seconds`
//! is the age of the last replayed transaction whatever the cause.
//!
//! On a server with standbys (a primary, or a cascading standby), one
//! series per standby from `pg_stat_replication`: postgres_exporter's three
//! families, and the byte distance of each stage (sent, written, flushed,
//! replayed) behind the local WAL position plus PostgreSQL's measured
//! write/flush/replay delays in seconds. LSN arithmetic is `numeric` in SQL
//! and cast to `float8` there. `slot_name` is the standby's replication slot
//! (postgres_exporter 0.11 put the walsender's process id in it), empty when
//! the standby streams without one.

use super::batch::{Batch, Results, Row, Slot};
use super::columns::{self, Column};
use crate::metrics::{Family, MetricType::*};

const LAG_HELP: &str = "Replication lag behind the primary in seconds: 0 on a primary and on a \
     standby that has replayed all WAL it received, else the age of the last replayed transaction";

/// On a primary the local WAL position is the insert position; on a
/// cascading standby, what it has received (or replayed, if it streams from
/// nowhere at the moment).
const CURRENT_LSN: &str = "CASE WHEN pg_is_in_recovery() \
     THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) \
     ELSE pg_current_wal_lsn() END";

const STANDBYS: &[Column] = &[
    Column::new(
        "pg_current_wal_lsn_bytes",
        "pg_wal_lsn_diff(w.cur, '0/0')",
        Gauge,
        "WAL position in bytes",
    ),
    Column::new(
        "pg_wal_lsn_diff",
        "pg_wal_lsn_diff(w.cur, r.replay_lsn)",
        Gauge,
        "Lag in bytes between master and slave",
    ),
    Column::new(
        "reply_time",
        "extract(epoch FROM r.reply_time)",
        Untyped,
        "Time of the last reply message received from the standby, in seconds since the epoch",
    )
    .since(120000),
    Column::new(
        "sent_lag_bytes",
        "pg_wal_lsn_diff(w.cur, r.sent_lsn)",
        Gauge,
        "Bytes of WAL not yet sent to this standby",
    ),
    Column::new(
        "write_lag_bytes",
        "pg_wal_lsn_diff(w.cur, r.write_lsn)",
        Gauge,
        "Bytes of WAL not yet written to disk by this standby",
    ),
    Column::new(
        "flush_lag_bytes",
        "pg_wal_lsn_diff(w.cur, r.flush_lsn)",
        Gauge,
        "Bytes of WAL not yet flushed to durable storage by this standby",
    ),
    Column::new(
        "replay_lag_bytes",
        "pg_wal_lsn_diff(w.cur, r.replay_lsn)",
        Gauge,
        "Bytes of WAL not yet replayed by this standby",
    ),
    // PostgreSQL resets these to NULL once a standby has caught up and no new
    // WAL comes: that is a delay of 0, not an unknown one.
    Column::new(
        "write_lag_seconds",
        "coalesce(extract(epoch FROM r.write_lag), CASE WHEN r.write_lsn >= w.cur THEN 0 END)",
        Gauge,
        "Time between flushing recent WAL locally and this standby having written it (0 when caught up)",
    ),
    Column::new(
        "flush_lag_seconds",
        "coalesce(extract(epoch FROM r.flush_lag), CASE WHEN r.flush_lsn >= w.cur THEN 0 END)",
        Gauge,
        "Time between flushing recent WAL locally and this standby having flushed it (0 when caught up)",
    ),
    Column::new(
        "replay_lag_seconds",
        "coalesce(extract(epoch FROM r.replay_lag), CASE WHEN r.replay_lsn >= w.cur THEN 0 END)",
        Gauge,
        "Time between flushing recent WAL locally and this standby having replayed it (0 when caught up)",
    ),
];

/// The labels of `pg_stat_replication_*`, each standby's.
const STANDBY_LABELS: &[&str] = &["application_name", "client_addr", "slot_name", "state"];

/// Where the two statements' rows will be in a batch.
pub(crate) struct Plan {
    version: u32,
    lag: Slot,
    standbys: Slot,
}

const LAG: &str = "SELECT (CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END)::float8 AS is_replica, \
           (CASE WHEN NOT pg_is_in_recovery() THEN 0 \
                 WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0 \
                 ELSE greatest(0, extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())) \
            END)::float8 AS lag, \
           greatest(0, coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0))::float8 \
             AS last_replay, \
           (SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming')::float8 \
             AS streaming";

/// Adds the statements for a server of `version` to `batch`.
pub(crate) fn plan(batch: &mut Batch, version: u32) -> Plan {
    let standbys = format!(
        "SELECT coalesce(r.application_name, '') AS application_name, \
           coalesce(host(r.client_addr), '') AS client_addr, \
           coalesce(s.slot_name::text, '') AS slot_name, \
           coalesce(r.state, '') AS state, {} \
         FROM pg_stat_replication r \
         LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid \
         CROSS JOIN (SELECT {CURRENT_LSN} AS cur) w \
         ORDER BY 1, 2, 3",
        columns::select_list(STANDBYS, version)
    );
    Plan {
        version,
        lag: batch.add(LAG, ["is_replica", "lag", "last_replay", "streaming"]),
        standbys: batch.add(
            &standbys,
            columns::names(STANDBY_LABELS, &[STANDBYS], version),
        ),
    }
}

impl Plan {
    pub(crate) fn decode(&self, results: &Results) -> Result<Vec<Family>, sqlx::Error> {
        let mut out = lag(results.one(self.lag)?)?;
        out.extend(columns::families(
            "pg_stat_replication",
            STANDBYS,
            self.version,
            STANDBY_LABELS,
            results.rows(self.standbys),
        )?);
        Ok(out)
    }
}

fn lag(row: &Row) -> Result<Vec<Family>, sqlx::Error> {
    let lag = columns::float(row, "lag")?;
    let is_replica = columns::float(row, "is_replica")?;
    // As postgres_exporter 0.20: on every server, 0 on a primary and on a
    // standby that has replayed no transaction yet.
    let last_replay = Family::gauge(
        "pg_replication_last_replay_seconds",
        "Age of the last transaction replayed by this standby, in seconds (0 on a primary)",
    )
    .single(columns::float(row, "last_replay")?);
    let mut streaming = Family::gauge(
        "pg_replication_wal_receiver_streaming",
        "Whether this standby's WAL receiver is streaming from its upstream (standbys only; \
         needs pg_monitor or pg_read_all_stats to see the receiver's status)",
    );
    if is_replica == 1.0 {
        streaming.push(Vec::new(), columns::float(row, "streaming")?);
    }
    Ok(vec![
        Family::gauge(
            "pg_replication_is_replica",
            "Whether the server is a standby in recovery (1) or a primary (0)",
        )
        .single(is_replica),
        Family::gauge("pg_replication_lag_seconds", LAG_HELP).single(lag),
        Family::gauge("pg_replication_lag", LAG_HELP).single(lag),
        last_replay,
        streaming,
    ])
}
