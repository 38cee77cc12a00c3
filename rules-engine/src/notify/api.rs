//! Alertmanager's v2 API for silences and alerts, as an axum [`Router`]
//! the server merges in:
//!
//! - `GET /api/v2/silences[?filter=...]`, `POST /api/v2/silences`,
//!   `GET` and `DELETE /api/v2/silence/{id}` (DELETE expires: the record
//!   stays, as in Alertmanager);
//! - `GET /api/v2/alerts[?filter=&active=&silenced=&inhibited=&receiver=]`
//!   with each alert's receivers and whether it is silenced or inhibited,
//!   and `POST /api/v2/alerts` (what Prometheus and amtool send);
//! - `GET /api/v1/alerts/history[?since=&kind=&fingerprint=&limit=]`:
//!   vigil's append-only alert and notification history, newest first;
//! - `GET /api/v2/status` and `GET /api/v2/receivers` (api_status.rs).
//!
//! Bodies are Alertmanager's JSON; errors are a JSON string with the
//! status code, as Alertmanager answers, and never carry internals (a
//! database error is logged and answered as a plain 500).

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::alert::{Alert, Status};
use super::data::go_time;
use super::dispatch::Dispatcher;
use super::inhibit::inhibited_by;
use super::silence::{ActiveSilence, Silence, SilenceMatcher, SilenceState, silenced_by};
use super::silence_store::{self, SilenceError};
use super::tables::NotifyTables;
use crate::model::{Labels, Matcher};
use crate::notify::route::matchers::{matches_all, parse_matcher};
use crate::notify::tables::history::HistoryQuery;

/// The routes, with the dispatcher as state.
pub fn router<S: NotifyTables>(d: Dispatcher<S>) -> Router {
    Router::new()
        .route("/api/v2/status", get(super::api_status::status::<S>))
        .route("/api/v2/receivers", get(super::api_status::receivers::<S>))
        .route(
            "/api/v2/silences",
            get(list_silences::<S>).post(post_silence::<S>),
        )
        .route(
            "/api/v2/silence/{id}",
            get(get_silence::<S>).delete(delete_silence::<S>),
        )
        .route(
            "/api/v2/alerts",
            get(list_alerts::<S>).post(post_alerts::<S>),
        )
        .route("/api/v1/alerts/history", get(history::<S>))
        .with_state(d)
}

/// An API error: status and a message for the client.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(Value::String(self.1))).into_response()
    }
}

impl From<SilenceError> for ApiError {
    fn from(e: SilenceError) -> Self {
        match e {
            SilenceError::NotFound => ApiError(StatusCode::NOT_FOUND, e.to_string()),
            SilenceError::Invalid(_) | SilenceError::AlreadyExpired(_) => {
                ApiError(StatusCode::BAD_REQUEST, e.to_string())
            }
            SilenceError::Db(e) => {
                tracing::warn!(error = %e, "silences API: database error");
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        }
    }
}

/// A body that could not be read: over the limit is a 413 (its JSON is
/// made by `api::limits`), anything else Alertmanager's 400.
fn rejected(e: axum::extract::rejection::JsonRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError(StatusCode::PAYLOAD_TOO_LARGE, e.body_text())
    } else {
        bad(e.body_text())
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

/// The query string's pairs, in order (`filter` repeats).
fn params(q: Option<String>) -> Vec<(String, String)> {
    q.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn filters(p: &[(String, String)]) -> Result<Vec<Matcher>, ApiError> {
    p.iter()
        .filter(|(k, _)| k == "filter")
        .map(|(_, v)| parse_matcher(v).map_err(|e| bad(format!("bad filter {v:?}: {e}"))))
        .collect()
}

fn flag(p: &[(String, String)], name: &str) -> Result<bool, ApiError> {
    match p.iter().find(|(k, _)| k == name) {
        None => Ok(true),
        Some((_, v)) => v
            .parse()
            .map_err(|_| bad(format!("{name} must be true or false"))),
    }
}

fn silence_json(s: &Silence, now: DateTime<Utc>) -> Value {
    json!({
        "id": s.id,
        "status": {"state": s.state(now).as_str()},
        "updatedAt": go_time(Some(s.updated_at)),
        "matchers": s.matchers,
        "startsAt": go_time(Some(s.starts_at)),
        "endsAt": go_time(Some(s.ends_at)),
        "createdBy": s.created_by,
        "comment": s.comment,
    })
}

async fn list_silences<S: NotifyTables>(
    State(d): State<Dispatcher<S>>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let f = filters(&params(q))?;
    let now = d.clock().now();
    let mut all = silence_store::list(d.db(), &f).await?;
    // Alertmanager lists active, then pending, then expired.
    all.sort_by_key(|s| match s.state(now) {
        SilenceState::Active => 0,
        SilenceState::Pending => 1,
        SilenceState::Expired => 2,
    });
    Ok(Json(Value::Array(
        all.iter().map(|s| silence_json(s, now)).collect(),
    )))
}

/// Alertmanager's `PostableSilence`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableSilence {
    #[serde(default)]
    pub id: String,
    pub matchers: Vec<SilenceMatcher>,
    #[serde(deserialize_with = "time")]
    pub starts_at: DateTime<Utc>,
    #[serde(deserialize_with = "time")]
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
}

/// An RFC 3339 time, as Go's `time.Time` JSON.
fn time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| serde::de::Error::custom(format!("time {s:?}: {e}")))
}

fn opt_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| serde::de::Error::custom(format!("time {v:?}: {e}"))),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SilenceId {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

async fn post_silence<S: NotifyTables>(
    State(d): State<Dispatcher<S>>,
    body: Result<Json<PostableSilence>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(p) = body.map_err(rejected)?;
    let now = d.clock().now();
    let s = Silence {
        id: p.id,
        matchers: p.matchers,
        starts_at: p.starts_at,
        ends_at: p.ends_at,
        updated_at: now,
        created_by: p.created_by,
        comment: p.comment,
    };
    let id = silence_store::save(d.db(), s, now).await?;
    Ok(Json(json!(SilenceId { silence_id: id })))
}

async fn get_silence<S: NotifyTables>(
    State(d): State<Dispatcher<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let s = d.db().silences(&id).await.map_err(SilenceError::from)?;
    let s = s.first().ok_or(SilenceError::NotFound)?;
    Ok(Json(silence_json(s, d.clock().now())))
}

async fn delete_silence<S: NotifyTables>(
    State(d): State<Dispatcher<S>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    silence_store::expire(d.db(), &id, d.clock().now()).await?;
    Ok(StatusCode::OK)
}

async fn list_alerts<S: NotifyTables>(
    State(d): State<Dispatcher<S>>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = params(q);
    let f = filters(&p)?;
    let (active, silenced, inhibited) = (
        flag(&p, "active")?,
        flag(&p, "silenced")?,
        flag(&p, "inhibited")?,
    );
    let receiver = match p.iter().find(|(k, _)| k == "receiver") {
        Some((_, r)) => Some(
            regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| bad(format!("receiver: {e}")))?,
        ),
        None => None,
    };
    let now = d.clock().now();
    let silences: Vec<ActiveSilence> = d
        .db()
        .silences("")
        .await
        .map_err(SilenceError::from)?
        .into_iter()
        .filter(|s| s.state(now) == SilenceState::Active)
        .filter_map(ActiveSilence::new)
        .collect();
    let n = d.notifier();
    let held = d.alerts();
    let all: Vec<Alert> = held.iter().map(|(a, _)| a.clone()).collect();
    let mut out = Vec::new();
    for (a, receivers) in &held {
        if a.status_at(now) == Status::Resolved || !matches_all(&f, &a.labels) {
            continue;
        }
        if let Some(re) = &receiver
            && !receivers.iter().any(|r| re.is_match(r))
        {
            continue;
        }
        let silenced_by = silenced_by(&silences, &a.labels, now);
        let inhibited_by: Vec<String> = inhibited_by(&n.inhibit_rules, &all, &a.labels, now)
            .map(|i| vec![format!("{:016x}", i.source_fingerprint)])
            .unwrap_or_default();
        let suppressed = !silenced_by.is_empty() || !inhibited_by.is_empty();
        let keep = (silenced_by.is_empty() || silenced)
            && (inhibited_by.is_empty() || inhibited)
            && (suppressed || active);
        if keep {
            out.push(alert_json(a, receivers, silenced_by, inhibited_by));
        }
    }
    Ok(Json(Value::Array(out)))
}

fn map(l: &Labels) -> BTreeMap<&str, &str> {
    l.iter()
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .collect()
}

fn alert_json(
    a: &Alert,
    receivers: &[String],
    silenced: Vec<String>,
    inhibited: Vec<String>,
) -> Value {
    let state = if silenced.is_empty() && inhibited.is_empty() {
        "active"
    } else {
        "suppressed"
    };
    json!({
        "labels": map(&a.labels),
        "annotations": map(&a.annotations),
        "startsAt": go_time(Some(a.starts_at)),
        "endsAt": go_time(a.ends_at),
        "updatedAt": go_time(Some(a.starts_at)),
        "generatorURL": a.generator_url,
        "fingerprint": format!("{:016x}", a.fingerprint()),
        "receivers": receivers.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
        "status": {"state": state, "silencedBy": silenced, "inhibitedBy": inhibited},
    })
}

/// Alertmanager's `PostableAlert`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "opt_time")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "opt_time")]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
}

/// Alertmanager's (0.25, classic mode) label-name rule:
/// `[a-zA-Z_][a-zA-Z0-9_]*`.
fn valid_label_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// Alertmanager's `validateLs`: the first bad name, as it words it.
fn validate_names(pairs: &BTreeMap<String, String>) -> Result<(), String> {
    match pairs.iter().find(|(n, _)| !valid_label_name(n)) {
        Some((n, _)) => Err(format!("invalid name {n:?}")),
        None => Ok(()),
    }
}

/// One posted alert checked as Alertmanager's `Alert.Validate` does
/// (after dropping labels with empty values), with its error text.
fn validate_posted(p: PostableAlert, now: DateTime<Utc>) -> Result<Alert, String> {
    let labels: BTreeMap<String, String> = p
        .labels
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    // Go's zero time means "not set".
    let set = |t: Option<DateTime<Utc>>| t.filter(|t| t.timestamp() > -62_135_596_800);
    let starts = set(p.starts_at).unwrap_or(now);
    let ends = set(p.ends_at);
    if ends.is_some_and(|e| e < starts) {
        return Err("start time must be before end time".into());
    }
    if labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    validate_names(&labels).map_err(|e| format!("invalid label set: {e}"))?;
    validate_names(&p.annotations).map_err(|e| format!("invalid annotations: {e}"))?;
    Ok(Alert {
        labels: Labels::from_pairs(labels),
        annotations: Labels::from_pairs(p.annotations),
        starts_at: starts,
        ends_at: ends,
        generator_url: p.generator_url,
    })
}

/// As Alertmanager: the valid alerts are taken (best effort), and if any
/// was invalid the answer is 400 with every error, `; `-joined.
async fn post_alerts<S: NotifyTables>(
    State(d): State<Dispatcher<S>>,
    body: Result<Json<Vec<PostableAlert>>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(posted) = body.map_err(rejected)?;
    let now = d.clock().now();
    let mut alerts = Vec::with_capacity(posted.len());
    let mut errors = Vec::new();
    for p in posted {
        match validate_posted(p, now) {
            Ok(a) => alerts.push(a),
            Err(e) => errors.push(e),
        }
    }
    d.post(alerts);
    if errors.is_empty() {
        Ok(StatusCode::OK)
    } else {
        d.metrics().alerts_invalid.inc_by(errors.len() as u64);
        Err(bad(errors.join("; ")))
    }
}

async fn history<S: NotifyTables>(
    State(d): State<Dispatcher<S>>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = params(q);
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let since = match get("since") {
        Some(v) => Some(
            DateTime::parse_from_rfc3339(&v)
                .map_err(|e| bad(format!("since: {e}")))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let limit = match get("limit") {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| bad("limit must be an integer"))?,
        ),
        None => None,
    };
    let q = HistoryQuery {
        since,
        kind: get("kind"),
        fingerprint: get("fingerprint"),
        limit,
    };
    let rows = d.db().history(&q).await.map_err(SilenceError::from)?;
    let data: Vec<Value> = rows
        .iter()
        .map(|e| {
            json!({
                "at": go_time(Some(e.at)),
                "kind": e.kind,
                "fingerprint": e.fingerprint,
                "labels": e.labels,
                "groupKey": e.group_key,
                "integration": e.integration,
                "status": e.status,
                "detail": e.detail,
                "state": e.state,
            })
        })
        .collect();
    Ok(Json(json!({"status": "success", "data": data})))
}
