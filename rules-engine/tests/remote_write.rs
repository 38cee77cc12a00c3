//! Remote write of recording results and `ALERTS`: Debian's Prometheus
//! (its remote write receiver enabled) receives what vigil's rules write
//! and answers queries on it; a local receiver that is told to fail (500,
//! 429 with Retry-After, 400) shows the retries, the drops and the counts,
//! and the body it decodes shows the wire format and headers.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use support::prometheus::Prometheus;
use support::served::{Served, vigil_from};
use vigil::remote_write::proto;
use vigil_test_support::eventually;

const RULES: &str = "groups:
  - name: rw
    interval: 500ms
    rules:
      - record: demo:answer
        expr: vector(21) * 2
        labels: {team: core}
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: page}
";

async fn prom_query(base: &str, expr: &str) -> Option<Vec<Value>> {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("query", expr)
        .finish();
    let r = support::http()
        .get(format!("{base}/api/v1/query?{q}"))
        .send()
        .await
        .ok()?;
    let v: Value = r.json().await.ok()?;
    v["data"]["result"].as_array().cloned()
}

/// Polls Prometheus until `expr` has a result, and returns it.
async fn prom_wait(base: &str, expr: &str) -> Vec<Value> {
    let mut result: Vec<Value>;
    eventually!(60, expr, {
        result = prom_query(base, expr).await.unwrap_or_default();
        !result.is_empty()
    });
    result
}

/// The value of `name{url="..."}` on vigil's `/metrics` (0 when absent).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_receives_recording_results_and_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let prom = Prometheus::start(
        dir.path(),
        "scrape_configs: []\n",
        &["--web.enable-remote-write-receiver"],
    );
    prom.ready().await;
    std::fs::write(dir.path().join("r.yml"), RULES).unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(
        &path,
        format!(
            "global:\n  external_labels: {{site: lab}}\nrule_files: [r.yml]\nremote_write:\n  - url: {}/api/v1/write\n    queue_config: {{batch_send_deadline: 100ms}}\n",
            prom.base
        ),
    )
    .unwrap();
    let v = Served::start(vigil_from(&path).await).await;

    let answer = prom_wait(&prom.base, "demo:answer").await;
    assert_eq!(answer[0]["value"][1], "42");
    assert_eq!(
        answer[0]["metric"],
        serde_json::json!({"__name__": "demo:answer", "team": "core", "site": "lab"})
    );
    let alerts = prom_wait(&prom.base, r#"ALERTS{alertstate="firing"}"#).await;
    assert_eq!(alerts[0]["value"][1], "1");
    assert_eq!(
        alerts[0]["metric"],
        serde_json::json!({"__name__": "ALERTS", "alertname": "AlwaysFiring",
            "alertstate": "firing", "severity": "page", "site": "lab"})
    );
    let for_state = prom_query(&prom.base, "ALERTS_FOR_STATE").await.unwrap();
    assert_eq!(for_state[0]["metric"]["alertname"], "AlwaysFiring");

    let metrics = v.text("/metrics").await;
    assert!(
        metric(&metrics, "vigil_remote_write_samples_sent_total") >= 3.0,
        "{metrics}"
    );
    assert!(metric(&metrics, "vigil_remote_write_last_send_timestamp_seconds") > 1.7e9);
    assert_eq!(
        metric(&metrics, "vigil_remote_write_samples_failed_total"),
        0.0
    );
    v.stop().await;
}

/// One request as the receiver saw it.
#[derive(Clone)]
struct Seen {
    status: StatusCode,
    headers: HeaderMap,
    body: proto::WriteRequest,
}

#[derive(Clone, Default)]
struct Receiver {
    /// Statuses to answer with, in order; 200 once they run out.
    script: Arc<Mutex<Vec<StatusCode>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    /// Serves `POST /write` on a free loopback port.
    async fn start(&self) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/write", post(receive))
            .with_state(self.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (addr, server)
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap) {
    let status = {
        let mut s = r.script.lock().unwrap();
        if s.is_empty() {
            StatusCode::OK
        } else {
            s.remove(0)
        }
    };
    let body = proto::decode(&body).expect("a snappy-compressed WriteRequest");
    r.seen.lock().unwrap().push(Seen {
        status,
        headers,
        body,
    });
    let mut out = HeaderMap::new();
    if status == StatusCode::TOO_MANY_REQUESTS {
        out.insert("retry-after", "1".parse().unwrap());
    }
    (status, out)
}

/// The samples of a request: (metric name, timestamp, value).
fn samples(req: &proto::WriteRequest) -> Vec<(String, i64, f64)> {
    let mut out = Vec::new();
    for ts in &req.timeseries {
        let name = ts.labels.iter().find(|l| l.name == "__name__").unwrap();
        for s in &ts.samples {
            out.push((name.value.clone(), s.timestamp, s.value));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_refusals_dropped_and_everything_counted() {
    let receiver = Receiver::default();
    *receiver.script.lock().unwrap() = vec![
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::OK,
        StatusCode::BAD_REQUEST,
        StatusCode::TOO_MANY_REQUESTS,
    ];
    let (addr, server) = receiver.start().await;

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.yml"),
        "groups:\n  - name: rw\n    interval: 400ms\n    rules:\n      - record: demo:one\n        expr: vector(1)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("token"), "s3cr3t-token\n").unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(
        &path,
        format!(
            "rule_files: [r.yml]\nremote_write:\n  - url: http://{addr}/write?key=opensesame\n    bearer_token_file: token\n    headers: {{X-Scope-OrgID: tenant-1}}\n    write_relabel_configs:\n      - target_label: via\n        replacement: vigil\n    queue_config: {{batch_send_deadline: 50ms, min_backoff: 10ms, max_backoff: 50ms}}\n"
        ),
    )
    .unwrap();
    let v = Served::start(vigil_from(&path).await).await;
    eventually!(30, "six requests", {
        receiver.seen.lock().unwrap().len() >= 6
    });
    let metrics = v.text("/metrics").await;
    v.stop().await;
    server.abort();

    let seen = receiver.seen.lock().unwrap().clone();
    let statuses: Vec<u16> = seen.iter().map(|s| s.status.as_u16()).collect();
    assert_eq!(&statuses[..5], &[500, 200, 400, 429, 200]);
    // 500 then 200: the same request sent again, so delivered once.
    assert_eq!(seen[0].body, seen[1].body);
    // 429 then 200: likewise, after the Retry-After second.
    assert_eq!(seen[3].body, seen[4].body);
    let delivered: Vec<(String, i64, f64)> = seen
        .iter()
        .filter(|s| s.status == StatusCode::OK)
        .flat_map(|s| samples(&s.body))
        .collect();
    let refused = samples(&seen[2].body);
    assert_eq!(refused.len(), 1);
    for s in samples(&seen[0].body) {
        assert_eq!(
            delivered.iter().filter(|d| **d == s).count(),
            1,
            "{s:?} once"
        );
    }
    assert!(
        !delivered.contains(&refused[0]),
        "a refused batch is not sent again"
    );
    let (name, _, value) = &delivered[0];
    assert_eq!((name.as_str(), *value), ("demo:one", 1.0));
    let labels: Vec<(String, String)> = seen[1].body.timeseries[0]
        .labels
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect();
    assert_eq!(
        labels,
        [
            ("__name__".into(), "demo:one".into()),
            ("via".into(), "vigil".into())
        ],
        "write_relabel_configs applied"
    );

    let h = &seen[0].headers;
    assert_eq!(h["content-encoding"], "snappy");
    assert_eq!(h["content-type"], "application/x-protobuf");
    assert_eq!(h["x-prometheus-remote-write-version"], "0.1.0");
    assert!(h["user-agent"].to_str().unwrap().starts_with("vigil/"));
    assert_eq!(h["authorization"], "Bearer s3cr3t-token");
    assert_eq!(h["x-scope-orgid"], "tenant-1");

    // Counted per receiver, the URL without its query; no secret shown.
    let url = format!("http://{addr}/write");
    let line = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{url=\"{url}\"}}")))
            .unwrap_or_else(|| panic!("{name} for {url} in\n{metrics}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert_eq!(line("vigil_remote_write_samples_retried_total"), 2.0);
    assert_eq!(line("vigil_remote_write_samples_failed_total"), 1.0);
    assert!(line("vigil_remote_write_samples_sent_total") >= 2.0);
    assert_eq!(line("vigil_remote_write_samples_dropped_total"), 0.0);
    for secret in ["opensesame", "s3cr3t", "tenant-1"] {
        assert!(!metrics.contains(secret), "{secret} in /metrics");
    }
}

/// A receiver added by a reload gets the rules' samples from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_starts_remote_write() {
    let receiver = Receiver::default();
    let (addr, server) = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yml"), RULES).unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(&path, "rule_files: [r.yml]\n").unwrap();
    let v = Served::start(vigil_from(&path).await).await;
    std::fs::write(
        &path,
        format!("rule_files: [r.yml]\nremote_write:\n  - url: http://{addr}/write\n    queue_config: {{batch_send_deadline: 50ms}}\n"),
    )
    .unwrap();
    let r = support::http()
        .post(format!("{}/-/reload", v.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    eventually!(30, "a request after the reload", {
        !receiver.seen.lock().unwrap().is_empty()
    });
    v.stop().await;
    server.abort();
    let seen = receiver.seen.lock().unwrap().clone();
    let names: Vec<String> = samples(&seen[0].body).into_iter().map(|s| s.0).collect();
    assert!(
        names.iter().any(|n| n == "demo:answer" || n == "ALERTS"),
        "{names:?}"
    );
}
