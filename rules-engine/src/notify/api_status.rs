//! Alertmanager's `GET /api/v2/status` and `GET /api/v2/receivers`, which
//! amtool reads (`amtool config show`, `amtool cluster show`,
//! `amtool config routes` without `--config.file`).
//!
//! Status has Alertmanager's shape: `cluster` (vigil runs no gossip
//! cluster, so `disabled` — two instances share work through the
//! database instead), `versionInfo`, `config.original` (the routing
//! configuration as written, secrets shown as `<secret>`, see
//! route/masked.rs) and `uptime` (when the dispatcher started, on its
//! clock).

use axum::Json;
use axum::extract::State;
use chrono::SecondsFormat;
use serde_json::{Value, json};

use super::dispatch::Dispatcher;
use super::tables::NotifyTables;

pub async fn status<S: NotifyTables>(State(d): State<Dispatcher<S>>) -> Json<Value> {
    let n = d.notifier();
    Json(json!({
        "cluster": {"status": "disabled", "peers": []},
        "versionInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "revision": option_env!("VIGIL_REVISION").unwrap_or("unknown"),
            "branch": option_env!("VIGIL_BRANCH").unwrap_or("unknown"),
            "buildUser": "",
            "buildDate": option_env!("VIGIL_BUILD_DATE").unwrap_or("unknown"),
            // Not built with Go; the field stays so that clients parse.
            "goVersion": "",
        },
        "config": {"original": n.original},
        "uptime": d.started().to_rfc3339_opts(SecondsFormat::Millis, true),
    }))
}

pub async fn receivers<S: NotifyTables>(State(d): State<Dispatcher<S>>) -> Json<Value> {
    let n = d.notifier();
    Json(Value::Array(
        n.receiver_names
            .iter()
            .map(|name| json!({"name": name}))
            .collect(),
    ))
}
