//! Text pieces of a parsed line, and the scanning of quoted strings.
//!
//! A label value without a backslash is handed out as a slice of the input;
//! only a value with escapes is unescaped, into one buffer the parser reuses
//! for every line. So a typical sample costs no allocation at all.

/// Text that is either a slice of the input or a range of the parser's
/// unescape buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Text<'a> {
    Borrowed(&'a str),
    Buffered { start: u32, end: u32 },
}

impl<'a> Text<'a> {
    pub fn resolve<'s>(self, buf: &'s str) -> &'s str
    where
        'a: 's,
    {
        match self {
            Text::Borrowed(s) => s,
            Text::Buffered { start, end } => &buf[start as usize..end as usize],
        }
    }
}

/// Where a quoted string ended, or why it did not.
pub(crate) enum Quoted<'a> {
    /// The string and the offset just past its closing quote.
    Ok(Text<'a>, usize),
    Unterminated,
}

/// Scans the quoted string whose opening quote is at `line[open]`. The
/// escapes `\\`, `\"` and `\n` are replaced as Prometheus does; any other
/// backslash pair is kept as written (Prometheus's replacer leaves it too).
pub(crate) fn scan_quoted<'a>(line: &'a str, open: usize, buf: &mut String) -> Quoted<'a> {
    let bytes = line.as_bytes();
    let start = open + 1;
    // Label values are short: a plain loop beats a SIMD search's set-up.
    let mut i = start;
    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\\' {
        i += 1;
    }
    match bytes.get(i) {
        None => return Quoted::Unterminated,
        Some(b'"') => return Quoted::Ok(Text::Borrowed(&line[start..i]), i + 1),
        Some(_) => {}
    }
    // Escapes present: find the end first, then unescape into the buffer.
    // The end is a quote, an ASCII byte, so slicing there is sound.
    loop {
        match bytes.get(i) {
            None => return Quoted::Unterminated,
            Some(b'\\') => i += 2,
            Some(b'"') => break,
            Some(_) => i += 1,
        }
    }
    let buf_start = buf.len();
    unescape_into(&line[start..i], buf);
    let text = Text::Buffered {
        start: buf_start as u32,
        end: buf.len() as u32,
    };
    Quoted::Ok(text, i + 1)
}

/// Replaces `\\`, `\"` and `\n`; keeps other backslash pairs verbatim.
pub(crate) fn unescape_into(raw: &str, buf: &mut String) {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            buf.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => buf.push('\\'),
            Some('"') => buf.push('"'),
            Some('n') => buf.push('\n'),
            Some(other) => {
                buf.push('\\');
                buf.push(other);
            }
            None => buf.push('\\'),
        }
    }
}

pub(crate) fn is_metric_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

pub(crate) fn is_metric_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

pub(crate) fn is_label_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

pub(crate) fn is_label_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Length of the run of bytes at the start of `s` that satisfy `f`.
pub(crate) fn run_len(s: &[u8], f: impl Fn(u8) -> bool) -> usize {
    s.iter().position(|&b| !f(b)).unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(s: &str) -> Option<(String, usize)> {
        let mut buf = String::new();
        match scan_quoted(s, 0, &mut buf) {
            Quoted::Ok(t, end) => Some((t.resolve(&buf).to_string(), end)),
            _ => None,
        }
    }

    #[test]
    fn plain_and_escaped_strings() {
        assert_eq!(quoted(r#""abc" x"#), Some(("abc".into(), 5)));
        assert_eq!(quoted(r#""a\"b\\c\nd""#), Some(("a\"b\\c\nd".into(), 12)));
        assert_eq!(quoted(r#""a\tb""#), Some(("a\\tb".into(), 6)));
        assert_eq!(quoted(r#""a,b=c}""#), Some(("a,b=c}".into(), 8)));
        assert_eq!(quoted(r#""abc"#), None);
        assert_eq!(quoted(r#""abc\""#), None);
        assert_eq!(quoted(r#""abc\"#), None);
    }
}
