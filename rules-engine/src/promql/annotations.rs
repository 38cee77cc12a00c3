//! Annotations: the non-fatal warnings and infos Prometheus attaches to a
//! query result (`annotations` package), with the `(line:col)` position of
//! the sub-expression they concern.

/// Collected annotations, deduplicated by text, in insertion order.
#[derive(Debug, Default, Clone)]
pub struct Annotations {
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

impl Annotations {
    /// Adds `PromQL warning: {msg} ({pos})`.
    pub fn warn(&mut self, msg: &str, pos: &str) {
        push_unique(&mut self.warnings, format!("PromQL warning: {msg} ({pos})"));
    }

    /// Adds `PromQL info: {msg} ({pos})`.
    pub fn info(&mut self, msg: &str, pos: &str) {
        push_unique(&mut self.infos, format!("PromQL info: {msg} ({pos})"));
    }
}

fn push_unique(list: &mut Vec<String>, text: String) {
    if !list.contains(&text) {
        list.push(text);
    }
}

/// Texts of the annotations this engine produces (Prometheus's wording).
pub mod msg {
    pub fn not_counter(name: &str) -> String {
        format!(
            "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
        )
    }
    pub fn bad_quantile(q: f64) -> String {
        format!(
            "quantile value should be between 0 and 1, got {}",
            super::super::go_float::go_float(q)
        )
    }
    pub fn bad_bucket_label(value: &str, name: &str) -> String {
        format!(
            "bucket label \"le\" is missing or has a malformed value of {value:?} for metric name {name:?}"
        )
    }
    pub fn monotonicity(name: &str) -> String {
        format!(
            "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {name:?}"
        )
    }
    pub const SORT_RANGE: &str =
        "sort is ineffective for range queries since results are always ordered by labels";
}

/// The `line:col` (1-based) of byte offset `at` in `query`.
pub fn position(query: &str, at: usize) -> String {
    let at = at.min(query.len());
    let before = &query[..at];
    let line = before.matches('\n').count() + 1;
    let col = match before.rfind('\n') {
        Some(nl) => before[nl + 1..].chars().count() + 1,
        None => before.chars().count() + 1,
    };
    format!("{line}:{col}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        assert_eq!(position("rate(foo[5m])", 5), "1:6");
        assert_eq!(position("a\n+ b", 4), "2:3");
    }

    #[test]
    fn floats_print_like_go_percent_g() {
        use super::super::go_float::go_float as fmt_go_g;
        assert_eq!(fmt_go_g(1.1), "1.1");
        assert_eq!(fmt_go_g(-2.0), "-2");
        assert_eq!(fmt_go_g(1e21), "1e+21");
        assert_eq!(fmt_go_g(1.5e-5), "1.5e-05");
        assert_eq!(fmt_go_g(f64::NAN), "NaN");
    }

    #[test]
    fn duplicates_are_kept_once() {
        let mut a = Annotations::default();
        a.info("x", "1:1");
        a.info("x", "1:1");
        assert_eq!(a.infos, vec!["PromQL info: x (1:1)".to_string()]);
    }
}
