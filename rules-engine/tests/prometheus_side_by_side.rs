//! vigil and Debian's Prometheus scrape the same local target; the same
//! instant queries against both APIs must give the same answers, and the
//! metadata endpoints the same lists. Needs `/usr/bin/prometheus`
//! (`apt-get install prometheus`; `scripts/test` installs it).

mod support;

use serde_json::Value;
use support::prometheus::Prometheus;
use support::served::{Served, vigil_from};
use vigil::clock::SystemClock;
use vigil_test_support::eventually;

const BODY: &str = r#"# HELP http_requests_total Requests by "code" and path.
# TYPE http_requests_total counter
http_requests_total{code="200",path="/a,b=c"} 1027
http_requests_total{code="500",path="/x"} 3
# TYPE queue_depth gauge
queue_depth{queue="mail"} 7
queue_depth{queue="sms"} 0.25
# TYPE req_seconds histogram
req_seconds_bucket{le="0.1"} 10
req_seconds_bucket{le="0.5"} 40
req_seconds_bucket{le="+Inf"} 50
req_seconds_sum 12.5
req_seconds_count 50
"#;

const QUERIES: &[&str] = &[
    "up",
    "http_requests_total",
    "sum by (code) (http_requests_total)",
    "http_requests_total{code=\"500\"} * 2",
    "count(up)",
    "topk(1, queue_depth)",
    "label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
    "histogram_quantile(0.9, req_seconds_bucket)",
    "req_seconds_sum / req_seconds_count",
    "absent(nonexistent_metric)",
    "queue_depth > 1",
    "scrape_samples_scraped",
    "max_over_time(queue_depth[30s])",
    "vector(1) + on() group_left count(queue_depth)",
];

fn config(target: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{target}']\n        labels: {{env: test}}\n"
    )
}

async fn get(base: &str, path_and_query: &str) -> Option<(u16, Value)> {
    let r = support::http()
        .get(format!("{base}{path_and_query}"))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.json().await.ok()?))
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A query's result with vector elements in a stable order.
fn normalized(v: &Value) -> Value {
    let mut data = v["data"].clone();
    if let Some(list) = data["result"].as_array_mut() {
        list.sort_by_key(|e| e["metric"].to_string());
    }
    data
}

/// Waits until a server has scraped the target at least three times.
async fn wait_for_data(base: &str) {
    let q = format!(
        "/api/v1/query?query={}",
        enc("count_over_time(up[1m]) >= 3")
    );
    eventually!(
        60,
        format!("{base} to scrape the target"),
        get(base, &q).await.is_some_and(|(code, v)| code == 200
            && v["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty()))
    );
}

#[tokio::test]
async fn same_answers_as_prometheus() {
    let target = support::Target::start(BODY).await;
    let addr = target.addr.to_string();
    let prom_dir = tempfile::tempdir().unwrap();
    let prom = Prometheus::start(prom_dir.path(), &config(&addr), &[]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(&path, config(&addr)).unwrap();
    let v = Served::start(vigil_from(&path).await).await;
    let base = v.base.clone();

    wait_for_data(&base).await;
    wait_for_data(&prom.base).await;
    // Both must have a non-trivial answer to compare.
    let (_, up) = get(&base, "/api/v1/query?query=up").await.unwrap();
    assert_eq!(
        up["data"]["result"].as_array().map(Vec::len),
        Some(1),
        "{up}"
    );
    let now = SystemClock::now_secs();
    let mut diffs = Vec::new();
    for q in QUERIES {
        let path = format!("/api/v1/query?query={}&time={now}", enc(q));
        let (vs, vv) = get(&base, &path).await.unwrap();
        let (ps, pv) = get(&prom.base, &path).await.unwrap();
        assert_eq!(vv["status"], "success", "{q}: {vv}");
        if (vs, normalized(&vv)) != (ps, normalized(&pv)) {
            diffs.push(format!(
                "{q}\n  vigil:      {vs} {vv}\n  prometheus: {ps} {pv}"
            ));
        }
    }
    for path in [
        "/api/v1/labels".to_string(),
        "/api/v1/label/__name__/values".to_string(),
        format!(
            "/api/v1/label/code/values?match[]={}",
            enc("http_requests_total")
        ),
        format!("/api/v1/series?match[]={}", enc("http_requests_total")),
        "/api/v1/metadata".to_string(),
        "/api/v1/metadata?metric=queue_depth".to_string(),
    ] {
        let (_, vv) = get(&base, &path).await.unwrap();
        let (_, pv) = get(&prom.base, &path).await.unwrap();
        if normalized_list(&vv) != normalized_list(&pv) {
            diffs.push(format!("{path}\n  vigil:      {vv}\n  prometheus: {pv}"));
        }
    }
    let (_, md) = get(&base, "/api/v1/metadata?metric=http_requests_total")
        .await
        .unwrap();
    assert_eq!(
        md["data"]["http_requests_total"][0]["help"], "Requests by \"code\" and path.",
        "{md}"
    );
    // Errors: same status and errorType (texts may differ in wording).
    for q in ["sum(", "rate(up)", "up[5m] + 1"] {
        let path = format!("/api/v1/query?query={}&time={now}", enc(q));
        let (vs, vv) = get(&base, &path).await.unwrap();
        let (ps, pv) = get(&prom.base, &path).await.unwrap();
        if (vs, &vv["errorType"]) != (ps, &pv["errorType"]) {
            diffs.push(format!(
                "error for {q}\n  vigil:      {vs} {vv}\n  prometheus: {ps} {pv}"
            ));
        }
    }
    v.stop().await;
    assert!(
        diffs.is_empty(),
        "differences from Prometheus:\n{}",
        diffs.join("\n")
    );
}

fn normalized_list(v: &Value) -> Value {
    let mut data = v["data"].clone();
    if let Some(list) = data.as_array_mut() {
        list.sort_by_key(|e| e.to_string());
    }
    data
}

trait NowSecs {
    fn now_secs() -> f64;
}

impl NowSecs for SystemClock {
    fn now_secs() -> f64 {
        use vigil::clock::Clock;
        // Whole milliseconds, so both servers get the very same instant.
        SystemClock.now_ms() as f64 / 1000.0
    }
}
