//! The exporter's HTTP side: `/metrics`, the landing page, `/-/healthy`,
//! `/-/ready` and `POST /-/reload`, served by [`serve`] on a listener the
//! caller bound until the caller's shutdown future resolves.
//!
//! A reload is a transaction: the new file is loaded and built in full
//! before it replaces the running collectors; on any error the running set
//! stays and the errors are logged and returned. Targets whose
//! configuration did not change keep their collectors (connections,
//! cumulative counters); see `config::TargetKey`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use vigil_common::ConfigErrors;
use vigil_common::web::WebConfig;

use crate::config::{self, Loaded};
use crate::encode::Format;
use crate::metrics::Family;
use crate::registry::{ExporterStats, Gathered, Registry};
use crate::trimmer;

mod answer;
mod gzip;

use answer::accepts_gzip;

/// The running exporter: the current collectors and what outlives reloads.
pub struct Exporter {
    config_path: Option<PathBuf>,
    registry: RwLock<Arc<Registry>>,
    /// The running collectors by target, for a reload to keep.
    reusable: Mutex<config::Reusable>,
    stats: Arc<ExporterStats>,
    /// One reload at a time; scrapes go on meanwhile with the old registry.
    reloading: tokio::sync::Mutex<()>,
    reload: Mutex<ReloadState>,
}

struct ReloadState {
    last_ok: bool,
    last_success: f64,
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Exporter {
    /// Loads `path` (every error located) and builds the exporter.
    pub fn load(path: impl Into<PathBuf>) -> Result<Exporter, ConfigErrors> {
        let path = path.into();
        let loaded = config::load(&path)?;
        Ok(Exporter::new(loaded, Some(path)))
    }

    /// An exporter for an already built configuration; `config_path` is what
    /// a reload reads (none: reloads fail).
    pub fn new(loaded: Loaded, config_path: Option<PathBuf>) -> Exporter {
        let stats = Arc::new(ExporterStats::default());
        Exporter {
            config_path,
            reusable: Mutex::new(loaded.reusable()),
            registry: RwLock::new(Arc::new(Registry::new(
                loaded.collectors,
                loaded.default_timeout,
                stats.clone(),
            ))),
            stats,
            reloading: tokio::sync::Mutex::new(()),
            reload: Mutex::new(ReloadState {
                last_ok: true,
                last_success: now_seconds(),
            }),
        }
    }

    fn current(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads the configuration file; keeps the running one on error.
    /// Returns the number of targets now running.
    pub async fn reload(&self) -> Result<usize, ConfigErrors> {
        let _one = self.reloading.lock().await;
        let Some(path) = &self.config_path else {
            return Err(ConfigErrors::one(
                "(none)",
                0,
                0,
                "no configuration file to reload",
            ));
        };
        let previous = self
            .reusable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let result = config::load_reusing(path, &previous);
        let mut state = self.reload.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(loaded) => {
                let next = loaded.reusable();
                let kept = next.keys().filter(|k| previous.contains_key(*k)).count();
                *self.reusable.lock().unwrap_or_else(|e| e.into_inner()) = next;
                let registry = Registry::new(
                    loaded.collectors,
                    loaded.default_timeout,
                    self.stats.clone(),
                );
                let n = registry.len();
                *self.registry.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(registry);
                state.last_ok = true;
                state.last_success = now_seconds();
                tracing::info!(targets = n, kept, file = %path.display(), "configuration reloaded");
                Ok(n)
            }
            Err(errors) => {
                state.last_ok = false;
                for e in &errors.0 {
                    tracing::error!(error = %e, "reload failed; keeping the running configuration");
                }
                Err(errors)
            }
        }
    }

    /// Everything `/metrics` shows.
    pub async fn gather(&self) -> Vec<Family> {
        self.gather_within(None).await.into_families()
    }

    /// Everything `/metrics` shows, every target cut off by `cap` at the
    /// latest.
    pub async fn gather_within(&self, cap: Option<Duration>) -> Gathered {
        let mut families = self.current().gather_within(cap).await;
        let state = self.reload.lock().unwrap_or_else(|e| e.into_inner());
        families.push(
            Family::gauge(
                "vigil_exporter_config_last_reload_successful",
                "Whether the last configuration reload succeeded (1) or not (0).",
            )
            .single(if state.last_ok { 1.0 } else { 0.0 }),
        );
        families.push(
            Family::gauge(
                "vigil_exporter_config_last_reload_success_timestamp_seconds",
                "When the configuration was last loaded successfully, in seconds since the epoch.",
            )
            .single(state.last_success),
        );
        families
    }
}

/// The routes, for serving or for testing with `tower::ServiceExt`.
pub fn router(exporter: Arc<Exporter>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/", get(landing))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        .route("/-/ready", get(|| async { "Ready\n" }))
        .route("/-/reload", post(reload))
        .with_state(exporter)
}

/// Serves the exporter on `listener` with the web config's TLS and basic
/// auth until `shutdown` resolves.
pub async fn serve(
    exporter: Arc<Exporter>,
    listener: tokio::net::TcpListener,
    web: &WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    vigil_common::serve::serve(router(exporter), listener, web, shutdown).await
}

/// Reloads the configuration on every SIGHUP, for as long as the process
/// runs.
#[cfg(unix)]
pub fn reload_on_sighup(exporter: Arc<Exporter>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            let _ = exporter.reload().await;
        }
    });
    Ok(())
}

async fn metrics(State(exporter): State<Arc<Exporter>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let cap = headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(scrape_deadline);
    let gzip = accepts_gzip(
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let gathered = exporter.gather_within(cap).await;
    let body = answer::body(&gathered, format, gzip).await;
    // Freeing the families (thousands of small strings) and returning
    // their pages happen on the trimmer's thread, while the answer is sent.
    trimmer::dispose(Box::new(gathered));
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "cannot compress the answer");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot compress the answer\n",
            )
                .into_response();
        }
    };
    let mut response = ([(header::CONTENT_TYPE, format.content_type())], body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::VARY,
        header::HeaderValue::from_static("accept-encoding"),
    );
    if gzip {
        headers.insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("gzip"),
        );
    }
    response
}

/// Prometheus tells how long it waits for the scrape
/// (`X-Prometheus-Scrape-Timeout-Seconds`); targets are cut off half a second
/// earlier, as blackbox_exporter does, so the answer arrives in time.
fn scrape_deadline(header: &str) -> Option<Duration> {
    const MARGIN: f64 = 0.5;
    let seconds: f64 = header.trim().parse().ok()?;
    (seconds.is_finite() && seconds > 0.0)
        .then(|| Duration::from_secs_f64((seconds - MARGIN).max(seconds / 2.0)))
}

async fn reload(State(exporter): State<Arc<Exporter>>) -> Response {
    match exporter.reload().await {
        Ok(n) => (
            StatusCode::OK,
            format!("configuration reloaded: {n} targets\n"),
        )
            .into_response(),
        Err(errors) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload failed, running configuration kept:\n{errors}\n"),
        )
            .into_response(),
    }
}

async fn landing() -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><title>Vigil Exporter</title></head><body>\
         <h1>Vigil Exporter</h1>\
         <p>PostgreSQL, Redis, HAProxy and application-health metrics, version {}.</p>\
         <ul><li><a href=\"metrics\">Metrics</a></li>\
         <li><a href=\"-/healthy\">Health</a></li>\
         <li><a href=\"-/ready\">Readiness</a></li></ul>\
         </body></html>\n",
        env!("CARGO_PKG_VERSION")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_deadline_leaves_a_margin() {
        assert_eq!(scrape_deadline("10"), Some(Duration::from_secs_f64(9.5)));
        assert_eq!(scrape_deadline("0.5"), Some(Duration::from_secs_f64(0.25)));
        assert_eq!(scrape_deadline("nope"), None);
        assert_eq!(scrape_deadline("-1"), None);
        assert_eq!(scrape_deadline("inf"), None);
    }
}
