//! Query results as Prometheus's API returns them: scalar, string, instant
//! vector or range vector (matrix).

use crate::model::{Labels, Sample};
use crate::store::SeriesSamples;

/// The value of an evaluated expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar at a time (ms).
    Scalar(i64, f64),
    /// A string literal at a time (ms).
    String(i64, String),
    /// An instant vector: one sample per series, all at the evaluation time.
    Vector(Vec<(Labels, Sample)>),
    /// A range vector, or the result of a range query: series sorted by
    /// labels, their points oldest first.
    Matrix(Vec<SeriesSamples>),
}

impl Value {
    /// Prometheus's `resultType` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar(..) => "scalar",
            Value::String(..) => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// A query's value and the annotations collected while evaluating it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    pub value: Value,
    /// "PromQL warning: ..." texts, deduplicated, in the order found.
    pub warnings: Vec<String>,
    /// "PromQL info: ..." texts, deduplicated, in the order found.
    pub infos: Vec<String>,
}
