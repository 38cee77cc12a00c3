//! The demo app: a tiny HTTP service shaped like the monitored API instances
//! (seeds/001, "Health Checks Configuration"), whose health a test or the demo
//! can switch at run time.
//!
//! It serves `/health` (the documents' JSON: `status`, `instance`,
//! `timestamp`, `checks`, `uptime`, `version`), `/ready`, `/live` and `/`, and
//! takes its state on `POST /admin/state` with a plain-text body
//! (`healthy`, `degraded`, `unhealthy`, `slow`, `down`). The admin endpoint
//! always answers, so a test can bring a `down` or `slow` app back.
//!
//! - `healthy`: every check `ok`, 200 everywhere.
//! - `degraded`: the Redis check is `degraded` (high latency); still 200, as
//!   the documents say a degraded instance keeps serving.
//! - `unhealthy`: the database check `failed`; `/health` and `/ready` answer
//!   503 (the documents' "HTTP 503 → removed from the pool"), `/live` 200.
//! - `slow`: every endpoint but the admin one hangs until the state changes,
//!   which is past any probe deadline.
//! - `down`: 503 on every endpoint but the admin one.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What the app pretends to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppState {
    Healthy,
    Degraded,
    Unhealthy,
    Slow,
    Down,
}

impl AppState {
    pub const ALL: [AppState; 5] = [
        AppState::Healthy,
        AppState::Degraded,
        AppState::Unhealthy,
        AppState::Slow,
        AppState::Down,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppState::Healthy => "healthy",
            AppState::Degraded => "degraded",
            AppState::Unhealthy => "unhealthy",
            AppState::Slow => "slow",
            AppState::Down => "down",
        }
    }
}

impl fmt::Display for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The admin endpoint was sent a state it does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown state {0:?}: expected healthy, degraded, unhealthy, slow or down")]
pub struct UnknownState(String);

impl FromStr for AppState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        AppState::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// How one demo app instance presents itself.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The `instance` field of its JSON answers, e.g. `api-1`.
    pub instance: String,
    /// The `version` field of `/health`.
    pub version: String,
    pub initial: AppState,
}

impl AppOptions {
    pub fn new(instance: impl Into<String>) -> Self {
        AppOptions {
            instance: instance.into(),
            version: "1.0.0".to_string(),
            initial: AppState::Healthy,
        }
    }
}

struct Shared {
    opts: AppOptions,
    started: Instant,
    state: watch::Sender<AppState>,
}

/// The app's routes, for serving on any listener.
pub fn router(opts: AppOptions) -> Router {
    let (state, _) = watch::channel(opts.initial);
    let shared = Arc::new(Shared {
        opts,
        started: Instant::now(),
        state,
    });
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/live", get(live))
        .route("/admin/state", get(get_state).post(set_state))
        .with_state(shared)
}

/// Serves the app on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    opts: AppOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(opts))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A demo app running on the current tokio runtime; stops when dropped.
pub struct DemoApp {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl DemoApp {
    /// Binds 127.0.0.1 on a port the OS picks and serves there.
    pub async fn start(opts: AppOptions) -> std::io::Result<DemoApp> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(serve(listener, opts, async {
            let _ = rx.await;
        }));
        Ok(DemoApp {
            addr,
            stop: Some(tx),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for DemoApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the `vigil-demo-app` binary at `bin` (in an integration test of
/// vigil-tests: `env!("CARGO_BIN_EXE_vigil-demo-app")`) on 127.0.0.1:`port`,
/// and waits until it accepts connections.
pub fn start_child(
    bin: &std::path::Path,
    port: u16,
    opts: &AppOptions,
) -> std::io::Result<vigil_test_support::ChildGuard> {
    let child = std::process::Command::new(bin)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--instance")
        .arg(&opts.instance)
        .arg("--version")
        .arg(&opts.version)
        .arg("--state")
        .arg(opts.initial.as_str())
        .stdin(std::process::Stdio::null())
        .spawn()?;
    let guard = vigil_test_support::ChildGuard::new(format!("demo app {}", opts.instance), child);
    vigil_test_support::wait_for_tcp(
        SocketAddr::from(([127, 0, 0, 1], port)),
        std::time::Duration::from_secs(10),
    );
    Ok(guard)
}

/// Switches the state of a demo app at `base_url` (in-process or a child)
/// through its admin endpoint.
pub async fn set_app_state(base_url: &str, state: AppState) -> Result<(), reqwest::Error> {
    crate::exporter::http_client()
        .post(format!("{base_url}/admin/state"))
        .body(state.as_str())
        .send()
        .await?
        .error_for_status()
        .map(|_| ())
}

type Ctx = State<Arc<Shared>>;

/// Waits out `slow` (until the state changes) and answers 503 when `down`;
/// `None` means the endpoint may answer normally.
async fn gate(shared: &Shared) -> Option<Response> {
    let mut rx = shared.state.subscribe();
    loop {
        let current = *rx.borrow_and_update();
        match current {
            AppState::Slow => {
                if rx.changed().await.is_err() {
                    return Some(StatusCode::SERVICE_UNAVAILABLE.into_response());
                }
            }
            AppState::Down => {
                return Some((StatusCode::SERVICE_UNAVAILABLE, "down\n").into_response());
            }
            _ => return None,
        }
    }
}

fn timestamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

async fn root(State(s): Ctx) -> Response {
    if let Some(r) = gate(&s).await {
        return r;
    }
    format!("hello from {}\n", s.opts.instance).into_response()
}

/// The `/health` body for a state, per seeds/001: status is `healthy` when
/// every check is `ok`, `degraded` when one is `degraded`, `unhealthy` when
/// one has `failed`.
pub fn health_body(instance: &str, version: &str, uptime: u64, state: AppState) -> Value {
    let (status, db, redis) = match state {
        AppState::Degraded => (
            "degraded",
            json!({"status": "ok", "latency": 15}),
            json!({"status": "degraded", "latency": 75, "message": "Latency degraded: 75ms"}),
        ),
        AppState::Unhealthy => (
            "unhealthy",
            json!({"status": "failed", "message": "connect ECONNREFUSED 127.0.0.1:5432"}),
            json!({"status": "ok", "latency": 5}),
        ),
        _ => (
            "healthy",
            json!({"status": "ok", "latency": 15}),
            json!({"status": "ok", "latency": 5}),
        ),
    };
    json!({
        "status": status,
        "instance": instance,
        "timestamp": timestamp(),
        "checks": {
            "database": db,
            "redis": redis,
            "memory": {
                "status": "ok",
                "details": {"heapUsedMB": 450, "heapTotalMB": 896, "usagePercent": 50}
            },
            "cpu": {
                "status": "ok",
                "details": {"loadAverage": [1.2, 1.5, 1.8], "normalizedLoad": 30}
            }
        },
        "uptime": uptime,
        "version": version,
    })
}

async fn health(State(s): Ctx) -> Response {
    if let Some(r) = gate(&s).await {
        return r;
    }
    let state = *s.state.borrow();
    let body = health_body(
        &s.opts.instance,
        &s.opts.version,
        s.started.elapsed().as_secs(),
        state,
    );
    let code = if state == AppState::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, axum::Json(body)).into_response()
}

async fn ready(State(s): Ctx) -> Response {
    if let Some(r) = gate(&s).await {
        return r;
    }
    let unhealthy = *s.state.borrow() == AppState::Unhealthy;
    let reasons: Vec<&str> = if unhealthy {
        vec!["database unreachable"]
    } else {
        vec![]
    };
    let body = json!({
        "ready": !unhealthy,
        "instance": s.opts.instance,
        "timestamp": timestamp(),
        "reasons": reasons,
    });
    let code = if unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, axum::Json(body)).into_response()
}

async fn live(State(s): Ctx) -> Response {
    if let Some(r) = gate(&s).await {
        return r;
    }
    axum::Json(json!({
        "alive": true,
        "instance": s.opts.instance,
        "timestamp": timestamp(),
    }))
    .into_response()
}

async fn get_state(State(s): Ctx) -> String {
    format!("{}\n", *s.state.borrow())
}

async fn set_state(State(s): Ctx, body: String) -> Response {
    match body.parse::<AppState>() {
        Ok(state) => {
            s.state.send_replace(state);
            format!("{state}\n").into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    }
}

/// Demo app processes (the `vigil-demo-app` binary at `bin`) on ports fixed
/// at the start, so a stopped instance comes back where the exporter and
/// HAProxy look for it. Each is stopped by its pid when the set drops.
pub struct AppSet {
    bin: std::path::PathBuf,
    instances: Vec<String>,
    ports: Vec<u16>,
    children: Vec<Option<vigil_test_support::ChildGuard>>,
}

impl AppSet {
    /// Starts one app per name in `instances`, each on a free port.
    pub fn start(bin: &std::path::Path, instances: &[&str]) -> AppSet {
        let mut apps = AppSet {
            bin: bin.to_path_buf(),
            instances: instances.iter().map(|s| s.to_string()).collect(),
            ports: instances
                .iter()
                .map(|_| vigil_test_support::free_port())
                .collect(),
            children: instances.iter().map(|_| None).collect(),
        };
        (0..instances.len()).for_each(|i| apps.up(i));
        apps
    }

    /// (Re)starts instance `i` on its port.
    pub fn up(&mut self, i: usize) {
        let opts = AppOptions::new(self.instances[i].clone());
        let child = start_child(&self.bin, self.ports[i], &opts).expect("start a demo app");
        self.children[i] = Some(child);
    }

    /// Stops instance `i` (kills it by pid and reaps it).
    pub fn stop(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            c.stop();
        }
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.ports
            .iter()
            .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect()
    }
}
