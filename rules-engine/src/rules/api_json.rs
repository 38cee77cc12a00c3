//! The bodies of `/api/v1/rules` and `/api/v1/alerts` in Prometheus's JSON,
//! so Grafana and other Prometheus clients read vigil's rules unchanged.
//! Pure functions of the groups; the HTTP layer only serves them.

use serde_json::{Map, Value, json};

use super::group::{Group, Rule, RuleStatus};
use crate::alert::{Alert, AlertState};
use crate::model::Labels;

/// Go's zero time, which Prometheus prints for "never evaluated".
const NEVER: &str = "0001-01-01T00:00:00Z";

fn time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or(NEVER.to_string(), |t| {
            t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        })
}

fn labels(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|l| (l.name.clone(), Value::String(l.value.clone())))
            .collect(),
    )
}

fn pairs(p: &[(String, String)]) -> Value {
    Value::Object(
        p.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: `1e+00`, `8.5e-01`.
pub fn go_exp(v: f64) -> String {
    crate::promql::go_float::go_e(v, false)
}

fn alert_json(a: &Alert) -> Value {
    let mut v = json!({
        "labels": labels(&a.labels),
        "annotations": pairs(&a.annotations),
        "state": a.state.as_str(),
        "activeAt": time(Some(a.active_at)),
        "value": go_exp(a.value),
    });
    if a.state == AlertState::Firing && a.keep_firing_since.is_some() {
        v["keepFiringSince"] = Value::String(time(a.keep_firing_since));
    }
    v
}

/// Pending and firing alerts, sorted by labels.
fn active(r: &super::alerting::AlertingRule) -> Vec<&Alert> {
    let mut v: Vec<&Alert> = r
        .active
        .values()
        .filter(|a| a.state != AlertState::Inactive)
        .collect();
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    v
}

fn rule_json(rule: &Rule, st: &RuleStatus) -> Value {
    let mut v = match rule {
        Rule::Alerting(r) => {
            let alerts = active(r);
            let state = alerts
                .iter()
                .map(|a| a.state)
                .max()
                .unwrap_or(AlertState::Inactive);
            json!({
                "type": "alerting",
                "name": r.name,
                "query": r.expr_text,
                "duration": r.hold.pending_for as f64 / 1000.0,
                "keepFiringFor": r.hold.keep_firing_for as f64 / 1000.0,
                "labels": pairs(&r.labels),
                "annotations": pairs(&r.annotations),
                "alerts": alerts.into_iter().map(alert_json).collect::<Vec<_>>(),
                "state": state.as_str(),
            })
        }
        Rule::Recording(r) => json!({
            "type": "recording",
            "name": r.name,
            "query": r.expr_text,
            "labels": pairs(&r.labels),
        }),
    };
    v["health"] = json!(st.health.as_str());
    if let Some(e) = &st.last_error {
        v["lastError"] = json!(e);
    }
    v["evaluationTime"] = json!(st.evaluation_duration.as_secs_f64());
    v["lastEvaluation"] = json!(time(st.last_evaluation));
    v
}

/// `GET /api/v1/rules`.
pub fn rules_body(groups: &[&Group]) -> Value {
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({
                "name": g.name,
                "file": g.file,
                "interval": g.interval_ms as f64 / 1000.0,
                "limit": g.limit,
                "rules": g.rules.iter().zip(&g.status).map(|(r, s)| rule_json(r, s)).collect::<Vec<_>>(),
                "evaluationTime": g.last_duration.as_secs_f64(),
                "lastEvaluation": time(g.last_evaluation),
            })
        })
        .collect();
    json!({"status": "success", "data": {"groups": groups}})
}

/// `GET /api/v1/alerts`: every pending and firing alert.
pub fn alerts_body(groups: &[&Group]) -> Value {
    let alerts: Vec<Value> = groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| match r {
            Rule::Alerting(r) => Some(active(r)),
            Rule::Recording(_) => None,
        })
        .flatten()
        .map(alert_json)
        .collect();
    json!({"status": "success", "data": {"alerts": alerts}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::validate::check_text;

    #[test]
    fn go_exponent_format() {
        assert_eq!(go_exp(1.0), "1e+00");
        assert_eq!(go_exp(0.85), "8.5e-01");
        assert_eq!(go_exp(123456.0), "1.23456e+05");
        assert_eq!(go_exp(f64::INFINITY), "+Inf");
    }

    #[test]
    fn shapes_match_prometheus() {
        let f = check_text(
            "r.yml",
            "groups:\n- name: g\n  interval: 30s\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1m\n    labels: {severity: page}\n  - record: r\n    expr: up\n",
        )
        .unwrap();
        let mut g = Group::build("r.yml", &f.groups[0], 60_000).unwrap();
        if let Rule::Alerting(r) = &mut g.rules[0] {
            let l = Labels::from_pairs([("alertname", "A"), ("instance", "x")]);
            r.active
                .insert(l.clone(), Alert::new(l, vec![], 0.0, 1_700_000_000_000));
        }
        let body = rules_body(&[&g]);
        let rule = &body["data"]["groups"][0]["rules"][0];
        assert_eq!(rule["type"], "alerting");
        assert_eq!(rule["state"], "pending");
        assert_eq!(rule["duration"], 60.0);
        assert_eq!(rule["health"], "unknown");
        assert_eq!(rule["lastEvaluation"], NEVER);
        assert_eq!(rule["alerts"][0]["activeAt"], "2023-11-14T22:13:20Z");
        assert_eq!(rule["alerts"][0]["value"], "0e+00");
        assert_eq!(body["data"]["groups"][0]["interval"], 30.0);
        assert_eq!(body["data"]["groups"][0]["rules"][1]["type"], "recording");
        let alerts = alerts_body(&[&g]);
        assert_eq!(alerts["data"]["alerts"].as_array().unwrap().len(), 1);
        assert_eq!(alerts["data"]["alerts"][0]["labels"]["instance"], "x");
    }
}
