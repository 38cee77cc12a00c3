//! `vigil test rules` side by side with Debian's `promtool test rules`
//! (Prometheus 2.42): the repository's rule tests (`rules/tests/`) and the
//! cases in `data/rules_test/` (`pass*` must pass, `fail*` must fail) get
//! the same verdict from both.

use std::path::{Path, PathBuf};
use std::process::Command;

fn yml(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    out.sort();
    out
}

fn promtool_passes(file: &Path) -> bool {
    Command::new("promtool")
        .args(["test", "rules"])
        .arg(file.file_name().unwrap())
        .current_dir(file.parent().unwrap())
        .output()
        .expect("promtool not found: install Debian's `prometheus` package (scripts/test does)")
        .status
        .success()
}

#[test]
fn repository_rule_tests_pass_in_vigil_as_in_promtool() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/tests");
    let files = yml(&dir);
    assert!(!files.is_empty());
    for f in files {
        let report = vigil::rules::unittest::run_file(&f);
        assert!(report.passed(), "{}", report.render());
        assert!(promtool_passes(&f), "promtool fails {}", f.display());
    }
}

#[test]
fn same_verdicts_as_promtool_on_passing_and_failing_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rules_test");
    let cases: Vec<PathBuf> = yml(&dir)
        .into_iter()
        .filter(|f| !f.ends_with("rules.yml"))
        .collect();
    assert!(cases.len() >= 5);
    let mut wrong = Vec::new();
    for f in cases {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let want = name.starts_with("pass");
        let report = vigil::rules::unittest::run_file(&f);
        let theirs = promtool_passes(&f);
        if report.passed() != want || theirs != want {
            wrong.push(format!(
                "{name}: vigil {}, promtool {theirs}, want {want}\n{}",
                report.passed(),
                report.render()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn failure_messages_name_the_test_alert_and_time() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rules_test/fail_annotation.yml");
    let text = vigil::rules::unittest::run_file(&f).render();
    assert!(text.contains("FAILED:"), "{text}");
    assert!(text.contains("alertname: Down, time: 2m"), "{text}");
    assert!(
        text.contains("summary=\"x down, value 0, cluster \""),
        "{text}"
    );
}
