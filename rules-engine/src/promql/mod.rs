//! PromQL evaluation over the store's [`crate::store::Querier`].
//!
//! `promql-parser` gives the AST; everything else is here:
//!
//! ```text
//! text ──parse.rs──> go byte escapes ─> durations.rs (`[5m+1m]`, `offset (..)`)
//!      ─> range_modes.rs (`anchored`/`smoothed`) ─> promql_parser::parse ─> Expr
//! Expr ──eval/──> Val per step ──engine.rs──> Value (+ warnings, infos)
//!        selectors.rs   one `select` per selector for the whole range + lookback
//!        subquery.rs    range arguments: windows (t - range, t] per step
//!        binary.rs      operators, vector matching, set operators
//!        aggregate.rs   sum … limit_ratio, by/without
//!        functions/     one file per family
//! ```
//!
//! Every expression is evaluated for all steps at once (an instant query is
//! a one-step range query), so selectors read the store once. Series labels
//! are shared (`Rc`) across steps, and per-operation caches keyed by their
//! address avoid recomputing matching signatures and result labels.
//! Prometheus 3.x semantics throughout: left-open windows, lookback without
//! its left edge, delayed `__name__` removal (`Elem::drop_name`).

mod annotations;
mod cancel;
mod durations;
mod engine;
mod error;
pub(crate) mod eval;
pub(crate) mod functions;
pub mod go_float;
pub(crate) mod info_arg;
pub mod limits;
pub(crate) mod parse;
mod parse_errors;
pub(crate) mod range_modes;
mod value;
pub mod worker;

#[cfg(test)]
mod depth_tests;
#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod fused_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod matching_tests;
#[cfg(test)]
mod perf_tests;

pub use cancel::CancelFlag;
pub use engine::{Engine, EngineOptions};
pub use error::QueryError;
pub use parse::parse_expr;
pub use value::{QueryOutput, Value};
