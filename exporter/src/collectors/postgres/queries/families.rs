//! One custom query's result made into families, as postgres_exporter
//! names and types them: `<namespace>_<column>` for each column of the
//! result (`_milliseconds` added for `DURATION`), labelled by the `LABEL`
//! columns; a column the file does not list becomes an untyped
//! `<namespace>_<column>` ("Unknown metric from <namespace>"). Pure, so
//! every rule is tested without a server.
//!
//! Where upstream has a clear bug this does what its documentation says:
//! `MAPPEDMETRIC` maps a text value through `metric_mapping` (upstream
//! never calls the mapping and drops such values), and a `HISTOGRAM`'s
//! `_bucket`/`_sum`/`_count` columns make the histogram only (upstream
//! also writes the last two as untyped families whose names clash with
//! the histogram's own series).

use std::collections::BTreeMap;

use super::file::{Usage, UserQuery};
use super::value::{Cell, array};
use crate::metrics::{Family, Label, MetricType, Sample};

/// A result: its columns' names and type names, and each row's text
/// values (`None` for `NULL`).
pub(crate) struct QueryResult {
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// The families of `result` (those of the listed columns even when empty),
/// and what could not be read (a value that is not a number, a histogram
/// missing a companion column), one line each.
pub(crate) fn families(query: &UserQuery, result: &QueryResult) -> (Vec<Family>, Vec<String>) {
    let ns = &query.namespace;
    let index: BTreeMap<&str, usize> = result
        .columns
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.as_str(), i))
        .collect();
    let mut problems = Vec::new();
    let missing_labels: Vec<&String> = query
        .labels
        .iter()
        .filter(|l| !index.contains_key(l.as_str()))
        .collect();
    if !missing_labels.is_empty() {
        problems.push(format!(
            "{ns}: LABEL columns {missing_labels:?} are not in the result"
        ));
    }
    // Companion columns of histograms are read with their histogram.
    let companions: Vec<String> = query
        .columns
        .iter()
        .filter(|(_, c)| c.usage == Usage::Histogram)
        .flat_map(|(name, _)| ["_bucket", "_sum", "_count"].map(|s| format!("{name}{s}")))
        .collect();
    // Every listed metric column names its family even without a row, so
    // an empty result still replaces the built-in family of that name.
    let mut out: BTreeMap<String, Family> = BTreeMap::new();
    for (column, spec) in &query.columns {
        let (name, kind) = match spec.usage {
            Usage::Label | Usage::Discard => continue,
            Usage::Counter => (format!("{ns}_{column}"), MetricType::Counter),
            Usage::Gauge | Usage::MappedMetric => (format!("{ns}_{column}"), MetricType::Gauge),
            Usage::Duration => (format!("{ns}_{column}_milliseconds"), MetricType::Gauge),
            Usage::Histogram => (format!("{ns}_{column}"), MetricType::Histogram),
        };
        out.insert(
            name.clone(),
            Family::new(name, spec.description.clone(), kind),
        );
    }
    for row in &result.rows {
        let cell = |i: usize| Cell {
            type_name: &result.columns[i].1,
            text: row[i].as_deref(),
        };
        let labels: Vec<Label> = query
            .labels
            .iter()
            .map(|l| {
                (
                    l.clone().into(),
                    index
                        .get(l.as_str())
                        .map(|&i| cell(i).label().into())
                        .unwrap_or_default(),
                )
            })
            .collect();
        for (i, (column, _)) in result.columns.iter().enumerate() {
            let spec = query.columns.get(column);
            let usage = spec.map(|s| s.usage);
            if matches!(usage, Some(Usage::Label | Usage::Discard))
                || (usage.is_none() && companions.contains(column))
            {
                continue;
            }
            let (name, kind) = match usage {
                Some(Usage::Counter) => (format!("{ns}_{column}"), MetricType::Counter),
                Some(Usage::Gauge | Usage::MappedMetric) => {
                    (format!("{ns}_{column}"), MetricType::Gauge)
                }
                Some(Usage::Duration) => (format!("{ns}_{column}_milliseconds"), MetricType::Gauge),
                Some(Usage::Histogram) => (format!("{ns}_{column}"), MetricType::Histogram),
                _ => (format!("{ns}_{column}"), MetricType::Untyped),
            };
            let help = match spec {
                Some(s) => s.description.clone(),
                None => format!("Unknown metric from {ns}"),
            };
            let family = out
                .entry(name.clone())
                .or_insert_with(|| Family::new(name, help, kind));
            if usage == Some(Usage::Histogram) {
                match histogram(column, &index, &cell, &labels) {
                    Ok(samples) => family.samples.extend(samples),
                    Err(e) => problems.push(format!("{ns}: {e}")),
                }
                continue;
            }
            let c = cell(i);
            let value = c.number().or_else(|| {
                let mapping = &spec
                    .filter(|s| s.usage == Usage::MappedMetric)?
                    .metric_mapping;
                mapping.get(c.text?).copied()
            });
            match value {
                Some(v) => {
                    family.push(labels.clone(), v);
                }
                None => problems.push(format!(
                    "{ns}: column {column:?} value {:?} is not a number",
                    c.text.unwrap_or("")
                )),
            }
        }
    }
    (out.into_values().collect(), problems)
}

/// A histogram's samples from `<col>` (upper bounds), `<col>_bucket`
/// (cumulative counts), `<col>_sum` and `<col>_count`.
fn histogram<'a>(
    column: &str,
    index: &BTreeMap<&str, usize>,
    cell: &dyn Fn(usize) -> Cell<'a>,
    labels: &[Label],
) -> Result<Vec<Sample>, String> {
    let get = |suffix: &str| {
        let name = format!("{column}{suffix}");
        index
            .get(name.as_str())
            .map(|&i| cell(i))
            .ok_or_else(|| format!("histogram column {name:?} is missing"))
    };
    let arr = |c: Cell<'_>, what: &str| {
        c.text
            .and_then(array)
            .ok_or_else(|| format!("histogram {column}: {what} is not an array of numbers"))
    };
    let bounds = arr(get("")?, "the bounds")?;
    let counts = arr(get("_bucket")?, "the bucket counts")?;
    let sum = get("_sum")?.number().unwrap_or(f64::NAN);
    let count = get("_count")?
        .number()
        .filter(|c| c.is_finite())
        .ok_or_else(|| format!("histogram {column}: _count is not a number"))?;
    let with_le = |le: String| {
        let mut l = labels.to_vec();
        l.push(("le".into(), le.into()));
        l
    };
    let mut samples = Vec::new();
    for (bound, n) in bounds.iter().zip(&counts) {
        let (Some(bound), Some(n)) = (bound, n) else {
            continue;
        };
        samples.push(Sample {
            suffix: "_bucket",
            labels: with_le(crate::encode::format_value(*bound)),
            value: *n,
        });
    }
    samples.push(Sample {
        suffix: "_bucket",
        labels: with_le("+Inf".to_string()),
        value: count,
    });
    samples.push(Sample {
        suffix: "_sum",
        labels: labels.to_vec(),
        value: sum,
    });
    samples.push(Sample {
        suffix: "_count",
        labels: labels.to_vec(),
        value: count,
    });
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::postgres::queries::file::parse;

    fn query(yaml: &str) -> UserQuery {
        parse("q.yaml", yaml).unwrap().remove(0)
    }

    fn result(columns: &[(&str, &str)], rows: &[&[Option<&str>]]) -> QueryResult {
        QueryResult {
            columns: columns
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| v.map(str::to_string)).collect())
                .collect(),
        }
    }

    fn find<'a>(fams: &'a [Family], name: &str) -> &'a Family {
        fams.iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name}: {fams:?}"))
    }

    #[test]
    fn every_usage() {
        let q = query(
            "pg_t:\n  query: x\n  metrics:\n    - db: {usage: LABEL}\n    - c: {usage: COUNTER, description: C}\n    - g: {usage: GAUGE}\n    - m: {usage: MAPPEDMETRIC, metric_mapping: {on: 1, off: 0}}\n    - d: {usage: DURATION}\n    - x: {usage: DISCARD}\n",
        );
        let r = result(
            &[
                ("db", "NAME"),
                ("c", "INT8"),
                ("g", "FLOAT8"),
                ("m", "TEXT"),
                ("d", "NUMERIC"),
                ("x", "INT4"),
                ("extra", "BOOL"),
            ],
            &[&[
                Some("app"),
                Some("7"),
                None,
                Some("on"),
                Some("12.5"),
                Some("1"),
                Some("t"),
            ]],
        );
        let (fams, problems) = families(&q, &r);
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<&str> = fams.iter().map(|f| &*f.name).collect();
        assert_eq!(
            names,
            [
                "pg_t_c",
                "pg_t_d_milliseconds",
                "pg_t_extra",
                "pg_t_g",
                "pg_t_m"
            ]
        );
        let c = find(&fams, "pg_t_c");
        assert_eq!((c.kind, &*c.help), (MetricType::Counter, "C"));
        assert_eq!(c.samples[0].labels, [("db".into(), "app".into())]);
        assert_eq!(c.samples[0].value, 7.0);
        assert!(find(&fams, "pg_t_g").samples[0].value.is_nan());
        assert_eq!(find(&fams, "pg_t_m").samples[0].value, 1.0);
        assert_eq!(find(&fams, "pg_t_d_milliseconds").samples[0].value, 12.5);
        let extra = find(&fams, "pg_t_extra");
        assert_eq!(
            (extra.kind, &*extra.help),
            (MetricType::Untyped, "Unknown metric from pg_t")
        );
    }

    #[test]
    fn a_value_that_is_not_a_number_is_reported_and_left_out() {
        let q = query("pg_t:\n  query: x\n  metrics:\n    - g: {usage: GAUGE}\n");
        let r = result(&[("g", "TEXT")], &[&[Some("high")], &[Some("3")]]);
        let (fams, problems) = families(&q, &r);
        assert_eq!(fams[0].samples.len(), 1);
        let (fams, _) = families(&q, &result(&[("g", "TEXT")], &[]));
        assert_eq!(fams.len(), 1, "listed, so claimed: {fams:?}");
        assert!(fams[0].samples.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn histograms_take_their_companion_columns() {
        let q = query(
            "pg_h:\n  query: x\n  metrics:\n    - app: {usage: LABEL}\n    - seconds: {usage: HISTOGRAM}\n",
        );
        let r = result(
            &[
                ("app", "TEXT"),
                ("seconds", "_FLOAT8"),
                ("seconds_bucket", "_INT8"),
                ("seconds_sum", "FLOAT8"),
                ("seconds_count", "INT8"),
            ],
            &[&[
                Some("a"),
                Some("{1,2.5}"),
                Some("{1,3}"),
                Some("7.5"),
                Some("4"),
            ]],
        );
        let (fams, problems) = families(&q, &r);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(fams.len(), 1, "{fams:?}");
        let h = &fams[0];
        assert_eq!((&*h.name, h.kind), ("pg_h_seconds", MetricType::Histogram));
        let got: Vec<(&str, String, f64)> = h
            .samples
            .iter()
            .map(|s| {
                let le = s
                    .labels
                    .iter()
                    .find(|(n, _)| n == "le")
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default();
                (s.suffix, le, s.value)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("_bucket", "1".to_string(), 1.0),
                ("_bucket", "2.5".to_string(), 3.0),
                ("_bucket", "+Inf".to_string(), 4.0),
                ("_sum", String::new(), 7.5),
                ("_count", String::new(), 4.0),
            ]
        );
        let r = result(
            &[("app", "TEXT"), ("seconds", "_FLOAT8")],
            &[&[Some("a"), Some("{1}")]],
        );
        let (fams, problems) = families(&q, &r);
        assert!(
            fams[0].samples.is_empty() && problems.len() == 1,
            "{fams:?} {problems:?}"
        );
    }
}
