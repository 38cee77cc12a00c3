//! The contract of today's exporters: every default family of
//! postgres_exporter 0.20.1, redis_exporter 1.88.0 and HAProxy's built-in
//! exporter after 2.6 (`vigil_tests::catalog`, from
//! `../shared/anchors/current/`) that this stack can produce is present
//! with the same type and label names; printed as `families: N/M` per
//! source.
//!
//! What the stack can produce: a row for a newer server than the one
//! installed (PostgreSQL 15, Redis 7.0, HAProxy 2.6) is left out by its
//! version column; a Redis row that needs an INFO field counts only when
//! the master's or the replica's INFO has it; the conditions this stack
//! does not have are listed in [`NOT_HERE`] with the reason, and the
//! deliberate differences are `exporter/contract-deviations.tsv`'s. The
//! states the catalogue's conditions ask for are made first: a WAL segment
//! archived, `max_slot_wal_keep_size` set, a VACUUM running, an error
//! reply, a latency spike and AOF on the Redis master.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use libtest_mimic::Failed;
use vigil_test_support::{ChildGuard, wait_until};
use vigil_tests::catalog::{self, Row};

use super::{Env, deviations, families, target_labels};

/// Catalogued default families this stack cannot produce, by name or by
/// name prefix (`*`), with the reason.
const NOT_HERE: &[(&str, &str)] = &[
    (
        "redis_sentinel_*",
        "Sentinel targets: tests/tests/exporter_sentinel.rs checks them",
    ),
    (
        "redis_commandlog_*",
        "COMMANDLOG is Valkey 8.1's; the stack runs Redis 7.0",
    ),
    ("redis_server_threads_total", "KeyDB only"),
    ("redis_long_lock_waits_total", "KeyDB only"),
    ("redis_current_client_thread", "KeyDB only"),
    ("redis_cached_keys_total", "KeyDB only"),
    ("redis_storage_provider_read_hits", "KeyDB only"),
    ("redis_storage_provider_read_misses", "KeyDB only"),
    ("redis_db_keys_cached", "KeyDB only"),
    (
        "redis_active_time_io_thread_seconds_total",
        "INFO used_active_time_io_thread_<N>: Redis 8",
    ),
    (
        "haproxy_resolver_*",
        "needs a resolvers section, and HAProxy 2.6's stats page has no resolver rows",
    ),
    (
        "haproxy_sticktable_*",
        "needs a stick table (and `show table`); the stack has none",
    ),
    (
        "haproxy_listener_*",
        "listener rows need `option socket-stats`; the stack has none",
    ),
    (
        "haproxy_process_description",
        "only with a global `description`; the stack sets none",
    ),
    (
        "haproxy_process_total_warnings",
        "HAProxy 3.2's show info field; 2.6 lacks it",
    ),
    (
        "haproxy_process_nb_thread_groups",
        "HAProxy 3.4's show info field; 2.6 lacks it",
    ),
    (
        "haproxy_process_patterns_*",
        "HAProxy 3.4's show info fields; 2.6 lacks them",
    ),
    (
        "haproxy_server_agent_*",
        "agent checks (HAProxy 3.2 names); the stack has none",
    ),
    (
        "haproxy_server_http_requests_total",
        "HAProxy 3.2 counts server requests; 2.6's stats rows for servers do not",
    ),
    (
        "haproxy_*_req_bytes_*",
        "HAProxy 3.4's byte counters; 2.6's stats page lacks them",
    ),
    (
        "haproxy_*_res_bytes_*",
        "HAProxy 3.4's byte counters; 2.6's stats page lacks them",
    ),
    (
        "haproxy_server_private_idle_connections_current",
        "HAProxy 3.4's field; 2.6's stats page lacks it",
    ),
];

fn not_here(family: &str) -> Option<&'static str> {
    NOT_HERE.iter().find_map(|(pattern, reason)| {
        let hit = match pattern.split_once('*') {
            Some((head, tail)) => {
                family.starts_with(head)
                    && family[head.len()..].contains(tail.trim_end_matches('*'))
            }
            None => family == *pattern,
        };
        hit.then_some(*reason)
    })
}

/// `INFO field X present` in a catalogue condition: X.
fn info_field(row: &Row) -> Option<&str> {
    row.condition
        .strip_prefix("INFO field ")?
        .split_whitespace()
        .next()
}

/// Makes the states the catalogue's conditions ask for; the returned
/// guard is the running VACUUM.
fn make_conditions(env: &Env) -> Result<ChildGuard, Failed> {
    let primary = env.pg_primary.lock().unwrap();
    primary.archive_one_segment()?;
    primary.query("ALTER SYSTEM SET max_slot_wal_keep_size = '1GB'")?;
    primary.query("SELECT pg_reload_conf()")?;
    primary.query(
        "CREATE TABLE IF NOT EXISTS contract_vacuum AS SELECT g AS id FROM generate_series(1, 200000) g",
    )?;
    // A VACUUM slowed to a crawl (one page per 100 ms), so that
    // pg_stat_progress_vacuum has a row while the exporter scrapes.
    let psql = vigil_tests::postgres::bin_dir()?.join("psql");
    let child = Command::new(psql)
        .arg(primary.dsn())
        .args(["-c", "VACUUM contract_vacuum"])
        .env(
            "PGOPTIONS",
            "-c vacuum_cost_delay=100 -c vacuum_cost_limit=1",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let vacuum = ChildGuard::new("slow VACUUM", child);
    wait_until(
        "the VACUUM to show in pg_stat_progress_vacuum",
        Duration::from_secs(30),
        || {
            primary
                .query("SELECT count(*) FROM pg_stat_progress_vacuum")
                .is_ok_and(|n| n.trim() == "1")
        },
    );
    drop(primary);
    let redis = env.redis_master.lock().unwrap();
    // An error reply (errorstat_ERR), a latency spike over 1 ms, AOF on.
    let _ = redis.cli(&["NO-SUCH-COMMAND"]);
    redis.cli(&["CONFIG", "SET", "latency-monitor-threshold", "1"])?;
    redis.cli(&[
        "EVAL",
        "local i = 0 while i < 5000000 do i = i + 1 end",
        "0",
    ])?;
    redis.cli(&["CONFIG", "SET", "appendonly", "yes"])?;
    Ok(vacuum)
}

pub(crate) fn current_catalogue(env: &Env) -> Result<(), Failed> {
    let vacuum = make_conditions(env)?;
    let redis_info: String = {
        let master = env.redis_master.lock().unwrap();
        master.cli(&["INFO", "ALL"])? + &env.redis_replica.cli(&["INFO", "ALL"])?
    };
    env.scrape();
    let got = families(&env.scrape());
    // The VACUUM has been seen; end it.
    env.pg_primary
        .lock()
        .unwrap()
        .query("SELECT pg_cancel_backend(pid) FROM pg_stat_progress_vacuum")?;
    drop(vacuum);
    let deviations = deviations();
    let contract = super::contract_rows();
    let mut problems = Vec::new();
    let sources: [(&str, &str, Vec<Row>, [u32; 3]); 3] = [
        (
            "postgres",
            "postgres_exporter 0.20.1",
            catalog::postgres(),
            [15, 0, 0],
        ),
        (
            "redis",
            "redis_exporter 1.88.0",
            catalog::redis(),
            [7, 0, 15],
        ),
        (
            "haproxy",
            "HAProxy built-in 2.8-3.4",
            catalog::haproxy(),
            [2, 6, 12],
        ),
    ];
    for (source, what, rows, version) in sources {
        let mut expected = 0;
        let mut present = 0;
        let mut left_out = BTreeMap::new();
        for row in rows.iter().filter(|r| r.default && !r.internal) {
            // HAProxy's additions are versioned 2.8 .. 3.4 by design: kept
            // whatever their version when 2.6's stats carry them.
            if source != "haproxy" && !row.applies_to(version) {
                continue;
            }
            if let Some(field) = info_field(row)
                && !redis_info
                    .lines()
                    .any(|l| l.starts_with(&format!("{field}:")))
            {
                continue;
            }
            let reason = not_here(&row.family).or_else(|| {
                row.condition
                    .contains("cluster_enabled:1")
                    .then_some("cluster mode (CLUSTER INFO): the stack's Redis is not a cluster")
            });
            if let Some(reason) = reason {
                left_out.insert(row.family.clone(), reason);
                continue;
            }
            expected += 1;
            let deviation = deviations.get(row.family.as_str());
            let problem = match got.get(&row.family) {
                None => Some("missing".to_string()),
                Some((kind, _)) if *kind != row.kind => {
                    Some(format!("type {kind}, catalogue {}", row.kind))
                }
                Some((_, have)) => {
                    // Labels the contract of 0.11/1.45 has for the family
                    // are kept (server on postgres families).
                    let old: BTreeSet<String> = contract
                        .iter()
                        .filter(|c| c.1 == row.family)
                        .flat_map(|c| c.3.iter().cloned())
                        .collect();
                    let extra: BTreeSet<&String> = have
                        .iter()
                        .filter(|l| {
                            !row.labels.contains(*l)
                                && !row.optional_labels.contains(*l)
                                && !old.contains(*l)
                                && !target_labels(source).contains(&l.as_str())
                        })
                        .collect();
                    let lacking: BTreeSet<&String> =
                        row.labels.iter().filter(|l| !have.contains(*l)).collect();
                    (!extra.is_empty() || !lacking.is_empty())
                        .then(|| format!("labels: extra {extra:?}, lacking {lacking:?}"))
                }
            };
            match (problem, deviation) {
                (None, _) => present += 1,
                (Some(p), Some(reason)) => {
                    present += 1;
                    println!("deviation: {} {p} — {reason}", row.family);
                }
                (Some(p), None) => problems.push(format!("{source} {}: {p}", row.family)),
            }
        }
        println!("{source} ({what}) families: {present}/{expected}");
        for (family, reason) in left_out {
            println!("  not on this stack: {family} — {reason}");
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} catalogued families differ:\n{}",
            problems.len(),
            problems.join("\n")
        )
        .into())
    }
}
