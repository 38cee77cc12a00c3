//! The running rule set of a vigil: the groups of the configured rule
//! files, each in its own task ([`manager::run_group`]), replaced as a
//! whole on reload. [`RuleManager::update`] is Prometheus's
//! `Manager.Update`: a group whose definition did not change keeps running
//! untouched; a changed group is stopped and its successor takes over the
//! alerts of the rules that stay; a new group gets the alerts saved for it
//! (which is how state comes back after a restart); a removed group is
//! stopped and its saved state dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::RwLock;
use tokio_util::sync::CancellationToken;

use super::group::Group;
use super::manager::{self, ManagerDeps, RunningGroup, alert_keys};
use super::state_store::AlertStateStore;
use super::validate::RuleError;

/// The groups the manager runs, shared with whoever reads them (the API,
/// the metrics collector, which exist before the manager does).
pub type GroupsView = Arc<RwLock<Vec<Arc<RunningGroup>>>>;

/// One group's task.
struct Slot {
    running: Arc<RunningGroup>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Slot {
    /// Stops the task and waits for it, so its last save is done.
    async fn stop(self) -> Arc<RunningGroup> {
        self.stop.cancel();
        let _ = self.task.await;
        self.running
    }
}

/// The groups being evaluated.
pub struct RuleManager {
    deps: ManagerDeps,
    /// Only `update` and `stop` change this; they take it for their whole
    /// run, so two reloads never interleave.
    slots: tokio::sync::Mutex<Vec<Slot>>,
    /// What the API and metrics read: the running groups, in file order.
    view: GroupsView,
}

impl RuleManager {
    /// A manager running nothing yet, publishing its groups to `view`.
    pub fn new(deps: ManagerDeps, view: GroupsView) -> RuleManager {
        RuleManager {
            deps,
            slots: tokio::sync::Mutex::new(Vec::new()),
            view,
        }
    }

    /// The running groups (for `/api/v1/rules`, `/api/v1/alerts` and
    /// `/metrics`).
    pub fn groups(&self) -> Vec<Arc<RunningGroup>> {
        self.view.read().clone()
    }

    /// Replaces the running set with `groups` (already loaded and
    /// validated: nothing here can fail but the state store, which is
    /// logged and does not stop the rules).
    pub async fn update(&self, groups: Vec<Group>) {
        let mut slots = self.slots.lock().await;
        let mut old: Vec<Option<Slot>> =
            std::mem::take(&mut *slots).into_iter().map(Some).collect();
        let mut next = Vec::with_capacity(groups.len());
        for mut g in groups {
            let found = old.iter().position(|s| {
                s.as_ref().is_some_and(|s| {
                    let r = s.running.group.lock();
                    r.file == g.file && r.name == g.name
                })
            });
            let prev = found.and_then(|i| old[i].take());
            let slot = match prev {
                Some(s) if s.running.group.lock().same_definition(&g) => s,
                Some(s) => {
                    let prev = s.stop().await;
                    g.adopt_state(&prev.group.lock());
                    self.mark_stale(&prev.group.lock(), Some(&g));
                    let next = RunningGroup::new(g);
                    // Counters go on under the same `rule_group`, as in
                    // Prometheus, where they outlive a changed group.
                    for (to, from) in [
                        (&next.missed, &prev.missed),
                        (&next.failures, &prev.failures),
                    ] {
                        to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
                    }
                    self.spawn(next)
                }
                None => {
                    if let Some(db) = &self.deps.db
                        && let Err(e) = manager::restore_group(&mut g, db).await
                    {
                        tracing::warn!(group = %g.name, file = %g.file, error = %e, "restoring alert state failed");
                    }
                    self.spawn(RunningGroup::new(g))
                }
            };
            next.push(slot);
        }
        for s in old.into_iter().flatten() {
            let gone = s.stop().await;
            self.mark_stale(&gone.group.lock(), None);
            self.forget(&gone).await;
        }
        *self.view.write() = next.iter().map(|s| s.running.clone()).collect();
        *slots = next;
    }

    /// Stops every group (after their running evaluation and save).
    pub async fn stop(&self) {
        let mut slots = self.slots.lock().await;
        for s in std::mem::take(&mut *slots) {
            s.stop().await;
        }
    }

    fn spawn(&self, running: Arc<RunningGroup>) -> Slot {
        let stop = CancellationToken::new();
        let task = tokio::spawn(manager::run_group(
            running.clone(),
            self.deps.clone(),
            stop.clone(),
        ));
        Slot {
            running,
            stop,
            task,
        }
    }

    /// Ends the series of rules that are gone (`old`'s that `new` does not
    /// write), so `ALERTS` of a removed rule vanish at once instead of
    /// lingering for the lookback window.
    fn mark_stale(&self, old: &Group, new: Option<&Group>) {
        let keep = new.map(Group::written_series).unwrap_or_default();
        let now = self.deps.clock.now_ms();
        for l in old.written_series().difference(&keep) {
            let _ = self.deps.appender.append(l, now, crate::model::stale_nan());
        }
    }

    /// Drops the saved state of a group that is no longer configured, so
    /// the same group added back later starts clean.
    async fn forget(&self, gone: &RunningGroup) {
        let Some(db) = &self.deps.db else { return };
        let keys = alert_keys(&gone.group.lock());
        for key in keys {
            if let Err(e) = db.save_alerts(&key, std::iter::empty()).await {
                tracing::warn!(rule = %key, error = %e, "dropping alert state failed");
            }
        }
    }
}

/// The rule files the config's patterns name: each glob expanded (sorted;
/// a pattern matching nothing is fine, as in Prometheus), duplicates once.
pub fn expand_rule_files(patterns: &[String]) -> Result<Vec<PathBuf>, Vec<RuleError>> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut errs = Vec::new();
    for p in patterns {
        match glob::glob(p) {
            Ok(paths) => {
                let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                found.sort();
                for f in found {
                    if !files.contains(&f) {
                        files.push(f);
                    }
                }
            }
            Err(e) => errs.push(RuleError {
                file: p.clone(),
                pos: None,
                group: None,
                rule: None,
                message: format!("bad rule file pattern: {e}"),
            }),
        }
    }
    if errs.is_empty() {
        Ok(files)
    } else {
        Err(errs)
    }
}

/// Expands the patterns and loads every group; nothing is returned if any
/// file is bad (every error is).
pub fn load_rule_files(
    patterns: &[String],
    default_interval_ms: i64,
) -> Result<Vec<Group>, Vec<RuleError>> {
    let files = expand_rule_files(patterns)?;
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    manager::load_groups(&refs, default_interval_ms)
}
