//! The notification pipeline in a running vigil: `Loaded::serve` with an
//! `alerting:` section (inline Alertmanager routing to a webhook), a rule
//! that fires at once, and a local HTTP receiver standing in for the
//! webhook. The alert must travel rules -> dispatcher -> outbox -> webhook,
//! and the Alertmanager v2 API must be served next to Prometheus's.

mod support;

use support::served::{Served, vigil_from};
use vigil_test_support::Recorder;

const RULES: &str = "groups:
  - name: always
    interval: 200ms
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: 'always on'}
";

#[tokio::test]
async fn a_firing_rule_reaches_the_webhook_and_the_v2_api() {
    let recorder = Recorder::start().await;
    let hook = format!("{}/hook", recorder.base());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("always.rules.yml"), RULES).unwrap();
    let config_path = dir.path().join("vigil.yml");
    std::fs::write(
        &config_path,
        format!(
            "storage:\n  path: data\nrule_files: ['always.rules.yml']\nalerting:\n  external_url: http://vigil.test\n  alertmanager_config:\n    route:\n      receiver: hook\n      group_by: [alertname]\n      group_wait: 100ms\n      group_interval: 1s\n    receivers:\n      - name: hook\n        webhook_configs:\n          - url: {hook}\n"
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let vigil = vigil_from(&config_path).await;
    let v = Served::start(vigil).await;

    recorder
        .wait_for(20, "the webhook got a notification", |seen| {
            !seen.is_empty()
        })
        .await;
    let payload = recorder.received()[0].json();
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["receiver"], "hook");
    assert_eq!(payload["status"], "firing");
    assert_eq!(payload["externalURL"], "http://vigil.test");
    assert_eq!(payload["groupLabels"]["alertname"], "AlwaysFiring");
    assert_eq!(payload["alerts"][0]["labels"]["severity"], "page");
    assert_eq!(payload["alerts"][0]["annotations"]["summary"], "always on");

    let alerts = v.get("/api/v2/alerts").await;
    let names: Vec<&str> = alerts
        .as_array()
        .expect("a JSON array of alerts")
        .iter()
        .filter_map(|a| a["labels"]["alertname"].as_str())
        .collect();
    assert_eq!(names, ["AlwaysFiring"]);

    let metrics = v.text("/metrics").await;
    assert!(
        metrics.contains("vigil_notify"),
        "the pipeline's metrics are on /metrics:\n{metrics}"
    );

    // A reload checks the routing again: the same file is taken, one whose
    // route names a missing receiver is refused with its position and the
    // running configuration stays.
    let client = support::http();
    let reload = |c: &reqwest::Client| c.post(format!("{}/-/reload", v.base)).send();
    assert_eq!(reload(&client).await.unwrap().status(), 200);
    let good = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(
        &config_path,
        good.replace("receiver: hook", "receiver: nobody"),
    )
    .unwrap();
    let refused = reload(&client).await.unwrap();
    assert_eq!(refused.status(), 500);
    let why = refused.text().await.unwrap();
    assert!(
        why.contains("vigil.yml:") && why.contains("nobody"),
        "{why}"
    );
    std::fs::write(&config_path, good).unwrap();
    assert_eq!(reload(&client).await.unwrap().status(), 200);

    v.stop().await;
}
