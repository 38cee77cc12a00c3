//! The Prometheus-compatible HTTP API, so Grafana and Prometheus clients
//! can use vigil as a data source. Handlers read through the store's
//! [`Querier`] seam and the scrape manager; errors go through [`ApiError`].

pub mod error;
pub mod json;
pub mod limits;
pub mod meta;
pub mod metrics;
pub mod params;
pub mod query;
pub mod rule_metrics;
pub mod rules;
pub mod status;
pub mod targets;
pub mod tsdb;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::routing::get;

pub use error::{ApiError, ErrorType};
pub use metrics::ServerMetrics;

use crate::clock::Clock;
use crate::promql::Engine;
use crate::scrape::ScrapeManager;
use crate::store::Querier;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub querier: Arc<dyn Querier>,
    pub engine: Engine,
    /// `None` when the server does not scrape (tests, query-only setups).
    pub scrape: Option<Arc<ScrapeManager>>,
    pub metrics: Arc<ServerMetrics>,
    pub ready: Arc<AtomicBool>,
    /// "Now" for queries without `time`.
    pub clock: Arc<dyn Clock>,
}

/// Every route. GET and POST are both accepted where Prometheus accepts
/// both (Grafana posts long queries as forms).
pub fn router(state: ApiState) -> Router {
    let metrics = state.metrics.clone();
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route("/api/v1/series", get(meta::series).post(meta::series))
        .route("/api/v1/labels", get(meta::labels).post(meta::labels))
        .route("/api/v1/label/{name}/values", get(meta::label_values))
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/metadata", get(meta::metadata))
        .route(
            "/api/v1/query_exemplars",
            get(query::exemplars).post(query::exemplars),
        )
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/metrics", get(status::metrics))
        .route("/-/healthy", get(status::healthy).head(status::healthy))
        .route("/-/ready", get(status::ready).head(status::ready))
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        // Range queries for dashboards are large and compress well;
        // Prometheus gzips its answers too when the client asks.
        .layer(tower_http::compression::CompressionLayer::new())
}

async fn not_found() -> ApiError {
    ApiError {
        kind: ErrorType::NotFound,
        message: "not found".into(),
    }
}
