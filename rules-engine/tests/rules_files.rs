//! The repository's rules (`rules/`) under Debian's promtool: every rule
//! file passes `promtool check rules` and vigil's checker, and every unit
//! test file in `rules/tests/` passes `promtool test rules`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")
}

fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no rule files in {}", dir.display());
    out
}

fn promtool(args: &[&str], file: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .arg(file.file_name().unwrap())
        .current_dir(file.parent().unwrap())
        .output()
        .expect("promtool not found: install Debian's `prometheus` package (scripts/test does)");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn rule_files_pass_both_checkers() {
    let root = rules_dir();
    for f in yml_files(&root)
        .into_iter()
        .chain(yml_files(&root.join("original")))
    {
        let (ok, text) = promtool(&["check", "rules"], &f);
        assert!(ok, "promtool check rules {}:\n{text}", f.display());
        if let Err(errs) = vigil::rules::check_file(&f) {
            let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
            panic!("vigil rejects {}:\n{}", f.display(), msgs.join("\n"));
        }
    }
}

#[test]
fn unit_tests_pass_under_promtool() {
    for f in yml_files(&rules_dir().join("tests")) {
        let (ok, text) = promtool(&["test", "rules"], &f);
        assert!(ok, "promtool test rules {}:\n{text}", f.display());
    }
}
