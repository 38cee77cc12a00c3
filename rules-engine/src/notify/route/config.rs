//! Alertmanager's configuration file (`alertmanager.yml`) as serde data:
//! `global`, `route`, `inhibit_rules`, `receivers`, `time_intervals`,
//! `templates`. Field names and defaults are Alertmanager 0.25's, so an
//! existing file reads unchanged; unknown keys are errors, as in
//! Alertmanager. Values that can be wrong on their own (a matcher, a
//! regex, a label name, a zero interval) are checked while deserializing,
//! so their errors carry the value's `line:column`; cross-references are
//! checked in [`super::load`].

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::matchers::{self, MatcherParseError};
use super::receivers::{HttpConfig, Receiver};
use super::time_intervals::TimeIntervalSpec;
use crate::model::Matcher;
use crate::model::units::PromDuration;
use vigil_common::Secret;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    #[serde(default)]
    pub global: GlobalConfig,
    /// The routing tree; required.
    pub route: Option<RouteConfig>,
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    #[serde(default)]
    pub receivers: Vec<Receiver>,
    /// Go template files (globs allowed) whose `define`d templates the
    /// notifications can use.
    #[serde(default)]
    pub templates: Vec<String>,
    #[serde(default)]
    pub time_intervals: Vec<NamedTimeInterval>,
    /// The older name of `time_intervals`; both are read and share one
    /// namespace.
    #[serde(default)]
    pub mute_time_intervals: Vec<NamedTimeInterval>,
}

/// Defaults for every receiver, as Alertmanager's `global:` block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// How long after its last update an alert without an end time is
    /// considered resolved.
    #[serde(default = "default_resolve_timeout", deserialize_with = "duration")]
    pub resolve_timeout: PromDuration,
    #[serde(default)]
    pub http_config: Option<HttpConfig>,
    pub smtp_from: Option<String>,
    #[serde(default = "default_smtp_hello")]
    pub smtp_hello: String,
    /// `host:port`; port 465 means TLS from the first byte.
    pub smtp_smarthost: Option<String>,
    pub smtp_auth_username: Option<String>,
    pub smtp_auth_password: Option<Secret>,
    pub smtp_auth_password_file: Option<String>,
    pub smtp_auth_identity: Option<String>,
    pub smtp_auth_secret: Option<Secret>,
    /// Whether STARTTLS is required (the default) or only used if offered.
    #[serde(default = "yes", deserialize_with = "yaml11_bool")]
    pub smtp_require_tls: bool,
    pub slack_api_url: Option<Secret>,
    pub slack_api_url_file: Option<String>,
    // The other integrations' defaults (notify/integrations/ applies them).
    pub pagerduty_url: Option<String>,
    pub opsgenie_api_url: Option<String>,
    pub opsgenie_api_key: Option<Secret>,
    pub opsgenie_api_key_file: Option<String>,
    pub wechat_api_url: Option<String>,
    pub wechat_api_secret: Option<Secret>,
    pub wechat_api_corp_id: Option<String>,
    pub victorops_api_url: Option<String>,
    pub victorops_api_key: Option<Secret>,
    pub victorops_api_key_file: Option<String>,
    pub telegram_api_url: Option<String>,
    pub webex_api_url: Option<String>,
    // Globals of integrations Alertmanager added after 0.25 (its newest
    // `config.go`): Jira's API URL, and Rocket.Chat's URL and credentials.
    pub jira_api_url: Option<String>,
    pub rocketchat_api_url: Option<String>,
    pub rocketchat_token: Option<Secret>,
    pub rocketchat_token_file: Option<String>,
    pub rocketchat_token_id: Option<Secret>,
    pub rocketchat_token_id_file: Option<String>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        yaml_serde::from_str("{}").expect("an empty global block is valid")
    }
}

/// Alertmanager's default: five minutes without an update resolves an alert.
fn default_resolve_timeout() -> PromDuration {
    PromDuration::from_secs(5 * 60)
}

/// Alertmanager's default EHLO name.
fn default_smtp_hello() -> String {
    "localhost".to_string()
}

fn yes() -> bool {
    true
}

/// A duration whose error quotes the value (so that it is placed there).
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<PromDuration, D::Error> {
    let s = String::deserialize(d)?;
    PromDuration::parse(&s).map_err(|e| serde::de::Error::custom(format!("duration {s:?}: {e}")))
}

fn some_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PromDuration>, D::Error> {
    duration(d).map(Some)
}

/// A boolean as YAML 1.1 (Alertmanager's YAML library, Go's yaml.v2)
/// reads it: besides `true`/`false`, `yes`/`no`, `on`/`off` and `y`/`n`
/// in their usual capitalisations. Every boolean of the file is read
/// with it. yaml_serde follows YAML 1.2, where those words are strings;
/// a quoted `'yes'` cannot be told apart from a plain one here, so
/// [`super::yaml_bools`] refuses the quoted ones after parsing, as yaml.v2
/// does (a quoted `"true"` is refused here already).
pub fn yaml11_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    RawBool::deserialize(d)?.value()
}

/// An optional [`yaml11_bool`]; a null is no value, as in Go.
pub fn yaml11_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Option::<RawBool>::deserialize(d)?
        .map(RawBool::value)
        .transpose()
}

/// A boolean as written: a YAML 1.2 one, or a word to look up.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawBool {
    Bool(bool),
    Text(String),
}

impl RawBool {
    fn value<E: serde::de::Error>(self) -> Result<bool, E> {
        match self {
            RawBool::Bool(b) => Ok(b),
            RawBool::Text(t) => {
                yaml11_word(&t).ok_or_else(|| E::custom(format!("{t:?} is not a boolean")))
            }
        }
    }
}

/// The YAML 1.1 boolean words that reach [`yaml11_bool`] as strings
/// (a plain `true`/`false` arrives as a boolean).
pub fn yaml11_word(t: &str) -> Option<bool> {
    match t {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "True" | "TRUE" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// One node of the routing tree. Every field but `routes` and the matchers
/// is inherited by children that leave it out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub receiver: Option<String>,
    /// Labels to group by; `[...]` groups by all labels.
    pub group_by: Option<GroupBy>,
    /// Old-style equality matchers.
    #[serde(default, rename = "match")]
    pub match_eq: BTreeMap<LabelName, String>,
    /// Old-style regex matchers (anchored).
    #[serde(default)]
    pub match_re: BTreeMap<LabelName, AmRegex>,
    /// New-style matchers, each string one or more matchers.
    #[serde(default)]
    pub matchers: Vec<MatcherList>,
    /// Whether to go on matching siblings after this route matched.
    #[serde(default, rename = "continue", deserialize_with = "yaml11_bool")]
    pub continue_matching: bool,
    #[serde(default, deserialize_with = "some_duration")]
    pub group_wait: Option<PromDuration>,
    pub group_interval: Option<NonZeroDuration>,
    pub repeat_interval: Option<NonZeroDuration>,
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

impl RouteConfig {
    /// All of this node's matchers, old and new style, in Alertmanager's
    /// sorted order (which route keys depend on).
    pub fn all_matchers(&self) -> Vec<Matcher> {
        let mut out: Vec<Matcher> = self
            .match_eq
            .iter()
            .map(|(k, v)| Matcher::equal(&k.0, v))
            .collect();
        out.extend(self.match_re.iter().map(|(k, re)| re.matcher(&k.0)));
        out.extend(self.matchers.iter().flat_map(|l| l.0.iter().cloned()));
        out.sort_by(matchers::compare);
        out
    }

    pub fn has_matchers(&self) -> bool {
        !(self.match_eq.is_empty() && self.match_re.is_empty() && self.matchers.is_empty())
    }
}

/// Suppresses target alerts while a source alert fires with equal values
/// of the `equal` labels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    #[serde(default)]
    pub source_match: BTreeMap<LabelName, String>,
    #[serde(default)]
    pub source_match_re: BTreeMap<LabelName, AmRegex>,
    #[serde(default)]
    pub source_matchers: Vec<MatcherList>,
    #[serde(default)]
    pub target_match: BTreeMap<LabelName, String>,
    #[serde(default)]
    pub target_match_re: BTreeMap<LabelName, AmRegex>,
    #[serde(default)]
    pub target_matchers: Vec<MatcherList>,
    #[serde(default)]
    pub equal: Vec<LabelName>,
}

/// A named list of time intervals, referred to by routes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTimeInterval {
    pub name: String,
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalSpec>,
}

/// `group_by`: either label names or the single wildcard `...`.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupBy {
    All,
    Labels(Vec<String>),
}

impl<'de> Deserialize<'de> for GroupBy {
    /// As Alertmanager: `...` (any number of times) means all labels, and
    /// may not be mixed with names; names must be valid and distinct.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let names = Vec::<String>::deserialize(d)?;
        let all = names.iter().any(|n| n == "...");
        let labels: Vec<String> = names.into_iter().filter(|n| n != "...").collect();
        let mut seen = std::collections::BTreeSet::new();
        for n in &labels {
            if !matchers::is_label_name(n) {
                let msg = format!("invalid label name {n:?} in group_by list");
                return Err(D::Error::custom(msg));
            }
            if !seen.insert(n) {
                return Err(D::Error::custom(format!(
                    "duplicated label {n:?} in group_by"
                )));
            }
        }
        match (all, labels.is_empty()) {
            (true, true) => Ok(GroupBy::All),
            (true, false) => Err(D::Error::custom(
                "cannot have wildcard group_by (\"...\") and other labels at the same time",
            )),
            (false, _) => Ok(GroupBy::Labels(labels)),
        }
    }
}

/// A label name checked at load (old-style `match` keys, `equal`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabelName(pub String);

impl<'de> Deserialize<'de> for LabelName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if !matchers::is_label_name(&s) {
            let e = MatcherParseError::LabelName(s);
            return Err(serde::de::Error::custom(e));
        }
        Ok(LabelName(s))
    }
}

/// An old-style `match_re` value, compiled at load.
#[derive(Debug, Clone)]
pub struct AmRegex(pub String);

impl AmRegex {
    /// The matcher as Alertmanager builds it: from Go's `Regexp.String()`,
    /// which is the anchored `^(?:...)$` form. The value shows in route
    /// keys, hence in group keys and in `amtool config routes show`.
    pub fn matcher(&self, name: &str) -> Matcher {
        let anchored = format!("^(?:{})$", self.0);
        matchers::build(name, "=~", &anchored).expect("compiled once at load")
    }
}

impl<'de> Deserialize<'de> for AmRegex {
    /// A null value (`service:` with nothing after it, or `~`) is refused as
    /// Alertmanager refuses it; a quoted `''` is the empty regex.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(d)?.ok_or_else(|| {
            serde::de::Error::custom("invalid regexp value: null (write '' for the empty regex)")
        })?;
        if let Err(MatcherParseError::Regex { reason, .. }) = matchers::build("", "=~", &s) {
            let msg = format!("invalid regular expression {s:?}: {reason}");
            return Err(serde::de::Error::custom(msg));
        }
        Ok(AmRegex(s))
    }
}

/// One string of a `matchers:` list, parsed at load.
#[derive(Debug, Clone)]
pub struct MatcherList(pub Vec<Matcher>);

impl<'de> Deserialize<'de> for MatcherList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        matchers::parse_matchers(&s)
            .map(MatcherList)
            .map_err(serde::de::Error::custom)
    }
}

/// `group_interval` and `repeat_interval`: zero would mean sending in a
/// busy loop, so Alertmanager rejects it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NonZeroDuration(pub PromDuration);

impl<'de> Deserialize<'de> for NonZeroDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let v = PromDuration::parse(&s)
            .map_err(|e| serde::de::Error::custom(format!("duration {s:?}: {e}")))?;
        if v.as_duration().is_zero() {
            let msg = format!("interval {s:?} cannot be zero");
            return Err(serde::de::Error::custom(msg));
        }
        Ok(NonZeroDuration(v))
    }
}
