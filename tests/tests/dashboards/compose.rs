//! The compose stack that serves the dashboards: `docker-compose.yml`, the
//! Dockerfile targets it builds, the files it mounts from `deploy/` and
//! `dashboards/provisioning/`, each loaded by the program that reads it.
//! No Docker engine runs here; Debian's `docker-compose config` validates the
//! file itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_serde::Value;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn compose() -> Value {
    yaml(&repo().join("docker-compose.yml"))
}

/// The services the stack must run (issue 7).
pub const SERVICES: &[&str] = &[
    "postgres-primary",
    "postgres-replica",
    "redis-master",
    "redis-replica",
    "haproxy",
    "app-1",
    "app-2",
    "app-3",
    "vigil-exporter",
    "vigil",
    "prometheus",
    "grafana",
    "mailpit",
];

pub fn service_names(compose: &Value) -> BTreeSet<String> {
    compose["services"]
        .as_mapping()
        .expect("services:")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect()
}

/// `(service, source, target)` of every bind mount (`./path:/target[:ro]`).
pub fn bind_mounts(compose: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (name, svc) in compose["services"].as_mapping().unwrap() {
        for v in svc["volumes"].as_sequence().into_iter().flatten() {
            let Some(spec) = v.as_str() else { continue };
            let parts: Vec<&str> = spec.split(':').collect();
            if parts[0].starts_with("./") {
                out.push((
                    name.as_str().unwrap().to_string(),
                    parts[0].to_string(),
                    parts[1].to_string(),
                ));
            }
        }
    }
    out
}

/// The `AS <name>` stages of the Dockerfile.
pub fn dockerfile_targets() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    text.lines()
        .filter(|l| l.starts_with("FROM "))
        .filter_map(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .get(3)
                .map(|s| s.to_string())
        })
        .collect()
}

/// Runs `program args...`, failing with its output; `install` says where to
/// get it.
pub fn run(program: &str, args: &[&str], dir: &Path, install: &str) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {program} ({install}): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `program` is on the PATH.
pub fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// A copy of a config file next to the repository's rules, laid out as the
/// compose file mounts them (`<dir>/rules/*.rules.yml`), for tools that check
/// the rule files a config names.
pub fn with_rules(config: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(config, dir.path().join(config.file_name().unwrap())).unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    for entry in std::fs::read_dir(repo().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(
                &path,
                dir.path().join("rules").join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    dir
}
