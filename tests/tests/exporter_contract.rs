//! vigil-exporter with all four sources on one real stack (PostgreSQL
//! primary + streaming replica, Redis master + replica, three demo apps
//! behind HAProxy with one down), started once:
//!
//! - the contract: every family of `exporter_contract.tsv` (a copy of
//!   `../shared/anchors/contract.tsv`) present with the same type and label
//!   names, extra target/static labels allowed, except the deviations listed
//!   with their reasons in `exporter/contract-deviations.tsv`;
//! - public rule files (`exporter_contract/community_rules.tsv`): every
//!   metric name they use that a default configuration gives is there;
//! - `promtool check metrics`: no complaint about a name that is ours;
//!   inherited contract names may keep theirs (printed);
//! - failures: stopping Redis, PostgreSQL or HAProxy sets that target's
//!   `*_up` to 0 on the next scrape, others unaffected; starting it again
//!   brings it back without restarting the exporter.
//!
//! The trials run one after another (the failure trials stop servers).

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use vigil_test_support::ChildGuard;
use vigil_tests::demo_app::{AppOptions, AppState, DemoApp};
use vigil_tests::exporter::{ExporterProcess, Sample, parse_line, sample_value};
use vigil_tests::haproxy::{HaproxyOptions, HaproxyServer};
use vigil_tests::postgres::PgServer;
use vigil_tests::redis::{RedisOptions, RedisServer};

#[path = "exporter_contract/current.rs"]
mod current;
#[path = "exporter_contract/rules.rs"]
mod rules;

const CONTRACT: &str = include_str!("exporter_contract.tsv");
const DEVIATIONS: &str = include_str!("../../exporter/contract-deviations.tsv");
const REDIS_PASSWORD: &str = "contract-redis-pw";
/// Labels the exporter adds to every series of a target of each source: its
/// target label and the static label configured below. (postgres_exporter
/// puts `server` on most families itself; on those it is in the contract.)
fn target_labels(source: &str) -> &'static [&'static str] {
    match source {
        "postgres" => &["server", "env"],
        "redis" | "haproxy" => &["target", "env"],
        _ => &["instance", "env"],
    }
}

/// Names outside the contract that are inherited all the same: the
/// `haproxy_process_*` families of `show info` carry the names of HAProxy's
/// built-in exporter, which community dashboards query.
fn inherited_outside_contract(name: &str) -> bool {
    name.starts_with("haproxy_process_")
}

struct Env {
    rt: tokio::runtime::Runtime,
    pg_primary: Mutex<PgServer>,
    _pg_replica: PgServer,
    redis_master: Mutex<RedisServer>,
    redis_replica: RedisServer,
    haproxy: Mutex<HaproxyServer>,
    _apps: Vec<DemoApp>,
    /// An idle client session, so `pg_process_idle_seconds` has samples.
    _idle_session: ChildGuard,
    exporter: ExporterProcess,
}

impl Env {
    fn start() -> Env {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let pg_primary = PgServer::start_primary().expect("start PostgreSQL primary");
        let pg_replica = pg_primary
            .start_replica()
            .expect("start PostgreSQL replica");
        pg_replica
            .wait_caught_up(&pg_primary)
            .expect("replica catches up");
        pg_primary
            .archive_one_segment()
            .expect("archive a WAL segment");
        let idle_session = idle_session(&pg_primary);
        let redis_master = RedisServer::start_master(Some(REDIS_PASSWORD)).expect("redis master");
        // A key with a TTL, so the keyspace families (`redis_db_avg_ttl_seconds`)
        // have a database to report.
        redis_master
            .cli(&["SET", "contract:key", "v", "EX", "3600"])
            .expect("SET a key");
        let redis_replica = RedisServer::start_with(RedisOptions {
            password: Some(REDIS_PASSWORD.into()),
            replica_of: Some(redis_master.addr()),
            ..Default::default()
        })
        .expect("redis replica");
        let apps: Vec<DemoApp> = rt.block_on(async {
            let mut apps = Vec::new();
            for (i, state) in [AppState::Healthy, AppState::Degraded, AppState::Down]
                .into_iter()
                .enumerate()
            {
                let mut opts = AppOptions::new(format!("api-{}", i + 1));
                opts.initial = state;
                apps.push(DemoApp::start(opts).await.expect("demo app"));
            }
            apps
        });
        let haproxy = HaproxyServer::start(HaproxyOptions {
            servers: apps.iter().map(|a| a.addr).collect(),
            stats_user: "admin".into(),
            stats_password: "contract-haproxy-pw".into(),
            tls: false,
        })
        .expect("start haproxy");
        let mut config = format!(
            "global:\n  timeout: 5s\npostgres:\n  - dsn: {}\n    labels: {{ env: test }}\n    auto_discover_databases: true\n  - dsn: {}\n    labels: {{ env: test }}\n",
            pg_primary.dsn(),
            pg_replica.dsn()
        );
        config += &format!(
            "redis:\n  - address: {}\n    password: {REDIS_PASSWORD}\n    labels: {{ env: test }}\n  - address: {}\n    password: {REDIS_PASSWORD}\n    labels: {{ env: test }}\n",
            redis_master.url(),
            redis_replica.url()
        );
        config += &format!(
            "haproxy:\n  - url: {}\n    username: admin\n    password: contract-haproxy-pw\n    socket: {}\n    labels: {{ env: test }}\n",
            haproxy.stats_url(),
            haproxy.socket().display()
        );
        config += "apps:\n";
        for (i, app) in apps.iter().enumerate() {
            config += &format!(
                "  - url: {}\n    instance: api-{}\n    labels: {{ env: test }}\n",
                app.url(),
                i + 1
            );
        }
        let exporter = ExporterProcess::start(&config);
        Env {
            rt,
            pg_primary: Mutex::new(pg_primary),
            _pg_replica: pg_replica,
            redis_master: Mutex::new(redis_master),
            redis_replica,
            haproxy: Mutex::new(haproxy),
            _apps: apps,
            _idle_session: idle_session,
            exporter,
        }
    }

    fn scrape(&self) -> String {
        self.rt.block_on(self.exporter.scrape())
    }

    /// Scrapes until `pred` holds (at most 60 s: a restarted PostgreSQL
    /// replays WAL first).
    fn scrape_until(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.rt.block_on(self.exporter.scrape_until(60, what, pred))
    }
}

/// `psql` connected with nothing to do: an idle session named `psql`.
fn idle_session(server: &PgServer) -> ChildGuard {
    let psql = vigil_tests::postgres::bin_dir()
        .expect("PostgreSQL binaries")
        .join("psql");
    let child = Command::new(psql)
        .arg(server.dsn())
        .env("PGAPPNAME", "contract-idle")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start psql");
    let guard = ChildGuard::new("idle psql", child);
    vigil_test_support::wait_until("the idle psql session", Duration::from_secs(20), || {
        server
            .query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'contract-idle' AND state = 'idle'")
            .is_ok_and(|n| n.trim() == "1")
    });
    guard
}

/// `family -> (type, label names)` from text-format exposition.
fn families(text: &str) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut out: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            current = parts.next().unwrap_or("").to_string();
            let kind = parts.next().unwrap_or("").to_string();
            out.insert(current.clone(), (kind, BTreeSet::new()));
        } else if let Some((_, labels, _)) = parse_line(line)
            && let Some((_, names)) = out.get_mut(&current)
        {
            names.extend(labels.into_iter().map(|(name, _)| name));
        }
    }
    out
}

fn deviations() -> BTreeMap<&'static str, &'static str> {
    DEVIATIONS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .collect()
}

fn contract_rows() -> Vec<(&'static str, &'static str, &'static str, BTreeSet<String>)> {
    CONTRACT
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let labels = cols
                .get(3)
                .map(|s| {
                    s.split(',')
                        .filter(|x| !x.is_empty() && *x != "-")
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            (cols[0], cols[1], cols[2], labels)
        })
        .collect()
}

fn contract(env: &Env) -> Result<(), Failed> {
    // Two scrapes: counters such as a replica's replication families need a
    // first collection to exist.
    env.scrape();
    let got = families(&env.scrape());
    let deviations = deviations();
    let rows = contract_rows();
    let mut ok = 0;
    let mut problems = Vec::new();
    let mut excused = Vec::new();
    // Where today's exporters changed a 0.11/1.45 family (more labels on
    // pg_stat_activity_count, a counter for
    // redis_expired_time_cap_reached_total), their version is the one kept.
    let current: Vec<vigil_tests::catalog::Row> = vigil_tests::catalog::postgres()
        .into_iter()
        .chain(vigil_tests::catalog::redis())
        .collect();
    for (source, family, kind, labels) in &rows {
        let now = current.iter().find(|r| r.family == *family);
        let problem = match got.get(*family) {
            None => Some("missing".to_string()),
            Some((k, _)) if k != kind && now.is_none_or(|r| &r.kind != k) => {
                Some(format!("type {k}, contract {kind}"))
            }
            Some((_, have)) => {
                let extra: BTreeSet<&String> = have
                    .iter()
                    .filter(|l| {
                        !labels.contains(*l)
                            && !target_labels(source).contains(&l.as_str())
                            && now.is_none_or(|r| !r.labels.contains(*l))
                    })
                    .collect();
                let lacking: BTreeSet<&String> =
                    labels.iter().filter(|l| !have.contains(*l)).collect();
                (!extra.is_empty() || !lacking.is_empty())
                    .then(|| format!("labels: extra {extra:?}, lacking {lacking:?}"))
            }
        };
        match (problem, deviations.get(family)) {
            (None, Some(_)) => {
                ok += 1;
                println!("note: {family} is listed as a deviation but now matches the contract");
            }
            (None, None) => ok += 1,
            (Some(p), Some(reason)) => excused.push(format!("{source} {family}: {p} — {reason}")),
            (Some(p), None) => problems.push(format!("{source} {family}: {p}")),
        }
    }
    println!("families: {ok}/{}", rows.len());
    for e in &excused {
        println!("deviation: {e}");
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} contract families differ:\n{}",
            problems.len(),
            problems.join("\n")
        )
        .into())
    }
}

fn promtool(env: &Env) -> Result<(), Failed> {
    let text = env.scrape();
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("cannot run promtool ({e}); install it with `apt-get install -y prometheus`")
        })?;
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())?;
    let out = child.wait_with_output()?;
    let report =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    // Inherited: the 0.11/1.45 contract's names and today's exporters'.
    let current: Vec<String> = vigil_tests::catalog::postgres()
        .into_iter()
        .chain(vigil_tests::catalog::redis())
        .chain(vigil_tests::catalog::haproxy())
        .map(|r| r.family)
        .collect();
    let mut contract: BTreeSet<&str> = contract_rows().into_iter().map(|r| r.1).collect();
    contract.extend(current.iter().map(String::as_str));
    let mut ours = Vec::new();
    let mut inherited = Vec::new();
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        let name = line.split_whitespace().next().unwrap_or("");
        if contract.contains(name) || inherited_outside_contract(name) {
            inherited.push(line.to_string());
        } else {
            ours.push(line.to_string());
        }
    }
    println!(
        "promtool: {} warnings on inherited contract names:",
        inherited.len()
    );
    for l in &inherited {
        println!("  inherited: {l}");
    }
    if ours.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "promtool complains about our own names:\n{}",
            ours.join("\n")
        )
        .into())
    }
}

fn up(text: &str, name: &str, label: (&str, &str)) -> Option<f64> {
    sample_value(text, name, &[label])
}

/// Every `*_up` sample, to compare before and after a server stops.
fn ups(text: &str) -> Vec<(String, Sample)> {
    ["pg_up", "redis_up", "haproxy_up", "app_up"]
        .into_iter()
        .flat_map(|name| {
            vigil_tests::exporter::samples(text, name)
                .into_iter()
                .map(move |sample| (name.to_string(), sample))
        })
        .collect()
}

/// The `*_up` samples of the other sources are as before.
fn others_unchanged(before: &str, after: &str, except: &str) -> Result<(), Failed> {
    let keep = |text: &str| {
        ups(text)
            .into_iter()
            .filter(|(name, _)| name != except)
            .collect::<Vec<_>>()
    };
    let (b, a) = (keep(before), keep(after));
    if b != a || b.is_empty() {
        return Err(format!("other targets affected:\nbefore {b:?}\nafter {a:?}").into());
    }
    Ok(())
}

fn redis_stop_and_start(env: &Env) -> Result<(), Failed> {
    let mut master = env.redis_master.lock().unwrap();
    let label = ("target", format!("127.0.0.1:{}", master.port()));
    let l = (label.0, label.1.as_str());
    let before = env.scrape();
    master.stop();
    let text = env.scrape();
    if up(&text, "redis_up", l) != Some(0.0) {
        return Err(format!("redis_up not 0 after stop:\n{text}").into());
    }
    others_unchanged(&before, &text, "redis_up")?;
    master.start()?;
    env.scrape_until("redis_up 1 after restart", |t| {
        up(t, "redis_up", l) == Some(1.0)
    });
    Ok(())
}

fn postgres_stop_and_start(env: &Env) -> Result<(), Failed> {
    let mut primary = env.pg_primary.lock().unwrap();
    let server = primary.server_label();
    let l = ("server", server.as_str());
    let before = env.scrape();
    primary.stop()?;
    let text = env.scrape();
    if up(&text, "pg_up", l) != Some(0.0) {
        return Err(format!("pg_up not 0 after stop:\n{text}").into());
    }
    let replica_up = vigil_tests::exporter::samples(&text, "pg_up")
        .into_iter()
        .filter(|(labels, _)| !labels.iter().any(|(k, v)| k == "server" && v == &server))
        .all(|(_, v)| v == 1.0);
    if !replica_up {
        return Err("the replica's pg_up fell with the primary".into());
    }
    others_unchanged(&before, &text, "pg_up")?;
    primary.start()?;
    env.scrape_until("pg_up 1 after restart", |t| up(t, "pg_up", l) == Some(1.0));
    Ok(())
}

fn haproxy_stop_and_restart(env: &Env) -> Result<(), Failed> {
    let mut haproxy = env.haproxy.lock().unwrap();
    let target = format!("127.0.0.1:{}", haproxy.stats_port);
    let l = ("target", target.as_str());
    let before = env.scrape();
    haproxy.stop();
    let text = env.scrape();
    if up(&text, "haproxy_up", l) != Some(0.0) {
        return Err(format!("haproxy_up not 0 after stop:\n{text}").into());
    }
    others_unchanged(&before, &text, "haproxy_up")?;
    haproxy.restart()?;
    env.scrape_until("haproxy_up 1 after restart", |t| {
        up(t, "haproxy_up", l) == Some(1.0)
    });
    Ok(())
}

fn main() {
    let mut args = Arguments::from_args();
    // The failure trials stop and start servers the others read.
    args.test_threads = Some(1);
    let env = std::sync::Arc::new(Env::start());
    type Test = fn(&Env) -> Result<(), Failed>;
    let tests: [(&str, Test); 7] = [
        ("contract_families_types_and_labels", contract),
        ("current_catalogue_families", current::current_catalogue),
        ("community_rule_files", rules::community_rule_files),
        ("promtool_check_metrics", promtool),
        ("redis_stop_and_start", redis_stop_and_start),
        ("postgres_stop_and_start", postgres_stop_and_start),
        ("haproxy_stop_and_restart", haproxy_stop_and_restart),
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
