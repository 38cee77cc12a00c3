//! A 31-day SLA report for 1,000 services with 10 incidents each (and a
//! weekly maintenance window, a one-off window and an hour without data
//! each): assembling the report from ledger intervals, and rendering it.
//! Target: the report under 1 s.
//!
//! `cargo bench -p vigil --bench sla_report`

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use vigil::sla::config::SlaConfig;
use vigil::sla::ledger::{Interval, State, push_merged};
use vigil::sla::period::{self, Period};
use vigil::sla::render::{Format, render};
use vigil::sla::report::report;
use vigil::sla::span::Span;

const SERVICES: usize = 1_000;
const INCIDENTS: i64 = 10;
const MIN: i64 = 60_000;

fn config() -> SlaConfig {
    let mut yaml = String::from(
        "time_zone: Europe/Paris\nmaintenance:\n  recurring:\n    - { weekdays: [tue], start: \"02:00\", duration: 2h }\n  one_off:\n    - { start: \"2026-10-14T01:00:00+02:00\", end: \"2026-10-14T02:00:00+02:00\", announced_at: \"2026-10-01T00:00:00+02:00\" }\nservices:\n",
    );
    for i in 0..SERVICES {
        writeln!(
            yaml,
            "  - {{ name: svc-{i:04}, up: 'up{{job=\"svc-{i:04}\"}}' }}"
        )
        .unwrap();
    }
    let cfg: SlaConfig = yaml_serde::from_str(&yaml).unwrap();
    cfg.validate().unwrap();
    cfg
}

/// Up all month but 10 outages (spread, of 1 to 30 minutes) and one hour
/// of no data, as the ledger stores them.
fn ledger(p: &Period, i: usize) -> Vec<Interval> {
    let month = p.span;
    let mut marks: Vec<(i64, i64, State)> = (0..INCIDENTS)
        .map(|k| {
            let start = month.start + (k * 3 * 1440 + (i as i64 % 1000)) * MIN + 7 * 3_600_000;
            (
                start,
                start + (1 + (k * 7 + i as i64) % 30) * MIN,
                State::Down,
            )
        })
        .collect();
    let gap = month.start + 20 * 1440 * MIN + 13 * 3_600_000;
    marks.push((gap, gap + 60 * MIN, State::Unknown));
    marks.sort_by_key(|m| m.0);
    let mut out = Vec::new();
    let mut cursor = month.start;
    for (s, e, state) in marks {
        push_merged(
            &mut out,
            Interval {
                span: Span::new(cursor, s),
                state: State::Up,
            },
        );
        push_merged(
            &mut out,
            Interval {
                span: Span::new(s, e),
                state,
            },
        );
        cursor = e;
    }
    push_merged(
        &mut out,
        Interval {
            span: Span::new(cursor, month.end),
            state: State::Up,
        },
    );
    out
}

fn bench(c: &mut Criterion) {
    let cfg = config();
    let p = period::month(2026, 10, chrono_tz::Europe::Paris).unwrap();
    let rows: HashMap<String, Vec<Interval>> = cfg
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), ledger(&p, i)))
        .collect();
    let build = || report(&cfg, &p, None, |name| rows[name].clone());
    let r = build();
    assert_eq!(r.services.len(), SERVICES);
    assert!(
        r.services
            .iter()
            .all(|s| s.incidents.incidents.len() == INCIDENTS as usize)
    );
    let mut g = c.benchmark_group("sla_report");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("report_1000_services_31_days", |b| b.iter(build));
    g.bench_function("render_json", |b| b.iter(|| render(&r, Format::Json)));
    g.bench_function("render_html", |b| b.iter(|| render(&r, Format::Html)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
