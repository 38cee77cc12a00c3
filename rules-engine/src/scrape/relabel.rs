//! Relabeling as Prometheus does it (`relabel_configs` on targets,
//! `metric_relabel_configs` on scraped samples): the same actions, defaults
//! (separator `;`, regex `(.*)` anchored at both ends, replacement `$1`) and
//! validation messages, so a `prometheus.yml` behaves the same here.

use std::fmt;

use md5::{Digest, Md5};
use regex::Regex;
use serde::{Deserialize, Deserializer};

use crate::model::Labels;

/// What a relabel step does (Prometheus `relabel.Action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

impl<'de> Deserialize<'de> for Action {
    /// Case-insensitive, as Prometheus lower-cases the action before matching.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let all = [
            Action::Replace,
            Action::Keep,
            Action::Drop,
            Action::KeepEqual,
            Action::DropEqual,
            Action::HashMod,
            Action::LabelMap,
            Action::LabelDrop,
            Action::LabelKeep,
            Action::Lowercase,
            Action::Uppercase,
        ];
        let lower = s.to_ascii_lowercase();
        all.into_iter()
            .find(|a| a.name() == lower)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown relabel action {s:?}")))
    }
}

/// A regex anchored at both ends (`^(?:re)$`), keeping the text the user
/// wrote for messages.
#[derive(Clone)]
pub struct AnchoredRegex {
    source: String,
    re: Regex,
}

impl AnchoredRegex {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        let re = Regex::new(&format!("^(?:{source})$"))?;
        Ok(AnchoredRegex {
            source: source.to_string(),
            re,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }
}

impl Default for AnchoredRegex {
    fn default() -> Self {
        AnchoredRegex::new(DEFAULT_REGEX).expect("the default regex compiles")
    }
}

impl fmt::Debug for AnchoredRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl<'de> Deserialize<'de> for AnchoredRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AnchoredRegex::new(&s)
            .map_err(|e| serde::de::Error::custom(format!("invalid regex {s:?}: {e}")))
    }
}

const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REPLACEMENT: &str = "$1";

fn default_separator() -> String {
    DEFAULT_SEPARATOR.to_string()
}
fn default_replacement() -> String {
    DEFAULT_REPLACEMENT.to_string()
}
fn default_action() -> Action {
    Action::Replace
}

/// One relabel step, as written under `relabel_configs` or
/// `metric_relabel_configs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawRelabelConfig")]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator` and matched by `regex`.
    pub source_labels: Vec<String>,
    pub separator: String,
    pub regex: AnchoredRegex,
    /// For `hashmod`: the modulus of the hash of the joined source values.
    pub modulus: u64,
    /// Label written by `replace`, `hashmod`, `lowercase`, `uppercase`;
    /// compared by `keepequal`/`dropequal`. May use `$1` in `replace`.
    pub target_label: String,
    /// `$1`-style template for `replace` and `labelmap`.
    pub replacement: String,
    pub action: Action,
}

/// The fields as written, checked by `TryFrom` so an invalid step is a
/// config error located in the file, as Prometheus rejects it at load time.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelabelConfig {
    #[serde(default)]
    source_labels: Vec<String>,
    #[serde(default = "default_separator")]
    separator: String,
    #[serde(default)]
    regex: AnchoredRegex,
    #[serde(default)]
    modulus: u64,
    #[serde(default)]
    target_label: String,
    #[serde(default = "default_replacement")]
    replacement: String,
    #[serde(default = "default_action")]
    action: Action,
}

impl TryFrom<RawRelabelConfig> for RelabelConfig {
    type Error = String;

    fn try_from(r: RawRelabelConfig) -> Result<Self, String> {
        let c = RelabelConfig {
            source_labels: r.source_labels,
            separator: r.separator,
            regex: r.regex,
            modulus: r.modulus,
            target_label: r.target_label,
            replacement: r.replacement,
            action: r.action,
        };
        c.validate()?;
        Ok(c)
    }
}

impl RelabelConfig {
    /// Prometheus's `relabel.Config.Validate`, with its messages.
    fn validate(&self) -> Result<(), String> {
        let a = self.action;
        if a == Action::HashMod && self.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            a,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(format!(
                "relabel configuration for {} action requires 'target_label' value",
                a.name()
            ));
        }
        let template_ok = a == Action::Replace && is_valid_target_template(&self.target_label);
        if needs_target && !template_ok && !is_valid_label_name(&self.target_label) {
            return Err(format!(
                "{:?} is invalid 'target_label' for {} action",
                self.target_label,
                a.name()
            ));
        }
        let only_regex = matches!(a, Action::LabelDrop | Action::LabelKeep);
        if only_regex
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!(
                "{} action requires only 'regex', and no other fields",
                a.name()
            ));
        }
        let equal = matches!(a, Action::KeepEqual | Action::DropEqual);
        if equal
            && (self.regex.as_str() != DEFAULT_REGEX
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!(
                "{} action requires only 'source_labels' and `target_label`, and no other fields",
                a.name()
            ));
        }
        Ok(())
    }

    /// Applies this step; `false` means the target or sample is dropped.
    pub fn apply(&self, labels: &mut Labels) -> bool {
        let val = self.joined_source(labels);
        match self.action {
            Action::Drop => return !self.regex.is_match(&val),
            Action::Keep => return self.regex.is_match(&val),
            Action::DropEqual => return labels.get(&self.target_label).unwrap_or("") != val,
            Action::KeepEqual => return labels.get(&self.target_label).unwrap_or("") == val,
            Action::Replace => self.replace(labels, &val),
            Action::Lowercase => labels.set(&self.target_label, &val.to_lowercase()),
            Action::Uppercase => labels.set(&self.target_label, &val.to_uppercase()),
            Action::HashMod => {
                let sum = Md5::digest(val.as_bytes());
                let mut tail = [0u8; 8];
                tail.copy_from_slice(&sum[8..16]);
                let m = u64::from_be_bytes(tail) % self.modulus;
                labels.set(&self.target_label, &m.to_string());
            }
            Action::LabelMap => {
                for l in labels.clone().iter() {
                    if self.regex.is_match(&l.name) {
                        let name = self
                            .regex
                            .re
                            .replace_all(&l.name, self.replacement.as_str());
                        labels.set(&name, &l.value);
                    }
                }
            }
            Action::LabelDrop | Action::LabelKeep => {
                let keep_matching = self.action == Action::LabelKeep;
                for l in labels.clone().iter() {
                    if self.regex.is_match(&l.name) != keep_matching {
                        labels.remove(&l.name);
                    }
                }
            }
        }
        true
    }

    fn joined_source(&self, labels: &Labels) -> String {
        let mut out = String::new();
        for (i, name) in self.source_labels.iter().enumerate() {
            if i > 0 {
                out.push_str(&self.separator);
            }
            out.push_str(labels.get(name).unwrap_or(""));
        }
        out
    }

    /// `replace`: when the regex matches, expand the target and the
    /// replacement; an invalid target name is a no-op and an empty result
    /// deletes the label, as in Prometheus.
    fn replace(&self, labels: &mut Labels, val: &str) {
        let Some(caps) = self.regex.re.captures(val) else {
            return;
        };
        let mut target = String::new();
        caps.expand(&self.target_label, &mut target);
        if !is_valid_label_name(&target) {
            return;
        }
        let mut res = String::new();
        caps.expand(&self.replacement, &mut res);
        labels.set(&target, &res);
    }
}

/// Runs the steps in order; `None` when one of them drops the set or nothing
/// is left of it.
pub fn process(mut labels: Labels, configs: &[RelabelConfig]) -> Option<Labels> {
    for c in configs {
        if !c.apply(&mut labels) {
            return None;
        }
    }
    (!labels.is_empty()).then_some(labels)
}

/// Prometheus's legacy label-name rule `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A `replace` target may contain `$1`, `${1}` or `$name` references
/// between valid name characters (Prometheus's `relabelTarget` pattern).
fn is_valid_target_template(s: &str) -> bool {
    static PATTERN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    PATTERN
        .get_or_init(|| {
            Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$").expect("pattern compiles")
        })
        .is_match(s)
}
