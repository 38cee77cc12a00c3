//! Parser for the promqltest language (see ../shared/promql-testdata/README.md):
//! `load`, `clear`, `eval instant|range` with `expect` lines and results.

use regex::Regex;
use vigil::model::{Labels, METRIC_NAME, stale_nan};

/// One value slot of a series line: a sample or `_` (none).
pub type Slot = Option<f64>;

pub struct SeriesLine {
    pub labels: Labels,
    pub values: Vec<Slot>,
    /// The line holds native histogram values.
    pub native: bool,
}

pub enum Cmd {
    Clear,
    Load {
        interval: i64,
        series: Vec<SeriesLine>,
        nhcb: bool,
        start_ts: bool,
    },
    Eval(Box<EvalCmd>),
}

pub enum Kind {
    Instant(i64),
    Range { start: i64, end: i64, step: i64 },
}

pub enum TextMatch {
    Exact(String),
    Regex(Regex),
}

impl TextMatch {
    pub fn matches(&self, s: &str) -> bool {
        match self {
            TextMatch::Exact(e) => e == s,
            TextMatch::Regex(r) => r.is_match(s),
        }
    }
}

/// Expectations about one kind of annotation.
#[derive(Default)]
pub struct AnnExpect {
    pub some: bool,
    pub none: bool,
    pub texts: Vec<TextMatch>,
}

pub enum Expected {
    Series(Vec<SeriesLine>),
    Scalar(f64),
    String(String),
}

pub struct EvalCmd {
    pub line: usize,
    pub expr: String,
    pub kind: Kind,
    pub fail: Option<Option<TextMatch>>,
    pub warn: AnnExpect,
    pub info: AnnExpect,
    pub ordered: bool,
    pub range_vector: Option<(i64, i64, i64)>,
    pub expected: Expected,
    /// Expected results hold native histograms.
    pub native: bool,
}

/// Parses a Prometheus duration (`5m`, `1m30s`, `10s53ms`) or a bare number
/// of seconds into milliseconds.
pub fn duration_ms(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<f64>() {
        return Ok((n * 1000.0).round() as i64);
    }
    let re = Regex::new(r"(\d+)(ms|y|w|d|h|m|s)").unwrap();
    let mut total = 0i64;
    let mut consumed = 0;
    for c in re.captures_iter(s) {
        let n: i64 = c[1].parse().map_err(|e| format!("{e}"))?;
        let unit = match &c[2] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => 31_536_000_000,
        };
        total += n * unit;
        consumed += c[0].len();
    }
    let sign = if s.starts_with('-') { -1 } else { 1 };
    if consumed == 0 || consumed + usize::from(sign < 0) != s.len() {
        return Err(format!("bad duration {s:?}"));
    }
    Ok(sign * total)
}

/// Go's `strconv.ParseFloat` for the spellings the suite uses.
pub fn parse_number(s: &str) -> Option<f64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        b if b.starts_with("0x") => i64::from_str_radix(&b[2..], 16).ok()? as f64,
        _ if body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')) =>
        {
            body.parse().ok()?
        }
        _ => return None,
    };
    Some(if neg { -v } else { v })
}

/// Expands one value item (`1`, `_`, `stale`, `AxN`, `A+BxN`, `_xN`).
fn expand(item: &str) -> Result<Vec<Slot>, String> {
    if item == "_" {
        return Ok(vec![None]);
    }
    if item == "stale" {
        return Ok(vec![Some(stale_nan())]);
    }
    // `AxN` wins over hex: `0x10` is eleven zeros, as the reference lexer reads it.
    let expansion = item
        .rsplit_once('x')
        .filter(|(h, n)| !h.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let Some((head, n)) = expansion else {
        return parse_number(item)
            .map(|v| vec![Some(v)])
            .ok_or_else(|| format!("bad value {item:?}"));
    };
    let n: usize = n.parse().map_err(|_| format!("bad value {item:?}"))?;
    if head == "_" {
        return Ok(vec![None; n]);
    }
    if let Some(v) = parse_number(head) {
        return Ok(vec![Some(v); n + 1]);
    }
    // A+B or A-B: split at the last sign that is not part of an exponent
    // or the leading sign.
    let bytes = head.as_bytes();
    let split = (1..bytes.len())
        .rev()
        .find(|&i| matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E'))
        .ok_or_else(|| format!("bad value {item:?}"))?;
    let a = parse_number(&head[..split]).ok_or_else(|| format!("bad value {item:?}"))?;
    let b = parse_number(&head[split..]).ok_or_else(|| format!("bad value {item:?}"))?;
    Ok((0..=n).map(|i| Some(a + b * i as f64)).collect())
}

/// Splits a series line into its descriptor and its value items.
fn split_series(line: &str) -> (&str, &str) {
    let mut in_quote = false;
    let mut escaped = false;
    let mut depth = 0;
    for (i, c) in line.char_indices() {
        if in_quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quote = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quote = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return (&line[..=i], line[i + 1..].trim());
                }
            }
            c if c.is_whitespace() && depth == 0 => return (&line[..i], line[i..].trim()),
            _ => {}
        }
    }
    (line, "")
}

/// Parses `name{a="b"}`, `{a="b"}` or `{}` into a label set.
pub fn parse_labels(desc: &str) -> Result<Labels, String> {
    if desc.replace(' ', "") == "{}" {
        return Ok(Labels::empty());
    }
    let expr = promql_parser::parser::parse(desc).map_err(|e| format!("{desc}: {e}"))?;
    let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
        return Err(format!("not a series: {desc}"));
    };
    let mut pairs: Vec<(String, String)> = vs
        .matchers
        .matchers
        .iter()
        .map(|m| (m.name.clone(), m.value.clone()))
        .collect();
    if let Some(n) = vs.name {
        pairs.push((METRIC_NAME.to_string(), n));
    }
    Ok(Labels::from_pairs(pairs))
}

/// Parses a series line; `native` is set when it holds `{{...}}` values.
pub fn parse_series_line(line: &str) -> Result<(SeriesLine, bool), String> {
    let (desc, rest) = split_series(line);
    let labels = parse_labels(desc)?;
    if rest.contains("{{") {
        return Ok((
            SeriesLine {
                labels,
                values: Vec::new(),
                native: true,
            },
            true,
        ));
    }
    let mut values = Vec::new();
    for item in rest.split_whitespace() {
        values.extend(expand(item)?);
    }
    Ok((
        SeriesLine {
            labels,
            values,
            native: false,
        },
        false,
    ))
}
