//! The expanding notation of promtool's `input_series` and the series
//! notation of its labels (`name{a="b"}`).

use promql_parser::label::MatchOp;
use promql_parser::parser::Expr;

use crate::model::{Labels, stale_nan};

/// One input value: a number, nothing (`_`), or a staleness marker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Point {
    Value(f64),
    Missing,
    Stale,
}

/// Expands `a+bxn` (n+1 values from a in steps of b), `a-bxn`, `axn`
/// (a repeated n+1 times), `_`, `_xn` (n gaps) and `stale`.
pub fn expand_values(text: &str) -> Result<Vec<Point>, String> {
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        match tok {
            "_" => out.push(Point::Missing),
            "stale" => out.push(Point::Stale),
            _ => expand_token(tok, &mut out)?,
        }
    }
    Ok(out)
}

fn number(s: &str) -> Result<f64, String> {
    match s {
        "Inf" | "+Inf" | "inf" | "+inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        "NaN" | "nan" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("invalid value {s:?}")),
    }
}

fn expand_token(tok: &str, out: &mut Vec<Point>) -> Result<(), String> {
    let Some((head, times)) = tok.split_once('x') else {
        out.push(Point::Value(number(tok)?));
        return Ok(());
    };
    let n: usize = times
        .parse()
        .map_err(|_| format!("invalid repetition in {tok:?}"))?;
    if head == "_" {
        out.extend(std::iter::repeat_n(Point::Missing, n));
        return Ok(());
    }
    // The step's sign is the last + or - that is not the number's own sign
    // or part of an exponent.
    let split = head
        .char_indices()
        .skip(1)
        .filter(|&(i, c)| (c == '+' || c == '-') && !matches!(head.as_bytes()[i - 1], b'e' | b'E'))
        .last();
    let (start, step) = match split {
        Some((i, sign)) => {
            let step = number(&head[i + 1..])?;
            (number(&head[..i])?, if sign == '-' { -step } else { step })
        }
        None => (number(head)?, 0.0),
    };
    for k in 0..=n {
        out.push(Point::Value(start + step * k as f64));
    }
    Ok(())
}

/// Labels from `name{a="b", c="d"}` (either part optional).
/// As promtool's `parser.ParseMetric`, `{}` is the empty label set.
pub fn parse_series(text: &str) -> Result<Labels, String> {
    let bare = text.trim();
    let empty_braces = bare
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|inner| inner.trim().is_empty());
    if bare.is_empty() || empty_braces {
        return Ok(Labels::empty());
    }
    let expr = crate::promql::parse_expr(text).map_err(|e| e.to_string())?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!("{text:?} is not a series"));
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(name) = vs.name {
        pairs.push(("__name__".into(), name));
    }
    for m in vs.matchers.matchers {
        if !matches!(m.op, MatchOp::Equal) {
            return Err(format!("{text:?}: only = matchers describe a series"));
        }
        pairs.push((m.name, m.value));
    }
    Ok(Labels::from_pairs(pairs))
}

/// `Point` to the value appended to the store, if any.
pub fn sample_value(p: Point) -> Option<f64> {
    match p {
        Point::Value(v) => Some(v),
        Point::Stale => Some(stale_nan()),
        Point::Missing => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(s: &str) -> Vec<String> {
        expand_values(s)
            .unwrap()
            .into_iter()
            .map(|p| match p {
                Point::Value(v) => v.to_string(),
                Point::Missing => "_".into(),
                Point::Stale => "stale".into(),
            })
            .collect()
    }

    #[test]
    fn expanding_notation() {
        assert_eq!(vals("1+2x3"), ["1", "3", "5", "7"]);
        assert_eq!(vals("10-1x2 _ stale"), ["10", "9", "8", "_", "stale"]);
        assert_eq!(vals("0x2 _x2 -1"), ["0", "0", "0", "_", "_", "-1"]);
        assert_eq!(vals("-2-1x1"), ["-2", "-3"]);
        // promtool rejects a signed step as well.
        assert!(expand_values("-2+-1x1").is_err());
        assert_eq!(vals("1e3+1e1x1"), ["1000", "1010"]);
        assert!(expand_values("1+x").is_err());
    }

    #[test]
    fn series_notation() {
        let l = parse_series("up{job=\"a\", instance=\"b:1\"}").unwrap();
        assert_eq!(l.to_string(), "up{instance=\"b:1\", job=\"a\"}");
        assert_eq!(parse_series("{a=\"1\"}").unwrap().to_string(), "{a=\"1\"}");
        assert!(parse_series("up{a=~\"x\"}").is_err());
        assert_eq!(parse_series("{}").unwrap(), Labels::empty());
        assert_eq!(parse_series(" { } ").unwrap(), Labels::empty());
    }
}
