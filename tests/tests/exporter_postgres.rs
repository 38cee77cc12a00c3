//! The PostgreSQL collector against real servers: a primary and a streaming
//! replica started once for the whole binary (libtest-mimic harness), then
//! the trials, run one after another in the order below because the last
//! ones stop and restart the primary.
//!
//! Until the registry wraps collectors, a failed collection is checked as
//! the `CollectError` the registry turns into `pg_up 0`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use vigil_exporter::collectors::postgres::{PostgresTarget, build};
use vigil_exporter::collectors::{CollectError, Collector};
use vigil_exporter::encode::{Format, encode};
use vigil_exporter::metrics::{Family, MetricType};
use vigil_exporter::registry::{ExporterStats, Registry};
use vigil_tests::postgres::PgServer;

/// A password that appears nowhere else, so finding it in an error proves a
/// leak.
const WRONG_PASSWORD: &str = "Zq9-never-in-errors-7731";

/// Everything the code under test logs (all levels), so a trial can check
/// that no secret is ever written there.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();

fn capture_logs() {
    let logs = LOGS.get_or_init(Logs::default).clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs)
        .init();
}

/// A registry over `collectors`, as the exporter builds it.
fn registry(collectors: &[&Arc<dyn Collector>]) -> Registry {
    Registry::new(
        collectors.iter().map(|c| Arc::clone(c)).collect(),
        Duration::from_secs(5),
        Arc::new(ExporterStats::default()),
    )
}

/// `pg_up` per `server` label in a registry's output.
fn pg_up(fams: &[Family], server: &str) -> f64 {
    value(fams, "pg_up", &[("server", server)])
}

/// Fields drop in order: sessions first, then the replica, the primary, and
/// the runtime last.
struct Env {
    /// An idle session, so `pg_process_idle_seconds` has something to count.
    _idle: sqlx::PgConnection,
    primary_collector: Arc<dyn Collector>,
    replica_collector: Arc<dyn Collector>,
    replica: PgServer,
    primary: Mutex<PgServer>,
    rt: tokio::runtime::Runtime,
}

impl Env {
    fn start() -> Env {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let primary = PgServer::start_primary().expect("start the primary");
        primary
            .query("CREATE DATABASE appdb")
            .expect("create appdb");
        primary
            .query_db(
                "appdb",
                "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)",
            )
            .expect("create a table");
        let replica = primary.start_replica().expect("start the replica");
        replica
            .wait_caught_up(&primary)
            .expect("replica catches up");
        let primary_collector = collector(&primary.dsn(), true);
        let replica_collector = collector(&replica.dsn(), false);
        let idle = rt
            .block_on(async {
                use sqlx::ConnectOptions;
                let options: sqlx::postgres::PgConnectOptions = primary.dsn().parse()?;
                options
                    .application_name("vigil-idle-holder")
                    .connect()
                    .await
            })
            .expect("an idle session");
        Env {
            rt,
            primary: Mutex::new(primary),
            replica,
            primary_collector,
            replica_collector,
            _idle: idle,
        }
    }

    fn collect(&self, c: &Arc<dyn Collector>) -> Result<Vec<Family>, CollectError> {
        self.rt.block_on(c.collect())
    }

    fn primary(&self) -> std::sync::MutexGuard<'_, PgServer> {
        self.primary.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn collector(dsn: &str, auto_discover: bool) -> Arc<dyn Collector> {
    build(&PostgresTarget {
        dsn: Some(vigil_common::Secret::new(dsn)),
        dsn_file: None,
        server: None,
        timeout: Some(Duration::from_secs(5)),
        labels: [("cluster".to_string(), "test".to_string())].into(),
        auto_discover_databases: auto_discover,
        exclude_databases: Vec::new(),
    })
    .expect("build the collector")
}

fn family<'a>(fams: &'a [Family], name: &str) -> &'a Family {
    fams.iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no family {name}"))
}

/// The value of the one sample of `name` whose labels include `want`.
fn value(fams: &[Family], name: &str, want: &[(&str, &str)]) -> f64 {
    let matching: Vec<f64> = family(fams, name)
        .samples
        .iter()
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.iter().any(|(n, x)| n == k && x == v))
        })
        .map(|s| s.value)
        .collect();
    assert_eq!(matching.len(), 1, "{name}{want:?}: {matching:?}");
    matching[0]
}

fn psql_f64(server: &PgServer, sql: &str) -> f64 {
    let text = server.query(sql).expect(sql);
    text.parse()
        .unwrap_or_else(|_| panic!("{sql} gave {text:?}"))
}

/// The postgres rows of the shared contract: (family, type, label names).
fn contract() -> Vec<(String, String, BTreeSet<String>)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/anchors/contract.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the contract {} is needed: {e}", path.display()));
    text.lines()
        .filter(|l| l.starts_with("postgres\t"))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let labels = cols[3]
                .split(',')
                .filter(|l| *l != "-")
                .map(str::to_string)
                .collect();
            (cols[1].to_string(), cols[2].to_string(), labels)
        })
        .collect()
}

fn contract_families(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.primary_collector)?;
    assert!(
        env.primary_collector
            .target_labels()
            .contains(&("server".to_string(), env.primary().server_label()))
    );
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    let rows = contract();
    for (name, kind, labels) in &rows {
        if name == "pg_up" {
            continue; // written by the registry
        }
        let Some(f) = fams.iter().find(|f| &f.name == name) else {
            missing.push(name.clone());
            continue;
        };
        if f.kind.as_str() != kind {
            wrong.push(format!("{name}: type {} != {kind}", f.kind.as_str()));
        }
        if f.samples.is_empty() {
            wrong.push(format!("{name}: no samples"));
        }
        for s in &f.samples {
            let mut got: BTreeSet<String> = s.labels.iter().map(|(n, _)| n.clone()).collect();
            got.insert("server".into()); // added by the registry from target_labels()
            let mut want = labels.clone();
            if f.kind == MetricType::Histogram && s.suffix != "_bucket" {
                want.remove("le");
            }
            if got != want {
                wrong.push(format!("{name}{}: labels {got:?} != {want:?}", s.suffix));
                break;
            }
        }
    }
    let present = rows.len() - 1 - missing.len();
    println!(
        "families: {present}/{} (pg_up from the registry)",
        rows.len() - 1
    );
    assert!(missing.is_empty(), "missing: {missing:?}");
    assert!(wrong.is_empty(), "{wrong:#?}");
    Ok(())
}

/// Not a speed assertion (DESIGN: benchmarks measure speed): prints the
/// median collection time over 20 collections with a kept connection, and
/// the output's size, for the record.
fn repeated_collections_reuse_the_connection(env: &Env) -> Result<(), Failed> {
    let backend_pids = || {
        env.primary()
            .query("SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE application_name = 'vigil-exporter'")
            .map_err(|e| e.to_string())
    };
    env.collect(&env.primary_collector)?;
    let before = backend_pids()?;
    let mut times = Vec::new();
    let mut samples = 0;
    for _ in 0..20 {
        let start = Instant::now();
        let fams = env.collect(&env.primary_collector)?;
        times.push(start.elapsed());
        samples = fams.iter().map(|f| f.samples.len()).sum();
    }
    times.sort();
    println!(
        "median collection {:?} over 20, {samples} samples",
        times[10]
    );
    assert_eq!(
        backend_pids()?,
        before,
        "the same backend served every collection"
    );
    Ok(())
}

fn settings_match_the_server(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.primary_collector)?;
    let primary = env.primary();
    let get = |name: &str| family(&fams, name).samples[0].value;
    assert_eq!(get("pg_settings_port"), f64::from(primary.port()));
    assert_eq!(get("pg_settings_max_connections"), 50.0);
    assert_eq!(
        get("pg_settings_fsync"),
        0.0,
        "the test servers run with fsync=off"
    );
    let shared_buffers = psql_f64(
        &primary,
        "SELECT setting::float8 * 8192 FROM pg_settings WHERE name = 'shared_buffers'",
    );
    assert_eq!(get("pg_settings_shared_buffers_bytes"), shared_buffers);
    let checkpoint = psql_f64(
        &primary,
        "SELECT setting::float8 FROM pg_settings WHERE name = 'checkpoint_timeout'",
    );
    assert_eq!(get("pg_settings_checkpoint_timeout_seconds"), checkpoint);
    assert_eq!(get("pg_settings_bgwriter_delay_seconds"), 0.2);
    assert!(
        fams.iter()
            .all(|f| !f.name.starts_with("pg_settings_datestyle"))
    );
    Ok(())
}

fn database_and_table_statistics(env: &Env) -> Result<(), Failed> {
    let primary = env.primary();
    primary
        .query_db("appdb", "INSERT INTO t VALUES (3)")
        .map_err(|e| e.to_string())?;
    let fams = env.collect(&env.primary_collector)?;
    let static_labels = &family(&fams, "pg_static").samples[0].labels;
    let short = primary
        .query("SHOW server_version")
        .map_err(|e| e.to_string())?;
    let short = vigil_exporter::collectors::postgres::short_version(&short);
    assert!(static_labels.contains(&("short_version".into(), short)));
    assert!(value(&fams, "pg_database_size_bytes", &[("datname", "appdb")]) > 1e6);
    assert!(
        value(
            &fams,
            "pg_stat_database_xact_commit",
            &[("datname", "postgres")]
        ) > 0.0
    );
    // Discovered database: its tables, with the database in `datname`.
    let inserted = value(
        &fams,
        "pg_stat_user_tables_n_tup_ins",
        &[
            ("datname", "appdb"),
            ("schemaname", "public"),
            ("relname", "t"),
        ],
    );
    // Statistics reach the view asynchronously; at least the first two rows.
    assert!(inserted >= 2.0, "n_tup_ins {inserted}");
    let idle = family(&fams, "pg_process_idle_seconds");
    assert!(idle.samples.iter().any(|s| {
        s.labels
            .contains(&("application_name".into(), "vigil-idle-holder".into()))
    }));
    let start = value(&fams, "pg_postmaster_start_time_seconds", &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        start > now - 3600.0 && start <= now + 1.0,
        "start {start} now {now}"
    );
    Ok(())
}

fn replica_and_primary_roles(env: &Env) -> Result<(), Failed> {
    let on_primary = env.collect(&env.primary_collector)?;
    assert_eq!(value(&on_primary, "pg_replication_is_replica", &[]), 0.0);
    assert_eq!(value(&on_primary, "pg_replication_lag_seconds", &[]), 0.0);
    assert_eq!(value(&on_primary, "pg_replication_lag", &[]), 0.0);
    let on_replica = env.collect(&env.replica_collector)?;
    assert_eq!(value(&on_replica, "pg_replication_is_replica", &[]), 1.0);
    assert!(
        family(&on_replica, "pg_stat_replication_pg_wal_lsn_diff")
            .samples
            .is_empty()
    );
    Ok(())
}

/// postgres_exporter 0.11 reports an ever-growing lag here; a caught-up idle
/// standby must stay at 0 over several seconds of scrapes.
fn idle_caught_up_standby_has_zero_lag(env: &Env) -> Result<(), Failed> {
    // A replayed commit gives the standby a last-replay timestamp, which is
    // what 0.11's formula counts from; without one both formulas say 0.
    env.primary()
        .query_db("appdb", "INSERT INTO t VALUES (10)")
        .map_err(|e| e.to_string())?;
    env.replica
        .wait_caught_up(&env.primary())
        .map_err(|e| e.to_string())?;
    let until = Instant::now() + Duration::from_secs(3);
    let mut scrapes = 0;
    while Instant::now() < until {
        let fams = env.collect(&env.replica_collector)?;
        let lag = value(&fams, "pg_replication_lag_seconds", &[]);
        let received = psql_f64(
            &env.replica,
            "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())",
        );
        // A WAL record may arrive between the two reads; only a standby that
        // had nothing left to replay must show exactly 0.
        if received == 0.0 {
            assert_eq!(lag, 0.0, "caught-up standby reported lag {lag}");
            assert_eq!(value(&fams, "pg_replication_lag", &[]), 0.0);
        }
        scrapes += 1;
        std::thread::sleep(Duration::from_millis(100)); // scrape interval, not a wait
    }
    assert!(scrapes >= 10, "only {scrapes} scrapes in 3 s");
    let stamp = psql_f64(
        &env.replica,
        "SELECT count(*) FROM (SELECT pg_last_xact_replay_timestamp() AS t) x WHERE t IS NOT NULL",
    );
    assert_eq!(stamp, 1.0, "the standby has replayed a transaction");
    Ok(())
}

/// With replay paused, WAL arrives but is not applied: the lag is the real
/// delay (> 0) on the standby, and the primary sees replay bytes behind.
/// After resuming, both come back to 0.
fn paused_replay_shows_real_lag(env: &Env) -> Result<(), Failed> {
    let replica = &env.replica;
    let app = replica.application_name().unwrap();
    replica
        .query("SELECT pg_wal_replay_pause()")
        .map_err(|e| e.to_string())?;
    struct Resume<'a>(&'a PgServer);
    impl Drop for Resume<'_> {
        fn drop(&mut self) {
            let _ = self.0.query("SELECT pg_wal_replay_resume()");
        }
    }
    let _resume = Resume(replica);
    env.primary()
        .query_db("appdb", "INSERT INTO t VALUES (100)")
        .map_err(|e| e.to_string())?;
    vigil_tests::process::wait_until(
        "the standby to receive WAL it does not replay",
        Duration::from_secs(30),
        || {
            replica
                .query("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")
                .is_ok_and(|t| t == "t")
        },
    );
    let fams = env.collect(&env.replica_collector)?;
    let lag = value(&fams, "pg_replication_lag_seconds", &[]);
    assert!(
        lag > 0.0,
        "paused standby with pending WAL reported lag {lag}"
    );
    let on_primary = env.collect(&env.primary_collector)?;
    let behind = value(
        &on_primary,
        "pg_stat_replication_replay_lag_bytes",
        &[("application_name", &app)],
    );
    assert!(behind > 0.0, "replay_lag_bytes {behind}");
    drop(_resume);
    replica
        .wait_caught_up(&env.primary())
        .map_err(|e| e.to_string())?;
    let fams = env.collect(&env.replica_collector)?;
    assert_eq!(value(&fams, "pg_replication_lag_seconds", &[]), 0.0);
    Ok(())
}

fn per_standby_statistics(env: &Env) -> Result<(), Failed> {
    let replica = &env.replica;
    replica
        .wait_caught_up(&env.primary())
        .map_err(|e| e.to_string())?;
    let fams = env.collect(&env.primary_collector)?;
    let app = replica.application_name().unwrap();
    let slot = replica.slot_name().unwrap();
    let who = [
        ("application_name", app.as_str()),
        ("client_addr", "127.0.0.1"),
        ("slot_name", slot.as_str()),
        ("state", "streaming"),
    ];
    assert_eq!(
        family(&fams, "pg_stat_replication_pg_wal_lsn_diff")
            .samples
            .len(),
        1
    );
    assert!(value(&fams, "pg_stat_replication_pg_current_wal_lsn_bytes", &who) > 0.0);
    assert!(value(&fams, "pg_stat_replication_reply_time", &who) > 1.7e9);
    for stage in ["sent", "write", "flush", "replay"] {
        let bytes = value(
            &fams,
            &format!("pg_stat_replication_{stage}_lag_bytes"),
            &who,
        );
        assert!(bytes >= 0.0, "{stage}: {bytes}");
    }
    for stage in ["write", "flush", "replay"] {
        let secs = value(
            &fams,
            &format!("pg_stat_replication_{stage}_lag_seconds"),
            &who,
        );
        assert!(secs.is_finite() && secs >= 0.0, "{stage}: {secs}");
    }
    Ok(())
}

fn wrong_password_never_leaks(env: &Env) -> Result<(), Failed> {
    let dsn = env.primary().dsn_with(WRONG_PASSWORD, "postgres");
    let server = env.primary().server_label();
    let c = collector(&dsn, false);
    let err = env.collect(&c).expect_err("a wrong password must fail");
    let text = format!("{err} {err:?}");
    assert_eq!(err.kind, "auth", "{text}");
    assert!(!text.contains(WRONG_PASSWORD), "password leaked: {text}");
    assert!(!text.contains(&dsn), "DSN leaked: {text}");
    assert!(text.contains(&server), "{text}");
    // Through the registry: pg_up 0 for this target, the reason logged, and
    // neither the exposition (both formats) nor the logs hold the secret.
    let fams = env
        .rt
        .block_on(registry(&[&c, &env.replica_collector]).gather());
    assert_eq!(pg_up(&fams, &server), 0.0);
    assert_eq!(pg_up(&fams, &env.replica.server_label()), 1.0);
    for format in [Format::Text, Format::OpenMetrics] {
        let body = encode(&fams, format);
        assert!(!body.contains(WRONG_PASSWORD), "password in /metrics");
        assert!(body.contains("pg_replication_is_replica"));
    }
    let logs = LOGS.get().expect("logs captured").text();
    assert!(
        logs.contains("password authentication failed"),
        "reason not logged"
    );
    assert!(!logs.contains(WRONG_PASSWORD), "password in the logs");
    Ok(())
}

/// Stop the primary: its collection fails, the replica's does not. Start it
/// again: the same collector succeeds, without being rebuilt.
fn primary_stop_and_start(env: &Env) -> Result<(), Failed> {
    let registry = registry(&[&env.primary_collector, &env.replica_collector]);
    let (primary, replica) = (env.primary().server_label(), env.replica.server_label());
    let fams = env.rt.block_on(registry.gather());
    assert_eq!((pg_up(&fams, &primary), pg_up(&fams, &replica)), (1.0, 1.0));

    env.primary().stop().map_err(|e| e.to_string())?;
    let err = env
        .collect(&env.primary_collector)
        .expect_err("collecting from a stopped server must fail");
    assert_eq!(err.kind, "connect", "{err}");
    let fams = env.rt.block_on(registry.gather());
    assert_eq!(pg_up(&fams, &primary), 0.0);
    assert_eq!(pg_up(&fams, &replica), 1.0, "the replica is unaffected");
    assert_eq!(
        value(&fams, "pg_replication_is_replica", &[("server", &replica)]),
        1.0
    );

    env.primary().start().map_err(|e| e.to_string())?;
    let fams = env.rt.block_on(registry.gather());
    assert_eq!((pg_up(&fams, &primary), pg_up(&fams, &replica)), (1.0, 1.0));
    assert_eq!(
        value(&fams, "pg_replication_is_replica", &[("server", &primary)]),
        0.0
    );
    // A restart between two scrapes: the kept connection is dead, the next
    // scrape notices (ping) and reconnects within the same collection.
    {
        let mut primary = env.primary();
        primary.stop().map_err(|e| e.to_string())?;
        primary.start().map_err(|e| e.to_string())?;
    }
    let fams = env.rt.block_on(registry.gather());
    assert_eq!(pg_up(&fams, &primary), 1.0);
    Ok(())
}

type TrialFn = fn(&Env) -> Result<(), Failed>;

fn main() {
    let mut args = Arguments::from_args();
    capture_logs();
    // Trials share the servers and the last ones stop the primary: one at a
    // time, in order.
    args.test_threads = Some(1);
    let trials: [(&str, TrialFn); 10] = [
        ("contract_families", contract_families),
        (
            "repeated_collections_reuse_the_connection",
            repeated_collections_reuse_the_connection,
        ),
        ("settings_match_the_server", settings_match_the_server),
        (
            "database_and_table_statistics",
            database_and_table_statistics,
        ),
        ("replica_and_primary_roles", replica_and_primary_roles),
        (
            "idle_caught_up_standby_has_zero_lag",
            idle_caught_up_standby_has_zero_lag,
        ),
        ("paused_replay_shows_real_lag", paused_replay_shows_real_lag),
        ("per_standby_statistics", per_standby_statistics),
        ("wrong_password_never_leaks", wrong_password_never_leaks),
        ("primary_stop_and_start", primary_stop_and_start),
    ];
    let wanted = |name: &str| {
        let probe = Trial::test(name, || Ok(()));
        !args.is_filtered_out(&probe)
    };
    let env: Option<Arc<Env>> =
        (!args.list && trials.iter().any(|(n, _)| wanted(n))).then(|| Arc::new(Env::start()));
    let trials = trials
        .into_iter()
        .map(|(name, f)| {
            let env = env.clone();
            Trial::test(name, move || match env {
                Some(env) => f(&env),
                None => Err("servers not started".into()),
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(env); // stops the servers before exiting
    conclusion.exit();
}
