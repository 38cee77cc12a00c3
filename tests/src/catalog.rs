//! The families today's community exporters emit, as catalogued from their
//! source in `tests/anchors/current/` (a copy of
//! `../shared/anchors/current/`; its README says how they were made):
//! postgres_exporter 0.20.1, redis_exporter 1.88.0 and what HAProxy's
//! built-in exporter added after 2.6. The exporter's contract tests check
//! vigil-exporter against the rows a given server can produce.

use std::collections::BTreeSet;

const POSTGRES: &str = include_str!("../anchors/current/postgres_exporter-0.20.1.catalog.tsv");
const REDIS: &str = include_str!("../anchors/current/redis_exporter-1.88.0.catalog.tsv");
const HAPROXY: &str = include_str!("../anchors/current/haproxy_builtin-2.8-3.x.additions.tsv");

/// One catalogued family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub family: String,
    /// `counter`, `gauge`, `histogram`, `summary` or `untyped`.
    pub kind: String,
    /// Label names (`le` and `quantile` included where the type has them).
    pub labels: BTreeSet<String>,
    /// Labels only some servers give (written `[,a,b]`: Valkey's on
    /// `redis_instance_info`).
    pub optional_labels: BTreeSet<String>,
    /// On without a flag.
    pub default: bool,
    /// The exporter's own metrics (`[internal]`).
    pub internal: bool,
    /// The version column as written (`>=13`, `Redis>=7.2`, `3.0`, `any`).
    pub version: String,
    pub condition: String,
}

impl Row {
    /// Whether a server of `version` (`[major, minor, patch]`) can emit it,
    /// by the version column's leading comparison (`>=13`, `<17`,
    /// `9.4-9.6`, `Redis>=7.0.3`); columns in other words (`KeyDB`,
    /// `any`) say nothing of versions and count as yes.
    pub fn applies_to(&self, version: [u32; 3]) -> bool {
        let text = self.version.trim_start_matches("Redis");
        let head = text.split_whitespace().next().unwrap_or("");
        if let Some(v) = head.strip_prefix(">=").and_then(parse_version) {
            return version >= v;
        }
        if let Some(v) = head.strip_prefix('<').and_then(parse_version) {
            return version < v;
        }
        if let Some((low, high)) = head.split_once('-')
            && let (Some(low), Some(high)) = (parse_version(low), parse_version(high))
        {
            return version >= low && version <= [high[0], high[1], u32::MAX];
        }
        true
    }
}

fn parse_version(text: &str) -> Option<[u32; 3]> {
    let mut parts = text.split('.');
    let mut out = [0; 3];
    for slot in &mut out {
        match parts.next() {
            Some(p) => *slot = p.parse().ok()?,
            None => break,
        }
    }
    Some(out)
}

/// postgres_exporter 0.20.1's rows.
pub fn postgres() -> Vec<Row> {
    parse(POSTGRES, Layout::Exporter)
}

/// redis_exporter 1.88.0's rows.
pub fn redis() -> Vec<Row> {
    parse(REDIS, Layout::Exporter)
}

/// What HAProxy's built-in exporter added in 2.8 and later.
pub fn haproxy() -> Vec<Row> {
    parse(HAPROXY, Layout::Haproxy)
}

/// The HAProxy table has its version in the fourth column and no
/// collector column.
enum Layout {
    Exporter,
    Haproxy,
}

fn parse(text: &str, layout: Layout) -> Vec<Row> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| cols.get(i).copied().unwrap_or("").trim_matches('"');
            let family = get(0);
            // Pattern rows (`pg_settings_<name>`, `go_* / process_*`).
            if family.contains(['<', '*', ' ']) {
                return None;
            }
            let (version, default, condition, description) = match layout {
                Layout::Exporter => (get(5), get(4), get(6), get(7)),
                Layout::Haproxy => (get(3), get(4), get(6), ""),
            };
            let (required, optional) = match get(2).split_once('[') {
                Some((head, tail)) => (head, tail.trim_end_matches(']')),
                None => (get(2), ""),
            };
            let names = |text: &str| -> BTreeSet<String> {
                text.split(',')
                    .map(|s| s.trim_end_matches('?'))
                    .filter(|s| !s.is_empty() && *s != "-")
                    .map(String::from)
                    .collect()
            };
            Some(Row {
                family: family.to_string(),
                kind: get(1).to_string(),
                labels: names(required),
                optional_labels: names(optional),
                default: default == "yes",
                internal: description.starts_with("[internal]"),
                version: version.to_string(),
                condition: condition.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_parse() {
        let pg = postgres();
        let slots = pg
            .iter()
            .find(|r| r.family == "pg_replication_slots_active")
            .unwrap();
        assert!(slots.default && !slots.internal);
        assert_eq!(
            slots.labels,
            ["database", "slot_name"].map(String::from).into()
        );
        assert!(pg.iter().any(|r| r.family == "pg_up" && r.internal));
        let redis = redis();
        assert!(redis.len() > 400);
        let keys = redis
            .iter()
            .find(|r| r.family == "redis_total_blocking_keys")
            .unwrap();
        assert!(!keys.applies_to([7, 0, 15]) && keys.applies_to([7, 2, 0]));
        assert!(
            haproxy()
                .iter()
                .any(|r| r.family == "haproxy_server_active")
        );
    }

    #[test]
    fn version_columns() {
        let row = |v: &str| Row {
            family: String::new(),
            kind: String::new(),
            labels: BTreeSet::new(),
            optional_labels: BTreeSet::new(),
            default: true,
            internal: false,
            version: v.to_string(),
            condition: String::new(),
        };
        assert!(row(">=13").applies_to([15, 4, 0]));
        assert!(!row("<17").applies_to([17, 0, 0]));
        assert!(!row("9.4-9.6").applies_to([15, 0, 0]));
        assert!(row("9.4-9.6").applies_to([9, 6, 24]));
        assert!(row("KeyDB").applies_to([7, 0, 0]));
        assert!(!row("Redis>=7.0.3 (x)").applies_to([7, 0, 2]));
    }
}
