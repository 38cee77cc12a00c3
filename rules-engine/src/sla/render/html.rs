//! One self-contained HTML page: inline CSS, inline SVG, no script, no
//! external resource, so it can be mailed, archived and printed as is.

use std::fmt::Write;

use super::super::availability::human_ms;
use super::super::report::{Report, ServiceReport};
use super::table::policy;
use super::{
    availability, failover_notes, failover_summary, local_time, met, minutes, opt_ms, svg, yes_no,
    zone,
};

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;color:#111;margin:2em;max-width:1000px}\
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.25em;margin:1.5em 0 .4em;border-bottom:1px solid #999}\
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.met{color:#2e7d32;font-weight:bold}.missed{color:#c62828;font-weight:bold}\
.nodata{color:#666;font-weight:bold}.axis{font-size:9px;fill:#333}code{font-size:.9em}.legend span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em}\
section{break-inside:avoid}@media print{body{margin:0;font-size:11px}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}h2{break-after:avoid}}";

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn class(result: &str) -> &'static str {
    match result {
        "met" => "met",
        "missed" => "missed",
        _ => "nodata",
    }
}

pub fn render(report: &Report) -> String {
    let tz = zone(report);
    let p = &report.period;
    let mut out = String::new();
    let title = format!("SLA report {}", p.label);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body>\n<h1>{t}</h1>\n",
        t = escape(&title)
    );
    let _ = writeln!(
        out,
        "<p>{} to {} ({}), {} minutes.</p>",
        local_time(tz, p.span.start),
        local_time(tz, p.span.end),
        escape(&p.time_zone),
        p.minutes()
    );
    out.push_str("<table><tr><th>Service</th><th>Availability %</th><th>Objective %</th><th>Result</th><th>Credit</th></tr>\n");
    for s in &report.services {
        let v = &s.verdict;
        let r = met(v);
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"{}\">{r}</td><td class=\"n\">{} % = {} {}</td></tr>",
            escape(&s.name),
            availability(v, report.decimals),
            v.objective,
            class(r),
            s.credit.percent,
            s.credit.amount,
            escape(&s.credit.currency)
        );
    }
    out.push_str("</table>\n");
    for s in &report.services {
        service(&mut out, report, s);
    }
    out.push_str("</body></html>\n");
    out
}

fn row(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "<tr><th>{label}</th><td>{value}</td></tr>");
}

fn service(out: &mut String, report: &Report, s: &ServiceReport) {
    let tz = zone(report);
    let (b, v, c, i) = (&s.breakdown, &s.verdict, &s.credit, &s.incidents);
    let _ = writeln!(out, "<section>\n<h2>{}</h2>", escape(&s.name));
    out.push_str("<table>\n");
    row(
        out,
        "Up when",
        &format!("<code>{}</code>", escape(&s.expression)),
    );
    row(
        out,
        "Observed",
        &format!(
            "{} min (up {}, down {})",
            minutes(b.up_ms + b.down_ms),
            minutes(b.up_ms),
            minutes(b.down_ms)
        ),
    );
    row(
        out,
        "No data",
        &format!("{} min, {}", minutes(b.unknown_ms), policy(v)),
    );
    row(
        out,
        "Maintenance excluded",
        &format!("{} min", minutes(b.maintenance_ms)),
    );
    row(
        out,
        "Downtime",
        &format!("{} min", minutes(v.counted_down_ms)),
    );
    let r = met(v);
    row(
        out,
        "Availability",
        &format!(
            "{} % (truncated) against {} %: <span class=\"{}\">{r}</span>",
            availability(v, report.decimals),
            v.objective,
            class(r)
        ),
    );
    row(
        out,
        "Allowed downtime",
        &human_ms(v.allowed_downtime.floor_ms()),
    );
    row(
        out,
        "Remaining budget",
        &human_ms(v.remaining_budget.floor_ms()),
    );
    let tier = c.tier_label.as_deref().unwrap_or("none");
    row(
        out,
        "Credit",
        &format!(
            "{} % (tier {}{}) = {} {}",
            c.percent,
            escape(tier),
            if c.capped { ", capped" } else { "" },
            c.amount,
            escape(&c.currency)
        ),
    );
    row(
        out,
        "MTTR",
        &format!(
            "{} (target {}: {})",
            opt_ms(i.mttr_ms),
            human_ms(i.mttr_target_ms),
            yes_no(i.mttr_met)
        ),
    );
    row(
        out,
        "Longest incident",
        &format!(
            "{} (RTO {}: {})",
            opt_ms(i.longest_ms),
            human_ms(i.rto_target_ms),
            yes_no(i.rto_met)
        ),
    );
    if let Some(f) = &s.failovers {
        row(out, "Failovers", &failover_summary(f));
    }
    out.push_str("</table>\n<h3>Daily availability</h3>\n");
    out.push_str(&svg::daily_chart(s, report.decimals));
    out.push_str("\n<h3>Timeline</h3>\n");
    out.push_str(&svg::timeline(s, report.period.span));
    out.push_str("\n<p class=\"legend\"><span style=\"background:#c62828\"></span>incident<span style=\"background:#1565c0\"></span>maintenance, excluded<span style=\"background:#ef6c00\"></span>maintenance, not excluded<span style=\"background:#bdbdbd\"></span>no data");
    if s.failovers.is_some() {
        let _ = write!(
            out,
            "<span style=\"background:{}\"></span>failover (no writable primary)",
            svg::FAILOVER
        );
    }
    out.push_str("</p>\n");
    if !s.windows.is_empty() {
        out.push_str("<table><tr><th>Maintenance start</th><th>End</th><th>Reason</th><th>Excluded</th></tr>\n");
        for w in &s.windows {
            let verdict = w
                .refused_because
                .as_ref()
                .map_or_else(|| "yes".to_string(), |r| format!("no: {}", escape(r)));
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{verdict}</td></tr>",
                local_time(tz, w.span.start),
                local_time(tz, w.span.end),
                escape(&w.reason)
            );
        }
        out.push_str("</table>\n");
    }
    if !i.incidents.is_empty() {
        out.push_str("<table><tr><th>Incident start</th><th>End</th><th>Duration</th><th>Over RTO</th><th>Detected by</th></tr>\n");
        for inc in &i.incidents {
            let over = if inc.exceeds_rto { "yes" } else { "no" };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{over}</td><td><code>{}</code></td></tr>",
                local_time(tz, inc.span.start),
                local_time(tz, inc.span.end),
                human_ms(inc.duration_ms),
                escape(&inc.detected_by)
            );
        }
        out.push_str("</table>\n");
    }
    if let Some(f) = s.failovers.as_ref().filter(|f| !f.failovers.is_empty()) {
        out.push_str("<table><tr><th>Failover start</th><th>End</th><th>Without a writable primary</th><th>Notes</th></tr>\n");
        for one in &f.failovers {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                local_time(tz, one.span.start),
                local_time(tz, one.span.end),
                human_ms(one.duration_ms),
                failover_notes(one)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
}
