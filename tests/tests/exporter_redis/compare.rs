//! The side-by-side checks of the Redis test binary: the contract's
//! families, and Debian's redis_exporter on the same servers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use libtest_mimic::Failed;
use vigil_exporter::metrics::Family;
use vigil_tests::redis::RedisServer;

use super::{CONTRACT, DROPPED_LABELS, Env, NOT_COLLECTED, PASSWORD, check, value};

/// Compares the families with the contract's: present, same type, same
/// label names (the target's own labels aside). Returns (found, expected).
pub fn contract_check(fams: &[Family], skip: &[&str]) -> Result<(usize, usize), Failed> {
    let by_name: BTreeMap<&str, &Family> = fams.iter().map(|f| (&*f.name, f)).collect();
    let mut problems = Vec::new();
    let (mut found, mut expected) = (0, 0);
    for line in CONTRACT.lines().filter(|l| l.starts_with("redis\t")) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (name, kind, label_names) = (cols[1], cols[2], cols[3]);
        if skip.contains(&name) || NOT_COLLECTED.iter().any(|(n, _)| *n == name) {
            continue;
        }
        expected += 1;
        let Some(f) = by_name.get(name) else {
            problems.push(format!("missing {name}"));
            continue;
        };
        found += 1;
        // redis_exporter changed a few types since the contract's 1.45
        // (`redis_expired_time_cap_reached_total` is a counter in 1.88).
        let current = vigil_tests::catalog::redis()
            .into_iter()
            .find(|r| r.family == name)
            .map(|r| r.kind);
        if f.kind.as_str() != kind && current.as_deref() != Some(f.kind.as_str()) {
            problems.push(format!("{name}: type {} != {kind}", f.kind.as_str()));
        }
        let want: BTreeSet<&str> = label_names
            .split(',')
            .filter(|l| *l != "-")
            .filter(|l| !DROPPED_LABELS.contains(&(name, *l)))
            .collect();
        let have: BTreeSet<&str> = f
            .samples
            .iter()
            .flat_map(|s| s.labels.iter().map(|(n, _)| &**n))
            .collect();
        if have != want {
            problems.push(format!("{name}: labels {have:?} != {want:?}"));
        }
    }
    check(problems.is_empty(), problems.join("\n"))?;
    Ok((found, expected))
}

/// Runs Debian's prometheus-redis-exporter against `server` and returns its
/// `/metrics`. The password goes through the environment, not argv.
fn redis_exporter_scrape(env: &Env, server: &RedisServer) -> Result<String, Failed> {
    let port = vigil_test_support::free_port();
    let child = std::process::Command::new("prometheus-redis-exporter")
        .arg(format!("-redis.addr={}", server.url()))
        .arg(format!("-web.listen-address=127.0.0.1:{port}"))
        .env("REDIS_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("cannot run prometheus-redis-exporter ({e}); install it with `apt-get install -y prometheus-redis-exporter`")
        })?;
    let _guard = vigil_test_support::ChildGuard::new("redis_exporter", child);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    vigil_test_support::wait_for_tcp(addr, Duration::from_secs(20));
    let url = format!("http://{addr}/metrics");
    Ok(env
        .rt
        .block_on(async { reqwest::get(url).await?.error_for_status()?.text().await })?)
}

/// Side by side with redis_exporter on the same servers: every family it
/// emits for Redis (its own self-metrics aside) exists here with the same
/// type and label names, and facts that do not move between two scrapes
/// have the same values.
pub fn families_and_values_match_redis_exporter(env: &Env) -> Result<(), Failed> {
    let master = env.master();
    let servers = [
        (&*master, &env.master_collector),
        (&env.replica, &env.replica_collector),
    ];
    for (server, collector) in servers {
        let body = redis_exporter_scrape(env, server)?;
        let theirs = vigil::parse::parse_to_vec(body.as_bytes(), Default::default())?;
        let ours = env.collect(collector)?;
        let mut problems = Vec::new();
        let mut shapes: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for s in &theirs {
            let name = s.labels.get("__name__").unwrap_or("");
            let entry = shapes.entry(name).or_default();
            entry.extend(
                s.labels
                    .iter()
                    .map(|l| &*l.name)
                    .filter(|n| *n != "__name__"),
            );
        }
        let skip = |n: &str| {
            n.starts_with("redis_exporter_")
                || !n.starts_with("redis_")
                || NOT_COLLECTED.iter().any(|(x, _)| *x == n)
                || n.ends_with("_sum")
                || n.ends_with("_count")
        };
        for (name, labels) in shapes.iter().filter(|(n, _)| !skip(n)) {
            let Some(f) = ours.iter().find(|f| f.name == *name) else {
                problems.push(format!("missing {name}"));
                continue;
            };
            let want: BTreeSet<&str> = labels
                .iter()
                .copied()
                .filter(|l| !DROPPED_LABELS.contains(&(name, *l)))
                .collect();
            let have: BTreeSet<&str> = f
                .samples
                .iter()
                .flat_map(|s| s.labels.iter().map(|(n, _)| &**n))
                .collect();
            if have != want {
                problems.push(format!("{name}: labels {have:?} != {want:?}"));
            }
        }
        let stable = [
            "redis_config_maxmemory",
            "redis_config_maxclients",
            "redis_connected_slaves",
            "redis_memory_max_bytes",
            "redis_process_id",
            "redis_replication_backlog_bytes",
            "redis_aof_enabled",
            "redis_cluster_enabled",
            "redis_db_keys",
            "redis_db_keys_expiring",
            "redis_master_link_up",
            "redis_slave_info",
        ];
        for s in &theirs {
            let name = s.labels.get("__name__").unwrap_or("");
            if !stable.contains(&name) {
                continue;
            }
            let want: Vec<(&str, &str)> = s
                .labels
                .iter()
                .filter(|l| l.name != "__name__")
                .map(|l| (&*l.name, l.value.as_str()))
                .collect();
            match value(&ours, name, &want) {
                Ok(v) if v == s.value => {}
                other => problems.push(format!("{name}{want:?}: {other:?} != {}", s.value)),
            }
        }
        check(problems.is_empty(), problems.join("\n"))?;
        let compared = shapes.keys().filter(|n| !skip(n)).count();
        check(compared > 100, format!("only {compared} families compared"))?;
        println!(
            "{}: {compared} redis_exporter families compared",
            server.url()
        );
    }
    Ok(())
}
