//! The stats CSV (`show stat` on the runtime API, or the stats page with
//! `;csv`), parsed by header name.
//!
//! The first line is the header, prefixed with `# `; its columns differ
//! between HAProxy versions (2.6 has 110, older ones fewer), so every value
//! is looked up by column name and missing columns only leave metrics out.
//! Parsing is pure and checks every value the metrics use: a malformed
//! reply is an error naming the line and the column, never a panic and
//! never a silently wrong number.

use std::collections::HashMap;
use std::sync::Arc;

use super::fields;

/// The kind of object a row describes (the `type` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Frontend,
    Backend,
    Server,
    /// Per-listener rows (`option socket-stats`); not exported, like the
    /// built-in exporter without its listener scope.
    Listener,
}

/// One row. Numeric columns are already checked: `numbers` holds the
/// value of each column the metrics use, `None` when the cell is empty
/// (HAProxy's "not applicable" or "no limit").
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Line number in the reply, for later error messages.
    pub line: u64,
    pub kind: Kind,
    pub proxy: String,
    pub name: String,
    pub status: String,
    pub check_status: String,
    /// Where each numeric column is in `numbers`: one map per reply,
    /// shared by its rows (a map per row cost a key string per cell).
    columns: Arc<HashMap<String, usize>>,
    numbers: Vec<Option<f64>>,
}

impl Row {
    /// The value of a numeric column: `None` if the column is missing in
    /// this HAProxy version, `Some(None)` if the cell is empty.
    pub fn number(&self, column: &str) -> Option<Option<f64>> {
        let at = *self.columns.get(column)?;
        self.numbers.get(at).copied()
    }
}

/// Why a reply is not a stats CSV. `line` counts from 1; `column` is the
/// header name of the offending cell when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stats CSV line {line}{}: {reason}", column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct ParseError {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

/// Parses a stats CSV reply.
pub fn parse(text: &str) -> Result<Vec<Row>, ParseError> {
    let body = text
        .strip_prefix("# ")
        .ok_or_else(|| error(1, None, "expected a header line starting with `# pxname`"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(body.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| csv_error(&e))?
        .iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    let index = |name: &str| headers.iter().position(|h| h == name);
    let (Some(px), Some(sv)) = (index("pxname"), index("svname")) else {
        return Err(error(1, None, "header has no pxname or svname column"));
    };
    let numeric: Vec<(usize, &str)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| fields::is_numeric(h))
        .map(|(i, h)| (i, h.as_str()))
        .collect();
    let columns: Arc<HashMap<String, usize>> = Arc::new(
        numeric
            .iter()
            .enumerate()
            .map(|(at, (_, name))| (name.to_string(), at))
            .collect(),
    );
    let (ty, status, check) = (index("type"), index("status"), index("check_status"));

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&e))?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").to_string();
        let name = cell(Some(sv));
        let kind = kind(ty.and_then(|i| record.get(i)), &name)
            .ok_or_else(|| error(line, Some("type"), "expected 0, 1, 2 or 3"))?;
        let mut numbers = Vec::with_capacity(numeric.len());
        for &(i, column) in &numeric {
            let raw = record.get(i).unwrap_or("").trim();
            let value = if raw.is_empty() {
                None
            } else {
                Some(number(raw).ok_or_else(|| {
                    error(
                        line,
                        Some(column),
                        &format!("not a number: {:?}", short(raw)),
                    )
                })?)
            };
            numbers.push(value);
        }
        rows.push(Row {
            line,
            kind,
            proxy: cell(Some(px)),
            name,
            status: cell(status),
            check_status: cell(check),
            columns: Arc::clone(&columns),
            numbers,
        });
    }
    Ok(rows)
}

/// The row's kind from `type`, or from the `svname` convention when an old
/// HAProxy has no `type` column.
fn kind(ty: Option<&str>, name: &str) -> Option<Kind> {
    match ty.map(str::trim) {
        Some("0") => Some(Kind::Frontend),
        Some("1") => Some(Kind::Backend),
        Some("2") => Some(Kind::Server),
        Some("3") => Some(Kind::Listener),
        Some(_) => None,
        None => Some(match name {
            "FRONTEND" => Kind::Frontend,
            "BACKEND" => Kind::Backend,
            _ => Kind::Server,
        }),
    }
}

/// A decimal number as HAProxy writes it; `inf`/`nan` words are refused.
fn number(text: &str) -> Option<f64> {
    let first = text.bytes().next()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn error(line: u64, column: Option<&str>, reason: &str) -> ParseError {
    ParseError {
        line,
        column: column.map(str::to_string),
        reason: reason.to_string(),
    }
}

fn csv_error(e: &csv::Error) -> ParseError {
    let line = e.position().map_or(0, |p| p.line());
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
        _ => "malformed CSV".to_string(),
    };
    error(line, None, &reason)
}

fn short(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURED: &str = include_str!("testdata/stats_2.6.csv");

    #[test]
    fn parses_captured_2_6_reply() {
        let rows = parse(CAPTURED).unwrap();
        let kinds: Vec<(&str, &str, Kind)> = rows
            .iter()
            .map(|r| (r.proxy.as_str(), r.name.as_str(), r.kind))
            .collect();
        assert_eq!(kinds[0], ("web", "FRONTEND", Kind::Frontend));
        assert!(kinds.contains(&("app", "s3", Kind::Server)));
        assert!(kinds.contains(&("app", "BACKEND", Kind::Backend)));
        let s3 = rows.iter().find(|r| r.name == "s3").unwrap();
        assert_eq!(s3.status, "DOWN");
        assert_eq!(s3.check_status, "L4CON");
        assert_eq!(s3.number("check_code"), Some(None));
        assert_eq!(s3.number("chkdown"), Some(Some(1.0)));
        assert_eq!(s3.line, 5);
        assert_eq!(s3.number("no_such_column"), None);
    }

    #[test]
    fn older_versions_without_type_use_svname() {
        let text =
            "# pxname,svname,scur,status\nweb,FRONTEND,3,OPEN\napp,s1,1,UP\napp,BACKEND,1,UP\n";
        let rows = parse(text).unwrap();
        let kinds: Vec<Kind> = rows.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [Kind::Frontend, Kind::Server, Kind::Backend]);
        assert_eq!(rows[0].number("scur"), Some(Some(3.0)));
    }

    #[test]
    fn bad_number_names_line_and_column() {
        let text = "# pxname,svname,scur,type\nweb,FRONTEND,1,0\nweb2,FRONTEND,lots,0\n";
        let err = parse(text).unwrap_err();
        assert_eq!((err.line, err.column.as_deref()), (3, Some("scur")));
        assert!(err.to_string().contains("line 3, column scur"), "{err}");
    }

    #[test]
    fn short_row_is_an_error_with_its_line() {
        let text = "# pxname,svname,scur\nweb,FRONTEND,1\nweb,FRONTEND\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.line, 3);
    }

    #[test]
    fn html_or_empty_body_is_an_error() {
        assert!(parse("<html><body>401</body></html>").is_err());
        assert!(parse("").is_err());
        assert!(parse("# foo,bar\n").is_err());
    }

    #[test]
    fn unknown_type_is_an_error() {
        let err = parse("# pxname,svname,type\nweb,FRONTEND,9\n").unwrap_err();
        assert_eq!(err.column.as_deref(), Some("type"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(text in ".*") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_rows_never_panic(
            rows in proptest::collection::vec("[a-zA-Z0-9_ .,\"-]{0,60}", 0..12)
        ) {
            let text = format!("# pxname,svname,scur,type,status,hrsp_2xx\n{}", rows.join("\n"));
            let _ = parse(&text);
        }
    }
}
