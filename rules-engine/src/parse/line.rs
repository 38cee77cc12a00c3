//! One sample line: `name{label="value",...} value [timestamp] [# exemplar]`.
//!
//! Also accepts the quoted forms Prometheus 3.x writes for UTF-8 names,
//! `{"my.metric", "my.label"="v"} 1`. Errors carry a byte offset in the line;
//! the parser turns it into a line and column.

use super::error::ParseErrorKind as K;
use super::text::{
    Quoted, Text, is_label_name_char, is_label_name_start, is_metric_name_char,
    is_metric_name_start, run_len, scan_quoted,
};
use super::{Format, ParseOptions};

/// A label of the current line, resolved against the unescape buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LabelSpan<'a> {
    pub name: Text<'a>,
    pub value: Text<'a>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ParsedLine<'a> {
    pub name: Text<'a>,
    /// `line[..series_end]` is the series' raw text (name and labels).
    pub series_end: usize,
    pub value: f64,
    pub timestamp: Option<i64>,
}

type Fail = (usize, K);

fn skip_ws(line: &[u8], pos: usize) -> usize {
    pos + run_len(&line[pos..], |b| b == b' ' || b == b'\t')
}

/// Parses a sample line into `spans` (cleared first) and `buf`.
pub(crate) fn parse_sample<'a>(
    text: &'a str,
    opts: &ParseOptions,
    buf: &mut String,
    spans: &mut Vec<LabelSpan<'a>>,
) -> Result<ParsedLine<'a>, Fail> {
    // Scan bytes, slice the str: every slice boundary is an ASCII byte, so
    // slicing never fails and no slice needs UTF-8 validation again.
    let line = text.as_bytes();
    spans.clear();
    buf.clear();
    let mut name = None;
    let mut pos = 0;
    if line.first() != Some(&b'{') {
        let n = run_len(line, is_metric_name_char);
        if n == 0 || !is_metric_name_start(line[0]) {
            return Err((0, K::InvalidMetricName));
        }
        name = Some(Text::Borrowed(&text[..n]));
        pos = n;
    }
    let mut series_end = pos;
    let after_name = skip_ws(line, pos);
    if line.get(after_name) == Some(&b'{') {
        pos = parse_labels(text, after_name, opts, &mut name, buf, spans)?;
        series_end = pos;
    }
    let name = name.ok_or((pos, K::InvalidMetricName))?;

    let value_start = skip_ws(line, pos);
    if value_start == pos {
        return Err((pos, K::Expected("a space and the sample value")));
    }
    let value_end = value_start + run_len(&line[value_start..], |b| b != b' ' && b != b'\t');
    if value_end == value_start {
        return Err((value_start, K::Expected("the sample value")));
    }
    let value_tok = &text[value_start..value_end];
    let value = parse_value(value_tok)
        .ok_or_else(|| (value_start, K::InvalidValue(value_tok.to_string())))?;

    let mut parsed = ParsedLine {
        name,
        series_end,
        value,
        timestamp: None,
    };
    let ts_start = skip_ws(line, value_end);
    if ts_start == line.len() || is_exemplar(line, ts_start, opts.format) {
        return Ok(parsed);
    }
    let ts_end = ts_start + run_len(&line[ts_start..], |b| b != b' ' && b != b'\t');
    let ts_tok = &text[ts_start..ts_end];
    let ts = match opts.format {
        Format::Text => parse_ms(ts_tok),
        Format::OpenMetrics => parse_seconds_as_ms(ts_tok),
    };
    parsed.timestamp = Some(ts.ok_or_else(|| (ts_start, K::InvalidTimestamp(ts_tok.to_string())))?);
    let rest = skip_ws(line, ts_end);
    if rest == line.len() || is_exemplar(line, rest, opts.format) {
        Ok(parsed)
    } else {
        Err((rest, K::TrailingText))
    }
}

/// OpenMetrics exemplars (`# {trace_id="x"} 1 ts`) are skipped: vigil does
/// not store them.
fn is_exemplar(line: &[u8], pos: usize, format: Format) -> bool {
    format == Format::OpenMetrics && line[pos] == b'#'
}

fn parse_labels<'a>(
    text: &'a str,
    open: usize,
    opts: &ParseOptions,
    name: &mut Option<Text<'a>>,
    buf: &mut String,
    spans: &mut Vec<LabelSpan<'a>>,
) -> Result<usize, Fail> {
    let line = text.as_bytes();
    let mut pos = open + 1;
    let mut first = true;
    loop {
        pos = skip_ws(line, pos);
        let name_pos = pos;
        let label_name = match line.get(pos) {
            None => return Err((pos, K::Expected("'}'"))),
            Some(b'}') => return Ok(pos + 1),
            Some(b'"') => {
                let (quoted_text, end) = quoted(text, pos, buf)?;
                let next = skip_ws(line, end);
                if first && name.is_none() && matches!(line.get(next), Some(b',' | b'}')) {
                    // `{"metric.name", ...}`: the quoted metric name.
                    *name = Some(quoted_text);
                    first = false;
                    pos = separator(line, next)?;
                    if line[pos - 1] == b'}' {
                        return Ok(pos);
                    }
                    continue;
                }
                pos = end;
                quoted_text
            }
            Some(&b) if is_label_name_start(b) => {
                let n = run_len(&line[pos..], is_label_name_char);
                let label = Text::Borrowed(&text[pos..pos + n]);
                pos += n;
                label
            }
            Some(_) => return Err((pos, K::InvalidLabelName)),
        };
        first = false;
        pos = skip_ws(line, pos);
        if line.get(pos) != Some(&b'=') {
            return Err((pos, K::Expected("'='")));
        }
        pos = skip_ws(line, pos + 1);
        if line.get(pos) != Some(&b'"') {
            return Err((pos, K::Expected("'\"' opening the label value")));
        }
        let (value, end) = quoted(text, pos, buf)?;
        check_label(opts, buf, spans, label_name, value, name_pos, pos)?;
        spans.push(LabelSpan {
            name: label_name,
            value,
        });
        pos = separator(line, skip_ws(line, end))?;
        if line[pos - 1] == b'}' {
            return Ok(pos);
        }
    }
}

/// Consumes `,` or `}` at `pos`, returning the offset after it.
fn separator(line: &[u8], pos: usize) -> Result<usize, Fail> {
    match line.get(pos) {
        Some(b',' | b'}') => Ok(pos + 1),
        _ => Err((pos, K::Expected("',' or '}'"))),
    }
}

fn quoted<'a>(text: &'a str, pos: usize, buf: &mut String) -> Result<(Text<'a>, usize), Fail> {
    match scan_quoted(text, pos, buf) {
        Quoted::Ok(t, end) => Ok((t, end)),
        Quoted::Unterminated => Err((pos, K::UnterminatedString)),
    }
}

fn check_label(
    opts: &ParseOptions,
    buf: &str,
    spans: &[LabelSpan<'_>],
    name: Text<'_>,
    value: Text<'_>,
    name_pos: usize,
    value_pos: usize,
) -> Result<(), Fail> {
    let n = name.resolve(buf);
    if spans.len() >= opts.max_labels {
        return Err((name_pos, K::TooManyLabels(opts.max_labels)));
    }
    if n.len() > opts.max_label_name_len {
        return Err((name_pos, K::LabelNameTooLong(opts.max_label_name_len)));
    }
    if value.resolve(buf).len() > opts.max_label_value_len {
        return Err((value_pos, K::LabelValueTooLong(opts.max_label_value_len)));
    }
    if spans.iter().any(|s| s.name.resolve(buf) == n) {
        return Err((name_pos, K::DuplicateLabel(n.to_string())));
    }
    Ok(())
}

/// A float as Go's `strconv.ParseFloat` reads it for these formats,
/// including `NaN`, `+Inf`, `-Inf` (Rust's parser agrees on those and on
/// decimal and exponent forms; Go's hex floats are not accepted).
pub(crate) fn parse_value(tok: &str) -> Option<f64> {
    tok.parse().ok()
}

/// Text format: integer milliseconds.
fn parse_ms(tok: &str) -> Option<i64> {
    tok.parse().ok()
}

/// OpenMetrics: seconds, possibly fractional, as milliseconds truncated
/// toward zero as Prometheus does (`int64(ts * 1000)`). Plain decimals are
/// converted exactly, so `1520879607.789` is 1520879607789 and not one off
/// from float rounding.
pub(crate) fn parse_seconds_as_ms(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !int.is_empty() && all_digits(int) && all_digits(frac) {
        let mut ms = int.parse::<i64>().ok()?.checked_mul(1000)?;
        let mut scale = 100;
        for b in frac.bytes().take(3) {
            ms = ms.checked_add(i64::from(b - b'0') * scale)?;
            scale /= 10;
        }
        return Some(if neg { -ms } else { ms });
    }
    let secs: f64 = s.parse().ok()?;
    let ms = secs * 1000.0;
    (ms.is_finite() && ms.abs() < 9.2e18).then_some(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_timestamps_are_exact_milliseconds() {
        assert_eq!(parse_seconds_as_ms("1520879607.789"), Some(1520879607789));
        assert_eq!(parse_seconds_as_ms("1520879607.7891"), Some(1520879607789));
        assert_eq!(parse_seconds_as_ms("-1.5"), Some(-1500));
        assert_eq!(parse_seconds_as_ms("1.5e3"), Some(1_500_000));
        assert_eq!(parse_seconds_as_ms("NaN"), None);
        assert_eq!(parse_seconds_as_ms("1e300"), None);
        assert_eq!(parse_seconds_as_ms("."), None);
    }

    #[test]
    fn values_as_go_reads_them() {
        assert!(parse_value("NaN").unwrap().is_nan());
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_value("1.5e-3"), Some(0.0015));
        assert_eq!(parse_value("-0"), Some(-0.0));
        assert_eq!(parse_value("1,5"), None);
        assert_eq!(parse_value(""), None);
    }
}
