//! The bodies of `vigil check rules FILE...` and `vigil test rules FILE...`:
//! they return the text to print and the exit code, so `main` only prints
//! and exits (and tests call them directly).

use std::path::Path;

use super::lint::{Catalog, lint_file};
use super::unittest::run_file;
use super::validate::check_file;

/// What a command prints and how it exits.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    /// 0: all good; 1: a file failed.
    pub code: i32,
}

/// `vigil check rules`: promtool's verdicts and error lines, plus lint
/// warnings (which do not change the exit code).
pub fn check_rules(files: &[&Path]) -> Outcome {
    let catalog = Catalog::builtin();
    let mut out = Outcome {
        stdout: String::new(),
        stderr: String::new(),
        code: 0,
    };
    for f in files {
        out.stdout.push_str(&format!("Checking {}\n", f.display()));
        match check_file(f) {
            Ok(rf) => {
                let n: usize = rf.groups.iter().map(|g| g.rules.len()).sum();
                out.stdout
                    .push_str(&format!("  SUCCESS: {n} rules found\n"));
                for l in lint_file(&rf, &catalog) {
                    out.stdout.push_str(&format!(
                        "  WARNING [{}] group {:?}, rule {:?}: {} (fix: {})\n",
                        l.lint.id, l.group, l.rule, l.lint.message, l.lint.fix
                    ));
                }
            }
            Err(errs) => {
                out.code = 1;
                out.stderr.push_str("  FAILED:\n");
                for e in errs {
                    out.stderr.push_str(&format!("{e}\n"));
                }
            }
        }
        out.stdout.push('\n');
    }
    out
}

/// `vigil test rules`: runs each test file; exit 1 if any fails.
pub fn test_rules(files: &[&Path]) -> Outcome {
    let mut out = Outcome {
        stdout: String::new(),
        stderr: String::new(),
        code: 0,
    };
    for f in files {
        let report = run_file(f);
        if !report.passed() {
            out.code = 1;
        }
        let (stdout, stderr) = report.render_split();
        out.stdout.push_str(&stdout);
        out.stderr.push_str(&stderr);
        out.stdout.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(p: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
    }

    #[test]
    fn check_reports_success_warnings_and_failures() {
        let good = repo("rules/original/seed.rules.yml");
        let bad = repo("rules-engine/tests/data/rules_check/bad/badexpr.yml");
        let o = check_rules(&[&good]);
        assert_eq!(o.code, 0);
        assert!(o.stdout.contains("SUCCESS: 8 rules found"), "{}", o.stdout);
        assert!(
            o.stdout.contains("WARNING [count-of-nothing]"),
            "{}",
            o.stdout
        );
        let o = check_rules(&[&good, &bad]);
        assert_eq!(o.code, 1);
        assert!(
            o.stderr
                .contains("badexpr.yml:5:11: group \"a\", rule 1, \"A\""),
            "{}",
            o.stderr
        );
    }

    #[test]
    fn test_exit_codes() {
        let pass = repo("rules/tests/stack_test.yml");
        let fail = repo("rules-engine/tests/data/rules_test/fail_expr.yml");
        assert_eq!(test_rules(&[&pass]).code, 0);
        let o = test_rules(&[&pass, &fail]);
        assert_eq!(o.code, 1);
        assert!(o.stderr.contains("FAILED:"), "{}", o.stderr);
    }
}
