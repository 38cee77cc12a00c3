//! The metric families rules may read, for the lints: their type and label
//! names. A rule that reads a name no one emits is a typo or a name from an
//! older exporter, so the list is what vigil-exporter emits today:
//!
//! - the contract it was first built to (`tests/tests/exporter_contract.tsv`,
//!   recorded from postgres_exporter 0.11.1, redis_exporter 1.45 and
//!   HAProxy 2.6);
//! - the families of the current releases it follows
//!   (`tests/anchors/current/`: postgres_exporter 0.20.1, redis_exporter
//!   1.88.0 with its Sentinel families, HAProxy's later built-in exporter),
//!   which `tests/tests/exporter_contract/current.rs` checks it against;
//! - its own additions and the names vigil writes ([`EXTRA`]).
//!
//! A family in several lists keeps its first entry. The current
//! catalogues' PostgreSQL rows get the `server` label that vigil-exporter
//! keeps on every PostgreSQL family (postgres_exporter 0.20 dropped it), so
//! their label sets compare with the contract's.

use std::collections::HashMap;

const CONTRACT: &str = include_str!("../../../../tests/tests/exporter_contract.tsv");
const POSTGRES: &str =
    include_str!("../../../../tests/anchors/current/postgres_exporter-0.20.1.catalog.tsv");
const REDIS: &str =
    include_str!("../../../../tests/anchors/current/redis_exporter-1.88.0.catalog.tsv");
const HAPROXY: &str =
    include_str!("../../../../tests/anchors/current/haproxy_builtin-2.8-3.x.additions.tsv");

/// Names in no catalogue that vigil-exporter or vigil write, with their
/// type and labels (beyond the target's `job` and `instance`).
const EXTRA: &[(&str, &str, &str)] = &[
    ("up", "gauge", ""),
    ("instance_health", "gauge", "instance"),
    ("app_up", "gauge", "instance"),
    ("app_ready", "gauge", "instance"),
    ("app_live", "gauge", "instance"),
    ("app_uptime_seconds", "gauge", "instance"),
    ("haproxy_up", "gauge", ""),
    ("haproxy_backend_up", "gauge", "proxy"),
    ("haproxy_server_up", "gauge", "proxy,server"),
    ("pg_replication_lag_seconds", "gauge", "server"),
    ("pg_replication_is_replica", "gauge", "server"),
    // pg_stat_archiver's last_failed_time as an age, beside upstream's
    // last_archive_age (exporter/src/collectors/postgres/bgwriter.rs).
    ("pg_stat_archiver_last_failed_age", "gauge", "server"),
    ("ALERTS", "gauge", "alertname,alertstate"),
    ("ALERTS_FOR_STATE", "gauge", "alertname"),
];

/// What is known about the metrics rules may use.
pub struct Catalog {
    /// name -> (type, label names)
    metrics: HashMap<String, (String, Vec<String>)>,
}

impl Catalog {
    /// Every list of the module's documentation.
    pub fn builtin() -> Catalog {
        let mut catalog = Catalog {
            metrics: HashMap::new(),
        };
        // The contract's rows: source, family, type, labels.
        for cols in rows(CONTRACT) {
            if let [_, name, ty, labels, ..] = cols[..] {
                catalog.add(name, ty, labels.split(','), &[]);
            }
        }
        // The current catalogues' rows: family, type, labels, ...
        for (text, extra) in [(POSTGRES, &["server"][..]), (REDIS, &[]), (HAPROXY, &[])] {
            for cols in rows(text) {
                if let [name, ty, labels, ..] = cols[..] {
                    catalog.add(name, ty, label_names(labels), extra);
                }
            }
        }
        for (name, ty, labels) in EXTRA {
            catalog.add(name, ty, labels.split(','), &[]);
        }
        catalog
    }

    /// Adds a family unless it is known already.
    fn add<'a>(
        &mut self,
        name: &str,
        ty: &str,
        labels: impl Iterator<Item = &'a str>,
        extra: &[&'a str],
    ) {
        if self.metrics.contains_key(name) {
            return;
        }
        let mut names: Vec<String> = labels
            .chain(extra.iter().copied())
            .filter(|l| *l != "-" && !l.is_empty())
            .map(String::from)
            .collect();
        names.sort();
        names.dedup();
        self.metrics
            .insert(name.to_string(), (ty.to_string(), names));
    }

    /// The family a series name belongs to (`x_bucket` -> histogram `x`).
    pub(super) fn lookup(&self, name: &str) -> Option<&(String, Vec<String>)> {
        self.metrics.get(name).or_else(|| {
            ["_bucket", "_count", "_sum", "_total", "_created"]
                .iter()
                .find_map(|s| name.strip_suffix(s).and_then(|base| self.metrics.get(base)))
        })
    }

    pub(super) fn known(&self, name: &str) -> bool {
        name.starts_with("vigil_") || name.starts_with("scrape_") || self.lookup(name).is_some()
    }
}

/// The tab-separated columns of each line that is not a comment.
fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

/// The label names of a current catalogue's column: `a,b` with the ones
/// only some servers give in brackets (`a,b[,c,d]`); all count.
fn label_names(column: &str) -> impl Iterator<Item = &str> {
    column.split([',', '[', ']'])
}

#[cfg(test)]
mod tests {
    use super::Catalog;

    #[test]
    fn current_families_are_known_with_their_labels() {
        let c = Catalog::builtin();
        for name in [
            "pg_replication_slots_active",
            "pg_stat_archiver_last_archive_age",
            "pg_stat_archiver_last_failed_age",
            "redis_sentinel_master_ok_sentinels",
            "redis_sentinel_master_ckquorum_status",
            "haproxy_server_active",
            // the contract's
            "pg_locks_count",
        ] {
            assert!(c.known(name), "{name}");
        }
        assert!(!c.known("pg_replication_slot_active"));
        let (ty, labels) = c.lookup("pg_replication_slots_active").unwrap();
        assert_eq!(ty, "gauge");
        assert_eq!(labels, &["database", "server", "slot_name"]);
        // The contract's entry wins over the current catalogue's.
        assert_eq!(
            c.lookup("pg_locks_count").unwrap().1,
            ["datname", "mode", "server"]
        );
    }
}
