//! Routing tables from data files (`data/route/trees/NAME.yml` with
//! `NAME.table`), checked against the expected receivers and group keys
//! written in the table and, side by side, against Debian's
//! `amtool config routes test` (Alertmanager 0.25) on the same label sets.
//!
//! Table lines: `receivers | name=value ... | group key` (the group key,
//! of the first route reached, is optional; `#` starts a comment).

use std::path::{Path, PathBuf};
use std::process::Command;

use vigil::model::Labels;
use vigil::notify::route::{Route, load_file};

struct Case {
    line: usize,
    receivers: String,
    labels: Vec<(String, String)>,
    group_key: Option<String>,
}

fn trees() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/route/trees");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    out.sort();
    assert!(!out.is_empty());
    out
}

fn cases(table: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(table).unwrap_or_else(|e| panic!("{table:?}: {e}"));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
        let labels = cols[1]
            .split_whitespace()
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("name=value");
                (k.to_string(), v.to_string())
            })
            .collect();
        out.push(Case {
            line: i + 1,
            receivers: cols[0].to_string(),
            labels,
            group_key: cols.get(2).filter(|k| !k.is_empty()).map(|k| k.to_string()),
        });
    }
    assert!(!out.is_empty(), "{table:?} has no cases");
    out
}

/// What amtool answers; an empty value is left out, as Alertmanager drops
/// empty labels.
fn amtool_receivers(config: &Path, labels: &[(String, String)]) -> String {
    let out = Command::new("amtool")
        .args(["config", "routes", "test", "--config.file"])
        .arg(config)
        .args(labels.iter().map(|(k, v)| format!("{k}={v:?}")))
        .output()
        .expect("amtool not found: install Debian's `prometheus-alertmanager` (scripts/test does)");
    assert!(out.status.success(), "amtool failed: {:?}", out);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn tables_agree_with_expectations_and_amtool() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for tree in trees() {
        let loaded = load_file(&tree).unwrap_or_else(|e| panic!("{e}"));
        let root = Route::build(loaded.route());
        let table = tree.with_extension("table");
        for case in cases(&table) {
            let labels = Labels::from_pairs(
                case.labels
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            let routes = root.matching(&labels);
            let got: Vec<&str> = routes.iter().map(|r| r.opts.receiver.as_str()).collect();
            let got = got.join(",");
            let am = amtool_receivers(&tree, &case.labels);
            let at = format!("{}:{}", table.display(), case.line);
            if got != case.receivers || am != case.receivers {
                wrong.push(format!(
                    "{at}: want {}, vigil {got}, amtool {am}",
                    case.receivers
                ));
            }
            if let Some(want) = &case.group_key {
                let key = routes[0].group_key(&labels);
                if &key != want {
                    wrong.push(format!("{at}: group key want {want}, got {key}"));
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} cases");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn children_inherit_receiver_grouping_and_timings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/route/trees");
    let root = Route::build(load_file(&dir.join("deep.yml")).unwrap().route());
    let l3z = &root.routes[0].routes[0].routes[0];
    assert_eq!(l3z.opts.receiver, "l2y");
    assert_eq!(l3z.opts.group_wait, std::time::Duration::from_secs(10));
    assert_eq!(l3z.opts.group_interval, std::time::Duration::from_secs(300));
    assert_eq!(
        l3z.opts.repeat_interval,
        std::time::Duration::from_secs(4 * 3600)
    );
    let l3q = &root.routes[0].routes[0].routes[1];
    assert_eq!(l3q.opts.group_by, root.opts.group_by);
    // Sibling routes with equal matchers share a key but not an id.
    let again = &root.routes[0].routes[0].routes[2];
    assert_eq!(l3q.key, again.key);
    assert_ne!(l3q.id, again.id);
}
