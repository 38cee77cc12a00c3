//! Plain text for a terminal: one block of aligned lines per service.

use std::fmt::Write;

use super::super::availability::human_ms;
use super::super::report::{Report, ServiceReport};
use super::{
    availability, failover_notes, failover_summary, local_time, met, minutes, opt_ms, yes_no, zone,
};

pub fn render(report: &Report) -> String {
    let tz = zone(report);
    let p = &report.period;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "SLA report {} ({}), {} minutes",
        p.label,
        p.time_zone,
        p.minutes()
    );
    let _ = writeln!(
        out,
        "from {} to {}",
        local_time(tz, p.span.start),
        local_time(tz, p.span.end)
    );
    for s in &report.services {
        out.push('\n');
        service(&mut out, report, s);
    }
    out
}

fn line(out: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "  {label:<20} {value}");
}

fn service(out: &mut String, report: &Report, s: &ServiceReport) {
    let tz = zone(report);
    let (b, v) = (&s.breakdown, &s.verdict);
    let _ = writeln!(out, "Service {}", s.name);
    line(out, "up when", &s.expression);
    line(
        out,
        "observed",
        format!(
            "{} min (up {} min, down {} min)",
            minutes(b.up_ms + b.down_ms),
            minutes(b.up_ms),
            minutes(b.down_ms)
        ),
    );
    line(
        out,
        "no data",
        format!("{} min (policy: {})", minutes(b.unknown_ms), policy(v)),
    );
    line(
        out,
        "maintenance",
        format!("{} min excluded", minutes(b.maintenance_ms)),
    );
    line(
        out,
        "downtime",
        format!("{} min counted", minutes(v.counted_down_ms)),
    );
    line(
        out,
        "availability",
        format!(
            "{} % (truncated, {} of {} min eligible)",
            availability(v, report.decimals),
            minutes(v.counted_up_ms),
            minutes(v.eligible_ms)
        ),
    );
    line(out, "objective", format!("{} %: {}", v.objective, met(v)));
    line(
        out,
        "allowed downtime",
        human_ms(v.allowed_downtime.floor_ms()),
    );
    line(
        out,
        "remaining budget",
        human_ms(v.remaining_budget.floor_ms()),
    );
    let c = &s.credit;
    let tier = c.tier_label.as_deref().unwrap_or("none");
    let cap = if c.capped { " (capped)" } else { "" };
    line(
        out,
        "credit",
        format!(
            "{} % of the fee, tier {tier}{cap}: {} {}",
            c.percent, c.amount, c.currency
        ),
    );
    let i = &s.incidents;
    line(out, "incidents", i.incidents.len());
    line(
        out,
        "MTTR",
        format!(
            "{} (target {}: {})",
            opt_ms(i.mttr_ms),
            human_ms(i.mttr_target_ms),
            yes_no(i.mttr_met)
        ),
    );
    line(
        out,
        "longest",
        format!(
            "{} (RTO {}: {})",
            opt_ms(i.longest_ms),
            human_ms(i.rto_target_ms),
            yes_no(i.rto_met)
        ),
    );
    if let Some(f) = &s.failovers {
        line(out, "failovers", failover_summary(f));
    }
    if !s.windows.is_empty() {
        let _ = writeln!(out, "  maintenance windows:");
        for w in &s.windows {
            let verdict = w
                .refused_because
                .as_ref()
                .map_or_else(|| "excluded".to_string(), |r| format!("NOT excluded: {r}"));
            let _ = writeln!(
                out,
                "    {} .. {}  {}  {verdict}",
                local_time(tz, w.span.start),
                local_time(tz, w.span.end),
                w.reason
            );
        }
    }
    if !i.incidents.is_empty() {
        let _ = writeln!(out, "  incidents:");
        for inc in &i.incidents {
            let rto = if inc.exceeds_rto { "  over RTO" } else { "" };
            let _ = writeln!(
                out,
                "    {} .. {}  {}{rto}  detected by {}",
                local_time(tz, inc.span.start),
                local_time(tz, inc.span.end),
                human_ms(inc.duration_ms),
                inc.detected_by
            );
        }
    }
    if let Some(f) = s.failovers.as_ref().filter(|f| !f.failovers.is_empty()) {
        let _ = writeln!(out, "  failovers (time without a writable primary):");
        for one in &f.failovers {
            let notes = failover_notes(one);
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!("  {notes}")
            };
            let _ = writeln!(
                out,
                "    {} .. {}  {}{notes}",
                local_time(tz, one.span.start),
                local_time(tz, one.span.end),
                human_ms(one.duration_ms)
            );
        }
    }
}

pub(super) fn policy(v: &super::super::availability::Verdict) -> &'static str {
    match v.policy {
        super::super::config::NoDataPolicy::Excluded => "excluded",
        super::super::config::NoDataPolicy::Up => "counted up",
        super::super::config::NoDataPolicy::Down => "counted down",
    }
}
