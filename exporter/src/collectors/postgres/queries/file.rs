//! postgres_exporter's custom-query file (`queries.yaml`, its
//! `--extend.query-path`), read with every key it has:
//!
//! ```yaml
//! pg_replication:                # namespace: the metric name prefix
//!   query: "SELECT ... AS lag"
//!   master: true                 # primaries only (see below)
//!   cache_seconds: 30            # reuse the result this long
//!   runonserver: ">=10.0.0"      # read, and applied (upstream ignores it)
//!   metrics:
//!     - lag:
//!         usage: "GAUGE"         # LABEL COUNTER GAUGE MAPPEDMETRIC DURATION DISCARD HISTOGRAM
//!         description: "Replication lag behind master in seconds"
//!         metric_mapping: {}     # MAPPEDMETRIC: text value -> number
//! ```
//!
//! Where postgres_exporter is lenient by accident this reader says no, with
//! the place: an unknown `usage` (upstream silently discards the column),
//! an unknown key (upstream ignores it, so a typo such as `cache_second`
//! goes unnoticed), a namespace or column that cannot make a metric name.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use vigil_common::{ConfigErrors, Located};

/// What a column of the query's result becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum Usage {
    /// A label on every metric of the row.
    #[serde(rename = "LABEL")]
    Label,
    #[serde(rename = "COUNTER")]
    Counter,
    #[serde(rename = "GAUGE")]
    Gauge,
    /// A gauge; a text value is looked up in `metric_mapping`.
    #[serde(rename = "MAPPEDMETRIC")]
    MappedMetric,
    /// A gauge named `<namespace>_<column>_milliseconds`.
    #[serde(rename = "DURATION")]
    Duration,
    /// Ignored.
    #[serde(rename = "DISCARD")]
    Discard,
    /// A histogram from `<col>` (bounds), `<col>_bucket` (counts),
    /// `<col>_sum` and `<col>_count`.
    #[serde(rename = "HISTOGRAM")]
    Histogram,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ColumnSpec {
    pub usage: Usage,
    #[serde(default)]
    pub description: String,
    /// Text value -> number, for `MAPPEDMETRIC`.
    #[serde(default)]
    pub metric_mapping: BTreeMap<String, f64>,
    /// Parsed and ignored, as upstream does for user queries.
    #[serde(default, rename = "pg_version")]
    pub _pg_version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuerySpec {
    pub query: String,
    #[serde(default)]
    pub master: bool,
    #[serde(default)]
    pub cache_seconds: u64,
    /// A version range such as `">=10.0.0 <14.0.0"`: the query runs only
    /// on servers in it.
    #[serde(default)]
    pub runonserver: Option<String>,
    /// Each item maps one column name to its spec (normally one per item).
    #[serde(default)]
    pub metrics: Vec<BTreeMap<String, ColumnSpec>>,
}

/// One checked query of the file.
#[derive(Debug, Clone)]
pub(crate) struct UserQuery {
    pub namespace: String,
    pub sql: String,
    pub master: bool,
    pub cache_seconds: u64,
    pub versions: Option<super::version::Range>,
    /// Column name -> spec.
    pub columns: BTreeMap<String, ColumnSpec>,
    /// The `LABEL` columns, in the order written.
    pub labels: Vec<String>,
}

/// Reads and checks the file at `path`; every error at `file:line:column`.
pub(crate) fn load(path: &Path) -> Result<Vec<UserQuery>, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors::one(&file, 0, 0, format!("cannot read: {e}")))?;
    parse(&file, &text)
}

/// Parses and checks `text`, which came from `file`.
pub(crate) fn parse(file: &str, text: &str) -> Result<Vec<UserQuery>, ConfigErrors> {
    let specs: BTreeMap<String, QuerySpec> =
        match yaml_serde::from_str::<Option<BTreeMap<String, QuerySpec>>>(text) {
            Ok(specs) => specs.unwrap_or_default(),
            Err(e) => {
                let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                let message = e.to_string();
                let message = match message.rfind(" at line ") {
                    Some(i) => message[..i].to_string(),
                    None => message,
                };
                return Err(ConfigErrors::one(file, line, column, message));
            }
        };
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (namespace, spec) in specs {
        let at = |key: &str, message: String| {
            let (line, column) = position(text, &namespace, key);
            Located {
                file: file.to_string(),
                line,
                column,
                message: format!("{namespace}: {message}"),
            }
        };
        if !is_metric_name(&namespace) {
            errors.push(at("", "not a valid metric name prefix".into()));
            continue;
        }
        if spec.query.trim().is_empty() {
            errors.push(at("query", "`query` is empty".into()));
        }
        let versions = match spec
            .runonserver
            .as_deref()
            .map(super::version::Range::parse)
        {
            None => None,
            Some(Ok(range)) => Some(range),
            Some(Err(e)) => {
                errors.push(at("runonserver", format!("runonserver: {e}")));
                None
            }
        };
        let mut columns = BTreeMap::new();
        let mut labels = Vec::new();
        for item in spec.metrics {
            for (name, column) in item {
                let valid = match column.usage {
                    Usage::Label => is_label_name(&name),
                    _ => is_metric_name(&format!("{namespace}_{name}")),
                };
                if !valid {
                    errors.push(at(
                        &name,
                        format!("column {name:?} cannot make a metric or label name"),
                    ));
                }
                if column.usage == Usage::Label {
                    labels.push(name.clone());
                }
                if columns.insert(name.clone(), column).is_some() {
                    errors.push(at(&name, format!("column {name:?} is listed twice")));
                }
            }
        }
        out.push(UserQuery {
            namespace,
            sql: spec.query,
            master: spec.master,
            cache_seconds: spec.cache_seconds,
            versions,
            columns,
            labels,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors(errors))
    }
}

/// Where `key` is written under the top-level `namespace` (the namespace
/// itself for `""`); `(0, 0)` when it cannot be found.
fn position(text: &str, namespace: &str, key: &str) -> (usize, usize) {
    let mut lines = text.lines().enumerate();
    let top = lines.find(|(_, l)| {
        let t = l.trim_start_matches(['"', '\'']);
        l.starts_with(namespace) || (t.starts_with(namespace) && !l.starts_with(' '))
    });
    let Some((top_line, _)) = top else {
        return (0, 0);
    };
    if key.is_empty() {
        return (top_line + 1, 1);
    }
    for (i, line) in text.lines().enumerate().skip(top_line + 1) {
        if !line.is_empty() && !line.starts_with([' ', '\t', '#']) {
            break;
        }
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        let bare = trimmed.trim_start_matches(['"', '\'']);
        if let Some(rest) = bare.strip_prefix(key)
            && rest.trim_start_matches(['"', '\'']).starts_with(':')
        {
            return (i + 1, line.len() - trimmed.len() + 1);
        }
    }
    (top_line + 1, 1)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not reserved (`__`).
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
pg_replication:
  query: "SELECT 1 AS lag"
  master: true
  metrics:
    - lag:
        usage: "GAUGE"
        description: "Replication lag behind master in seconds"
pg_database:
  query: "SELECT datname, pg_database_size(datname) AS size_bytes FROM pg_database"
  cache_seconds: 30
  runonserver: ">=9.6.0"
  metrics:
    - datname:
        usage: "LABEL"
        description: "Name of the database"
    - size_bytes:
        usage: "GAUGE"
        description: "Disk space used by the database"
"#;

    #[test]
    fn reads_every_key() {
        let queries = parse("q.yaml", GOOD).unwrap();
        assert_eq!(queries.len(), 2);
        let db = &queries[0];
        assert_eq!(db.namespace, "pg_database");
        assert_eq!(db.cache_seconds, 30);
        assert_eq!(db.labels, ["datname"]);
        assert!(db.versions.is_some());
        assert_eq!(db.columns["size_bytes"].usage, Usage::Gauge);
        assert!(queries[1].master);
    }

    #[test]
    fn an_unknown_usage_is_an_error_at_its_place() {
        let text = "pg_x:\n  query: SELECT 1 AS a\n  metrics:\n    - a:\n        usage: GAUGEE\n";
        let err = parse("q.yaml", text).unwrap_err().to_string();
        assert!(err.starts_with("q.yaml:5:16: "), "{err}");
        assert!(err.contains("GAUGEE"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_an_error() {
        let text = "pg_x:\n  query: SELECT 1\n  cache_second: 3\n";
        let err = parse("q.yaml", text).unwrap_err().to_string();
        assert!(
            err.starts_with("q.yaml:3:3: ") && err.contains("cache_second"),
            "{err}"
        );
    }

    #[test]
    fn names_that_cannot_be_metrics_are_located() {
        let text = "pg_x:\n  query: SELECT 1\n  metrics:\n    - my-col:\n        usage: GAUGE\n\"9bad\":\n  query: SELECT 1\n";
        let errs = parse("q.yaml", text).unwrap_err().0;
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown[0].starts_with("q.yaml:4:7: pg_x: column \"my-col\""),
            "{shown:?}"
        );
        assert!(
            shown[1].starts_with("q.yaml:6:1: 9bad: not a valid"),
            "{shown:?}"
        );
    }

    #[test]
    fn an_empty_file_has_no_queries() {
        assert!(parse("q.yaml", "").unwrap().is_empty());
        assert!(parse("q.yaml", "# nothing\n").unwrap().is_empty());
    }
}
