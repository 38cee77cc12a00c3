//! The routed alert: what the notification pipeline knows of an alert, as
//! Alertmanager's `types.Alert` (labels, annotations, start, end, source
//! link). It is separate from the rule side's alert so that alerts posted
//! through the API and alerts from vigil's own rules travel the same way.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::model::Labels;
use crate::notify::route::tree::am_fingerprint;

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: DateTime<Utc>,
    /// When the alert stops (or stopped) firing; `None` while unknown.
    pub ends_at: Option<DateTime<Utc>>,
    pub generator_url: String,
}

/// `firing` or `resolved`, as the templates and payloads spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Firing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }
}

impl Alert {
    /// Resolved at `now` when its end is known and not after `now`
    /// (Alertmanager's `ResolvedAt`).
    pub fn status_at(&self, now: DateTime<Utc>) -> Status {
        match self.ends_at {
            Some(end) if end <= now => Status::Resolved,
            _ => Status::Firing,
        }
    }

    /// Alertmanager's fingerprint of the labels, stable across processes.
    pub fn fingerprint(&self) -> u64 {
        am_fingerprint(&self.labels)
    }
}

/// Alertmanager's order of alerts within a notification: by `job`, then
/// `instance` (alerts having the label first), then by the label sets.
pub fn notification_order(a: &Alert, b: &Alert) -> Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    label_sets_order(&a.labels, &b.labels)
}

/// Prometheus's `LabelSet.Before`: pairwise by name then value over the
/// sorted labels, the shorter set first when one is a prefix.
fn label_sets_order(a: &Labels, b: &Labels) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        let o = x.name.cmp(&y.name).then_with(|| x.value.cmp(&y.value));
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn alert(pairs: &[(&str, &str)]) -> Alert {
        Alert {
            labels: Labels::from_pairs(pairs.iter().copied()),
            annotations: Labels::empty(),
            starts_at: Utc.timestamp_opt(0, 0).unwrap(),
            ends_at: None,
            generator_url: String::new(),
        }
    }

    #[test]
    fn resolved_once_the_end_is_reached() {
        let t = |s| Utc.timestamp_opt(s, 0).unwrap();
        let mut a = alert(&[("alertname", "A")]);
        assert_eq!(a.status_at(t(100)), Status::Firing);
        a.ends_at = Some(t(100));
        assert_eq!(a.status_at(t(99)), Status::Firing);
        assert_eq!(a.status_at(t(100)), Status::Resolved);
    }

    #[test]
    fn job_and_instance_order_first() {
        let with_job = alert(&[("job", "b"), ("z", "1")]);
        let other_job = alert(&[("job", "a")]);
        let no_job = alert(&[("a", "0")]);
        let mut v = vec![no_job.clone(), with_job.clone(), other_job.clone()];
        v.sort_by(notification_order);
        assert_eq!(v, vec![other_job, with_job, no_job]);
    }
}
