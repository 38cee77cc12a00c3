//! Rules in a running vigil: `Loaded::serve` on port 0 scraping a real local
//! target, evaluating the configured rule files with the wall clock, alert
//! state in SQLite under `storage.path`, alerts handed to a sink the test
//! plugs in. Everything is observed through the HTTP API.

mod support;

use std::sync::{Arc, Mutex};

use serde_json::Value;
use support::served::{Served, options, try_vigil_with, vigil_from, vigil_with};
use vigil::rules::{AlertSink, OutgoingAlert};
use vigil_test_support::eventually;

/// Records what the rules send.
#[derive(Default)]
struct Recorder(Mutex<Vec<OutgoingAlert>>);

impl AlertSink for Recorder {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        self.0.lock().unwrap().extend(alerts);
    }
}

struct Running {
    served: Served,
    dir: tempfile::TempDir,
    sink: Arc<Recorder>,
}

const RULES: &str = "groups:
  - name: demo
    interval: 200ms
    rules:
      - record: job:value:sum
        expr: sum by (job) (demo_value)
      - alert: ValueHigh
        expr: job:value:sum > 10
        for: 1s
        labels: {severity: page}
        annotations:
          summary: 'value is {{ $value }}'
";

async fn start(target: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules.d")).unwrap();
    std::fs::write(dir.path().join("rules.d/demo.rules.yml"), RULES).unwrap();
    let config_path = dir.path().join("vigil.yml");
    std::fs::write(
        &config_path,
        format!(
            "storage:\n  path: data\nrule_files: ['rules.d/*.yml']\nscrape_configs:\n  - job_name: app\n    scrape_interval: 200ms\n    scrape_timeout: 200ms\n    static_configs: [{{targets: ['{target}']}}]\n"
        ),
    )
    .unwrap();
    let sink = Arc::new(Recorder::default());
    let vigil = vigil_with(
        &config_path,
        vigil::server::Options {
            alert_sink: Some(sink.clone()),
            ..options(&config_path)
        },
    )
    .await;
    Running {
        served: Served::start(vigil).await,
        dir,
        sink,
    }
}

impl Running {
    async fn get(&self, path: &str) -> Value {
        self.served.get(path).await
    }

    async fn text(&self, path: &str) -> String {
        self.served.text(path).await
    }

    async fn alerts(&self) -> Vec<Value> {
        self.get("/api/v1/alerts").await["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap()
    }

    async fn query(&self, expr: &str) -> Vec<Value> {
        self.served.query(expr).await["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    async fn stop(self) {
        self.served.stop().await;
    }
}

#[tokio::test]
async fn rules_evaluate_notify_and_are_served() {
    let target = support::Target::start("demo_value{part=\"a\"} 3\n").await;
    let v = start(&target.addr.to_string()).await;
    assert!(
        v.dir.path().join("data/vigil.db").exists(),
        "SQLite created in storage.path"
    );

    // The recording rule's result is in the store.
    eventually!(20, "recorded", !v.query("job:value:sum").await.is_empty());
    assert!(v.alerts().await.is_empty());

    target.set_body("demo_value{part=\"a\"} 30\n");
    eventually!(20, "pending", {
        let a = v.alerts().await;
        a.len() == 1 && a[0]["state"] == "pending"
    });
    let pending = v.query("ALERTS{alertstate=\"pending\"}").await;
    assert_eq!(pending.len(), 1, "ALERTS in the store");
    assert_eq!(pending[0]["metric"]["alertname"], "ValueHigh");
    eventually!(20, "firing", v.alerts().await[0]["state"] == "firing");
    eventually!(20, "sent", !v.sink.0.lock().unwrap().is_empty());
    {
        let sent = v.sink.0.lock().unwrap();
        assert_eq!(sent[0].labels.get("alertname"), Some("ValueHigh"));
        assert_eq!(sent[0].labels.get("severity"), Some("page"));
        assert_eq!(
            sent[0].annotations,
            vec![("summary".to_string(), "value is 30".to_string())]
        );
    }
    let for_state = v.query("ALERTS_FOR_STATE").await;
    assert_eq!(for_state.len(), 1);

    let rules = v.get("/api/v1/rules").await;
    let g = &rules["data"]["groups"][0];
    assert_eq!(g["name"], "demo");
    assert!(
        g["file"]
            .as_str()
            .unwrap()
            .ends_with("rules.d/demo.rules.yml")
    );
    assert_eq!(g["rules"][0]["type"], "recording");
    assert_eq!(g["rules"][1]["state"], "firing");
    assert_eq!(g["rules"][1]["health"], "ok");
    let only_alerts = v.get("/api/v1/rules?type=alert").await;
    assert_eq!(
        only_alerts["data"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let metrics = v.text("/metrics").await;
    for name in [
        "vigil_rule_evaluation_duration_seconds_count",
        "vigil_rule_group_last_duration_seconds{rule_group=",
        "vigil_rule_evaluation_failures_total{rule_group=",
        "vigil_rule_group_iterations_missed_total{rule_group=",
        "vigil_config_last_reload_successful 1",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }

    // The condition clears: the alert resolves and the resolution is sent.
    target.set_body("demo_value{part=\"a\"} 1\n");
    eventually!(20, "resolved", v.alerts().await.is_empty());
    eventually!(20, "resolution sent", {
        let sent = v.sink.0.lock().unwrap();
        sent.last()
            .is_some_and(|a| a.ends_at <= vigil::clock::Clock::now_ms(&vigil::clock::SystemClock))
    });
    v.stop().await;
}

#[tokio::test]
async fn a_failing_rule_is_unhealthy_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    // Two series from a group limited to one: an error of the rule.
    std::fs::write(
        dir.path().join("r.yml"),
        "groups:\n  - name: limited\n    interval: 100ms\n    limit: 1\n    rules:\n      - record: two\n        expr: vector(1) or label_replace(vector(1), 'a', 'b', '', '')\n",
    )
    .unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(&path, "rule_files: [r.yml]\n").unwrap();
    let served = Served::start(vigil_from(&path).await).await;
    let get = |path: &'static str| served.text(path);
    eventually!(20, "evaluated", {
        let r: Value = serde_json::from_str(&get("/api/v1/rules").await).unwrap();
        r["data"]["groups"][0]["rules"][0]["health"] == "err"
    });
    let r: Value = serde_json::from_str(&get("/api/v1/rules").await).unwrap();
    let err = r["data"]["groups"][0]["rules"][0]["lastError"]
        .as_str()
        .unwrap();
    assert!(err.contains("limit"), "{err}");
    let metrics = get("/metrics").await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("vigil_rule_evaluation_failures_total{"))
        .unwrap();
    assert!(line.contains(";limited\"}"), "{line}");
    let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1.0, "{line}");
    served.stop().await;
}

#[tokio::test]
async fn a_bad_rule_file_is_refused_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n",
    )
    .unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(&path, "rule_files: ['*.yml']\n").unwrap();
    let err = match try_vigil_with(&path, options(&path)).await {
        Ok(_) => panic!("a bad rule file loaded"),
        Err(e) => e.to_string(),
    };
    let bad = dir.path().join("bad.yml");
    assert!(err.starts_with(&format!("{}:5:", bad.display())), "{err}");
    assert!(err.contains("group \"g\", rule 1, \"A\""), "{err}");
}
