//! Binaries of the workspace's other packages. Cargo hands a test only the
//! binaries of its own package (`CARGO_BIN_EXE_*`), so these are built on
//! first use with the cargo that runs the tests (a no-op when up to date),
//! into the same target directory and profile as the test binary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The `target/<profile>` directory this test binary was built into.
pub fn target_profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/debug/deps/<test>-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary inside target/<profile>/deps")
        .to_path_buf()
}

/// `bin` of workspace package `package`, built once per test process.
pub fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    if let Some(path) = built.get(bin) {
        return path.clone();
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let profile_dir = target_profile_dir();
    let mut cmd = Command::new(cargo);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_for_tests) {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(workspace)
        .args(["build", "--quiet", "-p", package, "--bin", bin]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    if let Some(target) = profile_dir.parent() {
        cmd.env("CARGO_TARGET_DIR", target);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("run cargo build for {bin}: {e}"));
    assert!(
        status.success(),
        "cargo build -p {package} --bin {bin} failed"
    );
    let path = profile_dir.join(bin);
    assert!(path.exists(), "{} missing after the build", path.display());
    built.insert(bin.to_string(), path.clone());
    path
}

/// Variables cargo sets for a test process (and build scripts) that are not
/// the user's settings. Passed on to the nested cargo they would change the
/// environment some build scripts watch (`ring`'s `rerun-if-env-changed`
/// lists `CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, `OUT_DIR`): their crates and
/// everything above them would be rebuilt here, and again by the next
/// `cargo test`, minutes each time.
pub fn set_by_cargo_for_tests(name: &str) -> bool {
    name == "OUT_DIR"
        || name == "CARGO_CRATE_NAME"
        || name == "CARGO_PRIMARY_PACKAGE"
        || name == "CARGO_TARGET_TMPDIR"
        || name.starts_with("CARGO_MANIFEST_")
        || name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_BIN_")
}

/// The `vigil` binary (package `vigil`).
pub fn vigil_bin() -> PathBuf {
    workspace_bin("vigil", "vigil")
}
