//! The Redis collector against real servers: a master with a password and
//! its replica, started once for the whole binary (libtest-mimic harness),
//! then the trials in the order below; the last one stops and restarts the
//! master.
//!
//! A failed collection is checked as the `CollectError` the registry turns
//! into `redis_up 0`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vigil_test_support::{poll_until, wait_until};

use libtest_mimic::{Arguments, Failed, Trial};
use vigil_exporter::collectors::redis::{RedisTarget, build};
use vigil_exporter::collectors::{CollectError, Collector};
use vigil_exporter::metrics::{Family, MetricType};
use vigil_exporter::registry::{ExporterStats, Registry};
use vigil_tests::redis::RedisServer;

/// The servers' password: distinctive, so finding it anywhere proves a leak.
const PASSWORD: &str = "Vq7-redis-master-pw-5521";
/// A wrong password, equally distinctive.
const WRONG_PASSWORD: &str = "Kx3-never-in-errors-9048";

/// The contract (`../shared/anchors/contract.tsv`, kept in the repository
/// for the contract test); only its `redis` rows are used here.
const CONTRACT: &str = include_str!("exporter_contract.tsv");

/// Families the contract lists that only a replica has.
const REPLICA_ONLY: &[&str] = &[
    "redis_slave_priority",
    "redis_master_last_io_seconds_ago",
    "redis_master_link_up",
    "redis_master_sync_in_progress",
    "redis_slave_info",
    "redis_slave_repl_offset",
];

/// Families the contract lists that only a master with replicas has.
const MASTER_ONLY: &[&str] = &[
    "redis_connected_slave_lag_seconds",
    "redis_connected_slave_offset_bytes",
];

/// Contract families that are not the collector's, with the reason.
const NOT_COLLECTED: &[(&str, &str)] = &[
    ("redis_up", "written by the registry"),
    (
        "redis_last_key_groups_scrape_duration_milliseconds",
        "redis_exporter's key-group feature does not exist here",
    ),
    (
        "redis_target_scrape_request_errors_total",
        "counts errors of redis_exporter's /scrape endpoint, which does not exist here",
    ),
];

/// Labels the contract has that vigil drops on purpose.
const DROPPED_LABELS: &[(&str, &str)] = &[
    ("redis_instance_info", "run_id"),
    ("redis_instance_info", "process_id"),
];

#[path = "exporter_redis/access.rs"]
mod access;
#[path = "exporter_redis/compare.rs"]
mod compare;

use access::{
    acl_user_can_collect, disabled_config_command_leaves_only_its_families_out,
    tls_server_is_collected_with_its_ca, wrong_password_fails_without_showing_it,
};
use compare::{contract_check, families_and_values_match_redis_exporter};

struct Env {
    master_collector: Arc<dyn Collector>,
    replica_collector: Arc<dyn Collector>,
    replica: RedisServer,
    master: Mutex<RedisServer>,
    rt: tokio::runtime::Runtime,
}

impl Env {
    fn start() -> Env {
        vigil_common::install_crypto_provider();
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let master = RedisServer::start_master(Some(PASSWORD)).expect("start the master");
        master
            .cli(&["SET", "greeting", "hello", "EX", "3600"])
            .expect("a key");
        let replica = master.start_replica().expect("start the replica");
        Env {
            master_collector: collector(&master.url(), None, Some(PASSWORD)),
            replica_collector: collector(&replica.url(), None, Some(PASSWORD)),
            replica,
            master: Mutex::new(master),
            rt,
        }
    }

    fn collect(&self, c: &Arc<dyn Collector>) -> Result<Vec<Family>, CollectError> {
        self.rt.block_on(c.collect())
    }

    fn master(&self) -> std::sync::MutexGuard<'_, RedisServer> {
        self.master.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn collector(url: &str, user: Option<&str>, password: Option<&str>) -> Arc<dyn Collector> {
    build(&RedisTarget {
        name: None,
        address: url.to_string(),
        username: user.map(str::to_string),
        password: password.map(vigil_common::Secret::new),
        password_file: None,
        tls_ca_file: None,
        timeout: Some(Duration::from_secs(5)),
        labels: [("cluster".to_string(), "test".to_string())].into(),
    })
    .expect("build the collector")
}

fn family<'a>(fams: &'a [Family], name: &str) -> Result<&'a Family, Failed> {
    fams.iter()
        .find(|f| f.name == name)
        .ok_or_else(|| format!("no family {name}").into())
}

/// The value of the one sample of `name` whose labels include `want`.
fn value(fams: &[Family], name: &str, want: &[(&str, &str)]) -> Result<f64, Failed> {
    let matching: Vec<f64> = family(fams, name)?
        .samples
        .iter()
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.iter().any(|(n, x)| n == k && x == v))
        })
        .map(|s| s.value)
        .collect();
    match matching[..] {
        [v] => Ok(v),
        _ => Err(format!("{name}{want:?}: {matching:?}").into()),
    }
}

fn check(ok: bool, message: impl Into<String>) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(message.into().into())
    }
}

fn master_has_the_contract_families(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.master_collector)?;
    let (found, expected) = contract_check(&fams, REPLICA_ONLY)?;
    println!("master families: {found}/{expected}");
    Ok(())
}

fn replica_has_the_contract_families(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.replica_collector)?;
    let (found, expected) = contract_check(&fams, MASTER_ONLY)?;
    println!("replica families: {found}/{expected}");
    Ok(())
}

fn replication_labels_name_both_ends(env: &Env) -> Result<(), Failed> {
    let master_port = env.master().port().to_string();
    let replica_port = env.replica.port().to_string();
    let master = env.collect(&env.master_collector)?;
    let ids = [
        ("slave_port", replica_port.as_str()),
        ("slave_state", "online"),
    ];
    value(&master, "redis_connected_slave_offset_bytes", &ids)?;
    check(
        value(&master, "redis_connected_slaves", &[])? == 1.0,
        "one replica",
    )?;
    let replica = env.collect(&env.replica_collector)?;
    let link = [
        ("master_host", "127.0.0.1"),
        ("master_port", master_port.as_str()),
    ];
    check(
        value(&replica, "redis_master_link_up", &link)? == 1.0,
        "link up",
    )?;
    let info = [("master_port", master_port.as_str()), ("read_only", "1")];
    check(
        value(&replica, "redis_slave_info", &info)? == 1.0,
        "slave_info",
    )?;
    let role = |fams: &[Family], role| value(fams, "redis_instance_info", &[("role", role)]);
    check(
        role(&master, "master")? == 1.0 && role(&replica, "slave")? == 1.0,
        "roles",
    )
}

fn instance_info_has_no_run_id_or_process_id(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.master_collector)?;
    let info = family(&fams, "redis_instance_info")?;
    let names: BTreeSet<&str> = info.samples[0].labels.iter().map(|(n, _)| &**n).collect();
    check(
        !names.contains("run_id") && !names.contains("process_id"),
        format!("labels {names:?}"),
    )?;
    let port = env.master().port().to_string();
    value(&fams, "redis_instance_info", &[("tcp_port", port.as_str())])?;
    let pid = env.master().pid().ok_or("master not running")?;
    check(
        value(&fams, "redis_process_id", &[])? == f64::from(pid),
        "redis_process_id is the server's pid",
    )
}

fn keyspace_counts_keys_per_database(env: &Env) -> Result<(), Failed> {
    let master = env.master();
    for (key, ttl) in [("a", None), ("b", None), ("c", Some("600"))] {
        let mut args = vec!["-n", "2", "SET", key, "v"];
        if let Some(ttl) = ttl {
            args.extend(["EX", ttl]);
        }
        master.cli(&args)?;
    }
    drop(master);
    let fams = env.collect(&env.master_collector)?;
    let db2 = [("db", "db2")];
    check(value(&fams, "redis_db_keys", &db2)? == 3.0, "3 keys in db2")?;
    check(
        value(&fams, "redis_db_keys_expiring", &db2)? == 1.0,
        "1 expiring",
    )?;
    // Empty databases are listed with 0, as redis_exporter does.
    check(
        value(&fams, "redis_db_keys", &[("db", "db15")])? == 0.0,
        "db15 empty",
    )?;
    // Redis estimates avg_ttl in its active expiry cycle (10 times a
    // second), so it may still be 0 just after the keys were written.
    let mut ttl = 0.0;
    wait_until(
        "redis_db_avg_ttl_seconds above 0",
        Duration::from_secs(10),
        || {
            let fams = must(env.collect(&env.master_collector));
            ttl = must(value(&fams, "redis_db_avg_ttl_seconds", &[("db", "db0")]));
            ttl > 0.0
        },
    );
    check(ttl <= 3600.0, format!("avg ttl {ttl} s"))
}

fn commandstats_count_each_command(env: &Env) -> Result<(), Failed> {
    let calls = |fams: &[Family]| value(fams, "redis_commands_total", &[("cmd", "incr")]);
    env.master().cli(&["INCR", "counter"])?;
    let before = calls(&env.collect(&env.master_collector)?)?;
    for _ in 0..5 {
        env.master().cli(&["INCR", "counter"])?;
    }
    let fams = env.collect(&env.master_collector)?;
    check(calls(&fams)? == before + 5.0, "five more INCR calls")?;
    let latency = family(&fams, "redis_latency_percentiles_usec")?;
    check(latency.kind == MetricType::Summary, "a summary")?;
    value(
        &fams,
        "redis_latency_percentiles_usec",
        &[("cmd", "incr"), ("quantile", "99")],
    )?;
    Ok(())
}

fn unreachable_server_fails_with_connect(env: &Env) -> Result<(), Failed> {
    let port = vigil_test_support::free_port();
    let c = collector(&format!("redis://127.0.0.1:{port}"), None, Some(PASSWORD));
    let err = env.collect(&c).err().ok_or("nothing listens there")?;
    check(err.kind == "connect", format!("kind {}: {err}", err.kind))?;
    check(err.reason.contains(&port.to_string()), "names the target")
}

/// The value of a step inside a poll, which fails the trial as `?` would.
fn must<T, E>(r: Result<T, E>) -> T
where
    Failed: From<E>,
{
    r.unwrap_or_else(|e| panic!("{}", Failed::from(e).message().unwrap_or("failed")))
}

/// A server that hangs (SIGSTOP) makes the collection fail at the target's
/// timeout, not later; once it resumes (SIGCONT), the same collector works.
fn hung_server_times_out_and_recovers(env: &Env) -> Result<(), Failed> {
    let replica = &env.replica;
    let c = build(&RedisTarget {
        name: None,
        address: replica.url(),
        username: None,
        password: Some(vigil_common::Secret::new(PASSWORD)),
        password_file: None,
        tls_ca_file: None,
        timeout: Some(Duration::from_millis(500)),
        labels: BTreeMap::new(),
    })?;
    env.collect(&c)?;
    replica.signal("STOP");
    let started = Instant::now();
    let result = env.collect(&c);
    let waited = started.elapsed();
    replica.signal("CONT");
    let err = result.err().ok_or("a hung server must fail")?;
    check(err.kind == "timeout", format!("kind {}: {err}", err.kind))?;
    // One attempt plus one retry on a dropped connection, each bounded.
    check(
        waited < Duration::from_secs(3),
        format!("waited {waited:?}"),
    )?;
    let mut last = String::new();
    let back = poll_until(Duration::from_secs(20), || {
        env.collect(&c).map_err(|e| last = e.to_string()).is_ok()
    });
    check(back, format!("not back after SIGCONT: {last}"))
}

/// `redis_up` for the one target of `registry`, and the families.
fn gather_up(env: &Env, registry: &Registry) -> Result<(f64, Vec<Family>), Failed> {
    let fams = env.rt.block_on(registry.gather());
    let up = value(&fams, "redis_up", &[("cluster", "test")])?;
    Ok((up, fams))
}

/// Through the registry: stop the master and `redis_up` is 0 on the next
/// scrape; start it again and `redis_up` is back to 1 with the same
/// collector, never rebuilt.
fn restarted_server_is_collected_again(env: &Env) -> Result<(), Failed> {
    let c = &env.master_collector;
    let registry = Registry::new(
        vec![Arc::clone(c)],
        Duration::from_secs(5),
        Arc::new(ExporterStats::default()),
    );
    let (up, fams) = gather_up(env, &registry)?;
    check(up == 1.0, format!("redis_up {up} before the stop"))?;
    let target = c.target_labels()[0].1.clone();
    value(
        &fams,
        "redis_connected_slaves",
        &[("target", target.as_str())],
    )?;

    env.master().stop();
    let (up, _) = gather_up(env, &registry)?;
    check(up == 0.0, format!("redis_up {up} after the stop"))?;
    let err = env
        .collect(c)
        .err()
        .ok_or("collect from a stopped server")?;
    check(
        err.kind == "connect" || err.kind == "timeout",
        format!("kind {}: {err}", err.kind),
    )?;
    check(!format!("{err:?}").contains(PASSWORD), "password in error")?;
    // The replica is still up and reports its broken link.
    wait_until(
        "the replica reporting its master link down",
        Duration::from_secs(20),
        || {
            let fams = must(env.collect(&env.replica_collector));
            must(value(&fams, "redis_master_link_up", &[])) == 0.0
        },
    );

    env.master().start()?;
    let mut fams = Vec::new();
    wait_until(
        "redis_up 1 after the restart",
        Duration::from_secs(20),
        || {
            let up;
            (up, fams) = must(gather_up(env, &registry));
            up == 1.0
        },
    );
    let uptime = value(&fams, "redis_uptime_in_seconds", &[])?;
    check(uptime < 60.0, format!("a new server, up {uptime} s"))
}

fn main() {
    let args = Arguments::from_args();
    let env = Arc::new(Env::start());
    type Test = fn(&Env) -> Result<(), Failed>;
    let tests: [(&str, Test); 15] = [
        (
            "master_has_the_contract_families",
            master_has_the_contract_families,
        ),
        (
            "replica_has_the_contract_families",
            replica_has_the_contract_families,
        ),
        (
            "replication_labels_name_both_ends",
            replication_labels_name_both_ends,
        ),
        (
            "families_and_values_match_redis_exporter",
            families_and_values_match_redis_exporter,
        ),
        (
            "instance_info_has_no_run_id_or_process_id",
            instance_info_has_no_run_id_or_process_id,
        ),
        (
            "keyspace_counts_keys_per_database",
            keyspace_counts_keys_per_database,
        ),
        (
            "commandstats_count_each_command",
            commandstats_count_each_command,
        ),
        ("acl_user_can_collect", acl_user_can_collect),
        (
            "wrong_password_fails_without_showing_it",
            wrong_password_fails_without_showing_it,
        ),
        (
            "tls_server_is_collected_with_its_ca",
            tls_server_is_collected_with_its_ca,
        ),
        (
            "disabled_config_command_leaves_only_its_families_out",
            disabled_config_command_leaves_only_its_families_out,
        ),
        (
            "cluster_mode_gives_cluster_info_families",
            access::cluster_mode_gives_cluster_info_families,
        ),
        (
            "unreachable_server_fails_with_connect",
            unreachable_server_fails_with_connect,
        ),
        (
            "hung_server_times_out_and_recovers",
            hung_server_times_out_and_recovers,
        ),
        (
            "restarted_server_is_collected_again",
            restarted_server_is_collected_again,
        ),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let env = Arc::clone(&env);
            Trial::test(name, move || test(&env))
        })
        .collect();
    // One at a time, in order: the last trial stops and restarts the master.
    let args = Arguments {
        test_threads: Some(1),
        ..args
    };
    let conclusion = libtest_mimic::run(&args, trials);
    drop(env);
    conclusion.exit();
}
