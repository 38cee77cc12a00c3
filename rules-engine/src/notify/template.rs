//! Notification templates: Go templates (gotmpl) over Alertmanager's
//! notification data — `.Status`, `.Receiver`, `.Alerts` (each with
//! `.Status`, `.Labels`, `.Annotations`, `.StartsAt`, `.EndsAt`,
//! `.GeneratorURL`, `.Fingerprint`), `.Alerts.Firing`, `.Alerts.Resolved`,
//! `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`, `.ExternalURL` —
//! with the `define`d templates of the config's `templates:` files and
//! vigil's defaults (`default.tmpl`), which mirror Alertmanager's names
//! (`__subject`, `email.default.html`, `slack.default.title`, ...).
//!
//! Go methods have no gotmpl counterpart: each parsed tree is rewritten so
//! that `.Alerts.Firing`, `.X.SortedPairs`, `.X.Names`, `.X.Values` and
//! `.X.Remove names` call functions of the same meaning
//! (template_methods.rs). The functions can be called directly too, with
//! `without X Y` (X less Y's label names) as a shorthand.
//!
//! An email's HTML part is rendered as Alertmanager renders it, with Go's
//! `html/template` rules ([`Templates::render_html`], gotmpl's `html`
//! feature): values are escaped for the context they land in and
//! `safeHtml` marks trusted markup; everything else is plain text.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::parse::{ListNode, Parser};
use gotmpl::{FuncMap, SafeKind, Template, Value};

use super::data::{AlertData, Data};
use super::template_methods;
use crate::alert::template::{exec_err, str_arg};

/// vigil's default notification templates.
pub const DEFAULTS: &str = include_str!("default.tmpl");

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("template: {0}")]
pub struct TemplateError(pub String);

/// A template file that does not parse: which one, and gotmpl's error
/// (which carries the line and column of a syntax error).
#[derive(Debug, thiserror::Error)]
#[error("template: {file}: {source}")]
pub struct TemplateFileError {
    pub file: String,
    #[source]
    pub source: gotmpl::TemplateError,
}

impl TemplateFileError {
    /// The line, column and description, when gotmpl located the error.
    pub fn position(&self) -> Option<(usize, usize, &str)> {
        match &self.source {
            gotmpl::TemplateError::Parse {
                line, col, message, ..
            }
            | gotmpl::TemplateError::Lex {
                line, col, message, ..
            } => Some((*line, *col, message.as_str())),
            _ => None,
        }
    }
}

/// The defaults and the configured template files, parsed once.
#[derive(Clone)]
pub struct Templates {
    base: Template,
    /// The sources again, for HTML rendering: gotmpl's escaping template
    /// cannot be cloned, so each HTML render parses them anew (an email's
    /// HTML part, once per group notification).
    sources: Arc<Vec<(String, String)>>,
}

/// The name the template being rendered is added under.
const MAIN: &str = "__vigil_main";

/// Parses `text` over `base`: gotmpl's own parse first (its errors, and
/// its rules for `define`s), then the same trees with Go's method calls
/// rewritten (see template_methods.rs) put in place of the parsed ones.
/// The top level of `text`, rewritten, is added as [`MAIN`].
fn parse(base: &Template, text: &str) -> gotmpl::Result<Template> {
    let mut t = base.clone().parse(text)?;
    let (main, defines) = rewritten_trees(text)?;
    for (name, body) in defines {
        t = t.add_parse_tree(&name, body);
    }
    Ok(t.add_parse_tree(MAIN, main))
}

/// The trees of `text` with Go's method calls rewritten (see
/// template_methods.rs): its top level, and each non-empty `define` by
/// name.
fn rewritten_trees(text: &str) -> gotmpl::Result<(ListNode, Vec<(String, ListNode)>)> {
    let (mut main, defines) = Parser::new(text, "{{", "}}").and_then(|p| p.parse())?;
    template_methods::rewrite(&mut main);
    let defines = defines
        .into_iter()
        .filter(|d| !d.body.is_empty_tree())
        .map(|mut d| {
            template_methods::rewrite(&mut d.body);
            (d.name.to_string(), d.body)
        })
        .collect();
    Ok((main, defines))
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.sources.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Templates")
            .field("sources", &names)
            .finish()
    }
}

impl Templates {
    /// Alertmanager's `default.tmpl`, the first source of every set.
    pub fn default_source() -> (String, String) {
        ("default.tmpl".to_string(), DEFAULTS.to_string())
    }

    /// Parses `(name, text)` sources in order; the error names the
    /// source that failed.
    pub fn from_sources(sources: &[(String, String)]) -> Result<Templates, TemplateFileError> {
        let mut base = Template::new("__vigil").funcs(functions());
        for (name, text) in sources {
            base = parse(&base, text).map_err(|source| TemplateFileError {
                file: name.clone(),
                source,
            })?;
        }
        Ok(Templates {
            base,
            sources: Arc::new(sources.to_vec()),
        })
    }

    /// The defaults only.
    pub fn defaults() -> Templates {
        Templates::from_sources(&[("default.tmpl".into(), DEFAULTS.into())])
            .expect("the default templates parse")
    }

    /// Checks that `text` parses (at load, so a bad template is a config
    /// error rather than a failed notification).
    pub fn check(&self, text: &str) -> Result<(), TemplateError> {
        parse(&self.base, text)
            .map(|_| ())
            .map_err(|e| TemplateError(e.to_string()))
    }

    /// Expands `text` over `data`. Missing keys print nothing.
    pub fn render(&self, text: &str, data: &Data) -> Result<String, TemplateError> {
        if !text.contains("{{") {
            return Ok(text.to_string());
        }
        let t = parse(&self.base, text).map_err(|e| TemplateError(e.to_string()))?;
        let out = t
            .execute_template_to_string(MAIN, &to_value(data))
            .map_err(|e| TemplateError(e.to_string()))?;
        Ok(out.replace("<no value>", ""))
    }

    /// Expands `text` as Go's `html/template` does, as Alertmanager renders
    /// an email's HTML part: every value is escaped for where it lands
    /// (text, attribute, URL), except what `safeHtml` marks as trusted.
    pub fn render_html(&self, text: &str, data: &Data) -> Result<String, TemplateError> {
        if !text.contains("{{") {
            return Ok(text.to_string());
        }
        let err = |e: gotmpl::TemplateError| TemplateError(e.to_string());
        let mut t = gotmpl::html::Template::new("__vigil")
            .funcs(functions())
            .func("safeHtml", |a: &[Value]| {
                Ok(Value::Safe {
                    kind: SafeKind::Html,
                    s: str_arg(a, 0)?.into(),
                })
            });
        for (name, src) in self.sources.iter() {
            t = parse_html(t, src).map_err(|e| TemplateError(format!("{name}: {e}")))?;
        }
        let t = parse_html(t, text).map_err(err)?;
        let out = t
            .execute_template_to_string(MAIN, &to_value(data))
            .map_err(err)?;
        Ok(out
            .replace("&lt;no value&gt;", "")
            .replace("<no value>", ""))
    }
}

/// [`parse`] for the escaping template.
fn parse_html(
    t: gotmpl::html::Template,
    text: &str,
) -> Result<gotmpl::html::Template, gotmpl::TemplateError> {
    let mut t = t.parse(text)?;
    let (main, defines) = rewritten_trees(text)?;
    for (name, body) in defines {
        t = t.add_parse_tree(&name, body)?;
    }
    t.add_parse_tree(MAIN, main)
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn map_value(m: &BTreeMap<String, String>) -> Value {
    Value::Map(Arc::new(
        m.iter()
            .map(|(k, v)| (Arc::from(k.as_str()), s(v)))
            .collect(),
    ))
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(Arc::new(
        pairs.into_iter().map(|(k, v)| (Arc::from(k), v)).collect(),
    ))
}

/// Go's `time.Time` `String()` for a UTC instant in RFC 3339 input.
fn go_time_string(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S%.f +0000 UTC")
            .to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

fn alert_value(a: &AlertData) -> Value {
    obj(vec![
        ("Status", s(a.status)),
        ("Labels", map_value(&a.labels)),
        ("Annotations", map_value(&a.annotations)),
        ("StartsAt", s(&go_time_string(&a.starts_at))),
        ("EndsAt", s(&go_time_string(&a.ends_at))),
        ("GeneratorURL", s(&a.generator_url)),
        ("Fingerprint", s(&a.fingerprint)),
    ])
}

fn list<'a>(alerts: impl Iterator<Item = &'a AlertData>) -> Value {
    Value::List(alerts.map(alert_value).collect::<Vec<_>>().into())
}

/// The data as templates see it.
pub fn to_value(d: &Data) -> Value {
    obj(vec![
        ("Receiver", s(&d.receiver)),
        ("Status", s(d.status)),
        ("Alerts", list(d.alerts.iter())),
        ("GroupLabels", map_value(&d.group_labels)),
        ("CommonLabels", map_value(&d.common_labels)),
        ("CommonAnnotations", map_value(&d.common_annotations)),
        ("ExternalURL", s(&d.external_url)),
    ])
}

fn map_arg(args: &[Value], i: usize) -> gotmpl::Result<Arc<BTreeMap<Arc<str>, Value>>> {
    match args.get(i) {
        Some(Value::Map(m)) => Ok(m.clone()),
        Some(Value::Nil) | None => Ok(Arc::default()),
        Some(other) => Err(exec_err(format!("expected a label set, got {other}"))),
    }
}

fn strings(v: impl Iterator<Item = String>) -> Value {
    Value::List(
        v.map(|x| Value::String(x.into()))
            .collect::<Vec<_>>()
            .into(),
    )
}

/// A function map built with the same `.func` chain as a template.
#[derive(Default)]
struct Funcs(FuncMap);

impl Funcs {
    fn func(
        mut self,
        name: &str,
        f: impl Fn(&[Value]) -> gotmpl::Result<Value> + Send + Sync + 'static,
    ) -> Self {
        self.0.insert(name.to_string(), Arc::new(f));
        self
    }
}

/// The names of the functions templates can call besides Go's builtins
/// (for checking template files at load).
pub fn function_names() -> Vec<String> {
    functions().into_keys().collect()
}

/// Alertmanager's template functions, and the label-set helpers.
fn functions() -> FuncMap {
    Funcs::default()
        .func("toUpper", |a: &[Value]| {
            Ok(s(&str_arg(a, 0)?.to_uppercase()))
        })
        .func("toLower", |a: &[Value]| {
            Ok(s(&str_arg(a, 0)?.to_lowercase()))
        })
        .func("title", |a: &[Value]| Ok(s(&title(&str_arg(a, 0)?))))
        .func("trimSpace", |a: &[Value]| Ok(s(str_arg(a, 0)?.trim())))
        .func("safeHtml", |a: &[Value]| Ok(s(&str_arg(a, 0)?)))
        // Alertmanager's order: the separator first, so `list | join ", "`.
        .func("join", |a: &[Value]| {
            let sep = str_arg(a, 0)?;
            match a.get(1) {
                Some(Value::List(l)) => {
                    let parts: Vec<String> = l.iter().map(|v| v.to_string()).collect();
                    Ok(s(&parts.join(&sep)))
                }
                _ => Err(exec_err("join: expected a list")),
            }
        })
        .func("stringSlice", |a: &[Value]| {
            Ok(strings(a.iter().map(|v| v.to_string())))
        })
        .func("match", |a: &[Value]| {
            let re = regex::Regex::new(&str_arg(a, 0)?).map_err(exec_err)?;
            Ok(Value::Bool(re.is_match(&str_arg(a, 1)?)))
        })
        .func("reReplaceAll", |a: &[Value]| {
            let re = regex::Regex::new(&str_arg(a, 0)?).map_err(exec_err)?;
            let (repl, text) = (str_arg(a, 1)?, str_arg(a, 2)?);
            Ok(s(&re.replace_all(&text, repl.as_str())))
        })
        // Alertmanager's methods (see template_methods.rs).
        .func("firing", |a: &[Value]| alerts_with_status(a, "firing"))
        .func("resolved", |a: &[Value]| alerts_with_status(a, "resolved"))
        .func("sortedPairs", |a: &[Value]| {
            Ok(Value::List(sorted_pairs(&*map_arg(a, 0)?).into()))
        })
        .func("names", |a: &[Value]| {
            Ok(strings(pairs_arg(a)?.into_iter().map(|(k, _)| k)))
        })
        .func("values", |a: &[Value]| {
            Ok(strings(pairs_arg(a)?.into_iter().map(|(_, v)| v)))
        })
        .func(template_methods::REMOVE_FN, |a: &[Value]| {
            let names: Vec<String> = match a.get(1) {
                Some(Value::List(l)) => l.iter().map(|v| v.to_string()).collect(),
                _ => return Err(exec_err("Remove: expected a list of label names")),
            };
            let mut kept = (*map_arg(a, 0)?).clone();
            kept.retain(|k, _| !names.iter().any(|n| n == &**k));
            Ok(Value::Map(Arc::new(kept)))
        })
        // `without X Y`: X less the label names of Y (`X.Remove Y.Names`).
        .func("without", |a: &[Value]| {
            let (x, y) = (map_arg(a, 0)?, map_arg(a, 1)?);
            let kept = x
                .iter()
                .filter(|(k, _)| !y.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(Value::Map(Arc::new(kept)))
        })
        .0
}

/// Alertmanager's `title` (golang.org/x/text's `cases.Title`): each word's
/// first letter upper-cased, the rest lower-cased. A word is a run of
/// letters, digits and `_`, joined across `'` and `.` between two letters
/// or two digits and `:` between two letters (Unicode word boundaries,
/// UAX #29, for the characters that matter in labels).
fn title(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_word = false;
    for (i, &c) in chars.iter().enumerate() {
        let word_char = c.is_alphanumeric() || c == '_';
        let joins = in_word && {
            let (p, n) = (chars[i - 1], chars.get(i + 1).copied().unwrap_or(' '));
            let letters = p.is_alphabetic() && n.is_alphabetic();
            let digits = p.is_numeric() && n.is_numeric();
            match c {
                '\'' | '\u{2019}' | '.' => letters || digits,
                ':' | '\u{b7}' => letters,
                _ => false,
            }
        };
        if word_char || joins {
            if in_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            in_word = true;
        } else {
            out.push(c);
            in_word = false;
        }
    }
    out
}

/// `.Alerts.Firing` / `.Alerts.Resolved`: the alerts with that status.
fn alerts_with_status(a: &[Value], status: &str) -> gotmpl::Result<Value> {
    match a.first() {
        Some(Value::List(l)) => Ok(Value::List(
            l.iter()
                .filter(|x| x.field("Status").is_some_and(|s| s.to_string() == status))
                .cloned()
                .collect::<Vec<_>>()
                .into(),
        )),
        Some(Value::Nil) | None => Ok(Value::List(Vec::new().into())),
        Some(other) => Err(exec_err(format!("expected a list of alerts, got {other}"))),
    }
}

/// Alertmanager's `KV.SortedPairs`: by name, except that `alertname`
/// comes first.
fn sorted_pairs(m: &BTreeMap<Arc<str>, Value>) -> Vec<Value> {
    let first = m.get_key_value("alertname");
    first
        .into_iter()
        .chain(m.iter().filter(|(k, _)| &***k != "alertname"))
        .map(|(k, v)| {
            obj(vec![
                ("Name", Value::String(k.clone())),
                ("Value", v.clone()),
            ])
        })
        .collect()
}

/// The `(name, value)` pairs of a label set (in `SortedPairs` order) or
/// of a list of pairs, for `.Names` and `.Values` on either.
fn pairs_arg(a: &[Value]) -> gotmpl::Result<Vec<(String, String)>> {
    let list: Vec<Value> = match a.first() {
        Some(Value::List(l)) => l.to_vec(),
        _ => sorted_pairs(&*map_arg(a, 0)?),
    };
    list.iter()
        .map(|p| match (p.field("Name"), p.field("Value")) {
            (Some(n), Some(v)) => Ok((n.to_string(), v.to_string())),
            _ => Err(exec_err(format!("expected a name/value pair, got {p}"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::notify::Alert;
    use chrono::{TimeZone, Utc};

    fn data() -> Data {
        let t = |s| Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap();
        let a = |inst: &str, ends: Option<i64>| Alert {
            labels: Labels::from_pairs([
                ("alertname", "Down"),
                ("instance", inst),
                ("job", "node"),
            ]),
            annotations: Labels::from_pairs([("summary", "<b>down</b>")]),
            starts_at: t(0),
            ends_at: ends.map(t),
            generator_url: "http://prom/graph".into(),
        };
        let group = Labels::from_pairs([("alertname", "Down")]);
        Data::new(
            "ops",
            &group,
            &[a("a:9100", None), a("b:9100", Some(10))],
            "http://vigil:9093",
            t(100),
        )
    }

    #[test]
    fn default_subject_is_alertmanagers() {
        let t = Templates::defaults();
        let got = t
            .render(r#"{{ template "__subject" . }}"#, &data())
            .unwrap();
        assert_eq!(got, "[FIRING:1] Down (node)");
    }

    #[test]
    fn firing_and_resolved_lists() {
        let t = Templates::defaults();
        let got = t
            .render(
                "{{ range .Alerts.Firing }}{{ .Labels.instance }}{{ end }}/{{ range .Alerts.Resolved }}{{ .Labels.instance }} {{ .EndsAt }}{{ end }}",
                &data(),
            )
            .unwrap();
        assert_eq!(got, "a:9100/b:9100 2027-01-15 08:00:10 +0000 UTC");
    }

    #[test]
    fn default_bodies_list_alerts_and_escape_html() {
        let t = Templates::defaults();
        let d = data();
        let text = t
            .render(r#"{{ template "email.default.text" . }}"#, &d)
            .unwrap();
        assert!(text.contains("instance = a:9100"), "{text}");
        assert!(text.contains("Resolved"), "{text}");
        let html = t
            .render(r#"{{ template "email.default.html" . }}"#, &d)
            .unwrap();
        assert!(html.contains("&lt;b&gt;down&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>down</b>"), "{html}");
        let link = t
            .render(r#"{{ template "slack.default.titlelink" . }}"#, &d)
            .unwrap();
        assert_eq!(link, "http://vigil:9093/#/alerts?receiver=ops");
    }

    /// Alertmanager's methods, written as its templates write them.
    #[test]
    fn go_methods_render_as_in_alertmanager() {
        let t = Templates::defaults();
        let d = data();
        let r = |src: &str| t.render(src, &d).unwrap();
        assert_eq!(
            r("{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}"),
            "alertname=Down job=node "
        );
        assert_eq!(r("{{ .CommonLabels.Names | join \",\" }}"), "alertname,job");
        assert_eq!(
            r("{{ .GroupLabels.SortedPairs.Values | join \" \" }}"),
            "Down"
        );
        assert_eq!(
            r(
                "{{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join \" \" }}{{ end }}"
            ),
            "node"
        );
        assert_eq!(
            r(
                "{{ range $a := .Alerts.Resolved }}{{ $a.Labels.SortedPairs.Names | join \",\" }}{{ end }}"
            ),
            "alertname,instance,job"
        );
        assert_eq!(
            r("{{ len .Alerts.Firing }}/{{ .Alerts.Resolved | len }}"),
            "1/1"
        );
        assert_eq!(
            r("{{ (.CommonLabels.Remove (stringSlice \"job\")).Names }}"),
            "[alertname]"
        );
    }

    #[test]
    fn sorted_pairs_put_alertname_first() {
        let m: BTreeMap<String, String> = [("Zone", "eu"), ("a_b", "x"), ("alertname", "A")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let Value::Map(m) = map_value(&m) else {
            unreachable!()
        };
        let names: Vec<String> = sorted_pairs(&m)
            .iter()
            .map(|p| p.field("Name").unwrap().to_string())
            .collect();
        assert_eq!(names, ["alertname", "Zone", "a_b"]);
    }

    #[test]
    fn title_is_alertmanagers() {
        for (text, want) in [
            ("foo_bar baz-qux été", "Foo_bar Baz-Qux Été"),
            ("PgDown HTTP", "Pgdown Http"),
            ("db1:5432 it's a.b", "Db1:5432 It's A.b"),
        ] {
            assert_eq!(title(text), want, "{text}");
        }
    }

    /// As Alertmanager's html/template: values are escaped, `safeHtml`
    /// passes trusted markup through.
    #[test]
    fn html_is_escaped_by_context() {
        let t = Templates::defaults();
        let got = t
            .render_html(
                r#"<p>{{ .CommonAnnotations.summary }}</p><a href="{{ .ExternalURL }}/?q={{ .Receiver }}">{{ safeHtml "<b>ok</b>" }}</a>{{ .Missing }}"#,
                &data(),
            )
            .unwrap();
        assert_eq!(
            got,
            r#"<p>&lt;b&gt;down&lt;/b&gt;</p><a href="http://vigil:9093/?q=ops"><b>ok</b></a>"#
        );
        let html = t
            .render_html(r#"{{ template "email.default.html" . }}"#, &data())
            .unwrap();
        assert!(html.contains("&lt;b&gt;down&lt;/b&gt;"), "{html}");
        assert!(!html.contains("&amp;lt;"), "escaped twice: {html}");
    }

    #[test]
    fn bad_templates_fail_to_parse() {
        let t = Templates::defaults();
        assert!(t.check("{{ if }}").is_err());
        assert!(t.check("{{ .Status }}").is_ok());
    }
}
