//! A local HTTP server standing in for every receiver's API: it records
//! each request (method, path, query, headers, body) and answers as the
//! real service would for a success (Telegram's `ok`, WeChat's token and
//! `code: 0`, SNS's `PublishResponse`, `{}` otherwise), so neither
//! Alertmanager nor vigil retries. A path with a `/fail` segment gets a
//! 503. Included with `#[path]` by the tests that need it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Lowercase names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// Everything as text, to look for secrets.
    pub fn text(&self) -> String {
        format!(
            "{} {} {:?} {:?} {}",
            self.method,
            self.path,
            self.query,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }
}

#[derive(Clone, Default)]
pub struct Recorder {
    pub seen: Arc<Mutex<Vec<Recorded>>>,
    pub port: u16,
}

async fn record(
    State(seen): State<Arc<Mutex<Vec<Recorded>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let query = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let path = uri.path().to_string();
    seen.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query,
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: body.to_vec(),
    });
    if path.split('/').any(|s| s == "fail") {
        return (StatusCode::SERVICE_UNAVAILABLE, String::new()).into_response();
    }
    let answer = if path.ends_with("/sendMessage") {
        r#"{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":1,"type":"group"}}}"#
            .to_string()
    } else if path.ends_with("/gettoken") {
        r#"{"access_token":"wx-access","expires_in":7200}"#.to_string()
    } else if path.ends_with("/message/send") {
        r#"{"code":0,"error":""}"#.to_string()
    } else if headers.get("content-type").is_some_and(|v| {
        v.to_str()
            .unwrap_or("")
            .starts_with("application/x-www-form")
    }) {
        let xml = r#"<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>"#;
        return ([("content-type", "text/xml")], xml.to_string()).into_response();
    } else {
        "{}".to_string()
    };
    ([("content-type", "application/json")], answer).into_response()
}

impl Recorder {
    pub async fn start() -> Recorder {
        let seen: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let app = Router::new().fallback(record).with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Recorder { seen, port }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests whose path starts with `prefix`, in arrival order.
    pub fn under(&self, prefix: &str) -> Vec<Recorded> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Waits until `cond` holds of all requests (at most `secs`).
    pub async fn wait_for(&self, secs: u64, what: &str, cond: impl Fn(&[Recorded]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if cond(&self.seen.lock().unwrap()) {
                return;
            }
            if Instant::now() > deadline {
                let paths: Vec<String> = self
                    .seen
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect();
                panic!("{what}: not within {secs} s; seen {paths:#?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
