//! Conformance runner: Prometheus's own PromQL test files, read from
//! `../shared/promql-testdata/` (and `VIGIL_PROMQL_TESTDATA` if set), run
//! against vigil's engine. Plain float evals must pass; evals using
//! experimental syntax are reported (and must pass when listed in
//! `promql_must_pass.txt`); native-histogram evals are skipped and counted.
//!
//! `VIGIL_PROMQL_VERBOSE=1` prints every failure; `VIGIL_PROMQL_ONLY=name`
//! runs the files whose path contains `name`.

#[path = "promql_suite/blocks.rs"]
mod blocks;
#[path = "promql_suite/judge.rs"]
mod judge;
#[path = "promql_suite/mem_store.rs"]
mod mem_store;
#[path = "promql_suite/native.rs"]
mod native;
#[path = "promql_suite/run.rs"]
mod run;
#[path = "promql_suite/script.rs"]
mod script;
#[path = "promql_suite/suite.rs"]
mod suite;

fn main() {
    std::process::exit(suite::main());
}
