//! Redis Sentinel as a target, against real servers: a Redis master, its
//! replica and three `redis-sentinel` processes watching them (Debian's
//! `redis-sentinel`), started once; the trials run in the order below, the
//! last one fails the master over.
//!
//! - every default `redis_sentinel_*` family of redis_exporter 1.88's
//!   catalogue present with its type and labels, with the values the
//!   Sentinels report;
//! - side by side with Debian's prometheus-redis-exporter on the same
//!   Sentinel: the families both emit agree in type and label names;
//! - after `SENTINEL FAILOVER`, the next scrapes show the new master's
//!   address, the replica's role change and the change counted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use vigil_exporter::collectors::Collector;
use vigil_exporter::collectors::redis::{RedisTarget, build};
use vigil_exporter::metrics::Family;
use vigil_test_support::wait_until;
use vigil_tests::redis::RedisServer;
use vigil_tests::sentinel::{MASTER_NAME, Sentinel};

/// How long a failover may take on a loaded machine; polling returns as
/// soon as it is done.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(60);

struct Env {
    rt: tokio::runtime::Runtime,
    master: RedisServer,
    replica: RedisServer,
    sentinels: Vec<Sentinel>,
    sentinel_collector: Arc<dyn Collector>,
    master_collector: Arc<dyn Collector>,
    replica_collector: Arc<dyn Collector>,
}

impl Env {
    fn start() -> Env {
        vigil_common::install_crypto_provider();
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let master = RedisServer::start_master(None).expect("start the master");
        let replica = master.start_replica().expect("start the replica");
        let sentinels =
            Sentinel::start_group(3, master.addr(), None, 1).expect("start three sentinels");
        Env {
            rt,
            sentinel_collector: collector(&sentinels[0].url()),
            master_collector: collector(&master.url()),
            replica_collector: collector(&replica.url()),
            master,
            replica,
            sentinels,
        }
    }

    fn collect(&self, c: &Arc<dyn Collector>) -> Result<Vec<Family>, Failed> {
        Ok(self.rt.block_on(c.collect())?)
    }
}

/// A plain `redis:` target: the collector finds out from INFO that it is
/// a Sentinel.
fn collector(url: &str) -> Arc<dyn Collector> {
    build(&RedisTarget {
        name: None,
        address: url.to_string(),
        username: None,
        password: None,
        password_file: None,
        tls_ca_file: None,
        timeout: Some(Duration::from_secs(5)),
        labels: Default::default(),
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

fn label_names(f: &Family) -> BTreeSet<String> {
    f.samples
        .iter()
        .flat_map(|s| s.labels.iter().map(|(n, _)| n.to_string()))
        .collect()
}

fn sentinel_families(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.sentinel_collector)?;
    let rows: Vec<_> = vigil_tests::catalog::redis()
        .into_iter()
        .filter(|r| r.family.starts_with("redis_sentinel_") && r.default && !r.internal)
        .collect();
    let mut problems = Vec::new();
    for row in &rows {
        match family(&fams, &row.family) {
            Err(_) => problems.push(format!("missing {}", row.family)),
            Ok(f) if f.kind.as_str() != row.kind => problems.push(format!(
                "{}: type {} != {}",
                row.family,
                f.kind.as_str(),
                row.kind
            )),
            Ok(f) if label_names(f) != row.labels => problems.push(format!(
                "{}: labels {:?} != {:?}",
                row.family,
                label_names(f),
                row.labels
            )),
            Ok(_) => {}
        }
    }
    println!(
        "families: {}/{} (redis_exporter 1.88, Sentinel)",
        rows.len() - problems.len(),
        rows.len()
    );
    check(problems.is_empty(), problems.join("\n"))?;
    let address = env.master.addr().to_string();
    let master = [
        ("master_name", MASTER_NAME),
        ("master_address", address.as_str()),
    ];
    let info = family(&fams, "redis_instance_info")?;
    check(
        info.samples[0]
            .labels
            .contains(&("redis_mode".into(), "sentinel".into())),
        "redis_instance_info says sentinel",
    )?;
    for (name, want) in [
        ("redis_sentinel_master_status", 1.0),
        ("redis_sentinel_master_slaves", 1.0),
        ("redis_sentinel_master_sentinels", 3.0),
        ("redis_sentinel_master_ok_sentinels", 3.0),
        ("redis_sentinel_master_ok_slaves", 1.0),
        ("redis_sentinel_master_setting_ckquorum", 2.0),
        (
            "redis_sentinel_master_setting_down_after_milliseconds",
            1000.0,
        ),
    ] {
        let got = value(&fams, name, &master)?;
        check(got == want, format!("{name}: {got} != {want}"))?;
    }
    check(
        value(&fams, "redis_sentinel_masters", &[])? == 1.0,
        "one master",
    )?;
    check(value(&fams, "redis_sentinel_tilt", &[])? == 0.0, "no tilt")?;
    check(
        value(
            &fams,
            "redis_sentinel_master_ckquorum_status",
            &[("master_name", MASTER_NAME)],
        )? == 1.0,
        "quorum reachable",
    )?;
    check(
        value(
            &fams,
            "redis_sentinel_master_changes_total",
            &[("master_name", MASTER_NAME)],
        )? == 0.0,
        "no change yet",
    )?;
    Ok(())
}

/// `family -> (type, label names)` of a text exposition.
fn shapes(text: &str) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut out: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap_or("").to_string();
            let kind = parts.next().unwrap_or("").to_string();
            out.insert(name, (kind, BTreeSet::new()));
        } else if let Some((name, labels, _)) = vigil_tests::exporter::parse_line(line)
            && let Some((_, names)) = out.get_mut(name)
        {
            names.extend(labels.into_iter().map(|(n, _)| n));
        }
    }
    out
}

fn side_by_side_with_redis_exporter(env: &Env) -> Result<(), Failed> {
    let port = vigil_test_support::free_port();
    let child = std::process::Command::new("prometheus-redis-exporter")
        .arg(format!("-redis.addr={}", env.sentinels[0].url()))
        .arg(format!("-web.listen-address=127.0.0.1:{port}"))
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
    let body = env
        .rt
        .block_on(async { reqwest::get(url).await?.error_for_status()?.text().await })?;
    let theirs = shapes(&body);
    let ours = env.collect(&env.sentinel_collector)?;
    let ours: BTreeMap<&str, &Family> = ours.iter().map(|f| (&*f.name, f)).collect();
    // redis_instance_info: run_id and process_id are dropped on purpose
    // (exporter/contract-deviations.tsv).
    let dropped = ["run_id", "process_id", "master_replid"];
    let catalog = vigil_tests::catalog::redis();
    let mut compared = 0;
    let mut problems = Vec::new();
    for (name, (kind, labels)) in &theirs {
        let Some(f) = ours.get(name.as_str()) else {
            continue;
        };
        compared += 1;
        let want: BTreeSet<String> = labels
            .iter()
            .filter(|l| !(name == "redis_instance_info" && dropped.contains(&l.as_str())))
            .cloned()
            .collect();
        // Debian's redis_exporter is 1.45; where 1.88 changed a type
        // (`redis_expired_time_cap_reached_total`), 1.88's is the one kept.
        let current = catalog
            .iter()
            .find(|r| &r.family == name)
            .map(|r| r.kind.as_str());
        if f.kind.as_str() != kind && current != Some(f.kind.as_str()) {
            problems.push(format!("{name}: type {} != {kind}", f.kind.as_str()));
        }
        if label_names(f) != want {
            problems.push(format!("{name}: labels {:?} != {want:?}", label_names(f)));
        }
    }
    let sentinel_theirs = theirs
        .keys()
        .filter(|n| n.starts_with("redis_sentinel_"))
        .count();
    println!(
        "{compared} families both emit compared ({sentinel_theirs} redis_sentinel_* in redis_exporter's)"
    );
    check(
        sentinel_theirs > 0,
        "redis_exporter emitted no redis_sentinel_* family",
    )?;
    check(problems.is_empty(), problems.join("\n"))
}

fn failover_is_seen(env: &Env) -> Result<(), Failed> {
    let before = env.collect(&env.sentinel_collector)?;
    let old = env.master.addr().to_string();
    let new = env.replica.addr().to_string();
    let epoch = value(
        &before,
        "redis_sentinel_master_config_epoch",
        &[("master_address", &old)],
    )?;
    env.sentinels[0].cli(&["SENTINEL", "FAILOVER", MASTER_NAME])?;
    wait_until(
        "every sentinel to name the new master",
        FAILOVER_TIMEOUT,
        || {
            env.sentinels
                .iter()
                .all(|s| s.master_address().is_ok_and(|a| a == new))
        },
    );
    let after = env.collect(&env.sentinel_collector)?;
    let status = family(&after, "redis_sentinel_master_status")?;
    check(
        status.samples.iter().all(|s| {
            s.labels
                .contains(&("master_address".into(), new.as_str().into()))
        }),
        format!("master_status names {new}: {status:?}"),
    )?;
    check(
        value(
            &after,
            "redis_sentinel_master_changes_total",
            &[("master_name", MASTER_NAME)],
        )? == 1.0,
        "one master change counted",
    )?;
    let epoch_after = value(
        &after,
        "redis_sentinel_master_config_epoch",
        &[("master_address", &new)],
    )?;
    check(
        epoch_after > epoch,
        format!("config epoch {epoch} -> {epoch_after}"),
    )?;
    let role = |c: &Arc<dyn Collector>| -> Result<String, Failed> {
        let fams = env.collect(c)?;
        let info = family(&fams, "redis_instance_info")?;
        Ok(info.samples[0]
            .labels
            .iter()
            .find(|(n, _)| n == "role")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default())
    };
    check(
        role(&env.replica_collector)? == "master",
        "the replica is now master",
    )?;
    // The old master is turned into a replica a moment after the switch.
    wait_until(
        "the old master to become a replica",
        FAILOVER_TIMEOUT,
        || role(&env.master_collector).is_ok_and(|r| r == "slave"),
    );
    Ok(())
}

fn main() {
    let mut args = Arguments::from_args();
    // The failover changes what the others read: one after another.
    args.test_threads = Some(1);
    let env = Arc::new(Env::start());
    type Test = fn(&Env) -> Result<(), Failed>;
    let tests: [(&str, Test); 3] = [
        ("sentinel_families", sentinel_families),
        (
            "side_by_side_with_redis_exporter",
            side_by_side_with_redis_exporter,
        ),
        ("failover_is_seen", failover_is_seen),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, f)| {
            let env = env.clone();
            Trial::test(name, move || f(&env))
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(env);
    conclusion.exit();
}
