//! A local HTTP receiver standing in for webhook endpoints that cannot be
//! reached from here (Slack's incoming webhooks, a team's alert hook): it
//! answers every POST with 200 `ok`, as Slack does, and keeps each request's
//! path and JSON body for the test to read. Served on 127.0.0.1:0 by the
//! test's tokio runtime; stops with it.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use serde_json::Value;

/// One request received: its path and its body parsed as JSON (`Null` when
/// it was not JSON, which a check then reports).
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub body: Value,
}

pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let app = Router::new().fallback(record).with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { base, seen }
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

async fn record(
    State(seen): State<Arc<Mutex<Vec<Received>>>>,
    uri: Uri,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    seen.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        body,
    });
    (StatusCode::OK, "ok")
}
