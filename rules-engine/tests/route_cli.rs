//! `vigil route show` side by side with `amtool config routes show`
//! (Alertmanager 0.25) on every routing tree of the data files: the same
//! text, line for line.

use std::path::Path;
use std::process::Command;

use vigil::notify::route::cli::route_show;
use vigil::notify::route::load_file;

#[test]
fn route_show_matches_amtool() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/route/trees");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "yml") {
            continue;
        }
        let loaded = load_file(&p).unwrap();
        let (ours, code) = route_show(&loaded);
        assert_eq!(code, 0);
        let out = Command::new("amtool")
            .args(["config", "routes", "show"])
            .arg(format!("--config.file={}", p.display()))
            .output()
            .expect("amtool not found: install Debian's prometheus-alertmanager");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            ours,
            String::from_utf8(out.stdout).unwrap(),
            "{}",
            p.display()
        );
        n += 1;
    }
    assert!(n > 0);
}

/// `vigil route test` and `amtool config routes test` on label arguments
/// written every way amtool reads them (`data/route/labels/quoting.yml`):
/// the same receivers printed, the same exit code, for arguments amtool
/// refuses too.
#[test]
fn route_test_reads_labels_as_amtool() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/route/labels/quoting.yml");
    let cases: &[&[&str]] = &[
        &[r#"msg="say \"hi\"""#],
        &["job:rate5m=x"],
        &[r#"team="a,b""#],
        &["team=a,b"],
        &[r#"path="C:\\dir""#],
        &[r"path=C:\dir"],
        &[r#"text="two\nlines""#],
        &[" severity = page "],
        &["severity=page", "severity=info"],
        &["severity="],
        &[],
        &["--verify.receivers=pager,any-severity", "severity=page"],
        &["--verify.receivers=pager", "severity=page"],
        &["1x=y"],
        &["a!=b"],
        &[r#"a="b"#],
        &[r#"msg=say "hi""#],
    ];
    let mut wrong = Vec::new();
    for args in cases {
        let am = Command::new("amtool")
            .args(["config", "routes", "test"])
            .arg(format!("--config.file={}", config.display()))
            .args(*args)
            .output()
            .expect("amtool not found: install Debian's prometheus-alertmanager");
        let ours = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["route", "test", "--alertmanager.config"])
            .arg(&config)
            .args(*args)
            .output()
            .unwrap();
        let (am_code, our_code) = (am.status.code(), ours.status.code());
        let (am_out, our_out) = (
            String::from_utf8_lossy(&am.stdout),
            String::from_utf8_lossy(&ours.stdout),
        );
        if am_code != our_code || am_out != our_out {
            wrong.push(format!(
                "{args:?}: amtool {am_code:?} {am_out:?}, vigil {our_code:?} {our_out:?} {}",
                String::from_utf8_lossy(&ours.stderr)
            ));
        }
        if am_code != Some(0) && !String::from_utf8_lossy(&am.stdout).contains("WARNING") {
            // A refused label names the same reason.
            let reason = String::from_utf8_lossy(&am.stderr)
                .lines()
                .find_map(|l| {
                    l.split_once("Failed to parse labels: ")
                        .map(|(_, r)| r.to_string())
                })
                .unwrap_or_default();
            let our_err = String::from_utf8_lossy(&ours.stderr);
            let kind = reason.split(':').next().unwrap_or("");
            if kind.is_empty() || !our_err.contains(kind) {
                wrong.push(format!(
                    "{args:?}: amtool says {reason:?}, vigil {our_err:?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `vigil route test --tree` and `amtool config routes test --tree` on
/// every routing tree of the data files, with label sets that reach the
/// default route, one route, routes that continue, and nested routes:
/// the same text, matching tree and receivers.
#[test]
fn route_test_tree_matches_amtool() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/route/trees");
    let label_sets: &[&[&str]] = &[
        &[],
        &["x=y"],
        &["team=db"],
        &["team=db", "severity=page"],
        &["team=web", "severity=critical"],
        &["service=database", "owner=team-X"],
        &["service=files", "severity=critical"],
        &["alertname=Watchdog", "env=prod"],
        &["l1=x", "l2=y", "l3=zz"],
        &["l1=x", "l2=y", "l3=q"],
        &["team=api", "severity=page", "env=staging"],
        &["team=web", "owner=dev"],
        &["service=mysql", "severity=critical"],
        &["service=postgres", "env=staging", "severity=warning"],
    ];
    let mut wrong = Vec::new();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "yml") {
            continue;
        }
        for args in label_sets {
            let am = Command::new("amtool")
                .args(["config", "routes", "test", "--tree"])
                .arg(format!("--config.file={}", p.display()))
                .args(*args)
                .output()
                .expect("amtool not found: install Debian's prometheus-alertmanager");
            let ours = Command::new(env!("CARGO_BIN_EXE_vigil"))
                .args(["route", "test", "--tree", "--alertmanager.config"])
                .arg(&p)
                .args(*args)
                .output()
                .unwrap();
            let (am_out, our_out) = (
                String::from_utf8_lossy(&am.stdout),
                String::from_utf8_lossy(&ours.stdout),
            );
            if am.status.code() != ours.status.code() || am_out != our_out {
                wrong.push(format!(
                    "{} {args:?}:\namtool:\n{am_out}\nvigil:\n{our_out}",
                    p.display()
                ));
            }
            n += 1;
        }
    }
    assert!(n > 0);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
