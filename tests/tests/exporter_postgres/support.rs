//! Shared pieces of the exporter_postgres trials: the servers and
//! collectors started once, log capture, and lookups in collected families.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vigil_exporter::collectors::postgres::{OptIn, PostgresTarget, build};
use vigil_exporter::collectors::{CollectError, Collector};
use vigil_exporter::metrics::Family;
use vigil_exporter::registry::{ExporterStats, Registry};
use vigil_tests::postgres::PgServer;

/// Everything the code under test logs (all levels), so a trial can check
/// that no secret is ever written there.
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub(crate) fn text(&self) -> String {
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

pub(crate) static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();

pub(crate) fn capture_logs() {
    let logs = LOGS.get_or_init(Logs::default).clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs)
        .init();
}

/// A registry over `collectors`, as the exporter builds it.
pub(crate) fn registry(collectors: &[&Arc<dyn Collector>]) -> Registry {
    Registry::new(
        collectors.iter().map(|c| Arc::clone(c)).collect(),
        Duration::from_secs(5),
        Arc::new(ExporterStats::default()),
    )
}

/// `pg_up` per `server` label in a registry's output.
pub(crate) fn pg_up(fams: &[Family], server: &str) -> f64 {
    value(fams, "pg_up", &[("server", server)])
}

/// Fields drop in order: sessions first, then the replica, the primary, and
/// the runtime last.
pub(crate) struct Env {
    /// An idle session, so `pg_process_idle_seconds` has something to count.
    pub(crate) _idle: sqlx::PgConnection,
    pub(crate) primary_collector: Arc<dyn Collector>,
    pub(crate) replica_collector: Arc<dyn Collector>,
    pub(crate) replica: PgServer,
    pub(crate) primary: Mutex<PgServer>,
    pub(crate) rt: tokio::runtime::Runtime,
}

impl Env {
    pub(crate) fn start() -> Env {
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
        primary
            .archive_one_segment()
            .expect("archive a WAL segment");
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

    pub(crate) fn collect(&self, c: &Arc<dyn Collector>) -> Result<Vec<Family>, CollectError> {
        self.rt.block_on(c.collect())
    }

    pub(crate) fn primary(&self) -> std::sync::MutexGuard<'_, PgServer> {
        self.primary.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) fn collector(dsn: &str, auto_discover: bool) -> Arc<dyn Collector> {
    collector_with_timeout(dsn, auto_discover, Duration::from_secs(5))
}

pub(crate) fn collector_with_timeout(
    dsn: &str,
    auto_discover: bool,
    timeout: Duration,
) -> Arc<dyn Collector> {
    collector_from(target(dsn, auto_discover, timeout))
}

/// The target the trials use: static label `cluster="test"`, everything
/// else as the configuration's defaults.
pub(crate) fn target(dsn: &str, auto_discover: bool, timeout: Duration) -> PostgresTarget {
    PostgresTarget {
        dsn: Some(vigil_common::Secret::new(dsn)),
        dsn_file: None,
        server: None,
        timeout: Some(timeout),
        labels: [("cluster".to_string(), "test".to_string())].into(),
        auto_discover_databases: auto_discover,
        collectors: OptIn::default(),
        stat_statements_limit: None,
        stat_statements_include_query: false,
        stat_statements_query_length: None,
        queries_file: None,
        exclude_databases: Vec::new(),
    }
}

pub(crate) fn collector_from(target: PostgresTarget) -> Arc<dyn Collector> {
    build(&target, None, OptIn::default()).expect("build the collector")
}

pub(crate) fn family<'a>(fams: &'a [Family], name: &str) -> &'a Family {
    fams.iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no family {name}"))
}

/// The value of the one sample of `name` whose labels include `want`.
pub(crate) fn value(fams: &[Family], name: &str, want: &[(&str, &str)]) -> f64 {
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

pub(crate) fn psql_f64(server: &PgServer, sql: &str) -> f64 {
    let text = server.query(sql).expect(sql);
    text.parse()
        .unwrap_or_else(|_| panic!("{sql} gave {text:?}"))
}

/// The postgres rows of the shared contract: (family, type, label names).
pub(crate) fn contract() -> Vec<(String, String, BTreeSet<String>)> {
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

/// `promtool check metrics` on an exposition: the metric names it warns
/// about, with its message. promtool comes with Debian's `prometheus`
/// package, which scripts/test installs.
pub(crate) fn promtool_warnings(exposition: &str) -> Vec<(String, String)> {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is needed: apt-get install -y prometheus (scripts/test does)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(name, msg)| (name.to_string(), msg.to_string()))
        .collect()
}

/// A self-signed certificate for 127.0.0.1 that no test server uses (its
/// key is thrown away): a `sslrootcert` that must not verify anything.
pub(crate) fn unrelated_certificate(dir: &std::path::Path) -> PathBuf {
    let cert = dir.join("unrelated.crt");
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(dir.join("unrelated.key"))
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed (the openssl package)");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    cert
}
