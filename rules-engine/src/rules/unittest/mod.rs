//! `vigil test rules`: promtool's rule unit tests, run on vigil's engine.
//!
//! ```text
//! format.rs  the test file (rule_files, evaluation_interval, tests, ...)
//! series.rs  input_series notation (`1+2x3 _ stale`) and `name{a="b"}`
//! run.rs     store per test, groups evaluated from 0 every interval,
//!            firing alerts and query results compared
//! ```

pub mod format;
pub mod run;
pub mod series;

pub use run::{TestReport, run_file};
