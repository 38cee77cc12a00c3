//! The head's cardinality figures for `GET /api/v1/status/tsdb`, in
//! Prometheus's shape: which metric names, label names and label pairs
//! hold the most series.

use std::collections::{HashMap, HashSet};

use super::Head;

/// One `{name, value}` row of a top-N list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Count {
    pub name: String,
    pub value: u64,
}

/// The figures, each list the `limit` largest, largest first.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cardinality {
    pub num_label_pairs: u64,
    pub series_count_by_metric_name: Vec<Count>,
    pub label_value_count_by_label_name: Vec<Count>,
    pub memory_in_bytes_by_label_name: Vec<Count>,
    pub series_count_by_label_value_pair: Vec<Count>,
}

impl Head {
    /// Counts over every series in the head (one pass; for an API call,
    /// not a hot path).
    pub fn cardinality(&self, limit: usize) -> Cardinality {
        let mut by_metric: HashMap<String, u64> = HashMap::new();
        let mut by_pair: HashMap<(String, String), u64> = HashMap::new();
        self.for_each_series(|s| {
            for (name, value) in s.labels.iter() {
                if name == crate::model::METRIC_NAME {
                    *by_metric.entry(value.to_string()).or_default() += 1;
                }
                match by_pair.get_mut(&(name.to_string(), value.to_string())) {
                    Some(n) => *n += 1,
                    None => {
                        by_pair.insert((name.to_string(), value.to_string()), 1);
                    }
                }
            }
        });
        let mut values: HashMap<&str, HashSet<&str>> = HashMap::new();
        for (name, value) in by_pair.keys() {
            values.entry(name).or_default().insert(value);
        }
        let top = |rows: Vec<Count>| {
            let mut rows = rows;
            rows.sort_by(|a, b| b.value.cmp(&a.value).then(a.name.cmp(&b.name)));
            rows.truncate(limit);
            rows
        };
        Cardinality {
            num_label_pairs: by_pair.len() as u64,
            series_count_by_metric_name: top(by_metric
                .iter()
                .map(|(n, v)| Count {
                    name: n.clone(),
                    value: *v,
                })
                .collect()),
            label_value_count_by_label_name: top(values
                .iter()
                .map(|(n, vs)| Count {
                    name: n.to_string(),
                    value: vs.len() as u64,
                })
                .collect()),
            memory_in_bytes_by_label_name: top(values
                .iter()
                .map(|(n, vs)| Count {
                    name: n.to_string(),
                    value: vs.iter().map(|v| v.len() as u64).sum(),
                })
                .collect()),
            series_count_by_label_value_pair: top(by_pair
                .iter()
                .map(|((n, v), c)| Count {
                    name: format!("{n}={v}"),
                    value: *c,
                })
                .collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Labels;
    use crate::store::{Appender, Head};

    #[test]
    fn counts_series_by_name_label_and_pair() {
        let h = Head::default();
        for (name, job) in [("up", "a"), ("up", "b"), ("x", "a")] {
            h.append(
                &Labels::from_pairs([("__name__", name), ("job", job)]),
                1,
                1.0,
            )
            .unwrap();
        }
        let c = h.cardinality(10);
        // __name__=up, __name__=x, job=a, job=b.
        assert_eq!(c.num_label_pairs, 4);
        assert_eq!(c.series_count_by_metric_name[0].name, "up");
        assert_eq!(c.series_count_by_metric_name[0].value, 2);
        // Ties (2 series each) in name order.
        let pairs: Vec<(&str, u64)> = c
            .series_count_by_label_value_pair
            .iter()
            .map(|r| (r.name.as_str(), r.value))
            .collect();
        assert_eq!(pairs[..2], [("__name__=up", 2), ("job=a", 2)]);
        let jobs = c
            .label_value_count_by_label_name
            .iter()
            .find(|r| r.name == "job")
            .unwrap();
        assert_eq!(jobs.value, 2);
        assert_eq!(h.cardinality(1).series_count_by_label_value_pair.len(), 1);
    }
}
