//! The outage drill, end to end on the real stack: PostgreSQL primary and
//! replica, Redis, three demo app processes behind HAProxy, vigil-exporter,
//! and the `vigil` binary with the repository's availability rules (only
//! `for` shortened), Alertmanager-format routing to a real SMTP server
//! (aiosmtpd) and to a Slack-shaped receiver, and an SLA section.
//!
//! 1. one app stops: InstanceDown fires; an email and a Slack message name
//!    the instance and carry the rule's summary;
//! 2. a second app stops: InsufficientHealthyInstances (and the `api` SLA
//!    service is down from here);
//! 3. the PostgreSQL primary stops: DatabaseDown (`database` down);
//! 4. after a held outage everything comes back: every alert resolves, and
//!    each firing and each resolution reaches each channel exactly once;
//! 5. `vigil sla report` for the month shows each service's downtime as the
//!    test measured it from its own timeline (within a few scrape and
//!    evaluation intervals, so to the minute and better) and the credit
//!    tier the seeds' contract gives for it.
//!
//! The servers start once; the drill takes about two minutes, most of it
//! the held outage (long enough that its minutes are unambiguous).

#[path = "outage_drill/notes.rs"]
mod notes;
#[path = "outage_drill/rules.rs"]
mod rules;
#[path = "outage_drill/sla.rs"]
mod sla;
#[path = "outage_drill/stack.rs"]
mod stack;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::task::block_in_place;
use vigil_test_support::eventually;
use vigil_tests::api::{get_json, get_text, wait_alerts};

use notes::Note;
use stack::Stack;

/// How long the `api` service stays down (two apps stopped). Its downtime
/// is then about 1.25 minutes, far from a rounding edge of the minute, and
/// short enough for CI.
const OUTAGE: Duration = Duration::from_secs(75);
/// The report's downtime may differ from the test's stop-to-start time by
/// the delay from a change to its first evaluation, at each end: a scrape
/// (1 s) and an evaluation (1 s) on an idle machine; more on a loaded CI.
const TOLERANCE_MS: i64 = 8_000;
/// How long a notification may take to arrive: `for` (2 s), scrape and
/// evaluation, group_wait (0.5 s), delivery; generous for a loaded CI.
const NOTE_SECS: u64 = 45;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// What happened when, printed as it happens (`--nocapture` shows it).
struct Timeline {
    start: i64,
    events: Vec<(i64, String)>,
}

impl Timeline {
    fn mark(&mut self, what: &str) -> i64 {
        let t = now_ms();
        eprintln!("drill +{:7.1}s  {what}", (t - self.start) as f64 / 1000.0);
        self.events.push((t, what.to_string()));
        t
    }
}

/// The result of an instant query on vigil.
async fn query(stack: &Stack, expr: &str) -> Vec<Value> {
    let mut url = reqwest::Url::parse(&stack.vigil.url("/api/v1/query")).unwrap();
    url.query_pairs_mut().append_pair("query", expr);
    let body = get_json(url.as_str()).await;
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn wait_value(stack: &Stack, expr: &str, want: &str) -> Value {
    let mut r;
    eventually!(
        60,
        format!("{expr} to become {want}: {r:?}\n{}", stack.vigil.logs()),
        {
            r = query(stack, expr).await;
            r.len() == 1 && r[0]["value"][1] == want
        }
    );
    r[0].clone()
}

fn all_notes(stack: &Stack) -> Vec<Note> {
    let mut all = notes::emails(&stack.smtpd);
    all.extend(notes::slack(&stack.slack));
    all
}

/// Waits until `alertname` on `instance` was notified as `status` with
/// `summary` on both channels.
async fn wait_notified(
    stack: &Stack,
    status: &str,
    alertname: &str,
    instance: &str,
    summary: &str,
) {
    let want: Vec<Note> = ["email", "slack"]
        .into_iter()
        .map(|channel| Note {
            channel,
            status: status.into(),
            alertname: alertname.into(),
            instance: instance.into(),
            summary: summary.into(),
        })
        .collect();
    let mut have;
    eventually!(
        NOTE_SECS,
        format!("{want:#?}\nhave {have:#?}\n{}", stack.vigil.logs()),
        {
            have = all_notes(stack);
            want.iter().all(|w| have.contains(w))
        }
    );
}

/// Both SLA services have been evaluated (their gauges are on `/metrics`).
async fn wait_sla_evaluated(stack: &Stack) {
    let mut text;
    eventually!(60, format!("the SLA task to evaluate:\n{text}"), {
        text = get_text(&stack.vigil.url("/metrics")).await;
        let has = |s: &str| {
            text.contains(&format!(
                "vigil_sla_availability_ratio{{service=\"{s}\"}} 1"
            ))
        };
        has("api") && has("database")
    });
}

/// The report agrees with the measured downtime of `service`, to the
/// minute in the table and within [`TOLERANCE_MS`] in the JSON, and gives
/// the seeds' credit for it. `observed` bounds the time the SLA task can
/// have evaluated (no data is excluded, so that is the eligible time).
fn check_service(
    report: &Value,
    table: &str,
    service: &str,
    measured_ms: i64,
    observed: (i64, i64),
    diag: &str,
) {
    let s = sla::service(report, service);
    let down = s["ms"]["counted_down"].as_i64().unwrap();
    let eligible = s["ms"]["eligible"].as_i64().unwrap();
    eprintln!(
        "sla {service}: measured down {:.2} min, report {:.2} min, availability {} %, credit {} % {}",
        measured_ms as f64 / 60_000.0,
        down as f64 / 60_000.0,
        s["availability"]["percent_truncated"],
        s["credit"]["percent"],
        s["credit"]["tier"]
    );
    assert!(
        (down - measured_ms).abs() <= TOLERANCE_MS,
        "{service}: report says {down} ms down, the drill measured {measured_ms} ms"
    );
    let minutes = sla::table_downtime_minutes(table, service);
    assert!(
        (minutes * 60_000.0 - down as f64).abs() <= 600.0,
        "{service}: the table's {minutes} min vs {down} ms"
    );
    assert_eq!(
        minutes.round(),
        (measured_ms as f64 / 60_000.0).round(),
        "{service}: whole minutes"
    );
    let incidents = s["incidents"].as_array().unwrap();
    assert_eq!(
        incidents.len(),
        1,
        "{service}: one incident: {incidents:?}\n{diag}"
    );
    assert_eq!(incidents[0]["duration_ms"].as_i64(), Some(down));
    assert!(
        (observed.0..=observed.1).contains(&eligible),
        "{service}: {eligible} ms eligible, the drill observed {observed:?} ms"
    );
    let (credit, tier) = sla::seed_credit(down, eligible).expect("the drill misses 99.99 %");
    assert_eq!(
        sla::seed_credit(measured_ms, eligible),
        Some((credit, tier))
    );
    assert_eq!(s["credit"]["percent"], credit, "{service}: {}", s["credit"]);
    assert_eq!(s["credit"]["tier"], tier, "{service}: {}", s["credit"]);
    assert_eq!(s["objective"], "missed");
}

/// What explains an unexpected SLA state change: the scrapes' health over
/// the drill and both programs' logs.
async fn diagnostics(stack: &Stack) -> String {
    let mut out = String::new();
    for expr in [
        "min_over_time(up[10m])",
        "max_over_time(scrape_duration_seconds[10m])",
        "min_over_time(count(instance_health == 1)[10m:1s])",
    ] {
        out += &format!("{expr} = {:?}\n", query(stack, expr).await);
    }
    let tail = |s: String| s.lines().rev().take(40).collect::<Vec<_>>().join("\n");
    out += &format!(
        "--- vigil (last lines first)\n{}\n",
        tail(stack.vigil.logs())
    );
    out += &format!(
        "--- exporter (last lines first)\n{}\n",
        tail(stack.exporter.logs())
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_drill() {
    let rules = rules::drill_rules();
    let mut tl = Timeline {
        start: now_ms(),
        events: Vec::new(),
    };
    block_in_place(|| {
        vigil_tests::exporter::exporter_bin();
        vigil_tests::bins::vigil_bin();
    });
    tl.mark("binaries built");
    let mut stack = Stack::start(&rules).await;
    tl.mark("stack started");
    wait_value(
        &stack,
        "count(instance_health{job=\"cartae-api\"} == 1)",
        "3",
    )
    .await;
    let pg = wait_value(&stack, "pg_up{role=\"primary\"}", "1").await;
    let pg_instance = pg["metric"]["instance"].as_str().unwrap().to_string();
    let pg_server = pg["metric"]["server"].as_str().unwrap().to_string();
    wait_sla_evaluated(&stack).await;
    wait_alerts("vigil", &stack.vigil.url(""), &[], NOTE_SECS).await;
    assert!(all_notes(&stack).is_empty());
    let steady = tl.mark("steady: 3 healthy apps, primary up, SLA evaluated, no alerts");

    let summary = |alert: &str, instance: &str| {
        rules::annotation(&rules, alert, "summary")
            .replace("{{ $labels.instance }}", instance)
            .replace("{{ $labels.server }}", &pg_server)
    };

    // 1. One app stops.
    tl.mark("stop app api-2");
    block_in_place(|| stack.apps.stop(1));
    let s = summary("InstanceDown", "api-2");
    wait_notified(&stack, "firing", "InstanceDown", "api-2", &s).await;
    tl.mark("InstanceDown api-2: email and Slack received");

    // 2. A second app stops: one healthy instance left.
    let api_down = tl.mark("stop app api-1");
    block_in_place(|| stack.apps.stop(0));
    let s = summary("InstanceDown", "api-1");
    wait_notified(&stack, "firing", "InstanceDown", "api-1", &s).await;
    let s = summary("InsufficientHealthyInstances", "");
    wait_notified(&stack, "firing", "InsufficientHealthyInstances", "", &s).await;
    tl.mark("InstanceDown api-1, InsufficientHealthyInstances: received");

    // 3. The PostgreSQL primary stops.
    let db_down = tl.mark("stop the PostgreSQL primary");
    block_in_place(|| stack.primary.stop()).expect("pg_ctl stop");
    let s = summary("DatabaseDown", &pg_instance);
    wait_notified(&stack, "firing", "DatabaseDown", &pg_instance, &s).await;
    tl.mark("DatabaseDown: received");
    wait_alerts(
        "vigil",
        &stack.vigil.url(""),
        &[
            ("DatabaseDown", &pg_instance, "firing"),
            ("InstanceDown", "api-1", "firing"),
            ("InstanceDown", "api-2", "firing"),
            ("InsufficientHealthyInstances", "", "firing"),
        ],
        NOTE_SECS,
    )
    .await;

    // The outage is held: its length is the drill's design, not a wait
    // for something to happen.
    let hold = api_down + OUTAGE.as_millis() as i64 - now_ms();
    tokio::time::sleep(Duration::from_millis(hold.max(0) as u64)).await;

    // 4. Everything comes back.
    block_in_place(|| {
        stack.apps.up(0);
        stack.apps.up(1);
    });
    let api_back = tl.mark("apps api-1 and api-2 back");
    block_in_place(|| stack.primary.start()).expect("pg_ctl start");
    let db_back = tl.mark("PostgreSQL primary back");
    for (alert, instance) in [
        ("InstanceDown", "api-1"),
        ("InstanceDown", "api-2"),
        ("InsufficientHealthyInstances", ""),
        ("DatabaseDown", pg_instance.as_str()),
    ] {
        let s = summary(alert, instance);
        wait_notified(&stack, "resolved", alert, instance, &s).await;
    }
    wait_alerts("vigil", &stack.vigil.url(""), &[], NOTE_SECS).await;
    tl.mark("every alert resolved: emails and Slack received");

    // 5. The SLA report of the drill's month.
    let month = sla::month_of(api_down);
    assert_eq!(
        month,
        sla::month_of(db_back),
        "the drill crossed a month boundary; run it again"
    );
    let json: Value = serde_json::from_str(&sla::report(&stack.vigil, &month, "json")).unwrap();
    let table = sla::report(&stack.vigil, &month, "table");
    eprintln!("{table}");
    let observed = (db_back - steady, now_ms() - tl.start);
    let diag = diagnostics(&stack).await;
    check_service(&json, &table, "api", api_back - api_down, observed, &diag);
    check_service(
        &json,
        &table,
        "database",
        db_back - db_down,
        observed,
        &diag,
    );
    tl.mark("SLA report checked");

    // Once each: after a clean shutdown nothing more can come.
    block_in_place(|| stack.vigil.terminate());
    let mut counts: BTreeMap<(String, String, String, String), usize> = BTreeMap::new();
    for n in all_notes(&stack) {
        *counts
            .entry((n.channel.to_string(), n.status, n.alertname, n.instance))
            .or_default() += 1;
    }
    assert_eq!(
        counts.len(),
        16,
        "4 alerts x firing/resolved x 2 channels: {counts:#?}"
    );
    assert!(counts.values().all(|n| *n == 1), "each once: {counts:#?}");
    tl.mark("each notification once: done");
}
