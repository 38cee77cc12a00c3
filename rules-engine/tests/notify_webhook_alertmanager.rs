//! Side by side with Debian's Alertmanager 0.25: the same alert posted to a
//! real Alertmanager whose webhook receiver is a local axum server; the
//! payload it delivers must equal, field for field, the webhook message
//! vigil builds for the same alert, group and route (group key, alert
//! fingerprint, time formats, common labels, truncation count).

use chrono::{DateTime, TimeZone, Utc};

use vigil::model::Labels;
use vigil::notify::alert::notification_order;
use vigil::notify::integrations::webhook::limit;
use vigil::notify::route::{Route, parse_str};
use vigil::notify::{Alert, Data, WebhookMessage};
use vigil_test_support::{Recorded, Recorder};

#[path = "support/alertmanager.rs"]
mod alertmanager;

use alertmanager::Alertmanager;

fn config(hook_port: u16) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  routes:\n    - matchers: [team=\"db\"]\n      receiver: db-hook\n      group_by: [alertname, cluster]\n      group_wait: 1s\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{hook_port}/hook\n  - name: db-hook\n    webhook_configs:\n      - url: http://127.0.0.1:{hook_port}/db\n        max_alerts: 1\n"
    )
}

fn alert(pairs: &[(&str, &str)], note: &str, starts: DateTime<Utc>, ends: DateTime<Utc>) -> Alert {
    Alert {
        labels: Labels::from_pairs(pairs.iter().copied()),
        annotations: Labels::from_pairs([("summary", note)]),
        starts_at: starts,
        ends_at: Some(ends),
        generator_url: "http://prom.example/graph?g0.expr=up".to_string(),
    }
}

#[tokio::test]
async fn webhook_payload_matches_alertmanager() {
    vigil_common::install_crypto_provider();
    let rec = Recorder::start().await;
    let hook_port = rec.port;

    let cfg_text = config(hook_port);
    let am =
        Alertmanager::start_with(&cfg_text, &["--web.external-url=http://am.example:9093"]).await;

    // Times are pinned relative to now only because Alertmanager drops
    // alerts that ended in the past; every compared field comes from them.
    let now = Utc::now();
    let starts = Utc
        .timestamp_opt(now.timestamp() - 60, 250_000_000)
        .unwrap();
    let ends = Utc.timestamp_opt(now.timestamp() + 3600, 0).unwrap();
    let alerts = [
        alert(
            &[("alertname", "Disk"), ("instance", "a:9100")],
            "disk a",
            starts,
            ends,
        ),
        alert(
            &[
                ("alertname", "Db"),
                ("team", "db"),
                ("cluster", "eu"),
                ("instance", "x"),
            ],
            "db x",
            starts,
            ends,
        ),
        alert(
            &[
                ("alertname", "Db"),
                ("team", "db"),
                ("cluster", "eu"),
                ("instance", "y"),
            ],
            "db y",
            starts,
            ends,
        ),
    ];
    am.post(&alerts).await;

    let loaded = parse_str("am.yml", &cfg_text, &|_| None).unwrap();
    let root = Route::build(loaded.route());
    let by_path = |seen: &[Recorded]| -> std::collections::BTreeMap<String, serde_json::Value> {
        seen.iter()
            .map(|r| (r.path.trim_start_matches('/').to_string(), r.json()))
            .collect()
    };
    rec.wait_for(20, "webhooks from Alertmanager on two paths", |seen| {
        by_path(seen).len() >= 2
    })
    .await;
    let got = by_path(&rec.received());

    for (path, receiver, max) in [("hook", "hook", 0), ("db", "db-hook", 1)] {
        let mut mine: Vec<Alert> = alerts
            .iter()
            .filter(|a| root.matching(&a.labels)[0].opts.receiver == receiver)
            .cloned()
            .collect();
        mine.sort_by(notification_order);
        let route = root.matching(&mine[0].labels)[0];
        let (sent, truncated) = limit(&mine, max);
        let data = Data::new(
            receiver,
            &route.group_labels(&mine[0].labels),
            sent,
            "http://am.example:9093",
            now,
        );
        let msg = WebhookMessage::new(data, &route.group_key(&mine[0].labels), truncated);
        let ours = serde_json::to_value(&msg).unwrap();
        assert_eq!(got[path], ours, "payload for {receiver}");
    }
}
