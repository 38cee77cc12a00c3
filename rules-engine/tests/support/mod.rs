//! Test support: a real HTTP target (axum on 127.0.0.1:0) whose body and
//! status the test sets, stopped through a channel; a vigil served in the
//! test's process ([`served`]). Waiting, processes, SMTP and the
//! recording receiver are in `vigil-test-support`.

#![allow(dead_code)]

pub mod prometheus;
pub mod served;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use tokio::sync::oneshot;

/// What the target answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
}

/// A running exposition target.
pub struct Target {
    pub addr: SocketAddr,
    reply: Arc<Mutex<Reply>>,
    /// Authorization headers seen, in order.
    pub seen_auth: Arc<Mutex<Vec<String>>>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl Target {
    pub async fn start(body: &str) -> Target {
        let reply = Arc::new(Mutex::new(Reply {
            status: StatusCode::OK,
            content_type: "text/plain; version=0.0.4".into(),
            body: body.to_string(),
        }));
        let seen_auth = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/metrics", get(serve))
            .with_state((reply.clone(), seen_auth.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Target {
            addr,
            reply,
            seen_auth,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    pub fn set_body(&self, body: &str) {
        self.reply.lock().unwrap().body = body.to_string();
    }

    pub fn set_status(&self, status: StatusCode) {
        self.reply.lock().unwrap().status = status;
    }

    pub fn set_content_type(&self, ct: &str) {
        self.reply.lock().unwrap().content_type = ct.to_string();
    }

    /// Stops the server and waits until it no longer accepts connections.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

type TargetState = (Arc<Mutex<Reply>>, Arc<Mutex<Vec<String>>>);

async fn serve(
    State((reply, seen)): State<TargetState>,
    headers: HeaderMap,
) -> (StatusCode, HeaderMap, String) {
    if let Some(a) = headers.get(header::AUTHORIZATION) {
        seen.lock()
            .unwrap()
            .push(a.to_str().unwrap_or("").to_string());
    }
    let r = reply.lock().unwrap().clone();
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, r.content_type.parse().unwrap());
    (r.status, h, r.body)
}

/// An HTTP client for tests (reqwest is built without a default crypto
/// provider; ring is installed first, as the binaries do).
pub fn http() -> reqwest::Client {
    vigil_common::install_crypto_provider();
    reqwest::Client::new()
}

/// An alert sink keeping every alert the rules hand over.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<vigil::rules::OutgoingAlert>>);

impl vigil::rules::AlertSink for Recorder {
    fn send(&self, alerts: Vec<vigil::rules::OutgoingAlert>) {
        self.0.lock().unwrap().extend(alerts);
    }
}
