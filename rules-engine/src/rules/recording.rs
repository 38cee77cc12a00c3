//! Recording rules: evaluate, rename to the recorded metric, add labels.

use promql_parser::parser::Expr;

use super::query::{QueryFailed, RuleQuery};
use crate::model::{Labels, METRIC_NAME};

/// A validated recording rule.
#[derive(Debug, Clone)]
pub struct RecordingRule {
    pub name: String,
    pub expr_text: String,
    pub expr: Expr,
    pub labels: Vec<(String, String)>,
}

/// Why a rule evaluation failed; becomes the rule's `lastError`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("{0}")]
    Query(#[from] QueryFailed),
    #[error("vector contains metrics with the same labelset after applying {0} labels")]
    DuplicateLabels(&'static str),
    #[error("exceeded limit of {limit} with {count} {what}")]
    Limit {
        limit: usize,
        count: usize,
        what: &'static str,
    },
    #[error("{0}")]
    Template(String),
}

impl RecordingRule {
    /// The series to append at the evaluation time; `query_t` is that time
    /// minus the group's query offset. `limit` 0 means none.
    pub fn eval(
        &self,
        q: &dyn RuleQuery,
        query_t: i64,
        limit: usize,
    ) -> Result<Vec<(Labels, f64)>, EvalError> {
        let samples = q.instant(&self.expr, query_t)?;
        let mut out: Vec<(Labels, f64)> = samples
            .into_iter()
            .map(|s| {
                let mut l = s.labels;
                l.set(METRIC_NAME, &self.name);
                for (k, v) in &self.labels {
                    l.set(k, v);
                }
                (l, s.value)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        if out.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(EvalError::DuplicateLabels("rule"));
        }
        if limit > 0 && out.len() > limit {
            return Err(EvalError::Limit {
                limit,
                count: out.len(),
                what: "series",
            });
        }
        Ok(out)
    }
}
