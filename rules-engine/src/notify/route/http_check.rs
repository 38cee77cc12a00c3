//! The checks Prometheus's common HTTP client configuration makes when it
//! is loaded (prometheus/common as Alertmanager 0.25 uses it): at most one
//! way to authenticate, at most one of a secret and its `_file`, no
//! `authorization` of type `basic`, OAuth2 with a client ID, a secret and
//! a token URL, known TLS versions, proxy URLs that parse. Each integration with an `http_config` runs them on its block,
//! and the global block is checked once.

use super::locate::{Path, Problem};
use super::receivers::{HttpConfig, TlsConfig};
use super::url_check;

/// The first problem of an `http_config` block at `at`, as Alertmanager
/// reports only its first; `None` when it is sound.
pub fn check_http_config(h: &HttpConfig, at: &Path) -> Option<Problem> {
    auth_problem(h, at)
        .or_else(|| oauth2_problem(h, at))
        .or_else(|| check_tls_config(&h.tls_config, &at.key("tls_config")))
        .or_else(|| proxy_problem(h.proxy_url.as_deref(), at))
        .or_else(|| {
            let o = h.oauth2.as_ref()?;
            let at = at.key("oauth2");
            check_tls_config(&o.tls_config, &at.key("tls_config"))
                .or_else(|| proxy_problem(o.proxy_url.as_deref(), &at))
        })
}

fn proxy_problem(url: Option<&str>, at: &Path) -> Option<Problem> {
    let e = url_check::proxy_url(url?).err()?;
    Some(Problem::new(at.key("proxy_url"), format!("proxy_url: {e}")))
}

/// Go's names of TLS versions, as `min_version` and `max_version` take them.
pub const TLS_VERSIONS: [&str; 4] = ["TLS10", "TLS11", "TLS12", "TLS13"];

/// `tls_config`: `min_version` and `max_version` are Go's names.
pub fn check_tls_config(t: &TlsConfig, at: &Path) -> Option<Problem> {
    [
        ("min_version", &t.min_version),
        ("max_version", &t.max_version),
    ]
    .into_iter()
    .find_map(|(key, v)| {
        let v = v.as_deref().filter(|v| !TLS_VERSIONS.contains(v))?;
        Some(Problem::new(
            at.key(key),
            format!("unknown TLS version {v:?} (TLS10, TLS11, TLS12 or TLS13)"),
        ))
    })
}

/// The OAuth2 rules, after the others (prometheus/common's order).
fn oauth2_problem(h: &HttpConfig, at: &Path) -> Option<Problem> {
    let o = h.oauth2.as_ref()?;
    let at = at.key("oauth2");
    let secret = o
        .client_secret
        .as_ref()
        .is_some_and(|s| !s.expose().is_empty());
    let secret_file = o
        .client_secret_file
        .as_deref()
        .is_some_and(|f| !f.is_empty());
    let (path, message) = if h.basic_auth.is_some() {
        (
            at,
            "at most one of basic_auth, oauth2 & authorization must be configured",
        )
    } else if o.client_id.is_empty() {
        (at, "oauth2 client_id must be configured")
    } else if !secret && !secret_file {
        (
            at,
            "either oauth2 client_secret or client_secret_file must be configured",
        )
    } else if o.token_url.is_empty() {
        (at, "oauth2 token_url must be configured")
    } else if secret && secret_file {
        (
            at.key("client_secret_file"),
            "at most one of oauth2 client_secret & client_secret_file must be configured",
        )
    } else {
        return None;
    };
    Some(Problem::at_key(path, message))
}

/// The authentication rules, in prometheus/common's order. An empty value
/// counts as not given, as in Go.
fn auth_problem(h: &HttpConfig, at: &Path) -> Option<Problem> {
    let given = |s: Option<&str>| s.is_some_and(|s| !s.is_empty());
    let bearer = given(h.bearer_token.as_ref().map(|s| s.expose()));
    let bearer_file = given(h.bearer_token_file.as_deref());
    let bearer_key = if bearer_file {
        "bearer_token_file"
    } else {
        "bearer_token"
    };
    let problem = |path: Path, m: &str| Some(Problem::at_key(path, m));
    if bearer && bearer_file {
        return problem(
            at.key("bearer_token_file"),
            "at most one of bearer_token & bearer_token_file must be configured",
        );
    }
    if (h.basic_auth.is_some() || h.oauth2.is_some()) && (bearer || bearer_file) {
        return problem(
            at.key(bearer_key),
            "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
        );
    }
    let basic_password = h.basic_auth.as_ref().is_some_and(|b| {
        given(b.password.as_ref().map(|s| s.expose())) && given(b.password_file.as_deref())
    });
    if basic_password {
        return problem(
            at.key("basic_auth").key("password_file"),
            "at most one of basic_auth password & password_file must be configured",
        );
    }
    let a = h.authorization.as_ref()?;
    let auth = at.key("authorization");
    if bearer || bearer_file {
        return problem(
            auth,
            "authorization is not compatible with bearer_token & bearer_token_file",
        );
    }
    if given(a.credentials.as_ref().map(|s| s.expose())) && given(a.credentials_file.as_deref()) {
        return problem(
            auth.key("credentials_file"),
            "at most one of authorization credentials & credentials_file must be configured",
        );
    }
    let kind = a.kind.as_deref().unwrap_or("").trim();
    if kind.eq_ignore_ascii_case("basic") {
        return Some(Problem::new(
            auth.key("type"),
            "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
        ));
    }
    if h.basic_auth.is_some() || h.oauth2.is_some() {
        return problem(
            auth,
            "at most one of basic_auth, oauth2 & authorization must be configured",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(yaml: &str) -> Option<String> {
        let h: HttpConfig = yaml_serde::from_str(yaml).unwrap();
        check_http_config(&h, &Path::root().key("http_config")).map(|p| {
            assert!(p.path.to_string().starts_with("http_config"));
            p.message
        })
    }

    #[test]
    fn sound_blocks_pass() {
        for ok in [
            "{}",
            "{bearer_token: t}",
            "{basic_auth: {username: u, password_file: /p}}",
            "{authorization: {type: Token, credentials: c}}",
            "{tls_config: {min_version: TLS12}, proxy_url: 'http://p:3128'}",
            "{basic_auth: {username: u, password: ''}, bearer_token: ''}",
        ] {
            assert_eq!(problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn each_conflict_is_named() {
        for (bad, part) in [
            (
                "{bearer_token: t, bearer_token_file: /t}",
                "bearer_token & bearer_token_file",
            ),
            (
                "{bearer_token: t, basic_auth: {username: u}}",
                "basic_auth, oauth2, bearer_token",
            ),
            (
                "{basic_auth: {username: u, password: p, password_file: /p}}",
                "password & password_file",
            ),
            (
                "{authorization: {credentials: c}, bearer_token_file: /t}",
                "not compatible",
            ),
            (
                "{authorization: {credentials: c, credentials_file: /c}}",
                "credentials & credentials_file",
            ),
            ("{authorization: {type: ' Basic '}}", "use \"basic_auth\""),
            (
                "{authorization: {}, basic_auth: {username: u}}",
                "basic_auth, oauth2 & authorization",
            ),
            ("{tls_config: {min_version: TLS14}}", "unknown TLS version"),
            ("{proxy_url: 'not a url:'}", "first path segment"),
        ] {
            let got = problem(bad).unwrap_or_default();
            assert!(got.contains(part), "{bad}: {got}");
        }
    }
}
