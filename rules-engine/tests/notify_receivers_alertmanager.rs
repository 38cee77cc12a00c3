//! Every receiver integration side by side with Debian's Alertmanager
//! 0.25: one Alertmanager and one running `vigil` (`vigil run`) with the
//! same routing file, their receivers' URLs pointing at one local
//! recorder (`/am/...` and `/vigil/...`), the same alerts posted to both.
//! The recorded requests must be equal — method, path, query, the headers
//! that matter, the JSON or form body — for a small group firing, the same
//! group resolved, and a group of 200 alerts big enough that every
//! integration with a limit cuts something (vigil counts those cuts).
//! Normalised: vigil names itself `vigil` where Alertmanager says
//! `Alertmanager` (PagerDuty's client and source, VictorOps's monitoring
//! tool), and SigV4 signatures and dates (the scope must match).
//!
//! The same run checks secrets: the routing key, API keys, bot token and
//! SNS secret key reach the recorder and appear in none of vigil's log
//! lines, metrics, alert history, or API answers; a receiver answering 503
//! makes vigil log and record failures, which must not show them either.

#[path = "support/alertmanager.rs"]
mod alertmanager;
#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use alertmanager::Alertmanager;
use vigil_bin::VigilProcess;
use vigil_test_support::{ProxyCert, Recorded, Recorder};

const PD_KEY: &str = "pdroutingkey0c9f1e";
const OG_KEY: &str = "opsgenieapikey5b2d7a";
const TG_TOKEN: &str = "123456:telegrambottoken8e4f";
const SNS_SECRET: &str = "snssecretkey3a9c6d";
const VO_KEY: &str = "victoropskey71fd2e";
const WX_TOKEN: &str = "webexbearer44e1b0";
const WC_SECRET: &str = "wechatsecret9d0a3c";
const PD_V1_KEY: &str = "pdservicekey2e7b90";
const PO_USER: &str = "pushoveruserkey6c1f";
const PO_TOKEN: &str = "pushovertoken0a8d55";
const SECRETS: [&str; 10] = [
    PD_KEY, OG_KEY, TG_TOKEN, SNS_SECRET, VO_KEY, WX_TOKEN, WC_SECRET, PD_V1_KEY, PO_USER, PO_TOKEN,
];

/// Receivers whose URL is fixed (Alertmanager 0.25 has no key for it):
/// reached through the recorder as a TLS-ending proxy.
const PROXIED: [&str; 2] = ["pushover", "pdv1"];

/// The integrations compared, and how many requests one firing and one
/// resolved notification make (Opsgenie updates message and description
/// too; WeChat does not send resolved, and its token fetch is compared
/// apart).
const KINDS: [(&str, usize, usize); 10] = [
    ("pagerduty", 1, 1),
    ("opsgenie", 3, 1),
    ("telegram", 1, 1),
    ("discord", 1, 1),
    ("victorops", 1, 1),
    ("webex", 1, 1),
    ("wechat", 1, 0),
    ("sns", 1, 1),
    ("pushover", 1, 1),
    ("pdv1", 1, 1),
];

/// One entry of `kind` whose URLs start with `p`; `http` is the
/// `http_config` of the proxied kinds.
fn entry(kind: &str, p: &str, http: &str) -> String {
    match kind {
        "pushover" => format!(
            r#"    pushover_configs:
      - user_key: {PO_USER}
        token: {PO_TOKEN}
        sound: siren
        url_title: Runbook
        retry: 30s
        expire: 2h
        http_config: {http}
"#
        ),
        "pdv1" => format!(
            r#"    pagerduty_configs:
      - service_key: {PD_V1_KEY}
        details: {{team: '{{{{ .CommonLabels.team }}}}'}}
        http_config: {http}
"#
        ),
        "pagerduty" => format!(
            r#"    pagerduty_configs:
      - routing_key: {PD_KEY}
        url: {p}/enqueue
        severity: '{{{{ .CommonLabels.severity }}}}'
        class: db
        component: '{{{{ .GroupLabels.alertname }}}}'
        group: prod
        links: [{{href: 'http://runbook.example/{{{{ .GroupLabels.alertname }}}}', text: runbook}}, {{href: '', text: dropped}}]
        images: [{{src: 'http://img.example/g.png', alt: graph, href: 'http://grafana.example'}}]
        details: {{team: '{{{{ .CommonLabels.team }}}}', num_firing: 'many'}}
"#
        ),
        "opsgenie" => format!(
            r#"    opsgenie_configs:
      - api_key: {OG_KEY}
        api_url: {p}/
        update_alerts: true
        tags: 'db, {{{{ .GroupLabels.alertname }}}} ,'
        priority: P2
        note: see runbook
        entity: '{{{{ .CommonLabels.team }}}}'
        actions: 'restart,page'
        responders: [{{name: ops, type: team}}, {{name: 'dba,sre', type: teams}}, {{username: joe@example.org, type: user}}, {{id: '4513b7ea', type: schedule}}]
        details: {{runbook: 'http://runbook.example', team: override}}
"#
        ),
        "telegram" => format!(
            r#"    telegram_configs:
      - bot_token: '{TG_TOKEN}'
        api_url: {p}
        chat_id: -1001234567
        disable_notifications: true
"#
        ),
        "discord" => format!("    discord_configs:\n      - webhook_url: {p}/api/webhooks/1/tok\n"),
        "victorops" => format!(
            r#"    victorops_configs:
      - api_key: {VO_KEY}
        api_url: {p}/alert
        routing_key: 'team-{{{{ .GroupLabels.alertname }}}}'
        message_type: WARNING
        custom_fields: {{runbook: 'http://runbook.example/{{{{ .GroupLabels.alertname }}}}'}}
"#
        ),
        "webex" => format!(
            r#"    webex_configs:
      - api_url: {p}/v1/messages
        room_id: Y2lzY29zcGFyazovL3VzL1JPT00v
        http_config: {{authorization: {{credentials: {WX_TOKEN}}}}}
"#
        ),
        "wechat" => format!(
            r#"    wechat_configs:
      - api_url: {p}/cgi-bin
        api_secret: {WC_SECRET}
        corp_id: wwcorp1
        to_user: '@all'
        agent_id: '1000002'
"#
        ),
        "sns" => format!(
            r#"    sns_configs:
      - api_url: {p}/
        topic_arn: arn:aws:sns:us-east-1:123456789012:alerts
        sigv4: {{region: us-east-1, access_key: AKIDVIGILTEST, secret_key: {SNS_SECRET}}}
        attributes: {{team: '{{{{ .CommonLabels.team }}}}'}}
"#
        ),
        _ => unreachable!("{kind}"),
    }
}

/// The routing file, URLs under `base` (the recorder and `/am` or
/// `/vigil`): receiver `<kind>-<group>` for each kind and group. The
/// proxied kinds go through `proxies[receiver]`, trusting `ca`.
fn routing(base: &str, proxies: &BTreeMap<String, u16>, ca: &str) -> String {
    let mut routes = String::new();
    let mut receivers = String::from("  - name: blackhole\n");
    for (kind, _, _) in KINDS {
        for group in ["Small", "Big"] {
            let name = format!("{kind}-{}", group.to_lowercase());
            routes.push_str(&format!(
                "    - {{receiver: {name}, matchers: ['rx=\"{kind}\"', 'alertname=\"{group}\"']}}\n"
            ));
            receivers.push_str(&format!("  - name: {name}\n"));
            let http = match proxies.get(&name) {
                Some(port) => format!(
                    "{{proxy_url: 'http://127.0.0.1:{port}', tls_config: {{ca_file: '{ca}'}}}}"
                ),
                None => String::new(),
            };
            receivers.push_str(&entry(kind, &format!("{base}/{name}"), &http));
        }
    }
    // A PagerDuty receiver that always gets a 503: failures to log.
    routes.push_str("    - {receiver: failing, matchers: ['rx=\"failing\"']}\n");
    receivers.push_str("  - name: failing\n");
    receivers.push_str(&entry("pagerduty", &format!("{base}/fail"), ""));
    format!(
        "route:\n  receiver: blackhole\n  group_by: [alertname, rx]\n  group_wait: 2s\n  group_interval: 1s\n  repeat_interval: 4h\n  routes:\n{routes}receivers:\n{receivers}"
    )
}

fn alert(labels: Value, annotations: Value, starts: DateTime<Utc>, ends: DateTime<Utc>) -> Value {
    json!({
        "labels": labels,
        "annotations": annotations,
        "startsAt": starts.to_rfc3339(),
        "endsAt": ends.to_rfc3339(),
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
    })
}

/// The small group (2 alerts) of `kind`, ending at `ends`.
fn small(kind: &str, starts: DateTime<Utc>, ends: DateTime<Utc>) -> Vec<Value> {
    ["db1:9187", "db2:9187"]
        .iter()
        .map(|i| {
            alert(
                json!({"alertname": "Small", "rx": kind, "instance": i, "severity": "critical", "team": "dba"}),
                json!({"summary": format!("Postgres <down> on {i} & more"), "runbook": "http://runbook.example/pg"}),
                starts,
                ends,
            )
        })
        .collect()
}

/// The big group (200 alerts with long text) of `kind`.
fn big(kind: &str, starts: DateTime<Utc>, ends: DateTime<Utc>) -> Vec<Value> {
    let service = "s".repeat(1100);
    (0..200)
        .map(|n| {
            alert(
                json!({"alertname": "Big", "rx": kind, "instance": format!("host{n:03}:9100"), "service": service, "team": "infra"}),
                json!({"description": format!("{n} {}", "disk nearly full ".repeat(180))}),
                starts,
                ends,
            )
        })
        .collect()
}

async fn post(base: &str, alerts: &[Value]) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v2/alerts"))
        .json(alerts)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{base}: {:?}", r.text().await);
}

/// `vigil` where Alertmanager says `Alertmanager`.
fn normalise_json(v: &mut Value) {
    match v {
        Value::String(s) if s == "vigil" => *s = "Alertmanager".into(),
        Value::Array(a) => a.iter_mut().for_each(normalise_json),
        Value::Object(o) => o.values_mut().for_each(normalise_json),
        _ => {}
    }
}

/// What is compared of one request.
fn comparable(r: &Recorded, prefix: &str) -> Value {
    let ct = r.headers.get("content-type").cloned().unwrap_or_default();
    let body = if ct.starts_with("application/json") {
        let mut v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        normalise_json(&mut v);
        v
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        let m: BTreeMap<String, String> = form_urlencoded::parse(&r.body).into_owned().collect();
        json!(m)
    } else {
        Value::String(String::from_utf8_lossy(&r.body).into_owned())
    };
    let mut query = r.query.clone();
    query.sort();
    let auth = r.headers.get("authorization").map(|a| {
        // SigV4: the scope without its date, not the signature.
        match a.strip_prefix("AWS4-HMAC-SHA256 Credential=") {
            Some(rest) => {
                let scope: Vec<&str> = rest.split(',').next().unwrap_or("").split('/').collect();
                assert!(r.headers.contains_key("x-amz-date"), "no X-Amz-Date: {r:?}");
                format!("AWS4-HMAC-SHA256 {} {}", scope[0], scope[2..].join("/"))
            }
            None => a.clone(),
        }
    });
    json!({
        "method": r.method,
        "path": r.path.strip_prefix(prefix).unwrap_or(&r.path),
        "query": query,
        "content_type": ct,
        "authorization": auth,
        "body": body,
    })
}

/// The last `n` requests of each side under `/<side>/<receiver>`: they
/// must become equal. Alertmanager may notify a group first with part of
/// its alerts (it ingests a big post one alert at a time); its last
/// notification is the one with them all, as vigil's.
async fn compare(rec: &Recorder, receiver: &str, n: usize, phase: &str) -> Vec<Value> {
    let side = |s: &str| {
        let prefix = format!("/{s}/{receiver}");
        let all: Vec<Value> = rec
            .under(&prefix)
            .iter()
            .filter(|r| !r.path.ends_with("/gettoken"))
            .map(|r| comparable(r, &prefix))
            .collect();
        all[all.len().saturating_sub(n)..].to_vec()
    };
    let (mut am, mut vigil);
    // Both short of `n` (even equally) is a failure too, not a reason to
    // wait forever.
    vigil_test_support::eventually!(30, unequal(receiver, phase, n, &am, &vigil), {
        (am, vigil) = (side("am"), side("vigil"));
        am.len() == n && am == vigil
    });
    vigil
}

/// How the two sides' last requests differ, for the failure message.
fn unequal(receiver: &str, phase: &str, n: usize, am: &[Value], vigil: &[Value]) -> String {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap();
    if am.len() != n || vigil.len() != n {
        return format!(
            "{receiver} {phase}: {n} requests from each side; Alertmanager sent {}, vigil {}",
            am.len(),
            vigil.len()
        );
    }
    match am.iter().zip(vigil).enumerate().find(|(_, (a, v))| a != v) {
        Some((i, (a, v))) => format!(
            "{receiver} {phase}: request {i} differs\nalertmanager: {}\nvigil:        {}",
            pretty(a),
            pretty(v)
        ),
        None => format!("{receiver} {phase}: the same requests"),
    }
}

fn count(rec: &[Recorded], prefix: &str) -> usize {
    rec.iter().filter(|r| r.path.starts_with(prefix)).count()
}

#[tokio::test]
async fn every_receiver_sends_what_alertmanager_sends() {
    vigil_common::install_crypto_provider();
    let rec = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cert = ProxyCert::new(&["api.pushover.net", "events.pagerduty.com"]);
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert.pem).unwrap();
    let ca = ca.display().to_string();
    let mut proxies: BTreeMap<&str, BTreeMap<String, u16>> = BTreeMap::new();
    for side in ["am", "vigil"] {
        for kind in PROXIED {
            for g in ["small", "big"] {
                let name = format!("{kind}-{g}");
                let port = rec.tls_proxy(&format!("/{side}/{name}"), &cert).await;
                proxies.entry(side).or_default().insert(name, port);
            }
        }
    }
    let am = Alertmanager::start_with(
        &routing(&format!("{}/am", rec.base()), &proxies["am"], &ca),
        &["--web.external-url=http://am.example:9093"],
    )
    .await;
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let routing_vigil = routing(&format!("{}/vigil", rec.base()), &proxies["vigil"], &ca);
    let indented: String = routing_vigil
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    let config = dir.path().join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "storage:\n  path: data\nalerting:\n  external_url: http://am.example:9093\n  alertmanager_config:\n{indented}"
        ),
    )
    .unwrap();
    let v = VigilProcess::start(&config);

    let now = Utc::now();
    let starts = now - Duration::seconds(120);
    let later = now + Duration::hours(1);
    let smalls: Vec<Value> = KINDS
        .iter()
        .flat_map(|(kind, _, _)| small(kind, starts, later))
        .collect();
    post(&am.base(), &smalls).await;
    post(&v.base, &smalls).await;
    for (kind, _, _) in KINDS {
        post(&am.base(), &big(kind, starts, later)).await;
        post(&v.base, &big(kind, starts, later)).await;
    }
    let failing = vec![alert(
        json!({"alertname": "Failing", "rx": "failing"}),
        json!({}),
        starts,
        later,
    )];
    post(&v.base, &failing).await;

    // Firing: every receiver, both groups, both sides.
    rec.wait_for(60, "firing notifications", |seen| {
        KINDS.iter().all(|(kind, firing, _)| {
            ["am", "vigil"].iter().all(|side| {
                ["small", "big"]
                    .iter()
                    .all(|g| count(seen, &format!("/{side}/{kind}-{g}/")) >= *firing)
            })
        })
    })
    .await;
    for (kind, firing, _) in KINDS {
        compare(&rec, &format!("{kind}-small/"), firing, "firing").await;
        let big = compare(&rec, &format!("{kind}-big/"), firing, "big group").await;
        check_truncated(kind, &big);
    }

    // SigV4: AWS's own SDK (in Alertmanager) and the signer vigil uses
    // compute the same signature for the same request.
    let am_sns = rec.under("/am/sns-small/").pop().unwrap();
    check_sigv4(&am_sns, &rec.base());

    // WeChat's token fetch.
    for g in ["small", "big"] {
        let fetch = |side: &str| {
            let prefix = format!("/{side}/wechat-{g}/");
            let r = rec.under(&prefix);
            assert!(r[0].path.ends_with("/gettoken"), "{side} {g}: {r:?}");
            comparable(&r[0], &prefix)
        };
        assert_eq!(fetch("am"), fetch("vigil"), "wechat-{g} token fetch");
    }

    // Resolved: the small groups end.
    let ended = Utc::now() - Duration::seconds(1);
    let resolved: Vec<Value> = KINDS
        .iter()
        .flat_map(|(kind, _, _)| small(kind, starts, ended))
        .collect();
    post(&am.base(), &resolved).await;
    post(&v.base, &resolved).await;
    rec.wait_for(60, "resolved notifications", |seen| {
        KINDS.iter().all(|(kind, firing, resolved)| {
            ["am", "vigil"]
                .iter()
                .all(|side| count(seen, &format!("/{side}/{kind}-small/")) >= firing + resolved)
        })
    })
    .await;
    for (kind, _, resolved) in KINDS {
        if resolved > 0 {
            compare(&rec, &format!("{kind}-small/"), resolved, "resolved").await;
        }
    }

    // Truncations are counted.
    let metrics = v.text("/metrics").await;
    for (kind, field) in [
        ("pagerduty", "summary"),
        ("pagerduty", "details"),
        ("opsgenie", "message"),
        ("telegram", "message"),
        ("victorops", "state_message"),
        ("webex", "message"),
        ("sns", "message"),
        ("pushover", "title"),
        ("pushover", "message"),
        ("pagerduty", "description"),
    ] {
        let series = format!(
            "vigil_notifications_truncated_total{{integration=\"{kind}\",field=\"{field}\"}} "
        );
        let n: f64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        assert!(n >= 1.0, "{series}not counted");
    }

    // Secrets: sent to the receivers, shown nowhere else.
    rec.wait_for(60, "failures of the failing receiver", |seen| {
        count(seen, "/vigil/fail/") >= 2
    })
    .await;
    let sent: String = rec
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(Recorded::text)
        .collect();
    // The SNS secret key only signs; it is never sent.
    for s in SECRETS.iter().filter(|s| **s != SNS_SECRET) {
        assert!(sent.contains(s), "{s} never reached a receiver");
    }
    assert!(!sent.contains(SNS_SECRET), "the SNS secret key was sent");
    let mut shown = String::new();
    for path in [
        "/metrics",
        "/api/v2/status",
        "/api/v2/receivers",
        "/api/v2/alerts",
        "/api/v1/alerts/history?limit=10000",
        "/api/v1/status/config",
    ] {
        shown.push_str(&v.text(path).await);
    }
    let history = v.get("/api/v1/alerts/history?limit=10000").await;
    let history_text = history.to_string();
    assert!(
        history_text.contains("retry") || history_text.contains("failed"),
        "the failing receiver left no failure in the history: {history_text}"
    );
    assert!(
        !v.logged("retried").is_empty() || !v.logged("failed").is_empty(),
        "no failure logged"
    );
    let logs: String = v
        .logs
        .lock()
        .unwrap()
        .iter()
        .map(|l| l.to_string())
        .collect();
    for s in SECRETS {
        assert!(!shown.contains(s), "{s} shown by the API or metrics");
        assert!(!logs.contains(s), "{s} in vigil's log");
    }
    let status = v.get("/api/v2/status").await;
    let original = status["config"]["original"].as_str().unwrap_or("");
    assert!(original.contains("<secret>"), "{original}");
}

/// Recomputes the SigV4 signature of `r` (as recorded) with `aws-sigv4`
/// and the test's secret key; it must equal the one sent.
fn check_sigv4(r: &Recorded, base: &str) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let auth = &r.headers["authorization"];
    let field = |name: &str| {
        auth.split([',', ' '])
            .find_map(|p| p.trim().strip_prefix(name))
            .unwrap()
            .to_string()
    };
    let scope: Vec<String> = field("Credential=").split('/').map(String::from).collect();
    let signed: Vec<String> = field("SignedHeaders=")
        .split(';')
        .map(String::from)
        .collect();
    let date = &r.headers["x-amz-date"];
    let time = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc();
    let headers: Vec<(&str, &str)> = signed
        .iter()
        .filter(|h| *h != "host")
        .map(|h| (h.as_str(), r.headers[h].as_str()))
        .collect();
    let identity =
        aws_credential_types::Credentials::new(&scope[0], SNS_SECRET, None, None, "t").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&scope[2])
        .name(&scope[3])
        .time(std::time::SystemTime::from(time))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let url = format!("{base}{}", r.path);
    let req = SignableRequest::new(
        "POST",
        &url,
        headers.into_iter(),
        SignableBody::Bytes(&r.body),
    )
    .unwrap();
    let (_, signature) = sign(req, &params).unwrap().into_parts();
    assert_eq!(signature, field("Signature="), "signed headers {signed:?}");
}

/// The big group's requests show each integration's cut.
fn check_truncated(kind: &str, reqs: &[Value]) {
    let body = &reqs[0]["body"];
    let chars = |v: &Value| v.as_str().unwrap_or("").chars().count();
    match kind {
        "pagerduty" => {
            assert_eq!(chars(&body["payload"]["summary"]), 1024, "{body}");
            assert!(
                body["payload"]["custom_details"]["error"]
                    .as_str()
                    .unwrap()
                    .contains("512KB")
            );
        }
        "opsgenie" => assert_eq!(chars(&body["message"]), 130),
        "telegram" => assert_eq!(chars(&body["text"]), 4096),
        "victorops" => assert_eq!(chars(&body["state_message"]), 20480),
        "webex" => assert!(body["markdown"].as_str().unwrap().len() <= 7439),
        "sns" => assert_eq!(body["MessageAttributes.entry.2.Name"], "truncated"),
        "pushover" => {
            let q = &reqs[0]["query"];
            let title = q
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p[0] == "title")
                .unwrap();
            assert_eq!(chars(&title[1]), 250, "{q}");
        }
        "pdv1" => {
            assert_eq!(chars(&body["description"]), 1024, "{body}");
            assert!(body["details"]["error"].as_str().unwrap().contains("512KB"));
        }
        _ => {}
    }
}
