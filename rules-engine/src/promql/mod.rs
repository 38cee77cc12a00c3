//! PromQL evaluation over the store's [`crate::store::Querier`].
//!
//! `promql-parser` gives the AST; everything else is here: selectors with
//! lookback and staleness, functions, aggregations, binary operators,
//! subqueries, `@` and `offset`, annotations, limits.

mod annotations;
mod cancel;
mod durations;
mod engine;
mod error;
pub(crate) mod eval;
pub(crate) mod functions;
pub(crate) mod parse;
pub(crate) mod range_modes;
mod value;

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod perf_tests;

pub use cancel::CancelFlag;
pub use engine::{Engine, EngineOptions};
pub use error::QueryError;
pub use parse::parse_expr;
pub use value::{QueryOutput, Value};
