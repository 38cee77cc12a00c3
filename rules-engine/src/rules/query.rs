//! The seams rules depend on: a query function (the embedded engine and
//! store, or a remote Prometheus-compatible API) and a sink for alerts to
//! notify. Rules never see the store or the network directly.

use std::sync::Arc;

use promql_parser::parser::Expr;

use crate::model::Labels;
use crate::promql::{Engine, Value};
use crate::store::Querier;

/// One sample of an instant query result.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSample {
    pub labels: Labels,
    pub value: f64,
}

/// Why a rule's query failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct QueryFailed(pub String);

/// Runs an instant query at `t_ms` for a rule.
pub trait RuleQuery: Send + Sync {
    fn instant(&self, expr: &Expr, t_ms: i64) -> Result<Vec<RuleSample>, QueryFailed>;
}

/// The embedded engine over the embedded store.
pub struct EngineQuery {
    pub engine: Engine,
    pub querier: Arc<dyn Querier>,
}

impl RuleQuery for EngineQuery {
    fn instant(&self, expr: &Expr, t_ms: i64) -> Result<Vec<RuleSample>, QueryFailed> {
        let out = self
            .engine
            .instant_expr(self.querier.as_ref(), expr, t_ms)
            .map_err(|e| QueryFailed(e.to_string()))?;
        to_samples(out.value)
    }
}

/// A rule's result as a vector: a scalar is one sample without labels (as
/// Prometheus's `EngineQueryFunc` does); strings and matrices are errors.
pub fn to_samples(v: Value) -> Result<Vec<RuleSample>, QueryFailed> {
    match v {
        Value::Vector(v) => Ok(v
            .into_iter()
            .map(|(labels, s)| RuleSample { labels, value: s.v })
            .collect()),
        Value::Scalar(_, v) => Ok(vec![RuleSample {
            labels: Labels::empty(),
            value: v,
        }]),
        other => Err(QueryFailed(format!(
            "rule result is not a vector or scalar: {}",
            other.type_name()
        ))),
    }
}

/// An alert as handed to notification: Prometheus's `notifier.Alert`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingAlert {
    pub labels: Labels,
    pub annotations: Vec<(String, String)>,
    /// ms
    pub starts_at: i64,
    /// ms: the resolution time, or how long a firing alert stays valid
    /// without a re-send.
    pub ends_at: i64,
    pub generator_url: String,
}

/// Where alerts to notify go (the router, or an external Alertmanager).
pub trait AlertSink: Send + Sync {
    fn send(&self, alerts: Vec<OutgoingAlert>);
}
