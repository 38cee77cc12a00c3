//! Alertmanager's `time_intervals`: recurring windows (times of day,
//! weekdays, days of the month, months, years, in a location) that mute a
//! route or make it active. Parsed at load with Alertmanager's validation
//! and evaluated as a pure function of the instant asked about.

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer};

use super::zones::Zone;

/// One interval: every given dimension must contain the instant; an absent
/// (or empty) dimension contains every instant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalSpec {
    #[serde(default)]
    pub times: Vec<TimeRange>,
    #[serde(default)]
    pub weekdays: Vec<Span<Weekday>>,
    #[serde(default)]
    pub days_of_month: Vec<Span<DayOfMonth>>,
    #[serde(default)]
    pub months: Vec<Span<Month>>,
    #[serde(default)]
    pub years: Vec<Span<Year>>,
    #[serde(default)]
    pub location: Option<Location>,
}

/// `start_time`/`end_time` as `HH:MM`, in minutes of the day, end excluded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRange {
    pub start_minute: u32,
    pub end_minute: u32,
}

/// Both keys may be left out here so that the message is Alertmanager's
/// ("both ... must be provided") rather than serde's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeRange {
    #[serde(default)]
    start_time: String,
    #[serde(default)]
    end_time: String,
}

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = RawTimeRange::deserialize(d)?;
        if raw.start_time.is_empty() || raw.end_time.is_empty() {
            return Err(D::Error::custom(
                "both start_time and end_time must be provided",
            ));
        }
        let start = minute_of_day(&raw.start_time).map_err(D::Error::custom)?;
        let end = minute_of_day(&raw.end_time).map_err(D::Error::custom)?;
        if start >= end {
            return Err(D::Error::custom(format!(
                "start time {:?} cannot be equal or greater than end time {:?}",
                raw.start_time, raw.end_time
            )));
        }
        Ok(TimeRange {
            start_minute: start,
            end_minute: end,
        })
    }
}

/// `HH:MM` with two-digit hours from `00:00` to `23:59`, or `24:00` (which
/// ends a range at midnight): Alertmanager's pattern, so `9:00` is refused.
fn minute_of_day(s: &str) -> Result<u32, String> {
    let bad = || format!("couldn't parse timestamp {s:?}, invalid format");
    let two_digits = |x: &str| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit());
    let (h, m) = s
        .split_once(':')
        .filter(|(h, m)| two_digits(h) && two_digits(m))
        .ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h < 24 && m < 60 || (h == 24 && m == 0) {
        Ok(h * 60 + m)
    } else {
        Err(bad())
    }
}

/// A kind of range value: how one endpoint is read and how a range is
/// checked, each as Alertmanager 0.25 does.
pub trait Bound: Sized {
    const WHAT: &'static str;
    /// One endpoint, already lower-cased.
    fn parse(s: &str) -> Result<i32, String>;
    /// The range as a whole (`raw` as written, for messages).
    fn check(begin: i32, end: i32, raw: &str) -> Result<(), String> {
        if begin > end {
            return Err(format!("{} range {raw:?}: start is after end", Self::WHAT));
        }
        Ok(())
    }
}

/// `a:b` or a single value, inclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span<B> {
    pub begin: i32,
    pub end: i32,
    kind: std::marker::PhantomData<B>,
}

impl<'de, B: Bound> Deserialize<'de> for Span<B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let s = String::deserialize(d)?;
        // Case does not matter; blanks do (`monday : friday` is refused).
        let lower = s.to_lowercase();
        let parts: Vec<&str> = lower.split(':').collect();
        let (a, b) = match parts[..] {
            [one] => (one, one),
            [a, b] => (a, b),
            _ => {
                let msg = format!("couldn't parse range {s:?}, invalid format");
                return Err(D::Error::custom(msg));
            }
        };
        let begin = B::parse(a).map_err(D::Error::custom)?;
        let end = B::parse(b).map_err(D::Error::custom)?;
        B::check(begin, end, &s).map_err(D::Error::custom)?;
        Ok(Span {
            begin,
            end,
            kind: std::marker::PhantomData,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weekday;
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayOfMonth;
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Month;
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Year;

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// An integer as Go's `strconv.Atoi` reads it: an optional sign, digits,
/// nothing else (Rust's parse accepts the same forms), 64 bits wide; held
/// as `i32`, clamped (a year past that never matches either way).
fn atoi(s: &str) -> Option<i32> {
    let v: i64 = s.parse().ok()?;
    Some(v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
}

/// Sunday is 0, as Go's `time.Weekday`; names only.
impl Bound for Weekday {
    const WHAT: &'static str = "weekday";
    fn parse(s: &str) -> Result<i32, String> {
        WEEKDAYS
            .iter()
            .position(|w| *w == s)
            .map(|i| i as i32)
            .ok_or_else(|| format!("{s:?} is not a valid weekday"))
    }
}

/// 1..=31, or -31..=-1 counting back from the month's last day.
impl Bound for DayOfMonth {
    const WHAT: &'static str = "day of month";
    fn parse(s: &str) -> Result<i32, String> {
        atoi(s).ok_or_else(|| format!("{s:?} is not a valid day of the month"))
    }
    /// Alertmanager's checks: each end in range; a negative start needs a
    /// negative end; and a range that is backwards in every month (taking
    /// 28 days as the shortest) is refused.
    fn check(begin: i32, end: i32, raw: &str) -> Result<(), String> {
        for d in [begin, end] {
            if d == 0 || !(-31..=31).contains(&d) {
                return Err(format!(
                    "\"{d}\" is not a valid day of the month: out of range"
                ));
            }
        }
        if begin < 0 && end > 0 {
            return Err(format!(
                "day of month range {raw:?}: end day must be negative if start day is negative"
            ));
        }
        let on_shortest = |d: i32| if d < 0 { 28 + d } else { d };
        if on_shortest(begin) > on_shortest(end) {
            return Err(format!(
                "day of month range {raw:?}: end day {end} is always before start day {begin}"
            ));
        }
        Ok(())
    }
}

/// A name or a number. Alertmanager takes any number (13 never matches),
/// so vigil does too.
impl Bound for Month {
    const WHAT: &'static str = "month";
    fn parse(s: &str) -> Result<i32, String> {
        MONTHS
            .iter()
            .position(|m| *m == s)
            .map(|i| i as i32 + 1)
            .or_else(|| atoi(s))
            .ok_or_else(|| format!("{s:?} is not a valid month"))
    }
}

/// Any integer, as in Alertmanager.
impl Bound for Year {
    const WHAT: &'static str = "year";
    fn parse(s: &str) -> Result<i32, String> {
        atoi(s).ok_or_else(|| format!("{s:?} is not a valid year"))
    }
}

/// Where the interval's wall clock is read: UTC, the host's `Local` zone,
/// or a zone of the IANA database (looked up as Go does, see
/// [`super::zones`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Location {
    Utc,
    Local,
    Zone(chrono_tz::Tz),
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match super::zones::load_location(&s) {
            Ok(Zone::Utc) => Ok(Location::Utc),
            Ok(Zone::Local) => Ok(Location::Local),
            Ok(Zone::Tz(tz)) => Ok(Location::Zone(tz)),
            Err(e) if e.starts_with("unknown time zone") => Err(serde::de::Error::custom(format!(
                "unknown time zone location {s:?}"
            ))),
            Err(e) => Err(serde::de::Error::custom(format!(
                "unknown time zone location {s:?}: {e}"
            ))),
        }
    }
}

/// The wall-clock fields the dimensions test.
struct Wall {
    minute_of_day: u32,
    weekday: i32,
    day: i32,
    month: i32,
    year: i32,
    days_in_month: i32,
}

fn wall<Tz: TimeZone>(t: DateTime<Tz>) -> Wall {
    let d = t.date_naive();
    let next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    };
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1);
    let days_in_month = match (first, next) {
        (Some(a), Some(b)) => (b - a).num_days() as i32,
        _ => 31,
    };
    Wall {
        minute_of_day: t.hour() * 60 + t.minute(),
        weekday: t.weekday().num_days_from_sunday() as i32,
        day: d.day() as i32,
        month: d.month() as i32,
        year: d.year(),
        days_in_month,
    }
}

impl TimeIntervalSpec {
    /// Whether the instant `t` lies in this interval, read on the wall
    /// clock of the interval's location.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let w = match self.location {
            None | Some(Location::Utc) => wall(t),
            Some(Location::Local) => {
                let off = chrono::Local.offset_from_utc_datetime(&t.naive_utc());
                wall(t.with_timezone(&off.fix()))
            }
            Some(Location::Zone(tz)) => wall(t.with_timezone(&tz)),
        };
        let any = |empty: bool, hit: bool| empty || hit;
        any(
            self.times.is_empty(),
            self.times
                .iter()
                .any(|r| (r.start_minute..r.end_minute).contains(&w.minute_of_day)),
        ) && any(
            self.days_of_month.is_empty(),
            self.days_of_month.iter().any(|s| day_in(s, &w)),
        ) && any(
            self.months.is_empty(),
            self.months
                .iter()
                .any(|s| (s.begin..=s.end).contains(&w.month)),
        ) && any(
            self.weekdays.is_empty(),
            self.weekdays
                .iter()
                .any(|s| (s.begin..=s.end).contains(&w.weekday)),
        ) && any(
            self.years.is_empty(),
            self.years
                .iter()
                .any(|s| (s.begin..=s.end).contains(&w.year)),
        )
    }
}

/// Negative days count back from the month's end (-1 is the last day); a
/// range starting after the month's end (31 in April) is skipped, as in
/// Alertmanager.
fn day_in(s: &Span<DayOfMonth>, w: &Wall) -> bool {
    let resolve = |d: i32| if d < 0 { w.days_in_month + d + 1 } else { d };
    let (begin, end) = (resolve(s.begin), resolve(s.end));
    if begin > w.days_in_month {
        return false;
    }
    let end = end.min(w.days_in_month);
    (begin..=end).contains(&w.day)
}

/// Whether any interval of a named list contains `t`.
pub fn any_contains(intervals: &[TimeIntervalSpec], t: DateTime<Utc>) -> bool {
    intervals.iter().any(|i| i.contains(t))
}
