//! `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/{name}/values`: what
//! Grafana uses to fill dashboard variables and the query editor.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};

use super::ApiState;
use super::error::ApiError;
use super::json::{Metric, Success};
use super::params::{MAX_TIME, MIN_TIME, Params};
use crate::model::{Labels, Matcher};
use crate::scrape::relabel::is_valid_label_name;

/// `start`, `end`, `match[]` and `limit`, as the three endpoints take them.
struct Window {
    start: i64,
    end: i64,
    sets: Vec<Vec<Matcher>>,
    limit: usize,
}

fn window(p: &Params) -> Result<Window, ApiError> {
    let start = p.time_or("start", MIN_TIME)?;
    let end = p.time_or("end", MAX_TIME)?;
    let limit = match p.get("limit") {
        None => 0,
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| ApiError::bad_param("limit", format!("cannot parse {s:?} as a number")))?,
    };
    Ok(Window {
        start,
        end,
        sets: p.matchers()?,
        limit,
    })
}

/// Applies `limit` (0: none) with Prometheus's warning when it cuts.
fn limited<T: serde::Serialize>(mut data: Vec<T>, limit: usize) -> Response {
    let mut warnings = Vec::new();
    if limit > 0 && data.len() > limit {
        data.truncate(limit);
        warnings.push("results truncated due to limit".to_string());
    }
    Json(Success {
        status: "success",
        data,
        warnings,
        infos: Vec::new(),
    })
    .into_response()
}

pub async fn series(
    State(st): State<ApiState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::from_request(&uri, &headers, &body);
    let w = window(&p)?;
    if w.sets.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let mut all: BTreeSet<Labels> = BTreeSet::new();
    for set in &w.sets {
        all.extend(st.querier.series(set, w.start, w.end));
    }
    let list: Vec<Labels> = all.into_iter().collect();
    let shown: Vec<Metric> = list.iter().map(Metric).collect();
    Ok(limited(shown, w.limit))
}

pub async fn labels(
    State(st): State<ApiState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::from_request(&uri, &headers, &body);
    let w = window(&p)?;
    let mut names: BTreeSet<String> = BTreeSet::new();
    if w.sets.is_empty() {
        names.extend(st.querier.label_names(&[], w.start, w.end));
    }
    for set in &w.sets {
        names.extend(st.querier.label_names(set, w.start, w.end));
    }
    Ok(limited(names.into_iter().collect(), w.limit))
}

pub async fn label_values(
    State(st): State<ApiState>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !is_valid_label_name(&name) {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let p = Params::from_request(&uri, &headers, &Bytes::new());
    let w = window(&p)?;
    let mut values: BTreeSet<String> = BTreeSet::new();
    if w.sets.is_empty() {
        values.extend(st.querier.label_values(&name, &[], w.start, w.end));
    }
    for set in &w.sets {
        values.extend(st.querier.label_values(&name, set, w.start, w.end));
    }
    Ok(limited(values.into_iter().collect(), w.limit))
}

/// `/api/v1/metadata?metric=&limit=`: type, help and unit per metric, as
/// the targets exposed them.
pub async fn metadata(
    State(st): State<ApiState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let p = Params::from_request(&uri, &headers, &Bytes::new());
    let limit = match p.get("limit") {
        None => 0,
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| ApiError::bad_data("limit must be a number"))?
            .max(0) as usize,
    };
    let data = st
        .scrape
        .as_ref()
        .map(|m| m.metadata().query(p.get("metric"), limit))
        .unwrap_or_default();
    Ok(super::json::success(data))
}
