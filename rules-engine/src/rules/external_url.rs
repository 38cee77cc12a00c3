//! vigil's external URL (`--web.external-url`) as Prometheus computes it,
//! and the `generatorURL` of an alert built from it: the link back to the
//! expression, `<external>/graph?g0.expr=<expr>&g0.tab=1`, as Prometheus's
//! `strutil.TableLinkForExpression` writes it.

/// Prometheus's `computeExternalURL`: `http://<hostname>:<port>/` when not
/// given; the path loses its trailing slashes (and gains a leading one), so
/// `http://host:9090/` becomes `http://host:9090`, the form `$externalURL`
/// prints and links are appended to.
pub fn compute(given: Option<&str>, listen_port: u16) -> Result<String, String> {
    let raw = match given {
        Some(u) => u.to_string(),
        None => format!("http://{}:{listen_port}/", hostname()),
    };
    if raw.starts_with(['"', '\'']) || raw.ends_with(['"', '\'']) {
        return Err("URL must not begin or end with quotes".into());
    }
    let url = reqwest::Url::parse(&raw).map_err(|e| format!("invalid external URL: {e}"))?;
    let mut base = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        base.push_str(&format!(":{port}"));
    }
    let path = url.path().trim_end_matches('/');
    Ok(format!("{base}{path}"))
}

/// The machine's name, as Go's `os.Hostname` reads it on Linux.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The alert's link back to its expression.
pub fn generator_url(external: &str, expr: &str) -> String {
    format!("{external}/graph?g0.expr={}&g0.tab=1", query_escape(expr))
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, a space is `+`,
/// every other byte is `%XX` (upper-case hex).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs of Go 1.19's `url.QueryEscape` and Prometheus's
    /// `computeExternalURL` for the same inputs.
    #[test]
    fn escapes_and_trims_as_prometheus_does() {
        assert_eq!(
            query_escape(r#"rate(x{a="b"}[5m]) > 0.5 * 2~"#),
            "rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29+%3E+0.5+%2A+2~"
        );
        assert_eq!(query_escape("é/"), "%C3%A9%2F");
        assert_eq!(
            compute(Some("http://vigil.example:9090/"), 1).unwrap(),
            "http://vigil.example:9090"
        );
        assert_eq!(
            compute(Some("https://example.org/vigil//"), 1).unwrap(),
            "https://example.org/vigil"
        );
        assert!(compute(Some("'http://x/'"), 1).is_err());
        let default = compute(None, 10188).unwrap();
        assert!(
            default.starts_with("http://") && default.ends_with(":10188"),
            "{default}"
        );
    }

    #[test]
    fn the_generator_url_links_to_the_table_view() {
        assert_eq!(
            generator_url("http://v:1", "up == 0"),
            "http://v:1/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
        );
    }
}
