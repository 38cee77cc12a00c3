//! `/api/v1/targets` in Prometheus's shape: active targets with health,
//! last error and timings; dropped targets with their discovered labels.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde::Serialize;

use super::ApiState;
use super::error::ApiError;
use super::json::{Metric, success};
use super::params::Params;
use crate::model::Labels;
use crate::scrape::ActiveTarget;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Active<'a> {
    discovered_labels: Metric<'a>,
    labels: Metric<'a>,
    scrape_pool: &'a str,
    scrape_url: &'a str,
    global_url: &'a str,
    last_error: &'a str,
    last_scrape: String,
    last_scrape_duration: f64,
    health: &'static str,
    scrape_interval: String,
    scrape_timeout: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dropped<'a> {
    discovered_labels: Metric<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    active_targets: Vec<Active<'a>>,
    dropped_targets: Vec<Dropped<'a>>,
    dropped_target_counts: BTreeMap<&'a str, usize>,
}

/// RFC 3339 with nanoseconds; Go's zero time before the first scrape.
fn rfc3339(ms: Option<i64>) -> String {
    match ms.and_then(chrono::DateTime::from_timestamp_millis) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => "0001-01-01T00:00:00Z".into(),
    }
}

fn duration(d: std::time::Duration) -> String {
    crate::model::units::PromDuration(d).to_string()
}

pub async fn targets(
    State(st): State<ApiState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let p = Params::from_request(&uri, &headers, &Bytes::new());
    let state = p.get("state").unwrap_or("any");
    let pool = p.get("scrapePool");
    let view = st.scrape.as_ref().map(|m| m.targets()).unwrap_or_default();
    let wanted = |job: &str| pool.is_none_or(|p| p == job);
    let labels: Vec<(&ActiveTarget, Labels)> = view
        .active
        .iter()
        .filter(|t| wanted(&t.job))
        .map(|t| (t, t.target.labels()))
        .collect();
    let active = labels
        .iter()
        .filter(|_| state == "any" || state == "active")
        .map(|(t, labels)| Active {
            discovered_labels: Metric(&t.target.discovered),
            labels: Metric(labels),
            scrape_pool: &t.job,
            scrape_url: &t.target.url,
            global_url: &t.target.url,
            last_error: &t.status.last_error,
            last_scrape: rfc3339(t.status.last_scrape_ms),
            last_scrape_duration: t.status.last_duration.as_secs_f64(),
            health: t.status.health.as_str(),
            scrape_interval: duration(t.target.interval),
            scrape_timeout: duration(t.target.timeout),
        })
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dropped = Vec::new();
    for (job, l) in view.dropped.iter().filter(|(job, _)| wanted(job)) {
        *counts.entry(job).or_default() += 1;
        if state == "any" || state == "dropped" {
            dropped.push(Dropped {
                discovered_labels: Metric(l),
            });
        }
    }
    Ok(success(Data {
        active_targets: active,
        dropped_targets: dropped,
        dropped_target_counts: counts,
    }))
}
