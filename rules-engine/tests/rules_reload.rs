//! Reloading rules: `POST /-/reload` on a vigil served in process (so the
//! test can see which group tasks were replaced) and SIGHUP on the real
//! binary. Reload is a transaction: a bad file keeps the running set and
//! answers 500 with the errors; unchanged groups keep running; the alerts
//! of rules that stay carry over.

mod support;
#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use std::sync::Arc;

use serde_json::Value;
use support::served::{Served, vigil_from};
use vigil_test_support::eventually;

const BEFORE: &str = "groups:
  - name: keep
    interval: 100ms
    rules:
      - alert: KeepAlert
        expr: vector(1)
  - name: change
    interval: 100ms
    rules:
      - alert: Stays
        expr: vector(1)
        for: 1h
      - alert: Goes
        expr: vector(1)
";

const AFTER: &str = "groups:
  - name: keep
    interval: 100ms
    rules:
      - alert: KeepAlert
        expr: vector(1)
  - name: change
    interval: 100ms
    rules:
      - alert: Stays
        expr: vector(1)
        for: 1h
      - alert: Added
        expr: vector(1)
        for: 1h
";

/// Line 5 has a broken expression.
const BROKEN: &str = "groups:
  - name: keep
    rules:
      - alert: KeepAlert
        expr: vector(1) +
";

async fn get(base: &str, path: &str) -> reqwest::Response {
    support::http()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap()
}

async fn alerts(base: &str) -> Vec<Value> {
    let v: Value = get(base, "/api/v1/alerts").await.json().await.unwrap();
    v["data"]["alerts"].as_array().cloned().unwrap()
}

fn find<'a>(alerts: &'a [Value], name: &str) -> Option<&'a Value> {
    alerts.iter().find(|a| a["labels"]["alertname"] == name)
}

async fn reload_ok_metric(base: &str) -> String {
    let m = get(base, "/metrics").await.text().await.unwrap();
    m.lines()
        .find(|l| l.starts_with("vigil_config_last_reload_successful "))
        .unwrap()
        .to_string()
}

async fn post_reload(base: &str) -> (u16, String) {
    let r = support::http()
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn post_reload_is_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("a.rules.yml");
    std::fs::write(&rules, BEFORE).unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(&config, "rule_files: ['*.rules.yml']\n").unwrap();
    let loaded = vigil_from(&config).await;
    let vigil = loaded.handle();
    let served = Served::start(loaded).await;
    let base = served.base.clone();
    eventually!(20, "three alerts", alerts(&base).await.len() == 3);
    let before = alerts(&base).await;
    let stays_since = find(&before, "Stays").unwrap()["activeAt"].clone();
    let groups = vigil.rule_groups();

    std::fs::write(&rules, AFTER).unwrap();
    assert_eq!(post_reload(&base).await, (200, String::new()));
    let after = vigil.rule_groups();
    assert!(
        Arc::ptr_eq(&groups[0], &after[0]),
        "unchanged group replaced"
    );
    assert!(!Arc::ptr_eq(&groups[1], &after[1]), "changed group kept");
    let now = alerts(&base).await;
    assert_eq!(find(&now, "Stays").unwrap()["activeAt"], stays_since);
    assert_eq!(find(&now, "KeepAlert").unwrap()["state"], "firing");
    assert!(find(&now, "Goes").is_none(), "removed rule still alerting");
    let q: Value = get(
        &base,
        "/api/v1/query?query=ALERTS%7Balertname%3D%22Goes%22%7D",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        q["data"]["result"],
        serde_json::json!([]),
        "ALERTS of a removed rule"
    );
    eventually!(20, "the added rule runs", {
        find(&alerts(&base).await, "Added").is_some()
    });
    assert_eq!(
        reload_ok_metric(&base).await,
        "vigil_config_last_reload_successful 1"
    );

    // A broken file: 500 with the located error, the running set stays.
    std::fs::write(&rules, BROKEN).unwrap();
    let (status, body) = post_reload(&base).await;
    assert_eq!(status, 500);
    assert!(body.contains(&format!("{}:5:", rules.display())), "{body}");
    assert_eq!(
        reload_ok_metric(&base).await,
        "vigil_config_last_reload_successful 0"
    );
    let kept = vigil.rule_groups();
    assert_eq!(kept.len(), 2);
    assert!(Arc::ptr_eq(&kept[1], &after[1]));
    let last = kept[1].group.lock().last_evaluation;
    eventually!(
        20,
        "still evaluating",
        kept[1].group.lock().last_evaluation > last
    );
    assert_eq!(
        find(&alerts(&base).await, "Stays").unwrap()["activeAt"],
        stays_since
    );

    // Fixed again: reload works and says so.
    std::fs::write(&rules, AFTER).unwrap();
    vigil.reload().await.unwrap();
    assert_eq!(
        reload_ok_metric(&base).await,
        "vigil_config_last_reload_successful 1"
    );
    served.stop().await;
}

#[tokio::test]
async fn sighup_reloads_the_real_binary() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("a.rules.yml");
    std::fs::write(&rules, BEFORE).unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(&config, "rule_files: ['*.rules.yml']\n").unwrap();
    let v = vigil_bin::VigilProcess::start(&config);
    eventually!(20, "Goes firing", v.alert("Goes").await.is_some());
    let stays_since = v.alert("Stays").await.unwrap()["activeAt"].clone();

    std::fs::write(&rules, AFTER).unwrap();
    v.signal("HUP");
    eventually!(20, "Added pending", v.alert("Added").await.is_some());
    assert!(v.alert("Goes").await.is_none());
    assert_eq!(v.alert("Stays").await.unwrap()["activeAt"], stays_since);

    std::fs::write(&rules, BROKEN).unwrap();
    v.signal("HUP");
    eventually!(
        20,
        "the refusal logged",
        !v.logged("reload failed").is_empty()
    );
    assert!(
        v.logged("reload failed")[0]["error"]
            .as_str()
            .unwrap()
            .contains(&format!("{}:5:", rules.display()))
    );
    assert!(v.alert("Added").await.is_some(), "running set kept");
    let m = reqwest::get(format!("{}/metrics", v.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("vigil_config_last_reload_successful 0"), "{m}");
    v.kill();
}
