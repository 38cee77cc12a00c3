//! Loading and validating an Alertmanager configuration once, reporting
//! every error with `file:line:column`, so the rest of the pipeline can
//! trust it. The checks are Alertmanager 0.25's (`amtool check-config`
//! accepts and rejects the same files; see `tests/route_check_config.rs`).

use std::collections::BTreeSet;
use std::path::Path;

use vigil_common::{ConfigErrors, Located, Parsed};

use super::config::{AlertmanagerConfig, RouteConfig};
use super::global_check::check_global;
use super::http_check::check_http_config;
use super::locate::{Path as YamlPath, Problem, locate_problem};
use super::receivers::Receiver;
use crate::notify::template::Templates;

/// A configuration that passed every check.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: AlertmanagerConfig,
    /// Where it came from, for messages.
    pub file: String,
    /// The text as written, secrets masked (`/api/v2/status`).
    pub original: String,
    /// The `templates:` files with the defaults, read and parsed once
    /// while checking.
    pub templates: Templates,
}

impl Loaded {
    /// The root of the routing tree (present: checked at load).
    pub fn route(&self) -> &RouteConfig {
        self.config.route.as_ref().expect("checked at load")
    }
}

/// Reads `path` (with `${ENV}` expansion, as every vigil config) and checks it.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors::one(&file, 0, 0, format!("cannot read: {e}")))?;
    parse_str(&file, &text, &|name| std::env::var(name).ok())
}

/// Parses `text`, which came from `file`, and checks it.
pub fn parse_str(
    file: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigErrors> {
    let parsed = vigil_common::parse_yaml::<AlertmanagerConfig>(file, text, lookup)
        .map_err(|e| ConfigErrors(e.0.into_iter().map(|l| refine(text, l)).collect()))?;
    let quoted = super::yaml_bools::quoted_bool_problems::<AlertmanagerConfig>(&parsed.text);
    if !quoted.is_empty() {
        let errs = quoted.into_iter().map(|(line, column, message)| Located {
            file: file.to_string(),
            line,
            column,
            message,
        });
        return Err(ConfigErrors(errs.collect()));
    }
    let mut loaded = validate(parsed)?;
    loaded.original = super::masked::masked(text);
    Ok(loaded)
}

/// yaml_serde places an error raised by a value's own check (a matcher, a
/// duration) at the start of the enclosing map or list. Every such message
/// quotes the offending value, so the position moves to the first place at
/// or after the reported one where that value is written.
fn refine(text: &str, mut e: Located) -> Located {
    let Some(value) = first_quoted(&e.message).filter(|v| !v.is_empty()) else {
        return e;
    };
    if e.line == 0 {
        return e;
    }
    for (i, line) in text.lines().enumerate().skip(e.line - 1).take(64) {
        let from = if i + 1 == e.line {
            e.column.saturating_sub(1)
        } else {
            0
        };
        if let Some(c) = line.get(from..).and_then(|rest| rest.find(&value)) {
            e.line = i + 1;
            e.column = from + c + 1;
            break;
        }
    }
    e
}

/// The first Rust-`Debug`-quoted string in a message, unescaped.
fn first_quoted(message: &str) -> Option<String> {
    let start = message.find('"')? + 1;
    let mut out = String::new();
    let mut chars = message[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
    None
}

fn validate(parsed: Parsed<AlertmanagerConfig>) -> Result<Loaded, ConfigErrors> {
    let mut errs = Errors {
        parsed: &parsed,
        out: Vec::new(),
    };
    let c = &parsed.value;
    for p in check_global(&c.global) {
        errs.problem(p);
    }
    let receivers = check_receivers(&mut errs, c);
    let intervals = check_interval_names(&mut errs, c);
    match &c.route {
        None => errs.at_key(
            &YamlPath::root().key("route"),
            "no route provided in config",
        ),
        Some(root) => check_root(&mut errs, root, &receivers, &intervals),
    }
    if !errs.out.is_empty() {
        return Err(ConfigErrors(errs.out));
    }
    // As amtool: the templates once the rest is sound.
    let globs = &parsed.value.templates;
    let templates = super::template_check::check_templates(&parsed.file, &parsed.text, globs)
        .map_err(ConfigErrors)?;
    Ok(Loaded {
        config: parsed.value.clone(),
        file: parsed.file.clone(),
        original: String::new(),
        templates,
    })
}

/// Collects errors, each placed at the best position the text gives.
struct Errors<'a> {
    parsed: &'a Parsed<AlertmanagerConfig>,
    out: Vec<Located>,
}

impl Errors<'_> {
    fn push(&mut self, pos: Option<(usize, usize)>, message: String) {
        let (line, column) = pos.unwrap_or((0, 0));
        self.out.push(Located {
            file: self.parsed.file.clone(),
            line,
            column,
            message,
        });
    }

    /// An error at the value `path` leads to (or its key, or the nearest
    /// enclosing item written).
    fn problem(&mut self, p: Problem) {
        let pos = locate_problem(&self.parsed.text, &p);
        self.push(pos, p.message);
    }

    /// An error at the key `path` ends with.
    fn at_key(&mut self, path: &YamlPath, message: &str) {
        self.problem(Problem::at_key(path.clone(), message));
    }

    fn at_item(&mut self, section: &str, index: usize, key: Option<&str>, message: String) {
        self.out
            .push(self.parsed.error_at(section, index, key, message));
    }
}

fn check_receivers(errs: &mut Errors, c: &AlertmanagerConfig) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, r) in c.receivers.iter().enumerate() {
        if r.name.is_empty() {
            errs.at_item("receivers", i, None, "missing name in receiver".into());
        } else if !names.insert(r.name.clone()) {
            let msg = format!("notification config name {:?} is not unique", r.name);
            errs.at_item("receivers", i, Some("name"), msg);
        }
        for msg in receiver_problems(c, r) {
            errs.at_item("receivers", i, None, msg);
        }
        for p in http_problems(i, r) {
            errs.problem(p);
        }
        // The other kinds' checks (a PagerDuty key, an Opsgenie or
        // VictorOps key from the globals, ...), declared with each
        // integration and placed at its entry.
        let at = YamlPath::root().key("receivers").index(i);
        for (kind, j, msg) in crate::notify::integrations::entry_problems(r, &c.global) {
            errs.problem(Problem::new(at.key(kind).index(j), msg));
        }
    }
    names
}

/// Each integration's own `http_config`, checked as the global one (an
/// integration without one uses the global block, checked once).
fn http_problems(index: usize, r: &Receiver) -> Vec<Problem> {
    let at = YamlPath::root().key("receivers").index(index);
    crate::notify::integrations::http_configs(r)
        .into_iter()
        .filter_map(|(kind, i, h)| check_http_config(h, &at.key(kind).index(i).key("http_config")))
        .collect()
}

/// What a receiver lacks once global defaults are applied.
fn receiver_problems(c: &AlertmanagerConfig, r: &Receiver) -> Vec<String> {
    let g = &c.global;
    let mut out = Vec::new();
    for e in &r.email_configs {
        if e.to.as_deref().unwrap_or("").is_empty() {
            out.push("missing to address in email config".into());
        }
        if e.smarthost.is_none() && g.smtp_smarthost.is_none() {
            out.push("no global SMTP smarthost set".into());
        }
        if e.from.is_none() && g.smtp_from.is_none() {
            out.push("no global mail from address set".into());
        }
    }
    for s in &r.slack_configs {
        if s.api_url.is_some() && s.api_url_file.is_some() {
            out.push("at most one of api_url & api_url_file must be configured".into());
        }
        let global = g.slack_api_url.is_some() || g.slack_api_url_file.is_some();
        if s.api_url.is_none() && s.api_url_file.is_none() && !global {
            out.push("no global Slack API URL set either inline or in a file".into());
        }
    }
    for w in &r.webhook_configs {
        if w.url.is_none() {
            out.push("missing URL in webhook config".into());
        }
    }
    out
}

fn check_interval_names(errs: &mut Errors, c: &AlertmanagerConfig) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let all = c
        .time_intervals
        .iter()
        .enumerate()
        .map(|(i, t)| ("time_intervals", i, t))
        .chain(
            c.mute_time_intervals
                .iter()
                .enumerate()
                .map(|(i, t)| ("mute_time_intervals", i, t)),
        );
    for (section, i, t) in all {
        if t.name.is_empty() {
            errs.at_item(section, i, None, "missing name in time interval".into());
        } else if !names.insert(t.name.clone()) {
            let msg = format!("time interval {:?} is not unique", t.name);
            errs.at_item(section, i, Some("name"), msg);
        }
    }
    names
}

fn check_root(
    errs: &mut Errors,
    root: &RouteConfig,
    receivers: &BTreeSet<String>,
    intervals: &BTreeSet<String>,
) {
    let at = YamlPath::root().key("route");
    if root.receiver.as_deref().unwrap_or("").is_empty() {
        errs.at_key(&at, "root route must specify a default receiver");
    }
    if root.has_matchers() {
        let key = [
            ("match", root.match_eq.is_empty()),
            ("match_re", root.match_re.is_empty()),
            ("matchers", root.matchers.is_empty()),
        ]
        .into_iter()
        .find_map(|(k, empty)| (!empty).then_some(k))
        .unwrap_or("route");
        errs.at_key(&at.key(key), "root route must not have any matchers");
    }
    if root.continue_matching {
        errs.problem(Problem::new(
            at.key("continue"),
            "cannot have continue in root route",
        ));
    }
    if !root.mute_time_intervals.is_empty() {
        errs.at_key(
            &at.key("mute_time_intervals"),
            "root route must not have any mute time intervals",
        );
    }
    if !root.active_time_intervals.is_empty() {
        errs.at_key(
            &at.key("active_time_intervals"),
            "root route must not have any active time intervals",
        );
    }
    check_refs(errs, root, &at, receivers, intervals);
}

/// Every receiver and time interval a route (at `at`) names must exist.
fn check_refs(
    errs: &mut Errors,
    r: &RouteConfig,
    at: &YamlPath,
    receivers: &BTreeSet<String>,
    intervals: &BTreeSet<String>,
) {
    if let Some(name) = r
        .receiver
        .as_deref()
        .filter(|n| !n.is_empty() && !receivers.contains(*n))
    {
        let msg = format!("undefined receiver {name:?} used in route");
        errs.problem(Problem::new(at.key("receiver"), msg));
    }
    for (key, list) in [
        ("mute_time_intervals", &r.mute_time_intervals),
        ("active_time_intervals", &r.active_time_intervals),
    ] {
        for (i, name) in list.iter().enumerate() {
            if !intervals.contains(name) {
                let msg = format!("undefined time interval {name:?} used in route");
                errs.problem(Problem::new(at.key(key).index(i), msg));
            }
        }
    }
    for (i, child) in r.routes.iter().enumerate() {
        check_refs(
            errs,
            child,
            &at.key("routes").index(i),
            receivers,
            intervals,
        );
    }
}
