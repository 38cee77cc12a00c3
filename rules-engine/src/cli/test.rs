//! `vigil test rules FILE...`: promtool's rule unit tests, with its output
//! and exit codes (`rules::cli::test_rules`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::check::print_outcome;

pub fn rules(files: &[PathBuf]) -> ExitCode {
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    print_outcome(crate::rules::cli::test_rules(&refs))
}
