//! Alertmanager's notification data (`template.Data`): what templates see
//! (`.Status`, `.Alerts`, `.GroupLabels`, `.CommonLabels`,
//! `.CommonAnnotations`, `.ExternalURL`) and, serialized, the body of the
//! webhook payload. Built for one group at one instant.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::alert::{Alert, Status};
use crate::model::Labels;

/// One group's notification data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Data {
    pub receiver: String,
    pub status: &'static str,
    pub alerts: Vec<AlertData>,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: String,
}

/// One alert as templates and the webhook see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertData {
    pub status: &'static str,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 with Go's trimmed fractional seconds.
    pub starts_at: String,
    /// Set only once resolved: a firing alert shows Go's zero time
    /// (`0001-01-01T00:00:00Z`) even when its expected end is known, as
    /// Alertmanager's payloads do.
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// 16 hex digits.
    pub fingerprint: String,
}

impl Data {
    /// `alerts` in notification order; the group is `firing` while any of
    /// them fires. The receiver name is regex-quoted, as Alertmanager does.
    pub fn new(
        receiver: &str,
        group_labels: &Labels,
        alerts: &[Alert],
        external_url: &str,
        now: DateTime<Utc>,
    ) -> Data {
        let any_firing = alerts.iter().any(|a| a.status_at(now) == Status::Firing);
        Data {
            receiver: quote_meta(receiver),
            status: if any_firing { "firing" } else { "resolved" },
            alerts: alerts.iter().map(|a| AlertData::new(a, now)).collect(),
            group_labels: to_map(group_labels),
            common_labels: common(alerts.iter().map(|a| &a.labels)),
            common_annotations: common(alerts.iter().map(|a| &a.annotations)),
            external_url: external_url.to_string(),
        }
    }

    /// `.Alerts.Firing`.
    pub fn firing(&self) -> impl Iterator<Item = &AlertData> {
        self.alerts.iter().filter(|a| a.status == "firing")
    }

    /// `.Alerts.Resolved`.
    pub fn resolved(&self) -> impl Iterator<Item = &AlertData> {
        self.alerts.iter().filter(|a| a.status == "resolved")
    }
}

impl AlertData {
    pub fn new(a: &Alert, now: DateTime<Utc>) -> AlertData {
        let status = a.status_at(now);
        AlertData {
            status: status.as_str(),
            labels: to_map(&a.labels),
            annotations: to_map(&a.annotations),
            starts_at: go_time(Some(a.starts_at)),
            ends_at: go_time(a.ends_at.filter(|_| status == Status::Resolved)),
            generator_url: a.generator_url.clone(),
            fingerprint: format!("{:016x}", a.fingerprint()),
        }
    }
}

/// Go's `regexp.QuoteMeta`: a backslash before each of
/// `\.+*?()|[]{}^$` and nothing else (unlike `regex::escape`, which also
/// escapes `-`, `#`, `&` and `~`).
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn to_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// The pairs every set has with the same value.
fn common<'a>(mut sets: impl Iterator<Item = &'a Labels>) -> BTreeMap<String, String> {
    let Some(first) = sets.next() else {
        return BTreeMap::new();
    };
    let mut out = to_map(first);
    for s in sets {
        out.retain(|k, v| s.get(k) == Some(v.as_str()));
    }
    out
}

/// Go's `time.Time` JSON form (RFC 3339, nanoseconds without trailing
/// zeros); `None` is Go's zero time.
pub fn go_time(t: Option<DateTime<Utc>>) -> String {
    let Some(t) = t else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn go_time_trims_fraction() {
        let t = Utc.timestamp_opt(1_700_000_000, 120_000_000).unwrap();
        assert_eq!(go_time(Some(t)), "2023-11-14T22:13:20.12Z");
        let t = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        assert_eq!(go_time(Some(t)), "2023-11-14T22:13:20Z");
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn receiver_names_are_quoted_like_go() {
        assert_eq!(quote_meta("db-hook #1"), "db-hook #1");
        assert_eq!(quote_meta("a.b(c)"), r"a\.b\(c\)");
    }

    #[test]
    fn common_labels_are_shared_pairs() {
        let a = Labels::from_pairs([("a", "1"), ("b", "2"), ("c", "3")]);
        let b = Labels::from_pairs([("a", "1"), ("b", "x")]);
        let got = common([&a, &b].into_iter());
        assert_eq!(got, BTreeMap::from([("a".to_string(), "1".to_string())]));
    }
}
