//! Rules over a remote data source: Debian's Prometheus scrapes a local
//! target the test controls, and vigil (in process, no scrape jobs of its
//! own) evaluates its rules through Prometheus's `/api/v1/query`. When
//! Prometheus goes away the rules turn unhealthy and the firing alert
//! stays firing: a data-source outage resolves nothing.

mod support;

use std::sync::Arc;

use support::prometheus::Prometheus;
use support::served::{Served, options, vigil_with};
use vigil_test_support::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_query_prometheus_and_survive_its_outage() {
    let target = support::Target::start("demo_value 1\n").await;
    let dir = tempfile::tempdir().unwrap();
    let mut prom = Prometheus::start(
        dir.path(),
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs: [{{targets: ['{}']}}]\n",
            target.addr
        ),
        &[],
    );
    let prom_url = prom.base.clone();

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
    let sink = Arc::new(support::Recorder::default());
    let vigil = vigil_with(
        &path,
        vigil::server::Options {
            alert_sink: Some(sink.clone()),
            ..options(&path)
        },
    )
    .await;
    let v = Served::start(vigil).await;

    // The recording rule's result, computed by Prometheus, is in vigil.
    eventually!(60, "recorded from Prometheus", {
        let r = v.get("/api/v1/query?query=demo:value:x2").await;
        r["data"]["result"][0]["value"][1] == "2"
    });
    let rules = v.get("/api/v1/rules").await;
    assert_eq!(rules["data"]["groups"][0]["rules"][1]["health"], "ok");

    target.set_body("demo_value 50\n");
    eventually!(30, "firing", {
        let a = v.get("/api/v1/alerts").await;
        a["data"]["alerts"][0]["state"] == "firing"
    });
    let a = v.get("/api/v1/alerts").await;
    assert_eq!(a["data"]["alerts"][0]["value"], "5e+01");
    assert_eq!(a["data"]["alerts"][0]["labels"]["job"], "demo");

    // Prometheus goes away: unhealthy rules, the alert stays firing.
    prom.kill();
    eventually!(30, "unhealthy", {
        let r = v.get("/api/v1/rules").await;
        r["data"]["groups"][0]["rules"][1]["health"] == "err"
    });
    let r = v.get("/api/v1/rules").await;
    let err = r["data"]["groups"][0]["rules"][1]["lastError"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(err.contains("data source query failed"), "{err}");
    assert!(
        !err.contains("127.0.0.1"),
        "the URL stays out of errors: {err}"
    );
    let a = v.get("/api/v1/alerts").await;
    assert_eq!(a["data"]["alerts"][0]["state"], "firing", "{a}");
    let resolved = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|a| a.ends_at - a.starts_at < 60_000);
    assert!(!resolved, "an outage resolved the alert");
    v.stop().await;
}
