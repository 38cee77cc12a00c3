//! `time_intervals` evaluation from data files: `data/route/intervals/`
//! holds an Alertmanager config and a table of `interval | instant |
//! active?` rows (time is an input: every instant is written out).

use std::path::Path;

use chrono::{DateTime, Utc};

use vigil::notify::route::load_file;
use vigil::notify::route::time_intervals::any_contains;

#[test]
fn table_of_instants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/route/intervals");
    let loaded = load_file(&dir.join("intervals.yml")).unwrap_or_else(|e| panic!("{e}"));
    let table = std::fs::read_to_string(dir.join("intervals.table")).unwrap();
    let mut wrong = Vec::new();
    let mut rows = 0;
    for (i, line) in table.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let named = loaded
            .config
            .time_intervals
            .iter()
            .find(|t| t.name == cols[0])
            .unwrap_or_else(|| panic!("line {}: no interval {}", i + 1, cols[0]));
        let at: DateTime<Utc> = cols[1].parse().unwrap();
        let want = cols[2] == "yes";
        if any_contains(&named.time_intervals, at) != want {
            wrong.push(format!("line {}: {line}", i + 1));
        }
        rows += 1;
    }
    assert!(rows >= 20);
    assert!(wrong.is_empty(), "wrong:\n{}", wrong.join("\n"));
}
