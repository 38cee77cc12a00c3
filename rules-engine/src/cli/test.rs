//! `vigil test rules FILE...`: promtool's rule unit tests, with its output
//! and exit codes (`rules::cli::test_rules`). The tests evaluate rules, so
//! they run on an evaluation thread ([`crate::promql::worker`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::check::print_outcome;

pub fn rules(files: &[PathBuf]) -> ExitCode {
    let files = files.to_vec();
    let outcome = crate::promql::worker::run_sync(move || {
        let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        crate::rules::cli::test_rules(&refs)
    });
    match outcome {
        Ok(o) => print_outcome(o),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
