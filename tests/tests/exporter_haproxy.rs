//! The HAProxy collector against a real HAProxy balancing three demo apps,
//! the third one down (answering 503 on `/health`). Servers start once for
//! the whole binary (libtest-mimic harness); trials run in order, the last
//! one stops and restarts HAProxy.
//!
//! The same HAProxy serves its built-in Prometheus exporter, so families,
//! types, labels and server states are compared with it directly.
//!
//! A failed collection is checked as the `CollectError` the registry turns
//! into `haproxy_up 0`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use vigil_exporter::collectors::haproxy::{HaproxyTarget, build};
use vigil_exporter::collectors::{CollectError, Collector};
use vigil_exporter::metrics::Family;
use vigil_exporter::registry::{ExporterStats, Registry};
use vigil_test_support::poll_until;
use vigil_tests::demo_app::{AppOptions, AppState, DemoApp, set_app_state};
use vigil_tests::haproxy::{HaproxyOptions, HaproxyServer};

/// The stats page password: distinctive, so finding it proves a leak.
const PASSWORD: &str = "Hb8-stats-page-pw-3317";
const WRONG_PASSWORD: &str = "Jr2-never-in-errors-8802";

/// The contract (`../shared/anchors/contract.tsv`, kept in the repository
/// for the contract test); only its `haproxy` rows are used here.
const CONTRACT: &str = include_str!("exporter_contract.tsv");

#[path = "exporter_haproxy/compare.rs"]
mod compare;

use compare::{
    csv_path_has_the_contract_families, families_match_the_builtin_exporter,
    server_states_match_the_builtin_exporter, stable_values_match_the_builtin_exporter,
};

struct Env {
    csv: Arc<dyn Collector>,
    socket: Arc<dyn Collector>,
    haproxy: Mutex<HaproxyServer>,
    apps: Vec<DemoApp>,
    rt: tokio::runtime::Runtime,
}

impl Env {
    fn start() -> Env {
        vigil_common::install_crypto_provider();
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let apps: Vec<DemoApp> = rt.block_on(async {
            let mut apps = Vec::new();
            for (i, state) in [AppState::Healthy, AppState::Healthy, AppState::Down]
                .into_iter()
                .enumerate()
            {
                let mut opts = AppOptions::new(format!("app{}", i + 1));
                opts.initial = state;
                apps.push(DemoApp::start(opts).await.expect("start a demo app"));
            }
            apps
        });
        let haproxy = HaproxyServer::start(HaproxyOptions {
            servers: apps.iter().map(|a| a.addr).collect(),
            stats_user: "admin".to_string(),
            stats_password: PASSWORD.to_string(),
            tls: false,
        })
        .expect("start haproxy");
        let csv = collector(&haproxy, Some(PASSWORD), false, None);
        let socket = collector(&haproxy, None, true, None);
        let env = Env {
            csv,
            socket,
            haproxy: Mutex::new(haproxy),
            apps,
            rt,
        };
        env.wait_for_server_up("app3", 0.0);
        env.wait_for_server_up("app1", 1.0);
        env.wait_for_server_up("app2", 1.0);
        env
    }

    fn collect(&self, c: &Arc<dyn Collector>) -> Result<Vec<Family>, CollectError> {
        self.rt.block_on(c.collect())
    }

    fn haproxy(&self) -> std::sync::MutexGuard<'_, HaproxyServer> {
        self.haproxy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Polls until the health checks have settled on `want` for `server`.
    fn wait_for_server_up(&self, server: &str, want: f64) {
        vigil_test_support::wait_until(
            &format!("haproxy_server_up{{server={server:?}}} == {want}"),
            Duration::from_secs(20),
            || {
                self.collect(&self.csv).is_ok_and(|f| {
                    value(&f, "haproxy_server_up", &[("server", server)]).ok() == Some(want)
                })
            },
        );
    }

    fn builtin_metrics(&self) -> Result<String, Failed> {
        let url = self.haproxy().builtin_metrics_url();
        Ok(self
            .rt
            .block_on(async { reqwest::get(url).await?.error_for_status()?.text().await })?)
    }
}

/// A collector from the stats page (`password` is its basic-auth password)
/// or, with `socket`, from the runtime API only.
fn collector(
    h: &HaproxyServer,
    password: Option<&str>,
    socket: bool,
    max_body_bytes: Option<usize>,
) -> Arc<dyn Collector> {
    build(&HaproxyTarget {
        name: Some("lb".to_string()),
        url: (!socket).then(|| h.stats_url()),
        username: (!socket).then(|| h.stats_user().to_string()),
        password: password.map(vigil_common::Secret::new),
        password_file: None,
        tls_ca_file: None,
        socket: socket.then(|| h.socket()),
        max_body_bytes,
        timeout: Some(Duration::from_secs(5)),
        labels: BTreeMap::new(),
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

fn down_app_is_a_down_server(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.csv)?;
    let server = |s| [("proxy", "app"), ("server", s)];
    for (name, want) in [("app1", 1.0), ("app2", 1.0), ("app3", 0.0)] {
        let up = value(&fams, "haproxy_server_up", &server(name))?;
        check(up == want, format!("{name} up {up}"))?;
    }
    let ids = [("proxy", "app"), ("server", "app3"), ("state", "DOWN")];
    check(
        value(&fams, "haproxy_server_status", &ids)? == 1.0,
        "app3 DOWN",
    )?;
    let l7 = [("server", "app3"), ("state", "L7STS")];
    check(
        value(&fams, "haproxy_server_check_status", &l7)? == 1.0,
        "app3 check L7STS (503)",
    )?;
    check(
        value(&fams, "haproxy_backend_up", &[("proxy", "app")])? == 1.0,
        "backend up",
    )?;
    let agg = [("proxy", "app"), ("state", "UP")];
    check(
        value(&fams, "haproxy_backend_agg_server_status", &agg)? == 2.0,
        "two servers UP",
    )
}

fn a_server_going_down_is_seen(env: &Env) -> Result<(), Failed> {
    let url = env.apps[1].url();
    env.rt.block_on(set_app_state(&url, AppState::Down))?;
    env.wait_for_server_up("app2", 0.0);
    env.rt.block_on(set_app_state(&url, AppState::Healthy))?;
    env.wait_for_server_up("app2", 1.0);
    Ok(())
}

fn socket_path_gives_stats_and_process_families(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.socket)?;
    check(
        value(&fams, "haproxy_server_up", &[("server", "app3")])? == 0.0,
        "app3 down over the socket too",
    )?;
    let start = value(&fams, "haproxy_process_start_time_seconds", &[])?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64();
    check(
        start <= now && now - start < 600.0,
        format!("started at {start}"),
    )?;
    let build = family(&fams, "haproxy_process_build_info")?;
    check(
        build.samples[0].labels[0].0 == "version",
        "build_info{version}",
    )?;
    // The stats page path has no socket, hence no process families.
    let csv = env.collect(&env.csv)?;
    check(
        family(&csv, "haproxy_process_start_time_seconds").is_err(),
        "no socket, no process",
    )
}

fn wrong_password_fails_without_showing_it(env: &Env) -> Result<(), Failed> {
    let c = collector(&env.haproxy(), Some(WRONG_PASSWORD), false, None);
    let err = env.collect(&c).err().ok_or("a wrong password must fail")?;
    check(err.kind == "auth", format!("kind {}: {err}", err.kind))?;
    let shown = format!("{err} {err:?}");
    check(
        !shown.contains(WRONG_PASSWORD) && !shown.contains(PASSWORD),
        format!("password in {shown}"),
    )
}

/// A URL that serves something else (here HAProxy's own Prometheus page,
/// which the test config serves under any path starting with `/metrics`)
/// fails as a parse error naming the line.
fn page_that_is_not_csv_is_a_parse_error(env: &Env) -> Result<(), Failed> {
    let url = env.haproxy().builtin_metrics_url();
    let c = build(&HaproxyTarget {
        name: None,
        url: Some(url),
        username: None,
        password: None,
        password_file: None,
        tls_ca_file: None,
        socket: None,
        max_body_bytes: None,
        timeout: Some(Duration::from_secs(5)),
        labels: BTreeMap::new(),
    })?;
    let err = env.collect(&c).err().ok_or("text is not a stats CSV")?;
    check(err.kind == "parse", format!("kind {}: {err}", err.kind))?;
    check(err.reason.contains("line 1"), err.reason)
}

fn oversized_reply_is_refused(env: &Env) -> Result<(), Failed> {
    for socket in [false, true] {
        let c = collector(&env.haproxy(), Some(PASSWORD), socket, Some(512));
        let err = env.collect(&c).err().ok_or("a 512-byte limit must fail")?;
        check(err.reason.contains("larger than 512 bytes"), err.reason)?;
    }
    Ok(())
}

/// A stats page over HTTPS with a private CA: collected with
/// `tls_ca_file`, refused without it.
fn https_stats_page_with_its_ca(env: &Env) -> Result<(), Failed> {
    let https = HaproxyServer::start(HaproxyOptions {
        servers: env.apps.iter().map(|a| a.addr).collect(),
        stats_user: "admin".to_string(),
        stats_password: PASSWORD.to_string(),
        tls: true,
    })?;
    let target = |ca: Option<std::path::PathBuf>| {
        build(&HaproxyTarget {
            name: None,
            url: Some(https.stats_url()),
            username: Some("admin".to_string()),
            password: Some(vigil_common::Secret::new(PASSWORD)),
            password_file: None,
            tls_ca_file: ca,
            socket: None,
            max_body_bytes: None,
            timeout: Some(Duration::from_secs(5)),
            labels: BTreeMap::new(),
        })
    };
    let fams = env.collect(&target(Some(https.ca_file()))?)?;
    family(&fams, "haproxy_server_status")?;
    let err = env
        .collect(&target(None)?)
        .err()
        .ok_or("an unknown CA must be refused")?;
    check(err.kind == "connect", format!("kind {}: {err}", err.kind))
}

/// Through the registry: stop HAProxy and `haproxy_up` is 0 for both
/// targets (stats page and socket); start it again and both are back to 1
/// with the same collectors.
fn restarted_haproxy_is_collected_again(env: &Env) -> Result<(), Failed> {
    let registry = Registry::new(
        vec![Arc::clone(&env.csv), Arc::clone(&env.socket)],
        Duration::from_secs(5),
        Arc::new(ExporterStats::default()),
    );
    let ups = |registry: &Registry| -> Result<Vec<f64>, Failed> {
        let fams = env.rt.block_on(registry.gather());
        let up = family(&fams, "haproxy_up")?;
        check(up.samples.len() == 2, "two targets")?;
        Ok(up.samples.iter().map(|s| s.value).collect())
    };
    check(ups(&registry)? == [1.0, 1.0], "up before the stop")?;
    env.haproxy().stop();
    check(ups(&registry)? == [0.0, 0.0], "down after the stop")?;
    for c in [&env.csv, &env.socket] {
        let err = env
            .collect(c)
            .err()
            .ok_or("collect from a stopped haproxy")?;
        check(err.kind == "connect", format!("kind {}: {err}", err.kind))?;
    }
    env.haproxy().restart()?;
    // Polled until both are up or a scrape fails (reported as before).
    let mut up = Ok(Vec::new());
    poll_until(Duration::from_secs(20), || {
        up = ups(&registry);
        up.as_ref().map_or(true, |u| u == &[1.0, 1.0])
    });
    check(up? == [1.0, 1.0], "haproxy_up stayed 0 after the restart")
}

fn main() {
    let args = Arguments::from_args();
    let env = Arc::new(Env::start());
    type Test = fn(&Env) -> Result<(), Failed>;
    let tests: [(&str, Test); 13] = [
        (
            "csv_path_has_the_contract_families",
            csv_path_has_the_contract_families,
        ),
        (
            "families_match_the_builtin_exporter",
            families_match_the_builtin_exporter,
        ),
        ("down_app_is_a_down_server", down_app_is_a_down_server),
        (
            "server_states_match_the_builtin_exporter",
            server_states_match_the_builtin_exporter,
        ),
        (
            "stable_values_match_the_builtin_exporter",
            stable_values_match_the_builtin_exporter,
        ),
        ("a_server_going_down_is_seen", a_server_going_down_is_seen),
        (
            "socket_path_gives_stats_and_process_families",
            socket_path_gives_stats_and_process_families,
        ),
        (
            "wrong_password_fails_without_showing_it",
            wrong_password_fails_without_showing_it,
        ),
        (
            "page_that_is_not_csv_is_a_parse_error",
            page_that_is_not_csv_is_a_parse_error,
        ),
        ("oversized_reply_is_refused", oversized_reply_is_refused),
        ("https_stats_page_with_its_ca", https_stats_page_with_its_ca),
        (
            "restarted_haproxy_is_collected_again",
            restarted_haproxy_is_collected_again,
        ),
        (
            "down_app_is_a_down_server_after_restart",
            down_app_is_a_down_server_after_restart,
        ),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let env = Arc::clone(&env);
            Trial::test(name, move || test(&env))
        })
        .collect();
    // One at a time, in order: trials change app states and restart HAProxy.
    let args = Arguments {
        test_threads: Some(1),
        ..args
    };
    let conclusion = libtest_mimic::run(&args, trials);
    drop(env);
    conclusion.exit();
}

/// After the restart the health checks run again from scratch and settle on
/// the same states.
fn down_app_is_a_down_server_after_restart(env: &Env) -> Result<(), Failed> {
    env.wait_for_server_up("app3", 0.0);
    env.wait_for_server_up("app1", 1.0);
    down_app_is_a_down_server(env)
}
