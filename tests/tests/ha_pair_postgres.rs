//! Two `vigil run` processes with the same rules and one real PostgreSQL
//! (started once for the binary; each trial in its own database), as an
//! HA pair is deployed:
//!
//! - evaluating in lockstep, the SLA ledger holds one row per state change
//!   (not one per evaluation per instance) and no alert-state save fails;
//! - SIGKILL of the instance holding a delivery lease while its send hangs:
//!   the other instance delivers within the (short, renewed) lease;
//! - one instance cut off from the target while the other still sees the
//!   condition: the receiver gets exactly one "firing" and one "resolved";
//! - an instance killed while it sees the alert firing stops keeping it
//!   firing once its heartbeat is older than the peer timeout.

#[path = "ha_pair_postgres/support.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use support::{Env, Hook, Pair, Target, TrialDb};
use vigil_test_support::wait_until;

/// The flip service is up for two seconds, down for two (the evaluation
/// time decides, so both instances see the same state at the same slot).
const LOCKSTEP: &str = "global:\n  evaluation_interval: 1s\n\
storage:\n  database_url_file: db-url\n\
rule_files: [rules.yml]\n\
sla:\n  max_gap: 5s\n  services:\n    - { name: flip, up: 'vector(time() % 4 < bool 2)' }\n";

const LOCKSTEP_RULES: &str = concat!(
    "groups:\n  - name: both\n    interval: 100ms\n    rules:\n",
    "      - alert: Always\n        expr: vector(1)\n",
    "      - alert: Two\n",
    "        expr: 'vector(1) or label_replace(vector(2), \"n\", \"two\", \"\", \"\")'\n",
);

fn lockstep_ledger(env: &Env) -> Result<(), Failed> {
    let db = env.database("lockstep");
    let pair = Pair::start(env, &db, |_| LOCKSTEP.to_string(), LOCKSTEP_RULES);
    let rows = || env.ledger(&db, "flip");
    wait_until("six ledger rows", Duration::from_secs(40), || {
        rows().len() >= 6
    });
    let mut pair = pair;
    pair.terminate();
    let rows = rows();
    println!("ledger rows for service flip after the run: {}", rows.len());
    for w in rows.windows(2) {
        let ((_, end, state), (start, _, next)) = (&w[0], &w[1]);
        assert_eq!(end, start, "rows tile, no overlap: {rows:?}");
        assert_ne!(state, next, "each row is a state change: {rows:?}");
    }
    for (start, end, _) in &rows[1..rows.len() - 1] {
        assert_eq!(end - start, 2000, "a run of the flip lasts 2 s: {rows:?}");
    }
    for log in pair.logs() {
        for bad in [
            "saving alert state failed",
            "writing the SLA ledger failed",
            "duplicate key",
        ] {
            assert!(!log.contains(bad), "{bad}:\n{log}");
        }
    }
    Ok(())
}

/// `alerting:` for instance `name` sending to `hook`.
fn alerting(name: &str, hook: &str) -> String {
    format!(
        "alerting:\n  instance: {name}\n  delivery_lease: 2s\n  peer_timeout: 3s\n  alertmanager_config:\n    route:\n      receiver: hook\n      group_by: [alertname]\n      group_wait: 100ms\n      group_interval: 500ms\n      repeat_interval: 1h\n    receivers:\n      - name: hook\n        webhook_configs:\n          - url: '{hook}'\n"
    )
}

fn takeover_after_sigkill(env: &Env) -> Result<(), Failed> {
    let db = env.database("takeover");
    let hook = Hook::start(&env.rt, true);
    let url = hook.url();
    let rules = "groups:\n  - name: page\n    interval: 250ms\n    rules:\n      - alert: Page\n        expr: vector(1)\n";
    let mut pair = Pair::start(
        env,
        &db,
        |name| {
            format!(
                "storage:\n  database_url_file: db-url\nrule_files: [rules.yml]\n{}",
                alerting(name, &url)
            )
        },
        rules,
    );
    wait_until("the first send (it hangs)", Duration::from_secs(30), || {
        hook.requests() >= 1
    });
    let mut holder = String::new();
    wait_until("the lease holder", Duration::from_secs(10), || {
        holder = env.query(
            &db,
            "SELECT lease_owner FROM notify_outbox WHERE status = 'pending' AND lease_owner IS NOT NULL",
        );
        !holder.is_empty()
    });
    let killed = Instant::now();
    pair.kill(&holder);
    wait_until(
        "delivery by the other instance",
        Duration::from_secs(60),
        || !hook.statuses().is_empty(),
    );
    let took = killed.elapsed();
    println!(
        "takeover: delivered {:.2} s after SIGKILL of the lease holder {holder} (lease 2 s)",
        took.as_secs_f64()
    );
    // Within a few leases, far below one send timeout (30 s).
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(hook.statuses(), ["firing"]);
    let delivered = env.query(
        &db,
        "SELECT count(*) FROM notify_outbox WHERE status = 'delivered'",
    );
    assert_eq!(delivered, "1");
    Ok(())
}

/// A pair on the trial's database whose rule `Cond` fires on a target each
/// instance scrapes under its own path (so one can be cut off alone),
/// once the firing notification reached the hook.
fn firing_pair(env: &Env, db: &TrialDb) -> (Hook, Target, Pair) {
    let hook = Hook::start(&env.rt, false);
    let target = Target::start(&env.rt, "cond 1\n");
    let (url, addr) = (hook.url(), target.addr);
    let rules = "groups:\n  - name: cond\n    interval: 250ms\n    rules:\n      - alert: Cond\n        expr: cond == 1\n";
    let pair = Pair::start(
        env,
        db,
        |name| {
            format!(
                "global:\n  scrape_interval: 250ms\n  scrape_timeout: 200ms\nstorage:\n  database_url_file: db-url\nrule_files: [rules.yml]\n\
scrape_configs:\n  - job_name: t\n    metrics_path: /{name}\n    static_configs:\n      - targets: ['{addr}']\n{}",
                alerting(name, &url)
            )
        },
        rules,
    );
    wait_until("firing sent", Duration::from_secs(30), || {
        hook.statuses().len() == 1
    });
    (hook, target, pair)
}

/// An instance's group flush decisions (one per flush of the pair's one
/// group and its one integration) and the aggregation groups it holds.
const FLUSHES: &str = "vigil_notify_flush_decisions_total";
const GROUPS: &str = "vigil_notify_aggregation_groups";

/// Waits until nothing more can be sent: each `live` instance holds no
/// aggregation group (a group leaves at the flush that handled its resolved
/// alert, and nothing brings it back before the rules' resend delay of a
/// minute) and no outbox row waits to be sent. Terminating then waits for
/// a send in flight, so a duplicate would be in the hook's statuses.
fn settled(env: &Env, db: &TrialDb, pair: &mut Pair, live: &[&str]) {
    wait_until(
        &format!("{live:?} holding no group and no outbox row pending"),
        Duration::from_secs(20),
        || {
            live.iter()
                .all(|name| pair.metric(name, &env.rt, GROUPS) == 0.0)
                && env.query(
                    db,
                    "SELECT count(*) FROM notify_outbox WHERE status = 'pending'",
                ) == "0"
        },
    );
}

/// Whether instance `name`'s view of the pair's one alert, as its peer
/// reads it from the shared database, is firing (its end still ahead);
/// `None` while it has no view or no heartbeat.
fn view_firing(env: &Env, db: &TrialDb, name: &str) -> Option<bool> {
    let sql = format!(
        "SELECT v.ends_at > (extract(epoch from now()) * 1000)::bigint \
         FROM notify_alert_views v JOIN notify_instances i USING (instance) WHERE instance = '{name}'"
    );
    match env.query(db, &sql).as_str() {
        "t" => Some(true),
        "f" => Some(false),
        _ => None,
    }
}

fn cut_off_instance(env: &Env) -> Result<(), Failed> {
    let db = env.database("cutoff");
    let (hook, target, mut pair) = firing_pair(env, &db);
    // b sees the alert firing (the hook's "firing" may have come from a).
    wait_until(
        "b's view of the firing alert",
        Duration::from_secs(10),
        || view_firing(env, &db, "b") == Some(true),
    );
    // b loses its path to the target: the condition is gone for b only.
    target.cut("b", true);
    wait_until("b sees the alert resolved", Duration::from_secs(10), || {
        !pair.firing("b", &env.rt, "Cond")
    });
    // b's notify has taken the resolution: its view, which a reads, ended.
    wait_until(
        "b's view of the alert ended",
        Duration::from_secs(10),
        || view_firing(env, &db, "b") == Some(false),
    );
    // Several of b's group flushes while it sees the alert resolved (each
    // would send a false "resolved" if a's view did not hold it firing).
    let flushed = pair.metric("b", &env.rt, FLUSHES);
    wait_until(
        "three flushes of b while it sees the alert resolved",
        Duration::from_secs(10),
        || pair.metric("b", &env.rt, FLUSHES) >= flushed + 3.0,
    );
    target.cut("b", false);
    wait_until("b sees it firing again", Duration::from_secs(10), || {
        pair.firing("b", &env.rt, "Cond")
    });
    target.set_body("cond 0\n");
    wait_until("resolved sent", Duration::from_secs(30), || {
        hook.statuses().len() >= 2
    });
    settled(env, &db, &mut pair, &["a", "b"]);
    pair.terminate();
    assert_eq!(hook.statuses(), ["firing", "resolved"]);
    Ok(())
}

/// An instance killed while it sees the alert firing stops counting once
/// its heartbeat is older than `peer_timeout`: the survivor then sends the
/// resolution (it would otherwise wait for the dead view to expire).
fn killed_peer_stops_counting(env: &Env) -> Result<(), Failed> {
    let db = env.database("killedpeer");
    let (hook, target, mut pair) = firing_pair(env, &db);
    // b's view of the alert is in the shared database before it dies.
    wait_until(
        "b's view of the firing alert",
        Duration::from_secs(10),
        || view_firing(env, &db, "b") == Some(true),
    );
    pair.kill("b");
    let killed = Instant::now();
    target.set_body("cond 0\n");
    wait_until("resolved sent", Duration::from_secs(30), || {
        hook.statuses().len() >= 2
    });
    println!(
        "resolved {:.2} s after b was killed (peer_timeout 3 s)",
        killed.elapsed().as_secs_f64()
    );
    settled(env, &db, &mut pair, &["a"]);
    pair.terminate();
    assert_eq!(hook.statuses(), ["firing", "resolved"]);
    Ok(())
}

type TrialFn = fn(&Env) -> Result<(), Failed>;

fn main() {
    let mut args = Arguments::from_args();
    // Each trial runs two vigils: one at a time, on a small machine.
    args.test_threads = Some(1);
    let trials: Vec<(&str, TrialFn)> = vec![
        ("lockstep_ledger_one_row_per_change", lockstep_ledger),
        (
            "takeover_after_sigkill_of_the_lease_holder",
            takeover_after_sigkill,
        ),
        (
            "cut_off_instance_sends_one_firing_one_resolved",
            cut_off_instance,
        ),
        ("killed_peer_stops_counting", killed_peer_stops_counting),
    ];
    let wanted = |name: &str| !args.is_filtered_out(&Trial::test(name, || Ok(())));
    // PostgreSQL starts only if a trial will run.
    let env: Option<Arc<Env>> =
        (!args.list && trials.iter().any(|(n, _)| wanted(n))).then(|| Arc::new(Env::start()));
    let trials = trials
        .into_iter()
        .map(|(name, f)| {
            let env = env.clone();
            Trial::test(name, move || match env {
                Some(env) => f(&env),
                None => Err("PostgreSQL not started".into()),
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(env);
    conclusion.exit();
}
