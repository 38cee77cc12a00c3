//! JSON for machines. Exact values travel as strings (`"99.99"`, a
//! fraction `"2591740800/2592000000"`) and integer milliseconds, never as
//! floats, so a consumer can redo the verdict without rounding.

use serde_json::{Value, json};

use super::super::availability::ExactMs;
use super::super::report::{Report, ServiceReport};
use super::table::policy;
use super::{availability, met, rfc3339, zone};

pub fn render(report: &Report) -> String {
    let tz = zone(report);
    let p = &report.period;
    let value = json!({
        "period": {
            "label": p.label,
            "time_zone": p.time_zone,
            "start": rfc3339(tz, p.span.start),
            "end": rfc3339(tz, p.span.end),
            "minutes": p.minutes(),
            "ms": p.span.len_ms(),
        },
        "services": report.services.iter().map(|s| service(report, s)).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

fn exact_ms(e: ExactMs) -> Value {
    json!({ "ms": e.floor_ms(), "exact": format!("{}/{}", e.scaled, e.den) })
}

fn service(report: &Report, s: &ServiceReport) -> Value {
    let tz = zone(report);
    let (b, v, c, i) = (&s.breakdown, &s.verdict, &s.credit, &s.incidents);
    json!({
        "name": s.name,
        "up_expression": s.expression,
        "ms": {
            "period": b.period_ms,
            "up": b.up_ms,
            "down": b.down_ms,
            "unknown": b.unknown_ms,
            "maintenance": b.maintenance_ms,
            "eligible": v.eligible_ms,
            "counted_up": v.counted_up_ms,
            "counted_down": v.counted_down_ms,
        },
        "no_data_policy": policy(v),
        "availability": {
            "percent_truncated": availability(v, report.decimals),
            "decimals": report.decimals,
            "fraction": v.availability.map(|a| format!("{}/{}", a.num(), a.den())),
        },
        "objective_percent": v.objective,
        "objective": met(v),
        "allowed_downtime": exact_ms(v.allowed_downtime),
        "remaining_budget": exact_ms(v.remaining_budget),
        "credit": {
            "tier": c.tier_label,
            "percent": c.percent,
            "capped": c.capped,
            "amount": c.amount,
            "currency": c.currency,
        },
        "maintenance": s.windows.iter().map(|w| json!({
            "start": rfc3339(tz, w.span.start),
            "end": rfc3339(tz, w.span.end),
            "ms": w.span.len_ms(),
            "kind": w.kind,
            "reason": w.reason,
            "excluded": w.excluded,
            "notice_ms": w.notice_ms,
            "not_excluded_because": w.refused_because,
        })).collect::<Vec<_>>(),
        "incidents": i.incidents.iter().map(|inc| json!({
            "start": rfc3339(tz, inc.span.start),
            "end": rfc3339(tz, inc.span.end),
            "duration_ms": inc.duration_ms,
            "detected_by": inc.detected_by,
            "began_before_period": inc.began_before_period,
            "continues_after_period": inc.continues_after_period,
            "exceeds_rto": inc.exceeds_rto,
        })).collect::<Vec<_>>(),
        "mttr_ms": i.mttr_ms,
        "mttr_target_ms": i.mttr_target_ms,
        "mttr_met": i.mttr_met,
        "longest_incident_ms": i.longest_ms,
        "rto_ms": i.rto_target_ms,
        "rto_met": i.rto_met,
        "failovers": s.failovers.as_ref().map(|f| json!({
            "objective_ms": f.objective_ms,
            "objective_met": f.met,
            "count": f.failovers.len(),
            "longest_ms": f.longest_ms,
            "list": f.failovers.iter().map(|one| json!({
                "start": rfc3339(tz, one.span.start),
                "end": rfc3339(tz, one.span.end),
                "duration_ms": one.duration_ms,
                "began_before_period": one.began_before_period,
                "continues_after_period": one.continues_after_period,
                "exceeds_objective": one.exceeds_objective,
            })).collect::<Vec<_>>(),
        })),
        "daily": s.daily.iter().map(|d| json!({
            "date": d.date.to_string(),
            "availability_percent_truncated": availability(&d.verdict, report.decimals),
            "objective": met(&d.verdict),
        })).collect::<Vec<_>>(),
    })
}
