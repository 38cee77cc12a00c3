//! Maintenance windows in a period: which ones are excluded from the SLA and
//! why, and which are not and why not.
//!
//! Recurring windows are part of the contract, so they are always excluded.
//! A one-off window is excluded only when it was announced at least the
//! notice period (48 h by default) before it started; otherwise it is listed
//! as not excluded with its notice, so the customer sees it was counted.

use chrono::{Datelike, Duration, LocalResult, TimeZone};
use serde::Serialize;

use super::config::{MaintenanceConfig, OneOffWindow, RecurringWindow, Zone};
use super::span::{self, Span};

/// One window met in the period (clipped to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowDecision {
    pub span: Span,
    pub reason: String,
    pub kind: WindowKind,
    /// Whether the window is taken out of the period.
    pub excluded: bool,
    /// For one-off windows: how long before the start it was announced.
    pub notice_ms: Option<i64>,
    /// Why it is not excluded, when it is not.
    pub refused_because: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    Recurring,
    OneOff,
}

fn applies(services: &[String], service: &str) -> bool {
    services.is_empty() || services.iter().any(|s| s == service)
}

/// The windows of `service` that overlap `period`, in start order.
pub fn windows(
    cfg: &MaintenanceConfig,
    default_zone: Zone,
    service: &str,
    period: Span,
) -> Vec<WindowDecision> {
    let mut out = Vec::new();
    for w in cfg
        .recurring
        .iter()
        .filter(|w| applies(&w.services, service))
    {
        for s in recurring_occurrences(w, default_zone, period) {
            out.push(WindowDecision {
                span: s,
                reason: w.reason.clone(),
                kind: WindowKind::Recurring,
                excluded: true,
                notice_ms: None,
                refused_because: None,
            });
        }
    }
    let notice = cfg.notice.as_millis();
    for w in cfg.one_off.iter().filter(|w| applies(&w.services, service)) {
        if let Some(d) = one_off(w, notice, period) {
            out.push(d);
        }
    }
    out.sort_by(|a, b| a.span.cmp(&b.span).then(a.reason.cmp(&b.reason)));
    out
}

/// The excluded time of `decisions`, merged (overlapping windows count once).
pub fn excluded_spans(decisions: &[WindowDecision]) -> Vec<Span> {
    span::merge(
        decisions
            .iter()
            .filter(|d| d.excluded)
            .map(|d| d.span)
            .collect(),
    )
}

fn one_off(w: &OneOffWindow, notice_ms: i64, period: Span) -> Option<WindowDecision> {
    let clipped = Span::new(w.start.0, w.end.0).intersect(period)?;
    let given = w.start.0 - w.announced_at.0;
    let excluded = given >= notice_ms;
    let refused_because = (!excluded).then(|| {
        let when = if given < 0 {
            format!("{} after", human(-given))
        } else {
            format!("{} before", human(given))
        };
        format!(
            "announced {when} it started; the contract requires {}",
            human(notice_ms)
        )
    });
    Some(WindowDecision {
        span: clipped,
        reason: w.reason.clone(),
        kind: WindowKind::OneOff,
        excluded,
        notice_ms: Some(given),
        refused_because,
    })
}

/// Every occurrence of a recurring window overlapping `period`, clipped to
/// it. A start time that falls in a DST gap moves to the first local time
/// after it; one that happens twice starts at the earlier instant.
fn recurring_occurrences(w: &RecurringWindow, default_zone: Zone, period: Span) -> Vec<Span> {
    let tz = w.time_zone.unwrap_or(default_zone).0;
    let duration = w.duration.as_millis();
    let (Some(first), Some(last)) = (
        tz.timestamp_millis_opt(period.start - duration).earliest(),
        tz.timestamp_millis_opt(period.end).earliest(),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut date = first.date_naive() - Duration::days(1);
    while date <= last.date_naive() {
        if w.weekdays.iter().any(|d| d.0 == date.weekday()) {
            let local = date.and_time(w.start.0);
            let start = (0..180).find_map(|m| {
                match tz.from_local_datetime(&(local + Duration::minutes(m))) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                        Some(t.timestamp_millis())
                    }
                    LocalResult::None => None,
                }
            });
            if let Some(s) = start.and_then(|s| Span::new(s, s + duration).intersect(period)) {
                out.push(s);
            }
        }
        date = date.succ_opt().expect("date in range");
    }
    out
}

/// `47h`, `2d 1h`, `30m`: whole minutes are enough to explain a notice.
pub fn human(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let mins = ms.unsigned_abs() / 60_000;
    let (d, h, m) = (mins / 1440, mins / 60 % 24, mins % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 || parts.is_empty() {
        parts.push(format!("{m}m"));
    }
    format!("{sign}{}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::config::SlaConfig;
    use crate::sla::period;

    fn cfg(yaml: &str) -> SlaConfig {
        let c: SlaConfig = yaml_serde::from_str(yaml).unwrap();
        c.validate().unwrap();
        c
    }

    const H: i64 = 3_600_000;

    fn one_off_announced(hours_ahead: i64) -> Vec<WindowDecision> {
        // window 2026-10-10 01:00-03:00 UTC
        let start = 1_791_594_000_000;
        let announced = chrono::DateTime::from_timestamp_millis(start - hours_ahead * H)
            .unwrap()
            .to_rfc3339();
        let c = cfg(&format!(
            "services: [{{name: app, up: up}}]\nmaintenance:\n  one_off:\n    - {{ start: '2026-10-10T01:00:00Z', end: '2026-10-10T03:00:00Z', announced_at: '{announced}' }}\n"
        ));
        let p = period::month(2026, 10, chrono_tz::UTC).unwrap();
        windows(&c.maintenance, c.time_zone, "app", p.span)
    }

    #[test]
    fn notice_of_47h_is_not_enough_49h_is() {
        let late = one_off_announced(47);
        assert_eq!(late.len(), 1);
        assert!(!late[0].excluded);
        assert_eq!(
            late[0].refused_because.as_deref(),
            Some("announced 1d 23h before it started; the contract requires 2d")
        );
        assert!(excluded_spans(&late).is_empty());
        let early = one_off_announced(49);
        assert!(early[0].excluded);
        assert_eq!(
            excluded_spans(&early),
            vec![Span::new(1_791_594_000_000, 1_791_594_000_000 + 2 * H)]
        );
        assert!(
            one_off_announced(48)[0].excluded,
            "exactly the notice is enough"
        );
        let after = one_off_announced(-1);
        assert_eq!(
            after[0].refused_because.as_deref(),
            Some("announced 1h after it started; the contract requires 2d")
        );
    }

    #[test]
    fn recurring_tuesdays_in_warsaw_follow_local_time() {
        let c = cfg(
            "time_zone: Europe/Warsaw\nservices: [{name: app, up: up}, {name: db, up: up}]\nmaintenance:\n  recurring:\n    - { weekdays: [tue], start: '02:00', duration: 2h, services: [app] }\n",
        );
        let p = period::month(2026, 10, chrono_tz::Europe::Warsaw).unwrap();
        let w = windows(&c.maintenance, c.time_zone, "app", p.span);
        // Tuesdays of October 2026: 6, 13, 20, 27
        assert_eq!(w.len(), 4);
        // 6 Oct 02:00 CEST = 00:00Z; 27 Oct 02:00 CET = 01:00Z (after the change on the 25th)
        assert_eq!(
            w[0].span.start,
            chrono::DateTime::parse_from_rfc3339("2026-10-06T00:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
        assert_eq!(
            w[3].span.start,
            chrono::DateTime::parse_from_rfc3339("2026-10-27T01:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
        assert!(w.iter().all(|d| d.span.len_ms() == 2 * H && d.excluded));
        assert!(windows(&c.maintenance, c.time_zone, "db", p.span).is_empty());
    }

    #[test]
    fn a_start_in_the_spring_gap_moves_to_the_first_real_time() {
        // 29 March 2026 in Paris: 02:00 jumps to 03:00, so 02:30 never happens.
        let c = cfg(
            "time_zone: Europe/Paris\nservices: [{name: app, up: up}]\nmaintenance:\n  recurring:\n    - { weekdays: [sun], start: '02:30', duration: 1h }\n",
        );
        let p = period::month(2026, 3, chrono_tz::Europe::Paris).unwrap();
        let w = windows(&c.maintenance, c.time_zone, "app", p.span);
        let last = w.last().unwrap().span;
        assert_eq!(
            last.start,
            chrono::DateTime::parse_from_rfc3339("2026-03-29T03:00:00+02:00")
                .unwrap()
                .timestamp_millis()
        );
        assert_eq!(last.len_ms(), H);
    }

    #[test]
    fn windows_are_clipped_to_the_period() {
        let c = cfg(
            "services: [{name: app, up: up}]\nmaintenance:\n  recurring:\n    - { weekdays: [sat], start: '23:00', duration: 3h }\n",
        );
        // 31 Oct 2026 is a Saturday: its window runs into November.
        let p = period::month(2026, 10, chrono_tz::UTC).unwrap();
        let w = windows(&c.maintenance, c.time_zone, "app", p.span);
        assert_eq!(w.last().unwrap().span.end, p.span.end);
        assert_eq!(w.last().unwrap().span.len_ms(), H);
        let nov = period::month(2026, 11, chrono_tz::UTC).unwrap();
        let w = windows(&c.maintenance, c.time_zone, "app", nov.span);
        assert_eq!(w[0].span, Span::new(nov.span.start, nov.span.start + 2 * H));
    }
}
