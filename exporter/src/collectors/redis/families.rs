//! Turns one scrape's replies (INFO ALL, CONFIG GET, SLOWLOG) into metric
//! families. Pure: the collector gathers the replies, this decides the
//! metrics, so every mapping is tested on captured payloads without a server.

use std::collections::BTreeMap;

use super::fields::{COUNTERS, GAUGES, Mapped, STATUS};
use super::info::{self, Info};
use super::latency::{CommandHistogram, Spike};
use super::sentinel::{Changes, Master};
use crate::metrics::{Family, MetricType, labels};

/// `CONFIG GET` answers; `None` where the command failed or is disabled
/// (managed Redis services often rename `CONFIG`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub maxmemory: Option<f64>,
    pub maxclients: Option<f64>,
    pub io_threads: Option<f64>,
    /// Number of logical databases, so that empty ones get `redis_db_keys 0`
    /// as redis_exporter does (dashboards sum over all of them).
    pub databases: Option<u32>,
    /// `repl-backlog-size`, as `redis_config_repl_backlog_size`.
    pub repl_backlog_size: Option<f64>,
    /// `client-output-buffer-limit`, such as
    /// `normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60`.
    pub client_output_buffer_limit: Option<String>,
}

/// The newest `SLOWLOG GET 1` entry and `SLOWLOG LEN`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slowlog {
    pub length: f64,
    /// Id and duration (microseconds) of the newest entry, if any.
    pub last: Option<(f64, f64)>,
}

/// Everything one scrape read from the server.
pub struct Snapshot<'a> {
    pub info: Info<'a>,
    pub config: Config,
    pub slowlog: Option<Slowlog>,
    /// `LATENCY LATEST` (empty when it failed or had nothing).
    pub latency_spikes: Vec<Spike>,
    /// `LATENCY HISTOGRAM` (empty on servers before 7.0).
    pub latency_histograms: Vec<CommandHistogram>,
    /// On a Sentinel: its masters and the changes counted so far.
    pub sentinel: Option<(Vec<Master>, Changes)>,
    /// `CLUSTER INFO`, in cluster mode.
    pub cluster_info: Option<String>,
}

/// The families of one scrape, in a stable order.
pub fn families(snap: &Snapshot<'_>) -> Vec<Family> {
    let info = &snap.info;
    let mut out = Vec::new();
    mapped(info, STATUS, MetricType::Gauge, status_value, &mut out);
    mapped(info, GAUGES, MetricType::Gauge, info::number, &mut out);
    mapped(info, COUNTERS, MetricType::Counter, info::number, &mut out);
    start_time(info, &mut out);
    instance_info(info, &mut out);
    config(&snap.config, &mut out);
    // As redis_exporter: 1 database in cluster mode, else CONFIG's count,
    // 16 when CONFIG cannot say (a Sentinel, a managed service that
    // renamed CONFIG).
    let databases = if info.get("cluster_enabled") == Some("1") {
        Some(1)
    } else {
        snap.config.databases.or(Some(16))
    };
    keyspace(info, databases, &mut out);
    super::replication::families(info, &mut out);
    super::commands::families(info, &mut out);
    if let Some(slowlog) = &snap.slowlog {
        slowlog_families(slowlog, &mut out);
    }
    super::latency::families(
        &snap.latency_spikes,
        &snap.latency_histograms,
        info,
        &mut out,
    );
    if super::sentinel::is_sentinel(info) {
        super::sentinel::info_families(info, &mut out);
    }
    if let Some(text) = snap
        .cluster_info
        .as_deref()
        .filter(|_| info.get("cluster_enabled") == Some("1"))
    {
        super::cluster::families(text, &mut out);
    }
    if let Some((masters, changes)) = &snap.sentinel {
        super::sentinel::master_families(masters, changes, &mut out);
    }
    out
}

fn status_value(text: &str) -> Option<f64> {
    Some(if text.trim() == "ok" { 1.0 } else { 0.0 })
}

fn mapped(
    info: &Info<'_>,
    table: &[Mapped],
    kind: MetricType,
    value: fn(&str) -> Option<f64>,
    out: &mut Vec<Family>,
) {
    for entry in table {
        if let Some(v) = info.get(entry.field).and_then(value) {
            out.push(Family::new(entry.metric, entry.help, kind).single(v * entry.scale));
        }
    }
}

/// `redis_start_time_seconds` from the server's own clock
/// (`server_time_usec - uptime_in_seconds`), so the value does not drift
/// with the exporter's clock or the scrape's latency.
fn start_time(info: &Info<'_>, out: &mut Vec<Family>) {
    let (Some(now_usec), Some(uptime)) = (
        info.number("server_time_usec"),
        info.number("uptime_in_seconds"),
    ) else {
        return;
    };
    let start = (now_usec / 1e6).floor() - uptime;
    out.push(
        Family::gauge(
            "redis_start_time_seconds",
            "Start time of the Redis instance since unix epoch in seconds.",
        )
        .single(start),
    );
}

/// `redis_instance_info`: redis_exporter's labels minus `run_id` and
/// `process_id`, which change at every restart and would start a new series
/// each time (the process id is `redis_process_id`'s value instead).
fn instance_info(info: &Info<'_>, out: &mut Vec<Family>) {
    const LABELS: &[&str] = &[
        "maxmemory_policy",
        "os",
        "redis_build_id",
        "redis_mode",
        "redis_version",
        "role",
        "tcp_port",
    ];
    if info.get("redis_version").is_none() {
        return;
    }
    let pairs: Vec<(&str, &str)> = LABELS
        .iter()
        .map(|name| (*name, info.get(name).unwrap_or("")))
        .collect();
    let mut family = Family::gauge(
        "redis_instance_info",
        "Information about the Redis instance (without run_id and process_id, which change at each restart)",
    );
    family.push(labels(&pairs), 1.0);
    out.push(family);
}

fn config(config: &Config, out: &mut Vec<Family>) {
    let entries = [
        (
            "redis_config_maxmemory",
            "The maxmemory setting in bytes; 0 means no limit, so divide by it only when > 0",
            config.maxmemory,
        ),
        (
            "redis_config_maxclients",
            "The maxclients setting",
            config.maxclients,
        ),
        (
            "redis_config_io_threads",
            "The io-threads setting",
            config.io_threads,
        ),
    ];
    for (name, help, value) in entries {
        if let Some(v) = value {
            out.push(Family::gauge(name, help).single(v));
        }
    }
    if let Some(v) = config.repl_backlog_size {
        out.push(
            Family::gauge(
                "redis_config_repl_backlog_size",
                "The repl-backlog-size setting in bytes",
            )
            .single(v),
        );
    }
    if let Some(text) = &config.client_output_buffer_limit {
        output_buffer_limits(text, out);
    }
}

/// `client-output-buffer-limit` as redis_exporter writes it: per class,
/// the hard and soft limits in bytes and the soft limit's seconds.
fn output_buffer_limits(text: &str, out: &mut Vec<Family>) {
    let mut bytes = Family::gauge(
        "redis_config_client_output_buffer_limit_bytes",
        "The configured buffer limits per class",
    );
    let mut seconds = Family::gauge(
        "redis_config_client_output_buffer_limit_overcome_seconds",
        "How long for buffer limits per class to be exceeded before replicas are dropped",
    );
    let words: Vec<&str> = text.split_whitespace().collect();
    for group in words.chunks_exact(4) {
        let class = group[0];
        if let Some(v) = info::number(group[1]) {
            bytes.push(labels(&[("class", class), ("limit", "hard")]), v);
        }
        if let Some(v) = info::number(group[2]) {
            bytes.push(labels(&[("class", class), ("limit", "soft")]), v);
        }
        if let Some(v) = info::number(group[3]) {
            seconds.push(labels(&[("class", class), ("limit", "soft")]), v);
        }
    }
    for family in [bytes, seconds] {
        if !family.samples.is_empty() {
            out.push(family);
        }
    }
}

/// `redis_db_keys`, `redis_db_keys_expiring` for every database (0 for
/// those INFO omits because they are empty) and `redis_db_avg_ttl_seconds`
/// for those INFO lists.
fn keyspace(info: &Info<'_>, databases: Option<u32>, out: &mut Vec<Family>) {
    let mut keys: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for n in 0..databases.unwrap_or(0) {
        keys.insert(format!("db{n}"), (0.0, 0.0));
    }
    let mut ttl = Family::gauge("redis_db_avg_ttl_seconds", "Avg TTL in seconds");
    for field in info.section("keyspace") {
        let count = info::pair(field.value, "keys").and_then(info::number);
        let expiring = info::pair(field.value, "expires").and_then(info::number);
        if let (Some(count), Some(expiring)) = (count, expiring) {
            keys.insert(field.name.to_string(), (count, expiring));
        }
        if let Some(ms) = info::pair(field.value, "avg_ttl").and_then(info::number) {
            ttl.push(labels(&[("db", field.name)]), ms / 1000.0);
        }
    }
    let mut total = Family::gauge("redis_db_keys", "Total number of keys by DB");
    let mut expiring = Family::gauge(
        "redis_db_keys_expiring",
        "Total number of expiring keys by DB",
    );
    for (db, (count, exp)) in &keys {
        total.push(labels(&[("db", db)]), *count);
        expiring.push(labels(&[("db", db)]), *exp);
    }
    for family in [total, expiring, ttl] {
        if !family.samples.is_empty() {
            out.push(family);
        }
    }
}

fn slowlog_families(slowlog: &Slowlog, out: &mut Vec<Family>) {
    let (id, usec) = slowlog.last.unwrap_or((0.0, 0.0));
    out.push(Family::gauge("redis_slowlog_length", "Total slowlog").single(slowlog.length));
    out.push(Family::gauge("redis_slowlog_last_id", "Last id of slowlog").single(id));
    out.push(
        Family::gauge(
            "redis_last_slow_execution_duration_seconds",
            "The amount of time needed for last slow execution, in seconds",
        )
        .single(usec / 1e6),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Sample;

    pub(crate) fn find<'f>(families: &'f [Family], name: &str) -> Option<&'f Family> {
        families.iter().find(|f| f.name == name)
    }

    fn first_value(families: &[Family], name: &str) -> Option<f64> {
        find(families, name)
            .and_then(|f| f.samples.first())
            .map(|s: &Sample| s.value)
    }

    const MASTER: &str = include_str!("testdata/info_all_master_7.0.txt");
    const REPLICA: &str = include_str!("testdata/info_all_replica_7.0.txt");

    fn snapshot(text: &str) -> Vec<Family> {
        families(&Snapshot {
            info: info::parse(text).unwrap(),
            config: Config {
                maxmemory: Some(67_108_864.0),
                maxclients: Some(10_000.0),
                io_threads: Some(1.0),
                databases: Some(16),
                repl_backlog_size: Some(1_048_576.0),
                client_output_buffer_limit: Some(
                    "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60".into(),
                ),
            },
            slowlog: Some(Slowlog {
                length: 2.0,
                last: Some((7.0, 12_500.0)),
            }),
            latency_spikes: Vec::new(),
            latency_histograms: Vec::new(),
            sentinel: None,
            cluster_info: None,
        })
    }

    #[test]
    fn plain_fields_keep_redis_exporter_names_and_units() {
        let f = snapshot(MASTER);
        assert_eq!(
            first_value(&f, "redis_memory_max_bytes"),
            Some(67_108_864.0)
        );
        assert_eq!(first_value(&f, "redis_rdb_last_bgsave_status"), Some(1.0));
        assert_eq!(first_value(&f, "redis_connected_slaves"), Some(1.0));
        assert_eq!(
            find(&f, "redis_keyspace_hits_total").unwrap().kind,
            MetricType::Counter
        );
        assert_eq!(
            first_value(&f, "redis_config_maxmemory"),
            Some(67_108_864.0)
        );
        assert_eq!(
            first_value(&f, "redis_last_slow_execution_duration_seconds"),
            Some(0.0125)
        );
    }

    #[test]
    fn start_time_comes_from_the_servers_clock() {
        let f = snapshot(MASTER);
        let info = info::parse(MASTER).unwrap();
        let expected = (info.number("server_time_usec").unwrap() / 1e6).floor()
            - info.number("uptime_in_seconds").unwrap();
        assert_eq!(first_value(&f, "redis_start_time_seconds"), Some(expected));
    }

    #[test]
    fn instance_info_has_no_run_id_or_process_id() {
        let f = snapshot(MASTER);
        let sample = &find(&f, "redis_instance_info").unwrap().samples[0];
        let names: Vec<&str> = sample.labels.iter().map(|(n, _)| &**n).collect();
        assert_eq!(
            names,
            [
                "maxmemory_policy",
                "os",
                "redis_build_id",
                "redis_mode",
                "redis_version",
                "role",
                "tcp_port"
            ]
        );
        assert!(sample.labels.contains(&("role".into(), "master".into())));
    }

    #[test]
    fn keyspace_lists_every_database_and_ttl_in_seconds() {
        let f = snapshot(MASTER);
        let keys = find(&f, "redis_db_keys").unwrap();
        assert_eq!(keys.samples.len(), 16);
        let db0 = keys
            .samples
            .iter()
            .find(|s| s.labels == labels(&[("db", "db0")]))
            .unwrap();
        assert_eq!(db0.value, 2.0);
        let ttl = find(&f, "redis_db_avg_ttl_seconds").unwrap();
        assert_eq!(ttl.samples[0].value, 95.249);
        assert_eq!(ttl.samples.len(), 2);
    }

    #[test]
    fn replica_reply_yields_replica_families_only() {
        let f = snapshot(REPLICA);
        assert!(find(&f, "redis_master_link_up").is_some());
        assert!(find(&f, "redis_connected_slave_offset_bytes").is_none());
        let master = snapshot(MASTER);
        assert!(find(&master, "redis_master_link_up").is_none());
    }

    #[test]
    fn missing_config_and_slowlog_are_left_out_not_zeroed() {
        let f = families(&Snapshot {
            info: info::parse(MASTER).unwrap(),
            config: Config::default(),
            slowlog: None,
            latency_spikes: Vec::new(),
            latency_histograms: Vec::new(),
            sentinel: None,
            cluster_info: None,
        });
        assert!(find(&f, "redis_config_maxmemory").is_none());
        assert!(find(&f, "redis_slowlog_length").is_none());
        // Without `databases`, redis_exporter's fallback: 16.
        assert_eq!(find(&f, "redis_db_keys").unwrap().samples.len(), 16);
    }

    #[test]
    fn family_names_are_unique() {
        let f = snapshot(MASTER);
        let mut names: Vec<&str> = f.iter().map(|f| &*f.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    proptest::proptest! {
        /// Whatever a server sends in any section, turning it into families
        /// never panics.
        #[test]
        fn arbitrary_sections_never_panic(
            lines in proptest::collection::vec(
                "(# (Keyspace|Replication|Commandstats|Latencystats|Errorstats|Server))|([a-z_0-9|]{1,12}:[a-z0-9=,.|-]{0,30})",
                0..40,
            ),
            databases in proptest::option::of(0u32..2000),
        ) {
            let text = lines.join("\n");
            if let Ok(info) = info::parse(&text) {
                let _ = families(&Snapshot {
                    info,
                    config: Config { databases, ..Config::default() },
                    slowlog: None,
                    latency_spikes: Vec::new(),
                    latency_histograms: Vec::new(),
                    sentinel: None,
                    cluster_info: None,
                });
            }
        }
    }
}
