//! Side by side with Debian's `promtool check rules` (Prometheus 2.42): every
//! file under `data/rules_check/` gets the same accept/reject verdict from
//! vigil's checker and from promtool. `good/` files must pass, `bad/` fail.
//! `newer/` holds what Prometheus added after 2.42 (`query_offset` in 2.53,
//! group `labels` in 3.0): vigil accepts them, this promtool does not, and
//! the test pins that difference so it stays deliberate.

use std::path::{Path, PathBuf};
use std::process::Command;

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rules_check")
        .join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no files in {}", dir.display());
    out
}

fn promtool_accepts(path: &Path) -> bool {
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(path)
        .output()
        .expect("promtool not found: install Debian's `prometheus` package (scripts/test does)");
    out.status.success()
}

fn vigil_accepts(path: &Path) -> bool {
    vigil::rules::check_file(path).is_ok()
}

#[test]
fn same_verdict_as_promtool() {
    let mut wrong = Vec::new();
    for (dir, want) in [("good", true), ("bad", false)] {
        for f in files(dir) {
            let (ours, theirs) = (vigil_accepts(&f), promtool_accepts(&f));
            if ours != want || theirs != want {
                wrong.push(format!(
                    "{}: vigil {ours}, promtool {theirs}, want {want}",
                    f.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn newer_prometheus_fields_are_the_only_deliberate_difference() {
    for f in files("newer") {
        assert!(vigil_accepts(&f), "{}: vigil rejects", f.display());
        assert!(
            !promtool_accepts(&f),
            "{}: promtool now accepts; move it to good/",
            f.display()
        );
    }
}

#[test]
fn every_bad_file_error_names_the_file() {
    for f in files("bad") {
        let errs = vigil::rules::check_file(&f).unwrap_err();
        let name = f.display().to_string();
        for e in errs {
            assert!(e.to_string().starts_with(&format!("{name}:")), "{e}");
        }
    }
}
