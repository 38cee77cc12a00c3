//! The address forms Alertmanager 0.25 checks when it loads its file, with
//! Go's rules (not the WHATWG URL standard, which accepts `http:///x` and
//! `http:host`): an integration URL (http or https, with a host), a
//! `host:port` (Go's `net.SplitHostPort`, port required) and a proxy URL
//! (anything Go's `url.Parse` takes).

/// Alertmanager's `URL`: Go's `url.Parse`, then scheme `http` or `https`
/// and a host. The error quotes the URL.
pub fn http_url(s: &str) -> Result<(), String> {
    let u = go_parse(s)?;
    if u.scheme != "http" && u.scheme != "https" {
        return Err(format!("unsupported scheme {:?} for URL {s:?}", u.scheme));
    }
    if u.host.is_empty() {
        return Err(format!("missing host for URL {s:?}"));
    }
    Ok(())
}

/// [`http_url`] for a URL that is a secret (it may carry a token): the
/// error does not quote it, as Alertmanager's does not.
pub fn hidden_http_url(s: &str) -> Result<(), String> {
    // Go's message is `parse "<url>": why`; only the why is kept.
    let u = go_parse(s).map_err(|e| {
        let why = e.rsplit_once("\": ").map_or("", |(_, w)| w);
        format!("invalid URL: {why}")
    })?;
    if u.scheme != "http" && u.scheme != "https" {
        return Err(format!("unsupported scheme {:?} for URL", u.scheme));
    }
    if u.host.is_empty() {
        return Err("missing host for URL".into());
    }
    Ok(())
}

/// Alertmanager's `SecretURL`: a [`hidden_http_url`], or `<secret>` as a
/// served configuration shows it (amtool reads that back).
pub fn secret_url(s: &str) -> Result<(), String> {
    if s == super::masked::MASK {
        return Ok(());
    }
    hidden_http_url(s)
}

/// A proxy URL: whatever Go's `url.Parse` accepts.
pub fn proxy_url(s: &str) -> Result<(), String> {
    go_parse(s).map(|_| ())
}

/// Alertmanager's `HostPort`: empty, or `host:port` with a port (the host
/// may be empty, `[::1]:25` for IPv6).
pub fn host_port(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let missing = || format!("address {s:?}: missing port in address");
    let port = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("address {s:?}: missing ']' in address"))?;
        if host.contains('[') {
            return Err(format!("address {s:?}: unexpected '[' in address"));
        }
        after.strip_prefix(':').ok_or_else(missing)?
    } else {
        let (host, port) = s.rsplit_once(':').ok_or_else(missing)?;
        if host.contains(':') {
            return Err(format!("address {s:?}: too many colons in address"));
        }
        if host.contains('[') || host.contains(']') {
            return Err(format!("address {s:?}: unexpected bracket in address"));
        }
        port
    };
    if port.contains('[') || port.contains(']') {
        return Err(format!("address {s:?}: unexpected bracket in address"));
    }
    if port.is_empty() {
        return Err(format!("address {s:?}: port cannot be empty"));
    }
    Ok(())
}

/// What of a URL the checks need.
struct GoUrl {
    scheme: String,
    host: String,
}

/// Go's `url.Parse`, for its errors and the scheme and host it finds: a
/// scheme is letters, digits, `+-.` after a first letter, ended by `:`;
/// without one, a colon in the first path segment is an error; an
/// authority (after `//`) ends at `/`, `?` or `#` and its port must be
/// digits. Control characters and bad `%` escapes are errors too.
fn go_parse(raw: &str) -> Result<GoUrl, String> {
    let err = |why: &str| format!("parse {raw:?}: {why}");
    if raw.chars().any(|c| c.is_ascii_control()) {
        return Err(err("net/url: invalid control character in URL"));
    }
    let s = raw.split_once('#').map_or(raw, |(a, _)| a);
    check_escapes(s).map_err(|e| err(&e))?;
    let (scheme, rest) = split_scheme(s).map_err(|e| err(&e))?;
    let rest = rest.split_once('?').map_or(rest, |(a, _)| a);
    let Some(after) = rest.strip_prefix("//") else {
        if scheme.is_empty() && !rest.starts_with('/') {
            let first = rest.split('/').next().unwrap_or("");
            if first.contains(':') {
                return Err(err("first path segment in URL cannot contain colon"));
            }
        }
        return Ok(GoUrl {
            scheme,
            host: String::new(),
        });
    };
    let authority = after.split('/').next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = check_host(host_port).map_err(|e| err(&e))?;
    Ok(GoUrl { scheme, host })
}

/// `scheme:rest`, lower-cased scheme; no scheme when the text before the
/// first `:` is not one (then the whole text is the rest).
fn split_scheme(s: &str) -> Result<(String, &str), String> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err("missing protocol scheme".into()),
            ':' => return Ok((s[..i].to_ascii_lowercase(), &s[i + 1..])),
            _ => return Ok((String::new(), s)),
        }
    }
    Ok((String::new(), s))
}

/// Every `%` is followed by two hex digits.
fn check_escapes(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        let ok = b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
        if !ok {
            let end = (i + 3).min(s.len());
            return Err(format!("invalid URL escape {:?}", &s[i..end]));
        }
    }
    Ok(())
}

/// The host of `host[:port]`, the port checked as Go does (digits only).
fn check_host(host_port: &str) -> Result<String, String> {
    let (host, port) = if let Some(rest) = host_port.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| "missing ']' in host".to_string())?;
        (format!("[{h}]"), after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (host_port.to_string(), None),
        }
    };
    if let Some(p) = port.filter(|p| !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("invalid port {:?} after host", format!(":{p}")));
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_urls_as_alertmanager() {
        for ok in [
            "https://events.pagerduty.com/v2/enqueue",
            "http://127.0.0.1:9093/",
            "http://user:pw@h/x?y#z",
            "HTTP://h",
            "http://[::1]:80/",
        ] {
            assert_eq!(http_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ftp://h/",
            "/relative",
            "http:///x",
            "http:host",
            "://h",
            "http://h:port/",
            "http://h/%zz",
            "h",
        ] {
            assert!(http_url(bad).is_err(), "{bad}");
        }
        assert_eq!(secret_url("<secret>"), Ok(()));
        assert!(http_url("<secret>").is_err());
        let e = secret_url("ftp://hooks.example/T/B/t0ken").unwrap_err();
        assert_eq!(e, "unsupported scheme \"ftp\" for URL");
        let e = hidden_http_url("http://h/%zz?t0ken").unwrap_err();
        assert!(!e.contains("t0ken"), "{e}");
    }

    #[test]
    fn proxy_urls_as_go_parses_them() {
        assert_eq!(proxy_url("http://proxy:3128"), Ok(()));
        assert_eq!(proxy_url("proxy"), Ok(()));
        assert!(proxy_url("not a url:").is_err());
        assert!(proxy_url(":3128").is_err());
    }

    #[test]
    fn host_ports_as_go_splits_them() {
        for ok in [
            "",
            "localhost:25",
            ":25",
            "[::1]:25",
            "mail.example.org:587",
        ] {
            assert_eq!(host_port(ok), Ok(()), "{ok}");
        }
        for bad in ["localhost", "localhost:", "::1:25", "[::1]", "[::1:25"] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
    }
}
