//! One report: for each service, the period's breakdown, verdict, credit,
//! maintenance decisions, incidents and daily availability, in a shape the
//! renderers only format (they compute nothing).

use super::availability::{self, Breakdown, Verdict};
use super::config::{ServiceConfig, SlaConfig};
use super::credit::{self, Credit};
use super::failovers::{self, FailoverSummary};
use super::incidents::{self, IncidentSummary};
use super::ledger::{self, Interval, LedgerStore, State};
use super::maintenance::{self, WindowDecision};
use super::period::{self, Period};
use super::span::{self, Span};
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
    /// Only for a service with a `failover_objective`.
    pub failovers: Option<FailoverSummary>,
    /// Time with no data outside excluded maintenance (for the timeline).
    pub unknown: Vec<Span>,
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
        failovers: service
            .failover_objective
            .map(|o| failovers::failovers(period.span, &tiled, o.as_millis())),
        unknown: tiled
            .iter()
            .filter(|iv| iv.state == State::Unknown)
            .flat_map(|iv| span::subtract(iv.span, &excluded))
            .collect(),
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

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no SLA service named {0:?} in the configuration")]
    UnknownService(String),
    #[error("reading the availability ledger of service {service:?}: {source}")]
    Ledger {
        service: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// [`report`] over a ledger store: what `vigil sla report` and `vigil sla
/// budget` call. An unknown `only` service is an error (the CLI exits
/// non-zero), not an empty report.
pub async fn report_from_ledger<L: LedgerStore>(
    cfg: &SlaConfig,
    period: &Period,
    only: Option<&str>,
    ledger: &L,
) -> Result<Report, ReportError> {
    if let Some(name) = only.filter(|n| !cfg.services.iter().any(|s| s.name == *n)) {
        return Err(ReportError::UnknownService(name.to_string()));
    }
    let mut rows = std::collections::HashMap::new();
    for s in cfg
        .services
        .iter()
        .filter(|s| only.is_none_or(|o| o == s.name))
    {
        let got = ledger
            .read(&s.name, period.span)
            .await
            .map_err(|e| ReportError::Ledger {
                service: s.name.clone(),
                source: Box::new(e),
            })?;
        rows.insert(s.name.clone(), got);
    }
    Ok(report(cfg, period, only, |name| {
        rows.remove(name).unwrap_or_default()
    }))
}

/// The `/metrics` gauges of a service report (floats by nature; the
/// verdict itself never uses them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gauges {
    /// `vigil_sla_availability_ratio{service}`; NaN without data.
    pub availability_ratio: f64,
    /// `vigil_sla_error_budget_remaining_ratio{service}`: 1 unspent, 0
    /// spent, negative overspent.
    pub error_budget_remaining_ratio: f64,
    /// `vigil_sla_downtime_seconds_total{service}` over the period.
    pub downtime_seconds: f64,
}

impl ServiceReport {
    pub fn gauges(&self) -> Gauges {
        Gauges {
            availability_ratio: self
                .verdict
                .availability
                .map_or(f64::NAN, |a| a.to_f64_lossy()),
            error_budget_remaining_ratio: self.verdict.remaining_ratio_lossy(),
            downtime_seconds: self.verdict.counted_down_ms as f64 / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn cfg() -> SlaConfig {
        yaml_serde::from_str("services:\n  - { name: app, up: up }\n  - { name: db, up: pg_up }\n")
            .unwrap()
    }

    #[test]
    fn month_to_date_budget_and_gauges() {
        let c = cfg();
        let month = period::month(2026, 11, chrono_tz::UTC).unwrap();
        let now = month.span.start + 30 * 1440 * MIN / 2; // halfway
        let p = period::current_month_to_date(chrono_tz::UTC, now).unwrap();
        let down = Interval {
            span: Span::new(p.span.start + MIN, p.span.start + 2 * MIN),
            state: State::Down,
        };
        let up = Interval {
            span: Span::new(p.span.start + 2 * MIN, now),
            state: State::Up,
        };
        let first = Interval {
            span: Span::new(p.span.start, p.span.start + MIN),
            state: State::Up,
        };
        let r = report(&c, &p, Some("app"), |_| vec![first, down, up]);
        assert_eq!(r.services.len(), 1);
        let s = &r.services[0];
        // 15 days at 99.99 %: 129.6 s allowed, 60 s spent
        assert_eq!(s.verdict.allowed_downtime.floor_ms(), 129_600);
        assert_eq!(s.verdict.remaining_budget.floor_ms(), 69_600);
        let g = s.gauges();
        assert_eq!(g.downtime_seconds, 60.0);
        assert!((g.error_budget_remaining_ratio - 69.6 / 129.6).abs() < 1e-12);
        assert!(!s.missing_data());
        assert_eq!(s.daily.len(), 15);
    }

    #[test]
    fn reports_from_a_ledger_store() {
        use crate::sla::ledger::MemoryLedger;
        let c = cfg();
        let p = period::month(2026, 11, chrono_tz::UTC).unwrap();
        let ledger = MemoryLedger::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            ledger
                .append(
                    "db",
                    Interval {
                        span: p.span,
                        state: State::Up,
                    },
                )
                .await
                .unwrap();
            let r = report_from_ledger(&c, &p, Some("db"), &ledger)
                .await
                .unwrap();
            assert_eq!(r.services.len(), 1);
            assert_eq!(r.services[0].verdict.met, Some(true));
            let err = report_from_ledger(&c, &p, Some("cache"), &ledger)
                .await
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "no SLA service named \"cache\" in the configuration"
            );
            let all = report_from_ledger(&c, &p, None, &ledger).await.unwrap();
            assert!(all.services[0].missing_data() && !all.services[1].missing_data());
        });
    }

    #[test]
    fn a_service_without_ledger_rows_is_missing_data() {
        let c = cfg();
        let p = period::month(2026, 11, chrono_tz::UTC).unwrap();
        let r = report(&c, &p, None, |_| Vec::new());
        assert_eq!(r.services.len(), 2);
        assert!(
            r.services
                .iter()
                .all(|s| s.missing_data() && s.gauges().availability_ratio.is_nan())
        );
        assert_eq!(r.services[0].breakdown.unknown_ms, p.span.len_ms());
        assert_eq!(r.services[0].unknown, vec![p.span]);
        assert_eq!(r.services[0].credit.percent.to_string(), "0");
    }
}
