//! The experimental `anchored` and `smoothed` range-selector modifiers
//! (`rate(x[5m] smoothed)`). The parser we use does not know them, so before
//! parsing the keyword is removed and the mode is carried to the evaluator
//! as a reserved matcher on the selector (`__vigil_range_mode__`), which
//! the evaluator takes off again before selecting.

use crate::promql::error::QueryError;
use promql_parser::parser::VectorSelector;

/// The reserved label that carries the mode from the rewrite to the engine.
pub(crate) const MODE_LABEL: &str = "__vigil_range_mode__";

/// How a range selector's window is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeMode {
    /// `(t - range, t]`, as is.
    Plain,
    /// Also the last sample at or before the window start (within the
    /// lookback delta); no extrapolation.
    Anchored,
    /// Values at both window edges interpolated from the neighbouring
    /// samples; no extrapolation.
    Smoothed,
}

impl RangeMode {
    fn from_value(v: &str) -> RangeMode {
        match v {
            "anchored" => RangeMode::Anchored,
            "smoothed" => RangeMode::Smoothed,
            _ => RangeMode::Plain,
        }
    }

    /// Prometheus accepts each modifier only with some functions.
    pub(crate) fn check(self, func: &str) -> Result<(), QueryError> {
        let (name, allowed): (&str, &[&str]) = match self {
            RangeMode::Plain => return Ok(()),
            RangeMode::Anchored => (
                "anchored",
                &["changes", "delta", "increase", "rate", "resets"],
            ),
            RangeMode::Smoothed => ("smoothed", &["delta", "increase", "rate"]),
        };
        if allowed.contains(&func) {
            return Ok(());
        }
        Err(QueryError::exec(format!(
            "{name} modifier can only be used with: {} - not with {func}",
            allowed.join(", ")
        )))
    }
}

/// Removes the reserved matcher from a selector; returns the mode.
pub(crate) fn take_mode(vs: &mut VectorSelector) -> RangeMode {
    let ms = &mut vs.matchers.matchers;
    match ms.iter().position(|m| m.name == MODE_LABEL) {
        Some(i) => RangeMode::from_value(&ms.remove(i).value),
        None => RangeMode::Plain,
    }
}

/// Rewrites `sel[5m] anchored` to `sel{__vigil_range_mode__="anchored"}[5m]`.
pub(crate) fn rewrite(q: &str) -> String {
    let mut out = q.to_string();
    let mut from = 0;
    while let Some((bracket_end, kw_start, kw_end, mode)) = find_modifier(&out, from) {
        let Some(open) = out[..bracket_end].rfind('[') else {
            break;
        };
        let sel_end = out[..open].trim_end().len();
        let matcher = format!("{MODE_LABEL}=\"{mode}\"");
        let (at, insert) = if out[..sel_end].ends_with('}') {
            let inner = out[..sel_end - 1]
                .rsplit_once('{')
                .map_or("", |(_, i)| i)
                .trim();
            let sep = if inner.is_empty() || inner.ends_with(',') {
                ""
            } else {
                ","
            };
            (sel_end - 1, format!("{sep}{matcher}"))
        } else {
            (sel_end, format!("{{{matcher}}}"))
        };
        out = format!(
            "{}{insert}{}{}",
            &out[..at],
            &out[at..kw_start],
            &out[kw_end..]
        );
        from = bracket_end + insert.len() + 1;
    }
    out
}

/// Finds `] anchored` / `] smoothed` (keyword as a whole word) outside
/// strings: (index of `]`, keyword start, keyword end, mode).
fn find_modifier(q: &str, from: usize) -> Option<(usize, usize, usize, &'static str)> {
    let b = q.as_bytes();
    let mut quote = None;
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(qc) if c == b'\\' && qc != b'`' => i += 1,
            Some(qc) if c == qc => quote = None,
            Some(_) => {}
            None if matches!(c, b'"' | b'\'' | b'`') => quote = Some(c),
            None if c == b']' => {
                let rest = &q[i + 1..];
                let kw_start = i + 1 + (rest.len() - rest.trim_start().len());
                for mode in ["anchored", "smoothed"] {
                    let end = kw_start + mode.len();
                    let word = q
                        .get(kw_start..end)
                        .is_some_and(|w| w.eq_ignore_ascii_case(mode));
                    let boundary = b
                        .get(end)
                        .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'));
                    if word && boundary {
                        return Some((i, kw_start, end, mode));
                    }
                }
            }
            None => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_modifiers_into_matchers() {
        assert_eq!(
            rewrite("rate(x[5m] smoothed)"),
            r#"rate(x{__vigil_range_mode__="smoothed"}[5m] )"#
        );
        assert_eq!(
            rewrite(r#"increase(x{a="1"}[1m] anchored) + y[1m]"#),
            r#"increase(x{a="1",__vigil_range_mode__="anchored"}[1m] ) + y[1m]"#
        );
        assert_eq!(rewrite("x[1m] + anchored_total"), "x[1m] + anchored_total");
    }
}
