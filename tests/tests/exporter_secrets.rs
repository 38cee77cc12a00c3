//! A distinctive password, given to every kind of target inline and through
//! `*_file`, never shows up in /metrics, in the logs (at debug level), in a
//! failed reload's answer or in `check-config`'s errors.

use std::process::Command;

use vigil_test_support::free_port;
use vigil_tests::demo_app::{AppOptions, DemoApp};
use vigil_tests::exporter::{ExporterProcess, exporter_bin};

const PASSWORD: &str = "Vigil-Sekrit-7f3a9c";

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(PASSWORD) && !text.contains("Sekrit"),
        "the password leaked into {what}:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_never_leaks() {
    let app = DemoApp::start(AppOptions::new("api-1")).await.unwrap();
    let closed = free_port();
    let secrets = tempfile::tempdir().unwrap();
    let pw_file = secrets.path().join("pw");
    std::fs::write(&pw_file, format!("{PASSWORD}\n")).unwrap();
    let config = format!(
        "\
global:
  timeout: 2s
postgres:
  - dsn: postgres://vigil:{PASSWORD}@127.0.0.1:{closed}/postgres?sslmode=disable
redis:
  - address: redis://127.0.0.1:{closed}
    password: {PASSWORD}
haproxy:
  - url: http://127.0.0.1:{closed}/stats
    username: admin
    password_file: {pw}
apps:
  - url: {app}
    instance: api-1
    username: probe
    password_file: {pw}
",
        pw = pw_file.display(),
        app = app.url(),
    );
    let exporter = ExporterProcess::start(&config);
    for _ in 0..2 {
        let text = exporter.scrape().await;
        assert_clean("/metrics", &text);
        assert!(text.contains("pg_up{server=\"127.0.0.1:"), "{text}");
        assert!(text.contains("redis_up{target=\"127.0.0.1:"), "{text}");
    }

    // A reload with a broken DSN that holds the password.
    let broken = config.replace(
        &format!("127.0.0.1:{closed}/postgres?sslmode=disable"),
        "127.0.0.1:notaport/postgres",
    );
    assert_ne!(broken, config);
    exporter.write_config(&broken);
    let res = vigil_tests::exporter::http_client()
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let body = res.text().await.unwrap();
    assert!(body.contains("postgres[0]"), "{body}");
    assert_clean("the reload answer", &body);

    // The same file through check-config.
    let out = Command::new(exporter_bin())
        .arg("check-config")
        .arg(&exporter.config_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("postgres[0]"), "{stderr}");
    assert_clean("check-config", &stderr);
    assert_clean("check-config stdout", &String::from_utf8_lossy(&out.stdout));

    let logs = exporter.logs();
    assert!(logs.contains("collection failed"), "{logs}");
    assert!(logs.contains("level=debug"), "debug logs are on: {logs}");
    assert_clean("the logs", &logs);
}
