//! The failover drill, end to end on real servers: PostgreSQL primary and
//! two streaming standbys, a Redis master and replica with three Sentinels,
//! three demo apps behind HAProxy, vigil-exporter, and the `vigil` binary
//! with the repository's `rules/failover.rules.yml` and the stack's
//! availability alerts (every duration a tenth, see
//! `failover_drill/rules.rs`) notifying a webhook receiver, aiosmtpd and a
//! Slack-shaped receiver.
//!
//! 1. standby c is promoted (`pg_ctl promote`) while the primary a runs:
//!    PostgreSQLSplitBrain and PostgreSQLFailover (c) fire; c stops and the
//!    split brain resolves;
//! 2. the primary a stops and, [`GAP`] later, standby b is promoted:
//!    PostgreSQLFailover (b), DatabaseDown for a, no PostgreSQLNoPrimary
//!    once b is primary, and `vigil sla report` lists one failover as long
//!    as the drill measured (within one scrape interval), in every format;
//! 3. the Redis master is killed (by its pid): Sentinel elects the replica,
//!    RedisFailover for it and RedisDown for the old master; the exporter,
//!    not restarted, reads the replica as master; the old master started
//!    again is turned into a replica by Sentinel and RedisDown resolves;
//! 4. two of the three Sentinels stop: RedisSentinelQuorumLost;
//! 5. the new primary b is restarted with an `archive_command` that exits 1
//!    and switches WAL: PostgreSQLWALArchivingFailing;
//! 6. on each channel (webhook, email, Slack) every alert was notified
//!    firing exactly once, and each that resolved, resolved once.
//!
//! The servers start once; the drill takes under a minute after they are
//! up, a fifth of it waiting for Sentinel to turn the returning old master
//! into a replica.

#[path = "failover_drill/notes.rs"]
mod notes;
#[path = "failover_drill/rules.rs"]
mod rules;
// The outage drill's report helpers (month, `vigil sla report`); its
// credit helpers are not used here.
#[allow(dead_code)]
#[path = "outage_drill/sla.rs"]
mod sla;
#[path = "failover_drill/stack.rs"]
mod stack;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::task::block_in_place;
use vigil_test_support::eventually;
use vigil_tests::api::{alerts, get_json};
use vigil_tests::postgres::PgServer;

use notes::subject;
use stack::{PG_CLUSTER, REDIS_CLUSTER, Stack};

/// How long an alert may take to show: a scrape and an evaluation (1 s
/// each), the scaled `for` (6 s at most here), generous for a loaded CI.
const ALERT_SECS: u64 = 60;
/// How long the drill leaves the cluster without a primary: long enough
/// for a 1 s evaluation to see it, shorter than PostgreSQLNoPrimary's
/// scaled `for` (3 s).
const GAP: Duration = Duration::from_millis(1500);
/// vigil's scrape interval in the drill (`stack.rs`), also the rules' and
/// the SLA task's evaluation interval. The report's failover may differ
/// from the drill's stop-to-promotion time by at most one of them: each
/// end of the failover is recorded at the first SLA slot that holds the
/// first scrape after the event, so it is late by the time to that scrape
/// (under one interval) plus the scrape-to-slot offset, which both ends
/// share because scrapes and slots tick at the same interval; only the
/// first part differs between the ends.
const SCRAPE_INTERVAL_MS: i64 = 1_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// What happened when, printed as it happens (`--nocapture` shows it).
struct Timeline(i64);

impl Timeline {
    fn mark(&self, what: &str) -> i64 {
        let t = now_ms();
        eprintln!("drill +{:7.1}s  {what}", (t - self.0) as f64 / 1000.0);
        t
    }
}

/// `(alertname, subject, state)` of vigil's active alerts, sorted.
async fn active(stack: &Stack) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = alerts(&stack.vigil.url(""))
        .await
        .iter()
        .map(|a| {
            (
                a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                subject(&a["labels"]),
                a["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Waits until `check` holds for the active alerts; fails with them and
/// vigil's log.
async fn wait_for(stack: &Stack, what: &str, check: impl Fn(&[(String, String, String)]) -> bool) {
    let mut have;
    eventually!(
        ALERT_SECS,
        format!(
            "{what}; active alerts: {have:#?}\n--- vigil\n{}\n--- exporter\n{}",
            tail(&stack.vigil.logs()),
            tail(&stack.exporter.logs())
        ),
        {
            have = active(stack).await;
            check(&have)
        }
    );
}

fn has(alerts: &[(String, String, String)], name: &str, subject: &str, state: &str) -> bool {
    alerts
        .iter()
        .any(|(a, s, st)| a == name && s == subject && st == state)
}

fn named(alerts: &[(String, String, String)], name: &str) -> bool {
    alerts.iter().any(|(a, _, _)| a == name)
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The result of an instant query on vigil.
async fn query(stack: &Stack, expr: &str) -> Vec<Value> {
    let mut url = reqwest::Url::parse(&stack.vigil.url("/api/v1/query")).unwrap();
    url.query_pairs_mut().append_pair("query", expr);
    get_json(url.as_str()).await["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Until vigil has scraped the steady stack and evaluated every rule.
async fn wait_steady(stack: &Stack) {
    let primaries = format!("count(pg_replication_is_replica{{cluster=\"{PG_CLUSTER}\"}} == 0)");
    let masters = format!(
        "count(redis_instance_info{{cluster=\"{REDIS_CLUSTER}\", role=\"master\", redis_mode!=\"sentinel\"}})"
    );
    let (mut p, mut m, mut rules);
    eventually!(
        ALERT_SECS,
        format!("vigil to see the steady stack: {p:?} {m:?}\n{rules}"),
        {
            p = query(stack, &primaries).await;
            m = query(stack, &masters).await;
            rules = get_json(&stack.vigil.url("/api/v1/rules")).await;
            let evaluated = rules["data"]["groups"].as_array().is_some_and(|gs| {
                gs.len() == 4
                    && gs.iter().all(|g| {
                        g["rules"]
                            .as_array()
                            .is_some_and(|r| r.iter().all(|r| r["health"] == "ok"))
                    })
            });
            let one = |r: &[Value]| r.len() == 1 && r[0]["value"][1] == "1";
            one(&p) && one(&m) && evaluated
        }
    );
}

/// Until the exporter, as vigil scraped it, gives the Redis server `target`
/// the `role` (`master` or `slave`).
async fn wait_role(stack: &Stack, target: &str, role: &str) {
    let expr = format!("redis_instance_info{{target=\"{target}\", role=\"{role}\"}}");
    eventually!(
        ALERT_SECS,
        format!(
            "vigil to read {target} as {role}\n--- exporter\n{}",
            tail(&stack.exporter.logs())
        ),
        !query(stack, &expr).await.is_empty()
    );
}

/// `pg_ctl promote -w` on a standby, as the `postgres` user (PostgreSQL
/// refuses root), as an operator or a failover manager runs it.
fn pg_ctl_promote(server: &PgServer) {
    let data = server.data_dir();
    let pg_ctl = vigil_tests::postgres::bin_dir()
        .expect("PostgreSQL binaries")
        .join("pg_ctl");
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(pg_ctl)
        .args(["promote", "-w", "-t", "60", "-D"])
        .arg(&data)
        .current_dir(data.parent().unwrap())
        .output()
        .expect("run pg_ctl promote");
    assert!(
        out.status.success(),
        "pg_ctl promote: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Restarts `server` (`pg_ctl restart -m fast`) with the options
/// `PgServer::start` gives it but an `archive_command` that always fails.
/// Options on the command line outrank `ALTER SYSTEM`, so a restart is the
/// way to change it here.
fn restart_with_failing_archive(server: &PgServer) {
    let data = server.data_dir();
    let dir = data.parent().unwrap();
    let options = format!(
        "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
         -c fsync=off -c max_connections=50 -c shared_preload_libraries=pg_stat_statements \
         -c archive_mode=on -c archive_command=/bin/false",
        server.port(),
        dir.display()
    );
    let pg_ctl = vigil_tests::postgres::bin_dir()
        .expect("PostgreSQL binaries")
        .join("pg_ctl");
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(pg_ctl)
        .args(["restart", "-w", "-t", "60", "-m", "fast", "-D"])
        .arg(&data)
        .arg("-l")
        .arg(server.log_file())
        .args(["-o", &options])
        .current_dir(dir)
        .output()
        .expect("run pg_ctl restart");
    assert!(
        out.status.success(),
        "pg_ctl restart: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `database` service's failovers in the JSON report, once its ledger
/// has up time after the failover (the up time grows between two reads).
async fn failovers_after_recovery(stack: &Stack, month: &str) -> Value {
    let mut last_up = None;
    let mut db: Value;
    // Each look runs `vigil sla report`: twice a second is enough.
    eventually!(
        ALERT_SECS,
        format!("the report to show one closed failover: {db:#}"),
        {
            let json = block_in_place(|| sla::report(&stack.vigil, month, "json"));
            let report: Value = serde_json::from_str(&json).unwrap();
            db = sla::service(&report, "database").clone();
            let up = db["ms"]["up"].as_i64();
            let closed = db["failovers"]["count"] == 1 && last_up.is_some_and(|l| up > Some(l));
            last_up = up;
            closed
        },
        every: Duration::from_millis(500)
    );
    db["failovers"].clone()
}

/// When the drill ran a command: just before it and once it returned. The
/// event it causes (the primary gone, the standby writable) is in between.
#[derive(Clone, Copy)]
struct Ran {
    from: i64,
    to: i64,
}

/// One failover in the report, as long as the drill's stop-to-promotion
/// time within one scrape interval, judged against the 3 s objective, and
/// shown by every format. The time the drill measured is a range: from the
/// end of the stop to the start of the promotion at the shortest, from the
/// start of the stop to the end of the promotion at the longest.
async fn check_failover_report(stack: &Stack, stop: Ran, promote: Ran) {
    let (shortest, longest) = (promote.from - stop.to, promote.to - stop.from);
    let month = sla::month_of(stop.from);
    let f = failovers_after_recovery(stack, &month).await;
    let got = f["list"][0]["duration_ms"].as_i64().unwrap();
    eprintln!(
        "no writable primary: the drill measured {shortest}..{longest} ms, the report says {got} ms"
    );
    assert!(
        (shortest - SCRAPE_INTERVAL_MS..=longest + SCRAPE_INTERVAL_MS).contains(&got),
        "report {got} ms vs measured {shortest}..{longest} ms: {f:#}"
    );
    assert_eq!(f["objective_ms"], 3000);
    assert_eq!(f["longest_ms"], got);
    assert_eq!(f["objective_met"], got <= 3000, "{f:#}");
    let table = block_in_place(|| sla::report(&stack.vigil, &month, "table"));
    assert!(
        table.contains("  failovers            1, longest "),
        "{table}"
    );
    let markdown = block_in_place(|| sla::report(&stack.vigil, &month, "markdown"));
    assert!(markdown.contains("| Failover start |"), "{markdown}");
    let csv = block_in_place(|| sla::report(&stack.vigil, &month, "csv"));
    assert!(csv.contains(&format!(",1,{got},3000,")), "{csv}");
    let html = block_in_place(|| sla::report(&stack.vigil, &month, "html"));
    assert!(html.contains("<title>failover, "), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_drill() {
    let rules = rules::drill_rules();
    let tl = Timeline(now_ms());
    block_in_place(|| {
        vigil_tests::exporter::exporter_bin();
        vigil_tests::bins::vigil_bin();
    });
    tl.mark("binaries built");
    let mut stack = Stack::start(&rules).await;
    tl.mark("stack started");
    wait_steady(&stack).await;
    wait_for(&stack, "no alert on the steady stack", |a| a.is_empty()).await;
    tl.mark("steady: one primary, one master, no alert");

    let a = stack.pg_a.server_label();
    let b = stack.pg_b.server_label();
    let c = stack.pg_c.server_label();
    let replica_target = stack.redis_replica.url();
    let replica_target = replica_target.trim_start_matches("redis://").to_string();

    // 1. A standby is promoted while the primary runs.
    tl.mark("promote standby c while primary a runs");
    block_in_place(|| pg_ctl_promote(&stack.pg_c));
    wait_for(&stack, "split brain and c's promotion", |al| {
        has(al, "PostgreSQLSplitBrain", PG_CLUSTER, "firing")
            && has(al, "PostgreSQLFailover", &c, "firing")
    })
    .await;
    tl.mark("PostgreSQLSplitBrain and PostgreSQLFailover (c) firing");
    block_in_place(|| stack.pg_c.stop()).expect("stop c");
    wait_for(&stack, "the split brain to resolve", |al| {
        !named(al, "PostgreSQLSplitBrain")
    })
    .await;
    tl.mark("c stopped: split brain resolved");

    // 2. The primary stops; standby b takes over.
    let stop_from = now_ms();
    block_in_place(|| stack.pg_a.stop()).expect("stop a");
    let stop = Ran {
        from: stop_from,
        to: tl.mark("primary a stopped"),
    };
    // The cluster stays without a primary for GAP: the failover's length
    // is the drill's design (measured against the report), not a wait.
    tokio::time::sleep(GAP).await;
    let promote_from = now_ms();
    block_in_place(|| pg_ctl_promote(&stack.pg_b));
    let promote = Ran {
        from: promote_from,
        to: tl.mark("standby b promoted"),
    };
    wait_for(&stack, "b's promotion", |al| {
        has(al, "PostgreSQLFailover", &b, "firing")
    })
    .await;
    wait_for(&stack, "no PostgreSQLNoPrimary once b is primary", |al| {
        !named(al, "PostgreSQLNoPrimary") && !named(al, "PostgreSQLSplitBrain")
    })
    .await;
    tl.mark("PostgreSQLFailover (b) firing, a primary exists");
    wait_for(&stack, "DatabaseDown for the old primary", |al| {
        has(al, "DatabaseDown", &a, "firing")
    })
    .await;
    tl.mark("DatabaseDown (a) firing");
    check_failover_report(&stack, stop, promote).await;
    tl.mark("the SLA report lists the failover");

    // 3. The Redis master dies; Sentinel fails it over.
    let master_target = stack.redis_master.url();
    let master_target = master_target.trim_start_matches("redis://").to_string();
    let pid = stack.redis_master.pid().expect("the master runs");
    block_in_place(|| stack.redis_master.stop());
    tl.mark(&format!("Redis master {master_target} killed (pid {pid})"));
    wait_for(&stack, "RedisFailover for the replica", |al| {
        has(al, "RedisFailover", &replica_target, "firing")
    })
    .await;
    tl.mark("RedisFailover firing: Sentinel elected the replica");
    wait_role(&stack, &replica_target, "master").await;
    tl.mark("the exporter reads the replica as master");
    wait_for(&stack, "RedisDown for the old master", |al| {
        has(al, "RedisDown", &master_target, "firing")
    })
    .await;
    tl.mark("RedisDown (old master) firing");
    block_in_place(|| stack.redis_master.start()).expect("start the old master again");
    wait_role(&stack, &master_target, "slave").await;
    tl.mark("the old master is back, and Sentinel made it a replica");
    wait_for(&stack, "RedisDown to resolve", |al| !named(al, "RedisDown")).await;

    // 4. Two of the three Sentinels stop.
    drop(stack.sentinels.split_off(1));
    tl.mark("two Sentinels stopped");
    let sentinel_target = stack.sentinels[0].url();
    let sentinel_target = sentinel_target.trim_start_matches("redis://").to_string();
    wait_for(&stack, "RedisSentinelQuorumLost", |al| {
        has(al, "RedisSentinelQuorumLost", &sentinel_target, "firing")
    })
    .await;
    tl.mark("RedisSentinelQuorumLost firing");

    // 5. WAL archiving fails on the new primary. Its restart must not touch
    // its promotion's alert (a gap in the series would fire it again), so
    // that one is over first.
    wait_for(&stack, "b's promotion alert to end", |al| {
        !named(al, "PostgreSQLFailover")
    })
    .await;
    block_in_place(|| {
        restart_with_failing_archive(&stack.pg_b);
        stack
            .pg_b
            .query("CREATE TABLE vigil_drill (); DROP TABLE vigil_drill")
            .expect("write on b");
        stack
            .pg_b
            .query("SELECT pg_switch_wal()")
            .expect("pg_switch_wal");
    });
    tl.mark("b restarted with archive_command=/bin/false, WAL switched");
    wait_for(&stack, "PostgreSQLWALArchivingFailing", |al| {
        has(al, "PostgreSQLWALArchivingFailing", &b, "firing")
    })
    .await;
    tl.mark("PostgreSQLWALArchivingFailing firing");
    // Its notifications are still on their way (group wait, delivery):
    // stopping vigil now would lose them, not show a drill failure.
    let mut channels: std::collections::BTreeSet<_>;
    eventually!(
        60,
        format!("PostgreSQLWALArchivingFailing firing on three channels: {channels:?}"),
        {
            channels = notes::all(&stack)
                .into_iter()
                .filter(|n| n.alertname == "PostgreSQLWALArchivingFailing" && n.status == "firing")
                .map(|n| n.channel)
                .collect();
            channels.len() == 3
        }
    );

    // 6. Once each: after a clean shutdown nothing more can come.
    block_in_place(|| stack.vigil.terminate());
    let mut counts: BTreeMap<(&str, String, String, String), usize> = BTreeMap::new();
    for n in notes::all(&stack) {
        *counts
            .entry((n.channel, n.alertname, n.subject, n.status))
            .or_default() += 1;
    }
    eprintln!("notifications: {counts:#?}");
    let firing = [
        ("PostgreSQLSplitBrain", PG_CLUSTER),
        ("PostgreSQLFailover", c.as_str()),
        ("DatabaseDown", c.as_str()),
        ("PostgreSQLFailover", b.as_str()),
        ("DatabaseDown", a.as_str()),
        ("RedisFailover", replica_target.as_str()),
        ("RedisDown", master_target.as_str()),
        ("RedisSentinelQuorumLost", sentinel_target.as_str()),
        ("PostgreSQLWALArchivingFailing", b.as_str()),
    ];
    let resolved = [
        ("PostgreSQLSplitBrain", PG_CLUSTER),
        ("PostgreSQLFailover", b.as_str()),
        ("RedisDown", master_target.as_str()),
    ];
    for channel in ["webhook", "email", "slack"] {
        let wanted = firing
            .iter()
            .map(|n| (n, "firing"))
            .chain(resolved.iter().map(|n| (n, "resolved")));
        for ((name, subject), status) in wanted {
            let key = (
                channel,
                name.to_string(),
                subject.to_string(),
                status.to_string(),
            );
            assert_eq!(counts.get(&key), Some(&1), "{key:?} once: {counts:#?}");
        }
    }
    assert!(
        counts.values().all(|n| *n == 1),
        "each notification once: {counts:#?}"
    );
    // Every channel told the same story.
    let story = |channel: &str| -> Vec<_> {
        counts
            .keys()
            .filter(|k| k.0 == channel)
            .map(|k| (&k.1, &k.2, &k.3))
            .collect()
    };
    assert_eq!(story("webhook"), story("email"), "{counts:#?}");
    assert_eq!(story("webhook"), story("slack"), "{counts:#?}");
    // The old primary was never promoted; the Redis switch left no moment
    // with two masters long enough to count.
    assert!(
        !counts
            .keys()
            .any(|(_, name, subject, _)| name == "RedisSplitBrain"
                || (name == "PostgreSQLFailover" && *subject == a)),
        "{counts:#?}"
    );
    tl.mark("each notification once on each channel: done");
}
