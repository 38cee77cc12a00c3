//! Shared alert state between vigil instances on one PostgreSQL: an alert
//! resolves only when no live instance still sees it firing.
//!
//! Each instance records its view of every alert it ingests (until when it
//! sees it firing) and heartbeats every third of the peer timeout. Before
//! a flush, alerts this instance sees resolved but a live peer still sees
//! firing are flushed as firing (with the peer's end), so one instance
//! losing its path to a target for a while sends no false "resolved" and
//! no second "firing". When every instance sees the alert resolved, the
//! next flush of either sends the one "resolved" (the notification log,
//! read under the group's lock, keeps it to one). A peer that stops
//! heartbeating stops counting after the peer timeout; a clean shutdown
//! removes its view at once. On SQLite (one instance) none of this runs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::alert::Status;
use super::dispatch::{Job, Shared};
use super::group::after;
use super::tables::NotifyTables;

/// Heartbeats until the dispatcher stops.
pub(super) async fn heartbeat<S: NotifyTables>(shared: Arc<Shared<S>>) {
    let every = (shared.opts.peer_timeout / 3).max(Duration::from_millis(10));
    let mut failing = false;
    loop {
        let now = shared.clock.now();
        // Views and instances silent for much longer than anything that
        // could still count are deleted, so the tables stay small.
        let forget = now - chrono::Duration::from_std(shared.opts.retention).unwrap_or_default();
        match shared
            .db
            .heartbeat(&shared.opts.instance, now, forget)
            .await
        {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("notify: heartbeat written again");
            }
            Ok(()) => {}
            Err(e) => {
                shared.metrics.errors.inc();
                if !failing {
                    tracing::warn!(error = %e, "notify: cannot write the heartbeat; peers will stop counting this instance's alerts");
                }
                failing = true;
            }
        }
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = shared.clock.sleep(every) => {}
        }
    }
}

/// Records this instance's view of the alerts just ingested.
pub(super) async fn write_views<S: NotifyTables>(shared: &Shared<S>, views: &[(u64, i64)]) {
    if !shared.db.is_shared() {
        return;
    }
    if let Err(e) = shared.db.write_views(&shared.opts.instance, views).await {
        shared.metrics.errors.inc();
        tracing::warn!(error = %e, "notify: cannot write this instance's alert view");
    }
}

/// Turns the jobs' resolved alerts that a live peer sees firing back into
/// firing ones. False when the shared state cannot be read: the flush is
/// then postponed rather than risk a false "resolved".
pub(super) async fn hold_firing_elsewhere<S: NotifyTables>(
    shared: &Shared<S>,
    jobs: &mut [Job],
    now: DateTime<Utc>,
) -> bool {
    if !shared.db.is_shared() {
        return true;
    }
    let mut fps: Vec<u64> = jobs
        .iter()
        .flat_map(|j| j.alerts.iter())
        .filter(|a| a.status_at(now) == Status::Resolved)
        .map(|a| a.fingerprint())
        .collect();
    if fps.is_empty() {
        return true;
    }
    fps.sort_unstable();
    fps.dedup();
    let live_since = now - chrono::Duration::from_std(shared.opts.peer_timeout).unwrap_or_default();
    let firing = match shared
        .db
        .firing_elsewhere(&shared.opts.instance, &fps, now, live_since)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            shared.metrics.errors.inc();
            tracing::warn!(error = %e, "notify: cannot read the peers' alert views; flush postponed");
            return false;
        }
    };
    for a in jobs.iter_mut().flat_map(|j| j.alerts.iter_mut()) {
        if a.status_at(now) != Status::Resolved {
            continue;
        }
        if let Some(&ends) = firing.get(&a.fingerprint()) {
            tracing::debug!(alert = %a.labels, "resolved here, firing on a live peer: held firing");
            a.ends_at = Some(crate::clock::from_ms(ends).max(after(now, Duration::from_millis(1))));
        }
    }
    true
}
