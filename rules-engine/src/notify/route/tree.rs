//! The routing tree: which routes (hence receivers) an alert's labels
//! reach, with which grouping and timings, and the group key under which
//! its notifications are batched. Alertmanager's semantics (0.25
//! `dispatch/route.go`), since route keys and group keys are visible to
//! users (webhook `groupKey`) and decide deduplication:
//!
//! - a route matches when all its matchers do; then its children are tried
//!   in order, and the first matching child stops the search unless it has
//!   `continue: true`; a matching route none of whose children match is
//!   itself the result;
//! - children inherit `receiver`, `group_by` and the three timings from
//!   their parent when they leave them out; time interval lists are not
//!   inherited.

use std::collections::BTreeSet;
use std::time::Duration;

use super::config::{GroupBy, RouteConfig};
use super::matchers::{self, Display};
use crate::model::{Labels, Matcher};

/// Alertmanager's defaults: wait 30 s for a new group to fill, send changes
/// to a group at most every 5 minutes, repeat an unchanged one every 4 h.
pub const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(30);
pub const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 60 * 60);

/// What a matching route decides for an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteOpts {
    pub receiver: String,
    pub group_by: Grouping,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
}

/// Which labels form the group: some, or all (`...`).
#[derive(Debug, Clone, PartialEq)]
pub enum Grouping {
    All,
    Labels(BTreeSet<String>),
}

/// A node of the built tree.
#[derive(Debug, Clone)]
pub struct Route {
    pub matchers: Vec<Matcher>,
    pub continue_matching: bool,
    pub opts: RouteOpts,
    pub routes: Vec<Route>,
    /// Alertmanager's route key: the matchers of every ancestor and of this
    /// route, `{}/{team="db"}`. Part of every group key.
    pub key: String,
    /// The key with each route's index among its siblings, unique even
    /// when siblings have equal matchers.
    pub id: String,
}

impl Route {
    /// Builds the tree from a validated root route.
    pub fn build(root: &RouteConfig) -> Route {
        let defaults = RouteOpts {
            receiver: String::new(),
            group_by: Grouping::Labels(BTreeSet::new()),
            group_wait: DEFAULT_GROUP_WAIT,
            group_interval: DEFAULT_GROUP_INTERVAL,
            repeat_interval: DEFAULT_REPEAT_INTERVAL,
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        };
        Route::node(root, &defaults, None)
    }

    fn node(cfg: &RouteConfig, parent: &RouteOpts, up: Option<(&str, &str, usize)>) -> Route {
        let opts = RouteOpts {
            receiver: cfg
                .receiver
                .clone()
                .unwrap_or_else(|| parent.receiver.clone()),
            group_by: match &cfg.group_by {
                Some(GroupBy::All) => Grouping::All,
                Some(GroupBy::Labels(l)) => Grouping::Labels(l.iter().cloned().collect()),
                None => parent.group_by.clone(),
            },
            group_wait: cfg.group_wait.map_or(parent.group_wait, |d| d.0),
            group_interval: cfg.group_interval.map_or(parent.group_interval, |d| d.0.0),
            repeat_interval: cfg
                .repeat_interval
                .map_or(parent.repeat_interval, |d| d.0.0),
            mute_time_intervals: cfg.mute_time_intervals.clone(),
            active_time_intervals: cfg.active_time_intervals.clone(),
        };
        let matchers = cfg.all_matchers();
        let own = Display(&matchers).to_string();
        let (key, id) = match up {
            None => (own.clone(), own),
            Some((pkey, pid, index)) => (format!("{pkey}/{own}"), format!("{pid}/{own}/{index}")),
        };
        let routes = cfg
            .routes
            .iter()
            .enumerate()
            .map(|(i, c)| Route::node(c, &opts, Some((&key, &id, i))))
            .collect();
        Route {
            matchers,
            continue_matching: cfg.continue_matching,
            opts,
            routes,
            key,
            id,
        }
    }

    /// The routes `labels` reach, in tree order (see the module comment).
    pub fn matching(&self, labels: &Labels) -> Vec<&Route> {
        if !matchers::matches_all(&self.matchers, labels) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for child in &self.routes {
            let found = child.matching(labels);
            let stop = !found.is_empty() && !child.continue_matching;
            out.extend(found);
            if stop {
                break;
            }
        }
        if out.is_empty() {
            out.push(self);
        }
        out
    }

    /// The alert's labels that this route groups by (only those it has).
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        let kept = labels.iter().filter(|l| match &self.opts.group_by {
            Grouping::All => true,
            Grouping::Labels(names) => names.contains(&l.name),
        });
        Labels::from_sorted(kept.cloned().collect())
    }

    /// Alertmanager's group key, `<route key>:<group labels>`, with the
    /// labels written as Go prints a `model.LabelSet`.
    pub fn group_key(&self, labels: &Labels) -> String {
        format!(
            "{}:{}",
            self.key,
            label_set_string(&self.group_labels(labels))
        )
    }

    /// Every route of the tree, depth first (for `route show`).
    pub fn walk(&self) -> Vec<(usize, &Route)> {
        let mut out = vec![(0, self)];
        for child in &self.routes {
            out.extend(child.walk().into_iter().map(|(d, r)| (d + 1, r)));
        }
        out
    }
}

/// `{a="1", b="2"}` with Go's `%q` quoting, the entries sorted as strings
/// (not by name: Go sorts the formatted `name="value"` strings).
pub fn label_set_string(labels: &Labels) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|l| format!("{}={}", l.name, go_quote(&l.value)))
        .collect();
    parts.sort();
    format!("{{{}}}", parts.join(", "))
}

/// Go's `strconv.Quote` for valid UTF-8: printable characters as they
/// are, the usual short escapes, other control characters as `\x`/`\u`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Prometheus's label-set fingerprint (FNV-1a 64 over sorted names and
/// values, each followed by 0xff), as Alertmanager shows alert and group
/// fingerprints. Unlike [`Labels::fingerprint`] it is stable across
/// processes and versions.
pub fn am_fingerprint(labels: &Labels) -> u64 {
    const OFFSET: u64 = 14695981039346656037;
    const PRIME: u64 = 1099511628211;
    if labels.is_empty() {
        return OFFSET;
    }
    let mut h = OFFSET;
    let mut add = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for l in labels {
        add(l.name.as_bytes());
        add(&[0xff]);
        add(l.value.as_bytes());
        add(&[0xff]);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_set_sorts_formatted_strings_like_go() {
        // "a0=" sorts before "a=" because '0' < '='.
        let l = Labels::from_pairs([("a", "x"), ("a0", "y")]);
        assert_eq!(label_set_string(&l), r#"{a0="y", a="x"}"#);
    }

    #[test]
    fn go_quote_escapes() {
        assert_eq!(go_quote("a\"b\\\n\u{1}é"), r#""a\"b\\\n\x01é""#);
    }

    #[test]
    fn fingerprint_of_empty_set_is_the_fnv_offset() {
        assert_eq!(am_fingerprint(&Labels::empty()), 14695981039346656037);
        let a = Labels::from_pairs([("alertname", "A")]);
        assert_ne!(am_fingerprint(&a), am_fingerprint(&Labels::empty()));
    }
}
