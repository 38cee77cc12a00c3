//! Group evaluation over the real engine and in-memory store, with pinned
//! timestamps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use promql_parser::parser::Expr;

use super::alerting::AlertContext;
use super::group::{EvalDeps, Group, Health};
use super::query::{AlertSink, EngineQuery, OutgoingAlert, QueryFailed, RuleQuery, RuleSample};
use super::validate::check_text;
use crate::alert::AlertState;
use crate::model::Labels;
use crate::promql::{Engine, Value};
use crate::store::{Appender, Head};

const MIN: i64 = 60_000;
const T0: i64 = 1_700_000_000_000;

#[derive(Default)]
struct Sink(Mutex<Vec<OutgoingAlert>>);

impl AlertSink for Sink {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        self.0.lock().extend(alerts);
    }
}

/// The engine, or a failure while `down` is set (a data-source blip).
struct Flaky {
    inner: EngineQuery,
    down: AtomicBool,
}

impl RuleQuery for Flaky {
    fn instant(&self, expr: &Expr, t: i64) -> Result<Vec<RuleSample>, QueryFailed> {
        if self.down.load(Ordering::SeqCst) {
            return Err(QueryFailed("connection refused".into()));
        }
        self.inner.instant(expr, t)
    }
}

struct Fixture {
    head: Arc<Head>,
    query: Arc<Flaky>,
    sink: Sink,
    ctx: AlertContext,
}

impl Fixture {
    fn new() -> Self {
        let head = Arc::new(Head::default());
        let query = Arc::new(Flaky {
            inner: EngineQuery {
                engine: Engine::default(),
                querier: head.clone(),
            },
            down: AtomicBool::new(false),
        });
        Fixture {
            head,
            query,
            sink: Sink::default(),
            ctx: AlertContext::default(),
        }
    }

    fn up(&self, instance: &str, t: i64, v: f64) {
        let l = Labels::from_pairs([
            ("__name__", "app_up"),
            ("instance", instance),
            ("job", "api"),
        ]);
        self.head.append(&l, t, v).unwrap();
    }

    fn eval(&self, g: &mut Group, t: i64) {
        let deps = EvalDeps {
            query: self.query.clone(),
            appender: self.head.as_ref(),
            sink: &self.sink,
            alert_ctx: &self.ctx,
            resend_delay_ms: MIN,
        };
        g.eval(t, &deps);
    }

    fn query(&self, expr: &str, t: i64) -> Vec<(String, f64)> {
        match Engine::default()
            .instant(self.head.as_ref(), expr, t)
            .unwrap()
            .value
        {
            Value::Vector(v) => v.into_iter().map(|(l, s)| (l.to_string(), s.v)).collect(),
            other => panic!("{other:?}"),
        }
    }
}

fn group(yaml: &str) -> Group {
    let f = check_text("t.yml", yaml).unwrap();
    Group::build("t.yml", &f.groups[0], MIN).unwrap()
}

const RULES: &str = r#"
groups:
  - name: g
    rules:
      - record: job:app_up:sum
        expr: sum by (job) (app_up)
      - alert: TooFewUp
        expr: job:app_up:sum < 2
        for: 2m
        labels:
          severity: "{{ if lt $value 1.0 }}critical{{ else }}warning{{ end }}"
        annotations:
          summary: "{{ $labels.job }} has {{ $value }} up"
"#;

#[test]
fn recording_result_is_seen_by_later_rules_and_alert_goes_pending_then_firing() {
    let fx = Fixture::new();
    let mut g = group(RULES);
    for i in 0..=3 {
        fx.up("a", T0 + i * MIN, 1.0);
        fx.up("b", T0 + i * MIN, if i == 0 { 1.0 } else { 0.0 });
    }
    fx.eval(&mut g, T0);
    assert_eq!(
        fx.query("job:app_up:sum", T0),
        vec![("job:app_up:sum{job=\"api\"}".into(), 2.0)]
    );
    fx.eval(&mut g, T0 + MIN);
    let alerts = fx.query("ALERTS", T0 + MIN);
    assert_eq!(
        alerts,
        vec![(
            "ALERTS{alertname=\"TooFewUp\", alertstate=\"pending\", job=\"api\", severity=\"warning\"}".into(),
            1.0
        )]
    );
    assert!(fx.sink.0.lock().is_empty(), "pending is not notified");
    fx.eval(&mut g, T0 + 3 * MIN);
    let firing = fx.query("ALERTS{alertstate=\"firing\"}", T0 + 3 * MIN);
    assert_eq!(firing.len(), 1);
    let for_state = fx.query("ALERTS_FOR_STATE", T0 + 3 * MIN);
    assert_eq!(for_state[0].1, ((T0 + MIN) / 1000) as f64);
    let sent = fx.sink.0.lock().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].annotations,
        vec![("summary".into(), "api has 1 up".into())]
    );
    assert_eq!(g.status[1].health, Health::Ok);
}

#[test]
fn failing_query_keeps_active_alerts_and_marks_rule_unhealthy() {
    let fx = Fixture::new();
    let mut g = group("groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: app_up == 0\n");
    fx.up("a", T0, 0.0);
    fx.eval(&mut g, T0);
    let super::group::Rule::Alerting(r) = &g.rules[0] else {
        panic!()
    };
    assert_eq!(r.active.values().next().unwrap().state, AlertState::Firing);
    fx.query.down.store(true, Ordering::SeqCst);
    fx.eval(&mut g, T0 + MIN);
    assert_eq!(g.status[0].health, Health::Err);
    assert_eq!(
        g.status[0].last_error.as_deref(),
        Some("connection refused")
    );
    let super::group::Rule::Alerting(r) = &g.rules[0] else {
        panic!()
    };
    let a = r.active.values().next().unwrap();
    assert_eq!((a.state, a.resolved_at), (AlertState::Firing, None));
}

#[test]
fn resolution_is_notified_and_vanished_series_go_stale() {
    let fx = Fixture::new();
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: app_up == 0\n  - alert: Down\n    expr: r\n",
    );
    fx.up("a", T0, 0.0);
    fx.eval(&mut g, T0);
    assert_eq!(fx.query("r", T0).len(), 1);
    fx.up("a", T0 + MIN, 1.0);
    fx.eval(&mut g, T0 + MIN);
    assert!(
        fx.query("r", T0 + MIN).is_empty(),
        "stale marker hides it at once"
    );
    assert!(fx.query("ALERTS", T0 + MIN).is_empty());
    let sent = fx.sink.0.lock().clone();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1].ends_at,
        T0 + MIN,
        "resolved at the evaluation that cleared it"
    );
}

#[test]
fn duplicate_labels_after_templating_and_limit_are_errors() {
    let fx = Fixture::new();
    fx.up("a", T0, 0.0);
    fx.up("b", T0, 0.0);
    let mut dup = group(
        "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: app_up == 0\n    labels:\n      instance: same\n",
    );
    fx.eval(&mut dup, T0);
    assert_eq!(dup.status[0].health, Health::Err);
    assert!(
        dup.status[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("same labelset")
    );
    let mut lim = group(
        "groups:\n- name: g\n  limit: 1\n  rules:\n  - alert: Down\n    expr: app_up == 0\n  - record: r\n    expr: app_up\n",
    );
    fx.eval(&mut lim, T0);
    assert_eq!(
        lim.status[0].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 alerts")
    );
    assert_eq!(
        lim.status[1].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 series")
    );
}

#[test]
fn query_offset_queries_the_past_and_writes_at_the_evaluation_time() {
    let fx = Fixture::new();
    fx.up("a", T0, 5.0);
    fx.up("a", T0 + 10 * MIN, 7.0);
    let mut g = group(
        "groups:\n- name: g\n  query_offset: 10m\n  rules:\n  - record: r\n    expr: app_up\n",
    );
    fx.eval(&mut g, T0 + 10 * MIN);
    assert_eq!(fx.query("r", T0 + 10 * MIN)[0].1, 5.0);
}

#[test]
fn a_zero_interval_is_the_default_interval() {
    let f = check_text(
        "t.yml",
        "groups:\n- name: g\n  interval: 0s\n  rules:\n  - record: r\n    expr: vector(1)\n",
    )
    .unwrap();
    assert_eq!(
        Group::build("t.yml", &f.groups[0], 15_000)
            .unwrap()
            .interval_ms,
        15_000
    );
}
