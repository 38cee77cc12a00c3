//! Comment lines: `# HELP`, `# TYPE`, `# UNIT` and OpenMetrics's `# EOF`.
//! The text format ignores any other comment; OpenMetrics forbids them.

use super::Format;
use super::error::ParseErrorKind as K;
use super::text::{Text, is_metric_name_char, run_len, unescape_into};

/// A metric family's type, from `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    StateSet,
    Info,
    /// `untyped` (text format), `unknown` (OpenMetrics), or no `# TYPE`.
    #[default]
    Unknown,
}

impl MetricType {
    fn parse(s: &str, format: Format) -> Option<Self> {
        Some(match (s, format) {
            ("counter", _) => MetricType::Counter,
            ("gauge", _) => MetricType::Gauge,
            ("histogram", _) => MetricType::Histogram,
            ("summary", _) => MetricType::Summary,
            ("untyped", Format::Text) | ("unknown", Format::OpenMetrics) => MetricType::Unknown,
            ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            ("stateset", Format::OpenMetrics) => MetricType::StateSet,
            ("info", Format::OpenMetrics) => MetricType::Info,
            _ => return None,
        })
    }

    /// Whether the family has `_created` samples in OpenMetrics.
    pub fn has_created(self) -> bool {
        matches!(
            self,
            MetricType::Counter
                | MetricType::Histogram
                | MetricType::GaugeHistogram
                | MetricType::Summary
        )
    }
}

/// A parsed comment line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Comment<'a> {
    Help {
        family: &'a str,
        text: Text<'a>,
    },
    Type {
        family: &'a str,
        kind: MetricType,
    },
    Unit {
        family: &'a str,
        unit: &'a str,
    },
    Eof,
    /// A free comment (text format only).
    Other,
}

type Fail = (usize, K);

/// Parses a line starting with `#`.
pub(crate) fn parse_comment<'a>(
    text: &'a str,
    format: Format,
    buf: &mut String,
) -> Result<Comment<'a>, Fail> {
    let line = text.as_bytes();
    buf.clear();
    let keyword = |kw: &str| line.get(2..2 + kw.len()) == Some(kw.as_bytes());
    let directive = line.get(1) == Some(&b' ');
    if format == Format::OpenMetrics && line == b"# EOF" {
        return Ok(Comment::Eof);
    }
    let kind = match () {
        _ if directive && keyword("HELP ") => "HELP",
        _ if directive && keyword("TYPE ") => "TYPE",
        _ if directive && keyword("UNIT ") && format == Format::OpenMetrics => "UNIT",
        _ if format == Format::Text => return Ok(Comment::Other),
        _ => return Err((0, K::InvalidComment)),
    };
    let name_start = 7;
    let n = run_len(&line[name_start..], is_metric_name_char);
    if n == 0 {
        return Err((name_start, K::InvalidMetricName));
    }
    let family = &text[name_start..name_start + n];
    let mut rest_start = name_start + n;
    match line.get(rest_start) {
        None => {}
        Some(b' ') => rest_start += 1,
        Some(_) => return Err((rest_start, K::InvalidMetricName)),
    }
    let rest = &text[rest_start..];
    match kind {
        "HELP" => {
            let text = if rest.contains('\\') {
                unescape_into(rest, buf);
                Text::Buffered {
                    start: 0,
                    end: buf.len() as u32,
                }
            } else {
                Text::Borrowed(rest)
            };
            Ok(Comment::Help { family, text })
        }
        "TYPE" => MetricType::parse(rest.trim_end(), format)
            .map(|kind| Comment::Type { family, kind })
            .ok_or_else(|| (rest_start, K::UnknownType(rest.to_string()))),
        _ => Ok(Comment::Unit { family, unit: rest }),
    }
}
