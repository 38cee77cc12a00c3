//! promtool's rule unit-test file format (`promtool test rules`).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::units::PromDuration;
use crate::rules::yaml::{duration, opt_duration};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// Default 1m, as in promtool.
    #[serde(default, deserialize_with = "opt_duration")]
    pub evaluation_interval: Option<PromDuration>,
    /// Group names in the order to evaluate them; the rest follow.
    #[serde(default)]
    pub group_eval_order: Vec<String>,
    #[serde(default)]
    pub tests: Vec<TestGroup>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    #[serde(default)]
    pub name: String,
    /// Spacing of input samples; default: the evaluation interval.
    #[serde(default, deserialize_with = "opt_duration")]
    pub interval: Option<PromDuration>,
    #[serde(default)]
    pub input_series: Vec<InputSeries>,
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    pub promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub external_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    pub series: String,
    /// The expanding notation: `1+2x3 _ stale 5x2`.
    #[serde(default)]
    pub values: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTest {
    /// 0 when left out, as in promtool.
    #[serde(default = "zero", deserialize_with = "duration")]
    pub eval_time: PromDuration,
    pub alertname: String,
    #[serde(default)]
    pub exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpAlert {
    #[serde(default)]
    pub exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExprTest {
    pub expr: String,
    /// 0 when left out, as in promtool.
    #[serde(default = "zero", deserialize_with = "duration")]
    pub eval_time: PromDuration,
    #[serde(default)]
    pub exp_samples: Vec<ExpSample>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpSample {
    /// A series in selector notation: `name{a="b"}`.
    #[serde(default)]
    pub labels: String,
    pub value: f64,
}

fn zero() -> PromDuration {
    PromDuration::from_secs(0)
}
