//! The `vigil` binary: `--help`, `check config`, and `run` + `query`
//! end to end (started on port 0, stopped with SIGTERM).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_vigil");

fn vigil(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

#[test]
fn help_on_every_subcommand() {
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["query", "--help"],
        vec!["check", "--help"],
        vec!["check", "config", "--help"],
        vec!["check", "web-config", "--help"],
        vec!["check", "rules", "--help"],
        vec!["test", "--help"],
        vec!["test", "rules", "--help"],
        vec!["route", "test", "--help"],
        vec!["route", "show", "--help"],
        vec!["silence", "add", "--help"],
        vec!["silence", "query", "--help"],
        vec!["silence", "expire", "--help"],
        vec!["alerts", "history", "--help"],
    ] {
        let out = vigil(&args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: vigil"), "{args:?}: {text}");
    }
    let run = String::from_utf8_lossy(&vigil(&["run", "--help"]).stdout).to_string();
    for flag in [
        "--config.file",
        "--web.listen-address",
        "--web.config.file",
        "--log.level",
        "--log.format",
    ] {
        assert!(run.contains(flag), "{flag} missing from run --help");
    }
}

#[test]
fn check_config_reports_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yml");
    std::fs::write(
        &good,
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['h:1']}]\n",
    )
    .unwrap();
    let out = vigil(&["check", "config", good.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS"));

    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "global:\n  scrape_interval: 15s\n  scrape_intervall: 1m\n",
    )
    .unwrap();
    let out = vigil(&["check", "config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "{}:3:3: global: unknown field `scrape_intervall`",
            bad.display()
        )),
        "{err}"
    );
}

#[test]
fn run_then_query_then_sigterm() {
    let mut child = Command::new(BIN)
        .args([
            "run",
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.format",
            "json",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The log line `listening` carries the bound address.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("vigil exited before listening")
            .unwrap();
        if line.contains("listening") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            let fields = v.get("fields").unwrap_or(&v);
            break fields["address"].as_str().unwrap().to_string();
        }
    };
    let server = format!("http://{addr}");
    let out = vigil(&["query", "1+1", "--time", "1700000000", "--server", &server]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2 @[1700000000]\n");

    let out = vigil(&["query", "sum(", "--server", &server]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad_data"));

    // With no config file vigil scrapes itself.
    let mut text = String::new();
    let up = vigil_test_support::poll_until(std::time::Duration::from_secs(30), || {
        let out = vigil(&["query", "up{job=\"vigil\"}", "--server", &server]);
        text = String::from_utf8_lossy(&out.stdout).to_string();
        text.contains("=> 1 @")
    });
    assert!(up, "self-scrape never came up: {text}");
    assert!(text.contains(&format!("instance=\"{addr}\"")), "{text}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn check_web_config() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("web.yml");
    let hash = bcrypt::hash("pw", 4).unwrap();
    std::fs::write(&good, format!("basic_auth_users:\n  admin: '{hash}'\n")).unwrap();
    let out = vigil(&["check", "web-config", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("basic auth on"));

    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "tls_server_config:\n  cert_file: /nonexistent.pem\n  key_file: /nonexistent.key\n",
    )
    .unwrap();
    let out = vigil(&["check", "web-config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("{}:1:1: ", bad.display())),
        "{err}"
    );
}

#[test]
fn run_refuses_a_bad_rule_file_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("bad.rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n",
    )
    .unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(&config, "rule_files: ['*.rules.yml']\n").unwrap();
    // A port that is taken: had vigil tried to bind first, it would say so.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = vigil(&[
        "run",
        "--config.file",
        config.to_str().unwrap(),
        "--web.listen-address",
        &addr,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:5:", rules.display())), "{err}");
    assert!(!err.contains("cannot listen"), "{err}");
    // `check config` finds the same error in the rule files it names.
    let out = vigil(&["check", "config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with(&format!("{}:5:", rules.display())), "{err}");
}

fn repo(p: &str) -> String {
    format!("{}/../{p}", env!("CARGO_MANIFEST_DIR"))
}

/// Exit code, stdout and stderr of a command.
fn run_tool(bin: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(bin).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_rules_like_promtool() {
    let good = repo("rules/stack.rules.yml");
    let bad = repo("rules-engine/tests/data/rules_check/bad/badexpr.yml");
    let (code, out, err) = run_tool(BIN, &["check", "rules", &good]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out,
        format!("Checking {good}\n  SUCCESS: 16 rules found\n\n")
    );
    let (code, out, err) = run_tool(BIN, &["check", "rules", &good, &bad]);
    assert_eq!(code, Some(1));
    assert!(out.contains(&format!("Checking {bad}")), "{out}");
    assert!(
        err.contains(&format!(
            "  FAILED:\n{bad}:5:11: group \"a\", rule 1, \"A\": "
        )),
        "{err}"
    );
    // The documents' original rules pass promtool but not vigil's lint.
    let original = repo("rules/original/seed.rules.yml");
    let (code, out, _) = run_tool(BIN, &["check", "rules", &original]);
    assert_eq!(code, Some(0));
    assert!(out.contains("WARNING [count-of-nothing]"), "{out}");
    for files in [vec![good.as_str()], vec![good.as_str(), bad.as_str()]] {
        let mut args = vec!["check", "rules"];
        args.extend(&files);
        assert_eq!(
            run_tool(BIN, &args).0,
            run_tool("promtool", &args).0,
            "{files:?}"
        );
    }
}

#[test]
fn test_rules_like_promtool() {
    let pass = repo("rules/tests/stack_test.yml");
    let fail = repo("rules-engine/tests/data/rules_test/fail_expr.yml");
    let (code, out, err) = run_tool(BIN, &["test", "rules", &pass]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, format!("Unit Testing:  {pass}\n  SUCCESS\n\n"));
    let (code, out, err) = run_tool(BIN, &["test", "rules", &pass, &fail]);
    assert_eq!(code, Some(1));
    assert!(out.contains(&format!("Unit Testing:  {fail}\n")), "{out}");
    assert!(err.starts_with("  FAILED:\n"), "{err}");
    assert!(err.contains("expr: \"job:up:sum\", time: 2m"), "{err}");
    for files in [vec![pass.as_str()], vec![pass.as_str(), fail.as_str()]] {
        let mut args = vec!["test", "rules"];
        args.extend(&files);
        let (vigil_code, vigil_out, _) = run_tool(BIN, &args);
        let (prom_code, prom_out, _) = run_tool("promtool", &args);
        assert_eq!(vigil_code, prom_code, "{files:?}");
        assert_eq!(vigil_out, prom_out, "{files:?}: stdout as promtool's");
    }
}
