//! Deduplication against the notification log (Alertmanager 0.25
//! `notify.DedupStage.needsUpdate`): a group flush notifies an integration
//! only when what it would say differs from what the integration was last
//! told, or when the repeat interval has passed. The log entry holds the
//! fingerprints that were firing and resolved in the last notification.
//!
//! Because the "all resolved" notification is logged with no firing
//! alerts, the next flush of a resolved group finds nothing new: resolved
//! is sent once, never repeated.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::group::after;
use super::status::DedupReason;

/// What an integration was last told about a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub firing: BTreeSet<u64>,
    pub resolved: BTreeSet<u64>,
    /// When that notification was decided.
    pub at: DateTime<Utc>,
}

/// Whether to notify, and why (the reason is a bounded metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedup {
    Send(DedupReason),
    Skip(DedupReason),
}

impl Dedup {
    pub fn sends(self) -> bool {
        matches!(self, Dedup::Send(_))
    }
}

/// The decision for one integration at `now`.
pub fn needs_update(
    entry: Option<&LogEntry>,
    firing: &BTreeSet<u64>,
    resolved: &BTreeSet<u64>,
    send_resolved: bool,
    repeat_interval: Duration,
    now: DateTime<Utc>,
) -> Dedup {
    let Some(entry) = entry else {
        // Never notified: only firing alerts are news; a group that fired
        // and resolved between flushes was never seen by the receiver.
        return if firing.is_empty() {
            Dedup::Skip(DedupReason::ResolvedBeforeNotified)
        } else {
            Dedup::Send(DedupReason::FirstNotification)
        };
    };
    if !firing.is_subset(&entry.firing) {
        return Dedup::Send(DedupReason::NewFiring);
    }
    if firing.is_empty() {
        // Sent whatever send_resolved says, so that the log forgets the
        // firing alerts; the integration filters resolved ones itself.
        return if entry.firing.is_empty() {
            Dedup::Skip(DedupReason::AlreadyResolved)
        } else {
            Dedup::Send(DedupReason::AllResolved)
        };
    }
    if send_resolved && !resolved.is_subset(&entry.resolved) {
        return Dedup::Send(DedupReason::NewlyResolved);
    }
    // Strictly after, as Alertmanager's `Timestamp.Before(now - repeat)`.
    if after(entry.at, repeat_interval) < now {
        return Dedup::Send(DedupReason::RepeatInterval);
    }
    Dedup::Skip(DedupReason::Unchanged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn set(v: &[u64]) -> BTreeSet<u64> {
        v.iter().copied().collect()
    }

    fn entry(firing: &[u64], resolved: &[u64], at: i64) -> LogEntry {
        LogEntry {
            firing: set(firing),
            resolved: set(resolved),
            at: t(at),
        }
    }

    const REPEAT: Duration = Duration::from_secs(3600);

    fn decide(e: Option<&LogEntry>, firing: &[u64], resolved: &[u64], sr: bool, now: i64) -> Dedup {
        needs_update(e, &set(firing), &set(resolved), sr, REPEAT, t(now))
    }

    #[test]
    fn first_notification_needs_something_firing() {
        assert_eq!(
            decide(None, &[1], &[], true, 0),
            Dedup::Send(DedupReason::FirstNotification)
        );
        assert_eq!(
            decide(None, &[], &[1], true, 0),
            Dedup::Skip(DedupReason::ResolvedBeforeNotified)
        );
    }

    #[test]
    fn a_new_firing_alert_is_news() {
        let e = entry(&[1], &[], 0);
        assert_eq!(
            decide(Some(&e), &[1, 2], &[], true, 10),
            Dedup::Send(DedupReason::NewFiring)
        );
        assert_eq!(
            decide(Some(&e), &[1], &[], true, 10),
            Dedup::Skip(DedupReason::Unchanged)
        );
    }

    #[test]
    fn resolution_depends_on_send_resolved() {
        let e = entry(&[1, 2], &[], 0);
        assert_eq!(
            decide(Some(&e), &[1], &[2], true, 10),
            Dedup::Send(DedupReason::NewlyResolved)
        );
        assert_eq!(
            decide(Some(&e), &[1], &[2], false, 10),
            Dedup::Skip(DedupReason::Unchanged)
        );
    }

    #[test]
    fn all_resolved_is_sent_once() {
        let e = entry(&[1], &[], 0);
        assert_eq!(
            decide(Some(&e), &[], &[1], true, 10),
            Dedup::Send(DedupReason::AllResolved)
        );
        // Even without send_resolved, so the log forgets the firing alert.
        assert_eq!(
            decide(Some(&e), &[], &[1], false, 10),
            Dedup::Send(DedupReason::AllResolved)
        );
        let after_resolved = entry(&[], &[1], 10);
        assert_eq!(
            decide(Some(&after_resolved), &[], &[1], true, 10_000),
            Dedup::Skip(DedupReason::AlreadyResolved)
        );
    }

    #[test]
    fn unchanged_groups_repeat_after_the_interval() {
        let e = entry(&[1], &[], 0);
        assert_eq!(
            decide(Some(&e), &[1], &[], true, 3600),
            Dedup::Skip(DedupReason::Unchanged)
        );
        assert_eq!(
            decide(Some(&e), &[1], &[], true, 3601),
            Dedup::Send(DedupReason::RepeatInterval)
        );
    }
}
