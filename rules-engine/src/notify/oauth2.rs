//! `http_config.oauth2`: the OAuth 2.0 client credentials grant, as
//! prometheus/common runs it (golang.org/x/oauth2's `clientcredentials`).
//! A form POST to `token_url` (`grant_type=client_credentials`, `scope`
//! the scopes joined by spaces, plus `endpoint_params`), the client
//! authenticated by HTTP basic auth and, if the endpoint refuses that, by
//! `client_id`/`client_secret` in the form (the style that worked is
//! kept). The token is cached until ten seconds before it expires, read
//! on the caller's clock (the instant a send is made at), and fetched
//! again when `client_secret_file` changes. The token endpoint
//! has its own `proxy_url` and `tls_config`.
//!
//! Neither the secret nor a token appears in an error or in `Debug`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::notify::group::after;
use crate::notify::route::receivers::OAuth2;
use vigil_common::Secret;

/// A token is renewed this long before it expires (x/oauth2's
/// `expiryDelta`).
const EXPIRY_DELTA: Duration = Duration::from_secs(10);

/// How the client authenticates to the token endpoint.
const STYLE_UNKNOWN: u8 = 0;
const STYLE_HEADER: u8 = 1;
const STYLE_PARAMS: u8 = 2;

/// Fetches and caches the token of one `oauth2` block.
pub struct TokenSource {
    client: reqwest::Client,
    client_id: String,
    secret: Option<Secret>,
    secret_file: Option<String>,
    scopes: Vec<String>,
    token_url: String,
    params: BTreeMap<String, String>,
    style: AtomicU8,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

struct Cached {
    /// `<type> <token>`, ready for the header.
    header: Secret,
    expires: Option<DateTime<Utc>>,
    /// The secret the token was fetched with (a changed file drops it).
    secret: Secret,
}

impl TokenSource {
    /// `client` reaches the token endpoint (its `proxy_url` and
    /// `tls_config` applied by the caller).
    pub fn new(o: &OAuth2, client: reqwest::Client) -> TokenSource {
        TokenSource {
            client,
            client_id: o.client_id.clone(),
            secret: o.client_secret.clone(),
            secret_file: o.client_secret_file.clone(),
            scopes: o.scopes.clone(),
            token_url: o.token_url.clone(),
            params: o.endpoint_params.clone(),
            style: AtomicU8::new(STYLE_UNKNOWN),
            cached: Mutex::new(None),
        }
    }

    /// The `Authorization` value at `now`: the cached token while it is
    /// valid, else a new one.
    pub async fn authorization(&self, now: DateTime<Utc>) -> Result<Secret, String> {
        let secret = self.current_secret()?;
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            let fresh = c.expires.is_none_or(|e| after(now, EXPIRY_DELTA) < e);
            if fresh && c.secret.expose() == secret.expose() {
                return Ok(c.header.clone());
            }
        }
        let token = self.fetch(&secret, now).await?;
        let header = token.header.clone();
        *cached = Some(token);
        Ok(header)
    }

    /// Drops the cached token if it is still `used` (the one a receiver
    /// refused), so the next [`authorization`](Self::authorization)
    /// fetches a new one; a token another send already replaced is kept.
    pub async fn forget(&self, used: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.header.expose() == used.expose())
        {
            *cached = None;
        }
    }

    /// The inline secret, or the file's content (trimmed), read now.
    fn current_secret(&self) -> Result<Secret, String> {
        if let Some(f) = &self.secret_file {
            let text = std::fs::read_to_string(f)
                .map_err(|e| format!("oauth2: unable to read client secret file {f}: {e}"))?;
            return Ok(Secret::new(text.trim().to_string()));
        }
        Ok(self.secret.clone().unwrap_or_else(|| Secret::new("")))
    }

    /// A new token, its expiry counted from `now`.
    async fn fetch(&self, secret: &Secret, now: DateTime<Utc>) -> Result<Cached, String> {
        let style = self.style.load(Ordering::Relaxed);
        if style != STYLE_UNKNOWN {
            return self.request(secret, style, now).await;
        }
        // Auto-detection, as x/oauth2: the header first, then the form.
        match self.request(secret, STYLE_HEADER, now).await {
            Ok(t) => {
                self.style.store(STYLE_HEADER, Ordering::Relaxed);
                Ok(t)
            }
            Err(first) => match self.request(secret, STYLE_PARAMS, now).await {
                Ok(t) => {
                    self.style.store(STYLE_PARAMS, Ordering::Relaxed);
                    Ok(t)
                }
                Err(_) => Err(first),
            },
        }
    }

    async fn request(
        &self,
        secret: &Secret,
        style: u8,
        now: DateTime<Utc>,
    ) -> Result<Cached, String> {
        let mut form: Vec<(String, String)> =
            vec![("grant_type".into(), "client_credentials".into())];
        if !self.scopes.is_empty() {
            form.push(("scope".into(), self.scopes.join(" ")));
        }
        for (k, v) in &self.params {
            if k != "grant_type" && form.iter().any(|(f, _)| f == k) {
                return Err(format!("oauth2: cannot overwrite parameter {k:?}"));
            }
            form.retain(|(f, _)| f != k);
            form.push((k.clone(), v.clone()));
        }
        let mut req = self.client.post(&self.token_url);
        if style == STYLE_PARAMS {
            form.push(("client_id".into(), self.client_id.clone()));
            form.push(("client_secret".into(), secret.expose().to_string()));
        } else {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let raw = format!("{}:{}", enc(&self.client_id), enc(secret.expose()));
            let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
            req = req.header(reqwest::header::AUTHORIZATION, format!("Basic {b64}"));
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let resp = req
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| format!("oauth2: cannot fetch token: {}", kind(&e)))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(format!(
                "oauth2: cannot fetch token: the token endpoint answered {status}"
            ));
        }
        let form_body = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                t.starts_with("application/x-www-form-urlencoded") || t.starts_with("text/plain")
            });
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| format!("oauth2: cannot fetch token: {}", kind(&e)))?;
        let token = parse_token(&bytes, form_body)?;
        Ok(Cached {
            header: Secret::new(format!("{} {}", token.kind, token.access_token.expose())),
            expires: token.expires_in.map(|s| after(now, s)),
            secret: secret.clone(),
        })
    }
}

fn kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    }
}

/// A token endpoint's answer.
#[derive(Debug)]
struct Token {
    access_token: Secret,
    /// As x/oauth2's `Token.Type()`: `Bearer` when empty, the usual
    /// capitalisation of `bearer`, `mac` and `basic`.
    kind: String,
    expires_in: Option<Duration>,
}

/// The answer as JSON, or as a form when the endpoint says so; a missing
/// `access_token` is an error (its content is never quoted).
fn parse_token(body: &[u8], form: bool) -> Result<Token, String> {
    let (access, kind, expires) = if form {
        let pairs: BTreeMap<String, String> =
            url::form_urlencoded::parse(body).into_owned().collect();
        (
            pairs.get("access_token").cloned().unwrap_or_default(),
            pairs.get("token_type").cloned().unwrap_or_default(),
            pairs.get("expires_in").and_then(|s| s.parse::<i64>().ok()),
        )
    } else {
        let v: Value = serde_json::from_slice(body)
            .map_err(|_| "oauth2: cannot parse the token endpoint's answer".to_string())?;
        let expires = match v.get("expires_in") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse::<i64>().ok(),
            _ => None,
        };
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        (text("access_token"), text("token_type"), expires)
    };
    if access.is_empty() {
        return Err("oauth2: server response missing access_token".into());
    }
    let kind = match kind.to_ascii_lowercase().as_str() {
        "" | "bearer" => "Bearer".to_string(),
        "mac" => "MAC".to_string(),
        "basic" => "Basic".to_string(),
        _ => kind,
    };
    Ok(Token {
        access_token: Secret::new(access),
        kind,
        expires_in: expires
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s as u64)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_form_answers() {
        let t = parse_token(
            br#"{"access_token":"tok","token_type":"bearer","expires_in":3600}"#,
            false,
        )
        .unwrap();
        assert_eq!(
            (t.access_token.expose(), t.kind.as_str()),
            ("tok", "Bearer")
        );
        assert_eq!(t.expires_in, Some(Duration::from_secs(3600)));
        let t = parse_token(br#"{"access_token":"tok","expires_in":"60"}"#, false).unwrap();
        assert_eq!(
            (t.kind.as_str(), t.expires_in),
            ("Bearer", Some(Duration::from_secs(60)))
        );
        let t = parse_token(b"access_token=a%20b&token_type=MAC", true).unwrap();
        assert_eq!((t.access_token.expose(), t.kind.as_str()), ("a b", "MAC"));
        assert_eq!(t.expires_in, None);
    }

    #[test]
    fn missing_token_is_an_error_without_the_body() {
        let e = parse_token(br#"{"error":"s3cr3t"}"#, false).unwrap_err();
        assert!(
            e.contains("missing access_token") && !e.contains("s3cr3t"),
            "{e}"
        );
        let e = parse_token(b"not json s3cr3t", false).unwrap_err();
        assert!(!e.contains("s3cr3t"), "{e}");
    }
}
