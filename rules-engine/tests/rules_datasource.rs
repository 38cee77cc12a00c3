//! Rules over a remote data source: Debian's Prometheus scrapes a local
//! target the test controls, and vigil (in process, no scrape jobs of its
//! own) evaluates its rules through Prometheus's `/api/v1/query`. When
//! Prometheus goes away the rules turn unhealthy and the firing alert
//! stays firing: a data-source outage resolves nothing.

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::oneshot;
use vigil::config::Config;
use vigil::rules::{AlertSink, OutgoingAlert};
use vigil::scrape::SystemClock;
use vigil::server::Vigil;
use vigil_common::web::WebConfig;

#[derive(Default)]
struct Recorder(Mutex<Vec<OutgoingAlert>>);

impl AlertSink for Recorder {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        self.0.lock().unwrap().extend(alerts);
    }
}

/// Debian's Prometheus scraping `target` every second.
fn prometheus(dir: &std::path::Path, target: &str) -> (Child, String) {
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs: [{{targets: ['{target}']}}]\n"
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("/usr/bin/prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus (apt-get install prometheus)");
    (child, format!("http://127.0.0.1:{port}"))
}

async fn get(base: &str, path: &str) -> Value {
    support::http()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

macro_rules! eventually {
    ($secs:expr, $what:expr, $cond:expr) => {{
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs($secs);
        loop {
            if $cond {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {}",
                $what
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_query_prometheus_and_survive_its_outage() {
    let target = support::Target::start("demo_value 1\n").await;
    let dir = tempfile::tempdir().unwrap();
    let (mut prom, prom_url) = prometheus(dir.path(), &target.addr.to_string());

    std::fs::write(
        dir.path().join("r.yml"),
        "groups:\n  - name: remote\n    interval: 500ms\n    rules:\n      - record: demo:value:x2\n        expr: demo_value * 2\n      - alert: High\n        expr: demo_value > 10\n",
    )
    .unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(
        &path,
        format!("rule_files: [r.yml]\ndatasource:\n  url: {prom_url}\n  timeout: 2s\n"),
    )
    .unwrap();
    let vigil = Arc::new(Vigil::build(
        Config::load(&path).unwrap(),
        Some(path),
        Arc::new(SystemClock),
    ));
    let sink = Arc::new(Recorder::default());
    vigil.set_alert_sink(sink.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let h = tokio::spawn(async move {
        vigil
            .serve(listener, &WebConfig::default(), async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });

    // The recording rule's result, computed by Prometheus, is in vigil.
    eventually!(60, "recorded from Prometheus", {
        let r = get(&base, "/api/v1/query?query=demo:value:x2").await;
        r["data"]["result"][0]["value"][1] == "2"
    });
    let rules = get(&base, "/api/v1/rules").await;
    assert_eq!(rules["data"]["groups"][0]["rules"][1]["health"], "ok");

    target.set_body("demo_value 50\n");
    eventually!(30, "firing", {
        let a = get(&base, "/api/v1/alerts").await;
        a["data"]["alerts"][0]["state"] == "firing"
    });
    let a = get(&base, "/api/v1/alerts").await;
    assert_eq!(a["data"]["alerts"][0]["value"], "5e+01");
    assert_eq!(a["data"]["alerts"][0]["labels"]["job"], "demo");

    // Prometheus goes away: unhealthy rules, the alert stays firing.
    prom.kill().unwrap();
    prom.wait().unwrap();
    eventually!(30, "unhealthy", {
        let r = get(&base, "/api/v1/rules").await;
        r["data"]["groups"][0]["rules"][1]["health"] == "err"
    });
    let r = get(&base, "/api/v1/rules").await;
    let err = r["data"]["groups"][0]["rules"][1]["lastError"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(err.contains("data source query failed"), "{err}");
    assert!(
        !err.contains("127.0.0.1"),
        "the URL stays out of errors: {err}"
    );
    let a = get(&base, "/api/v1/alerts").await;
    assert_eq!(a["data"]["alerts"][0]["state"], "firing", "{a}");
    let resolved = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|a| a.ends_at - a.starts_at < 60_000);
    assert!(!resolved, "an outage resolved the alert");
    let _ = tx.send(());
    h.await.unwrap();
}
