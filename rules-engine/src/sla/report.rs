//! One report: for each service, the period's breakdown, verdict, credit,
//! maintenance decisions, incidents and daily availability, in a shape the
//! renderers only format (they compute nothing).

use super::availability::{self, Breakdown, Verdict};
use super::config::{ServiceConfig, SlaConfig};
use super::credit::{self, Credit};
use super::incidents::{self, IncidentSummary};
use super::ledger::{self, Interval};
use super::maintenance::{self, WindowDecision};
use super::period::{self, Period};
use super::span::Span;
use chrono::NaiveDate;

#[derive(Debug, Clone)]
pub struct Report {
    pub period: Period,
    /// Decimal places availability is shown with (truncated).
    pub decimals: u32,
    pub services: Vec<ServiceReport>,
}

#[derive(Debug, Clone)]
pub struct ServiceReport {
    pub name: String,
    pub expression: String,
    pub breakdown: Breakdown,
    pub verdict: Verdict,
    pub credit: Credit,
    pub windows: Vec<WindowDecision>,
    pub incidents: IncidentSummary,
    pub daily: Vec<Day>,
}

/// One local day of the period, for the daily chart.
#[derive(Debug, Clone)]
pub struct Day {
    pub date: NaiveDate,
    pub span: Span,
    pub verdict: Verdict,
}

impl ServiceReport {
    /// Time with no data: the report must say so, and the CLI may refuse
    /// (non-zero exit) a report whose availability cannot be judged.
    pub fn missing_data(&self) -> bool {
        self.verdict.availability.is_none()
    }
}

/// Builds the report of `service` over `period` from its ledger intervals
/// (any order, may overlap the period's edges).
pub fn service_report(
    cfg: &SlaConfig,
    service: &ServiceConfig,
    period: &Period,
    intervals: &[Interval],
) -> ServiceReport {
    let tiled = ledger::tile(period.span, intervals);
    let windows = maintenance::windows(&cfg.maintenance, cfg.time_zone, &service.name, period.span);
    let excluded = maintenance::excluded_spans(&windows);
    let breakdown = availability::breakdown(period.span, &tiled, &excluded);
    let verdict = availability::verdict(&breakdown, cfg.no_data, service.objective);
    let fee = service.monthly_fee.unwrap_or(cfg.credits.monthly_fee);
    let daily = period::local_days(period, cfg.time_zone.0)
        .into_iter()
        .map(|(date, span)| {
            let b = availability::breakdown(span, &tiled, &excluded);
            Day {
                date,
                span,
                verdict: availability::verdict(&b, cfg.no_data, service.objective),
            }
        })
        .collect();
    ServiceReport {
        name: service.name.clone(),
        expression: service.up.clone(),
        breakdown,
        verdict,
        credit: credit::credit(verdict.availability, &cfg.credits, fee),
        incidents: incidents::incidents(
            period.span,
            &tiled,
            &excluded,
            &service.up,
            service.rto.as_millis(),
            service.mttr.as_millis(),
        ),
        windows,
        daily,
    }
}

/// The report of every configured service (or only `only`), reading each
/// service's intervals through `intervals_of`.
pub fn report<F>(
    cfg: &SlaConfig,
    period: &Period,
    only: Option<&str>,
    mut intervals_of: F,
) -> Report
where
    F: FnMut(&str) -> Vec<Interval>,
{
    let services = cfg
        .services
        .iter()
        .filter(|s| only.is_none_or(|o| o == s.name))
        .map(|s| service_report(cfg, s, period, &intervals_of(&s.name)))
        .collect();
    Report {
        period: period.clone(),
        decimals: cfg.decimals,
        services,
    }
}
