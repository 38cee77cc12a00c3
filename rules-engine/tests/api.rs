//! The HTTP API through a real server on 127.0.0.1:0: JSON shapes as
//! Prometheus returns them, errors with `errorType`, metadata endpoints,
//! targets, health, own metrics, basic auth. Data is appended at pinned
//! times so answers are exact.

mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use support::served::Served;
use vigil::clock::ManualClock;
use vigil::config::Config;
use vigil::model::{Labels, stale_nan};
use vigil::server::{Options, load};
use vigil::store::Appender;
use vigil::store::Head;
use vigil_common::web::WebConfig;

const T0: i64 = 1_700_000_000_000;

struct Server {
    served: Served,
    head: Arc<Head>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(config_text: &str, web: WebConfig) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vigil.yml");
        std::fs::write(&path, config_text).unwrap();
        let cfg = Config::load(&path).unwrap();
        let clock = Arc::new(ManualClock::new(T0 + 60_000));
        let options = Options {
            web,
            ..Options::new(Some(path), clock)
        };
        let vigil = load(cfg, options).await.unwrap();
        let head = vigil.head.clone();
        let served = Served::start(vigil).await;
        Server {
            served,
            head,
            _dir: dir,
        }
    }

    fn add(&self, pairs: &[(&str, &str)], t: i64, v: f64) {
        self.head
            .append(&Labels::from_pairs(pairs.iter().copied()), t, v)
            .unwrap();
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = support::http()
            .get(format!("{}{path}", self.served.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn post(&self, path: &str, form: &str) -> (u16, Value) {
        let r = support::http()
            .post(format!("{}{path}", self.served.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn stop(self) {
        self.served.stop().await;
    }
}

async fn with_data() -> Server {
    let s = Server::start("", WebConfig::default()).await;
    for i in 0..5 {
        let t = T0 + i * 15_000;
        s.add(
            &[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "200"),
            ],
            t,
            10.0 * i as f64,
        );
        s.add(
            &[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "500"),
            ],
            t,
            i as f64,
        );
        s.add(&[("__name__", "temperature"), ("room", "lab")], t, 21.5);
    }
    s
}

#[tokio::test]
async fn instant_query_json_is_prometheus_shaped() {
    let s = with_data().await;
    let (code, body) = s
        .get("/api/v1/query?query=http_requests_total%7Bcode%3D%22500%22%7D&time=1700000060")
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        body,
        json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "http_requests_total", "code": "500", "job": "api"}, "value": [1700000060, "4"]}
        ]}})
    );
    let (_, body) = s.get("/api/v1/query?query=1%2B1&time=1700000060.5").await;
    assert_eq!(
        body["data"],
        json!({"resultType": "scalar", "result": [1700000060.5, "2"]})
    );
    let (_, body) = s.get("/api/v1/query?query=%22hi%22&time=1700000060").await;
    assert_eq!(
        body["data"],
        json!({"resultType": "string", "result": [1700000060, "hi"]})
    );
    // RFC 3339 time and POST form give the same answer.
    let (_, body) = s
        .post(
            "/api/v1/query",
            "query=sum+by+(job)+(http_requests_total)&time=2023-11-14T22:14:20Z",
        )
        .await;
    assert_eq!(
        body["data"]["result"],
        json!([{"metric": {"job": "api"}, "value": [1700000060, "44"]}])
    );
    // A range selector gives a matrix.
    let (_, body) = s
        .get("/api/v1/query?query=temperature%5B30s%5D&time=1700000060")
        .await;
    assert_eq!(
        body["data"],
        json!({"resultType": "matrix", "result": [{"metric": {"__name__": "temperature", "room": "lab"},
            "values": [[1700000045, "21.5"], [1700000060, "21.5"]]}]})
    );
    s.stop().await;
}

#[tokio::test]
async fn range_query_and_annotations() {
    let s = with_data().await;
    let (code, body) = s
        .get("/api/v1/query_range?query=http_requests_total%7Bcode%3D%22200%22%7D&start=1700000000&end=1700000030&step=15s")
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        body["data"],
        json!({"resultType": "matrix", "result": [{"metric": {"__name__": "http_requests_total", "code": "200", "job": "api"},
            "values": [[1700000000, "0"], [1700000015, "10"], [1700000030, "20"]]}]})
    );
    // rate() over a gauge-named series warns, as Prometheus does.
    let (_, body) = s
        .get("/api/v1/query?query=rate(temperature%5B1m%5D)&time=1700000060")
        .await;
    let infos = body["infos"].as_array().cloned().unwrap_or_default();
    assert!(
        infos.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("metric might not be a counter")),
        "{body}"
    );
    s.stop().await;
}

#[tokio::test]
async fn errors_carry_error_type_and_status() {
    let s = with_data().await;
    let (code, body) = s.get("/api/v1/query?query=sum(&time=1700000060").await;
    assert_eq!(code, 400);
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "bad_data");
    assert!(
        body["error"].as_str().unwrap().contains("parenthesis"),
        "{body}"
    );

    let (code, body) = s.get("/api/v1/query?query=up&time=yesterday").await;
    assert_eq!(code, 400);
    assert_eq!(
        body["error"],
        "invalid parameter \"time\": cannot parse \"yesterday\" to a valid timestamp"
    );
    let (code, body) = s
        .get("/api/v1/query_range?query=up&start=10&end=5&step=1")
        .await;
    assert_eq!((code, body["errorType"].as_str()), (400, Some("bad_data")));
    let (code, body) = s
        .get("/api/v1/query_range?query=up&start=0&end=100000&step=1")
        .await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("11,000 points"));
    let (code, body) = s
        .get("/api/v1/query_range?query=up&start=0&end=10&step=0")
        .await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("zero or negative"));
    // Many-to-many matching is an execution error (422).
    let (code, body) = s
        .get("/api/v1/query?query=http_requests_total+%2B+on(job)+http_requests_total&time=1700000060")
        .await;
    assert_eq!(
        (code, body["errorType"].as_str()),
        (422, Some("execution")),
        "{body}"
    );
    let (code, body) = s.get("/api/v1/series").await;
    assert_eq!(
        (code, body["error"].as_str()),
        (400, Some("no match[] parameter provided"))
    );
    let (code, body) = s.get("/api/v1/nope").await;
    assert_eq!((code, body["errorType"].as_str()), (404, Some("not_found")));
    s.stop().await;
}

#[tokio::test]
async fn series_labels_and_values_for_grafana() {
    let s = with_data().await;
    let (_, body) = s
        .get("/api/v1/series?match%5B%5D=http_requests_total&start=1700000000&end=1700000060")
        .await;
    assert_eq!(
        body["data"],
        json!([
            {"__name__": "http_requests_total", "code": "200", "job": "api"},
            {"__name__": "http_requests_total", "code": "500", "job": "api"}
        ])
    );
    let (_, body) = s.get("/api/v1/labels").await;
    assert_eq!(body["data"], json!(["__name__", "code", "job", "room"]));
    let (_, body) = s.get("/api/v1/labels?match%5B%5D=temperature").await;
    assert_eq!(body["data"], json!(["__name__", "room"]));
    let (_, body) = s.get("/api/v1/label/__name__/values").await;
    assert_eq!(body["data"], json!(["http_requests_total", "temperature"]));
    let (_, body) = s
        .get("/api/v1/label/code/values?match%5B%5D=http_requests_total%7Bjob%3D%22api%22%7D&start=1700000000&end=1700000060")
        .await;
    assert_eq!(body["data"], json!(["200", "500"]));
    let (_, body) = s.get("/api/v1/label/code/values?limit=1").await;
    assert_eq!(body["data"], json!(["200"]));
    assert_eq!(body["warnings"], json!(["results truncated due to limit"]));
    // Outside the window nothing is found.
    let (_, body) = s
        .get("/api/v1/label/code/values?start=1600000000&end=1600000100")
        .await;
    assert_eq!(body["data"], json!([]));
    let (code, _) = s.get("/api/v1/label/bad-name/values").await;
    assert_eq!(code, 400);
    s.stop().await;
}

#[tokio::test]
async fn stale_series_vanish_from_instant_queries() {
    let s = with_data().await;
    s.add(
        &[("__name__", "temperature"), ("room", "lab")],
        T0 + 75_000,
        stale_nan(),
    );
    let (_, before) = s
        .get("/api/v1/query?query=temperature&time=1700000074")
        .await;
    assert_eq!(before["data"]["result"].as_array().unwrap().len(), 1);
    let (_, after) = s
        .get("/api/v1/query?query=temperature&time=1700000076")
        .await;
    assert_eq!(after["data"]["result"], json!([]));
    s.stop().await;
}

#[tokio::test]
async fn buildinfo_health_and_own_metrics() {
    let s = with_data().await;
    let (code, body) = s.get("/api/v1/status/buildinfo").await;
    assert_eq!(code, 200);
    assert_eq!(body["data"]["version"], env!("CARGO_PKG_VERSION"));
    let healthy = support::http()
        .get(format!("{}/-/healthy", s.served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(healthy.status(), 200);
    let ready = support::http()
        .get(format!("{}/-/ready", s.served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    s.get("/api/v1/query?query=up&time=1700000060").await;
    let text = support::http()
        .get(format!("{}/metrics", s.served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("vigil_tsdb_head_series 3"), "{text}");
    assert!(
        text.contains("vigil_http_requests_total{handler=\"/api/v1/query\",code=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("vigil_build_info{version="), "{text}");
    s.stop().await;
}

#[tokio::test]
async fn basic_auth_from_the_web_config() {
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash("pw", 4).unwrap();
    let web_path = dir.path().join("web.yml");
    std::fs::write(&web_path, format!("basic_auth_users:\n  admin: '{hash}'\n")).unwrap();
    let web = WebConfig::load(&web_path).unwrap();
    let s = Server::start("", web).await;
    let url = format!("{}/api/v1/query?query=1", s.served.base);
    let anon = support::http().get(&url).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let authed = support::http()
        .get(&url)
        .basic_auth("admin", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(authed.status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn exemplars_are_an_empty_list_after_checks() {
    let s = with_data().await;
    let (code, body) = s
        .get("/api/v1/query_exemplars?query=http_requests_total&start=1700000000&end=1700000060")
        .await;
    assert_eq!(
        (code, body),
        (200, json!({"status": "success", "data": []}))
    );
    let (code, body) = s
        .get("/api/v1/query_exemplars?query=sum(&start=1&end=2")
        .await;
    assert_eq!((code, body["errorType"].as_str()), (400, Some("bad_data")));
    s.stop().await;
}

#[tokio::test]
async fn other_stages_can_add_routes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(&path, "").unwrap();
    let options = Options {
        routes: axum::Router::new().route(
            "/api/v2/silences",
            axum::routing::get(|| async { axum::Json(json!([])) }),
        ),
        ..Options::new(Some(path.clone()), Arc::new(ManualClock::new(T0)))
    };
    let vigil = load(Config::load(&path).unwrap(), options).await.unwrap();
    let served = Served::start(vigil).await;
    let body = served.get("/api/v2/silences").await;
    assert_eq!(body, json!([]));
    served.stop().await;
}

#[tokio::test]
async fn query_limits_from_the_config_and_the_request() {
    let s = Server::start("query:\n  max_samples: 4\n", WebConfig::default()).await;
    for i in 0..5 {
        s.add(&[("__name__", "m"), ("i", &i.to_string())], T0, 1.0);
    }
    let (code, body) = s.get("/api/v1/query?query=m&time=1700000000").await;
    assert_eq!(
        (code, body["errorType"].as_str()),
        (422, Some("execution")),
        "{body}"
    );
    assert!(
        body["error"].as_str().unwrap().contains("too many samples"),
        "{body}"
    );
    let (code, body) = s
        .get("/api/v1/query?query=m%7Bi%3D%221%22%7D&time=1700000000")
        .await;
    assert_eq!(code, 200, "{body}");
    // A request timeout shorter than any evaluation.
    let (code, body) = s
        .get("/api/v1/query?query=sum(m)&time=1700000000&timeout=0.000000001")
        .await;
    assert_eq!(
        (code, body["errorType"].as_str()),
        (503, Some("timeout")),
        "{body}"
    );
    let (code, _) = s.get("/api/v1/query?query=m&timeout=soon").await;
    assert_eq!(code, 400);
    s.stop().await;
}

#[tokio::test]
async fn answers_are_gzipped_when_asked() {
    let s = with_data().await;
    support::http();
    // A client that leaves decoding to the test, to see the raw answer.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let r = raw
        .get(format!("{}/api/v1/label/__name__/values", s.served.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip"),
        "{:?}",
        r.headers()
    );
    let bytes = r.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"], json!(["http_requests_total", "temperature"]));
    s.stop().await;
}
