//! The outbox sender: claims due notifications (with a lease, so
//! instances sharing PostgreSQL never send the same row), delivers them,
//! and records the outcome — delivered, retry later (exponential backoff,
//! or the receiver's `Retry-After` when longer), or failed (a 4xx, a
//! rejected email, or still failing after `give_up_after`). Every outcome
//! is a history row and a metric sample; none carries a secret.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::dispatch::{Shared, notification_event};
use super::group::after;
use super::retry::Decision;
use crate::db::outbox::{OutboxRow, from_ms};

/// At most this many notifications are in flight per instance.
const BATCH: i64 = 32;

pub(super) async fn run(shared: Arc<Shared>) {
    let owner = shared.opts.instance.clone();
    if let Err(e) = shared.db.release_leases(&owner).await {
        tracing::warn!(error = %e, "notify: cannot release old leases");
    }
    loop {
        if shared.cancel.is_cancelled() {
            return;
        }
        let now = Utc::now();
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
            futures::future::join_all(rows.into_iter().map(|r| deliver(&shared, r))).await;
            continue;
        }
        let next = shared.db.next_due().await.ok().flatten();
        let mut wait = shared.opts.poll;
        if let Some(next) = next {
            wait = wait.min((next - Utc::now()).to_std().unwrap_or(Duration::ZERO));
        }
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = shared.wake_sender.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// A stable spread in [0, 0.2) from the row id, so rows that failed
/// together do not all retry in the same instant.
fn spread(id: i64) -> f64 {
    let x = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    (x as f64 / (1u64 << 53) as f64) * 0.2
}

async fn deliver(shared: &Shared, row: OutboxRow) {
    let owner = &shared.opts.instance;
    let n = shared.notifier();
    let Some(integ) = n.integration(&row.integration).cloned() else {
        finish(
            shared,
            &row,
            "failed",
            "integration_removed",
            "no longer in the configuration",
        )
        .await;
        return;
    };
    let kind = integ.kind.as_str();
    let d = integ.deliver(&row.payload, Utc::now()).await;
    let now = Utc::now();
    match d.decision {
        Decision::Delivered => {
            shared.metrics.outcome(kind, "delivered", "");
            finish(shared, &row, "delivered", "", "").await;
        }
        Decision::Fail { reason } => {
            shared.metrics.outcome(kind, "failed", reason);
            tracing::warn!(integration = %row.integration, reason, detail = %d.detail, "notification failed; not retried");
            finish(shared, &row, "failed", reason, &d.detail).await;
        }
        ref retry @ Decision::Retry { reason, .. } => {
            let queued = from_ms(row.created_at);
            if after(queued, shared.opts.give_up_after) <= now {
                shared.metrics.outcome(kind, "failed", "gave_up");
                tracing::warn!(integration = %row.integration, reason, detail = %d.detail, "notification given up");
                finish(shared, &row, "failed", "gave_up", &d.detail).await;
                return;
            }
            shared.metrics.outcome(kind, "retry", reason);
            let attempt = u32::try_from(row.attempts).unwrap_or(0);
            let wait = shared
                .opts
                .backoff
                .wait(retry, attempt, spread(row.id))
                .unwrap_or(shared.opts.backoff.initial);
            let detail = format!("{reason}: {}", d.detail);
            tracing::info!(integration = %row.integration, reason, retry_in_ms = wait.as_millis() as u64, "notification will be retried");
            if let Err(e) = shared
                .db
                .mark_retry(row.id, owner, after(now, wait), &detail)
                .await
            {
                shared.metrics.errors.inc();
                tracing::warn!(error = %e, "notify: cannot mark a retry");
            }
            let ev = notification_event(now, &row.group_key, &row.integration, "retry", &detail);
            let _ = shared.db.append_history(&[ev]).await;
        }
    }
}

async fn finish(shared: &Shared, row: &OutboxRow, status: &str, reason: &str, detail: &str) {
    let now = Utc::now();
    let detail = if reason.is_empty() {
        detail.to_string()
    } else {
        format!("{reason}: {detail}")
    };
    let err = (status != "delivered").then_some(detail.as_str());
    match shared
        .db
        .mark_done(row.id, &shared.opts.instance, status, now, err)
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            id = row.id,
            "notify: lease lost before marking; another instance owns the row"
        ),
        Err(e) => {
            shared.metrics.errors.inc();
            tracing::warn!(error = %e, "notify: cannot mark an outbox row");
        }
    }
    let ev = notification_event(now, &row.group_key, &row.integration, status, &detail);
    if let Err(e) = shared.db.append_history(&[ev]).await {
        shared.metrics.errors.inc();
        tracing::warn!(error = %e, "notify: cannot write alert history");
    }
}
