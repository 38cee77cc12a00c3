//! Report periods: a calendar month in the SLA's time zone, month to date,
//! and the local days inside a period (for the daily chart).
//!
//! A contract's month is the customer's calendar month, so its length moves
//! with daylight saving: in Europe/Paris March 2026 is 44,580 minutes and
//! October 2026 is 44,700. Periods are therefore built from local midnights
//! converted to UTC instants, never from "30 days".

use chrono::{Datelike, LocalResult, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

use super::span::Span;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeriodError {
    #[error("not a month {0:?}: expected YYYY-MM, for example 2026-10")]
    BadMonth(String),
    #[error("month-to-date at {as_of_ms} ms is before the month {month} starts")]
    BeforeStart { month: String, as_of_ms: i64 },
}

/// A period of the report: its span and how a person names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    /// `2026-10`, or `2026-10 (to date)`.
    pub label: String,
    pub span: Span,
    /// IANA name of the time zone the period is calendar-aligned in.
    pub time_zone: String,
}

impl Period {
    /// Length in whole minutes (truncated; a month always has whole minutes).
    pub fn minutes(&self) -> i64 {
        self.span.len_ms() / 60_000
    }
}

/// Parses `YYYY-MM`.
pub fn parse_month(s: &str) -> Result<(i32, u32), PeriodError> {
    let bad = || PeriodError::BadMonth(s.to_string());
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u32 = m.parse().map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
    Ok((year, month))
}

/// The first instant of a local calendar day. Where midnight does not exist
/// (a DST jump at midnight, as in some American zones) the day starts at the
/// first local time that does; where it happens twice, at the earlier.
pub fn local_day_start(date: NaiveDate, tz: Tz) -> i64 {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight is a valid time");
    // Gaps are at most a few hours; step a minute at a time past one.
    for minute in 0..24 * 60 {
        let t = midnight + chrono::Duration::minutes(minute);
        match tz.from_local_datetime(&t) {
            LocalResult::Single(dt) | LocalResult::Ambiguous(dt, _) => {
                return dt.timestamp_millis();
            }
            LocalResult::None => continue,
        }
    }
    // Unreachable for real zones: no day is entirely skipped at midnight
    // without being skipped entirely (then the next day's start is it).
    tz.from_utc_datetime(&midnight).timestamp_millis()
}

fn first_of_next_month(year: i32, month: u32) -> NaiveDate {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("valid month")
}

/// The calendar month `year-month` in `tz`.
pub fn month(year: i32, month: u32, tz: Tz) -> Result<Period, PeriodError> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)
        .ok_or_else(|| PeriodError::BadMonth(format!("{year}-{month:02}")))?;
    let span = Span::new(
        local_day_start(first, tz),
        local_day_start(first_of_next_month(year, month), tz),
    );
    Ok(Period {
        label: format!("{year:04}-{month:02}"),
        span,
        time_zone: tz.name().to_string(),
    })
}

/// The month `year-month` from its start up to `as_of` (exclusive), or the
/// whole month when `as_of` is after it. `as_of` is an input: the caller's
/// clock, never read here.
pub fn month_to_date(
    year: i32,
    month_no: u32,
    tz: Tz,
    as_of_ms: i64,
) -> Result<Period, PeriodError> {
    let whole = month(year, month_no, tz)?;
    if as_of_ms < whole.span.start {
        return Err(PeriodError::BeforeStart {
            month: whole.label,
            as_of_ms,
        });
    }
    if as_of_ms >= whole.span.end {
        return Ok(whole);
    }
    Ok(Period {
        label: format!("{} (to date)", whole.label),
        span: Span::new(whole.span.start, as_of_ms),
        time_zone: whole.time_zone,
    })
}

/// The month containing `as_of` in `tz`, to date (for `vigil sla budget`).
pub fn current_month_to_date(tz: Tz, as_of_ms: i64) -> Result<Period, PeriodError> {
    let local = tz
        .timestamp_millis_opt(as_of_ms)
        .single()
        .ok_or(PeriodError::BadMonth(as_of_ms.to_string()))?;
    month_to_date(local.year(), local.month(), tz, as_of_ms)
}

/// The local calendar days that make up `period`, each clipped to it.
pub fn local_days(period: &Period, tz: Tz) -> Vec<(NaiveDate, Span)> {
    let Some(first) = tz.timestamp_millis_opt(period.span.start).earliest() else {
        return Vec::new();
    };
    let mut date = first.date_naive();
    let mut out = Vec::new();
    loop {
        let start = local_day_start(date, tz);
        if start >= period.span.end {
            break;
        }
        let next = date.succ_opt().expect("date in range");
        let day = Span::new(
            start.max(period.span.start),
            local_day_start(next, tz).min(period.span.end),
        );
        if !day.is_empty() {
            out.push((date, day));
        }
        date = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(y: i32, m: u32, tz: &str) -> i64 {
        month(y, m, tz.parse().unwrap()).unwrap().minutes()
    }

    #[test]
    fn dst_months_in_paris() {
        assert_eq!(minutes(2026, 3, "Europe/Paris"), 44_580);
        assert_eq!(minutes(2026, 10, "Europe/Paris"), 44_700);
        assert_eq!(minutes(2026, 4, "Europe/Paris"), 43_200);
    }

    #[test]
    fn utc_month_lengths() {
        assert_eq!(minutes(2026, 2, "UTC"), 28 * 1440);
        assert_eq!(minutes(2028, 2, "UTC"), 29 * 1440);
        assert_eq!(minutes(2026, 12, "UTC"), 31 * 1440);
    }

    #[test]
    fn month_starts_at_local_midnight() {
        let p = month(2026, 10, chrono_tz::Europe::Paris).unwrap();
        // 2026-09-30T22:00:00Z and 2026-10-31T23:00:00Z
        assert_eq!(p.span.start, 1_790_805_600_000);
        assert_eq!(p.span.end, 1_793_487_600_000);
    }

    #[test]
    fn month_to_date_is_clipped_by_the_given_time() {
        let tz = chrono_tz::UTC;
        let whole = month(2026, 11, tz).unwrap();
        let p = month_to_date(2026, 11, tz, whole.span.start + 3_600_000).unwrap();
        assert_eq!(
            p.span,
            Span::new(whole.span.start, whole.span.start + 3_600_000)
        );
        assert_eq!(
            month_to_date(2026, 11, tz, whole.span.end + 1).unwrap(),
            whole
        );
        assert!(month_to_date(2026, 11, tz, whole.span.start - 1).is_err());
        assert_eq!(
            current_month_to_date(tz, whole.span.start + 10)
                .unwrap()
                .span
                .len_ms(),
            10
        );
    }

    #[test]
    fn days_cover_the_month_exactly() {
        let tz = chrono_tz::Europe::Paris;
        let p = month(2026, 3, tz).unwrap();
        let days = local_days(&p, tz);
        assert_eq!(days.len(), 31);
        assert_eq!(
            days.iter().map(|(_, s)| s.len_ms()).sum::<i64>(),
            p.span.len_ms()
        );
        assert_eq!(days[28].1.len_ms(), 23 * 3_600_000); // 29 March 2026: 23 hours
    }

    #[test]
    fn parses_months() {
        assert_eq!(parse_month("2026-10"), Ok((2026, 10)));
        assert!(parse_month("2026-13").is_err());
        assert!(parse_month("26-1").is_err());
    }
}
