//! Markdown: a summary table of all services, then each service's windows
//! and incidents, for pasting into a ticket or a wiki.

use std::fmt::Write;

use super::super::availability::human_ms;
use super::super::report::{Report, ServiceReport};
use super::table::policy;
use super::{
    availability, failover_notes, failover_summary, local_time, met, minutes, opt_ms, yes_no, zone,
};

/// Markdown table cells cannot hold `|` or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report) -> String {
    let tz = zone(report);
    let p = &report.period;
    let mut out = String::new();
    let _ = writeln!(out, "# SLA report {}\n", p.label);
    let _ = writeln!(
        out,
        "Period: {} to {} ({}), {} minutes.\n",
        local_time(tz, p.span.start),
        local_time(tz, p.span.end),
        p.time_zone,
        p.minutes()
    );
    out.push_str("| Service | Availability % | Objective % | Result | Downtime (min) | No data (min) | Maintenance (min) | Allowed | Remaining | Credit | Amount |\n");
    out.push_str("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for s in &report.services {
        let v = &s.verdict;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} % | {} {} |",
            cell(&s.name),
            availability(v, report.decimals),
            v.objective,
            met(v),
            minutes(v.counted_down_ms),
            minutes(s.breakdown.unknown_ms),
            minutes(s.breakdown.maintenance_ms),
            human_ms(v.allowed_downtime.floor_ms()),
            human_ms(v.remaining_budget.floor_ms()),
            s.credit.percent,
            s.credit.amount,
            cell(&s.credit.currency)
        );
    }
    for s in &report.services {
        service(&mut out, report, s);
    }
    out
}

fn service(out: &mut String, report: &Report, s: &ServiceReport) {
    let tz = zone(report);
    let i = &s.incidents;
    let _ = writeln!(out, "\n## {}\n", s.name);
    let _ = writeln!(
        out,
        "Up when `{}`. No-data time is {}.\n",
        s.expression.replace('`', "'"),
        policy(&s.verdict)
    );
    let _ = writeln!(
        out,
        "Incidents: {}; MTTR {} (target {}: {}); longest {} (RTO {}: {}).",
        i.incidents.len(),
        opt_ms(i.mttr_ms),
        human_ms(i.mttr_target_ms),
        yes_no(i.mttr_met),
        opt_ms(i.longest_ms),
        human_ms(i.rto_target_ms),
        yes_no(i.rto_met)
    );
    if let Some(f) = &s.failovers {
        let _ = writeln!(
            out,
            "\nFailovers (time without a writable primary): {}.",
            failover_summary(f)
        );
    }
    if !s.windows.is_empty() {
        out.push_str("\n| Maintenance start | End | Reason | Excluded |\n|---|---|---|---|\n");
        for w in &s.windows {
            let verdict = w
                .refused_because
                .as_ref()
                .map_or_else(|| "yes".to_string(), |r| format!("no: {r}"));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                local_time(tz, w.span.start),
                local_time(tz, w.span.end),
                cell(&w.reason),
                cell(&verdict)
            );
        }
    }
    if !i.incidents.is_empty() {
        out.push_str("\n| Incident start | End | Duration | Over RTO | Detected by |\n|---|---|---:|---|---|\n");
        for inc in &i.incidents {
            let over = if inc.exceeds_rto { "yes" } else { "no" };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {over} | `{}` |",
                local_time(tz, inc.span.start),
                local_time(tz, inc.span.end),
                human_ms(inc.duration_ms),
                cell(&inc.detected_by.replace('`', "'"))
            );
        }
    }
    if let Some(f) = s.failovers.as_ref().filter(|f| !f.failovers.is_empty()) {
        out.push_str(
            "\n| Failover start | End | Without a writable primary | Notes |\n|---|---|---:|---|\n",
        );
        for one in &f.failovers {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                local_time(tz, one.span.start),
                local_time(tz, one.span.end),
                human_ms(one.duration_ms),
                failover_notes(one)
            );
        }
    }
}
