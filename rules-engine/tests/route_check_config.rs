//! Side by side with Debian's `amtool check-config` (Alertmanager 0.25):
//! every file under `data/route/check/` gets the same accept/reject verdict
//! from vigil's loader and from amtool. `good/` files must pass, `bad/`
//! fail; `bad/expect.txt` pins where (`line:column`) and why vigil rejects
//! each bad file, so errors stay pointed at the offending value.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/route/check")
        .join(name)
}

fn files(name: &str) -> Vec<PathBuf> {
    let d = dir(name);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no files in {}", d.display());
    out
}

fn amtool_accepts(path: &Path) -> bool {
    Command::new("amtool")
        .args(["check-config"])
        .arg(path)
        .output()
        .expect("amtool not found: install Debian's `prometheus-alertmanager` (scripts/test does)")
        .status
        .success()
}

fn vigil_load(path: &Path) -> Result<vigil::route::Loaded, vigil_common::ConfigErrors> {
    vigil::route::load_file(path)
}

#[test]
fn same_verdict_as_amtool() {
    let mut wrong = Vec::new();
    for (sub, want) in [("good", true), ("bad", false)] {
        for f in files(sub) {
            let vigil = vigil_load(&f);
            let am = amtool_accepts(&f);
            if vigil.is_ok() != want || am != want {
                wrong.push(format!(
                    "{}: vigil {:?}, amtool accepts={am}, expected accept={want}",
                    f.display(),
                    vigil.err().map(|e| e.to_string()),
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `bad/expect.txt`: `file line:column message-part` per line.
#[test]
fn bad_files_errors_point_at_the_value() {
    let table = std::fs::read_to_string(dir("bad").join("expect.txt")).unwrap();
    let mut listed = Vec::new();
    let mut wrong = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let mut parts = line.splitn(3, ' ');
        let (file, pos, part) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap_or(""),
        );
        listed.push(file.to_string());
        let path = dir("bad").join(file);
        let errs = vigil_load(&path).expect_err(file);
        let first = &errs.0[0];
        let got = format!("{}:{}", first.line, first.column);
        if got != pos || !first.message.contains(part) {
            wrong.push(format!(
                "{file}: want {pos} {part:?}, got {got} {:?}",
                first.message
            ));
        }
        assert!(first.file.ends_with(file), "{}", first.file);
    }
    for f in files("bad") {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if !listed.contains(&name) {
            wrong.push(format!("{name}: not in expect.txt"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let loaded = vigil_load(&dir("good").join("full.yml")).unwrap();
    let shown = format!("{loaded:?}");
    for secret in ["hunter2", "B000/XXXX", "s3cr3t-cred"] {
        assert!(!shown.contains(secret), "{secret} shown in Debug output");
    }
}
