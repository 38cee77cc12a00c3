//! The exposition parser: Prometheus text format 0.0.4 and OpenMetrics 1.0,
//! from bytes to samples.
//!
//! Ours rather than a crate's: `prometheus-parse` (the only maintained-looking
//! candidate) silently drops `a:b:c` names, splits label values at commas,
//! loses samples with escaped quotes or `}` in values and has no OpenMetrics.
//! This is also the scrape hot path, so it hands out borrowed views:
//!
//! ```text
//! body ──lines──► Parser::next() ──► Entry::Sample(SampleRef)
//!                   │ spans: Vec<LabelSpan>   (reused; slices of the body)
//!                   └ buf:   String           (reused; only escaped values)
//! ```
//!
//! A sample's label values are slices of the body unless they contain a
//! backslash, so parsing allocates nothing per sample in the common case.
//! `SampleRef::series` is the raw `name{labels}` text, a key for the
//! scraper's cache of known series.

mod comment;
mod error;
mod line;
#[cfg(test)]
mod tests;
mod text;

pub use comment::MetricType;
pub use error::{ParseError, ParseErrorKind};

use comment::{Comment, parse_comment};
use line::{LabelSpan, parse_sample};
use text::Text;

use crate::model::{Label, Labels, METRIC_NAME};

/// Which exposition format the body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Prometheus text format 0.0.4: timestamps in milliseconds.
    #[default]
    Text,
    /// OpenMetrics 1.0: timestamps in seconds, `# EOF` required, exemplars.
    OpenMetrics,
}

impl Format {
    /// The format a `Content-Type` header announces (text when unknown, as
    /// Prometheus falls back).
    pub fn from_content_type(content_type: &str) -> Self {
        if content_type
            .trim_start()
            .starts_with("application/openmetrics-text")
        {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// Format and limits. The limits guard memory against hostile targets; the
/// scrape config's `label_limit` and friends apply after relabeling, above.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    pub format: Format,
    /// Labels per sample, the metric name not counted.
    pub max_labels: usize,
    pub max_label_name_len: usize,
    pub max_label_value_len: usize,
    /// Drop OpenMetrics `_created` samples of counters, histograms and
    /// summaries. Prometheus ingests them as ordinary series unless created
    /// timestamps are enabled, so the default keeps them.
    pub skip_created: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            format: Format::Text,
            max_labels: 256,
            max_label_name_len: 1024,
            max_label_value_len: 64 * 1024,
            skip_created: false,
        }
    }
}

impl ParseOptions {
    pub fn new(format: Format) -> Self {
        ParseOptions {
            format,
            ..Self::default()
        }
    }
}

/// One thing read from the body.
#[derive(Debug, Clone, Copy)]
pub enum Entry<'p> {
    Sample(SampleRef<'p>),
    Help { family: &'p str, text: &'p str },
    Type { family: &'p str, kind: MetricType },
    Unit { family: &'p str, unit: &'p str },
}

/// A sample borrowed from the body and the parser's buffers; valid until the
/// next call to [`Parser::next`].
#[derive(Debug, Clone, Copy)]
pub struct SampleRef<'p> {
    name: Text<'p>,
    spans: &'p [LabelSpan<'p>],
    buf: &'p str,
    /// The raw series text as written (`name{a="1"}`), for cache lookups.
    pub series: &'p [u8],
    pub value: f64,
    /// Milliseconds since the epoch, when the line carries a timestamp.
    pub timestamp: Option<i64>,
    /// The type from the last `# TYPE` whose family this sample belongs to.
    pub metric_type: MetricType,
}

impl<'p> SampleRef<'p> {
    pub fn name(&self) -> &'p str {
        self.name.resolve(self.buf)
    }

    /// The labels in written order, the metric name not included.
    pub fn labels(&self) -> impl Iterator<Item = (&'p str, &'p str)> + 'p {
        let buf = self.buf;
        self.spans
            .iter()
            .map(move |s| (s.name.resolve(buf), s.value.resolve(buf)))
    }

    /// The full label set, `__name__` included (allocates).
    pub fn to_labels(&self) -> Labels {
        let mut v: Vec<Label> = Vec::with_capacity(self.spans.len() + 1);
        v.push(Label::new(METRIC_NAME, self.name()));
        v.extend(
            self.labels()
                .filter(|(n, val)| !val.is_empty() && *n != METRIC_NAME)
                .map(|(n, val)| Label::new(n, val)),
        );
        v.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Labels::from_sorted(v)
    }
}

/// A streaming parser; call [`Parser::next`] until it returns `None`. After
/// an error it returns `None`: a malformed body is rejected as a whole.
#[derive(Debug)]
pub struct Parser<'a> {
    /// The whole lines of the body up to the first invalid UTF-8 byte.
    input: &'a str,
    /// The raw body, for the error at an invalid UTF-8 byte.
    raw: &'a [u8],
    pos: usize,
    line_no: usize,
    opts: ParseOptions,
    buf: String,
    spans: Vec<LabelSpan<'a>>,
    family: &'a str,
    family_type: MetricType,
    eof_seen: bool,
    done: bool,
}

impl<'a> Parser<'a> {
    pub fn new(raw: &'a [u8], opts: ParseOptions) -> Self {
        // Validating UTF-8 once for the body is far cheaper than per label
        // value. Lines before an invalid byte still parse; the error comes
        // when the parser reaches that byte's line.
        let valid = match std::str::from_utf8(raw) {
            Ok(s) => s,
            Err(e) => {
                let up_to = e.valid_up_to();
                let line_start = memchr::memrchr(b'\n', &raw[..up_to]).map_or(0, |i| i + 1);
                std::str::from_utf8(&raw[..line_start]).expect("validated prefix")
            }
        };
        Parser {
            input: valid,
            raw,
            pos: 0,
            line_no: 0,
            opts,
            buf: String::new(),
            spans: Vec::with_capacity(16),
            family: "",
            family_type: MetricType::Unknown,
            eof_seen: false,
            done: false,
        }
    }

    /// The next entry, or `None` at the end of the body (or after an error).
    #[allow(clippy::should_implement_trait)] // lending: items borrow the parser
    pub fn next(&mut self) -> Option<Result<Entry<'_>, ParseError>> {
        loop {
            let Some(full) = self.next_line() else {
                if !self.done && self.input.len() < self.raw.len() {
                    self.done = true;
                    return Some(Err(self.utf8_error()));
                }
                self.done = true;
                if self.opts.format == Format::OpenMetrics && !self.eof_seen {
                    let kind = ParseErrorKind::MissingEof;
                    return Some(Err(ParseError::at(self.line_no + 1, b"", 0, kind)));
                }
                return None;
            };
            // Prometheus's text lexer skips leading blanks; OpenMetrics has none.
            let indent = match self.opts.format {
                Format::Text => full
                    .bytes()
                    .take_while(|b| matches!(b, b' ' | b'\t'))
                    .count(),
                Format::OpenMetrics => 0,
            };
            let line = &full[indent..];
            match self.classify(line) {
                Ok(Step::Skip) => continue,
                Ok(Step::Sample(parsed)) => {
                    let buf = self.buf.as_str();
                    return Some(Ok(Entry::Sample(SampleRef {
                        name: parsed.name,
                        spans: &self.spans,
                        buf,
                        series: &line.as_bytes()[..parsed.series_end],
                        value: parsed.value,
                        timestamp: parsed.timestamp,
                        metric_type: self.type_of(parsed.name.resolve(buf)),
                    })));
                }
                Ok(Step::Comment(c)) => return Some(Ok(self.comment_entry(c))),
                Err((offset, kind)) => {
                    self.done = true;
                    let err = ParseError::at(self.line_no, full.as_bytes(), offset + indent, kind);
                    return Some(Err(err));
                }
            }
        }
    }

    /// Calls `f` on every sample; returns how many there were.
    pub fn for_each_sample(
        mut self,
        mut f: impl FnMut(&SampleRef<'_>),
    ) -> Result<usize, ParseError> {
        let mut n = 0;
        while let Some(entry) = self.next() {
            if let Entry::Sample(s) = entry? {
                f(&s);
                n += 1;
            }
        }
        Ok(n)
    }

    fn next_line(&mut self) -> Option<&'a str> {
        if self.done || self.pos >= self.input.len() {
            return None;
        }
        let rest = &self.input[self.pos..];
        let len = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
        self.pos += len + 1;
        self.line_no += 1;
        Some(&rest[..len])
    }

    /// The error for the line holding the body's first invalid UTF-8 byte.
    fn utf8_error(&self) -> ParseError {
        let line_start = self.input.len();
        let rest = &self.raw[line_start..];
        let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
        let offset = std::str::from_utf8(line).map_or_else(|e| e.valid_up_to(), |_| 0);
        ParseError::at(self.line_no + 1, line, offset, ParseErrorKind::InvalidUtf8)
    }

    /// Parses `line` into the parser's buffers and says what it holds.
    fn classify(&mut self, line: &'a str) -> Result<Step<'a>, (usize, ParseErrorKind)> {
        let om = self.opts.format == Format::OpenMetrics;
        if self.eof_seen {
            return Err((0, ParseErrorKind::DataAfterEof));
        }
        if line.is_empty() {
            return if om {
                Err((0, ParseErrorKind::EmptyLine))
            } else {
                Ok(Step::Skip)
            };
        }
        if line.as_bytes()[0] == b'#' {
            return match parse_comment(line, self.opts.format, &mut self.buf)? {
                Comment::Eof => {
                    self.eof_seen = true;
                    Ok(Step::Skip)
                }
                Comment::Other => Ok(Step::Skip),
                Comment::Type { family, kind } => {
                    self.family = family;
                    self.family_type = kind;
                    Ok(Step::Comment(Comment::Type { family, kind }))
                }
                c => Ok(Step::Comment(c)),
            };
        }
        let parsed = parse_sample(line, &self.opts, &mut self.buf, &mut self.spans)?;
        if om && self.opts.skip_created && self.is_created(parsed.name.resolve(&self.buf)) {
            return Ok(Step::Skip);
        }
        Ok(Step::Sample(parsed))
    }

    /// Whether `name` is the `_created` series of the current family.
    fn is_created(&self, name: &str) -> bool {
        self.family_type.has_created() && name.strip_suffix("_created") == Some(self.family)
    }

    /// The current family's type if `name` belongs to it (the family name
    /// or the family name plus a suffix such as `_total` or `_bucket`).
    fn type_of(&self, name: &str) -> MetricType {
        match name.strip_prefix(self.family) {
            Some(rest) if !self.family.is_empty() && (rest.is_empty() || rest.starts_with('_')) => {
                self.family_type
            }
            _ => MetricType::Unknown,
        }
    }

    fn comment_entry(&self, c: Comment<'a>) -> Entry<'_> {
        match c {
            Comment::Help { family, text } => Entry::Help {
                family,
                text: text.resolve(&self.buf),
            },
            Comment::Type { family, kind } => Entry::Type { family, kind },
            Comment::Unit { family, unit } => Entry::Unit { family, unit },
            Comment::Eof | Comment::Other => unreachable!("skipped in classify"),
        }
    }
}

enum Step<'a> {
    Skip,
    Sample(line::ParsedLine<'a>),
    Comment(Comment<'a>),
}

/// Parses a whole body into owned samples (tests, `vigil test` inputs and
/// other cold paths; the scraper uses [`Parser`] directly).
pub fn parse_to_vec(input: &[u8], opts: ParseOptions) -> Result<Vec<OwnedSample>, ParseError> {
    let mut out = Vec::new();
    Parser::new(input, opts).for_each_sample(|s| {
        out.push(OwnedSample {
            labels: s.to_labels(),
            value: s.value,
            timestamp: s.timestamp,
        })
    })?;
    Ok(out)
}

/// A sample with its own label set.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedSample {
    pub labels: Labels,
    pub value: f64,
    pub timestamp: Option<i64>,
}
