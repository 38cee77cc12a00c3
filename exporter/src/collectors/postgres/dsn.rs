//! The two DSN forms postgres_exporter's `DATA_SOURCE_NAME` accepts, so a
//! configuration can be carried over unchanged:
//!
//! - a URL, `postgres://user:password@host:port/db?sslmode=require`;
//! - libpq's keyword/value string, `host=/run/postgresql user=postgres
//!   password='it''s' sslmode=disable` (values may be single-quoted, with
//!   `\'` and `\\` escapes).
//!
//! The keyword form is rewritten into the URL form's query parameters
//! (`postgres://?host=...&user=...`), which sqlx already understands, so
//! both forms share one set of semantics (Unix sockets, `.pgpass`,
//! `sslmode`). Errors name keywords, never values.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

/// Keywords accepted in the libpq form: those sqlx also reads as URL
/// parameters. Anything else is an error rather than silently ignored.
const KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "options",
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum DsnError {
    #[error(
        "the DSN is neither a postgres:// URL nor a libpq keyword=value string \
         (postgres://user:password@host:port/database?sslmode=...)"
    )]
    Unrecognised,
    #[error("the DSN URL is invalid: {0}")]
    InvalidUrl(&'static str),
    #[error("DSN keyword {0:?} has no `=value`")]
    MissingValue(String),
    #[error("DSN keyword {0:?} is not supported (known: {known})", known = KEYWORDS.join(", "))]
    UnknownKeyword(String),
    #[error("a quoted value in the DSN is not terminated")]
    UnterminatedQuote,
}

/// Parses either form into connection options.
pub(crate) fn parse(dsn: &str) -> Result<PgConnectOptions, DsnError> {
    let dsn = dsn.trim();
    let url = if is_url(dsn) {
        dsn.to_string()
    } else if dsn.contains('=') {
        keywords_to_url(&key_values(dsn)?)
    } else {
        return Err(DsnError::Unrecognised);
    };
    // sqlx's message would be its URL parser's, which quotes nothing; but a
    // fixed text is certain not to.
    PgConnectOptions::from_str(&url)
        .map_err(|_| DsnError::InvalidUrl("check the host, port and percent-encoding"))
}

/// Every form the password could be shown in: as written in a URL,
/// percent-decoded, or the keyword form's value.
pub(crate) fn passwords(dsn: &str) -> Vec<String> {
    let dsn = dsn.trim();
    let mut forms = Vec::new();
    if is_url(dsn) {
        if let Ok(url) = url::Url::parse(dsn)
            && let Some(raw) = url.password()
        {
            forms.push(raw.to_string());
            if let Ok(decoded) = percent_encoding::percent_decode_str(raw).decode_utf8() {
                forms.push(decoded.into_owned());
            }
        }
    } else if let Ok(pairs) = key_values(dsn) {
        forms.extend(
            pairs
                .into_iter()
                .filter(|(k, _)| k == "password")
                .map(|(_, v)| v),
        );
    }
    forms.retain(|p| !p.is_empty());
    forms.dedup();
    forms
}

fn is_url(dsn: &str) -> bool {
    dsn.starts_with("postgres://") || dsn.starts_with("postgresql://")
}

/// Splits `key=value key2='quoted value'` into pairs.
fn key_values(text: &str) -> Result<Vec<(String, String)>, DsnError> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(DsnError::MissingValue(key));
        }
        if !KEYWORDS.contains(&key.as_str()) {
            return Err(DsnError::UnknownKeyword(key));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err(DsnError::UnterminatedQuote),
                    Some('\'') => break,
                    Some('\\') => value.push(chars.next().ok_or(DsnError::UnterminatedQuote)?),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(escaped) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

/// `postgres://?k=v&...` with every value percent-encoded.
fn keywords_to_url(pairs: &[(String, String)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC);
            format!("{k}={v}")
        })
        .collect();
    format!("postgres://?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_form_with_quotes_and_escapes() {
        let pairs =
            key_values(r"host=db port = 6543 password='a b\'c' user=mon dbname=x\ y").unwrap();
        let want = [
            ("host", "db"),
            ("port", "6543"),
            ("password", "a b'c"),
            ("user", "mon"),
            ("dbname", "x y"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs, want);
        let options = parse(r"host=db port = 6543 password='a b\'c' user=mon").unwrap();
        assert_eq!(options.get_host(), "db");
        assert_eq!(options.get_port(), 6543);
        assert_eq!(options.get_username(), "mon");
    }

    #[test]
    fn keyword_form_unix_socket_like_postgres_exporter_readme() {
        let options = parse("user=postgres host=/var/run/postgresql/ sslmode=disable").unwrap();
        assert_eq!(
            options.get_socket().map(|p| p.display().to_string()),
            Some("/var/run/postgresql/".to_string())
        );
        assert_eq!(options.get_username(), "postgres");
    }

    #[test]
    fn url_form() {
        let options = parse("postgresql://mon:pw@db:5433/app?sslmode=require").unwrap();
        assert_eq!((options.get_host(), options.get_port()), ("db", 5433));
        assert_eq!(options.get_database(), Some("app"));
    }

    #[test]
    fn errors_name_keywords_not_values() {
        assert_eq!(
            key_values("host=db passwd=Sekr3t").unwrap_err(),
            DsnError::UnknownKeyword("passwd".into())
        );
        assert_eq!(
            key_values("password='Sekr3t").unwrap_err(),
            DsnError::UnterminatedQuote
        );
        assert_eq!(parse("just words").unwrap_err(), DsnError::Unrecognised);
        let err = parse("host=db passwd=Sekr3t").unwrap_err().to_string();
        assert!(!err.contains("Sekr3t"), "{err}");
    }

    #[test]
    fn passwords_in_every_form() {
        assert_eq!(
            passwords("postgres://u:p%40ss@h/d"),
            vec!["p%40ss".to_string(), "p@ss".to_string()]
        );
        assert_eq!(passwords("host=h password='x y'"), vec!["x y".to_string()]);
        assert!(passwords("postgres://u@h/d").is_empty());
    }
}
