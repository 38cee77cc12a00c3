//! Side by side with Debian's `amtool check-config` (Alertmanager 0.25):
//! every file under `data/route/check/` gets the same accept/reject verdict
//! from vigil's loader, from `vigil check config FILE` (same exit code) and
//! from amtool. `good/` files must pass, `bad/` fail; `bad/expect.txt` pins
//! where (`line:column`) and why vigil rejects each bad file, so errors
//! stay pointed at the offending value. The files are written from what
//! Alertmanager's own configuration tests check (its `config/testdata/`,
//! `config_test.go`, the time interval and HTTP client checks) and from
//! amtool's answers.

use std::collections::BTreeMap;
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

/// Every data file with whether it must be accepted.
fn all_files() -> Vec<(PathBuf, bool)> {
    let good = files("good").into_iter().map(|f| (f, true));
    good.chain(files("bad").into_iter().map(|f| (f, false)))
        .collect()
}

fn amtool_exit(path: &Path) -> i32 {
    Command::new("amtool")
        .args(["check-config"])
        .arg(path)
        .output()
        .expect("amtool not found: install Debian's `prometheus-alertmanager` (scripts/test does)")
        .status
        .code()
        .unwrap_or(-1)
}

fn vigil_load(path: &Path) -> Result<vigil::notify::route::Loaded, vigil_common::ConfigErrors> {
    vigil::notify::route::load_file(path)
}

/// `vigil check config FILE`: exit code and stderr.
fn vigil_check(path: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["check", "config"])
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.code().unwrap_or(-1), stderr)
}

/// One line of `bad/expect.txt`.
struct Expected {
    /// The file the error is in (the bad file, or a template it names).
    located_in: String,
    line: usize,
    column: usize,
    part: String,
}

/// `bad/expect.txt`: `file [error-file@]line:column message-part` per line.
fn expectations() -> BTreeMap<String, Expected> {
    let table = std::fs::read_to_string(dir("bad").join("expect.txt")).unwrap();
    let mut out = BTreeMap::new();
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
        let (located_in, pos) = pos.split_once('@').unwrap_or((file, pos));
        let (l, c) = pos.split_once(':').expect("line:column");
        let e = Expected {
            located_in: located_in.to_string(),
            line: l.parse().unwrap(),
            column: c.parse().unwrap(),
            part: part.to_string(),
        };
        assert!(out.insert(file.to_string(), e).is_none(), "{file} twice");
    }
    out
}

/// Whether vigil's first error for a bad file is the expected one; the
/// difference otherwise.
fn error_as_expected(path: &Path, want: &Expected) -> Result<(), String> {
    let errs = match vigil_load(path) {
        Ok(_) => return Err("accepted".into()),
        Err(e) => e,
    };
    let first = &errs.0[0];
    let got = (first.line, first.column);
    let ok = got == (want.line, want.column)
        && first.message.contains(&want.part)
        && first.file.ends_with(&want.located_in);
    if ok {
        return Ok(());
    }
    Err(format!(
        "want {}@{}:{} {:?}, got {}:{}:{} {:?}",
        want.located_in, want.line, want.column, want.part, first.file, got.0, got.1, first.message
    ))
}

#[test]
fn same_verdict_as_amtool() {
    let mut wrong = Vec::new();
    for (f, want) in all_files() {
        let am = amtool_exit(&f) == 0;
        if am != want {
            wrong.push(format!(
                "{}: amtool accepts={am}, the file says {want}",
                f.display()
            ));
        }
        let vigil = vigil_load(&f);
        if vigil.is_ok() != want {
            wrong.push(format!(
                "{}: vigil {:?}, expected accept={want}",
                f.display(),
                vigil.err().map(|e| e.to_string()),
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The command line, on every file: amtool's exit code, and for a bad file
/// an error naming `file:line:column`.
#[test]
fn vigil_check_config_exits_as_amtool() {
    let expected = expectations();
    let mut wrong = Vec::new();
    for (f, _) in all_files() {
        let am = amtool_exit(&f);
        let (code, stderr) = vigil_check(&f);
        if code != am {
            wrong.push(format!(
                "{}: vigil exit {code}, amtool {am}: {stderr}",
                f.display()
            ));
            continue;
        }
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let Some(want) = expected.get(&name).filter(|_| code != 0) else {
            continue;
        };
        let first = stderr.lines().next().unwrap_or("");
        let place = format!("{}:{}:{}: ", want.located_in, want.line, want.column);
        if !first.contains(&place) {
            wrong.push(format!("{name}: want {place:?} in {first:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn bad_files_errors_point_at_the_value() {
    let expected = expectations();
    let mut wrong = Vec::new();
    for f in files("bad") {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let Some(want) = expected.get(&name) else {
            wrong.push(format!("{name}: not in expect.txt"));
            continue;
        };
        if let Err(e) = error_as_expected(&f, want) {
            wrong.push(format!("{name}: {e}"));
        }
    }
    for name in expected.keys() {
        if !dir("bad").join(name).exists() {
            wrong.push(format!("expect.txt names {name}, which does not exist"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A secret URL that is refused is not quoted in the error.
#[test]
fn refused_secret_urls_are_not_shown() {
    let f = dir("bad").join("receiver_webhook_url_secret_token.yml");
    let (code, stderr) = vigil_check(&f);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("t0ken-s3cret"), "{stderr}");
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let loaded = vigil_load(&dir("good").join("full.yml")).unwrap();
    let shown = format!("{loaded:?}");
    for secret in ["hunter2", "B000/XXXX", "s3cr3t-cred"] {
        assert!(!shown.contains(secret), "{secret} shown in Debug output");
    }
}
