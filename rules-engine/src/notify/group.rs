//! One aggregation group: the alerts of one route that share a group key,
//! batched into notifications on Alertmanager's schedule (0.25
//! `dispatch/dispatch.go`, `aggrGroup`):
//!
//! ```text
//!  first alert        group_wait        group_interval   group_interval
//!  ───●───────────────────|──────────────────|────────────────|───▶
//!                      flush              flush            flush
//! ```
//!
//! - a new group flushes `group_wait` after it is created, or at once when
//!   an alert arrives that started more than `group_wait` ago and the group
//!   has not flushed yet (Prometheus restarted, the alert is old news);
//! - after each flush the next is `group_interval` later; whether a flush
//!   actually notifies is the dedup stage's decision (repeat_interval);
//! - resolved alerts leave the group once a flush has handled them, unless
//!   they changed meanwhile (fired again during the flush).
//!
//! Pure: every instant is passed in.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::alert::{Alert, Status, notification_order};
use crate::model::Labels;

/// An aggregation group's identity: the route it belongs to and its
/// Alertmanager group key. The same group key under two routes is two
/// groups; the group key alone names the group in the notification log
/// and to receivers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// The route's unique id.
    pub route: String,
    /// `<route key>:<group labels>`.
    pub group: String,
}

#[derive(Debug, Clone)]
pub struct AggrGroup {
    /// Alertmanager's group key (`<route key>:<group labels>`).
    pub key: String,
    /// The route's unique id (its key with sibling indexes).
    pub route_id: String,
    pub labels: Labels,
    alerts: BTreeMap<u64, Alert>,
    next_flush: DateTime<Utc>,
    has_flushed: bool,
}

/// Adds a duration to an instant, saturating far in the future.
pub fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl AggrGroup {
    /// A new, empty group created at `now`: its first flush is due
    /// `group_wait` later.
    pub fn new(
        key: String,
        route_id: String,
        labels: Labels,
        group_wait: Duration,
        now: DateTime<Utc>,
    ) -> Self {
        AggrGroup {
            key,
            route_id,
            labels,
            alerts: BTreeMap::new(),
            next_flush: after(now, group_wait),
            has_flushed: false,
        }
    }

    /// Adds or updates an alert. An update keeps the earlier start of the
    /// same firing episode (Alertmanager's `Alert.Merge`).
    pub fn insert(&mut self, mut alert: Alert, group_wait: Duration, now: DateTime<Utc>) {
        let fp = alert.fingerprint();
        if let Some(old) = self.alerts.get(&fp)
            && old.status_at(alert.starts_at) == Status::Firing
            && old.starts_at < alert.starts_at
        {
            alert.starts_at = old.starts_at;
        }
        if !self.has_flushed && after(alert.starts_at, group_wait) < now {
            self.next_flush = self.next_flush.min(now);
        }
        self.alerts.insert(fp, alert);
    }

    pub fn next_flush(&self) -> DateTime<Utc> {
        self.next_flush
    }

    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.next_flush <= now
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    /// Starts a flush at `now`: schedules the next one `group_interval`
    /// later and returns the alerts in notification order. As in
    /// Alertmanager, the next flush is counted from this one's start, so a
    /// slow receiver does not shift the schedule.
    pub fn start_flush(&mut self, now: DateTime<Utc>, group_interval: Duration) -> Vec<Alert> {
        self.next_flush = after(now, group_interval);
        self.has_flushed = true;
        let mut out: Vec<Alert> = self.alerts.values().cloned().collect();
        out.sort_by(notification_order);
        out
    }

    /// After a flush whose notifications were all handed on: drops the
    /// alerts that were resolved in `sent` and have not changed since.
    pub fn forget_resolved(&mut self, sent: &[Alert], now: DateTime<Utc>) {
        for a in sent.iter().filter(|a| a.status_at(now) == Status::Resolved) {
            let fp = a.fingerprint();
            if self.alerts.get(&fp) == Some(a) {
                self.alerts.remove(&fp);
            }
        }
    }

    /// The alerts currently held, for the API and inhibition.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn alert(name: &str, starts: i64, ends: Option<i64>) -> Alert {
        Alert {
            labels: Labels::from_pairs([("alertname", name)]),
            annotations: Labels::empty(),
            starts_at: t(starts),
            ends_at: ends.map(t),
            generator_url: String::new(),
        }
    }

    const WAIT: Duration = Duration::from_secs(30);
    const INTERVAL: Duration = Duration::from_secs(300);

    fn group(now: i64) -> AggrGroup {
        AggrGroup::new("k".into(), "r".into(), Labels::empty(), WAIT, t(now))
    }

    #[test]
    fn first_flush_after_group_wait_then_every_interval() {
        let mut g = group(0);
        g.insert(alert("A", 0, None), WAIT, t(0));
        assert!(!g.is_due(t(29)));
        assert!(g.is_due(t(30)));
        let sent = g.start_flush(t(30), INTERVAL);
        assert_eq!(sent.len(), 1);
        assert_eq!(g.next_flush(), t(330));
        // A late alert does not bring the next flush forward.
        g.insert(alert("B", 40, None), WAIT, t(40));
        assert_eq!(g.next_flush(), t(330));
    }

    #[test]
    fn old_alert_flushes_a_new_group_at_once() {
        let mut g = group(100);
        g.insert(alert("A", 0, None), WAIT, t(100));
        assert!(g.is_due(t(100)));
        // But not once the group has flushed: then group_interval rules.
        g.start_flush(t(100), INTERVAL);
        g.insert(alert("B", 0, None), WAIT, t(101));
        assert_eq!(g.next_flush(), t(400));
    }

    #[test]
    fn resolved_alerts_leave_after_a_flush_unless_changed() {
        let mut g = group(0);
        g.insert(alert("A", 0, Some(50)), WAIT, t(0));
        g.insert(alert("B", 0, Some(50)), WAIT, t(0));
        let sent = g.start_flush(t(60), INTERVAL);
        // B fired again while the flush ran.
        g.insert(alert("B", 0, Some(1000)), WAIT, t(61));
        g.forget_resolved(&sent, t(60));
        let left: Vec<_> = g.alerts().map(|a| a.labels.get("alertname")).collect();
        assert_eq!(left, [Some("B")]);
    }

    #[test]
    fn an_update_keeps_the_episode_start() {
        let mut g = group(0);
        g.insert(alert("A", 0, Some(100)), WAIT, t(0));
        g.insert(alert("A", 60, Some(200)), WAIT, t(60));
        assert_eq!(g.alerts().next().unwrap().starts_at, t(0));
        // After it resolved, a new episode starts afresh.
        g.insert(alert("A", 300, Some(400)), WAIT, t(300));
        assert_eq!(g.alerts().next().unwrap().starts_at, t(300));
    }
}
