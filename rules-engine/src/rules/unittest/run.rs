//! Runs a promtool-format rule test file: loads the input series into a
//! fresh store per test, evaluates every group at each evaluation interval
//! from time 0 (the timestamp is the loop's, never the clock's), and
//! compares firing alerts and query results with the expectations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::format::{AlertTest, ExprTest, TestFile, TestGroup};
use super::series::{expand_values, parse_series, sample_value};
use crate::alert::AlertState;
use crate::model::Labels;
use crate::promql::eval::binary::prom_labels;
use crate::promql::go_float::go_e;
use crate::promql::{Engine, Value};
use crate::rules::alerting::AlertContext;
use crate::rules::group::{EvalDeps, Group, Rule};
use crate::rules::query::{AlertSink, EngineQuery, OutgoingAlert};
use crate::store::{Appender, Head, HeadOptions};

/// The outcome of one test file.
#[derive(Debug, Clone, PartialEq)]
pub struct TestReport {
    pub file: String,
    /// One message per failed check; empty when the file passes.
    pub failures: Vec<String>,
    /// Problems that do not fail the file (promtool only warns about a
    /// `rule_files` pattern that matches nothing).
    pub warnings: Vec<String>,
}

impl TestReport {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// promtool's layout: `Unit Testing:  f.yml` then `SUCCESS` or
    /// `FAILED:` and the failures.
    pub fn render(&self) -> String {
        let (out, err) = self.render_split();
        format!("{err}{out}")
    }

    /// What promtool prints to stdout and to stderr: the file name and
    /// `SUCCESS` on stdout; warnings, `FAILED:` and each failure on stderr,
    /// with a blank line on stdout after each failure.
    pub fn render_split(&self) -> (String, String) {
        let mut out = format!("Unit Testing:  {}\n", self.file);
        let mut err = String::new();
        for w in &self.warnings {
            err.push_str(&format!("  WARNING: {w}\n"));
        }
        if self.passed() {
            out.push_str("  SUCCESS\n");
        } else {
            err.push_str("  FAILED:\n");
            for f in &self.failures {
                err.push_str(f);
                err.push('\n');
                out.push('\n');
            }
        }
        (out, err)
    }
}

/// Runs every test of the file at `path`, on a thread with a large stack
/// (once for the whole file, not per query).
pub fn run_file(path: &Path) -> TestReport {
    crate::promql::worker::large_stack(|| run_file_here(path))
}

fn run_file_here(path: &Path) -> TestReport {
    let file = path.display().to_string();
    let mut warnings = Vec::new();
    let failures = match load(path, &mut warnings) {
        Ok((tf, groups_src)) => tf
            .tests
            .iter()
            .flat_map(|t| run_test(&tf, t, &groups_src))
            .collect(),
        // promtool prints problems with the file itself unindented.
        Err(e) => vec![e],
    };
    TestReport {
        file,
        failures,
        warnings,
    }
}

/// The test file and its rule groups (built once, cloned per test).
fn load(path: &Path, warnings: &mut Vec<String>) -> Result<(TestFile, Vec<Group>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    // promtool reads test files strictly; these keys are Go maps there.
    let maps = ["exp_labels", "exp_annotations", "external_labels"];
    let tf: TestFile = crate::rules::yaml::first_document_strict(&text, &maps)
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    let interval = eval_interval(&tf);
    let mut groups = Vec::new();
    for pattern in &tf.rule_files {
        let paths = rule_paths(dir, pattern)?;
        if paths.is_empty() {
            warnings.push(format!("no file match pattern {pattern}"));
        }
        for f in paths {
            let rf = crate::rules::check_file(&f).map_err(|es| {
                es.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            let name = f.display().to_string();
            for g in &rf.groups {
                groups.push(Group::build(&name, g, interval)?);
            }
        }
    }
    order_groups(&mut groups, &tf.group_eval_order)?;
    Ok((tf, groups))
}

fn rule_paths(dir: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let full = dir.join(pattern);
    let paths: Vec<PathBuf> = glob::glob(&full.to_string_lossy())
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .collect();
    Ok(paths)
}

/// Puts the groups named in `group_eval_order` first, in that order (a
/// name repeated is promtool's error; a name no file defines is ignored, as
/// promtool ignores it).
fn order_groups(groups: &mut [Group], order: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    if let Some(repeated) = order.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(format!(
            "group name repeated in evaluation order: {repeated}"
        ));
    }
    let rank = |g: &Group| {
        order
            .iter()
            .position(|n| n == &g.name)
            .unwrap_or(order.len())
    };
    groups.sort_by_key(rank);
    Ok(())
}

fn eval_interval(tf: &TestFile) -> i64 {
    // Zero is unset, as in promtool: 1m.
    tf.evaluation_interval
        .map(|d| d.as_millis())
        .filter(|&ms| ms > 0)
        .unwrap_or(60_000)
}

struct Discard;

impl AlertSink for Discard {
    fn send(&self, _: Vec<OutgoingAlert>) {}
}

fn run_test(tf: &TestFile, t: &TestGroup, groups: &[Group]) -> Vec<String> {
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let every = eval_interval(tf);
    let step = t.interval.map_or(every, |d| d.as_millis());
    let mut failures = Vec::new();
    for s in &t.input_series {
        if let Err(e) = load_series(head.as_ref(), &s.series, &s.values, step) {
            return vec![format!("input series {:?}: {e}", s.series)];
        }
    }
    let mut groups: Vec<Group> = groups.to_vec();
    let ctx = AlertContext {
        external_labels: Labels::from_pairs(t.external_labels.clone()),
        external_url: t.external_url.clone(),
        query: None,
    };
    let query = Arc::new(EngineQuery {
        engine: Engine::default(),
        querier: head.clone(),
    });
    let ctx = AlertContext {
        query: Some(query.clone()),
        ..ctx
    };
    let mut alert_tests: Vec<&AlertTest> = t.alert_rule_test.iter().collect();
    alert_tests.sort_by_key(|a| a.eval_time.as_millis());
    let max_t = alert_tests
        .iter()
        .map(|a| a.eval_time.as_millis())
        .chain(t.promql_expr_test.iter().map(|e| e.eval_time.as_millis()))
        .max()
        .unwrap_or(0);
    let mut next = 0;
    let mut ts = 0;
    while ts <= max_t {
        let deps = EvalDeps {
            query: query.clone(),
            appender: head.as_ref(),
            sink: &Discard,
            alert_ctx: &ctx,
            resend_delay_ms: 60_000,
        };
        for g in &mut groups {
            g.eval(ts, &deps);
        }
        // As promtool: a rule that fails to evaluate ends the test here,
        // with the failures so far and one line per failing rule.
        let eval_errors = eval_errors(&groups, ts);
        if !eval_errors.is_empty() {
            failures.extend(eval_errors);
            return failures;
        }
        while let Some(a) = alert_tests
            .get(next)
            .filter(|a| a.eval_time.as_millis() < ts + every)
        {
            failures.extend(check_alerts(&t.name, a, &groups));
            next += 1;
        }
        ts += every;
    }
    for e in &t.promql_expr_test {
        failures.extend(check_expr(e, head.as_ref()));
    }
    failures
}

/// promtool's line for each rule whose evaluation at `ts` failed.
fn eval_errors(groups: &[Group], ts: i64) -> Vec<String> {
    groups
        .iter()
        .flat_map(|g| g.rules.iter().zip(&g.status))
        .filter(|(_, st)| st.last_evaluation == Some(ts))
        .filter_map(|(r, st)| {
            let err = st.last_error.as_ref()?;
            Some(format!(
                "    rule: {}, time: {}, err: {err}",
                r.name(),
                go_duration(ts)
            ))
        })
        .collect()
}

/// Go's `time.Duration.String()` for a whole number of milliseconds:
/// `0s`, `500ms`, `1.5s`, `1m0s`, `1h30m0s`.
pub(crate) fn go_duration(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let u = ms.unsigned_abs();
    if u == 0 {
        return "0s".into();
    }
    if u < 1000 {
        return format!("{sign}{u}ms");
    }
    let (h, m) = (u / 3_600_000, u / 60_000 % 60);
    let mut secs = format!("{}.{:03}", u / 1000 % 60, u % 1000);
    while secs.ends_with('0') {
        secs.pop();
    }
    let secs = secs.trim_end_matches('.');
    match (h, m) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, m) => format!("{sign}{m}m{secs}s"),
        (h, m) => format!("{sign}{h}h{m}m{secs}s"),
    }
}

fn load_series(app: &dyn Appender, series: &str, values: &str, step: i64) -> Result<(), String> {
    let labels = parse_series(series)?;
    let mut last_t = None;
    for (i, p) in expand_values(values)?.into_iter().enumerate() {
        let t = i as i64 * step;
        // `interval: 0s` puts every sample at one time: the first stays,
        // as promtool's loader keeps it.
        if last_t == Some(t) {
            continue;
        }
        if let Some(v) = sample_value(p) {
            app.append(&labels, t, v).map_err(|e| e.to_string())?;
            last_t = Some(t);
        }
    }
    Ok(())
}

type AlertView = (Labels, BTreeMap<String, String>);

/// promtool's listing of alerts: `[]`, or one numbered entry per alert,
/// separated by `,`.
fn show(alerts: &[AlertView]) -> String {
    if alerts.is_empty() {
        return "[]".into();
    }
    let items: Vec<String> = alerts
        .iter()
        .enumerate()
        .map(|(i, (l, a))| {
            let ann: Vec<String> = a.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            format!(
                "            {i}:\n              Labels:{l}\n              Annotations:{{{}}}",
                ann.join(", ")
            )
        })
        .collect();
    format!("[\n{}\n            ]", items.join(",\n"))
}

/// promtool's `name: …,` line, left out for a test without a name.
fn name_line(test: &str) -> String {
    if test.is_empty() {
        String::new()
    } else {
        format!("    name: {test},\n")
    }
}

fn check_alerts(test: &str, a: &AlertTest, groups: &[Group]) -> Option<String> {
    let mut got: Vec<AlertView> = groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| match r {
            Rule::Alerting(r) if r.name == a.alertname => Some(r),
            _ => None,
        })
        .flat_map(|r| r.active.values())
        .filter(|al| al.state == AlertState::Firing)
        .map(|al| (al.labels.clone(), al.annotations.iter().cloned().collect()))
        .collect();
    let mut exp: Vec<AlertView> = a
        .exp_alerts
        .iter()
        .map(|e| {
            let mut l = Labels::from_pairs(e.exp_labels.clone());
            l.set("alertname", &a.alertname);
            (l, e.exp_annotations.clone())
        })
        .collect();
    got.sort();
    exp.sort();
    (got != exp).then(|| {
        format!(
            "{}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
            name_line(test),
            a.alertname,
            a.eval_time,
            show(&exp),
            show(&got)
        )
    })
}

/// promtool's float comparison: equal within a relative 1e-6.
fn almost_equal(a: f64, b: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || diff < f64::MIN_POSITIVE {
        return diff < 1e-6 * f64::MIN_POSITIVE;
    }
    diff / (a.abs() + b.abs()) < 1e-6
}

/// Runs one `promql_expr_test` and returns promtool's failure text, if
/// any: the query error, or the expected and actual samples (values in
/// Go's `%E` form, `nil` for none).
fn check_expr(e: &ExprTest, head: &Head) -> Option<String> {
    let at = format!("    expr: {:?}, time: {}", e.expr, e.eval_time);
    let got: Vec<(Labels, f64)> =
        match Engine::default().instant(head, &e.expr, e.eval_time.as_millis()) {
            Ok(out) => match out.value {
                Value::Vector(v) => v.into_iter().map(|(l, s)| (l, s.v)).collect(),
                Value::Scalar(_, v) => vec![(Labels::empty(), v)],
                other => {
                    let ty = other.type_name();
                    return Some(format!("{at}, err: expected vector or scalar, got {ty}"));
                }
            },
            Err(err) => return Some(format!("{at}, err: {err}")),
        };
    let mut exp = Vec::new();
    for s in &e.exp_samples {
        match parse_series(&s.labels) {
            Ok(l) => exp.push((l, s.value)),
            Err(err) => return Some(format!("{at}, err: labels {:?}: {err}", s.labels)),
        }
    }
    let mut got = got;
    got.sort_by(|a, b| a.0.cmp(&b.0));
    exp.sort_by(|a, b| a.0.cmp(&b.0));
    let same = got.len() == exp.len()
        && got
            .iter()
            .zip(&exp)
            .all(|(g, x)| g.0 == x.0 && almost_equal(g.1, x.1));
    let show = |v: &[(Labels, f64)]| {
        if v.is_empty() {
            return "nil".to_string();
        }
        let items: Vec<String> = v
            .iter()
            .map(|(l, x)| format!("{} {}", prom_labels(l), go_e(*x, true)))
            .collect();
        items.join(", ")
    };
    (!same).then(|| {
        format!(
            "{at},\n        exp: {}\n        got: {}",
            show(&exp),
            show(&got)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::go_duration;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(500), "500ms");
        assert_eq!(go_duration(1500), "1.5s");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(5_400_000), "1h30m0s");
        assert_eq!(go_duration(-90_250), "-1m30.25s");
    }
}
