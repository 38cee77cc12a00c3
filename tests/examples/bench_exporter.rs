//! The exporter benchmark's harness (run it through `scripts/bench/exporter`,
//! which builds vigil-exporter in release mode first). Not a test: it
//! prints figures and asserts nothing about speed.
//!
//! On one stack started here (PostgreSQL primary + streaming replica, Redis
//! master + replica, three demo apps behind HAProxy), side by side in one
//! run: Debian's prometheus-postgres-exporter (primary), prometheus-redis-
//! exporter (master), HAProxy's built-in exporter, and vigil-exporter with
//! all four sources (both PostgreSQL and both Redis servers, HAProxy by
//! stats page and socket, the three apps, PostgreSQL's opt-in collectors
//! on), and vigil-exporter with each
//! anchor's single target for like-for-like ratios. For each: median and p90 wall
//! time of a full `/metrics` scrape over `--scrapes` sequential scrapes
//! (after two warm-up scrapes, as a running Prometheus would have done;
//! one scrape of each exporter per round),
//! resident memory after them, CPU time per scrape (user + system from
//! `/proc/<pid>/stat`), the same for the PostgreSQL backends that serve its
//! connections (the servers' side of its scrapes), and the ratios to
//! vigil-exporter. From the full scrape's CPU (exporter and backends) it
//! prints the least wall time the machine's cores allow, and how far the
//! full scrape's ratio to postgres_exporter moves between blocks of 100
//! rounds of the same run.
//!
//! Scrapes ask for gzip, as Prometheus does; `--no-gzip` asks for plain
//! text instead, to see what compression costs each exporter. A scrape is
//! timed from the request to the last byte on the wire: the harness does
//! not decompress while timing (inflating a 250 KB body in a debug build of
//! it took a fifth of the machine's CPU away from the exporters under
//! measurement, more for the larger bodies). The body size is read once
//! afterwards, decompressed. `scripts/bench/exporter` builds the harness in
//! release mode: it is the scraper, and the client's own CPU weighs on
//! every exporter's time (a debug build added 0.3 ms to HAProxy's 0.6 ms).
//!
//! `--compare PATH` runs another build (an older commit's) on the same
//! stack in the same rounds, with the full configuration and with the
//! primary alone, so that a change is measured
//! against what it replaces under the same load.
//!
//! The three demo apps run as processes of a release build of
//! `vigil-demo-app` (`--demo-app PATH`, by default beside `--exporter`).
//!
//! Usage: `bench_exporter --exporter target/release/vigil-exporter [--compare OTHER] [--demo-app PATH] [--scrapes 30] [--no-gzip]`

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::signal::unix::{Signal, SignalKind, signal};
use vigil_test_support::free_port;
use vigil_test_support::{ChildGuard, wait_for_tcp};
use vigil_tests::demo_app::{AppOptions, AppState, start_child};
use vigil_tests::haproxy::{HaproxyOptions, HaproxyServer};
use vigil_tests::postgres::PgServer;
use vigil_tests::redis::RedisServer;

const REDIS_PASSWORD: &str = "bench-redis-pw";
const STATS_PASSWORD: &str = "bench-stats-pw";

/// One exporter under measurement.
struct Subject {
    name: &'static str,
    url: String,
    pid: u32,
}

/// What was measured for one subject.
struct Figures {
    median_ms: f64,
    p90_ms: f64,
    rss_mib: f64,
    /// Of which anonymous (heap and stacks), the rest being file pages.
    anonymous_mib: f64,
    /// The median of each block of [`BLOCK`] rounds, in order.
    block_medians: Vec<f64>,
    cpu_ms_per_scrape: f64,
    /// CPU of the PostgreSQL backends serving the exporter's connections,
    /// per scrape: the servers' side of its scrapes (`None`: it has none).
    backend_cpu_ms_per_scrape: Option<f64>,
    bytes: usize,
}

fn main() -> anyhow::Result<()> {
    let Args {
        exporter,
        compare,
        demo_app,
        scrapes,
        gzip,
    } = parse_args()?;
    vigil_common::install_crypto_provider();
    let rt = tokio::runtime::Runtime::new()?;
    // From here on SIGINT and SIGTERM end the measurement, not the
    // process: `main` returns and the guards stop every server started.
    let mut stop = rt.block_on(async { Stop::install() })?;

    eprintln!("starting PostgreSQL primary and replica, Redis master and replica, apps, HAProxy");
    let primary = PgServer::start_primary()?;
    primary.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")?;
    let pg_replica = primary.start_replica()?;
    pg_replica.wait_caught_up(&primary)?;
    let master = RedisServer::start_master(Some(REDIS_PASSWORD))?;
    let redis_replica = master.start_replica()?;
    // The apps run as release-built processes of their own, as a
    // service's would: served from the harness's process (then a debug
    // build), their nine probes per full scrape cost more CPU than the
    // exporter's own collection of them, on the same two cores as the
    // exporters under measurement.
    let mut apps: Vec<(ChildGuard, SocketAddr)> = Vec::new();
    for (i, state) in [AppState::Healthy, AppState::Healthy, AppState::Down]
        .into_iter()
        .enumerate()
    {
        let mut opts = AppOptions::new(format!("api-{}", i + 1));
        opts.initial = state;
        let port = free_port();
        let app = start_child(&demo_app, port, &opts).with_context(|| {
            format!(
                "cannot start {}; scripts/bench/exporter builds it",
                demo_app.display()
            )
        })?;
        apps.push((app, SocketAddr::from(([127, 0, 0, 1], port))));
    }
    let haproxy = HaproxyServer::start(HaproxyOptions {
        servers: apps.iter().map(|(_, addr)| *addr).collect(),
        stats_user: "admin".to_string(),
        stats_password: STATS_PASSWORD.to_string(),
        tls: false,
    })?;

    let dir = tempfile::Builder::new().prefix("vigil-bench-").tempdir()?;
    let full_config = vigil_config(
        &primary,
        &pg_replica,
        &master,
        &redis_replica,
        &haproxy,
        &apps,
    );

    let pg_port = free_port();
    let pg_exporter = spawn(
        "postgres_exporter",
        Command::new("prometheus-postgres-exporter")
            .env("DATA_SOURCE_NAME", primary.dsn())
            .arg(format!("--web.listen-address=127.0.0.1:{pg_port}")),
        pg_port,
    )?;
    let redis_port = free_port();
    let redis_exporter = spawn(
        "redis_exporter",
        Command::new("prometheus-redis-exporter")
            .arg(format!("-redis.addr={}", master.url()))
            .arg(format!("-redis.password={REDIS_PASSWORD}"))
            .arg(format!("-web.listen-address=127.0.0.1:{redis_port}")),
        redis_port,
    )?;
    // One vigil-exporter process of `binary` on `yaml`, on a free port.
    let start = |binary: &Path, name: &str, yaml: &str| -> anyhow::Result<(ChildGuard, u16)> {
        let path = dir.path().join(format!("{name}.yml"));
        std::fs::write(&path, yaml)?;
        let port = free_port();
        let guard = spawn(
            name,
            Command::new(binary)
                .arg("--config.file")
                .arg(&path)
                .arg("--web.listen-address")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--log.level")
                .arg("warn"),
            port,
        )?;
        Ok((guard, port))
    };
    let (vigil, vigil_port) = start(&exporter, "vigil-exporter", &full_config)?;

    // Like-for-like rows: vigil-exporter with the one target each anchor
    // scrapes, so each source's cost can be compared on its own.
    let single = |name: &str, yaml: String| start(&exporter, name, &yaml);
    let (vigil_pg, vigil_pg_port) = single(
        "vigil-postgres",
        format!("postgres:\n  - dsn: \"{}\"\n", primary.dsn()),
    )?;
    let (vigil_redis, vigil_redis_port) = single(
        "vigil-redis",
        format!(
            "redis:\n  - address: {}\n    password: {REDIS_PASSWORD}\n",
            master.url()
        ),
    )?;
    // The same two configurations on the build to compare with (every
    // build since the opt-in collectors came knows them).
    let compared = match &compare {
        Some(other) => {
            let mut started = Vec::new();
            for (name, yaml) in [
                ("compare-all", full_config.clone()),
                (
                    "compare-postgres",
                    format!("postgres:\n  - dsn: \"{}\"\n", primary.dsn()),
                ),
            ] {
                started.push(start(other, name, &yaml)?);
            }
            started
        }
        None => Vec::new(),
    };
    let (vigil_haproxy, vigil_haproxy_port) = single(
        "vigil-haproxy",
        format!(
            "haproxy:\n  - url: {}\n    username: admin\n    password: {STATS_PASSWORD}\n",
            haproxy.stats_url()
        ),
    )?;

    let mut subjects = vec![
        Subject {
            name: "postgres_exporter (primary)",
            url: format!("http://127.0.0.1:{pg_port}/metrics"),
            pid: pg_exporter.id(),
        },
        Subject {
            name: "redis_exporter (master)",
            url: format!("http://127.0.0.1:{redis_port}/metrics"),
            pid: redis_exporter.id(),
        },
        Subject {
            name: "haproxy built-in",
            url: haproxy.builtin_metrics_url(),
            pid: haproxy.pid().context("haproxy pid")?,
        },
        Subject {
            name: "vigil-exporter (all four)",
            url: format!("http://127.0.0.1:{vigil_port}/metrics"),
            pid: vigil.id(),
        },
        Subject {
            name: "vigil-exporter (primary only)",
            url: format!("http://127.0.0.1:{vigil_pg_port}/metrics"),
            pid: vigil_pg.id(),
        },
        Subject {
            name: "vigil-exporter (master only)",
            url: format!("http://127.0.0.1:{vigil_redis_port}/metrics"),
            pid: vigil_redis.id(),
        },
        Subject {
            name: "vigil-exporter (haproxy only)",
            url: format!("http://127.0.0.1:{vigil_haproxy_port}/metrics"),
            pid: vigil_haproxy.id(),
        },
    ];
    for ((guard, port), name) in compared
        .iter()
        .zip(["compared build (all four)", "compared build (primary only)"])
    {
        subjects.push(Subject {
            name,
            url: format!("http://127.0.0.1:{port}/metrics"),
            pid: guard.id(),
        });
    }
    // The timed client never decompresses; the other reads bodies whole.
    let client = reqwest::Client::new();
    let timed = Scraper {
        client: reqwest::Client::builder().no_gzip().build()?,
        accept_encoding: if gzip { "gzip" } else { "identity" },
    };
    check_vigil_is_up(&rt, &client, &subjects[3].url)?;

    // Two scrapes each, as a running Prometheus would have made, which
    // also opens every exporter's database connections.
    rt.block_on(stop.or(warm_up(&timed, &subjects)))?;
    let exporters: Vec<u32> = subjects.iter().map(|s| s.pid).collect();
    let backends = pg_backends(&exporters, &[&primary, &pg_replica])?;
    let measured = rt.block_on(stop.or(measure(&timed, &subjects, &backends, scrapes)))?;
    let mut rows = Vec::new();
    for (subject, mut figures) in subjects.iter().zip(measured) {
        figures.bytes = rt.block_on(async {
            let response = client.get(&subject.url).send().await?.error_for_status()?;
            anyhow::Ok(response.bytes().await?.len())
        })?;
        rows.push((subject.name, figures));
    }
    report(&rows, scrapes, gzip);
    let body = rt.block_on(async { client.get(&subjects[3].url).send().await?.text().await })?;
    println!("\nvigil-exporter's own view of one scrape (collectors run concurrently):");
    for line in body
        .lines()
        .filter(|l| l.starts_with("vigil_exporter_collector_duration_seconds{"))
    {
        println!("  {line}");
    }
    let (collect, total) = rt.block_on(stop.or(breakdown(&client, &subjects[3].url, scrapes)))?;
    println!(
        "vigil-exporter (all four), {scrapes} more scrapes, plain text: median {total:.2} ms, \
         of which collecting (its vigil_exporter_scrape_duration_seconds) {collect:.2} ms; \
         the rest is merging, encoding and the HTTP exchange"
    );
    Ok(())
}

/// SIGINT and SIGTERM, caught: a signal's default action would end the
/// process without dropping the guards, leaving every server running.
struct Stop {
    interrupt: Signal,
    terminate: Signal,
}

impl Stop {
    fn install() -> std::io::Result<Stop> {
        Ok(Stop {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// `work`'s result, or an error as soon as a signal has come (also
    /// one that came before).
    async fn or<T>(&mut self, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
        tokio::select! {
            result = work => result,
            _ = self.interrupt.recv() => bail!("interrupted (SIGINT); servers stopped"),
            _ = self.terminate.recv() => bail!("terminated (SIGTERM); servers stopped"),
        }
    }
}

/// Where a full scrape's time goes: the exporter's own collection time
/// (`vigil_exporter_scrape_duration_seconds`, which the registry measures
/// around the concurrent collections) against the wall time of the
/// request. Medians over `scrapes` uncompressed scrapes, in ms.
async fn breakdown(
    client: &reqwest::Client,
    url: &str,
    scrapes: usize,
) -> anyhow::Result<(f64, f64)> {
    let mut collect = Vec::with_capacity(scrapes);
    let mut total = Vec::with_capacity(scrapes);
    for _ in 0..scrapes {
        let started = Instant::now();
        let body = client
            .get(url)
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .send()
            .await?
            .text()
            .await?;
        total.push(started.elapsed().as_secs_f64() * 1e3);
        let seconds: f64 = body
            .lines()
            .find_map(|l| l.strip_prefix("vigil_exporter_scrape_duration_seconds "))
            .context("no vigil_exporter_scrape_duration_seconds")?
            .trim()
            .parse()?;
        collect.push(seconds * 1e3);
    }
    collect.sort_by(f64::total_cmp);
    total.sort_by(f64::total_cmp);
    Ok((percentile(&collect, 0.5), percentile(&total, 0.5)))
}

/// The command line.
struct Args {
    /// The build under test.
    exporter: PathBuf,
    /// Another build to compare with in the same run.
    compare: Option<PathBuf>,
    /// A release build of `vigil-demo-app` (by default, beside `exporter`).
    demo_app: PathBuf,
    scrapes: usize,
    gzip: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut exporter = None;
    let mut compare = None;
    let mut demo_app = None;
    let mut scrapes = 30;
    let mut gzip = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exporter" => exporter = args.next().map(PathBuf::from),
            "--compare" => compare = args.next().map(PathBuf::from),
            "--demo-app" => demo_app = args.next().map(PathBuf::from),
            "--scrapes" => scrapes = args.next().context("--scrapes N")?.parse()?,
            "--no-gzip" => gzip = false,
            other => bail!("unknown argument {other}"),
        }
    }
    let exporter: PathBuf =
        exporter.context("--exporter PATH (a release build of vigil-exporter)")?;
    if scrapes < 20 {
        bail!("--scrapes must be at least 20 for a meaningful median");
    }
    let demo_app = demo_app.unwrap_or_else(|| exporter.with_file_name("vigil-demo-app"));
    Ok(Args {
        exporter,
        compare,
        demo_app,
        scrapes,
        gzip,
    })
}

fn vigil_config(
    primary: &PgServer,
    pg_replica: &PgServer,
    master: &RedisServer,
    redis_replica: &RedisServer,
    haproxy: &HaproxyServer,
    apps: &[(ChildGuard, SocketAddr)],
) -> String {
    // With the opt-in collectors on, as a user who wants them all would
    // run it (pg_stat_statements is installed on the primary).
    let mut yaml = format!(
        "global:\n  collectors: {{ stat_statements: true, long_running_transactions: true, stat_user_indexes: true }}\n\
         postgres:\n  - dsn: \"{}\"\n  - dsn: \"{}\"\nredis:\n",
        primary.dsn(),
        pg_replica.dsn()
    );
    for server in [master, redis_replica] {
        yaml += &format!(
            "  - address: {}\n    password: {REDIS_PASSWORD}\n",
            server.url()
        );
    }
    yaml += &format!(
        "haproxy:\n  - url: {}\n    username: admin\n    password: {STATS_PASSWORD}\n    socket: {}\napps:\n",
        haproxy.stats_url(),
        haproxy.socket().display()
    );
    for (_, addr) in apps {
        yaml += &format!("  - url: http://{addr}\n    timeout: 1s\n");
    }
    yaml
}

fn spawn(name: &str, command: &mut Command, port: u16) -> anyhow::Result<ChildGuard> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!("cannot start {name}; see scripts/bench/exporter for what to install")
        })?;
    let guard = ChildGuard::new(name, child);
    wait_for_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(30));
    Ok(guard)
}

/// A benchmark of an exporter whose targets are down would measure errors:
/// every `pg_up`, `redis_up` and `haproxy_up` of vigil-exporter must be 1
/// (one app is down on purpose, as in the tests).
fn check_vigil_is_up(
    rt: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<()> {
    let body = rt.block_on(async { client.get(url).send().await?.text().await })?;
    let down: Vec<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            let name = l.split(['{', ' ']).next().unwrap_or("");
            ["pg_up", "redis_up", "haproxy_up"].contains(&name) && l.ends_with(" 0")
        })
        .collect();
    if !down.is_empty() {
        bail!("vigil-exporter reports targets down: {down:?}");
    }
    Ok(())
}

/// Scrapes the subjects in rounds, one scrape of each per round, so that
/// whatever else the machine does over the run weighs on all of them alike
/// (measured one after another, the same exporter varied by half between
/// runs of a few seconds), each round in a shuffled order.
async fn measure(
    scraper: &Scraper,
    subjects: &[Subject],
    backends: &[Vec<u32>],
    scrapes: usize,
) -> anyhow::Result<Vec<Figures>> {
    let mut cpu_before = Vec::with_capacity(subjects.len());
    for subject in subjects {
        cpu_before.push(cpu_seconds(subject.pid)?);
    }
    let backend_before: Vec<Option<f64>> = backends.iter().map(|p| cpu_of_all(p)).collect();
    let mut times = vec![Vec::with_capacity(scrapes); subjects.len()];
    // Each round in its own order (the same orders on every run): what a
    // scrape leaves running behind it (a Go exporter's garbage collection,
    // vigil-exporter's heap trim, a backend's statistics) then weighs on
    // every subject alike, not on whichever always comes next.
    let mut rng = fastrand::Rng::with_seed(20);
    let mut order: Vec<usize> = (0..subjects.len()).collect();
    for _ in 0..scrapes {
        rng.shuffle(&mut order);
        for &i in &order {
            let started = Instant::now();
            scraper.scrape(&subjects[i].url).await?;
            times[i].push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mut out = Vec::with_capacity(subjects.len());
    for (i, (subject, mut times)) in subjects.iter().zip(times).enumerate() {
        let cpu = cpu_seconds(subject.pid)? - cpu_before[i];
        // A backend that went away (a dropped connection) leaves no figure.
        let backend_cpu = backend_before[i]
            .zip(cpu_of_all(&backends[i]))
            .map(|(before, after)| (after - before) * 1e3 / scrapes as f64);
        let block_medians = times
            .chunks(BLOCK)
            .filter(|block| block.len() == BLOCK)
            .map(|block| {
                let mut block = block.to_vec();
                block.sort_by(f64::total_cmp);
                percentile(&block, 0.5)
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let (rss, anonymous) = rss_kib(subject.pid)?;
        out.push(Figures {
            median_ms: percentile(&times, 0.5),
            p90_ms: percentile(&times, 0.9),
            rss_mib: rss / 1024.0,
            anonymous_mib: anonymous / 1024.0,
            block_medians,
            cpu_ms_per_scrape: cpu * 1e3 / scrapes as f64,
            backend_cpu_ms_per_scrape: backend_cpu,
            bytes: 0,
        });
    }
    Ok(out)
}

/// Two scrapes of each subject, not timed.
async fn warm_up(scraper: &Scraper, subjects: &[Subject]) -> anyhow::Result<()> {
    for subject in subjects {
        for _ in 0..2 {
            scraper.scrape(&subject.url).await?;
        }
    }
    Ok(())
}

/// For each exporter, the PostgreSQL backends serving its connections to
/// `servers`: each backend whose client port is one of the exporter's
/// local ports (one `pg_stat_activity` read per server for all of them).
fn pg_backends(exporters: &[u32], servers: &[&PgServer]) -> anyhow::Result<Vec<Vec<u32>>> {
    let mut clients: Vec<(u16, u32)> = Vec::new();
    for server in servers {
        let rows = server
            .query("SELECT pid, client_port FROM pg_stat_activity WHERE client_port IS NOT NULL")?;
        for line in rows.lines() {
            let (pid, port) = line.split_once('|').context("pid|client_port")?;
            // -1 is a Unix socket (this very query's psql among them).
            if let Ok(port) = u16::try_from(port.parse::<i32>()?) {
                clients.push((port, pid.parse()?));
            }
        }
    }
    exporters
        .iter()
        .map(|&exporter| {
            let ports = local_ports(exporter)?;
            Ok(clients
                .iter()
                .filter(|(port, _)| ports.contains(port))
                .map(|&(_, backend)| backend)
                .collect())
        })
        .collect()
}

/// The local TCP ports of a process's sockets: its `/proc/<pid>/fd` socket
/// inodes, looked up in `/proc/net/tcp` and `tcp6`.
fn local_ports(pid: u32) -> anyhow::Result<HashSet<u16>> {
    let mut inodes = HashSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        // A descriptor closed since the listing has no link to read.
        let Ok(target) = std::fs::read_link(entry?.path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            inodes.insert(inode.to_string());
        }
    }
    let mut ports = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        // `sl local_address rem_address st ... uid timeout inode`: the
        // local address is `HEXIP:HEXPORT`, the inode the tenth field.
        for fields in text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
        {
            if fields.len() > 9 && inodes.contains(fields[9]) {
                let port = fields[1].rsplit_once(':').context("local address")?.1;
                ports.insert(u16::from_str_radix(port, 16)?);
            }
        }
    }
    Ok(ports)
}

/// The summed CPU seconds of `pids`; `None` if one of them is gone (or
/// there are none).
fn cpu_of_all(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&p| cpu_seconds(p).ok()).sum()
}

/// Scrapes as Prometheus asks (`Accept-Encoding`), reading the answer to
/// its last byte without decompressing it.
struct Scraper {
    client: reqwest::Client,
    accept_encoding: &'static str,
}

impl Scraper {
    /// The bytes on the wire.
    async fn scrape(&self, url: &str) -> anyhow::Result<usize> {
        let response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT_ENCODING, self.accept_encoding)
            .send()
            .await?
            .error_for_status()?;
        Ok(response.bytes().await?.len())
    }
}

/// Rounds per block for the ratio's spread over a run: the machine's
/// state drifts over a run, and the ratio with it.
const BLOCK: usize = 100;

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// User + system CPU seconds of a process, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / clock_ticks()?)
}

fn clock_ticks() -> anyhow::Result<f64> {
    let out = Command::new("getconf").arg("CLK_TCK").output()?;
    Ok(String::from_utf8(out.stdout)?.trim().parse()?)
}

/// Resident memory in KiB: all of it (`VmRSS`) and its anonymous part
/// (`RssAnon`: heap and stacks; the rest is mostly the binary's and the
/// libraries' pages, shared with every process that maps them).
fn rss_kib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .with_context(|| format!("{name} value"))?
            .parse()?)
    };
    Ok((field("VmRSS:")?, field("RssAnon:")?))
}

fn report(rows: &[(&str, Figures)], scrapes: usize, gzip: bool) {
    let encoding = if gzip { "gzip" } else { "identity" };
    println!(
        "{scrapes} scrapes each, sequential in rounds of one scrape per exporter (each round in a shuffled order), after 2 warm-up scrapes, {encoding}\n"
    );
    println!(
        "{:<32} {:>10} {:>10} {:>10} {:>14} {:>10} {:>12}",
        "exporter", "median ms", "p90 ms", "RSS MiB", "CPU ms/scrape", "body bytes", "PG backends"
    );
    for (name, f) in rows {
        let backends = f
            .backend_cpu_ms_per_scrape
            .map_or("-".to_string(), |ms| format!("{ms:.2}"));
        println!(
            "{name:<32} {:>10.2} {:>10.2} {:>10.1} {:>14.2} {:>10} {:>12}",
            f.median_ms, f.p90_ms, f.rss_mib, f.cpu_ms_per_scrape, f.bytes, backends
        );
    }
    println!(
        "(PG backends: CPU ms per scrape of the PostgreSQL backends serving that exporter's connections)"
    );
    let [pg, redis, builtin, vigil] = [&rows[0].1, &rows[1].1, &rows[2].1, &rows[3].1];
    println!("\nratios (vigil-exporter, all four sources, to the others):");
    println!(
        "  median scrape: {:.2}x postgres_exporter alone, {:.2}x redis_exporter, {:.2}x haproxy built-in, {:.2}x the three in sequence",
        vigil.median_ms / pg.median_ms,
        vigil.median_ms / redis.median_ms,
        vigil.median_ms / builtin.median_ms,
        vigil.median_ms / (pg.median_ms + redis.median_ms + builtin.median_ms)
    );
    let blocks: Vec<f64> = vigil
        .block_medians
        .iter()
        .zip(&pg.block_medians)
        .map(|(ours, theirs)| ours / theirs)
        .collect();
    if blocks.len() > 1 {
        let (low, high) = blocks
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(*r), h.max(*r)));
        println!(
            "  the same ratio in each block of {BLOCK} rounds: {low:.2}x to {high:.2}x over {} blocks (how far the machine's state moves it)",
            blocks.len()
        );
    }
    println!(
        "  RSS: {:.2}x postgres_exporter + redis_exporter ({:.1} MiB); haproxy's RSS is the whole proxy, not compared",
        vigil.rss_mib / (pg.rss_mib + redis.rss_mib),
        pg.rss_mib + redis.rss_mib
    );
    println!(
        "  vigil-exporter's RSS: {:.1} MiB anonymous (heap, stacks) + {:.1} MiB file pages (its binary and libraries, shared with every process running them)",
        vigil.anonymous_mib,
        vigil.rss_mib - vigil.anonymous_mib
    );
    println!(
        "  CPU per scrape: {:.2}x postgres_exporter + redis_exporter",
        vigil.cpu_ms_per_scrape / (pg.cpu_ms_per_scrape + redis.cpu_ms_per_scrape)
    );
    println!("\nlike for like (vigil-exporter with the same single target):");
    for (i, anchor) in [(4, pg), (5, redis), (6, builtin)] {
        let (name, f) = (&rows[i].0, &rows[i].1);
        println!(
            "  {name}: median {:.2}x, CPU per scrape {:.2}x the anchor's",
            f.median_ms / anchor.median_ms,
            f.cpu_ms_per_scrape / anchor.cpu_ms_per_scrape
        );
    }
    if rows.len() > 8 {
        let (all, primary) = (&rows[7].1, &rows[8].1);
        println!(
            "\ncompared build, same run: all four {:.2}x postgres_exporter alone (this build {:.2}x), \
             primary only {:.2}x (this build {:.2}x); RSS all four {:.1} MiB (this build {:.1} MiB)",
            all.median_ms / pg.median_ms,
            vigil.median_ms / pg.median_ms,
            primary.median_ms / pg.median_ms,
            rows[4].1.median_ms / pg.median_ms,
            all.rss_mib,
            vigil.rss_mib
        );
    }
    if let Some(backends) = vigil.backend_cpu_ms_per_scrape {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu = vigil.cpu_ms_per_scrape + backends;
        println!(
            "\nCPU per full scrape, vigil-exporter and its PostgreSQL backends: {cpu:.2} ms; \
             on {cores} cores no full scrape can take less than {:.2} ms ({:.2}x postgres_exporter's median), \
             before Redis, HAProxy, the apps and this harness take their share",
            cpu / cores as f64,
            cpu / cores as f64 / pg.median_ms
        );
    }
    println!(
        "\ntargets: median <= 0.75x postgres_exporter's alone: {}; RSS <= 12 MiB: {}",
        if vigil.median_ms <= 0.75 * pg.median_ms {
            "met"
        } else {
            "NOT met"
        },
        if vigil.rss_mib <= 12.0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
