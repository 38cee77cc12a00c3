//! Alert label and annotation templates: Go template syntax (gotmpl) with
//! Prometheus's variables and functions.
//!
//! As in Prometheus, every template is prefixed with the definitions of
//! `$labels`, `$externalLabels`, `$externalURL` and `$value`, so they are all
//! on line 1 and errors name `template: __alert_<name>:1: …`. A missing key
//! prints empty (Prometheus runs with `missingkey=zero`; gotmpl prints
//! `<no value>`, which [`DropNoValue`] removes).

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::{Template, Value};

use super::{humanize, template_print, template_printf};
use crate::model::Labels;

/// The name the rewritten main tree runs under.
const MAIN: &str = "__vigil_main";

const HEADER: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// One sample of a template `query` result.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    pub labels: Labels,
    pub value: f64,
}

/// The query seam of templates' `query` function: an instant query at the
/// evaluation time of the alert being expanded.
pub trait TemplateQuery: Send + Sync {
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, String>;
}

/// A template that failed to parse or to run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// What a template sees.
#[derive(Clone, Default)]
pub struct TemplateData<'a> {
    pub labels: Option<&'a Labels>,
    pub external_labels: Option<&'a Labels>,
    pub external_url: &'a str,
    pub value: f64,
}

/// Checks that `text` parses with every function defined (what promtool
/// checks at load). `name` is the alert name.
pub fn parse_check(name: &str, text: &str) -> Result<(), TemplateError> {
    build(name, text, None, 0).map(|_| ())
}

/// Expands `text` for one alert. `query` backs the `query` function; without
/// it `query` fails. `t_ms` is the evaluation time the query runs at.
pub fn expand(
    name: &str,
    text: &str,
    data: &TemplateData<'_>,
    query: Option<Arc<dyn TemplateQuery>>,
    t_ms: i64,
) -> Result<String, TemplateError> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let tmpl = ready(name, text)?;
    let _scope = QueryScope::enter(query, t_ms);
    let mut out = DropNoValue(String::new());
    tmpl.execute_template_fmt(&mut out, MAIN, &to_value(data))
        .map_err(|e| TemplateError(format!("error executing template __alert_{name}: {e}")))?;
    Ok(out.0)
}

/// Templates ready to execute, by alert name and text. Every alert of a
/// rule expands the same few texts at every evaluation; parsing them
/// (twice: once to check, once for the rewritten tree) and registering the
/// functions each time cost more than running them. Bounded by what the
/// rule files hold; cleared if reloads ever pile up more than this.
const READY_MAX: usize = 20_000;

type ReadyMap = std::collections::HashMap<(String, String), Arc<Template>>;

fn ready(name: &str, text: &str) -> Result<Arc<Template>, TemplateError> {
    static READY: std::sync::OnceLock<parking_lot::Mutex<ReadyMap>> = std::sync::OnceLock::new();
    let cache = READY.get_or_init(Default::default);
    let key = (name.to_string(), text.to_string());
    if let Some(t) = cache.lock().get(&key) {
        return Ok(t.clone());
    }
    let t = Arc::new(compile(name, text)?);
    let mut c = cache.lock();
    if c.len() >= READY_MAX {
        c.clear();
    }
    c.insert(key, t.clone());
    Ok(t)
}

/// Checks `text` as [`parse_check`] does and builds the template to run:
/// a copy of the tree whose printing actions and `printf` calls format
/// floats as Go does (template_print.rs, template_printf.rs), with `query` reading its seam and time from
/// [`QueryScope`].
fn compile(name: &str, text: &str) -> Result<Template, TemplateError> {
    let tmpl = build(name, text, Some(Arc::new(ScopedQuery)), 0)?;
    let (mut main, defines) = gotmpl::parse::Parser::new(&format!("{HEADER}{text}"), "{{", "}}")
        .and_then(|p| p.parse())
        .map_err(|e| TemplateError(format!("template: {e}")))?;
    template_print::rewrite(&mut main);
    template_printf::rewrite(&mut main);
    let mut tmpl = tmpl
        .func(template_print::PRINT_FN, template_print::print_value)
        .func(template_printf::PRINTF_FN, template_printf::printf);
    for mut d in defines {
        template_print::rewrite(&mut d.body);
        template_printf::rewrite(&mut d.body);
        tmpl = tmpl.add_parse_tree(&d.name, d.body);
    }
    Ok(tmpl.add_parse_tree(MAIN, main))
}

type Scope = Option<(Option<Arc<dyn TemplateQuery>>, i64)>;

thread_local! {
    /// The query seam and time of the expansion running on this thread
    /// (expansion is synchronous: the template's `query` runs inside it).
    static SCOPE: std::cell::RefCell<Scope> = const { std::cell::RefCell::new(None) };
}

/// Sets [`SCOPE`] for one expansion and puts the previous one back.
struct QueryScope(Scope);

impl QueryScope {
    fn enter(query: Option<Arc<dyn TemplateQuery>>, t_ms: i64) -> QueryScope {
        QueryScope(SCOPE.with(|s| s.replace(Some((query, t_ms)))))
    }
}

impl Drop for QueryScope {
    fn drop(&mut self) {
        let prev = self.0.take();
        SCOPE.with(|s| *s.borrow_mut() = prev);
    }
}

/// The `query` of cached templates: the seam of the running expansion.
struct ScopedQuery;

impl TemplateQuery for ScopedQuery {
    fn query(&self, expr: &str, _: i64) -> Result<Vec<QuerySample>, String> {
        let (q, t) = SCOPE
            .with(|s| s.borrow().clone())
            .and_then(|(q, t)| Some((q?, t)))
            .ok_or_else(|| "query is not available here".to_string())?;
        q.query(expr, t)
    }
}

fn build(
    name: &str,
    text: &str,
    query: Option<Arc<dyn TemplateQuery>>,
    t_ms: i64,
) -> Result<Template, TemplateError> {
    let mut tmpl = Template::new(&format!("__alert_{name}"));
    let mut names = vec!["query"];
    for (fname, f) in functions() {
        names.push(fname);
        tmpl = tmpl.func(fname, f);
    }
    tmpl = tmpl.func("query", move |args: &[Value]| {
        let expr = str_arg(args, 0)?;
        let q = query
            .as_ref()
            .ok_or_else(|| exec_err("query is not available here"))?;
        let samples = q.query(&expr, t_ms).map_err(exec_err)?;
        Ok(Value::List(samples.iter().map(sample_value).collect()))
    });
    let src = format!("{HEADER}{text}");
    let tmpl = tmpl
        .parse(&src)
        .map_err(|e| TemplateError(format!("template: {}", strip_prefix(&e.to_string()))))?;
    if let Some((line, msg)) = super::template_vars::undefined_name(&src, &names) {
        return Err(TemplateError(format!(
            "template: __alert_{name}:{line}: {msg}"
        )));
    }
    Ok(tmpl)
}

/// gotmpl's parse errors start with `template: ` already in some versions.
fn strip_prefix(s: &str) -> &str {
    s.strip_prefix("template: ").unwrap_or(s)
}

/// Writes everything except the `<no value>` gotmpl prints for a missing
/// key, which Prometheus prints as an empty string. The marker arrives as one
/// write of exactly that text, so literal text around it is untouched.
struct DropNoValue(String);

impl std::fmt::Write for DropNoValue {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if s != "<no value>" {
            self.0.push_str(s);
        }
        Ok(())
    }
}

fn labels_value(l: Option<&Labels>) -> Value {
    let map: BTreeMap<Arc<str>, Value> = l
        .into_iter()
        .flat_map(|l| l.iter())
        .map(|l| {
            (
                Arc::from(l.name.as_str()),
                Value::String(l.value.as_str().into()),
            )
        })
        .collect();
    Value::Map(Arc::new(map))
}

fn to_value(d: &TemplateData<'_>) -> Value {
    let mut m = BTreeMap::new();
    m.insert(Arc::from("Labels"), labels_value(d.labels));
    m.insert(Arc::from("ExternalLabels"), labels_value(d.external_labels));
    m.insert(
        Arc::from("ExternalURL"),
        Value::String(d.external_url.into()),
    );
    m.insert(Arc::from("Value"), Value::Float(d.value));
    Value::Map(Arc::new(m))
}

/// A query result element as Prometheus's templates see it: `.Labels`,
/// `.Value`.
fn sample_value(s: &QuerySample) -> Value {
    let mut m = BTreeMap::new();
    m.insert(Arc::from("Labels"), labels_value(Some(&s.labels)));
    m.insert(Arc::from("Value"), Value::Float(s.value));
    Value::Map(Arc::new(m))
}

/// A template function's failure, as gotmpl reports it (shared with the
/// notification templates).
pub(crate) fn exec_err(msg: impl std::fmt::Display) -> gotmpl::TemplateError {
    gotmpl::TemplateError::Exec(msg.to_string())
}

/// Argument `i` of a template function as text.
pub(crate) fn str_arg(args: &[Value], i: usize) -> gotmpl::Result<String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.to_string()),
        Some(other) => Ok(other.to_string()),
        None => Err(exec_err(format!("missing argument {}", i + 1))),
    }
}

/// Numbers as Prometheus's humanize functions take them: floats, integers
/// or numeric strings.
fn num_arg(args: &[Value]) -> gotmpl::Result<f64> {
    match args.first() {
        Some(Value::Float(f)) => Ok(*f),
        Some(Value::Int(i)) => Ok(*i as f64),
        Some(Value::Uint(u)) => Ok(*u as f64),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map_err(|e| exec_err(format!("strconv.ParseFloat: parsing {s:?}: {e}"))),
        Some(other) => Err(exec_err(format!("can't convert {other} to float"))),
        None => Err(exec_err("missing argument")),
    }
}

type Func = Box<dyn Fn(&[Value]) -> gotmpl::Result<Value> + Send + Sync>;

fn num_fn(f: fn(f64) -> String) -> Func {
    Box::new(move |a: &[Value]| Ok(Value::String(f(num_arg(a)?).into())))
}

fn str_fn(f: fn(&str) -> String) -> Func {
    Box::new(move |a: &[Value]| Ok(Value::String(f(&str_arg(a, 0)?).into())))
}

fn regex(pattern: &str) -> gotmpl::Result<regex::Regex> {
    regex::Regex::new(pattern).map_err(exec_err)
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_letter = false;
    for c in s.chars() {
        if !prev_letter {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
    }
    out
}

/// Prometheus's template functions other than `query`.
fn functions() -> Vec<(&'static str, Func)> {
    vec![
        ("humanize", num_fn(humanize::humanize)),
        ("humanize1024", num_fn(humanize::humanize1024)),
        ("humanizeDuration", num_fn(humanize::humanize_duration)),
        ("humanizePercentage", num_fn(humanize::humanize_percentage)),
        ("humanizeTimestamp", num_fn(humanize::humanize_timestamp)),
        ("title", str_fn(title)),
        ("toUpper", str_fn(|s| s.to_uppercase())),
        ("toLower", str_fn(|s| s.to_lowercase())),
        ("safeHtml", str_fn(str::to_string)),
        (
            "reReplaceAll",
            Box::new(|a: &[Value]| {
                let re = regex(&str_arg(a, 0)?)?;
                let (repl, text) = (str_arg(a, 1)?, str_arg(a, 2)?);
                let out = re.replace_all(&text, repl.as_str()).into_owned();
                Ok(Value::String(out.into()))
            }),
        ),
        (
            "match",
            Box::new(|a: &[Value]| {
                Ok(Value::Bool(
                    regex(&str_arg(a, 0)?)?.is_match(&str_arg(a, 1)?),
                ))
            }),
        ),
        ("first", Box::new(|a: &[Value]| first(a))),
        (
            "value",
            Box::new(|a: &[Value]| {
                Ok(a.first()
                    .and_then(|s| s.field("Value"))
                    .cloned()
                    .unwrap_or(Value::Nil))
            }),
        ),
        (
            "label",
            Box::new(|a: &[Value]| {
                let name = str_arg(a, 0)?;
                let v = a
                    .get(1)
                    .and_then(|s| s.field("Labels"))
                    .and_then(|l| l.field(&name));
                Ok(v.cloned().unwrap_or_else(|| Value::String("".into())))
            }),
        ),
        ("sortByLabel", Box::new(|a: &[Value]| sort_by_label(a))),
        (
            "stripPort",
            str_fn(|s| match s.rsplit_once(':') {
                Some((host, _)) if !host.is_empty() => host.trim_matches(['[', ']']).to_string(),
                _ => s.to_string(),
            }),
        ),
    ]
}

fn first(a: &[Value]) -> gotmpl::Result<Value> {
    match a.first() {
        Some(Value::List(l)) => l
            .first()
            .cloned()
            .ok_or_else(|| exec_err("first() called on vector with no elements")),
        _ => Err(exec_err("first() called on a non-vector")),
    }
}

fn sort_by_label(a: &[Value]) -> gotmpl::Result<Value> {
    let name = str_arg(a, 0)?;
    let Some(Value::List(l)) = a.get(1) else {
        return Err(exec_err("sortByLabel() called on a non-vector"));
    };
    let key = |v: &Value| {
        v.field("Labels")
            .and_then(|l| l.field(&name))
            .and_then(|s| s.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let mut items: Vec<Value> = l.to_vec();
    items.sort_by_key(key);
    Ok(Value::List(items.into()))
}
