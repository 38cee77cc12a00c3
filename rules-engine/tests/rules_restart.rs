//! Alert state across a crash of the real `vigil` binary: a pending alert,
//! a firing one and a firing one whose condition clears while vigil is
//! down. vigil is SIGKILLed (nothing saved on the way out) and started
//! again on the same SQLite file under `storage.path`. The scrape target is
//! a local HTTP server whose exposition text the test sets, so each
//! condition is known; notifications are read from vigil's JSON log (the
//! default sink logs each one).

mod support;
#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use serde_json::Value;
use vigil_bin::VigilProcess;
use vigil_test_support::eventually;

/// `for` of the pending rule: long enough to crash and restart inside it.
const PENDING_FOR_MS: i64 = 15_000;
/// A firing alert is valid for four resend delays (1 m) after each send.
const VALID_FOR_MS: i64 = 4 * 60_000;

fn rules() -> String {
    format!(
        "groups:
  - name: restart
    interval: 1s
    rules:
      - alert: Pending
        expr: demo_p > 0
        for: {}s
      - alert: Firing
        expr: demo_f > 0
      - alert: ClearedWhileDown
        expr: demo_r > 0
",
        PENDING_FOR_MS / 1000
    )
}

fn rfc3339_ms(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

fn sent(v: &VigilProcess, name: &str) -> Vec<Value> {
    v.notifications()
        .into_iter()
        .filter(|n| n["alertname"] == name)
        .collect()
}

#[tokio::test]
async fn state_survives_a_sigkill() {
    let target = support::Target::start("demo_p 1\ndemo_f 1\ndemo_r 1\n").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("restart.rules.yml"), rules()).unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "storage:\n  path: data\nrule_files: ['*.rules.yml']\nscrape_configs:\n  - job_name: demo\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs: [{{targets: ['{}']}}]\n",
            target.addr
        ),
    )
    .unwrap();

    let first = VigilProcess::start(&config);
    eventually!(20, "all three active", {
        sent(&first, "Firing").len() == 1
            && sent(&first, "ClearedWhileDown").len() == 1
            && first.alert("Pending").await.is_some()
    });
    let pending = first.alert("Pending").await.unwrap();
    assert_eq!(pending["state"], "pending");
    let active_at = rfc3339_ms(&pending["activeAt"]);
    // Two more evaluations: the one that sent has been saved.
    let sent_at = sent(&first, "Firing")[0]["ends_at"].as_i64().unwrap() - VALID_FOR_MS;
    eventually!(10, "two more evaluations", {
        let r = first.get("/api/v1/rules").await;
        rfc3339_ms(&r["data"]["groups"][0]["lastEvaluation"]) >= sent_at + 2000
    });
    assert_eq!(first.alert("Pending").await.unwrap()["state"], "pending");
    assert!(dir.path().join("data/vigil.db").exists());
    first.kill();

    // While vigil is down, one condition clears.
    target.set_body("demo_p 1\ndemo_f 1\n");
    let restarted_at = vigil_bin::now_ms();
    let second = VigilProcess::start(&config);

    // The pending alert keeps its start and fires on time.
    let restored = second
        .alert("Pending")
        .await
        .expect("restored pending alert");
    assert_eq!(rfc3339_ms(&restored["activeAt"]), active_at);
    eventually!(
        30,
        "the pending alert fires",
        !sent(&second, "Pending").is_empty()
    );
    let fired = &sent(&second, "Pending")[0];
    assert_eq!(fired["state"], "firing");
    assert_eq!(fired["starts_at"].as_i64(), Some(active_at));
    let fired_at = fired["ends_at"].as_i64().unwrap() - VALID_FOR_MS;
    assert!(
        (active_at + PENDING_FOR_MS..=active_at + PENDING_FOR_MS + 2000).contains(&fired_at),
        "fired at +{} ms, expected +{PENDING_FOR_MS} ms",
        fired_at - active_at
    );
    assert!(
        fired_at < restarted_at + PENDING_FOR_MS,
        "the timer started again at restart"
    );

    // The alert whose condition cleared while down resolved, once.
    let resolved = sent(&second, "ClearedWhileDown");
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["state"], "resolved");
    assert!(second.alert("ClearedWhileDown").await.is_none());

    // The firing alert is still firing and was not sent again (its resend
    // delay of 1 m has not passed since the first vigil sent it).
    assert_eq!(second.alert("Firing").await.unwrap()["state"], "firing");
    assert!(sent(&second, "Firing").is_empty(), "re-sent after restart");
    assert!(vigil_bin::now_ms() < sent_at + 60_000, "test ran too long");
    second.kill();
}
