//! Runs rule groups: one task per group that waits for the group's next
//! slot, evaluates it at that slot's timestamp, and saves its alerts. This
//! is the one place that reads the clock (through [`Clock`]); groups and
//! rules only ever see the timestamp they are given.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::alerting::AlertContext;
use super::group::{EvalDeps, Group, Rule};
use super::query::{AlertSink, RuleQuery};
use super::schedule;
use super::state_store::{AlertStateStore, rule_key};
use super::validate::{RuleError, check_file};
use crate::clock::Clock;
use crate::db::Db;
use crate::store::Appender;

/// Whether the data source is ready for rules: after a start, the first
/// scrape of every target has landed in the (empty) store. Until then slots
/// are skipped, so a restored firing alert is not resolved by an empty
/// store and `absent()` rules do not fire on a store nobody wrote to yet.
pub type Ready = Arc<dyn Fn() -> bool + Send + Sync>;

/// Always ready (a remote data source, tests).
pub fn always_ready() -> Ready {
    Arc::new(|| true)
}

/// What running groups need.
#[derive(Clone)]
pub struct ManagerDeps {
    pub query: Arc<dyn RuleQuery>,
    pub appender: Arc<dyn Appender>,
    pub sink: Arc<dyn AlertSink>,
    pub alert_ctx: AlertContext,
    pub resend_delay_ms: i64,
    pub db: Option<Db>,
    pub clock: Arc<dyn Clock>,
    pub ready: Ready,
    /// `vigil_rule_evaluation_duration_seconds`, one observation per rule
    /// evaluation (as Prometheus's summary of the same name).
    pub eval_seconds: Option<prometheus_client::metrics::histogram::Histogram>,
}

/// One running group and its counters.
pub struct RunningGroup {
    /// Held for a whole evaluation; readers that must not wait for one use
    /// the figures below.
    pub group: Mutex<Group>,
    /// `file;name`, the `rule_group` label of the group's metrics.
    pub label: String,
    pub interval_seconds: f64,
    pub rule_count: usize,
    /// `vigil_rule_group_last_duration_seconds`, as `f64` bits.
    last_duration_bits: AtomicU64,
    /// `vigil_rule_group_iterations_missed_total`.
    pub missed: AtomicU64,
    /// `vigil_rule_evaluation_failures_total`: rule evaluations that failed.
    pub failures: AtomicU64,
}

impl RunningGroup {
    pub fn new(group: Group) -> Arc<RunningGroup> {
        Arc::new(RunningGroup {
            label: format!("{};{}", group.file, group.name),
            interval_seconds: group.interval_ms as f64 / 1000.0,
            rule_count: group.rules.len(),
            last_duration_bits: AtomicU64::new(group.last_duration.as_secs_f64().to_bits()),
            group: Mutex::new(group),
            missed: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        })
    }

    /// How long the last evaluation took, in seconds (0 before the first).
    pub fn last_duration_seconds(&self) -> f64 {
        f64::from_bits(self.last_duration_bits.load(Ordering::Relaxed))
    }
}

/// Loads and validates every rule file; nothing is built if any fails.
pub fn load_groups(
    files: &[&Path],
    default_interval_ms: i64,
) -> Result<Vec<Group>, Vec<RuleError>> {
    let mut errs = Vec::new();
    let mut groups = Vec::new();
    for f in files {
        match check_file(f) {
            Ok(rf) => {
                let name = f.display().to_string();
                for g in &rf.groups {
                    match Group::build(&name, g, default_interval_ms) {
                        Ok(g) => groups.push(g),
                        Err(message) => errs.push(RuleError {
                            file: name.clone(),
                            pos: None,
                            group: Some(g.name.clone()),
                            rule: None,
                            message,
                        }),
                    }
                }
            }
            Err(e) => errs.extend(e),
        }
    }
    if errs.is_empty() {
        Ok(groups)
    } else {
        Err(errs)
    }
}

/// Puts back the alerts saved for each alerting rule.
pub async fn restore(groups: &mut [Group], db: &Db) -> Result<(), crate::db::DbError> {
    for g in groups {
        restore_group(g, db).await?;
    }
    Ok(())
}

/// [`restore`] for one group.
pub async fn restore_group(g: &mut Group, db: &Db) -> Result<(), crate::db::DbError> {
    let keys = alert_keys(g);
    for (r, key) in g.rules.iter_mut().zip(keys) {
        if let Rule::Alerting(r) = r {
            r.restore(db.load_alerts(&key).await?);
        }
    }
    Ok(())
}

/// Starts one task per group; they stop when `shutdown` is cancelled.
/// Returns the groups (for `/api/v1/rules` and metrics) and the tasks.
pub fn start(
    groups: Vec<Group>,
    deps: ManagerDeps,
    shutdown: CancellationToken,
) -> (Vec<Arc<RunningGroup>>, Vec<tokio::task::JoinHandle<()>>) {
    let running: Vec<Arc<RunningGroup>> = groups.into_iter().map(RunningGroup::new).collect();
    let tasks = running
        .iter()
        .map(|g| tokio::spawn(run_group(g.clone(), deps.clone(), shutdown.clone())))
        .collect();
    (running, tasks)
}

/// Evaluates the group on its slots until `shutdown`.
pub async fn run_group(g: Arc<RunningGroup>, deps: ManagerDeps, shutdown: CancellationToken) {
    let (interval, offset) = {
        let gl = g.group.lock();
        let interval = gl.interval_ms.max(1);
        (interval, schedule::offset(&gl.file, &gl.name, interval))
    };
    let mut prev: Option<i64> = None;
    loop {
        let now = deps.clock.now_ms();
        let slot = schedule::next_slot(now.max(prev.map_or(i64::MIN, |p| p + 1)), interval, offset);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = deps.clock.sleep_until_ms(slot) => {}
        }
        if !(deps.ready)() {
            continue;
        }
        g.missed
            .fetch_add(schedule::missed(prev, slot, interval), Ordering::Relaxed);
        prev = Some(slot);
        // Queries run synchronously (the engine, or a remote API waited
        // for): off the async workers, so a heavy group never stalls the
        // HTTP server or the scrapes; on a thread with a large stack, so
        // no expression can overflow it (`promql::worker`).
        let (eg, ed) = (g.clone(), deps.clone());
        let to_save = match crate::promql::worker::run(move || eval_once(&eg, &ed, slot)).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "rule group evaluation panicked");
                continue;
            }
        };
        if let Some(db) = &deps.db {
            for (key, alerts) in to_save {
                if let Err(e) = db.save_alerts(&key, alerts.iter()).await {
                    tracing::warn!(rule = %key, error = %e, "saving alert state failed");
                }
            }
        }
    }
}

/// Evaluates the group at `t` and returns each alerting rule's alerts to
/// save.
fn eval_once(
    g: &RunningGroup,
    deps: &ManagerDeps,
    t: i64,
) -> Vec<(String, Vec<crate::alert::Alert>)> {
    let mut gl = g.group.lock();
    let eval_deps = EvalDeps {
        query: deps.query.clone(),
        appender: deps.appender.as_ref(),
        sink: deps.sink.as_ref(),
        alert_ctx: &deps.alert_ctx,
        resend_delay_ms: deps.resend_delay_ms,
    };
    gl.eval(t, &eval_deps);
    g.last_duration_bits
        .store(gl.last_duration.as_secs_f64().to_bits(), Ordering::Relaxed);
    for st in &gl.status {
        if let Some(h) = &deps.eval_seconds {
            h.observe(st.evaluation_duration.as_secs_f64());
        }
        if st.health == super::group::Health::Err && st.last_evaluation == Some(t) {
            g.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
    alert_keys(&gl)
        .into_iter()
        .zip(&gl.rules)
        .filter_map(|(key, r)| match r {
            Rule::Alerting(r) => Some((key, r.active.values().cloned().collect())),
            Rule::Recording(_) => None,
        })
        .collect()
}

/// The state key of each rule of `g`, in order. Two alerting rules of one
/// group may share a name (the same alert at two severities); the second
/// and later get their position among the namesakes appended, so their
/// states stay apart.
pub fn alert_keys(g: &Group) -> Vec<String> {
    let mut seen: std::collections::HashMap<&str, usize> = Default::default();
    g.rules
        .iter()
        .map(|r| {
            let n = seen.entry(r.name()).or_default();
            let name = if *n == 0 {
                r.name().to_string()
            } else {
                format!("{}\u{1f}{n}", r.name())
            };
            *n += 1;
            rule_key(&g.file, &g.name, &name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::Engine;
    use crate::rules::query::{EngineQuery, OutgoingAlert};
    use crate::store::Head;
    use std::time::Duration;

    struct Chan(tokio::sync::mpsc::UnboundedSender<Vec<OutgoingAlert>>);

    impl AlertSink for Chan {
        fn send(&self, alerts: Vec<OutgoingAlert>) {
            let _ = self.0.send(alerts);
        }
    }

    /// A group evaluates at a slot of its grid and its state is saved; the
    /// test waits for the notification, not for time.
    #[tokio::test]
    async fn groups_run_on_their_slots_and_save_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.yml");
        std::fs::write(&path, "groups:\n- name: g\n  interval: 50ms\n  rules:\n  - alert: Always\n    expr: vector(1)\n").unwrap();
        let groups = load_groups(&[&path], 60_000).unwrap();
        let head = Arc::new(Head::default());
        let db = Db::open(None, dir.path()).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let deps = ManagerDeps {
            query: Arc::new(EngineQuery {
                engine: Engine::default(),
                querier: head.clone(),
            }),
            appender: head,
            sink: Arc::new(Chan(tx)),
            alert_ctx: AlertContext::default(),
            resend_delay_ms: 60_000,
            db: Some(db.clone()),
            clock: Arc::new(crate::clock::SystemClock),
            ready: always_ready(),
            eval_seconds: None,
        };
        let stop = CancellationToken::new();
        let (running, tasks) = start(groups, deps, stop.clone());
        let sent = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let off = schedule::offset(&path.display().to_string(), "g", 50);
        assert_eq!((sent[0].starts_at - off) % 50, 0, "evaluated at a slot");
        stop.cancel();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            running[0]
                .group
                .lock()
                .last_evaluation
                .map(|t| (t - off) % 50),
            Some(0)
        );
        // A task only stops between evaluations, after saving.
        let key = rule_key(&path.display().to_string(), "g", "Always");
        let saved = db.load_alerts(&key).await.unwrap();
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].state, crate::alert::AlertState::Firing);
    }

    #[test]
    fn a_bad_file_builds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.yml");
        let bad = dir.path().join("bad.yml");
        std::fs::write(&good, "groups:\n- name: g\n  rules: []\n").unwrap();
        std::fs::write(
            &bad,
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n",
        )
        .unwrap();
        let errs = load_groups(&[&good, &bad], 60_000).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(load_groups(&[&good], 60_000).unwrap().len(), 1);
    }
}
