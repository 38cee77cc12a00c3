//! Loading and validating an Alertmanager configuration once, reporting
//! every error with `file:line:column`, so the rest of the pipeline can
//! trust it. The checks are Alertmanager 0.25's (`amtool check-config`
//! accepts and rejects the same files; see `tests/route_check_config.rs`).

use std::collections::BTreeSet;
use std::path::Path;

use vigil_common::{ConfigErrors, Located, Parsed};

use super::config::{AlertmanagerConfig, RouteConfig};
use super::receivers::Receiver;

/// A configuration that passed every check.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: AlertmanagerConfig,
    /// Where it came from, for messages.
    pub file: String,
    /// The text as written, secrets masked (`/api/v2/status`).
    pub original: String,
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
    let receivers = check_receivers(&mut errs, c);
    let intervals = check_interval_names(&mut errs, c);
    match &c.route {
        None => errs.at_key("route", "no route provided in config"),
        Some(root) => check_root(&mut errs, root, &receivers, &intervals),
    }
    if errs.out.is_empty() {
        Ok(Loaded {
            config: parsed.value.clone(),
            file: parsed.file.clone(),
            original: String::new(),
        })
    } else {
        Err(ConfigErrors(errs.out))
    }
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

    fn at_key(&mut self, key: &str, message: &str) {
        let pos = find_key(&self.parsed.text, key, |_| true);
        self.push(pos, message.to_string());
    }

    fn at_item(&mut self, section: &str, index: usize, key: Option<&str>, message: String) {
        self.out
            .push(self.parsed.error_at(section, index, key, message));
    }
}

/// The first line holding `key:` (after optional `- `) whose value passes
/// `value_ok`; the position is of the value, or of the key if it has none.
fn find_key(text: &str, key: &str, value_ok: impl Fn(&str) -> bool) -> Option<(usize, usize)> {
    for (i, line) in text.lines().enumerate() {
        let body = line.trim_start();
        let body = body.strip_prefix("- ").map_or(body, str::trim_start);
        let key_col = line.len() - body.len() + 1;
        let Some(rest) = body.strip_prefix(key) else {
            continue;
        };
        let Some(value) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        let value = value.trim();
        let unquoted = value.trim_matches(|c| c == '"' || c == '\'');
        if value_ok(unquoted) {
            let value_col = line.rfind(value).filter(|_| !value.is_empty());
            return Some((i + 1, value_col.map_or(key_col, |c| c + 1)));
        }
    }
    None
}

/// The first mention of `name` on or after a line holding `key:`.
fn find_list_entry(text: &str, key: &str, name: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let starts = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().trim_start_matches("- ").starts_with(key));
    for (i, _) in starts {
        for (j, line) in lines.iter().enumerate().skip(i).take(32) {
            if let Some(c) = line.find(name) {
                return Some((j + 1, c + 1));
            }
        }
    }
    None
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
    }
    names
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
        if e.auth_password.is_some() && e.auth_password_file.is_some() {
            out.push("at most one of auth_password & auth_password_file must be configured".into());
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
        match (&w.url, &w.url_file) {
            (None, None) => out.push("one of url or url_file must be configured".into()),
            (Some(_), Some(_)) => {
                out.push("at most one of url & url_file must be configured".into())
            }
            _ => {}
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
    if root.receiver.as_deref().unwrap_or("").is_empty() {
        errs.at_key("route", "root route must specify a default receiver");
    }
    if root.has_matchers() {
        errs.at_key("route", "root route must not have any matchers");
    }
    if root.continue_matching {
        errs.at_key("continue", "cannot have continue in root route");
    }
    if !root.mute_time_intervals.is_empty() {
        errs.at_key(
            "mute_time_intervals",
            "root route must not have any mute time intervals",
        );
    }
    if !root.active_time_intervals.is_empty() {
        errs.at_key(
            "active_time_intervals",
            "root route must not have any active time intervals",
        );
    }
    check_refs(errs, root, receivers, intervals);
}

/// Every receiver and time interval a route names must exist.
fn check_refs(
    errs: &mut Errors,
    r: &RouteConfig,
    receivers: &BTreeSet<String>,
    intervals: &BTreeSet<String>,
) {
    if let Some(name) = r
        .receiver
        .as_deref()
        .filter(|n| !n.is_empty() && !receivers.contains(*n))
    {
        let pos = find_key(&errs.parsed.text, "receiver", |v| v == name);
        errs.push(pos, format!("undefined receiver {name:?} used in route"));
    }
    for (key, list) in [
        ("mute_time_intervals", &r.mute_time_intervals),
        ("active_time_intervals", &r.active_time_intervals),
    ] {
        for name in list.iter().filter(|n| !intervals.contains(*n)) {
            let pos = find_list_entry(&errs.parsed.text, key, name);
            errs.push(
                pos,
                format!("undefined time interval {name:?} used in route"),
            );
        }
    }
    for child in &r.routes {
        check_refs(errs, child, receivers, intervals);
    }
}
