//! Formats a [`Report`]: plain-text table, markdown, JSON, CSV and a
//! self-contained HTML page. Renderers only format; every number comes from
//! the report, and the helpers here make the formats say the same thing.

mod csv;
mod html;
mod json;
mod markdown;
mod svg;
mod table;

use std::str::FromStr;

use chrono::TimeZone;
use chrono_tz::Tz;

use super::availability::{Verdict, human_ms};
use super::exact::Ratio;
use super::failovers::{Failover, FailoverSummary};
use super::report::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Markdown,
    Json,
    Csv,
    Html,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown report format {0:?}: expected table, markdown, json, csv or html")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "markdown" | "md" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "html" => Ok(Format::Html),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// The report in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Table => table::render(report),
        Format::Markdown => markdown::render(report),
        Format::Json => json::render(report),
        Format::Csv => csv::render(report),
        Format::Html => html::render(report),
    }
}

fn zone(report: &Report) -> Tz {
    report.period.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

/// A local time in the report's zone, with its abbreviation (`CEST`), so a
/// reader in the contract's zone reads it directly.
fn local_time(tz: Tz, ms: i64) -> String {
    tz.timestamp_millis_opt(ms).earliest().map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S %Z").to_string(),
    )
}

/// RFC 3339 with the zone's offset, for machine formats.
fn rfc3339(tz: Tz, ms: i64) -> String {
    tz.timestamp_millis_opt(ms)
        .earliest()
        .map_or_else(|| ms.to_string(), |t| t.to_rfc3339())
}

/// Minutes, truncated to three decimals, trailing zeros dropped: `43.2`.
fn minutes(ms: i64) -> String {
    let (units, scale) = Ratio::new(ms.unsigned_abs().into(), 60_000).truncated(3);
    let text = super::exact::Decimal::new(units, scale).to_string();
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if ms < 0 {
        format!("-{text}")
    } else {
        text.to_string()
    }
}

/// `99.987` (truncated), or `no data`.
fn availability(v: &Verdict, decimals: u32) -> String {
    v.availability
        .map_or_else(|| "no data".to_string(), |a| a.percent_truncated(decimals))
}

fn met(v: &Verdict) -> &'static str {
    match v.met {
        Some(true) => "met",
        Some(false) => "missed",
        None => "no data",
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "met" } else { "missed" }
}

fn opt_ms(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".to_string(), human_ms)
}

/// `2, longest 1.2s (objective 3s: met)`: the failover summary as the
/// table, markdown and HTML say it.
fn failover_summary(f: &FailoverSummary) -> String {
    format!(
        "{}, longest {} (objective {}: {})",
        f.failovers.len(),
        opt_ms(f.longest_ms),
        human_ms(f.objective_ms),
        yes_no(f.met)
    )
}

/// What a reader must know about one failover besides its times: over the
/// objective, cut by the period's edges.
fn failover_notes(f: &Failover) -> String {
    let mut notes = Vec::new();
    if f.exceeds_objective {
        notes.push("over objective");
    }
    if f.began_before_period {
        notes.push("began before the period");
    }
    if f.continues_after_period {
        notes.push("goes on after the period");
    }
    notes.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_truncated_not_rounded() {
        assert_eq!(minutes(43 * 60_000 + 12_000), "43.2");
        assert_eq!(minutes(59_999), "0.999");
        assert_eq!(minutes(0), "0");
        assert_eq!(minutes(-90_000), "-1.5");
    }

    #[test]
    fn formats_parse() {
        assert_eq!("html".parse::<Format>(), Ok(Format::Html));
        assert!("pdf".parse::<Format>().is_err());
    }
}

#[cfg(test)]
mod failover_tests;
