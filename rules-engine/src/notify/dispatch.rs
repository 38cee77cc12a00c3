//! The dispatcher: vigil's [`AlertSink`] running Alertmanager's pipeline.
//!
//! ```text
//! AlertSink::send ─▶ ingest ─▶ route ─▶ aggregation groups ─(due)─▶ flush:
//!     stages::run (inhibit, time intervals, silences, dedup vs notify_log)
//!     ─▶ one SQL transaction: outbox rows + log entries ─▶ sender (sender.rs)
//! ```
//!
//! One task owns the schedule and is the only clock reader on this side:
//! it reads the time once per wake-up and passes it to every pure stage.
//! Every wait (group_wait, group_interval, the sender's retries, leases
//! and polls, heartbeats) runs on the [`Clock`] given at start, so a
//! manual clock drives the whole pipeline in tests.
//! Group state lives in memory (as in Alertmanager); what must survive a
//! restart — the notification log, the outbox, silences, history — is in
//! SQL, so after a restart groups are rebuilt from re-sent alerts and the
//! log keeps them from notifying again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::alert::{Alert, Status};
use super::group::{AggrGroup, GroupKey, after};
use super::integration::Notice;
use super::metrics::NotifyMetrics;
use super::notifier::Notifier;
use super::retry::Backoff;
use super::silence::{ActiveSilence, SilenceState};
use super::stages::{self, FlushContext, FlushPlan, IntegrationView};
use super::status::{FlushResult, HistoryKind, HistoryStatus};
use super::tables::NotifyTables;
use crate::clock::Clock;
use crate::clock::from_ms;
use crate::db::Db;
use crate::notify::route::tree::label_set_string;
use crate::notify::tables::history::{HistoryEvent, notification_event};
use crate::notify::tables::outbox::NewNotification;
use crate::rules::query::{AlertSink, OutgoingAlert};

/// The delivery lease (`alerting.delivery_lease`): a few seconds, so a
/// page whose sender died is delayed by about this much; renewals every
/// third of it keep it held through a 30 s send.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// `alerting.peer_timeout`: three missed heartbeats of 5 s.
pub const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(15);

/// `alerting.max_alerts`: far above what a stack's rules produce (each
/// held alert costs a few KiB with its groups), far below what exhausts a
/// small machine (100,000 posted alerts took 733 MiB).
pub const DEFAULT_MAX_ALERTS: usize = 50_000;

/// How the dispatcher and its sender behave.
#[derive(Debug, Clone)]
pub struct DispatchOptions {
    /// This instance's name, the outbox lease owner. Stable across
    /// restarts (host and data dir) so a restarted instance frees its own
    /// leases at once instead of waiting for them to run out.
    pub instance: String,
    /// How long a claimed notification is reserved without renewal. The
    /// sender renews it every third of this while the send is in progress,
    /// so a slow receiver is never sent the same notification by another
    /// instance, and when the holder dies another instance takes the row
    /// over within this time.
    pub lease: Duration,
    /// A notification still failing this long after it was queued is given
    /// up (recorded as failed); the group's next change or repeat makes a
    /// new one.
    pub give_up_after: Duration,
    pub backoff: Backoff,
    /// How often the sender looks for rows it was not woken for (retries,
    /// other instances' expired leases).
    pub poll: Duration,
    /// Resolved alerts are forgotten this long after they ended.
    pub retention: Duration,
    /// With instances sharing PostgreSQL: a peer whose heartbeat is older
    /// than this no longer keeps alerts firing (heartbeats every third of
    /// it).
    pub peer_timeout: Duration,
    /// At most this many alerts are held (`alerting.max_alerts`): a new
    /// alert beyond it is dropped and counted; updates of held alerts
    /// (their resolution above all) are always taken.
    pub max_alerts: usize,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        DispatchOptions {
            instance: "vigil".into(),
            lease: DEFAULT_LEASE,
            give_up_after: Duration::from_secs(6 * 3600),
            backoff: Backoff::default(),
            poll: Duration::from_secs(1),
            retention: Duration::from_secs(3600),
            peer_timeout: DEFAULT_PEER_TIMEOUT,
            max_alerts: DEFAULT_MAX_ALERTS,
        }
    }
}

#[derive(Default)]
struct State {
    /// Every alert by fingerprint: inhibition sources, the API's list.
    alerts: BTreeMap<u64, Alert>,
    groups: BTreeMap<GroupKey, AggrGroup>,
    /// Whether alerts are being dropped at the cap (logged once per change).
    dropping: bool,
}

/// What the dispatcher and sender tasks share; `S` holds the tables.
pub(super) struct Shared<S> {
    state: Mutex<State>,
    notifier: RwLock<Arc<Notifier>>,
    pub(super) db: S,
    pub(super) metrics: NotifyMetrics,
    pub(super) opts: DispatchOptions,
    pub(super) wake_sender: Notify,
    pub(super) cancel: CancellationToken,
    pub(super) clock: Arc<dyn Clock>,
    /// When the dispatcher started (the status API's `uptime`).
    started: DateTime<Utc>,
}

impl<S> Shared<S> {
    pub(super) fn notifier(&self) -> Arc<Notifier> {
        self.notifier.read().clone()
    }
}

/// The running dispatcher over its tables `S` (the SQL [`Db`] in vigil).
/// Cloning shares it.
pub struct Dispatcher<S = Db> {
    shared: Arc<Shared<S>>,
    tx: mpsc::UnboundedSender<Vec<Alert>>,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl<S> Clone for Dispatcher<S> {
    fn clone(&self) -> Self {
        Dispatcher {
            shared: self.shared.clone(),
            tx: self.tx.clone(),
            tasks: self.tasks.clone(),
        }
    }
}

/// An alert from vigil's rules as the pipeline knows it.
pub fn from_outgoing(a: OutgoingAlert) -> Alert {
    Alert {
        labels: a.labels,
        annotations: crate::model::Labels::from_pairs(a.annotations),
        starts_at: from_ms(a.starts_at),
        ends_at: (a.ends_at > 0).then(|| from_ms(a.ends_at)),
        generator_url: a.generator_url,
    }
}

impl<S: NotifyTables> AlertSink for Dispatcher<S> {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        self.post(alerts.into_iter().map(from_outgoing).collect());
    }
}

impl<S: NotifyTables> Dispatcher<S> {
    /// Starts the dispatch and send tasks on the current runtime; all
    /// their instants and waits are on `clock`.
    pub fn start(
        notifier: Notifier,
        db: S,
        opts: DispatchOptions,
        metrics: NotifyMetrics,
        clock: Arc<dyn Clock>,
    ) -> Dispatcher<S> {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            notifier: RwLock::new(Arc::new(notifier)),
            db,
            metrics,
            opts,
            wake_sender: Notify::new(),
            cancel: CancellationToken::new(),
            started: clock.now(),
            clock,
        });
        let d = Dispatcher {
            shared: shared.clone(),
            tx,
            tasks: Arc::default(),
        };
        let dispatch = tokio::spawn(run(shared.clone(), rx));
        let send = tokio::spawn(super::sender::run(shared.clone()));
        d.tasks.lock().extend([dispatch, send]);
        if shared.db.is_shared() {
            d.tasks
                .lock()
                .push(tokio::spawn(super::peers::heartbeat(shared)));
        }
        d
    }

    /// Hands alerts to the pipeline (from the rules or the API).
    pub fn post(&self, alerts: Vec<Alert>) {
        self.shared
            .metrics
            .alerts_received
            .inc_by(alerts.len() as u64);
        let _ = self.tx.send(alerts);
    }

    /// Swaps in a new configuration; groups are rebuilt from the held
    /// alerts (as Alertmanager does on reload) and the notification log
    /// keeps them from repeating what was sent.
    pub fn reload(&self, notifier: Notifier) {
        *self.shared.notifier.write() = Arc::new(notifier);
        let alerts: Vec<Alert> = {
            let mut st = self.shared.state.lock();
            st.groups.clear();
            st.alerts.values().cloned().collect()
        };
        let _ = self.tx.send(alerts);
    }

    pub fn metrics(&self) -> &NotifyMetrics {
        &self.shared.metrics
    }

    pub fn db(&self) -> &S {
        &self.shared.db
    }

    pub fn notifier(&self) -> Arc<Notifier> {
        self.shared.notifier()
    }

    /// The clock the pipeline runs on (the API's instants too).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// When the dispatcher started.
    pub fn started(&self) -> DateTime<Utc> {
        self.shared.started
    }

    /// The held alerts with the receivers each reaches, for the API.
    pub fn alerts(&self) -> Vec<(Alert, Vec<String>)> {
        let n = self.shared.notifier();
        let st = self.shared.state.lock();
        st.alerts
            .values()
            .map(|a| {
                let receivers = n
                    .route
                    .matching(&a.labels)
                    .iter()
                    .map(|r| r.opts.receiver.clone())
                    .collect();
                (a.clone(), receivers)
            })
            .collect()
    }

    /// Stops the tasks, frees this instance's leases and, with a shared
    /// database, removes its heartbeat and alert views (its view stops
    /// counting at once).
    pub async fn shutdown(&self) {
        self.shared.cancel.cancel();
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for t in tasks {
            let _ = t.await;
        }
        let db = &self.shared.db;
        let _ = db.release_leases(&self.shared.opts.instance).await;
        if db.is_shared() {
            let _ = db.forget_instance(&self.shared.opts.instance).await;
        }
    }
}

async fn run<S: NotifyTables>(shared: Arc<Shared<S>>, mut rx: mpsc::UnboundedReceiver<Vec<Alert>>) {
    loop {
        let now = shared.clock.now();
        let wake = {
            let st = shared.state.lock();
            st.groups.values().map(AggrGroup::next_flush).min()
        }
        .unwrap_or_else(|| after(now, Duration::from_secs(10)));
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            batch = rx.recv() => match batch {
                Some(b) => {
                    let (events, views) = ingest(&shared, b, shared.clock.now());
                    record(&shared, &events).await;
                    super::peers::write_views(&shared, &views).await;
                }
                None => return,
            },
            _ = shared.clock.sleep_until(wake) => {}
        }
        flush_due(&shared, shared.clock.now()).await;
    }
}

async fn record<S: NotifyTables>(shared: &Shared<S>, events: &[HistoryEvent]) {
    if let Err(e) = shared.db.append_history(events).await {
        shared.metrics.errors.inc();
        tracing::warn!(error = %e, "notify: cannot write alert history");
    }
}

/// Stores, routes and groups a batch; returns the state changes seen and
/// this instance's view of each alert (fingerprint, end in ms).
fn ingest<S: NotifyTables>(
    shared: &Shared<S>,
    batch: Vec<Alert>,
    now: DateTime<Utc>,
) -> (Vec<HistoryEvent>, Vec<(u64, i64)>) {
    let n = shared.notifier();
    let mut events = Vec::new();
    let mut views = Vec::new();
    let mut st = shared.state.lock();
    for mut a in batch {
        if a.ends_at.is_none() {
            a.ends_at = Some(after(now, n.resolve_timeout));
        }
        let fp = a.fingerprint();
        if !st.alerts.contains_key(&fp) && st.alerts.len() >= shared.opts.max_alerts {
            shared.metrics.alerts_dropped.inc();
            if !st.dropping {
                st.dropping = true;
                tracing::warn!(
                    max_alerts = shared.opts.max_alerts,
                    "notify: alerting.max_alerts alerts held; new alerts are dropped (vigil_notify_alerts_dropped_total)"
                );
            }
            continue;
        }
        let before = st.alerts.get(&fp).map(|o| o.status_at(now));
        if let Some(old) = st.alerts.get(&fp)
            && old.status_at(a.starts_at) == Status::Firing
            && old.starts_at < a.starts_at
        {
            a.starts_at = old.starts_at;
        }
        let status = a.status_at(now);
        if before != Some(status) && !(before.is_none() && status == Status::Resolved) {
            events.push(HistoryEvent {
                at: now,
                kind: HistoryKind::Alert,
                fingerprint: format!("{fp:016x}"),
                labels: label_set_string(&a.labels),
                group_key: String::new(),
                integration: String::new(),
                status: status.into(),
                detail: String::new(),
                state: String::new(),
            });
        }
        for route in n.route.matching(&a.labels) {
            let key = route.group_key(&a.labels);
            let wait = route.opts.group_wait;
            let g = st
                .groups
                .entry(GroupKey {
                    route: route.id.clone(),
                    group: key.clone(),
                })
                .or_insert_with(|| {
                    AggrGroup::new(
                        key,
                        route.id.clone(),
                        route.group_labels(&a.labels),
                        wait,
                        now,
                    )
                });
            g.insert(a.clone(), wait, now);
        }
        views.push((
            fp,
            a.ends_at
                .map_or(i64::MAX, crate::notify::tables::outbox::ms),
        ));
        st.alerts.insert(fp, a);
    }
    shared.metrics.groups.set(st.groups.len() as i64);
    (events, views)
}

/// One due group's flush, taken out of the state.
pub(super) struct Job {
    key: GroupKey,
    labels: crate::model::Labels,
    pub(super) alerts: Vec<Alert>,
}

async fn flush_due<S: NotifyTables>(shared: &Shared<S>, now: DateTime<Utc>) {
    let n = shared.notifier();
    let (mut jobs, all) = {
        let mut st = shared.state.lock();
        let keep = shared.opts.retention;
        st.alerts
            .retain(|_, a| a.ends_at.is_none_or(|e| after(e, keep) > now));
        if st.dropping && st.alerts.len() < shared.opts.max_alerts {
            st.dropping = false;
            tracing::info!("notify: below alerting.max_alerts again; new alerts are taken");
        }
        let mut jobs = Vec::new();
        for (key, g) in st.groups.iter_mut().filter(|(_, g)| g.is_due(now)) {
            let interval = n
                .routes
                .get(&key.route)
                .map_or(crate::notify::route::tree::DEFAULT_GROUP_INTERVAL, |o| {
                    o.group_interval
                });
            jobs.push(Job {
                key: key.clone(),
                labels: g.labels.clone(),
                alerts: g.start_flush(now, interval),
            });
        }
        let all: Vec<Alert> = if jobs.is_empty() {
            Vec::new()
        } else {
            st.alerts.values().cloned().collect()
        };
        (jobs, all)
    };
    if jobs.is_empty() {
        return;
    }
    let silences = match shared.db.silences("").await {
        Ok(s) => s
            .into_iter()
            .filter(|s| s.state(now) == SilenceState::Active)
            .filter_map(ActiveSilence::new)
            .collect::<Vec<_>>(),
        Err(e) => {
            // Without silences nothing can be decided safely: try again at
            // the groups' next flush rather than notify silenced alerts.
            shared.metrics.errors.inc();
            tracing::warn!(error = %e, "notify: cannot read silences; flush postponed");
            return;
        }
    };
    if !super::peers::hold_firing_elsewhere(shared, &mut jobs, now).await {
        return;
    }
    flush_jobs(shared, &n, &jobs, &all, &silences, now).await;
    let mut st = shared.state.lock();
    st.groups.retain(|_, g| !g.is_empty());
    shared.metrics.groups.set(st.groups.len() as i64);
}

/// What planning the due groups produced, besides the rows to write.
#[derive(Default)]
struct Planning {
    events: Vec<HistoryEvent>,
    decisions: Vec<FlushResult>,
    /// `(kind, field)` of every field cut to a receiver's limit.
    truncations: Vec<(&'static str, &'static str)>,
}

/// The pipeline for one group given its notification log entries.
fn plan_job(
    n: &Notifier,
    job: &Job,
    ctx: &FlushContext<'_>,
    log: Option<&BTreeMap<String, crate::notify::dedup::LogEntry>>,
    out: &mut Vec<NewNotification>,
    p: &mut Planning,
) {
    let Some(opts) = n.routes.get(&job.key.route) else {
        return;
    };
    let integrations = n.receivers.get(&opts.receiver).cloned().unwrap_or_default();
    let group_key = &job.key.group;
    let views: Vec<IntegrationView<'_>> = integrations
        .iter()
        .map(|i| IntegrationView {
            key: &i.key,
            send_resolved: i.send_resolved,
            last: log.and_then(|l| l.get(&i.key)),
        })
        .collect();
    let items = match stages::run(ctx, job.alerts.clone(), &views) {
        FlushPlan::Muted(_, reason) => {
            p.decisions.push(FlushResult::Muted(reason));
            return;
        }
        FlushPlan::Notify(items) => items,
    };
    for (item, integ) in items.into_iter().zip(&integrations) {
        let planned = match item {
            Ok(x) => x,
            Err((_, reason)) => {
                p.decisions.push(FlushResult::Skipped(reason));
                continue;
            }
        };
        // Alertmanager's group status: firing while any alert fires.
        let state = if planned
            .alerts
            .iter()
            .any(|a| a.status_at(ctx.now) == Status::Firing)
        {
            "firing"
        } else {
            "resolved"
        };
        let payload = if planned.alerts.is_empty() {
            None
        } else {
            let notice = Notice {
                group_key,
                group_labels: &job.labels,
                alerts: &planned.alerts,
                external_url: &n.external_url,
                now: ctx.now,
            };
            match integ.render(&n.templates, &notice) {
                Ok(r) => {
                    for field in r.truncated {
                        tracing::warn!(integration = %integ.key, field, "notification field truncated to the receiver's limit");
                        p.truncations.push((integ.kind.as_str(), field));
                    }
                    Some(r.payload)
                }
                Err(e) => {
                    p.decisions.push(FlushResult::TemplateError);
                    let ev = notification_event(
                        ctx.now,
                        group_key,
                        &integ.key,
                        HistoryStatus::Failed,
                        &e.to_string(),
                        state,
                    );
                    p.events.push(ev);
                    continue;
                }
            }
        };
        if payload.is_some() {
            p.decisions.push(FlushResult::Queued);
            let ev = notification_event(
                ctx.now,
                group_key,
                &integ.key,
                HistoryStatus::Queued,
                planned.reason.as_str(),
                state,
            );
            p.events.push(ev);
        } else {
            p.decisions.push(FlushResult::LoggedOnly);
        }
        out.push(NewNotification {
            group_key: group_key.clone(),
            integration: planned.integration,
            receiver: integ.receiver.clone(),
            payload,
            entry: planned.entry,
            state: state.to_string(),
        });
    }
}

/// Plans every due group and writes the result in one transaction.
async fn flush_jobs<S: NotifyTables>(
    shared: &Shared<S>,
    n: &Notifier,
    jobs: &[Job],
    all: &[Alert],
    silences: &[ActiveSilence],
    now: DateTime<Utc>,
) {
    let keys: Vec<String> = jobs.iter().map(|j| j.key.group.clone()).collect();
    let mut planning = Planning::default();
    let res = shared
        .db
        .flush_groups(&keys, now, |logs| {
            let mut out = Vec::new();
            for job in jobs {
                let Some(opts) = n.routes.get(&job.key.route) else {
                    continue;
                };
                let ctx = FlushContext {
                    now,
                    route: opts,
                    inhibit_rules: &n.inhibit_rules,
                    all_alerts: all,
                    silences,
                    time_intervals: &n.time_intervals,
                };
                plan_job(
                    n,
                    job,
                    &ctx,
                    logs.get(&job.key.group),
                    &mut out,
                    &mut planning,
                );
            }
            (out, std::mem::take(&mut planning.events))
        })
        .await;
    match res {
        Ok(ids) => {
            for d in &planning.decisions {
                shared.metrics.flush(*d);
            }
            for (kind, field) in &planning.truncations {
                shared.metrics.truncated(kind, field);
            }
            {
                let mut st = shared.state.lock();
                for job in jobs {
                    if let Some(g) = st.groups.get_mut(&job.key) {
                        g.forget_resolved(&job.alerts, now);
                    }
                }
            }
            if !ids.is_empty() {
                shared.wake_sender.notify_one();
            }
        }
        Err(e) => {
            shared.metrics.errors.inc();
            tracing::warn!(groups = jobs.len(), error = %e, "notify: cannot write the outbox; the next flush retries");
        }
    }
}
