//! `/api/v1/query` and `/api/v1/query_range`. Evaluation is CPU work, so it
//! runs off the async workers and never stalls the server's other requests,
//! on a thread with a large stack ([`crate::promql::worker`]).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use super::ApiState;
use super::error::ApiError;
use super::json::query_response;
use super::params::Params;
use crate::promql::{Engine, QueryOutput};

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS: i64 = 11_000;

/// The engine for one request: the server's, with the request's `timeout`
/// when that is shorter (it may not raise the configured limit).
fn engine_for(st: &ApiState, timeout: Option<Duration>) -> Engine {
    let mut opts = st.engine.options().clone();
    if let Some(t) = timeout {
        opts.timeout = opts.timeout.min(t);
    }
    Engine::new(opts)
}

async fn run_blocking(
    f: impl FnOnce() -> Result<QueryOutput, crate::promql::QueryError> + Send + 'static,
) -> Result<QueryOutput, ApiError> {
    crate::promql::worker::run(f)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)
}

pub async fn instant(
    State(st): State<ApiState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::from_request(&uri, &headers, &body);
    let expr = p.get("query").unwrap_or("").to_string();
    let t = p.time_or("time", st.clock.now_ms())?;
    let engine = engine_for(&st, p.duration("timeout")?);
    let q = st.querier.clone();
    let out = run_blocking(move || engine.instant(&*q, &expr, t)).await?;
    Ok(query_response(&out))
}

pub async fn range(
    State(st): State<ApiState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::from_request(&uri, &headers, &body);
    let start = p.time("start")?;
    let end = p.time("end")?;
    if end < start {
        return Err(ApiError::bad_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step = p
        .duration("step")?
        .ok_or_else(|| ApiError::bad_param("step", "cannot parse \"\" to a valid duration"))?;
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
    if step_ms <= 0 {
        return Err(ApiError::bad_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end - start) / step_ms > MAX_POINTS {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let expr = p.get("query").unwrap_or("").to_string();
    let engine = engine_for(&st, p.duration("timeout")?);
    let q = st.querier.clone();
    let out = run_blocking(move || engine.range(&*q, &expr, start, end, step_ms)).await?;
    Ok(query_response(&out))
}

/// `/api/v1/query_exemplars`: vigil keeps no exemplars, so the answer is
/// always an empty list, after the same parameter checks as Prometheus
/// (Grafana asks when its exemplar toggle is on).
pub async fn exemplars(
    State(st): State<ApiState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::from_request(&uri, &headers, &body);
    let now = st.clock.now_ms();
    let start = p.time_or("start", super::params::MIN_TIME)?;
    let end = p.time_or("end", now)?;
    if end < start {
        return Err(ApiError::bad_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    crate::promql::parse_expr(p.get("query").unwrap_or("")).map_err(ApiError::from)?;
    Ok(super::json::success(Vec::<()>::new()))
}
