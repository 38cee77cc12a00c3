//! The `sla:` section of vigil's configuration.
//!
//! Defaults are the contract in the source documents (seed 000): objective
//! 99.99 %, RTO 15 min, MTTR 10 min, credits 10 / 25 / 50 %, planned
//! maintenance excluded when announced 48 h ahead. The field comments are
//! the user documentation.

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use super::exact::Decimal;
use crate::model::units::PromDuration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// IANA time zone whose calendar months are the report periods.
    #[serde(default = "default_time_zone")]
    pub time_zone: Zone,
    /// The services the contract covers.
    #[serde(default)]
    pub services: Vec<ServiceConfig>,
    #[serde(default)]
    pub credits: CreditsConfig,
    #[serde(default)]
    pub maintenance: MaintenanceConfig,
    /// How time with no data (vigil down, series missing) counts.
    #[serde(default)]
    pub no_data: NoDataPolicy,
    /// An evaluation vouches for the state until the next one if that comes
    /// within this; a longer gap is unknown.
    #[serde(default = "default_max_gap")]
    pub max_gap: PromDuration,
    /// Decimal places of the availability shown (truncated, never rounded up).
    #[serde(default = "default_decimals")]
    pub decimals: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    /// PromQL: the service is up at an evaluation when this returns a
    /// non-empty result whose every value is non-zero, down when a value is
    /// zero, unknown when it returns nothing.
    pub up: String,
    /// Availability objective in percent.
    #[serde(default = "default_objective")]
    pub objective: Decimal,
    /// Recovery time objective: the longest an incident may last.
    #[serde(default = "default_rto")]
    pub rto: PromDuration,
    /// Mean time to repair target over the period's incidents.
    #[serde(default = "default_mttr")]
    pub mttr: PromDuration,
    /// Overrides `credits.monthly_fee` for this service.
    #[serde(default)]
    pub monthly_fee: Option<Decimal>,
    /// The longest a failover may leave the service without a writable
    /// primary (the documents promise `3s`). When set, the report lists the
    /// service's failovers, each stretch of time its `up` expression said
    /// down, with the longest against this; give it a service whose `up`
    /// means "a writable primary exists".
    #[serde(default)]
    pub failover_objective: Option<PromDuration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditsConfig {
    /// From the highest availability to the lowest; each `[from, to)` with
    /// the lower bound inclusive, as cloud SLAs word them.
    #[serde(default = "default_tiers")]
    pub tiers: Vec<CreditTier>,
    /// Fee the credit percent applies to.
    #[serde(default = "default_fee")]
    pub monthly_fee: Decimal,
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Largest credit as a percent of the monthly fee.
    #[serde(default = "default_cap")]
    pub cap_percent: Decimal,
}

impl Default for CreditsConfig {
    fn default() -> Self {
        CreditsConfig {
            tiers: default_tiers(),
            monthly_fee: default_fee(),
            currency: default_currency(),
            cap_percent: default_cap(),
        }
    }
}

/// Availability in `[from, to)` earns `credit` percent of the fee.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreditTier {
    #[serde(default = "default_tier_from")]
    pub from: Decimal,
    pub to: Decimal,
    pub credit: Decimal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    /// A one-off window announced less than this before it starts is not
    /// excluded (the contract's notice period).
    #[serde(default = "default_notice")]
    pub notice: PromDuration,
    #[serde(default)]
    pub recurring: Vec<RecurringWindow>,
    #[serde(default)]
    pub one_off: Vec<OneOffWindow>,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            notice: default_notice(),
            recurring: Vec::new(),
            one_off: Vec::new(),
        }
    }
}

/// Every `weekdays` at `start` local time for `duration` (elapsed time, so a
/// window across a DST change still lasts `duration`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurringWindow {
    pub weekdays: Vec<Day>,
    pub start: LocalTime,
    pub duration: PromDuration,
    /// Defaults to the SLA's time zone.
    #[serde(default)]
    pub time_zone: Option<Zone>,
    /// Services it applies to; all when empty.
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default = "default_recurring_reason")]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneOffWindow {
    pub start: Timestamp,
    pub end: Timestamp,
    pub announced_at: Timestamp,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default = "default_one_off_reason")]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoDataPolicy {
    /// Left out of the period (default; always reported).
    #[default]
    Excluded,
    Up,
    Down,
}

/// An IANA time zone name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub Tz);

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Tz>().map(Zone).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown time zone {s:?} (expected an IANA name such as Europe/Paris)"
            ))
        })
    }
}

/// A weekday name (`monday`, `Tue`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub Weekday);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Weekday>()
            .map(Day)
            .map_err(|_| serde::de::Error::custom(format!("not a weekday: {s:?}")))
    }
}

/// A local time of day, `HH:MM` or `HH:MM:SS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime(pub NaiveTime);

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(&s, "%H:%M"))
            .map(LocalTime)
            .map_err(|_| {
                serde::de::Error::custom(format!("not a time of day: {s:?} (expected HH:MM)"))
            })
    }
}

/// An RFC 3339 instant (`2026-10-06T02:00:00+02:00`), as epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| Timestamp(t.timestamp_millis()))
            .map_err(|e| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}: {e}")))
    }
}

fn default_time_zone() -> Zone {
    Zone(chrono_tz::UTC)
}
fn default_max_gap() -> PromDuration {
    // Three missed evaluations at the default 1m interval.
    PromDuration::from_secs(180)
}
fn default_decimals() -> u32 {
    3
}
fn default_objective() -> Decimal {
    Decimal::new(9999, 2)
}
fn default_rto() -> PromDuration {
    PromDuration::from_secs(15 * 60)
}
fn default_mttr() -> PromDuration {
    PromDuration::from_secs(10 * 60)
}
fn default_fee() -> Decimal {
    Decimal::integer(0)
}
fn default_currency() -> String {
    "EUR".to_string()
}
fn default_cap() -> Decimal {
    Decimal::integer(100)
}
fn default_tier_from() -> Decimal {
    Decimal::integer(0)
}
fn default_notice() -> PromDuration {
    PromDuration::from_secs(48 * 3600)
}
fn default_recurring_reason() -> String {
    "recurring maintenance".to_string()
}
fn default_one_off_reason() -> String {
    "planned maintenance".to_string()
}

/// Seed 000's penalties: [99.95, 99.99) → 10 %, [99.90, 99.95) → 25 %,
/// below 99.90 → 50 %.
pub fn default_tiers() -> Vec<CreditTier> {
    let d = |u, s| Decimal::new(u, s);
    vec![
        CreditTier {
            from: d(9995, 2),
            to: d(9999, 2),
            credit: d(10, 0),
        },
        CreditTier {
            from: d(9990, 2),
            to: d(9995, 2),
            credit: d(25, 0),
        },
        CreditTier {
            from: d(0, 0),
            to: d(9990, 2),
            credit: d(50, 0),
        },
    ]
}
