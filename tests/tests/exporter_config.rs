//! The exporter's configuration from the outside: `check-config` reports
//! every error at file:line:column, a bad file stops the start before the
//! port is bound, and a bad reload keeps the running configuration.
//! Also the HTTP endpoints around /metrics.

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use vigil_test_support::free_port;
use vigil_tests::demo_app::{AppOptions, DemoApp};
use vigil_tests::exporter::{ExporterProcess, exporter_bin, sample_value};

fn check_config(text: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(exporter_bin())
        .arg("check-config")
        .arg(&path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&path.display().to_string(), "FILE");
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&path.display().to_string(), "FILE");
    (out.status.success(), stdout, stderr)
}

#[test]
fn check_config_reports_every_schema_error() {
    let text = "\
global:
  timeout: 5s
apps:
  - url: http://127.0.0.1:3001
    colour: red
  - url: http://127.0.0.1:3002
  - url: http://127.0.0.1:3003
    timeout: soon
redis:
  - addres: redis://127.0.0.1:6379
";
    let (ok, _, stderr) = check_config(text, &[]);
    assert!(!ok);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with("FILE:5:5: apps[0]: unknown field `colour`"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("FILE:8:14: apps[2].timeout: "),
        "{stderr}"
    );
    assert!(
        lines[2].starts_with("FILE:10:5: redis[0]: unknown field `addres`"),
        "{stderr}"
    );
}

/// A custom-query file (postgres_exporter's queries.yaml) is checked with
/// the configuration: its errors are reported at the queries file's own
/// line and column, behind the configuration's `queries_file` key.
#[test]
fn check_config_locates_errors_in_the_queries_file() {
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("queries.yaml");
    std::fs::write(
        &queries,
        "pg_ok:\n  query: SELECT 1 AS one\n  metrics:\n    - one:\n        usage: GAUGE\npg_typo:\n  query: SELECT 1 AS n\n  metrics:\n    - n:\n        usage: GUAGE\n",
    )
    .unwrap();
    let text = format!(
        "postgres:\n  - dsn: postgres://u@127.0.0.1:1/db\n    queries_file: {}\n",
        queries.display()
    );
    let (ok, _, stderr) = check_config(&text, &[]);
    assert!(!ok);
    let q = queries.display().to_string();
    assert!(
        stderr.starts_with("FILE:3:5: postgres[0]: ")
            && stderr.contains(&format!("queries_file: {q}:10:16: "))
            && stderr.contains("GUAGE"),
        "{stderr}"
    );
    std::fs::write(&queries, "pg_ok:\n  query: SELECT 1 AS one\n").unwrap();
    let (ok, stdout, stderr) = check_config(&text, &[]);
    assert!(ok, "{stdout}{stderr}");
}

#[test]
fn check_config_reports_every_target_that_cannot_be_built() {
    let text = "\
apps:
  - url: http://127.0.0.1:3001
  - url: gopher://127.0.0.1:70
  - instance: api-3
    url: not a url
  - url: http://127.0.0.1:3001
  - url: http://127.0.0.1:3005
    colour: red
";
    let (ok, _, stderr) = check_config(text, &[]);
    assert!(!ok);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "schema and build errors in one run: {stderr}"
    );
    assert!(
        lines[3].starts_with("FILE:8:5: apps[4]: unknown field `colour`"),
        "{stderr}"
    );
    assert!(lines[0].starts_with("FILE:3:5: apps[1]: "), "{stderr}");
    assert!(
        lines[1].starts_with("FILE:5:5: apps[2]: app target api-3: url: not a URL"),
        "{stderr}"
    );
    assert!(
        lines[2].starts_with("FILE:6:3: apps[3]: the same target as apps[0]"),
        "{stderr}"
    );
}

#[test]
fn check_config_locates_unset_environment_variables() {
    let text = "apps:\n  - url: ${APP_URL}\n    instance: ${APP_NAME:-api-1}\n  - url: http://${NOPE_HOST}:1\n";
    let (ok, _, stderr) = check_config(text, &[]);
    assert!(!ok);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("FILE:2:10: environment variable APP_URL is not set"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("FILE:4:17: environment variable NOPE_HOST is not set"),
        "{stderr}"
    );

    let (ok, stdout, stderr) = check_config(
        text,
        &[
            ("APP_URL", "http://127.0.0.1:3001"),
            ("NOPE_HOST", "127.0.0.1"),
        ],
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "FILE: ok, 2 targets");
}

#[test]
fn a_bad_config_stops_the_start_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    std::fs::write(&path, "apps:\n  - url: http://127.0.0.1:1\n    bogus: 1\n").unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let out = Command::new(exporter_bin())
        .arg("--config.file")
        .arg(&path)
        .arg("--web.listen-address")
        .arg(addr.to_string())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:3:5: apps[0]: unknown field `bogus`",
            path.display()
        )),
        "{stderr}"
    );
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_is_all_or_nothing() {
    let a = DemoApp::start(AppOptions::new("api-1")).await.unwrap();
    let b = DemoApp::start(AppOptions::new("api-2")).await.unwrap();
    let one = format!("apps:\n  - url: {}\n    instance: api-1\n", a.url());
    let exporter = ExporterProcess::start(&one);
    let client = vigil_tests::exporter::http_client();

    // A bad file: the reload fails, says where, and the old targets stay.
    exporter.write_config(&format!(
        "{one}  - url: {}\n    instance: api-2\n    colour: red\n",
        b.url()
    ));
    let res = client.post(exporter.url("/-/reload")).send().await.unwrap();
    assert_eq!(res.status(), 500);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("vigil-exporter.yml:6:5: apps[1]: unknown field `colour`"),
        "{body}"
    );
    let text = exporter.scrape().await;
    assert_eq!(
        sample_value(&text, "app_up", &[("instance", "api-1")]),
        Some(1.0)
    );
    assert_eq!(
        sample_value(&text, "app_up", &[("instance", "api-2")]),
        None
    );
    let probes = |text: &str| {
        sample_value(
            text,
            "health_check_duration_seconds_count",
            &[("instance", "api-1"), ("check_type", "health")],
        )
        .unwrap()
    };
    let before = probes(&text);
    assert_eq!(
        sample_value(&text, "vigil_exporter_config_last_reload_successful", &[]),
        Some(0.0)
    );
    assert!(
        exporter
            .logs()
            .contains("reload failed; keeping the running configuration")
    );

    // A good file through POST /-/reload.
    let two = format!("{one}  - url: {}\n    instance: api-2\n", b.url());
    exporter.write_config(&two);
    let res = client.post(exporter.url("/-/reload")).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let text = exporter.scrape().await;
    assert_eq!(
        sample_value(&text, "app_up", &[("instance", "api-2")]),
        Some(1.0)
    );
    assert_eq!(
        probes(&text),
        before + 1.0,
        "the unchanged target kept its collector and its counts"
    );
    assert_eq!(
        sample_value(&text, "vigil_exporter_config_last_reload_successful", &[]),
        Some(1.0)
    );
    let scrapes = sample_value(&text, "vigil_exporter_scrapes_total", &[]).unwrap();
    assert!(scrapes >= 2.0, "counters survive a reload: {scrapes}");

    // Through SIGHUP: back to one target.
    exporter.write_config(&one);
    exporter.sighup();
    exporter
        .scrape_until(20, "api-2 to disappear after SIGHUP", |t| {
            sample_value(t, "app_up", &[("instance", "api-2")]).is_none()
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_formats_and_gzip() {
    let exporter = ExporterProcess::start("apps:\n");
    let _ = vigil_tests::exporter::http_client();
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    for (path, want) in [
        ("/-/healthy", "Healthy"),
        ("/-/ready", "Ready"),
        ("/", "/metrics"),
    ] {
        let res = client.get(exporter.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains(want.trim_start_matches('/')),
            "{path}: {body}"
        );
    }
    let res = client.get(exporter.url("/-/reload")).send().await.unwrap();
    assert_eq!(res.status(), 405, "reload is POST only");

    let res = client
        .get(exporter.url("/metrics"))
        .header(
            "Accept",
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3",
        )
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    let body = res.text().await.unwrap();
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(
        body.contains("# TYPE vigil_exporter_scrapes counter\nvigil_exporter_scrapes_total "),
        "{body}"
    );

    let res = client.get(exporter.url("/metrics")).send().await.unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(!res.text().await.unwrap().contains("# EOF"));

    let res = client
        .get(exporter.url("/metrics"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a gzip stream");
}
