//! `GET /api/v1/status/tsdb` (the head's cardinality, as Prometheus's)
//! and `POST /api/v1/admin/tsdb/snapshot` (a backup of the data
//! directory, only with `--web.enable-admin-api`).

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorType};
use super::json::success;
use crate::store::Head;
use crate::store::storage::Storage;

/// What the two endpoints read.
#[derive(Clone)]
pub struct TsdbApi {
    pub head: Arc<Head>,
    pub storage: Arc<OnceLock<Arc<Storage>>>,
    /// `--web.enable-admin-api`.
    pub admin: bool,
}

pub fn router(state: TsdbApi) -> Router {
    Router::new()
        .route("/api/v1/status/tsdb", get(status))
        .route("/api/v1/admin/tsdb/snapshot", post(snapshot).put(snapshot))
        .with_state(state)
}

#[derive(Deserialize)]
struct StatusParams {
    limit: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HeadStats {
    num_series: u64,
    num_label_pairs: u64,
    chunk_count: u64,
    min_time: i64,
    max_time: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    head_stats: HeadStats,
    #[serde(flatten)]
    cardinality: crate::store::Cardinality,
}

async fn status(
    State(api): State<TsdbApi>,
    Query(p): Query<StatusParams>,
) -> Result<Response, ApiError> {
    let limit = match p.limit.as_deref() {
        None => 10,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(ApiError::bad_param("limit", "must be a positive number")),
        },
    };
    let head = api.head.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let cardinality = head.cardinality(limit);
        let stats = head.stats();
        Status {
            head_stats: HeadStats {
                num_series: stats.series,
                num_label_pairs: cardinality.num_label_pairs,
                chunk_count: stats.chunks,
                min_time: head.min_time().unwrap_or(i64::MAX),
                max_time: head.max_time().unwrap_or(i64::MIN),
            },
            cardinality,
        }
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(success(answer))
}

#[derive(Serialize)]
struct SnapshotName {
    name: String,
}

async fn snapshot(State(api): State<TsdbApi>) -> Result<Response, ApiError> {
    if !api.admin {
        return Err(ApiError {
            kind: ErrorType::Unavailable,
            message: "admin APIs disabled".into(),
        });
    }
    let Some(storage) = api.storage.get().cloned() else {
        return Err(ApiError {
            kind: ErrorType::Unavailable,
            message: "no storage.path: samples are in memory only".into(),
        });
    };
    let name = format!(
        "{}-{:016x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        rand_suffix()
    );
    let n = name.clone();
    tokio::task::spawn_blocking(move || storage.snapshot(&n))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(format!("snapshot: {e}")))?;
    Ok(success(SnapshotName { name }))
}

/// A per-call random part of the name, as Prometheus's.
fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}
