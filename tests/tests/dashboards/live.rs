//! The monitored stack for the end-to-end dashboard test, on loopback:
//! PostgreSQL primary + streaming replica, Redis master + replica (with a
//! `maxmemory`, a key, and lookups) watched by three Sentinels (the Redis
//! failover row's Sentinel panels), three demo apps behind HAProxy (with
//! traffic), vigil-exporter watching all of it, Debian's Prometheus
//! scraping it with the repository's rules, and vigil (in this process)
//! scraping the same exporter. Everything stops when [`Stack`] is dropped.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use vigil_test_support::free_port;
use vigil_test_support::{ChildGuard, wait_for_tcp};
use vigil_tests::demo_app::{AppOptions, AppState, DemoApp};
use vigil_tests::exporter::{ExporterProcess, http_client};
use vigil_tests::haproxy::{HaproxyOptions, HaproxyServer};
use vigil_tests::postgres::PgServer;
use vigil_tests::redis::{RedisOptions, RedisServer};
use vigil_tests::sentinel::Sentinel;

const REDIS_PASSWORD: &str = "dashboards-redis-pw";
const HAPROXY_PASSWORD: &str = "dashboards-haproxy-pw";
/// Both Prometheus and vigil scrape this often: a 10 s `$__rate_interval`
/// then spans many samples.
const SCRAPE: &str = "1s";

pub struct Stack {
    pub prometheus: String,
    pub vigil: String,
    _pg: (PgServer, PgServer),
    _redis: (RedisServer, RedisServer),
    _sentinels: Vec<Sentinel>,
    _apps: Vec<DemoApp>,
    _haproxy: HaproxyServer,
    _exporter: ExporterProcess,
    _prometheus: ChildGuard,
    _dir: tempfile::TempDir,
    stop_traffic: Arc<AtomicBool>,
    stop_vigil: Option<oneshot::Sender<()>>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop_traffic.store(true, Ordering::Relaxed);
        if let Some(stop) = self.stop_vigil.take() {
            let _ = stop.send(());
        }
    }
}

fn exporter_config(
    pg: &(PgServer, PgServer),
    redis: &(RedisServer, RedisServer),
    sentinels: &[Sentinel],
    h: &HaproxyServer,
    apps: &[DemoApp],
) -> String {
    let mut c = format!(
        "global:\n  timeout: 5s\npostgres:\n  - dsn: {}\n    auto_discover_databases: true\n  - dsn: {}\n",
        pg.0.dsn(),
        pg.1.dsn()
    );
    c += "redis:\n";
    for r in [&redis.0, &redis.1] {
        c += &format!("  - address: {}\n    password: {REDIS_PASSWORD}\n", r.url());
    }
    for s in sentinels {
        c += &format!("  - address: {}\n", s.url());
    }
    c += &format!(
        "haproxy:\n  - url: {}\n    username: admin\n    password: {HAPROXY_PASSWORD}\n    socket: {}\napps:\n",
        h.stats_url(),
        h.socket().display()
    );
    for (i, app) in apps.iter().enumerate() {
        c += &format!(
            "  - url: {}\n    instance: api-{}\n    labels: {{ job: cartae-api }}\n",
            app.url(),
            i + 1
        );
    }
    c
}

/// The scrape jobs both Prometheus and vigil run, under the same names so
/// their series carry the same labels.
fn scrape_configs(exporter: &str, vigil: &str) -> String {
    format!(
        "scrape_configs:\n  - job_name: vigil-exporter\n    honor_labels: true\n    static_configs:\n      - targets: ['{exporter}']\n  - job_name: vigil\n    static_configs:\n      - targets: ['{vigil}']\n"
    )
}

impl Stack {
    pub async fn start() -> Stack {
        let pg_primary = PgServer::start_primary().expect("start PostgreSQL primary");
        let pg_replica = pg_primary
            .start_replica()
            .expect("start PostgreSQL replica");
        pg_replica
            .wait_caught_up(&pg_primary)
            .expect("replica catches up");
        let master = RedisServer::start_master(Some(REDIS_PASSWORD)).expect("redis master");
        master
            .cli(&["CONFIG", "SET", "maxmemory", "64mb"])
            .expect("set maxmemory");
        master
            .cli(&["SET", "dashboards:key", "v", "EX", "3600"])
            .expect("SET a key");
        let replica = RedisServer::start_with(RedisOptions {
            password: Some(REDIS_PASSWORD.into()),
            replica_of: Some(master.addr()),
            ..Default::default()
        })
        .expect("redis replica");
        let sentinels = Sentinel::start_group(3, master.addr(), Some(REDIS_PASSWORD), 1)
            .expect("start three redis-sentinel");
        let mut apps = Vec::new();
        for (i, state) in [AppState::Healthy, AppState::Healthy, AppState::Degraded]
            .into_iter()
            .enumerate()
        {
            let mut opts = AppOptions::new(format!("api-{}", i + 1));
            opts.initial = state;
            apps.push(DemoApp::start(opts).await.expect("demo app"));
        }
        let haproxy = HaproxyServer::start(HaproxyOptions {
            servers: apps.iter().map(|a| a.addr).collect(),
            stats_user: "admin".into(),
            stats_password: HAPROXY_PASSWORD.into(),
            tls: false,
        })
        .expect("start haproxy");
        let pg = (pg_primary, pg_replica);
        let redis = (master, replica);
        let exporter =
            ExporterProcess::start(&exporter_config(&pg, &redis, &sentinels, &haproxy, &apps));

        let dir = tempfile::tempdir().unwrap();
        let vigil_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let vigil_addr = vigil_listener.local_addr().unwrap().to_string();
        let jobs = scrape_configs(&exporter.addr.to_string(), &vigil_addr);
        let stop_vigil = start_vigil(&dir, vigil_listener, &jobs).await;
        let (prometheus, guard) = start_prometheus(&dir, &jobs);
        let stop_traffic = Arc::new(AtomicBool::new(false));
        traffic(haproxy.web_url(), &redis.0, stop_traffic.clone());
        Stack {
            prometheus,
            vigil: format!("http://{vigil_addr}"),
            _pg: pg,
            _redis: redis,
            _sentinels: sentinels,
            _apps: apps,
            _haproxy: haproxy,
            _exporter: exporter,
            _prometheus: guard,
            _dir: dir,
            stop_traffic,
            stop_vigil: Some(stop_vigil),
        }
    }
}

/// vigil in this process, as `vigil run` assembles it.
async fn start_vigil(
    dir: &tempfile::TempDir,
    listener: tokio::net::TcpListener,
    jobs: &str,
) -> oneshot::Sender<()> {
    let path = dir.path().join("vigil.yml");
    std::fs::write(
        &path,
        format!("global:\n  scrape_interval: {SCRAPE}\n  scrape_timeout: {SCRAPE}\n{jobs}"),
    )
    .unwrap();
    let config = vigil::config::Config::load(&path).unwrap_or_else(|e| panic!("vigil config: {e}"));
    let options = vigil::server::Options::new(Some(path), Arc::new(vigil::clock::SystemClock));
    let vigil = vigil::server::load(config, options)
        .await
        .unwrap_or_else(|e| panic!("vigil: {e}"));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = vigil
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await;
    });
    stop
}

/// Debian's Prometheus with the rule files of `rules/` (as the compose
/// stack mounts them) and the same scrape jobs.
fn start_prometheus(dir: &tempfile::TempDir, jobs: &str) -> (String, ChildGuard) {
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    for entry in std::fs::read_dir(repo).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
        }
    }
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: {SCRAPE}\n  scrape_timeout: {SCRAPE}\n  evaluation_interval: {SCRAPE}\nrule_files:\n  - rules/*.rules.yml\n{jobs}"),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("prometheus.log")).unwrap(),
        ))
        .spawn()
        .expect("run prometheus (apt-get install -y prometheus)");
    let guard = ChildGuard::new("prometheus", child);
    wait_for_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(30));
    (format!("http://127.0.0.1:{port}"), guard)
}

/// Requests through HAProxy and Redis lookups (a hit and a miss) every
/// 100 ms, so that request rates, 5xx and hit ratios have a denominator.
fn traffic(web: String, redis: &RedisServer, stop: Arc<AtomicBool>) {
    let http_stop = stop.clone();
    tokio::spawn(async move {
        let client = http_client();
        while !http_stop.load(Ordering::Relaxed) {
            let _ = client.get(&web).send().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let port = redis.port().to_string();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            for key in ["dashboards:key", "dashboards:missing"] {
                let _ = Command::new("redis-cli")
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &port,
                        "--no-auth-warning",
                        "-a",
                        REDIS_PASSWORD,
                        "GET",
                        key,
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
}

/// The label sets an instant query returns (`Err` for an error answer);
/// a scalar answer is one empty label set.
pub async fn series(base: &str, query: &str) -> Result<Vec<BTreeMap<String, String>>, String> {
    let mut url = reqwest::Url::parse(&format!("{base}/api/v1/query")).unwrap();
    url.query_pairs_mut().append_pair("query", query);
    let body: Value = http_client()
        .get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    if body["status"] != "success" {
        return Err(format!("{}: {}", body["errorType"], body["error"]));
    }
    let data = &body["data"];
    if data["resultType"] == "scalar" {
        return Ok(vec![BTreeMap::new()]);
    }
    let mut out: Vec<BTreeMap<String, String>> = data["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| serde_json::from_value(s["metric"].clone()).unwrap_or_default())
        .collect();
    out.sort();
    Ok(out)
}
