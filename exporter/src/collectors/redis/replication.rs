//! Replication families from INFO's `# Replication` section, for both sides:
//! a master lists its replicas (`slave0:ip=..,port=..,state=..,offset=..,lag=..`),
//! a replica describes its link to the master (`master_host`,
//! `master_link_status`, ...). Labels are redis_exporter's, so replication
//! dashboards and `redis_master_link_up == 0` alerts keep working.

use super::info::{self, Info};
use crate::metrics::{Family, labels};

pub fn families(info: &Info<'_>, out: &mut Vec<Family>) {
    connected_replicas(info, out);
    master_link(info, out);
}

/// Master side: one series per connected replica.
fn connected_replicas(info: &Info<'_>, out: &mut Vec<Family>) {
    let mut offset = Family::gauge(
        "redis_connected_slave_offset_bytes",
        "Offset of connected slave",
    );
    let mut lag = Family::gauge(
        "redis_connected_slave_lag_seconds",
        "Lag of connected slave",
    );
    let replicas = info
        .section("replication")
        .filter(|f| is_replica_line(f.name));
    for field in replicas {
        let get = |key| info::pair(field.value, key).unwrap_or("");
        let ids = labels(&[
            ("slave_ip", get("ip")),
            ("slave_port", get("port")),
            ("slave_state", get("state")),
        ]);
        if let Some(v) = info::number(get("offset")) {
            offset.push(ids.clone(), v);
        }
        if let Some(v) = info::number(get("lag")) {
            lag.push(ids, v);
        }
    }
    for family in [offset, lag] {
        if !family.samples.is_empty() {
            out.push(family);
        }
    }
}

/// `slave0`, `slave1`, ... but not `slave_priority` or `slave_repl_offset`.
fn is_replica_line(name: &str) -> bool {
    name.strip_prefix("slave")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Replica side: the state of the link to its master.
fn master_link(info: &Info<'_>, out: &mut Vec<Family>) {
    if info.get("role") != Some("slave") {
        return;
    }
    let host = info.get("master_host").unwrap_or("");
    let port = info.get("master_port").unwrap_or("");
    let ids = labels(&[("master_host", host), ("master_port", port)]);

    let link_up = match info.get("master_link_status") {
        Some("up") => 1.0,
        _ => 0.0,
    };
    let mut up = Family::gauge(
        "redis_master_link_up",
        "1 if the replica's link to its master is up (master_link_status)",
    );
    up.push(ids.clone(), link_up);
    out.push(up);

    let numeric = [
        (
            "master_last_io_seconds_ago",
            "redis_master_last_io_seconds_ago",
            "Seconds since the last interaction with the master, -1 when the link is down",
        ),
        (
            "master_sync_in_progress",
            "redis_master_sync_in_progress",
            "1 while the replica synchronises with its master",
        ),
        (
            "slave_repl_offset",
            "redis_slave_repl_offset",
            "Replication offset of the replica",
        ),
        (
            "master_link_down_since_seconds",
            "redis_master_link_down_since_seconds",
            "Seconds since the link to the master went down",
        ),
    ];
    for (field, name, help) in numeric {
        if let Some(v) = info.number(field) {
            let mut family = Family::gauge(name, help);
            family.push(ids.clone(), v);
            out.push(family);
        }
    }

    let mut slave_info = Family::gauge("redis_slave_info", "Information about the Redis slave");
    slave_info.push(
        labels(&[
            ("master_host", host),
            ("master_port", port),
            ("read_only", info.get("slave_read_only").unwrap_or("")),
        ]),
        1.0,
    );
    out.push(slave_info);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Family> {
        let mut out = Vec::new();
        families(&info::parse(text).unwrap(), &mut out);
        out
    }

    #[test]
    fn master_lists_each_replica_with_its_address_and_state() {
        let out = run(include_str!("testdata/info_all_master_7.0.txt"));
        let offset = out
            .iter()
            .find(|f| f.name == "redis_connected_slave_offset_bytes")
            .unwrap();
        assert_eq!(
            offset.samples[0].labels,
            labels(&[
                ("slave_ip", "127.0.0.1"),
                ("slave_port", "46380"),
                ("slave_state", "online")
            ])
        );
        assert_eq!(offset.samples[0].value, 158.0);
        assert!(!out.iter().any(|f| f.name == "redis_slave_info"));
    }

    #[test]
    fn replica_reports_its_master_link() {
        let out = run(include_str!("testdata/info_all_replica_7.0.txt"));
        let names: Vec<&str> = out.iter().map(|f| &*f.name).collect();
        assert_eq!(
            names,
            [
                "redis_master_link_up",
                "redis_master_last_io_seconds_ago",
                "redis_master_sync_in_progress",
                "redis_slave_repl_offset",
                "redis_slave_info"
            ]
        );
        assert_eq!(out[0].samples[0].value, 1.0);
        assert_eq!(
            out[4].samples[0].labels,
            labels(&[
                ("master_host", "127.0.0.1"),
                ("master_port", "46379"),
                ("read_only", "1")
            ])
        );
    }

    #[test]
    fn link_down_is_zero() {
        let out = run("role:slave\nmaster_host:h\nmaster_port:1\nmaster_link_status:down\n");
        assert_eq!(out[0].name, "redis_master_link_up");
        assert_eq!(out[0].samples[0].value, 0.0);
    }

    #[test]
    fn replica_line_names() {
        assert!(is_replica_line("slave0"));
        assert!(is_replica_line("slave12"));
        assert!(!is_replica_line("slave_priority"));
        assert!(!is_replica_line("slave"));
    }
}
