//! The integrations Alertmanager added after 0.25 (Debian's, so there is
//! none to compare with): each renders a notification and delivers it to
//! a local recorder, and the request must have the documented shape —
//! Teams' MessageCard and Adaptive Card, Mattermost's post with
//! attachments and priority rules, incident.io's webhook message with its
//! token, Rocket.Chat's post — firing and resolved, with the limits
//! applied; and Jira's search, create, update and transitions against a
//! stand-in Jira.

#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use chrono::{Duration, Utc};
use serde_json::Value;

use vigil::model::Labels;
use vigil::notify::Alert;
use vigil::notify::integration::{Notice, build_receiver};
use vigil::notify::route::parse_str;
use vigil::notify::template::Templates;
use vigil_test_support::{Recorded, Recorder};

const TOKEN: &str = "incidentiotoken7d2a";
const RC_TOKEN: &str = "rocketchattoken3b8e";

fn config(base: &str) -> String {
    format!(
        r#"route: {{receiver: r}}
receivers:
  - name: r
    msteams_configs:
      - webhook_url: {base}/teams/v1
    msteamsv2_configs:
      - webhook_url: {base}/teams/v2
        title: 'Alert {{{{ .GroupLabels.alertname }}}}'
    mattermost_configs:
      - webhook_url: {base}/mm
        channel: ops
        username: '{{{{ .CommonLabels.team }}}}-bot'
        text: '{{{{ .CommonAnnotations.long }}}}'
        priority: {{priority: URGENT, requested_ack: true, persistent_notifications: true}}
        props: {{card: '**{{{{ .Status }}}}**'}}
        attachments:
          - title: '{{{{ .GroupLabels.alertname }}}}'
            color: danger
            fields: [{{title: team, value: '{{{{ .CommonLabels.team }}}}', short: true}}]
      - webhook_url: {base}/mm2
        priority: {{priority: loud, requested_ack: true, persistent_notifications: true}}
    rocketchat_configs:
      - api_url: {base}/rc
        token: {RC_TOKEN}
        token_id: rcuser1
        channel: '#ops'
        fields: [{{title: team, value: '{{{{ .CommonLabels.team }}}}'}}, {{title: n, value: '{{{{ len .Alerts }}}}', short: false}}]
        short_fields: true
        actions: [{{text: Runbook, url: 'http://runbook.example/{{{{ .GroupLabels.alertname }}}}'}}]
    incidentio_configs:
      - url: {base}/incidentio
        alert_source_token: {TOKEN}
        max_alerts: 1
        timeout: 10s
"#
    )
}

fn alerts(resolved: bool) -> Vec<Alert> {
    let now = Utc::now();
    ["a", "b"]
        .iter()
        .map(|i| Alert {
            labels: Labels::from_pairs([("alertname", "Disk"), ("instance", i), ("team", "ops")]),
            annotations: Labels::from_pairs([("long", "x".repeat(20_000).as_str())]),
            starts_at: now - Duration::minutes(5),
            ends_at: resolved.then(|| now - Duration::seconds(1)),
            generator_url: "http://prom.example/graph".into(),
        })
        .collect()
}

async fn deliver(rec: &Recorder, resolved: bool) -> Vec<Recorded> {
    let loaded = parse_str("am.yml", &config(&rec.base()), &|_| None).unwrap();
    let built = build_receiver(
        &loaded.config.receivers[0],
        &loaded.config.global,
        std::path::Path::new("."),
    )
    .unwrap();
    let alerts = alerts(resolved);
    let group = Labels::from_pairs([("alertname", "Disk")]);
    let notice = Notice {
        group_key: "{}:{alertname=\"Disk\"}",
        group_labels: &group,
        alerts: &alerts,
        external_url: "http://vigil.example",
        now: Utc::now(),
    };
    let before = rec.seen.lock().unwrap().len();
    let templates = Templates::defaults();
    for i in &built {
        // Rocket.Chat, as in Alertmanager, does not tell of resolution
        // unless asked to.
        let want = i.kind.as_str() != "rocketchat";
        assert_eq!(i.send_resolved, want, "{}: send_resolved default", i.key);
        let r = i.render(&templates, &notice).unwrap();
        let d = i.deliver(&r.payload, Utc::now()).await;
        assert_eq!(d.decision, vigil::notify::Decision::Delivered, "{}", i.key);
    }
    rec.seen.lock().unwrap()[before..].to_vec()
}

fn body(reqs: &[Recorded], path: &str) -> (Recorded, Value) {
    let r = reqs
        .iter()
        .find(|r| r.path == path)
        .unwrap_or_else(|| panic!("nothing at {path}"))
        .clone();
    assert_eq!(r.method, "POST", "{path}");
    assert_eq!(r.headers["content-type"], "application/json", "{path}");
    let v = serde_json::from_slice(&r.body).unwrap();
    (r, v)
}

#[tokio::test]
async fn newer_integrations_send_the_documented_shapes() {
    vigil_common::install_crypto_provider();
    let rec = Recorder::start().await;
    let firing = deliver(&rec, false).await;

    let (_, v1) = body(&firing, "/teams/v1");
    assert_eq!(v1["@context"], "http://schema.org/extensions");
    assert_eq!(v1["type"], "MessageCard");
    assert_eq!(v1["themeColor"], "8C1A1A");
    assert_eq!(v1["title"], "[FIRING:2] Disk (ops)");
    assert_eq!(v1["summary"], v1["title"]);
    let text = v1["text"].as_str().unwrap();
    assert!(text.contains("# Alerts Firing:"), "{text}");
    assert!(text.contains("  - instance = a\n"), "{text}");

    let (_, v2) = body(&firing, "/teams/v2");
    assert_eq!(v2["type"], "message");
    let att = &v2["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(att["contentUrl"].is_null());
    let card = &att["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.2");
    assert_eq!(card["msteams"]["width"], "full");
    assert_eq!(card["body"][0]["text"], "Alert Disk");
    assert_eq!(card["body"][0]["color"], "Attention");
    assert_eq!(card["body"][0]["style"], "heading");
    assert_eq!(card["body"][1]["wrap"], true);
    assert!(card["body"][1].get("color").is_none());

    let (_, mm) = body(&firing, "/mm");
    assert_eq!(mm["channel"], "ops");
    assert_eq!(mm["username"], "ops-bot");
    assert_eq!(mm["text"].as_str().unwrap().chars().count(), 16383);
    assert!(mm["text"].as_str().unwrap().ends_with('…'));
    assert_eq!(
        mm["priority"],
        serde_json::json!({"priority": "urgent", "requested_ack": true, "persistent_notifications": true})
    );
    assert_eq!(mm["props"]["card"], "**firing**");
    assert_eq!(mm["attachments"][0]["title"], "Disk");
    assert_eq!(
        mm["attachments"][0]["fields"][0],
        serde_json::json!({"title": "team", "value": "ops", "short": true})
    );
    let (_, mm2) = body(&firing, "/mm2");
    // An unknown priority is standard, which asks nothing more.
    assert_eq!(mm2["priority"], serde_json::json!({"priority": "standard"}));
    assert!(mm2["text"].as_str().unwrap().contains("# Alerts Firing:"));

    let (r, io) = body(&firing, "/incidentio");
    assert_eq!(r.headers["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(io["version"], "1");
    assert_eq!(io["groupKey"], "{}:{alertname=\"Disk\"}");
    assert_eq!(io["truncatedAlerts"], 1);
    assert_eq!(io["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(io["status"], "firing");
    assert_eq!(io["receiver"], "r");

    let (r, rc) = body(&firing, "/rc/api/v1/chat.postMessage");
    assert_eq!(r.headers["x-auth-token"], RC_TOKEN);
    assert_eq!(r.headers["x-user-id"], "rcuser1");
    assert_eq!(rc["channel"], "#ops");
    let att = &rc["attachments"][0];
    assert_eq!(att["title"], "[FIRING:2] Disk (ops)");
    assert_eq!(
        att["title_link"],
        "http://vigil.example/#/alerts?receiver=r"
    );
    assert_eq!(att["color"], "red");
    assert_eq!(
        att["fields"],
        serde_json::json!([{"short": true, "title": "team", "value": "ops"}, {"short": false, "title": "n", "value": "2"}])
    );
    assert_eq!(
        att["actions"],
        serde_json::json!([{"type": "button", "text": "Runbook", "url": "http://runbook.example/Disk", "is_webview": false, "msg_in_chat_window": false}])
    );
    assert!(
        rc.get("emoji").is_none() && rc.get("avatar").is_none(),
        "{rc}"
    );

    let resolved = deliver(&rec, true).await;
    assert_eq!(
        body(&resolved, "/rc/api/v1/chat.postMessage").1["attachments"][0]["color"],
        "green"
    );
    assert_eq!(body(&resolved, "/teams/v1").1["themeColor"], "2DC72D");
    let (_, v2) = body(&resolved, "/teams/v2");
    assert_eq!(v2["attachments"][0]["content"]["body"][0]["color"], "Good");
    assert_eq!(body(&resolved, "/incidentio").1["status"], "resolved");
}

/// Their entries are checked as Alertmanager 0.30 checks them.
#[test]
fn newer_entries_are_checked() {
    for (entry, problem) in [
        (
            "msteams_configs: [{title: t}]",
            "one of webhook_url or webhook_url_file must be configured",
        ),
        (
            "msteamsv2_configs: [{webhook_url: 'http://a', webhook_url_file: f}]",
            "at most one of webhook_url & webhook_url_file",
        ),
        (
            "mattermost_configs: [{webhook_url: 'http://a', attachments: [{fields: [{value: v}]}]}]",
            "missing title in Mattermost field configuration",
        ),
        (
            "incidentio_configs: [{alert_source_token: t}]",
            "one of url or url_file must be configured",
        ),
        (
            "incidentio_configs: [{url: 'http://a', http_config: {}}]",
            "at least one of alert_source_token, alert_source_token_file or http_config.authorization",
        ),
        (
            "incidentio_configs: [{url: 'http://a', alert_source_token: t, http_config: {authorization: {credentials: c}}}]",
            "cannot specify alert_source_token",
        ),
        (
            "msteams_configs: [{webhook_url: 'http://a', colour: red}]",
            "unknown field `colour`",
        ),
        (
            "jira_configs: [{project: P, issue_type: Bug}]",
            "no global Jira Cloud URL set",
        ),
        (
            "rocketchat_configs: [{token: t}]",
            "no global Rocketchat TokenID set",
        ),
    ] {
        let text = format!("route: {{receiver: r}}\nreceivers:\n  - name: r\n    {entry}\n");
        let e = parse_str("am.yml", &text, &|_| None)
            .expect_err(entry)
            .to_string();
        assert!(e.contains(problem), "{entry}: {e}");
    }
}

/// The globals of Alertmanager's newest configuration: `rocketchat_*`
/// (the token from its file) and `jira_api_url` stand in for an entry's
/// own keys.
#[tokio::test]
async fn newer_globals_fill_the_entries() {
    vigil_common::install_crypto_provider();
    let rec = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rc-token"), format!("{RC_TOKEN}\n")).unwrap();
    let text = format!(
        "global:\n  rocketchat_api_url: {}/rcg\n  rocketchat_token_file: rc-token\n  rocketchat_token_id: rcglobal\n  jira_api_url: 'http://127.0.0.1:9/rest/api/2'\nroute: {{receiver: r}}\nreceivers:\n  - name: r\n    rocketchat_configs: [{{channel: '#ops'}}]\n    jira_configs: [{{project: P, issue_type: Bug}}]\n",
        rec.base()
    );
    let loaded = parse_str("am.yml", &text, &|_| None).unwrap();
    let built = build_receiver(
        &loaded.config.receivers[0],
        &loaded.config.global,
        dir.path(),
    )
    .unwrap();
    assert_eq!(built.len(), 2);
    let rc = built
        .iter()
        .find(|i| i.kind.as_str() == "rocketchat")
        .unwrap();
    let alerts = alerts(false);
    let group = Labels::from_pairs([("alertname", "Disk")]);
    let notice = Notice {
        group_key: "{}:{alertname=\"Disk\"}",
        group_labels: &group,
        alerts: &alerts,
        external_url: "http://vigil.example",
        now: Utc::now(),
    };
    let r = rc.render(&Templates::defaults(), &notice).unwrap();
    let d = rc.deliver(&r.payload, Utc::now()).await;
    assert_eq!(
        d.decision,
        vigil::notify::Decision::Delivered,
        "{}",
        d.detail
    );
    let (r, v) = body(&rec.under("/rcg/"), "/rcg/api/v1/chat.postMessage");
    assert_eq!(r.headers["x-auth-token"], RC_TOKEN);
    assert_eq!(r.headers["x-user-id"], "rcglobal");
    assert_eq!(v["channel"], "#ops");
}

/// A Jira standing in for the real one: one issue at most, whose status
/// category the test sets; every request recorded.
#[derive(Clone, Default)]
struct FakeJira {
    /// `(key, status category)` of the group's issue.
    issue: std::sync::Arc<std::sync::Mutex<Option<(String, String)>>>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String, Value)>>>,
}

async fn fake_jira(
    axum::extract::State(j): axum::extract::State<FakeJira>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> axum::Json<Value> {
    let path = uri.path().to_string();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    j.seen
        .lock()
        .unwrap()
        .push((method.to_string(), path.clone(), v));
    let issue = j.issue.lock().unwrap().clone();
    axum::Json(match (method.as_str(), path.as_str()) {
        ("POST", p) if p.ends_with("/search") => match issue {
            Some((key, cat)) => {
                serde_json::json!({"issues": [{"key": key, "fields": {"status": {"name": "x", "statusCategory": {"key": cat}}}}]})
            }
            None => serde_json::json!({"issues": []}),
        },
        ("POST", p) if p.ends_with("/issue") => {
            *j.issue.lock().unwrap() = Some(("OPS-1".into(), "new".into()));
            serde_json::json!({"key": "OPS-1"})
        }
        ("GET", p) if p.ends_with("/transitions") => {
            serde_json::json!({"transitions": [{"id": "11", "name": "Reopen"}, {"id": "31", "name": "Done"}]})
        }
        _ => Value::Null,
    })
}

/// Create, update, resolve, reopen: the requests Alertmanager's Jira
/// integration makes at each step.
#[tokio::test]
async fn jira_creates_updates_and_moves_the_groups_issue() {
    vigil_common::install_crypto_provider();
    let j = FakeJira::default();
    let app = axum::Router::new()
        .fallback(fake_jira)
        .with_state(j.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let text = format!(
        r#"route: {{receiver: r}}
receivers:
  - name: r
    jira_configs:
      - api_url: http://127.0.0.1:{port}/rest/api/2
        project: OPS
        issue_type: Bug
        summary: {{template: '{{{{ .GroupLabels.alertname }}}} is {{{{ .Status }}}}', enable_update: false}}
        labels: ['team-{{{{ .CommonLabels.team }}}}']
        reopen_transition: Reopen
        resolve_transition: Done
        wont_fix_resolution: "Won't Fix"
        reopen_duration: 1h
        fields: {{customfield_10001: '{{{{ .CommonLabels.team }}}}', customfield_10002: {{value: 'x-{{{{ .Status }}}}'}}}}
"#
    );
    let loaded = parse_str("am.yml", &text, &|_| None).unwrap();
    let built = build_receiver(
        &loaded.config.receivers[0],
        &loaded.config.global,
        std::path::Path::new("."),
    )
    .unwrap();
    let jira = &built[0];
    let group = Labels::from_pairs([("alertname", "Disk")]);
    let send = |resolved: bool| {
        let alerts: Vec<Alert> = alerts(resolved)
            .into_iter()
            .map(|mut a| {
                a.labels = Labels::from_pairs([
                    ("alertname", "Disk"),
                    ("severity", "warning"),
                    ("team", "ops"),
                ]);
                a
            })
            .take(1)
            .collect();
        let notice_alerts = alerts.clone();
        let group = group.clone();
        async move {
            let notice = Notice {
                group_key: "{}:{alertname=\"Disk\"}",
                group_labels: &group,
                alerts: &notice_alerts,
                external_url: "http://vigil.example",
                now: Utc::now(),
            };
            let r = jira.render(&Templates::defaults(), &notice).unwrap();
            jira.deliver(&r.payload, Utc::now()).await
        }
    };
    let take = |j: &FakeJira| std::mem::take(&mut *j.seen.lock().unwrap());
    let steps = |seen: &[(String, String, Value)]| -> Vec<String> {
        seen.iter().map(|(m, p, _)| format!("{m} {p}")).collect()
    };
    let delivered = vigil::notify::Decision::Delivered;

    // Firing, no issue yet: search, then create.
    assert_eq!(send(false).await.decision, delivered);
    let seen = take(&j);
    assert_eq!(
        steps(&seen),
        ["POST /rest/api/2/search", "POST /rest/api/2/issue"]
    );
    let label = format!(
        "ALERT{{{}}}",
        vigil::notify::integrations::common::sha256_hex(b"{}:{alertname=\"Disk\"}")
    );
    assert_eq!(
        seen[0].2["jql"],
        format!(
            "resolution != \"Won't Fix\" and (resolutiondate is EMPTY OR resolutiondate >= -60m) and project=\"OPS\" and labels=\"{label}\" order by status ASC,resolutiondate DESC"
        )
    );
    assert_eq!(seen[0].2["maxResults"], 2);
    let f = &seen[1].2["fields"];
    assert_eq!(f["summary"], "Disk is firing");
    assert_eq!(f["project"]["key"], "OPS");
    assert_eq!(f["issuetype"]["name"], "Bug");
    assert_eq!(f["priority"]["name"], "Medium");
    assert_eq!(f["labels"], serde_json::json!([label, "team-ops"]));
    assert_eq!(f["customfield_10001"], "ops");
    assert_eq!(f["customfield_10002"]["value"], "x-firing");
    assert!(
        f["description"]
            .as_str()
            .unwrap()
            .contains("# Alerts Firing:")
    );

    // Firing again, issue open: update without the summary, no move.
    assert_eq!(send(false).await.decision, delivered);
    let seen = take(&j);
    assert_eq!(
        steps(&seen),
        ["POST /rest/api/2/search", "PUT /rest/api/2/issue/OPS-1"]
    );
    assert!(seen[1].2["fields"].get("summary").is_none());
    assert!(seen[1].2["fields"].get("description").is_some());

    // Resolved, issue open: update, then the resolve transition.
    assert_eq!(send(true).await.decision, delivered);
    let seen = take(&j);
    assert_eq!(
        steps(&seen),
        [
            "POST /rest/api/2/search",
            "PUT /rest/api/2/issue/OPS-1",
            "GET /rest/api/2/issue/OPS-1/transitions",
            "POST /rest/api/2/issue/OPS-1/transitions"
        ]
    );
    assert!(
        seen[0].2["jql"]
            .as_str()
            .unwrap()
            .contains("statusCategory != Done")
    );
    assert_eq!(seen[3].2, serde_json::json!({"transition": {"id": "31"}}));

    // Firing again, issue done: reopened.
    *j.issue.lock().unwrap() = Some(("OPS-1".into(), "done".into()));
    assert_eq!(send(false).await.decision, delivered);
    let seen = take(&j);
    assert_eq!(seen.len(), 4, "{:?}", steps(&seen));
    assert_eq!(seen[3].2, serde_json::json!({"transition": {"id": "11"}}));

    // Resolved with no issue: nothing but the search.
    *j.issue.lock().unwrap() = None;
    assert_eq!(send(true).await.decision, delivered);
    assert_eq!(steps(&take(&j)), ["POST /rest/api/2/search"]);
}

/// Through a running `vigil`: an alert routed to every newer integration
/// reaches each of them (Jira's issue is created), and their tokens show
/// in no log line, metric or API answer.
#[tokio::test]
async fn newer_integrations_deliver_through_a_running_vigil() {
    vigil_common::install_crypto_provider();
    let rec = Recorder::start().await;
    let j = FakeJira::default();
    let app = axum::Router::new()
        .fallback(fake_jira)
        .with_state(j.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jira_port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let routing = format!(
        "{}    jira_configs:\n      - {{api_url: 'http://127.0.0.1:{jira_port}/rest/api/2', project: OPS, issue_type: Bug}}\n",
        config(&rec.base()).replace(
            "route: {receiver: r}",
            "route: {receiver: r, group_wait: 0s}"
        )
    );
    let indented: String = routing.lines().map(|l| format!("    {l}\n")).collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(
        &path,
        format!("storage:\n  path: data\nalerting:\n  alertmanager_config:\n{indented}"),
    )
    .unwrap();
    let v = vigil_bin::VigilProcess::start(&path);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v2/alerts", v.base))
        .json(&serde_json::json!([{"labels": {"alertname": "Disk", "team": "ops"}, "annotations": {"long": "x"}}]))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let paths = [
        "/teams/v1",
        "/teams/v2",
        "/mm",
        "/mm2",
        "/rc/api/v1/chat.postMessage",
        "/incidentio",
    ];
    rec.wait_for(30, "every newer integration", |seen| {
        paths.iter().all(|p| seen.iter().any(|r| r.path == *p))
    })
    .await;
    vigil_test_support::eventually!(
        30,
        "the Jira issue created",
        j.issue.lock().unwrap().is_some()
    );
    let mut shown = String::new();
    for p in [
        "/metrics",
        "/api/v2/status",
        "/api/v1/alerts/history?limit=1000",
    ] {
        shown.push_str(&v.text(p).await);
    }
    let logs: String = v
        .logs
        .lock()
        .unwrap()
        .iter()
        .map(|l| l.to_string())
        .collect();
    for s in [TOKEN, RC_TOKEN] {
        assert!(!shown.contains(s), "{s} shown by the API or metrics");
        assert!(!logs.contains(s), "{s} in vigil's log");
    }
    let history = v.text("/api/v1/alerts/history?limit=1000").await;
    for kind in [
        "msteams",
        "msteamsv2",
        "mattermost",
        "rocketchat",
        "incidentio",
        "jira",
    ] {
        assert!(
            history.contains(&format!("r/{kind}/0")),
            "{kind} not in the history: {history}"
        );
    }
}
