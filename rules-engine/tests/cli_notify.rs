//! The notification commands of the `vigil` binary: `route test|show`
//! from vigil's config (inline routing) or an Alertmanager file, and
//! `silence add|query|expire` and `alerts history` on the SQLite database
//! in `storage.path`.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_vigil");

fn vigil(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("--config.file")
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CONFIG: &str = "storage:
  path: data
alerting:
  alertmanager_config:
    route:
      receiver: default
      routes:
        - matchers: ['team=\"db\"']
          receiver: dba
    receivers:
      - name: default
      - name: dba
";

#[test]
fn route_test_and_show_read_the_inline_routing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(&config, CONFIG).unwrap();
    let (code, out, err) = vigil(&config, &["route", "test", "team=db", "alertname=X"]);
    assert_eq!((code, out.trim()), (0, "dba"), "{err}");
    let (code, out, _) = vigil(&config, &["route", "test", "team=web"]);
    assert_eq!((code, out.trim()), (0, "default"));
    let (code, _, _) = vigil(
        &config,
        &["route", "test", "--verify.receivers", "default", "team=db"],
    );
    assert_eq!(code, 1, "a wrong --verify.receivers fails");
    let (code, out, _) = vigil(&config, &["route", "show"]);
    assert_eq!(code, 0);
    assert!(out.contains("default") && out.contains("dba"), "{out}");

    // A config without routing says so, with its path.
    let bare = dir.path().join("bare.yml");
    std::fs::write(&bare, "storage:\n  path: data\n").unwrap();
    let (code, _, err) = vigil(&bare, &["route", "show"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bare.yml") && err.contains("alerting"),
        "{err}"
    );
}

#[test]
fn silences_are_added_listed_expired_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(
        &config,
        format!("storage:\n  path: {}\n", dir.path().join("data").display()),
    )
    .unwrap();
    let (code, id, err) = vigil(
        &config,
        &[
            "silence",
            "add",
            "alertname=\"InstanceDown\"",
            "--duration",
            "2h",
            "--comment",
            "maintenance",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let id = id.trim().to_string();
    assert!(!id.is_empty());
    let (code, out, _) = vigil(&config, &["silence", "query"]);
    assert_eq!(code, 0);
    assert!(out.contains(&id) && out.contains("InstanceDown"), "{out}");
    let (code, _, err) = vigil(&config, &["silence", "expire", &id]);
    assert_eq!(code, 0, "{err}");
    let (_, active, _) = vigil(&config, &["silence", "query"]);
    assert!(
        !active.contains(&id),
        "expired silences leave the active list"
    );
    let (_, expired, _) = vigil(&config, &["silence", "query", "--expired"]);
    assert!(expired.contains(&id), "and stay for audit: {expired}");
    let (code, _, err) = vigil(&config, &["silence", "add", "not a matcher"]);
    assert_eq!(code, 2, "a bad matcher is refused: {err}");

    // Silences are not alert history: nothing fired, nothing was sent.
    let (code, out, err) = vigil(&config, &["alerts", "history", "--limit", "5"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
}
