//! A synthetic October 2026 in Europe/Paris (a DST month: 44,700 minutes)
//! replayed as one evaluation a minute, with known outages, maintenance
//! windows and a vigil outage, rendered in every format and compared with
//! the golden files in `tests/sla_golden/`. `VIGIL_BLESS=1` rewrites them;
//! check the numbers by hand before committing a blessed file.

use chrono::TimeZone;
use chrono_tz::Europe::Paris;
use vigil::sla::config::SlaConfig;
use vigil::sla::ledger::{State, intervals_from_observations};
use vigil::sla::period;
use vigil::sla::render::{Format, render};
use vigil::sla::report::{Report, report};

const MIN: i64 = 60_000;

const CONFIG: &str = r#"
time_zone: Europe/Paris
decimals: 4
services:
  - name: app
    up: (count(instance_health{job="app"} == 1) or vector(0)) >= 2
  - name: db
    up: pg_up{role="primary"}
    objective: 99.9
    monthly_fee: 800
credits:
  monthly_fee: "1500.00"
  currency: EUR
  cap_percent: 30
maintenance:
  recurring:
    - { weekdays: [tue], start: "02:00", duration: 2h, services: [app], reason: "weekly patching, Tuesday 02:00-04:00" }
  one_off:
    - { start: "2026-10-08T01:00:00+02:00", end: "2026-10-08T01:30:00+02:00", announced_at: "2026-10-06T00:00:00+02:00", reason: "kernel upgrade (49 h notice)", services: [app] }
    - { start: "2026-10-22T23:00:00+02:00", end: "2026-10-22T23:20:00+02:00", announced_at: "2026-10-21T00:00:00+02:00", reason: "urgent fix (47 h notice)", services: [app] }
"#;

/// Local Paris time `day hh:mm` in October 2026, as epoch ms.
fn at(day: u32, h: u32, m: u32) -> i64 {
    Paris
        .with_ymd_and_hms(2026, 10, day, h, m, 0)
        .earliest()
        .unwrap()
        .timestamp_millis()
}

/// db's outage ends on a second boundary, not on an evaluation minute.
fn db_end() -> i64 {
    at(25, 2, 30) + 2_680_200
}

/// What each service's expression said, minute by minute.
fn state(service: &str, t: i64) -> State {
    let down = |from: i64, to: i64| t >= from && t < to;
    let is_down = match service {
        // 4 min; 20 min (over the RTO); 30 min inside Tuesday's maintenance
        // (excluded); 15 min across the 08th's 49 h window (half excluded);
        // 10 min inside the 47 h window (counted).
        "app" => {
            down(at(3, 10, 0), at(3, 10, 4))
                || down(at(14, 21, 30), at(14, 21, 50))
                || down(at(13, 2, 30), at(13, 3, 0))
                || down(at(8, 1, 20), at(8, 1, 35))
                || down(at(22, 23, 5), at(22, 23, 15))
        }
        // Exactly 99.9 % of the eligible 44,670 minutes (the month less
        // vigil's 30-minute outage): 44.67 minutes, starting in the hour
        // that happens twice on the 25th (the earlier 02:30, CEST).
        "db" => down(at(25, 2, 30), db_end()),
        _ => false,
    };
    if is_down { State::Down } else { State::Up }
}

fn golden_report() -> Report {
    let cfg: SlaConfig = yaml_serde::from_str(CONFIG).unwrap();
    cfg.validate().unwrap();
    let p = period::month(2026, 10, Paris).unwrap();
    assert_eq!(p.minutes(), 44_700);
    // vigil was stopped on Monday the 19th from 03:00 to 03:30: no
    // evaluations in between, so that half hour is unknown.
    let (stop, restart) = (at(19, 3, 0), at(19, 3, 30));
    report(&cfg, &p, None, |name| {
        let mut obs = Vec::new();
        let mut t = p.span.start;
        while t < p.span.end {
            if !(t > stop && t < restart) {
                obs.push((t, state(name, t)));
            }
            t += MIN;
        }
        if name == "db" {
            // one extra evaluation where the outage ends
            let i = obs.partition_point(|&(ts, _)| ts < db_end());
            obs.insert(i, (db_end(), State::Up));
        }
        intervals_from_observations(&obs, p.span.end, 3 * MIN).unwrap()
    })
}

fn check(format: Format, file: &str) {
    let got = render(&golden_report(), format);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sla_golden")
        .join(file);
    if std::env::var_os("VIGIL_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with VIGIL_BLESS=1 to create it)",
            path.display()
        )
    });
    assert!(
        got == want,
        "{file} differs from the golden file; got:\n{got}"
    );
}

#[test]
fn golden_table() {
    check(Format::Table, "october.txt");
}

#[test]
fn golden_markdown() {
    check(Format::Markdown, "october.md");
}

#[test]
fn golden_json() {
    check(Format::Json, "october.json");
}

#[test]
fn golden_csv() {
    check(Format::Csv, "october.csv");
}

#[test]
fn golden_html() {
    check(Format::Html, "october.html");
}

/// The numbers the golden files show, asserted directly so a blessed file
/// cannot hide a wrong total.
#[test]
fn golden_numbers() {
    let r = golden_report();
    let app = &r.services[0];
    let b = app.breakdown;
    // 4 Tuesdays x 120 min + 30 min (49 h notice); the 47 h window counts.
    assert_eq!(b.maintenance_ms, (4 * 120 + 30) * MIN);
    assert_eq!(b.unknown_ms, 30 * MIN);
    assert_eq!(b.down_ms, (4 + 20 + 5 + 10) * MIN);
    assert_eq!(b.period_ms, 44_700 * MIN);
    assert_eq!(app.incidents.incidents.len(), 4);
    assert!(!app.incidents.rto_met);
    assert!(app.incidents.mttr_met); // 39 / 4 = 9.75 min
    assert_eq!(app.verdict.eligible_ms, 44_160 * MIN);
    assert_eq!(
        app.verdict.availability.unwrap().percent_truncated(4),
        "99.9116"
    );
    assert_eq!(app.verdict.allowed_downtime.floor_ms(), 264_960);
    assert_eq!(app.credit.amount.to_string(), "375.00"); // 25 % of 1500.00
    let refused: Vec<_> = app.windows.iter().filter(|w| !w.excluded).collect();
    assert_eq!(refused.len(), 1);
    assert!(refused[0].reason.contains("47 h"));
    let db = &r.services[1];
    assert_eq!(db.verdict.eligible_ms, 44_670 * MIN);
    assert_eq!(db.verdict.counted_down_ms, 2_680_200);
    assert_eq!(db.verdict.met, Some(true));
    assert_eq!(
        db.verdict.availability.unwrap().percent_truncated(4),
        "99.9000"
    );
    assert_eq!(db.verdict.remaining_budget.floor_ms(), 0);
    // The contract's tiers are for 99.99 %: exactly 99.90 is in the
    // lower-inclusive [99.90, 99.95) tier, 25 % of db's own fee.
    assert_eq!(db.credit.tier_label.as_deref(), Some("[99.90, 99.95)"));
    assert_eq!(db.credit.amount.to_string(), "200.00");
}
