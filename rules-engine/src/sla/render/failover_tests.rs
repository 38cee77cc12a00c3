//! The failover section in every format: a service with a
//! `failover_objective` and two failovers (1.2 s, 4.5 s against 3 s), and a
//! service without the objective, which shows none.

use super::{Format, render};
use crate::sla::config::SlaConfig;
use crate::sla::ledger::{Interval, State};
use crate::sla::period;
use crate::sla::report::{Report, report};
use crate::sla::span::Span;

const HOUR: i64 = 3_600_000;

fn report_with_failovers() -> Report {
    let cfg: SlaConfig = yaml_serde::from_str(
        "services:\n  - { name: db, up: 'count(pg_replication_is_replica == 0) >= bool 1', failover_objective: 3s }\n  - { name: app, up: up }\n",
    )
    .unwrap();
    let p = period::month(2026, 11, chrono_tz::UTC).unwrap();
    let t0 = p.span.start;
    let cut = [
        (t0, State::Up),
        (t0 + HOUR, State::Down),
        (t0 + HOUR + 1_200, State::Up),
        (t0 + 2 * HOUR, State::Down),
        (t0 + 2 * HOUR + 4_500, State::Up),
        (p.span.end, State::Up),
    ];
    let intervals: Vec<Interval> = cut
        .windows(2)
        .map(|w| Interval {
            span: Span::new(w[0].0, w[1].0),
            state: w[0].1,
        })
        .collect();
    report(&cfg, &p, None, |_| intervals.clone())
}

/// The part of a text report from `Service name` (or `## name`) on to the
/// next service.
fn block<'a>(text: &'a str, start: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {text}"));
    let rest = &text[from + start.len()..];
    let end = rest.find(&start[..start.len() - 2]).unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn table() {
    let text = render(&report_with_failovers(), Format::Table);
    let db = block(&text, "Service db");
    assert!(
        db.contains("  failovers            2, longest 4.5s (objective 3s: missed)\n"),
        "{db}"
    );
    assert!(
        db.contains("    2026-11-01 01:00:00 UTC .. 2026-11-01 01:00:01 UTC  1.2s\n"),
        "{db}"
    );
    assert!(
        db.contains(
            "    2026-11-01 02:00:00 UTC .. 2026-11-01 02:00:04 UTC  4.5s  over objective\n"
        ),
        "{db}"
    );
    let app = block(&text, "Service app");
    assert!(!app.contains("failover"), "{app}");
}

#[test]
fn markdown() {
    let text = render(&report_with_failovers(), Format::Markdown);
    let db = block(&text, "## db");
    assert!(
        db.contains(
            "Failovers (time without a writable primary): 2, longest 4.5s (objective 3s: missed)."
        ),
        "{db}"
    );
    assert!(
        db.contains(
            "| 2026-11-01 02:00:00 UTC | 2026-11-01 02:00:04 UTC | 4.5s | over objective |"
        ),
        "{db}"
    );
    assert!(!block(&text, "## app").contains("ailover"));
}

#[test]
fn json() {
    let text = render(&report_with_failovers(), Format::Json);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let f = &v["services"][0]["failovers"];
    assert_eq!(f["count"], 2);
    assert_eq!(f["objective_ms"], 3000);
    assert_eq!(f["longest_ms"], 4500);
    assert_eq!(f["objective_met"], false);
    assert_eq!(f["list"][0]["duration_ms"], 1200);
    assert_eq!(f["list"][0]["exceeds_objective"], false);
    assert_eq!(f["list"][1]["start"], "2026-11-01T02:00:00+00:00");
    assert_eq!(f["list"][1]["exceeds_objective"], true);
    assert!(v["services"][1]["failovers"].is_null());
}

#[test]
fn csv() {
    let text = render(&report_with_failovers(), Format::Csv);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(
        lines[0].ends_with(
            ",failovers,longest_failover_ms,failover_objective_ms,failover_objective_met"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("db,") && lines[1].ends_with(",2,4500,3000,false"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("app,") && lines[2].ends_with(",,,,"),
        "{}",
        lines[2]
    );
    let columns = |l: &str| l.split(',').count();
    assert_eq!(columns(lines[0]), columns(lines[2]));
}

#[test]
fn html() {
    let text = render(&report_with_failovers(), Format::Html);
    let sections: Vec<&str> = text.split("<section>").skip(1).collect();
    let (db, app) = (sections[0], sections[1]);
    assert!(
        db.contains("<tr><th>Failovers</th><td>2, longest 4.5s (objective 3s: missed)</td></tr>"),
        "{db}"
    );
    assert_eq!(db.matches("<title>failover, ").count(), 2, "{db}");
    assert!(db.contains("<title>failover, 4.5s without a writable primary</title>"));
    assert!(
        db.contains("<td class=\"n\">1.2s</td><td></td></tr>"),
        "{db}"
    );
    assert!(!app.contains("ailover"), "{app}");
}
