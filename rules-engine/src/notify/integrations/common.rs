//! What several integrations share: secrets with their `_file` twins,
//! the HTTP client (own `http_config`, else the global one), Alertmanager's
//! truncation rules, its group-key hash, its retry classification, and
//! URL building.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::BuildContext;
use crate::notify::http::{Answer, HttpClient, HttpConfigError};
use crate::notify::retry::{self, Decision, FailureReason};
use crate::notify::route::receivers::HttpConfig;
use vigil_common::{Secret, SecretFileError, resolve_secret};

/// What the pipeline reads of every `*_configs` entry: the two keys each
/// kind has. Implemented in one line per kind by `entries!` in `mod.rs`.
pub trait Entry {
    fn send_resolved(&self) -> bool;
    /// The entry's own `http_config` (email has none).
    fn http_config(&self) -> Option<&HttpConfig> {
        None
    }
}

/// The checks Alertmanager makes while reading one entry (its
/// `UnmarshalYAML`): required keys, keys that exclude each other. Kinds
/// it does not check take the default.
pub trait Check {
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// At most one of `a` and `b` (a secret and its `_file` twin).
pub fn at_most_one<A, B>(a: &Option<A>, b: &Option<B>, names: (&str, &str)) -> Result<(), String> {
    if a.is_some() && b.is_some() {
        return Err(format!(
            "at most one of {} & {} must be configured",
            names.0, names.1
        ));
    }
    Ok(())
}

/// Inserts `key` when its rendered value is not empty (the receivers
/// omit empty optional fields, as Alertmanager's payloads do).
pub fn insert_nonempty(o: &mut serde_json::Map<String, serde_json::Value>, key: &str, v: String) {
    if !v.is_empty() {
        o.insert(key.into(), serde_json::Value::String(v));
    }
}

/// Alertmanager's truncation marker.
pub const MARKER: &str = "…";

/// A secret given inline or in a file (relative to the config's
/// directory); at most one of the two.
pub fn secret(
    field: &str,
    inline: Option<&Secret>,
    file: Option<&str>,
    base_dir: &Path,
) -> Result<Option<Secret>, SecretFileError> {
    let path = file.map(|f| base_dir.join(f));
    resolve_secret(field, inline, path.as_deref())
}

/// The entry's own secret, else the global one (each with its file twin).
pub fn secret_or_global(
    cx: &BuildContext<'_>,
    own: (&str, Option<&Secret>, Option<&str>),
    global: (&str, Option<&Secret>, Option<&str>),
) -> Result<Option<Secret>, SecretFileError> {
    match secret(own.0, own.1, own.2, cx.base_dir)? {
        Some(s) => Ok(Some(s)),
        None => secret(global.0, global.1, global.2, cx.base_dir),
    }
}

/// The entry's `http_config`, else the global one, else the defaults;
/// its files relative to the configuration's directory, as Alertmanager
/// reads them.
pub fn client(
    own: Option<&HttpConfig>,
    cx: &BuildContext<'_>,
) -> Result<Arc<HttpClient>, HttpConfigError> {
    let mut cfg = own
        .or(cx.global.http_config.as_ref())
        .cloned()
        .unwrap_or_default();
    let anchor = |f: &mut Option<String>| {
        if let Some(p) = f.as_mut() {
            *p = cx.base_dir.join(&*p).display().to_string();
        }
    };
    let anchor_tls = |t: &mut crate::notify::route::receivers::TlsConfig| {
        anchor(&mut t.ca_file);
        anchor(&mut t.cert_file);
        anchor(&mut t.key_file);
    };
    anchor_tls(&mut cfg.tls_config);
    anchor(&mut cfg.bearer_token_file);
    if let Some(o) = cfg.oauth2.as_mut() {
        anchor(&mut o.client_secret_file);
        anchor_tls(&mut o.tls_config);
    }
    if let Some(b) = cfg.basic_auth.as_mut() {
        anchor(&mut b.password_file);
    }
    if let Some(a) = cfg.authorization.as_mut() {
        anchor(&mut a.credentials_file);
    }
    HttpClient::build(&cfg).map(Arc::new)
}

/// Why a configured URL is refused; names the field, never the URL (it
/// may carry a token).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UrlError {
    #[error("{field}: {source}")]
    Parse {
        field: String,
        #[source]
        source: url::ParseError,
    },
    #[error("{field}: unsupported scheme {scheme:?} for URL")]
    Scheme { field: String, scheme: String },
    #[error("{field}: missing host for URL")]
    NoHost { field: String },
}

impl From<UrlError> for String {
    /// For the entry checks, whose problems are Alertmanager's words.
    fn from(e: UrlError) -> String {
        e.to_string()
    }
}

/// A URL from the configuration: parsed, http or https with a host, as
/// Alertmanager's `config.URL` requires.
pub fn parse_url(field: &str, s: &str) -> Result<url::Url, UrlError> {
    let u = url::Url::parse(s).map_err(|source| UrlError::Parse {
        field: field.to_string(),
        source,
    })?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(UrlError::Scheme {
            field: field.to_string(),
            scheme: u.scheme().to_string(),
        });
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::NoHost {
            field: field.to_string(),
        });
    }
    Ok(u)
}

/// `u` with a trailing `/` on its path, as Alertmanager makes the
/// Opsgenie, VictorOps and WeChat base URLs.
pub fn with_slash(mut u: url::Url) -> url::Url {
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u
}

/// `u` with `suffix` appended to its path (Go's `u.Path += suffix`).
pub fn join_path(u: &url::Url, suffix: &str) -> url::Url {
    let mut u = u.clone();
    let p = format!("{}{suffix}", u.path());
    u.set_path(&p);
    u
}

/// Hex SHA-256 (Alertmanager's `Key.Hash()`).
pub fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Alertmanager's `TruncateInRunes`: at most `n` characters, the last
/// one `…` when cut (no marker when `n <= 3`).
pub fn truncate_runes(s: &str, n: usize) -> (String, bool) {
    let count = s.chars().count();
    if count <= n {
        return (s.to_string(), false);
    }
    if n <= 3 {
        return (s.chars().take(n).collect(), true);
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push_str(MARKER);
    (out, true)
}

/// Alertmanager's `TruncateInBytes`: at most `n` bytes, whole characters
/// only, ending in `…` (3 bytes) when cut.
pub fn truncate_bytes(s: &str, n: usize) -> (String, bool) {
    if s.len() <= n {
        return (s.to_string(), false);
    }
    if n <= 3 {
        let out = if n == 3 {
            MARKER.to_string()
        } else {
            ".".repeat(n)
        };
        return (out, true);
    }
    let mut end = n - 3;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (format!("{}{MARKER}", &s[..end]), true)
}

/// The length of `v` as Go's `json.Encoder` writes it (`<`, `>`, `&`,
/// U+2028 and U+2029 escaped as `\uXXXX`, a newline at the end): the size
/// Alertmanager compares with a receiver's limit.
pub fn go_json_len(v: &serde_json::Value) -> usize {
    let s = v.to_string();
    let extra: usize = s
        .chars()
        .map(|c| match c {
            // `\u003c` instead of `<`.
            '<' | '>' | '&' => 5,
            // `\u2028` (6 bytes) instead of 3.
            '\u{2028}' | '\u{2029}' => 3,
            _ => 0,
        })
        .sum();
    s.len() + extra + 1
}

/// Alertmanager's `Retrier.Check` with `retry_codes` besides 5xx, plus
/// vigil's rule that 429 is always retried after its `Retry-After`.
pub fn classify(a: &Answer, retry_codes: &[u16], now: DateTime<Utc>) -> Decision {
    let not_before = || {
        a.retry_after
            .as_deref()
            .and_then(|v| retry::parse_retry_after(v, now))
    };
    match a.status {
        200..=299 => Decision::Delivered,
        429 => Decision::Retry {
            reason: FailureReason::RateLimited,
            not_before: not_before(),
        },
        500..=599 => Decision::Retry {
            reason: FailureReason::ServerError,
            not_before: not_before(),
        },
        s if retry_codes.contains(&s) => Decision::Retry {
            reason: FailureReason::RetryableStatus,
            not_before: not_before(),
        },
        400..=499 => Decision::Fail {
            reason: FailureReason::ClientError,
        },
        _ => Decision::Fail {
            reason: FailureReason::UnexpectedStatus,
        },
    }
}

/// Go's duration syntax: numbers (fractions allowed) with units ns, us,
/// µs, ms, s, m, h; `0` alone is allowed.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    if s == "0" {
        return Some(0.0);
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() || rest.starts_with('-') {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[u..];
    }
    Some(total)
}

/// Go's `strings.Split` on `sep` of the trimmed `s`, empty parts dropped
/// (Opsgenie's tags and actions).
pub fn safe_split(s: &str, sep: char) -> Vec<String> {
    s.trim()
        .split(sep)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1m"), Some(60.0));
        assert_eq!(parse_go_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_go_duration("1.5h"), Some(5400.0));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("5d"), None);
    }

    #[test]
    fn truncation_follows_alertmanager() {
        assert_eq!(truncate_runes("abcdef", 6), ("abcdef".into(), false));
        assert_eq!(truncate_runes("abcdef", 5), ("abcd…".into(), true));
        assert_eq!(truncate_runes("äöüß", 3), ("äöü".into(), true));
        assert_eq!(truncate_bytes("abcdef", 5), ("ab…".into(), true));
        assert_eq!(truncate_bytes("abcdef", 3), ("…".into(), true));
        assert_eq!(truncate_bytes("abcdef", 2), ("..".into(), true));
        // Whole characters only: `ä` is two bytes.
        assert_eq!(truncate_bytes("aäbcdef", 5), ("a…".into(), true));
    }

    #[test]
    fn go_json_counts_escapes() {
        let v = serde_json::json!({"a": "<&>"});
        // {"a":"\u003c\u0026\u003e"} plus a newline.
        assert_eq!(go_json_len(&v), 27);
    }

    #[test]
    fn classification() {
        let now = Utc::now();
        let a = |status, ra: Option<&str>| Answer {
            status,
            retry_after: ra.map(String::from),
            body: String::new(),
        };
        assert_eq!(classify(&a(202, None), &[], now), Decision::Delivered);
        assert!(classify(&a(503, None), &[], now).retryable());
        assert!(!classify(&a(403, None), &[], now).retryable());
        assert!(classify(&a(403, None), &[403], now).retryable());
        assert_eq!(
            classify(&a(429, Some("7")), &[], now),
            Decision::Retry {
                reason: FailureReason::RateLimited,
                not_before: Some(std::time::Duration::from_secs(7))
            }
        );
    }

    #[test]
    fn hash_is_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
