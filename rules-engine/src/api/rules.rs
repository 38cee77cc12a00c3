//! `GET /api/v1/rules` and `GET /api/v1/alerts`: the running groups in
//! Prometheus's JSON (the bodies are built by `rules::api_json`). Each
//! group is locked only while it is copied, so an answer never waits for
//! more than one group's evaluation.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use crate::rules::api_json::{alerts_body, rules_body};
use crate::rules::group::{Group, Rule};
use crate::rules::runtime::GroupsView;

/// The routes, over the manager's groups.
pub fn router(view: GroupsView) -> Router {
    Router::new()
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/alerts", get(alerts))
        .with_state(view)
}

/// Prometheus's `type` filter: `alert` or `record`.
#[derive(Debug, Deserialize)]
struct RulesParams {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// A copy of every group. A group's lock is held for its whole
/// evaluation, which over a large store can take seconds: the copy is made
/// on the blocking pool so waiting for it never stalls an async worker
/// (and with it the other endpoints and the scrapes).
async fn snapshot(view: &GroupsView) -> Vec<Group> {
    let view = view.clone();
    tokio::task::spawn_blocking(move || {
        view.read().iter().map(|g| g.group.lock().clone()).collect()
    })
    .await
    .unwrap_or_default()
}

/// The `type` filter as Prometheus reads it: case-insensitive, empty is
/// none, anything but `alert` or `record` is a 400.
fn rule_type(kind: Option<&str>) -> Result<Option<bool>, ApiError> {
    let kind = kind.unwrap_or("").to_lowercase();
    match kind.as_str() {
        "" => Ok(None),
        "alert" => Ok(Some(true)),
        "record" => Ok(Some(false)),
        _ => Err(ApiError::bad_param(
            "type",
            format!("not supported value {kind:?}"),
        )),
    }
}

async fn rules(
    State(view): State<GroupsView>,
    Query(p): Query<RulesParams>,
) -> Result<Json<Value>, ApiError> {
    let keep_alerts = rule_type(p.kind.as_deref())?;
    let mut groups = snapshot(&view).await;
    if let Some(keep_alerts) = keep_alerts {
        for g in &mut groups {
            let keep: Vec<bool> = g
                .rules
                .iter()
                .map(|r| matches!(r, Rule::Alerting(_)) == keep_alerts)
                .collect();
            let mut it = keep.iter();
            g.rules.retain(|_| *it.next().unwrap_or(&true));
            let mut it = keep.iter();
            g.status.retain(|_| *it.next().unwrap_or(&true));
        }
        // Prometheus leaves out groups the filter emptied.
        groups.retain(|g| !g.rules.is_empty());
    }
    let refs: Vec<&Group> = groups.iter().collect();
    Ok(Json(rules_body(&refs)))
}

async fn alerts(State(view): State<GroupsView>) -> Json<Value> {
    let groups = snapshot(&view).await;
    let refs: Vec<&Group> = groups.iter().collect();
    Json(alerts_body(&refs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_filter_is_validated_as_prometheus_does() {
        assert_eq!(rule_type(None).unwrap(), None);
        assert_eq!(rule_type(Some("")).unwrap(), None);
        assert_eq!(rule_type(Some("ALERT")).unwrap(), Some(true));
        assert_eq!(rule_type(Some("record")).unwrap(), Some(false));
        let e = rule_type(Some("nonsense")).unwrap_err();
        assert_eq!(
            e.message,
            "invalid parameter \"type\": not supported value \"nonsense\""
        );
    }
}
