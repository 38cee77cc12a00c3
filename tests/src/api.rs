//! The Prometheus-compatible HTTP API (vigil's or Prometheus's) as the
//! end-to-end tests read it: plain GETs, `/api/v1/alerts`, and waiting for
//! a given set of alerts.

use serde_json::Value;

use vigil_test_support::eventually;

use crate::exporter::http_client;

/// `GET url`, as text.
pub async fn get_text(url: &str) -> String {
    http_client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// `GET url`, as JSON.
pub async fn get_json(url: &str) -> Value {
    let text = get_text(url).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: {e}: {text}"))
}

/// The alerts `base` (a server's root URL) has, as `/api/v1/alerts` lists
/// them.
pub async fn alerts(base: &str) -> Vec<Value> {
    get_json(&format!("{base}/api/v1/alerts")).await["data"]["alerts"]
        .as_array()
        .cloned()
        .unwrap()
}

/// The (alertname, instance, state) of each alert, sorted: what a wait
/// compares and prints.
pub fn alert_summary(alerts: &[Value]) -> Vec<(String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut out: Vec<_> = alerts
        .iter()
        .map(|a| {
            (
                s(&a["labels"]["alertname"]),
                s(&a["labels"]["instance"]),
                s(&a["state"]),
            )
        })
        .collect();
    out.sort();
    out
}

/// Polls `base`'s alerts until their summary is `want` (in any order) and
/// returns them; fails after `secs`, naming the server as `who`.
pub async fn wait_alerts(
    who: &str,
    base: &str,
    want: &[(&str, &str, &str)],
    secs: u64,
) -> Vec<Value> {
    let mut want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    want.sort();
    let mut got;
    let mut have;
    eventually!(secs, format!("{who}: {want:?}, have {have:?}"), {
        got = alerts(base).await;
        have = alert_summary(&got);
        have == want
    });
    got
}
