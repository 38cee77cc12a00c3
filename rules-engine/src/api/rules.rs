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

async fn rules(State(view): State<GroupsView>, Query(p): Query<RulesParams>) -> Json<Value> {
    let mut groups = snapshot(&view).await;
    if let Some(kind) = p.kind.as_deref() {
        let keep_alerts = kind == "alert";
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
    Json(rules_body(&refs))
}

async fn alerts(State(view): State<GroupsView>) -> Json<Value> {
    let groups = snapshot(&view).await;
    let refs: Vec<&Group> = groups.iter().collect();
    Json(alerts_body(&refs))
}
