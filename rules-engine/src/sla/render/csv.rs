//! CSV (RFC 4180): one row per service with the summary, for spreadsheets
//! and billing. Maintenance windows, incidents and each failover are in the
//! other formats; the failover columns are empty for a service without a
//! `failover_objective`.

use super::super::report::Report;
use super::table::policy;
use super::{availability, met, rfc3339, zone};

const HEADER: &[&str] = &[
    "service",
    "period_start",
    "period_end",
    "period_ms",
    "up_ms",
    "down_ms",
    "unknown_ms",
    "maintenance_ms",
    "no_data_policy",
    "eligible_ms",
    "counted_down_ms",
    "availability_percent_truncated",
    "objective_percent",
    "objective",
    "allowed_downtime_ms",
    "remaining_budget_ms",
    "credit_tier",
    "credit_percent",
    "credit_amount",
    "currency",
    "incidents",
    "mttr_ms",
    "longest_incident_ms",
    "mttr_met",
    "rto_met",
    "failovers",
    "longest_failover_ms",
    "failover_objective_ms",
    "failover_objective_met",
];

/// Quotes a field when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A number, or an empty field.
fn opt(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

pub fn render(report: &Report) -> String {
    let tz = zone(report);
    let mut out = HEADER.join(",");
    out.push_str("\r\n");
    for s in &report.services {
        let (b, v, c, i) = (&s.breakdown, &s.verdict, &s.credit, &s.incidents);
        let row = [
            s.name.clone(),
            rfc3339(tz, report.period.span.start),
            rfc3339(tz, report.period.span.end),
            b.period_ms.to_string(),
            b.up_ms.to_string(),
            b.down_ms.to_string(),
            b.unknown_ms.to_string(),
            b.maintenance_ms.to_string(),
            policy(v).to_string(),
            v.eligible_ms.to_string(),
            v.counted_down_ms.to_string(),
            availability(v, report.decimals),
            v.objective.to_string(),
            met(v).to_string(),
            v.allowed_downtime.floor_ms().to_string(),
            v.remaining_budget.floor_ms().to_string(),
            c.tier_label.clone().unwrap_or_default(),
            c.percent.to_string(),
            c.amount.to_string(),
            c.currency.clone(),
            i.incidents.len().to_string(),
            opt(i.mttr_ms),
            opt(i.longest_ms),
            i.mttr_met.to_string(),
            i.rto_met.to_string(),
            opt(s.failovers.as_ref().map(|f| f.failovers.len() as i64)),
            opt(s.failovers.as_ref().and_then(|f| f.longest_ms)),
            opt(s.failovers.as_ref().map(|f| f.objective_ms)),
            s.failovers
                .as_ref()
                .map(|f| f.met.to_string())
                .unwrap_or_default(),
        ];
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::field("plain"), "plain");
    }
}
