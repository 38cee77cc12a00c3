//! vigil as a whole: `Loaded::serve` on port 0 scraping a real local target
//! with real loops and the wall clock; everything is observed through the
//! HTTP API, polling until it holds.

mod support;

use axum::http::StatusCode;
use serde_json::Value;
use support::served::{Served, vigil_from};
use vigil_test_support::eventually;

struct Running {
    served: Served,
    _dir: tempfile::TempDir,
    config_path: std::path::PathBuf,
}

async fn start(config_text: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("vigil.yml");
    std::fs::write(&config_path, config_text).unwrap();
    Running {
        served: Served::start(vigil_from(&config_path).await).await,
        _dir: dir,
        config_path,
    }
}

impl Running {
    async fn query(&self, expr: &str) -> Value {
        self.served.query(expr).await
    }

    async fn result(&self, expr: &str) -> Vec<Value> {
        let v = self.query(expr).await;
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    async fn get(&self, path: &str) -> Value {
        self.served.get(path).await
    }

    async fn stop(self) {
        self.served.stop().await;
    }
}

fn config_for(addr: &str) -> String {
    format!(
        "scrape_configs:\n  - job_name: app\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['{addr}']\n        labels: {{env: test}}\n"
    )
}

#[tokio::test]
async fn scrape_query_staleness_and_target_down() {
    let mut target = support::Target::start(
        "jobs_done_total 5\nqueue_depth{queue=\"a\"} 1\nqueue_depth{queue=\"b\"} 2\n",
    )
    .await;
    let addr = target.addr.to_string();
    let v = start(&config_for(&addr)).await;

    eventually!(20, "first scrape", v.result("up == 1").await.len() == 1);
    let up = &v.result("up").await[0];
    assert_eq!(up["metric"]["job"], "app");
    assert_eq!(up["metric"]["instance"], addr.as_str());
    assert_eq!(up["metric"]["env"], "test");
    assert_eq!(v.result("sum(queue_depth)").await[0]["value"][1], "3");

    // A series that disappears is gone from instant queries after the next
    // scrape, not five minutes later.
    target.set_body("jobs_done_total 6\nqueue_depth{queue=\"a\"} 1\n");
    eventually!(
        20,
        "queue b stale",
        v.result("queue_depth{queue=\"b\"}").await.is_empty()
    );
    assert_eq!(v.result("queue_depth").await.len(), 1);

    // The target answers 503: up is 0, its series are stale, the reason shows.
    target.set_status(StatusCode::SERVICE_UNAVAILABLE);
    eventually!(20, "target down", v.result("up == 0").await.len() == 1);
    assert!(v.result("jobs_done_total").await.is_empty());
    let targets = v.get("/api/v1/targets").await;
    let active = &targets["data"]["activeTargets"][0];
    assert_eq!(active["health"], "down");
    assert_eq!(
        active["lastError"],
        "server returned HTTP status 503 Service Unavailable"
    );
    assert_eq!(active["scrapePool"], "app");
    assert_eq!(active["scrapeUrl"], format!("http://{addr}/metrics"));
    assert_eq!(active["labels"]["env"], "test");
    assert_eq!(active["discoveredLabels"]["__address__"], addr.as_str());
    assert_eq!(active["scrapeInterval"], "1s");

    // Own metrics count scrapes and failures per job.
    let text = support::http()
        .get(format!("{}/metrics", v.served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{prefix} missing from /metrics:\n{text}"))
    };
    assert!(value("vigil_scrape_scrapes_total{job=\"app\"}") >= 3.0);
    assert!(value("vigil_scrape_failures_total{job=\"app\"}") >= 1.0);
    assert!(value("vigil_scrape_stale_markers_total{job=\"app\"}") >= 1.0);
    assert_eq!(
        value("vigil_scrape_targets{job=\"app\",health=\"down\"}"),
        1.0
    );

    // The target process goes away entirely.
    target.stop().await;
    eventually!(20, "still down", v.result("up == 0").await.len() == 1);
    v.stop().await;
}

#[tokio::test]
async fn reload_applies_new_jobs_and_keeps_the_old_config_on_error() {
    let a = support::Target::start("from_a 1\n").await;
    let b = support::Target::start("from_b 1\n").await;
    let v = start(&config_for(&a.addr.to_string())).await;
    eventually!(20, "a scraped", !v.result("from_a").await.is_empty());

    std::fs::write(&v.config_path, config_for(&b.addr.to_string())).unwrap();
    let reload = support::http()
        .post(format!("{}/-/reload", v.served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 200);
    eventually!(20, "b scraped", !v.result("from_b").await.is_empty());
    // The removed target's series went stale when its loop stopped.
    assert!(v.result("from_a").await.is_empty());

    std::fs::write(
        &v.config_path,
        "scrape_configs:\n  - job_name: x\n    bogus: 1\n",
    )
    .unwrap();
    let reload = support::http()
        .post(format!("{}/-/reload", v.served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 500);
    let text = reload.text().await.unwrap();
    assert!(text.contains("vigil.yml:3:5"), "{text}");
    let targets = v.get("/api/v1/targets").await;
    assert_eq!(
        targets["data"]["activeTargets"].as_array().unwrap().len(),
        1
    );
    v.stop().await;
}
