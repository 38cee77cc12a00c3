//! The life of one alert instance (one label set of one alerting rule), as
//! Prometheus's `rules/alerting.go` runs it:
//!
//! ```text
//!            present                 present for `for`
//! Inactive ───────────> Pending ───────────────────────> Firing
//!    ^                     │ absent: dropped at once         │ absent (after keep_firing_for)
//!    └─────────────────────┴─────────── resolved <───────────┘
//!                          kept 15 m, then dropped
//! ```
//!
//! [`Alert::step`] is the only place the state changes; every timestamp that
//! drives it lives on the alert, and all times are milliseconds passed in.

use crate::model::Labels;

/// Resolved alerts are kept (and re-sent) this long so that an Alertmanager
/// that missed the first "resolved" still hears it (Prometheus:
/// `resolvedRetention`).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// Ordered: a firing alert is "more active" than a pending one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    /// The `alertstate` label value and the API's `state` field.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inactive" => Some(AlertState::Inactive),
            "pending" => Some(AlertState::Pending),
            "firing" => Some(AlertState::Firing),
            _ => None,
        }
    }
}

/// How long a rule holds alerts in each state (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hold {
    /// The rule's `for`: pending this long before firing.
    pub pending_for: i64,
    /// The rule's `keep_firing_for`: still firing this long after the
    /// condition cleared.
    pub keep_firing_for: i64,
}

/// One alert instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The output labels (sample labels, rule labels, `alertname`).
    pub labels: Labels,
    /// Expanded annotations, sorted by name.
    pub annotations: Vec<(String, String)>,
    /// The expression's value at the last evaluation that returned it.
    pub value: f64,
    pub state: AlertState,
    /// When the condition started holding.
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    /// When the condition cleared while `keep_firing_for` holds it firing.
    pub keep_firing_since: Option<i64>,
}

/// What the rule should do with the alert after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Keep it (it is active or a recently resolved alert).
    Keep,
    /// Forget it.
    Drop,
}

impl Alert {
    /// A new alert whose condition holds from `t`.
    pub fn new(labels: Labels, annotations: Vec<(String, String)>, value: f64, t: i64) -> Self {
        Alert {
            labels,
            annotations,
            value,
            state: AlertState::Pending,
            active_at: t,
            fired_at: None,
            resolved_at: None,
            last_sent_at: None,
            keep_firing_since: None,
        }
    }

    /// Advances the alert to evaluation time `t`: `present` says whether
    /// the rule's expression returned this label set at `t`.
    pub fn step(&mut self, present: bool, t: i64, hold: Hold) -> Keep {
        if present {
            self.keep_firing_since = None;
        } else {
            let kept = self.state == AlertState::Firing && hold.keep_firing_for > 0 && {
                let since = *self.keep_firing_since.get_or_insert(t);
                t - since < hold.keep_firing_for
            };
            if !kept {
                return self.clear(t);
            }
        }
        if self.state == AlertState::Pending && t - self.active_at >= hold.pending_for {
            self.state = AlertState::Firing;
            self.fired_at = Some(t);
        }
        Keep::Keep
    }

    /// The condition no longer holds at `t`.
    fn clear(&mut self, t: i64) -> Keep {
        match self.state {
            // A pending alert never told anyone: forget it.
            AlertState::Pending => Keep::Drop,
            AlertState::Firing => {
                self.state = AlertState::Inactive;
                self.resolved_at = Some(t);
                self.keep_firing_since = None;
                Keep::Keep
            }
            AlertState::Inactive => match self.resolved_at {
                Some(r) if t - r > RESOLVED_RETENTION_MS => Keep::Drop,
                _ => Keep::Keep,
            },
        }
    }

    /// Whether a notification is due at `t`: firing alerts every
    /// `resend_delay`, a resolution once it happened after the last send
    /// and then again every `resend_delay` while it is retained.
    pub fn needs_sending(&self, t: i64, resend_delay: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        match (self.resolved_at, self.last_sent_at) {
            (_, None) => true,
            (Some(r), Some(s)) if r > s => true,
            (_, Some(s)) => s + resend_delay <= t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn alert(t: i64) -> Alert {
        Alert::new(Labels::from_pairs([("alertname", "A")]), vec![], 1.0, t)
    }

    #[test]
    fn pending_then_firing_after_for() {
        let hold = Hold {
            pending_for: 2 * MIN,
            keep_firing_for: 0,
        };
        let mut a = alert(0);
        assert_eq!(a.step(true, 0, hold), Keep::Keep);
        assert_eq!(a.state, AlertState::Pending);
        a.step(true, MIN, hold);
        assert_eq!(a.state, AlertState::Pending);
        a.step(true, 2 * MIN, hold);
        assert_eq!((a.state, a.fired_at), (AlertState::Firing, Some(2 * MIN)));
    }

    #[test]
    fn zero_for_fires_at_once_and_pending_is_dropped_when_absent() {
        let mut a = alert(0);
        a.step(true, 0, Hold::default());
        assert_eq!(a.state, AlertState::Firing);
        let mut p = alert(0);
        let hold = Hold {
            pending_for: MIN,
            keep_firing_for: 0,
        };
        p.step(true, 0, hold);
        assert_eq!(p.step(false, 30_000, hold), Keep::Drop);
    }

    #[test]
    fn resolved_is_kept_fifteen_minutes() {
        let mut a = alert(0);
        a.step(true, 0, Hold::default());
        assert_eq!(a.step(false, MIN, Hold::default()), Keep::Keep);
        assert_eq!((a.state, a.resolved_at), (AlertState::Inactive, Some(MIN)));
        assert_eq!(a.step(false, 16 * MIN, Hold::default()), Keep::Keep);
        assert_eq!(a.step(false, 16 * MIN + 1, Hold::default()), Keep::Drop);
    }

    #[test]
    fn keep_firing_for_holds_after_the_condition_clears() {
        let hold = Hold {
            pending_for: 0,
            keep_firing_for: 2 * MIN,
        };
        let mut a = alert(0);
        a.step(true, 0, hold);
        a.step(false, MIN, hold);
        assert_eq!(
            (a.state, a.keep_firing_since),
            (AlertState::Firing, Some(MIN))
        );
        a.step(false, 2 * MIN, hold);
        assert_eq!(a.state, AlertState::Firing);
        a.step(false, 3 * MIN, hold);
        assert_eq!(
            (a.state, a.resolved_at),
            (AlertState::Inactive, Some(3 * MIN))
        );
    }

    #[test]
    fn keep_firing_resets_when_the_condition_returns() {
        let hold = Hold {
            pending_for: 0,
            keep_firing_for: 2 * MIN,
        };
        let mut a = alert(0);
        a.step(true, 0, hold);
        a.step(false, MIN, hold);
        a.step(true, 2 * MIN, hold);
        assert_eq!(a.keep_firing_since, None);
        a.step(false, 3 * MIN, hold);
        a.step(false, 4 * MIN, hold);
        assert_eq!(a.state, AlertState::Firing);
    }

    #[test]
    fn sending_schedule() {
        let mut a = alert(0);
        assert!(!a.needs_sending(0, MIN), "pending is never sent");
        a.step(true, 0, Hold::default());
        assert!(a.needs_sending(0, MIN));
        a.last_sent_at = Some(0);
        assert!(!a.needs_sending(30_000, MIN));
        assert!(a.needs_sending(MIN, MIN));
        a.step(false, 90_000, Hold::default());
        a.last_sent_at = Some(MIN);
        assert!(a.needs_sending(90_000, MIN), "resolution is sent at once");
    }

    #[test]
    fn states_are_ordered_and_round_trip() {
        assert!(AlertState::Inactive < AlertState::Pending);
        assert!(AlertState::Pending < AlertState::Firing);
        for s in [
            AlertState::Inactive,
            AlertState::Pending,
            AlertState::Firing,
        ] {
            assert_eq!(AlertState::parse(s.as_str()), Some(s));
        }
    }
}
