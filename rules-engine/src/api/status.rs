//! `/api/v1/status/buildinfo`, `/metrics`, `/-/healthy`, `/-/ready`.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::ApiState;
use super::error::ApiError;
use super::json::success;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildInfo {
    version: &'static str,
    revision: &'static str,
    branch: &'static str,
    build_user: &'static str,
    build_date: &'static str,
    go_version: &'static str,
}

pub async fn buildinfo() -> Response {
    success(BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        revision: option_env!("VIGIL_REVISION").unwrap_or("unknown"),
        branch: option_env!("VIGIL_BRANCH").unwrap_or("unknown"),
        build_user: "",
        build_date: option_env!("VIGIL_BUILD_DATE").unwrap_or("unknown"),
        // Not built with Go; the field stays so clients that read it parse.
        go_version: "",
    })
}

pub async fn metrics(State(st): State<ApiState>) -> Result<Response, ApiError> {
    let text = st.metrics.render().map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

pub async fn healthy() -> &'static str {
    "Vigil is Healthy.\n"
}

/// Ready once the server has loaded its config and started scraping.
pub async fn ready(State(st): State<ApiState>) -> Response {
    if st.ready.load(Ordering::Acquire) {
        "Vigil is Ready.\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}
