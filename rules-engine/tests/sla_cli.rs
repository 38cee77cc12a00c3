//! `vigil sla report | budget | backfill` with the real binary, on a ledger
//! written through the library's SQL store: formats, output file, exit
//! codes (bad input 1, missing data 3, breach only with --fail-on-breach 4).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vigil::db::Db;
use vigil::sla::ledger::{Interval, LedgerStore, State};
use vigil::sla::period;
use vigil::sla::span::Span;

const BIN: &str = env!("CARGO_BIN_EXE_vigil");
const MIN: i64 = 60_000;

struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
}

/// A config with two services in UTC; `app` has a 43.2-minute outage in
/// October 2026 (a 31-day month: 44,640 min, 99.9 % allows 44.64 min, so
/// not a breach of 99.9, a breach of db's 99.99 if it were db's).
fn setup(with_ledger: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("vigil.yml");
    std::fs::write(
        &config,
        "storage:\n  path: data\nsla:\n  services:\n    - { name: app, up: 'min(up{job=\"app\"})', objective: 99.9 }\n    - { name: db, up: 'pg_up' }\n  credits:\n    monthly_fee: 1000\n",
    )
    .unwrap();
    if with_ledger {
        write_ledger(&data);
    }
    Setup {
        _dir: dir,
        config,
        data,
    }
}

fn write_ledger(data: &Path) {
    std::fs::create_dir_all(data).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = Db::open(None, data).await.unwrap();
        let oct = period::month(2026, 10, chrono_tz::UTC).unwrap().span;
        let down = oct.start + 10 * 1440 * MIN;
        let up_again = down + 43 * MIN + 12_000;
        for (s, e, st) in [
            (oct.start, down, State::Up),
            (down, up_again, State::Down),
            (up_again, oct.end, State::Up),
        ] {
            let iv = Interval {
                span: Span::new(s, e),
                state: st,
            };
            db.append("app", iv).await.unwrap();
        }
        // db: down 5 minutes, a breach of its 99.99 %
        let d = oct.start + 3 * 1440 * MIN;
        for (s, e, st) in [
            (oct.start, d, State::Up),
            (d, d + 5 * MIN, State::Down),
            (d + 5 * MIN, oct.end, State::Up),
        ] {
            let iv = Interval {
                span: Span::new(s, e),
                state: st,
            };
            db.append("db", iv).await.unwrap();
        }
    });
}

fn sla(s: &Setup, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("sla")
        .args(args)
        .arg("--config.file")
        .arg(&s.config)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn report_in_json_with_exact_figures() {
    let s = setup(true);
    let out = sla(&s, &["report", "--month", "2026-10", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["period"]["minutes"], 44_640);
    let app = &j["services"][0];
    assert_eq!(app["name"], "app");
    assert_eq!(app["ms"]["counted_down"], 43 * MIN + 12_000);
    // 43.2 min down of 44.64 allowed: met (a float sum calls this a breach)
    assert_eq!(app["objective"], "met");
    assert_eq!(j["services"][1]["objective"], "missed");
}

#[test]
fn breach_fails_only_when_asked() {
    let s = setup(true);
    let out = sla(&s, &["report", "--month", "2026-10"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("app"));
    let out = sla(&s, &["report", "--month", "2026-10", "--fail-on-breach"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("objective missed by db in 2026-10"));
    let out = sla(
        &s,
        &[
            "report",
            "--month",
            "2026-10",
            "--service",
            "app",
            "--fail-on-breach",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn every_format_and_an_output_file() {
    let s = setup(true);
    for (format, marker) in [
        ("table", "app"),
        ("markdown", "| "),
        ("csv", ","),
        ("html", "<!DOCTYPE html>"),
    ] {
        let file = s.data.join(format!("report.{format}"));
        let out = sla(
            &s,
            &[
                "report",
                "--month",
                "2026-10",
                "--format",
                format,
                "--output",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{format}: written to the file only");
        let body = std::fs::read_to_string(&file).unwrap();
        assert!(body.contains(marker), "{format}: {body}");
    }
}

#[test]
fn bad_input_exits_1_with_the_reason() {
    let s = setup(true);
    for (args, want) in [
        (
            vec!["report", "--month", "2026-13"],
            "not a month \"2026-13\"",
        ),
        (
            vec!["report", "--month", "2026-10", "--format", "pdf"],
            "unknown report format \"pdf\"",
        ),
        (
            vec!["report", "--month", "2026-10", "--service", "cache"],
            "no SLA service named \"cache\"",
        ),
        (vec!["budget", "--time", "yesterday"], "not a time"),
        (
            vec![
                "backfill",
                "--month",
                "2026-10",
                "--source.url",
                "http://127.0.0.1:9",
            ],
            "cannot reach http://127.0.0.1:9/api/v1/query_range",
        ),
    ] {
        let out = sla(&s, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains(want),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = Command::new(BIN)
        .args(["sla", "report", "--month", "2026-10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--config.file is required"));
}

#[test]
fn missing_data_exits_3_and_no_ledger_exits_1() {
    let s = setup(false);
    let out = sla(&s, &["report", "--month", "2026-10"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no ledger at"),
        "{}",
        text(&out.stderr)
    );
    let s = setup(true);
    let out = sla(&s, &["report", "--month", "2026-11"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("no data for app, db in 2026-11"));
    assert!(
        text(&out.stdout).contains("no data"),
        "the report is still shown"
    );
}

#[test]
fn budget_is_month_to_date() {
    let s = setup(true);
    // 10 days into October, before app's outage, after db's
    let out = sla(
        &s,
        &[
            "budget",
            "--time",
            "2026-10-10T00:00:00Z",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["period"]["minutes"], 9 * 1440);
    assert_eq!(j["services"][0]["ms"]["counted_down"], 0);
    assert_eq!(j["services"][1]["ms"]["counted_down"], 5 * MIN);
    // db: 99.99 % of 9 days is 77.76 s allowed, 300 s spent
    assert_eq!(j["services"][1]["remaining_budget"]["ms"], 77_760 - 300_000);
}

#[test]
fn help_on_every_sla_subcommand() {
    for sub in ["report", "budget", "backfill"] {
        let out = Command::new(BIN)
            .args(["sla", sub, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sub}");
        let help = text(&out.stdout);
        assert!(help.contains("Usage: vigil sla"), "{sub}: {help}");
        assert!(help.contains("--config.file"), "{sub}: {help}");
    }
}
