//! The outbox sender: claims due notifications (with a lease, so
//! instances sharing PostgreSQL never send the same row), delivers them,
//! and records the outcome — delivered, retry later (exponential backoff,
//! or the receiver's `Retry-After` when longer), or failed (a 4xx, a
//! rejected email, or still failing after `give_up_after`). Every outcome
//! is a history row and a metric sample; none carries a secret. A batch's
//! outcomes are written in one transaction: one commit per batch rather
//! than per notification, which is what bounds SQLite's throughput.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::dispatch::Shared;
use super::group::after;
use super::retry::{Decision, FailureReason};
use super::status::{DeliveryOutcome, HistoryStatus, OutboxState};
use super::tables::NotifyTables;
use crate::clock::from_ms;
use crate::notify::tables::history::notification_event;
use crate::notify::tables::outbox::{OutboxRow, Outcome, RowResult};

/// At most this many notifications are in flight per instance.
const BATCH: i64 = 32;

pub(super) async fn run<S: NotifyTables>(shared: Arc<Shared<S>>) {
    let owner = shared.opts.instance.clone();
    if let Err(e) = shared.db.release_leases(&owner).await {
        tracing::warn!(error = %e, "notify: cannot release old leases");
    }
    loop {
        if shared.cancel.is_cancelled() {
            return;
        }
        let now = shared.clock.now();
        let rows = match shared
            .db
            .claim_due(&owner, now, after(now, shared.opts.lease), BATCH)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                shared.metrics.errors.inc();
                tracing::warn!(error = %e, "notify: cannot claim outbox rows");
                Vec::new()
            }
        };
        if !rows.is_empty() {
            let sends = futures::future::join_all(rows.into_iter().map(|r| deliver(&shared, r)));
            let outcomes = renewing(&shared, sends).await;
            record(&shared, &outcomes).await;
            continue;
        }
        let next = shared.db.next_due().await.ok().flatten();
        let mut wake = after(now, shared.opts.poll);
        if let Some(next) = next {
            wake = wake.min(next);
        }
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = shared.wake_sender.notified() => {}
            _ = shared.clock.sleep_until(wake) => {}
        }
    }
}

/// Runs `sends` while renewing this instance's leases every third of the
/// lease: the lease can then be short (a few seconds) however long a send
/// may take, so when an instance dies mid-send another takes its rows over
/// within one lease, not after the longest possible send.
async fn renewing<T, S: NotifyTables>(
    shared: &Shared<S>,
    sends: impl std::future::Future<Output = T>,
) -> T {
    let owner = &shared.opts.instance;
    let every = (shared.opts.lease / 3).max(Duration::from_millis(10));
    tokio::pin!(sends);
    loop {
        tokio::select! {
            out = &mut sends => return out,
            _ = shared.clock.sleep(every) => {
                let now = shared.clock.now();
                if let Err(e) = shared.db.renew_leases(owner, after(now, shared.opts.lease)).await {
                    shared.metrics.errors.inc();
                    tracing::warn!(error = %e, "notify: cannot renew delivery leases");
                }
            }
        }
    }
}

/// A stable spread in [0, 0.2) from the row id, so rows that failed
/// together do not all retry in the same instant.
fn spread(id: i64) -> f64 {
    let x = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    (x as f64 / (1u64 << 53) as f64) * 0.2
}

/// Delivers one claimed row and says how to record it.
async fn deliver<S: NotifyTables>(shared: &Shared<S>, row: OutboxRow) -> Outcome {
    let n = shared.notifier();
    let Some(integ) = n.integration(&row.integration).cloned() else {
        return done(
            &row,
            OutboxState::Failed,
            &format!(
                "{}: no longer in the configuration",
                FailureReason::IntegrationRemoved
            ),
            shared.clock.now(),
        );
    };
    let kind = integ.kind.as_str();
    let d = integ.deliver(&row.payload, shared.clock.now()).await;
    let now = shared.clock.now();
    match d.decision {
        Decision::Delivered => {
            shared
                .metrics
                .outcome(kind, DeliveryOutcome::Delivered, None);
            done(&row, OutboxState::Delivered, "", now)
        }
        Decision::Fail { reason } => {
            shared
                .metrics
                .outcome(kind, DeliveryOutcome::Failed, Some(reason));
            tracing::warn!(integration = %row.integration, reason = reason.as_str(), detail = %d.detail, "notification failed; not retried");
            done(
                &row,
                OutboxState::Failed,
                &format!("{reason}: {}", d.detail),
                now,
            )
        }
        ref retry @ Decision::Retry { reason, .. } => {
            let queued = from_ms(row.created_at);
            if after(queued, shared.opts.give_up_after) <= now {
                shared
                    .metrics
                    .outcome(kind, DeliveryOutcome::Failed, Some(FailureReason::GaveUp));
                tracing::warn!(integration = %row.integration, reason = reason.as_str(), detail = %d.detail, "notification given up");
                return done(
                    &row,
                    OutboxState::Failed,
                    &format!("{}: {reason}: {}", FailureReason::GaveUp, d.detail),
                    now,
                );
            }
            shared
                .metrics
                .outcome(kind, DeliveryOutcome::Retry, Some(reason));
            let attempt = u32::try_from(row.attempts).unwrap_or(0);
            let wait = shared
                .opts
                .backoff
                .wait(retry, attempt, spread(row.id))
                .unwrap_or(shared.opts.backoff.initial);
            tracing::info!(integration = %row.integration, reason = reason.as_str(), retry_in_ms = wait.as_millis() as u64, "notification will be retried");
            let detail = format!("{reason}: {}", d.detail);
            Outcome {
                id: row.id,
                result: RowResult::Retry {
                    next: after(now, wait),
                    error: detail.clone(),
                },
                event: notification_event(
                    now,
                    &row.group_key,
                    &row.integration,
                    HistoryStatus::Retry,
                    &detail,
                    &row.state,
                ),
            }
        }
    }
}

/// A final outcome (delivered or failed) and its history row.
fn done(row: &OutboxRow, status: OutboxState, detail: &str, now: DateTime<Utc>) -> Outcome {
    Outcome {
        id: row.id,
        result: RowResult::Done {
            status,
            at: now,
            error: (status != OutboxState::Delivered).then(|| detail.to_string()),
        },
        event: notification_event(
            now,
            &row.group_key,
            &row.integration,
            status.into(),
            detail,
            &row.state,
        ),
    }
}

/// Records a batch's outcomes in one transaction.
async fn record<S: NotifyTables>(shared: &Shared<S>, outcomes: &[Outcome]) {
    match shared
        .db
        .record_outcomes(&shared.opts.instance, outcomes)
        .await
    {
        Ok(lost) if lost > 0 => tracing::warn!(
            lost,
            "notify: leases lost before marking; other instances own those rows"
        ),
        Ok(_) => {}
        Err(e) => {
            shared.metrics.errors.inc();
            tracing::warn!(error = %e, "notify: cannot record delivery outcomes");
        }
    }
}
