//! The reply of Redis's `INFO ALL`, parsed without interpreting it.
//!
//! The format is line-oriented: `# Section` headers, blank lines, and
//! `field:value` lines. Some values are themselves lists of `key=value`
//! pairs separated by commas (`db0:keys=2,expires=1,avg_ttl=0`,
//! `cmdstat_get:calls=3,usec=9,...`, `slave0:ip=...,port=...`).
//!
//! Parsing is pure and strict about the structure (a line that is neither a
//! header, blank, nor `field:value` is an error naming its line) but lenient
//! about values: which fields become which metrics, and what to do with a
//! value that is not a number, is decided by `families.rs`, so that a new
//! Redis version with new fields never fails a scrape.

/// One `field:value` line and the section it appeared in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    /// The section name in lower case (`server`, `keyspace`), or `""` for
    /// fields before the first header.
    pub section: String,
    pub name: &'a str,
    pub value: &'a str,
}

/// The parsed reply: fields in the order Redis sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info<'a> {
    pub fields: Vec<Field<'a>>,
}

/// Why a reply is not an INFO reply. `line` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("INFO reply line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

/// Parses an `INFO` reply. Accepts `\n` and `\r\n` line ends.
pub fn parse(text: &str) -> Result<Info<'_>, ParseError> {
    let mut section = String::new();
    let mut fields = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('#') {
            section = header.trim().to_ascii_lowercase();
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ParseError {
                line: index + 1,
                reason: format!("expected `field:value`, found {:?}", truncate(line)),
            });
        };
        if name.is_empty() {
            return Err(ParseError {
                line: index + 1,
                reason: "empty field name".to_string(),
            });
        }
        fields.push(Field {
            section: section.clone(),
            name,
            value,
        });
    }
    Ok(Info { fields })
}

impl<'a> Info<'a> {
    /// The value of the first field with this name, in any section.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.fields.iter().find(|f| f.name == name).map(|f| f.value)
    }

    /// The value of a field as a number, if it is one.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(number)
    }

    /// The fields of one section (lower-case name).
    pub fn section<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Field<'a>> + 's {
        self.fields.iter().filter(move |f| f.section == name)
    }
}

/// Parses a number as Redis writes it; `None` for anything else.
///
/// Rust's `f64` parser also accepts `inf`, `NaN` and `infinity`; Redis never
/// means those, so only strings that start like a decimal number pass.
pub fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    let first = text.chars().next()?;
    if !(first.is_ascii_digit() || first == '-' || first == '+' || first == '.') {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Splits a `key=value,key=value` value into its pairs, skipping pieces
/// without `=`. Used for keyspace, commandstats, latencystats and replicas.
pub fn pairs(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value.split(',').filter_map(|piece| piece.split_once('='))
}

/// The value of `key` in a `key=value,...` list.
pub fn pair<'a>(value: &'a str, key: &str) -> Option<&'a str> {
    pairs(value).find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// Keeps error messages short when the reply is not INFO at all.
fn truncate(line: &str) -> &str {
    match line.char_indices().nth(60) {
        Some((at, _)) => &line[..at],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = include_str!("testdata/info_all_master_7.0.txt");
    const REPLICA: &str = include_str!("testdata/info_all_replica_7.0.txt");

    #[test]
    fn parses_captured_master_reply() {
        let info = parse(MASTER).unwrap();
        assert_eq!(info.get("redis_version"), Some("7.0.15"));
        assert_eq!(info.get("role"), Some("master"));
        assert_eq!(info.number("maxmemory"), Some(67_108_864.0));
        let keyspace: Vec<_> = info.section("keyspace").map(|f| f.name).collect();
        assert_eq!(keyspace, ["db0", "db3"]);
        let slave = info.get("slave0").unwrap();
        assert_eq!(pair(slave, "state"), Some("online"));
        assert_eq!(pair(slave, "port"), Some("46380"));
    }

    #[test]
    fn parses_captured_replica_reply_with_crlf() {
        let crlf = REPLICA.replace('\n', "\r\n");
        let info = parse(&crlf).unwrap();
        assert_eq!(info.get("role"), Some("slave"));
        assert_eq!(info.get("master_link_status"), Some("up"));
        assert_eq!(info.get("master_port"), Some("46379"));
    }

    #[test]
    fn section_names_are_lower_case() {
        let info = parse("# CPU\r\nused_cpu_sys:0.5\r\n").unwrap();
        assert_eq!(info.fields[0].section, "cpu");
    }

    #[test]
    fn line_without_colon_is_an_error_with_its_line() {
        let err = parse("# Server\nredis_version:7.0\nnot a field\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn values_may_contain_colons() {
        let info = parse("executable:/usr/bin/redis-server\nos:Linux 6 x:y\n").unwrap();
        assert_eq!(info.get("os"), Some("Linux 6 x:y"));
    }

    #[test]
    fn numbers_reject_words_redis_never_means() {
        assert_eq!(number("-1"), Some(-1.0));
        assert_eq!(number("0.00"), Some(0.0));
        assert_eq!(number("inf"), None);
        assert_eq!(number("NaN"), None);
        assert_eq!(number("ok"), None);
        assert_eq!(number(""), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(text in ".*") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_lines_never_panic(lines in proptest::collection::vec("[#a-z_0-9:=,. \r-]{0,40}", 0..30)) {
            let text = lines.join("\n");
            if let Ok(info) = parse(&text) {
                for f in &info.fields {
                    let _ = number(f.value);
                    let _ = pairs(f.value).count();
                }
            }
        }
    }
}
