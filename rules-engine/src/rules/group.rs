//! A rule group: its rules in order, evaluated at a timestamp passed in.
//! Each rule's output is appended before the next rule runs, so a recording
//! rule's result is visible to the rules after it in the same evaluation.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::alerting::{AlertContext, AlertingRule};
use super::file::{GroupDef, RuleDef};
use super::query::{AlertSink, RuleQuery};
use super::recording::{EvalError, RecordingRule};
use crate::alert::Hold;
use crate::model::{Labels, stale_nan};
use crate::store::{Appender, BatchItem, SeriesRef};

/// Prometheus's default `for` resend delay (`--rules.alert.resend-delay`).
pub const DEFAULT_RESEND_DELAY_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub enum Rule {
    Recording(RecordingRule),
    Alerting(AlertingRule),
}

impl Rule {
    /// Same kind, name, expression, labels and (for alerts) hold and
    /// annotations.
    pub fn same_definition(&self, other: &Rule) -> bool {
        match (self, other) {
            (Rule::Recording(a), Rule::Recording(b)) => {
                a.name == b.name && a.expr_text == b.expr_text && a.labels == b.labels
            }
            (Rule::Alerting(a), Rule::Alerting(b)) => {
                a.name == b.name
                    && a.expr_text == b.expr_text
                    && a.labels == b.labels
                    && a.annotations == b.annotations
                    && a.hold == b.hold
            }
            _ => false,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(r) => &r.name,
        }
    }

    /// Builds a rule from a definition that passed validation; group labels
    /// apply under the rule's own.
    pub fn build(def: &RuleDef, group_labels: &[(String, String)]) -> Result<Rule, String> {
        let expr_text = def.expr.clone().unwrap_or_default();
        let expr = crate::promql::parse_expr(&expr_text).map_err(|e| e.to_string())?;
        let mut labels: Vec<(String, String)> = group_labels.to_vec();
        for (k, v) in &def.labels {
            labels.retain(|(gk, _)| gk != k);
            labels.push((k.clone(), v.clone()));
        }
        let ms = |d: Option<crate::model::units::PromDuration>| d.map_or(0, |d| d.as_millis());
        Ok(match (&def.record, &def.alert) {
            (Some(name), None) => Rule::Recording(RecordingRule {
                name: name.clone(),
                expr_text,
                expr,
                labels,
            }),
            (None, Some(name)) => Rule::Alerting(AlertingRule {
                name: name.clone(),
                expr_text,
                expr,
                hold: Hold {
                    pending_for: ms(def.for_),
                    keep_firing_for: ms(def.keep_firing_for),
                },
                labels,
                annotations: def.annotations.clone().into_iter().collect(),
                active: Default::default(),
            }),
            _ => return Err("exactly one of 'record' and 'alert' must be set".into()),
        })
    }
}

/// Health as `/api/v1/rules` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Ok,
    Err,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// The outcome of a rule's last evaluation.
#[derive(Debug, Clone)]
pub struct RuleStatus {
    pub health: Health,
    pub last_error: Option<String>,
    /// ms
    pub last_evaluation: Option<i64>,
    pub evaluation_duration: Duration,
    /// Series written last time, to mark those that vanish as stale.
    prev_series: HashSet<Labels>,
}

impl Default for RuleStatus {
    fn default() -> Self {
        RuleStatus {
            health: Health::Unknown,
            last_error: None,
            last_evaluation: None,
            evaluation_duration: Duration::ZERO,
            prev_series: HashSet::new(),
        }
    }
}

/// What a group evaluation writes to and reads from.
pub struct EvalDeps<'a> {
    pub query: Arc<dyn RuleQuery>,
    pub appender: &'a dyn Appender,
    pub sink: &'a dyn AlertSink,
    pub alert_ctx: &'a AlertContext,
    pub resend_delay_ms: i64,
}

/// A group ready to evaluate.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub file: String,
    pub interval_ms: i64,
    pub limit: usize,
    pub query_offset_ms: i64,
    pub rules: Vec<Rule>,
    pub status: Vec<RuleStatus>,
    pub last_evaluation: Option<i64>,
    pub last_duration: Duration,
}

impl Group {
    /// Builds a validated group; `default_interval_ms` applies when the
    /// group sets none.
    pub fn build(file: &str, def: &GroupDef, default_interval_ms: i64) -> Result<Group, String> {
        let glabels: Vec<(String, String)> = def.labels.clone().into_iter().collect();
        let rules = def
            .rules
            .iter()
            .map(|r| Rule::build(r, &glabels))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Group {
            name: def.name.clone(),
            file: file.to_string(),
            // Zero is unset, as in Prometheus (`interval: 0s` is the default).
            interval_ms: def
                .interval
                .map(|d| d.as_millis())
                .filter(|&ms| ms > 0)
                .unwrap_or(default_interval_ms),
            limit: usize::try_from(def.limit).unwrap_or(0),
            query_offset_ms: def.query_offset.map_or(0, |d| d.as_millis()),
            status: vec![RuleStatus::default(); rules.len()],
            rules,
            last_evaluation: None,
            last_duration: Duration::ZERO,
        })
    }

    /// Whether `other` is the same group as written (so a reload can leave
    /// this one running): same place, schedule, limits and rules.
    pub fn same_definition(&self, other: &Group) -> bool {
        self.name == other.name
            && self.file == other.file
            && self.interval_ms == other.interval_ms
            && self.limit == other.limit
            && self.query_offset_ms == other.query_offset_ms
            && self.rules.len() == other.rules.len()
            && self
                .rules
                .iter()
                .zip(&other.rules)
                .all(|(a, b)| a.same_definition(b))
    }

    /// Takes over the alerts and status of the rules of `old` that this
    /// group still has (same kind and name, the n-th of that name), so a
    /// reload that changes a group does not restart its `for` timers or
    /// re-notify its firing alerts.
    pub fn adopt_state(&mut self, old: &Group) {
        let key = |rules: &[Rule], i: usize| {
            let r = &rules[i];
            let nth = rules[..i].iter().filter(|o| o.name() == r.name()).count();
            (matches!(r, Rule::Alerting(_)), r.name().to_string(), nth)
        };
        let old_at: std::collections::HashMap<_, usize> = (0..old.rules.len())
            .map(|i| (key(&old.rules, i), i))
            .collect();
        for i in 0..self.rules.len() {
            let Some(&j) = old_at.get(&key(&self.rules, i)) else {
                continue;
            };
            self.status[i] = old.status[j].clone();
            if let (Rule::Alerting(new), Rule::Alerting(prev)) = (&mut self.rules[i], &old.rules[j])
            {
                new.active = prev.active.clone();
            }
        }
        self.last_evaluation = old.last_evaluation;
        self.last_duration = old.last_duration;
    }

    /// Every series the rules wrote at their last evaluation.
    pub fn written_series(&self) -> HashSet<Labels> {
        self.status
            .iter()
            .flat_map(|s| s.prev_series.iter().cloned())
            .collect()
    }

    /// Evaluates every rule at `t` (ms), in order.
    pub fn eval(&mut self, t: i64, deps: &EvalDeps<'_>) {
        let started = Instant::now();
        let query_t = t - self.query_offset_ms;
        for (rule, status) in self.rules.iter_mut().zip(self.status.iter_mut()) {
            let rule_started = Instant::now();
            let result = match rule {
                Rule::Recording(r) => r.eval(deps.query.as_ref(), query_t, self.limit),
                Rule::Alerting(r) => {
                    let out = r.eval(deps.query.as_ref(), t, query_t, self.limit, deps.alert_ctx);
                    let due = r.due(
                        t,
                        deps.resend_delay_ms,
                        self.interval_ms,
                        &deps.alert_ctx.external_url,
                    );
                    if !due.is_empty() {
                        deps.sink.send(due);
                    }
                    out
                }
            };
            record(status, result, t, deps.appender);
            status.evaluation_duration = rule_started.elapsed();
        }
        self.last_evaluation = Some(t);
        self.last_duration = started.elapsed();
    }
}

/// Appends a rule's output, marks vanished series stale, and notes health.
fn record(
    status: &mut RuleStatus,
    result: Result<Vec<(Labels, f64)>, EvalError>,
    t: i64,
    app: &dyn Appender,
) {
    status.last_evaluation = Some(t);
    match result {
        Ok(series) => {
            let now: HashSet<Labels> = series.iter().map(|(l, _)| l.clone()).collect();
            // One batch per rule (one log record). Out-of-order or
            // duplicate samples (a re-run of the same timestamp) are not
            // the rule's fault; their results are ignored.
            let mut items: Vec<BatchItem> = series
                .iter()
                .map(|(l, v)| BatchItem::new(SeriesRef::NONE, l, t, *v))
                .chain(
                    status
                        .prev_series
                        .difference(&now)
                        .map(|gone| BatchItem::new(SeriesRef::NONE, gone, t, stale_nan())),
                )
                .collect();
            app.append_batch(&mut items);
            status.prev_series = now;
            status.health = Health::Ok;
            status.last_error = None;
        }
        Err(e) => {
            status.health = Health::Err;
            status.last_error = Some(e.to_string());
        }
    }
}
