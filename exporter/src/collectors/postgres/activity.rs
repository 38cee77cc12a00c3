//! Sessions and locks: `pg_stat_activity_count`,
//! `pg_stat_activity_max_tx_duration`, `pg_locks_count`, the
//! `pg_process_idle_seconds` histogram, and, with the opt-in
//! `long_running_transactions` collector, `pg_long_running_transactions`
//! (with `_oldest_timestamp_seconds`), which community dashboards chart.
//!
//! Ages are measured from `clock_timestamp()`, not `now()`: the scrape runs
//! in a transaction of its own, whose `now()` is its start, earlier than
//! some of the timestamps it reads.
//!
//! Like postgres_exporter, the count families have a sample for every
//! database × state (or × lock mode), zeros included, so that a state that
//! becomes non-zero does not start a new series mid-alert.

use super::batch::{Batch, Results, Row, Slot};
use super::columns::{float, text_labels};
use crate::metrics::{Family, MetricType, Sample, labels};

/// Every state `pg_stat_activity.state` can take for a client backend.
const STATES: &str = "('active'), ('idle'), ('idle in transaction'), \
     ('idle in transaction (aborted)'), ('fastpath function call'), ('disabled')";

/// Every table-level lock mode, lower-cased as postgres_exporter labels them.
const LOCK_MODES: &str = "('accesssharelock'), ('rowsharelock'), ('rowexclusivelock'), \
     ('shareupdateexclusivelock'), ('sharelock'), ('sharerowexclusivelock'), \
     ('exclusivelock'), ('accessexclusivelock'), ('sireadlock')";

/// Upper bounds of `pg_process_idle_seconds`, those of postgres_exporter's
/// example `queries.yaml` so that dashboards built on it keep their buckets.
pub(crate) const IDLE_BUCKETS: [f64; 9] = [1.0, 2.0, 5.0, 15.0, 30.0, 60.0, 90.0, 120.0, 300.0];

/// A transaction open at least this long (in seconds) is long-running: the
/// smallest threshold (1 min) of an early version of postgres_exporter's
/// `long_running_transactions`. Its 0.20 counts every open transaction
/// whatever its age, so the count says nothing its name promises; the
/// difference is in `exporter/contract-deviations.tsv`.
const LONG_RUNNING_SECONDS: u32 = 60;

/// The sessions, read once for the three statements that count them (each
/// read of `pg_stat_activity` builds every backend's row again); the
/// batch shares it under this name.
const SESSIONS: &str = "scrape_sessions";
const SESSIONS_SQL: &str = "SELECT pid, datid, state, usename, application_name, backend_type, \
     wait_event_type, wait_event, xact_start, state_change FROM pg_stat_activity";

/// Where the statements' rows will be in a batch.
pub(crate) struct Plan {
    activity: Slot,
    locks: Slot,
    idle: Slot,
    long_running: Option<Slot>,
}

/// Adds the statements to `batch`; `long_running` for the opt-in
/// `long_running_transactions` collector.
pub(crate) fn plan(batch: &mut Batch, long_running: bool) -> Plan {
    batch.share(SESSIONS, SESSIONS_SQL);
    let activity = format!(
        "SELECT d.datname::text AS datname, s.state, \
           coalesce(a.usename::text, '') AS usename, \
           coalesce(a.application_name, '') AS application_name, \
           coalesce(a.backend_type, '') AS backend_type, \
           coalesce(a.wait_event_type, '') AS wait_event_type, \
           coalesce(a.wait_event, '') AS wait_event, \
           count(a.pid)::float8 AS count, \
           greatest(coalesce(max(extract(epoch FROM clock_timestamp() - a.xact_start)), 0), 0)::float8 AS max_tx_duration \
         FROM pg_database d CROSS JOIN (VALUES {STATES}) AS s(state) \
         LEFT JOIN {SESSIONS} a ON a.datid = d.oid AND a.state = s.state \
         GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7"
    );
    let locks = format!(
        "SELECT d.datname::text AS datname, m.mode, count(l.locktype)::float8 AS count \
         FROM pg_database d CROSS JOIN (VALUES {LOCK_MODES}) AS m(mode) \
         LEFT JOIN pg_locks l ON l.database = d.oid AND lower(l.mode) = m.mode \
         GROUP BY d.datname, m.mode ORDER BY 1, 2"
    );
    // An integer constant: nothing from outside reaches the text.
    let long_running_sql = format!(
        "SELECT count(*) FILTER (WHERE age >= {LONG_RUNNING_SECONDS})::float8 AS long_running, \
           coalesce(max(age), 0)::float8 AS oldest \
         FROM (SELECT extract(epoch FROM clock_timestamp() - xact_start) AS age \
               FROM {SESSIONS} \
               WHERE state IS DISTINCT FROM 'idle' AND xact_start IS NOT NULL \
                 AND backend_type IS DISTINCT FROM 'autovacuum worker' \
                 AND pid <> pg_backend_pid()) a"
    );
    let idle = format!(
        "SELECT coalesce(application_name, '') AS application_name, \
           greatest(extract(epoch FROM clock_timestamp() - state_change), 0)::float8 AS idle \
         FROM {SESSIONS} WHERE state = 'idle' AND state_change IS NOT NULL"
    );
    let mut activity_columns = ACTIVITY_LABELS.to_vec();
    activity_columns.extend(["count", "max_tx_duration"]);
    Plan {
        activity: batch.add(&activity, activity_columns),
        locks: batch.add(&locks, ["datname", "mode", "count"]),
        idle: batch.add(&idle, ["application_name", "idle"]),
        long_running: long_running
            .then(|| batch.add(&long_running_sql, ["long_running", "oldest"])),
    }
}

impl Plan {
    pub(crate) fn decode(&self, results: &Results) -> Result<Vec<Family>, sqlx::Error> {
        let mut out = activity(results.rows(self.activity))?;
        out.push(locks(results.rows(self.locks))?);
        out.push(idle(results.rows(self.idle))?);
        if let Some(slot) = self.long_running {
            out.extend(long_running(results.one(slot)?)?);
        }
        Ok(out)
    }
}

/// Open, non-idle transactions other than autovacuum's: how many have run
/// for [`LONG_RUNNING_SECONDS`] or more, and the age of the oldest (0 when
/// there is none).
fn long_running(row: &Row) -> Result<Vec<Family>, sqlx::Error> {
    Ok(vec![
        Family::gauge(
            "pg_long_running_transactions",
            "Number of transactions open for a minute or more (idle sessions and autovacuum excluded)",
        )
        .single(float(row, "long_running")?),
        Family::gauge(
            "pg_long_running_transactions_oldest_timestamp_seconds",
            "The current maximum transaction age in seconds",
        )
        .single(float(row, "oldest")?),
    ])
}

/// The labels of `pg_stat_activity_*`, postgres_exporter 0.20's: the state
/// and database (every pair present, zero-filled) and, for sessions that
/// exist, who and what they wait on (empty on the zero-filled rows).
const ACTIVITY_LABELS: &[&str] = &[
    "datname",
    "state",
    "usename",
    "application_name",
    "backend_type",
    "wait_event_type",
    "wait_event",
];

fn activity(rows: &[Row]) -> Result<Vec<Family>, sqlx::Error> {
    let mut count = Family::gauge(
        "pg_stat_activity_count",
        "number of connections in this state",
    );
    let mut max_tx = Family::gauge(
        "pg_stat_activity_max_tx_duration",
        "max duration in seconds any active transaction has been running",
    );
    for row in rows {
        let labels = text_labels(row, ACTIVITY_LABELS)?;
        count.push(labels.clone(), float(row, "count")?);
        max_tx.push(labels, float(row, "max_tx_duration")?);
    }
    Ok(vec![count, max_tx])
}

fn locks(rows: &[Row]) -> Result<Family, sqlx::Error> {
    let mut family = Family::gauge("pg_locks_count", "Number of locks");
    for row in rows {
        family.push(
            text_labels(row, &["datname", "mode"])?,
            float(row, "count")?,
        );
    }
    Ok(family)
}

fn idle(rows: &[Row]) -> Result<Family, sqlx::Error> {
    let idle = rows
        .iter()
        .map(|row| {
            Ok((
                row.text("application_name")?.unwrap_or_default(),
                float(row, "idle")?,
            ))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(idle_histogram(&idle))
}

/// Builds `pg_process_idle_seconds`, one histogram per `application_name`,
/// from each idle session's idle time. Buckets are cumulative and `+Inf`
/// equals `_count` (postgres_exporter's example query counted every session
/// in the buckets but only idle ones in `_count`, so `+Inf` could be lower
/// than `le="300"`).
pub(crate) fn idle_histogram(idle: &[(String, f64)]) -> Family {
    let mut family = Family::new(
        "pg_process_idle_seconds",
        "Idle time of server processes",
        MetricType::Histogram,
    );
    let mut apps: Vec<&str> = idle.iter().map(|(app, _)| app.as_str()).collect();
    apps.sort_unstable();
    apps.dedup();
    for app in apps {
        let times: Vec<f64> = idle
            .iter()
            .filter(|(a, _)| a == app)
            .map(|(_, t)| *t)
            .collect();
        for bound in IDLE_BUCKETS {
            let n = times.iter().filter(|t| **t <= bound).count();
            let le = bound.to_string();
            family.samples.push(Sample {
                suffix: "_bucket",
                labels: labels(&[("application_name", app), ("le", &le)]),
                value: n as f64,
            });
        }
        let app_label = labels(&[("application_name", app)]);
        let total = times.len() as f64;
        family.samples.push(Sample {
            suffix: "_bucket",
            labels: labels(&[("application_name", app), ("le", "+Inf")]),
            value: total,
        });
        family.samples.push(Sample {
            suffix: "_sum",
            labels: app_label.clone(),
            value: times.iter().sum(),
        });
        family.samples.push(Sample {
            suffix: "_count",
            labels: app_label,
            value: total,
        });
    }
    family
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(f: &Family, suffix: &str, app: &str, le: Option<&str>) -> f64 {
        f.samples
            .iter()
            .find(|s| {
                s.suffix == suffix
                    && s.labels
                        .iter()
                        .any(|(n, v)| n == "application_name" && v == app)
                    && le.is_none_or(|le| s.labels.iter().any(|(n, v)| n == "le" && v == le))
            })
            .map(|s| s.value)
            .unwrap_or_else(|| panic!("no {suffix} {app} {le:?}"))
    }

    #[test]
    fn buckets_are_cumulative_and_inf_equals_count() {
        let idle = [
            ("app".to_string(), 0.5),
            ("app".to_string(), 3.0),
            ("app".to_string(), 400.0),
            ("psql".to_string(), 1.0),
        ];
        let f = idle_histogram(&idle);
        assert_eq!(value(&f, "_bucket", "app", Some("1")), 1.0);
        assert_eq!(value(&f, "_bucket", "app", Some("2")), 1.0);
        assert_eq!(value(&f, "_bucket", "app", Some("5")), 2.0);
        assert_eq!(value(&f, "_bucket", "app", Some("300")), 2.0);
        assert_eq!(value(&f, "_bucket", "app", Some("+Inf")), 3.0);
        assert_eq!(value(&f, "_count", "app", None), 3.0);
        assert_eq!(value(&f, "_sum", "app", None), 403.5);
        // A bound is inclusive, as `le` says.
        assert_eq!(value(&f, "_bucket", "psql", Some("1")), 1.0);
        assert_eq!(f.samples.len(), 2 * (IDLE_BUCKETS.len() + 3));
    }

    #[test]
    fn no_idle_sessions_no_series() {
        assert!(idle_histogram(&[]).samples.is_empty());
    }
}
