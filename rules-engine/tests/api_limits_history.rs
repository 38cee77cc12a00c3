//! The real `vigil` binary: Alertmanager's label-name validation on
//! `POST /api/v2/alerts` (400, the valid alerts still taken), JSON errors
//! for the body and URI limits, `/api/v1/rules?type=` validated,
//! `alerting.max_alerts` with `vigil_notify_alerts_dropped_total`, and
//! `vigil alerts history` naming the firing and the resolved delivery,
//! including one sent after a restart.

#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use vigil_bin::VigilProcess;
use vigil_test_support::{Recorder, eventually};

/// The shared recorder as the webhook receiver, and its URL.
async fn hook() -> (String, Recorder) {
    let rec = Recorder::start().await;
    (format!("{}/hook", rec.base()), rec)
}

fn config(dir: &Path, hook: &str, extra: &str) -> std::path::PathBuf {
    let path = dir.join("vigil.yml");
    std::fs::write(
        &path,
        format!(
            "storage:\n  path: data\nscrape_configs: []\nalerting:\n{extra}  alertmanager_config:\n    route:\n      receiver: hook\n      group_by: [alertname]\n      group_wait: 100ms\n      group_interval: 300ms\n      repeat_interval: 1h\n    receivers:\n      - name: hook\n        webhook_configs:\n          - url: '{hook}'\n"
        ),
    )
    .unwrap();
    path
}

async fn post(v: &VigilProcess, path: &str, body: Vec<u8>, ct: &str) -> (u16, String) {
    vigil_common::install_crypto_provider();
    let r = reqwest::Client::new()
        .post(format!("{}{path}", v.base))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get(v: &VigilProcess, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}{path}", v.base)).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// `GET path` over a raw connection: status and body.
async fn raw_get(v: &VigilProcess, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = v.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (code, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_json_errors_and_limits_hold() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _seen) = hook().await;
    let v = VigilProcess::start(&config(dir.path(), &url, "  max_alerts: 3\n"));

    // Alertmanager's label names; the valid alert is still taken.
    let body = json!([{"labels": {"0bad name": "x"}}, {"labels": {"alertname": "Good"}}]);
    let (code, text) = post(
        &v,
        "/api/v2/alerts",
        body.to_string().into(),
        "application/json",
    )
    .await;
    assert_eq!(code, 400, "{text}");
    let msg: String = serde_json::from_str(&text).unwrap();
    assert_eq!(msg, "invalid label set: invalid name \"0bad name\"");
    let body = json!([{"labels": {"a": "1"}, "annotations": {"b-c": "x"}}]);
    let (code, text) = post(
        &v,
        "/api/v2/alerts",
        body.to_string().into(),
        "application/json",
    )
    .await;
    assert_eq!(
        (code, text.as_str()),
        (400, "\"invalid annotations: invalid name \\\"b-c\\\"\"")
    );
    let held = || async { get(&v, "/api/v2/alerts").await.1 };
    assert!(held().await.contains("Good"));

    // A body over the limit: Prometheus's JSON error, and vigil answers on.
    let big = vec![b'a'; 3 << 20];
    let (code, text) = post(
        &v,
        "/api/v1/query",
        big.clone(),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(code, 413);
    let e: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("error"), Some("bad_data"))
    );
    let (code, text) = post(&v, "/api/v2/alerts", big, "application/json").await;
    assert_eq!(code, 413);
    assert!(serde_json::from_str::<String>(&text).is_ok(), "{text}");
    assert_eq!(get(&v, "/api/v1/query?query=1").await.0, 200);
    // A 100 KB GET (hyper refuses it before any router): JSON too.
    // (Raw TCP: HTTP clients refuse such URIs themselves.)
    let long = format!("/api/v1/query?query={}", "1%2B".repeat(25_000));
    let (code, text) = raw_get(&v, &long).await;
    assert_eq!(code, 414);
    let e: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    assert_eq!(e["errorType"], "bad_data");
    assert!(
        e["error"].as_str().unwrap().contains("URI too long"),
        "{text}"
    );
    assert_eq!(get(&v, "/api/v1/query?query=1").await.0, 200);

    // The rules' type filter, as Prometheus.
    let (code, text) = get(&v, "/api/v1/rules?type=nonsense").await;
    assert_eq!(code, 400);
    let e: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(e["errorType"], "bad_data");
    assert_eq!(
        e["error"],
        "invalid parameter \"type\": not supported value \"nonsense\""
    );
    assert_eq!(get(&v, "/api/v1/rules?type=alert").await.0, 200);

    // max_alerts 3: one is held; of four more, two are dropped.
    let more: Vec<Value> = (0..4)
        .map(|i| json!({"labels": {"alertname": format!("N{i}")}}))
        .collect();
    let (code, _) = post(
        &v,
        "/api/v2/alerts",
        json!(more).to_string().into(),
        "application/json",
    )
    .await;
    assert_eq!(code, 200);
    let metrics = || async { get(&v, "/metrics").await.1 };
    let mut text;
    eventually!(20, format!("dropped 2:\n{text}"), {
        text = metrics().await;
        text.contains("vigil_notify_alerts_dropped_total 2")
    });
    let alerts: Value = serde_json::from_str(&held().await).unwrap();
    assert_eq!(alerts.as_array().unwrap().len(), 3);
    assert!(v.logged("max_alerts").len() == 1, "the drop is logged once");
}

fn history(config: &Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "alerts",
            "history",
            "--kind",
            "notification",
            "--config.file",
        ])
        .arg(config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_names_each_delivery_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = hook().await;
    let cfg = config(dir.path(), &url, "");
    let alert = |ends: Option<&str>| {
        let mut a = json!({"labels": {"alertname": "Disk"}, "startsAt": "2026-01-01T00:00:00Z"});
        if let Some(e) = ends {
            a["endsAt"] = json!(e);
        }
        json!([a]).to_string().into_bytes()
    };
    let v = VigilProcess::start(&cfg);
    assert_eq!(
        post(&v, "/api/v2/alerts", alert(None), "application/json")
            .await
            .0,
        200
    );
    eventually("the firing delivery", Duration::from_secs(20), || {
        seen.received().len() == 1
    })
    .await;
    eventually("the delivery recorded", Duration::from_secs(20), || {
        history(&cfg).contains("delivered")
    })
    .await;
    v.signal("TERM");
    drop(v);
    let v = VigilProcess::start(&cfg);
    let ended = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        post(
            &v,
            "/api/v2/alerts",
            alert(Some(&ended)),
            "application/json"
        )
        .await
        .0,
        200
    );
    eventually("the resolved delivery", Duration::from_secs(20), || {
        seen.received().len() == 2
    })
    .await;
    let mut text = String::new();
    eventually(
        "both deliveries in the history",
        Duration::from_secs(20),
        || {
            text = history(&cfg);
            text.lines().filter(|l| l.contains("delivered")).count() == 2
        },
    )
    .await;
    let delivered: Vec<&str> = text.lines().filter(|l| l.contains("delivered")).collect();
    assert!(delivered[0].contains("resolved hook/webhook/0"), "{text}");
    assert!(delivered[1].contains("firing hook/webhook/0"), "{text}");
    let statuses: Vec<String> = seen
        .received()
        .iter()
        .map(|r| r.json()["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["firing", "resolved"]);
}
