//! Side by side with Debian's Alertmanager 0.25: the same routing config
//! (group_by, nested routes with `continue`, an inhibit rule) with webhook
//! receivers, the same timeline of alerts posted to both — Alertmanager
//! through its `/api/v2/alerts`, vigil through the dispatcher — and the
//! same notifications must come out: receiver, group labels, firing and
//! resolved sets, in the same order per group, each within 1 s of
//! Alertmanager's. Also: vigil's forwarder posts alerts into a real
//! Alertmanager as Prometheus does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{Router, extract::State, routing::post};
use chrono::{DateTime, Utc};

use vigil::db::Db;
use vigil::model::Labels;
use vigil::notify::forward::{ForwardMetrics, ForwardTarget, Forwarder};
use vigil::notify::metrics::NotifyMetrics;
use vigil::notify::route::parse_str;
use vigil::notify::{Alert, DispatchOptions, Dispatcher, Notifier};
use vigil::rules::query::{AlertSink, OutgoingAlert};
use vigil_common::Secret;

#[path = "support/alertmanager.rs"]
mod alertmanager;

use alertmanager::{Alertmanager, posted};

/// One notification as compared: which source, receiver, group labels,
/// firing and resolved label sets, and when it arrived.
#[derive(Debug, Clone)]
struct Seen {
    source: String,
    receiver: String,
    group: BTreeMap<String, String>,
    firing: BTreeSet<String>,
    resolved: BTreeSet<String>,
    at: Duration,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn label_set(v: &serde_json::Value) -> String {
    let m: BTreeMap<String, String> = serde_json::from_value(v.clone()).unwrap();
    format!("{m:?}")
}

async fn receivers(t0: Arc<Mutex<Option<Instant>>>) -> (u16, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route(
            "/{source}/{receiver}",
            post(
                |State((log, t0)): State<(Log, Arc<Mutex<Option<Instant>>>)>,
                 axum::extract::Path((source, receiver)): axum::extract::Path<(String, String)>,
                 body: axum::Json<serde_json::Value>| async move {
                    let at = t0.lock().unwrap().map(|t| t.elapsed()).unwrap_or_default();
                    let b = body.0;
                    let set = |status: &str| {
                        b["alerts"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter(|a| a["status"] == status)
                            .map(|a| label_set(&a["labels"]))
                            .collect()
                    };
                    assert_eq!(b["receiver"], receiver.as_str());
                    log.lock().unwrap().push(Seen {
                        source,
                        receiver,
                        group: serde_json::from_value(b["groupLabels"].clone()).unwrap(),
                        firing: set("firing"),
                        resolved: set("resolved"),
                        at,
                    });
                },
            ),
        )
        .with_state((log.clone(), t0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, log)
}

fn config(port: u16, source: &str) -> String {
    let hook = |name: &str| {
        format!(
            "  - name: {name}\n    webhook_configs:\n      - url: http://127.0.0.1:{port}/{source}/{name}\n"
        )
    };
    format!(
        "route:\n  receiver: default\n  group_by: [alertname]\n  group_wait: 2s\n  group_interval: 4s\n  repeat_interval: 1h\n  routes:\n    - matchers: [team=\"db\"]\n      receiver: db\n      group_by: [alertname, cluster]\n      continue: true\n    - matchers: [severity=~\"page|critical\"]\n      receiver: pager\n\
inhibit_rules:\n  - source_matchers: [severity=\"critical\"]\n    target_matchers: [severity=\"warning\"]\n    equal: [cluster]\n\
receivers:\n{}{}{}",
        hook("default"),
        hook("db"),
        hook("pager")
    )
}

fn alert(pairs: &[(&str, &str)], starts: DateTime<Utc>, ends: DateTime<Utc>) -> Alert {
    Alert {
        labels: Labels::from_pairs(pairs.iter().copied()),
        annotations: Labels::from_pairs([("summary", "side by side")]),
        starts_at: starts,
        ends_at: Some(ends),
        generator_url: "http://prom.example/graph".into(),
    }
}

async fn post_both(
    client: &reqwest::Client,
    am: &Alertmanager,
    vigil: &Dispatcher,
    alerts: Vec<Alert>,
) {
    let body: Vec<serde_json::Value> = alerts.iter().map(posted).collect();
    let url = format!("http://127.0.0.1:{}/api/v2/alerts", am.port);
    let (r, ()) = tokio::join!(client.post(&url).json(&body).send(), async {
        vigil.post(alerts.clone())
    });
    assert!(r.unwrap().status().is_success());
}

#[tokio::test]
async fn same_notifications_as_alertmanager() {
    vigil_common::install_crypto_provider();
    let t0 = Arc::new(Mutex::new(None));
    let (port, log) = receivers(t0.clone()).await;
    let am = Alertmanager::start(&config(port, "am")).await;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite(&dir.path().join("vigil.db")).await.unwrap();
    let loaded = parse_str("am.yml", &config(port, "vigil"), &|_| None).unwrap();
    let n = Notifier::build(&loaded, "http://vigil.example").unwrap();
    let opts = DispatchOptions {
        poll: Duration::from_millis(50),
        ..DispatchOptions::default()
    };
    let vigil = Dispatcher::start(
        n,
        db,
        opts,
        NotifyMetrics::default(),
        std::sync::Arc::new(vigil::clock::SystemClock),
    );
    let client = reqwest::Client::new();

    let start = Utc::now();
    let later = start + chrono::Duration::hours(1);
    let disk_a = [("alertname", "Disk"), ("instance", "a")];
    let disk_b = [("alertname", "Disk"), ("instance", "b")];
    let db_eu = [
        ("alertname", "DbDown"),
        ("team", "db"),
        ("cluster", "eu"),
        ("severity", "critical"),
    ];
    let db_us = [
        ("alertname", "DbDown"),
        ("team", "db"),
        ("cluster", "us"),
        ("severity", "page"),
    ];
    let slow_eu = [
        ("alertname", "DbSlow"),
        ("team", "db"),
        ("cluster", "eu"),
        ("severity", "warning"),
    ];
    let slow_us = [
        ("alertname", "DbSlow"),
        ("team", "db"),
        ("cluster", "us"),
        ("severity", "warning"),
    ];
    *t0.lock().unwrap() = Some(Instant::now());
    let t_start = Instant::now();
    let at = |s: u64| t_start + Duration::from_millis(s);

    // 0 s: four groups start; DbSlow in eu is inhibited by DbDown in eu.
    post_both(
        &client,
        &am,
        &vigil,
        vec![
            alert(&disk_a, start, later),
            alert(&db_eu, start, later),
            alert(&db_us, start, later),
            alert(&slow_eu, start, later),
            alert(&slow_us, start, later),
        ],
    )
    .await;
    // 3 s: a new alert joins the Disk group (sent at its next interval).
    tokio::time::sleep_until(at(3000).into()).await;
    post_both(
        &client,
        &am,
        &vigil,
        vec![alert(&disk_b, Utc::now(), later)],
    )
    .await;
    // 7 s: Disk a resolves; DbDown in us resolves.
    tokio::time::sleep_until(at(7000).into()).await;
    let now = Utc::now();
    post_both(
        &client,
        &am,
        &vigil,
        vec![alert(&disk_a, start, now), alert(&db_us, start, now)],
    )
    .await;
    // 11 s: everything resolves.
    tokio::time::sleep_until(at(11_000).into()).await;
    let now = Utc::now();
    let all = [&disk_a[..], &disk_b, &db_eu, &db_us, &slow_eu, &slow_us];
    post_both(
        &client,
        &am,
        &vigil,
        all.iter().map(|l| alert(l, start, now)).collect(),
    )
    .await;
    tokio::time::sleep_until(at(22_000).into()).await;
    vigil.shutdown().await;

    let seen = log.lock().unwrap().clone();
    let by = |source: &str| {
        let mut m: BTreeMap<(String, String), Vec<Seen>> = BTreeMap::new();
        for s in seen.iter().filter(|s| s.source == source) {
            m.entry((s.receiver.clone(), format!("{:?}", s.group)))
                .or_default()
                .push(s.clone());
        }
        m
    };
    let (ams, ours) = (by("am"), by("vigil"));
    assert!(
        ams.len() >= 5,
        "Alertmanager sent too little to compare: {ams:#?}"
    );
    assert_eq!(
        ams.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "the same groups notified"
    );
    for (group, theirs) in &ams {
        let mine = &ours[group];
        let summary = |v: &[Seen]| {
            v.iter()
                .map(|s| (s.firing.clone(), s.resolved.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(summary(mine), summary(theirs), "notifications of {group:?}");
        for (m, t) in mine.iter().zip(theirs) {
            let diff = m.at.abs_diff(t.at);
            assert!(
                diff <= Duration::from_secs(1),
                "{group:?}: vigil at {:?}, Alertmanager at {:?}",
                m.at,
                t.at
            );
        }
    }
    // The inhibited alert never went out.
    assert!(
        seen.iter().all(|s| !s
            .firing
            .iter()
            .any(|l| l.contains("DbSlow") && l.contains("\"eu\""))),
        "{seen:#?}"
    );
}

#[tokio::test]
async fn forwarder_posts_alerts_into_alertmanager() {
    vigil_common::install_crypto_provider();
    let am = Alertmanager::start("route:\n  receiver: none\nreceivers:\n  - name: none\n").await;
    let fwd = Forwarder::start(
        vec![ForwardTarget {
            url: Secret::new(format!("http://127.0.0.1:{}", am.port)),
            http: Default::default(),
        }],
        ForwardMetrics::default(),
        std::sync::Arc::new(vigil::clock::SystemClock),
    )
    .unwrap();
    let now = Utc::now().timestamp_millis();
    fwd.send(vec![OutgoingAlert {
        labels: Labels::from_pairs([("alertname", "Forwarded"), ("job", "node")]),
        annotations: vec![("summary".into(), "from vigil".into())],
        starts_at: now - 60_000,
        ends_at: now + 3_600_000,
        generator_url: "http://vigil.example/graph".into(),
    }]);
    let mut got: serde_json::Value;
    vigil_test_support::eventually!(10, "the alert at Alertmanager", {
        got = am.get("/api/v2/alerts").await;
        got.as_array().is_some_and(|a| !a.is_empty())
    });
    fwd.shutdown();
    let a = &got[0];
    assert_eq!(a["labels"]["alertname"], "Forwarded");
    assert_eq!(a["annotations"]["summary"], "from vigil");
    assert_eq!(a["generatorURL"], "http://vigil.example/graph");
    let fp = vigil::notify::route::tree::am_fingerprint(&Labels::from_pairs([
        ("alertname", "Forwarded"),
        ("job", "node"),
    ]));
    assert_eq!(a["fingerprint"], format!("{fp:016x}"));
}
