//! `scripts/demo --check`: the demo as a user starts it (the whole stack
//! natively, vigil with mail and webhook routing and an SLA section) comes
//! up, evaluates its rules, delivers an alert to its SMTP server and its
//! webhook receiver, answers `vigil sla report`, and stops everything it
//! started. The binaries are the ones this test run built (passed in with
//! `VIGIL_DEMO_BIN_DIR`), so the script builds nothing.

use std::path::Path;
use std::process::Command;

use vigil_tests::bins::{set_by_cargo_for_tests, vigil_bin};
use vigil_tests::exporter::exporter_bin;

#[test]
fn the_demo_comes_up_alerts_and_stops() {
    let bin_dir = vigil_bin().parent().unwrap().to_path_buf();
    assert_eq!(exporter_bin().parent(), Some(bin_dir.as_path()));
    let demo_app = Path::new(env!("CARGO_BIN_EXE_vigil-demo-app"));
    assert_eq!(demo_app.parent(), Some(bin_dir.as_path()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("scripts/demo"))
        .arg("--check")
        .env("VIGIL_DEMO_BIN_DIR", &bin_dir)
        .current_dir(root);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_for_tests) {
            cmd.env_remove(name);
        }
    }
    let out = cmd.output().expect("run scripts/demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("demo --check: ok"),
        "scripts/demo --check: {}\n{stdout}\n{stderr}",
        out.status
    );
    for step in [
        "rules_ok",
        "apps_healthy",
        "mailed",
        "hooked",
        "sla_evaluated",
        "sla report",
    ] {
        assert!(
            stdout.contains(&format!("demo --check: {step}")),
            "{step}: {stdout}"
        );
    }
    // It removed its temporary directory (named in the config check lines).
    let work = stdout
        .split_whitespace()
        .find(|w| w.starts_with("/tmp/vigil-demo."))
        .map(|w| w.split('/').take(3).collect::<Vec<_>>().join("/"))
        .expect("the demo names its directory");
    assert!(!Path::new(&work).exists(), "{work} left behind");
}
