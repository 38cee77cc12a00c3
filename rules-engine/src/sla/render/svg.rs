//! The two pictures of the HTML report, as inline SVG: daily availability
//! bars and an incident timeline. Coordinates are floats because they are
//! pixels; every number printed as text comes from the exact report.

use std::fmt::Write;

use super::super::availability::human_ms;
use super::super::report::{Day, ServiceReport};
use super::super::span::Span;
use super::html::escape;
use super::{availability, met};

/// Narrowest an incident is drawn on the timeline, in pixels.
const MIN_INCIDENT_PX: f64 = 3.0;

const MET: &str = "#2e7d32";
const MISSED: &str = "#c62828";
const NO_DATA: &str = "#bdbdbd";
const EXCLUDED: &str = "#1565c0";
const REFUSED: &str = "#ef6c00";
/// Failover markers (and their legend entry in the HTML page).
pub const FAILOVER: &str = "#6a1b9a";

/// Bars of each day's availability. The y axis starts below both the worst
/// day and the objective, so a 99.9x % month is not a row of full bars.
pub fn daily_chart(s: &ServiceReport, decimals: u32) -> String {
    let days = &s.daily;
    let objective = s.verdict.objective.ratio().to_f64_lossy();
    let worst = days
        .iter()
        .filter_map(|d| d.verdict.availability)
        .map(|a| a.to_f64_lossy() * 100.0)
        .fold(objective, f64::min);
    let lo = (100.0 - (100.0 - worst).max(0.01) * 1.25).max(0.0);
    let (left, top, bar, gap, height) = (44.0, 10.0, 16.0, 4.0, 140.0);
    let width = left + days.len() as f64 * (bar + gap) + 10.0;
    let y = |pct: f64| top + height * (100.0 - pct.clamp(lo, 100.0)) / (100.0 - lo);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg class="chart" role="img" aria-label="Daily availability of {name}" viewBox="0 0 {width:.0} {h:.0}" width="{width:.0}" height="{h:.0}" xmlns="http://www.w3.org/2000/svg">"##,
        name = escape(&s.name),
        h = top + height + 30.0
    );
    let _ = write!(
        out,
        r##"<text x="{x}" y="{y0:.1}" class="axis" text-anchor="end">100 %</text><text x="{x}" y="{y1:.1}" class="axis" text-anchor="end">{lo:.2} %</text>"##,
        x = left - 4.0,
        y0 = top + 4.0,
        y1 = top + height
    );
    let _ = write!(
        out,
        r##"<line x1="{left}" y1="{top}" x2="{left}" y2="{b}" stroke="#555"/><line x1="{left}" y1="{b}" x2="{width:.0}" y2="{b}" stroke="#555"/>"##,
        b = top + height
    );
    for (i, d) in days.iter().enumerate() {
        let x = left + gap + i as f64 * (bar + gap);
        bar_for(&mut out, d, x, bar, y, top + height, decimals);
        if i % 2 == 0 || days.len() <= 16 {
            let _ = write!(
                out,
                r##"<text x="{cx:.1}" y="{ty:.1}" class="axis" text-anchor="middle">{n}</text>"##,
                cx = x + bar / 2.0,
                ty = top + height + 14.0,
                n = d.date.format("%d")
            );
        }
    }
    let oy = y(objective * 100.0);
    let _ = write!(
        out,
        r##"<line x1="{left}" y1="{oy:.1}" x2="{width:.0}" y2="{oy:.1}" stroke="#000" stroke-dasharray="4 3"/><text x="{tx:.0}" y="{ty:.1}" class="axis" text-anchor="end">objective {o} %</text></svg>"##,
        tx = width - 2.0,
        ty = oy - 3.0,
        o = s.verdict.objective
    );
    out
}

fn bar_for(
    out: &mut String,
    d: &Day,
    x: f64,
    w: f64,
    y: impl Fn(f64) -> f64,
    base: f64,
    decimals: u32,
) {
    let (colour, top) = match (d.verdict.availability, d.verdict.met) {
        (Some(a), Some(true)) => (MET, y(a.to_f64_lossy() * 100.0)),
        (Some(a), _) => (MISSED, y(a.to_f64_lossy() * 100.0)),
        (None, _) => (NO_DATA, y(100.0)),
    };
    let h = (base - top).max(1.0);
    let _ = write!(
        out,
        r##"<rect x="{x:.1}" y="{ry:.1}" width="{w}" height="{h:.1}" fill="{colour}"><title>{date}: {a} % ({m})</title></rect>"##,
        ry = base - h,
        date = d.date,
        a = availability(&d.verdict, decimals),
        m = met(&d.verdict)
    );
}

/// The period as a line: excluded maintenance in blue, maintenance that was
/// not excluded in orange, no data in grey, incidents in red (at least
/// [`MIN_INCIDENT_PX`] wide: at 760 px a month, a pixel is about an hour, so
/// narrower a 30-second outage would vanish, on screen and on paper), with a
/// tick at the start of each week, and a marker above the line where each
/// failover began (a 2-second failover is far narrower than a pixel).
pub fn timeline(s: &ServiceReport, period: Span) -> String {
    let (left, width, y, h) = (10.0, 760.0, 20.0, 24.0);
    let total = period.len_ms().max(1) as f64;
    let x = |ms: i64| left + width * (ms - period.start) as f64 / total;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg class="timeline" role="img" aria-label="Incident timeline of {name}" viewBox="0 0 780 70" width="780" height="70" xmlns="http://www.w3.org/2000/svg">"##,
        name = escape(&s.name)
    );
    let _ = write!(
        out,
        r##"<rect x="{left}" y="{y}" width="{width}" height="{h}" fill="{MET}" fill-opacity="0.25" stroke="#555"/>"##
    );
    for w in &s.windows {
        let colour = if w.excluded { EXCLUDED } else { REFUSED };
        let _ = write!(
            out,
            r##"<rect x="{:.1}" y="{y}" width="{:.1}" height="{h}" fill="{colour}"><title>{}</title></rect>"##,
            x(w.span.start),
            (x(w.span.end) - x(w.span.start)).max(1.0),
            escape(&w.reason)
        );
    }
    for u in &s.unknown {
        let _ = write!(
            out,
            r##"<rect x="{:.1}" y="{y}" width="{:.1}" height="{h}" fill="{NO_DATA}"><title>no data, {}</title></rect>"##,
            x(u.start),
            (x(u.end) - x(u.start)).max(1.0),
            human_ms(u.len_ms())
        );
    }
    for inc in &s.incidents.incidents {
        let _ = write!(
            out,
            r##"<rect x="{:.1}" y="{y}" width="{:.1}" height="{h}" fill="{MISSED}"><title>incident, {}</title></rect>"##,
            x(inc.span.start),
            (x(inc.span.end) - x(inc.span.start)).max(MIN_INCIDENT_PX),
            human_ms(inc.duration_ms)
        );
    }
    for f in s.failovers.iter().flat_map(|f| &f.failovers) {
        let fx = x(f.span.start);
        let _ = write!(
            out,
            r##"<path d="M{a:.1} 6 L{b:.1} 6 L{fx:.1} {tip} Z" fill="{FAILOVER}"><title>failover, {} without a writable primary</title></path>"##,
            human_ms(f.duration_ms),
            a = fx - 5.0,
            b = fx + 5.0,
            tip = y - 2.0
        );
    }
    for d in s
        .daily
        .iter()
        .filter(|d| d.date.format("%u").to_string() == "1")
    {
        let tx = x(d.span.start);
        let _ = write!(
            out,
            r##"<line x1="{tx:.1}" y1="{y1}" x2="{tx:.1}" y2="{y2}" stroke="#555"/><text x="{tx:.1}" y="{ty}" class="axis" text-anchor="middle">{label}</text>"##,
            y1 = y + h,
            y2 = y + h + 5.0,
            ty = y + h + 17.0,
            label = d.date.format("%b %d")
        );
    }
    out.push_str("</svg>");
    out
}
