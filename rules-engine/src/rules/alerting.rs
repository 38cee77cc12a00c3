//! Alerting rules: evaluate the condition, template labels and annotations
//! per result, advance each alert with [`Alert::step`], and produce the
//! `ALERTS` / `ALERTS_FOR_STATE` series and the alerts due for notification.

use std::collections::HashMap;
use std::sync::Arc;

use promql_parser::parser::Expr;

use super::query::{OutgoingAlert, RuleQuery};
use super::recording::EvalError;
use crate::alert::template::{QuerySample, TemplateData, TemplateQuery, expand};
use crate::alert::{Alert, AlertState, Hold, Keep};
use crate::model::{Labels, METRIC_NAME};

/// What templates see besides the alert itself.
#[derive(Clone, Default)]
pub struct AlertContext {
    pub external_labels: Labels,
    pub external_url: String,
    /// Backs the templates' `query` function.
    pub query: Option<Arc<dyn RuleQuery>>,
}

/// A validated alerting rule and its alerts.
#[derive(Debug, Clone)]
pub struct AlertingRule {
    pub name: String,
    pub expr_text: String,
    pub expr: Expr,
    pub hold: Hold,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// Keyed by the alert's output labels.
    pub active: HashMap<Labels, Alert>,
}

impl AlertingRule {
    /// Evaluates at `t` (querying at `query_t`) and returns the `ALERTS` and
    /// `ALERTS_FOR_STATE` samples to append at `t`. On a failed query the
    /// alerts are left as they were: a data-source blip resolves nothing.
    pub fn eval(
        &mut self,
        q: &dyn RuleQuery,
        t: i64,
        query_t: i64,
        limit: usize,
        ctx: &AlertContext,
    ) -> Result<Vec<(Labels, f64)>, EvalError> {
        let samples = q.instant(&self.expr, query_t)?;
        let mut current: HashMap<Labels, Alert> = HashMap::with_capacity(samples.len());
        for s in samples {
            let (labels, annotations) = self.expand_for(&s.labels, s.value, query_t, ctx);
            let alert = Alert::new(labels.clone(), annotations, s.value, t);
            if current.insert(labels, alert).is_some() {
                return Err(EvalError::DuplicateLabels("alert"));
            }
        }
        for (labels, fresh) in &current {
            match self.active.get_mut(labels) {
                Some(a) if a.state != AlertState::Inactive => {
                    a.value = fresh.value;
                    a.annotations = fresh.annotations.clone();
                }
                _ => {
                    self.active.insert(labels.clone(), fresh.clone());
                }
            }
        }
        let hold = self.hold;
        self.active
            .retain(|labels, a| a.step(current.contains_key(labels), t, hold) == Keep::Keep);
        let count = self
            .active
            .values()
            .filter(|a| a.state != AlertState::Inactive)
            .count();
        if limit > 0 && count > limit {
            self.active.clear();
            return Err(EvalError::Limit {
                limit,
                count,
                what: "alerts",
            });
        }
        Ok(self.series())
    }

    /// `ALERTS{alertstate}` (value 1) and `ALERTS_FOR_STATE` (value: when
    /// the alert became active, in seconds) for each pending or firing alert.
    fn series(&self) -> Vec<(Labels, f64)> {
        let mut out = Vec::with_capacity(self.active.len() * 2);
        for a in self
            .active
            .values()
            .filter(|a| a.state != AlertState::Inactive)
        {
            let mut l = a.labels.clone();
            l.set(METRIC_NAME, "ALERTS");
            l.set("alertstate", a.state.as_str());
            out.push((l, 1.0));
            let mut f = a.labels.clone();
            f.set(METRIC_NAME, "ALERTS_FOR_STATE");
            out.push((f, a.active_at as f64 / 1000.0));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The output labels and annotations of one result sample.
    fn expand_for(
        &self,
        sample: &Labels,
        value: f64,
        query_t: i64,
        ctx: &AlertContext,
    ) -> (Labels, Vec<(String, String)>) {
        let data = TemplateData {
            labels: Some(sample),
            external_labels: Some(&ctx.external_labels),
            external_url: &ctx.external_url,
            value,
        };
        let tq: Option<Arc<dyn TemplateQuery>> = ctx
            .query
            .clone()
            .map(|q| Arc::new(TemplateQueries(q)) as Arc<dyn TemplateQuery>);
        let run = |text: &str| {
            expand(&self.name, text, &data, tq.clone(), query_t)
                .unwrap_or_else(|e| format!("<error expanding template: {e}>"))
        };
        let mut labels = sample.clone();
        labels.remove(METRIC_NAME);
        for (k, v) in &self.labels {
            labels.set(k, &run(v));
        }
        labels.set("alertname", &self.name);
        let annotations = self
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), run(v)))
            .collect();
        (labels, annotations)
    }

    /// The alerts due for notification at `t`, marked as sent. A firing
    /// alert is valid for four resend periods (or evaluation intervals), as
    /// in Prometheus, so a receiver expires it if vigil goes quiet. Each
    /// links back to the expression under `external_url`.
    pub fn due(
        &mut self,
        t: i64,
        resend_delay: i64,
        interval: i64,
        external_url: &str,
    ) -> Vec<OutgoingAlert> {
        let valid_for = 4 * resend_delay.max(interval);
        // Printed once per evaluation that notifies, not once per rule run.
        let mut link: Option<String> = None;
        let expr = &self.expr;
        let mut out: Vec<OutgoingAlert> = self
            .active
            .values_mut()
            .filter(|a| a.needs_sending(t, resend_delay))
            .map(|a| {
                a.last_sent_at = Some(t);
                let url = link.get_or_insert_with(|| {
                    super::external_url::generator_url(external_url, &expr.to_string())
                });
                OutgoingAlert {
                    labels: a.labels.clone(),
                    annotations: a.annotations.clone(),
                    starts_at: a.active_at,
                    ends_at: a.resolved_at.unwrap_or(t + valid_for),
                    generator_url: url.clone(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }
}

impl AlertingRule {
    /// Puts back alerts saved before a restart: a pending alert keeps its
    /// `active_at` (its `for` timer continues), a firing one its
    /// `last_sent_at` (it is not notified again before the resend delay).
    pub fn restore(&mut self, alerts: impl IntoIterator<Item = Alert>) {
        for a in alerts {
            self.active.insert(a.labels.clone(), a);
        }
    }
}

/// Templates' `query` through the rule query seam.
struct TemplateQueries(Arc<dyn RuleQuery>);

impl TemplateQuery for TemplateQueries {
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, String> {
        let ast = crate::promql::parse_expr(expr).map_err(|e| e.to_string())?;
        let samples = self.0.instant(&ast, t_ms).map_err(|e| e.to_string())?;
        Ok(samples
            .into_iter()
            .map(|s| QuerySample {
                labels: s.labels,
                value: s.value,
            })
            .collect())
    }
}
