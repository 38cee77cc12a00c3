//! The rule-file and rule-test parity corpus (`data/parity/`), run through
//! the real `vigil` binary and Debian's `promtool` (Prometheus 2.42): the
//! same exit code for every file, and for failing rule tests the same
//! failure text word for word.
//!
//! Each file's name gives the verdict both must reach: `pass_…` succeeds,
//! `fail_…` fails; `newer_…` marks a deliberate difference where vigil
//! follows Prometheus 3.x and promtool 2.42 does not (vigil fails the test,
//! promtool passes it), so the difference stays pinned.
//!
//! `check/` holds rule files for `check rules`; `test/` holds rule test
//! files (and their rule files under `test/rules/`) for `test rules`. The
//! repository's own rule files under `rules/` are checked as well.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dir(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no files in {}", dir.display());
    out
}

/// Runs `prog args… file` in the file's directory (rule tests name their
/// rule files relative to it).
fn run(prog: &str, args: &[&str], file: &Path) -> Output {
    Command::new(prog)
        .args(args)
        .arg(file.file_name().unwrap())
        .current_dir(file.parent().unwrap())
        .output()
        .unwrap_or_else(|e| {
            panic!("{prog}: {e} (promtool comes with Debian's `prometheus` package; scripts/test installs it)")
        })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Pass,
    Fail,
    /// vigil fails (Prometheus 3.x rule), promtool 2.42 passes.
    Newer,
}

fn want(file: &Path) -> Want {
    let name = file.file_name().unwrap().to_string_lossy();
    match name.split('_').next() {
        Some("pass") => Want::Pass,
        Some("fail") => Want::Fail,
        Some("newer") => Want::Newer,
        _ => panic!("{name}: corpus files start with pass_, fail_ or newer_"),
    }
}

fn verdicts(args: &[&str], files: &[PathBuf], compare_failure_text: bool) -> Vec<String> {
    let vigil = env!("CARGO_BIN_EXE_vigil");
    let mut wrong = Vec::new();
    for f in files {
        let ours = run(vigil, args, f);
        let theirs = run("promtool", args, f);
        let (ok_ours, ok_theirs) = (ours.status.success(), theirs.status.success());
        let expected = match want(f) {
            Want::Pass => (true, true),
            Want::Fail => (false, false),
            Want::Newer => (false, true),
        };
        let name = f.display();
        let err = |o: &Output| String::from_utf8_lossy(&o.stderr).to_string();
        if (ok_ours, ok_theirs) != expected
            || (ours.status.code() != theirs.status.code() && want(f) != Want::Newer)
        {
            wrong.push(format!(
                "{name}: vigil {:?}, promtool {:?}, want {expected:?}\n--- vigil:\n{}--- promtool:\n{}",
                ours.status.code(),
                theirs.status.code(),
                err(&ours),
                err(&theirs)
            ));
        } else if compare_failure_text
            && want(f) == Want::Fail
            && !err(&theirs).contains("yaml: ")
            && err(&ours) != err(&theirs)
        {
            wrong.push(format!(
                "{name}: failure texts differ\n--- vigil:\n{}--- promtool:\n{}",
                err(&ours),
                err(&theirs)
            ));
        }
    }
    wrong
}

#[test]
fn check_rules_gives_promtools_verdicts() {
    let mut files = yml_files(&dir("tests/data/parity/check"));
    let wrong = verdicts(&["check", "rules"], &files, false);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The repository's rule files pass both.
    files = yml_files(&dir("../rules"));
    for f in &files {
        for prog in [env!("CARGO_BIN_EXE_vigil"), "promtool"] {
            let out = run(prog, &["check", "rules"], f);
            assert!(out.status.success(), "{prog} {}: {out:?}", f.display());
        }
    }
}

#[test]
fn test_rules_gives_promtools_verdicts_and_failure_texts() {
    let files = yml_files(&dir("tests/data/parity/test"));
    let wrong = verdicts(&["test", "rules"], &files, true);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The pinned 3.x difference fails in vigil with Prometheus 3's error.
#[test]
fn newer_cases_fail_with_the_engines_error() {
    let f = dir("tests/data/parity/test/newer_many_to_one_filtered.yml");
    let out = run(env!("CARGO_BIN_EXE_vigil"), &["test", "rules"], &f);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule: DiskAlmostFull, time: 0s, err: multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"),
        "{err}"
    );
}
