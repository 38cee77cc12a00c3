//! `label_replace` and `label_join`: rewrite labels of every element. Both
//! keep `__name__` unless they overwrite it, in which case the delayed name
//! removal no longer applies (Prometheus 3).

use std::collections::HashMap;
use std::rc::Rc;

use regex::Regex;

use crate::model::{Labels, METRIC_NAME};
use crate::promql::error::QueryError;
use crate::promql::eval::Elem;
use crate::promql::parse::valid_label_name;

/// Applies `rewrite` to each distinct label set once and shares the result.
fn map_labels(
    steps: Vec<Vec<Elem>>,
    dst: &str,
    rewrite: impl Fn(&Labels) -> Labels,
) -> Vec<Vec<Elem>> {
    let mut cache: HashMap<*const Labels, Rc<Labels>> = HashMap::new();
    steps
        .into_iter()
        .map(|elems| {
            elems
                .into_iter()
                .map(|mut e| {
                    let key = Rc::as_ptr(&e.labels);
                    let new = cache
                        .entry(key)
                        .or_insert_with(|| Rc::new(rewrite(&e.labels)))
                        .clone();
                    e.labels = new;
                    if dst == METRIC_NAME {
                        e.drop_name = false;
                    }
                    e
                })
                .collect()
        })
        .collect()
}

/// `label_replace(v, dst, replacement, src, regex)`: where the anchored
/// regex matches the value of `src`, set `dst` to the expanded replacement
/// (`$1`, `${name}`); an empty result removes `dst`.
pub(crate) fn label_replace(
    steps: Vec<Vec<Elem>>,
    dst: &str,
    repl: &str,
    src: &str,
    pattern: &str,
) -> Result<Vec<Vec<Elem>>, QueryError> {
    let re = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .dot_matches_new_line(true)
        .build()
        .map_err(|_| {
            QueryError::exec(format!(
                "invalid regular expression in label_replace(): {pattern}"
            ))
        })?;
    if !valid_label_name(dst) {
        return Err(QueryError::exec(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    Ok(map_labels(steps, dst, |l| {
        replace_one(l, &re, dst, repl, src)
    }))
}

fn replace_one(l: &Labels, re: &Regex, dst: &str, repl: &str, src: &str) -> Labels {
    let value = l.get(src).unwrap_or("");
    let Some(caps) = re.captures(value) else {
        return l.clone();
    };
    let mut out = String::new();
    caps.expand(repl, &mut out);
    let mut l = l.clone();
    l.set(dst, &out);
    l
}

/// `label_join(v, dst, separator, src...)`: `dst` becomes the values of the
/// source labels joined by the separator.
pub(crate) fn label_join(
    steps: Vec<Vec<Elem>>,
    dst: &str,
    sep: &str,
    srcs: &[String],
) -> Result<Vec<Vec<Elem>>, QueryError> {
    if !valid_label_name(dst) {
        return Err(QueryError::exec(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    Ok(map_labels(steps, dst, |l| {
        let joined: Vec<&str> = srcs.iter().map(|s| l.get(s).unwrap_or("")).collect();
        let mut l = l.clone();
        l.set(dst, &joined.join(sep));
        l
    }))
}
