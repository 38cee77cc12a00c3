//! Posting a JSON notification (webhook, Slack) with the receiver's HTTP
//! client configuration, and turning the answer into a retry decision.
//! The URL is a secret (Slack's carries its token; webhook URLs often do),
//! so it appears in no error, log line or `Debug` output.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, RETRY_AFTER};

use super::oauth2::TokenSource;
use super::retry::{self, Decision};
use super::tls::TlsError;
use crate::notify::route::receivers::{HttpConfig, TlsConfig};
use vigil_common::{Secret, SecretFileError, resolve_secret};

/// Why an `http_config` cannot be made into a client: the setting at
/// fault, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum HttpConfigError {
    #[error("{0}")]
    Tls(#[from] TlsError),
    #[error("proxy_url: {0}")]
    Proxy(#[source] reqwest::Error),
    /// reqwest refused the assembled client.
    #[error("{0}")]
    Client(#[source] reqwest::Error),
    /// The token endpoint's own `tls_config` or `proxy_url`.
    #[error("oauth2: {0}")]
    OAuth2(#[source] Box<HttpConfigError>),
    /// A `*_file` secret (password, credentials, bearer token).
    #[error("{0}")]
    Secret(#[from] SecretFileError),
}

/// Why a client could not be built or a request not be sent.
#[derive(Debug, thiserror::Error)]
pub enum HttpSendError {
    /// Configuration: retrying cannot help until the config changes
    /// ([`HttpClient::build`]'s error, for callers that build and send
    /// as one step).
    #[error("http_config: {0}")]
    Config(#[from] HttpConfigError),
    /// The receiver answered, or could not be reached; `decision` says
    /// whether to retry. No URL in the message.
    #[error("{receiver}: {what}")]
    Delivery {
        receiver: String,
        what: String,
        decision: Decision,
    },
}

impl HttpSendError {
    pub fn retryable(&self) -> bool {
        match self {
            HttpSendError::Config(_) => false,
            HttpSendError::Delivery { decision, .. } => decision.retryable(),
        }
    }
}

/// A ready client and the `Authorization` value it adds.
pub struct HttpClient {
    client: reqwest::Client,
    authorization: Option<Secret>,
    /// `http_config.oauth2`: a token fetched before the request.
    oauth2: Option<TokenSource>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<secret>"),
            )
            .field("oauth2", &self.oauth2)
            .finish()
    }
}

/// Alertmanager's default notification timeout is the group interval; a
/// single request is bounded tighter so a hung receiver frees the worker.
/// Sent with every request, as Alertmanager sends `Alertmanager/<version>`.
pub const USER_AGENT: &str = concat!("vigil/", env!("CARGO_PKG_VERSION"));

/// One request an integration makes. The URL and header values may hold
/// secrets (tokens in paths, API keys): they are never shown.
pub struct HttpRequest {
    pub method: reqwest::Method,
    pub url: Secret,
    /// `Content-Type` and the integration's own headers; an
    /// `Authorization` here wins over `http_config`'s.
    pub headers: Vec<(&'static str, Secret)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A POST of `body` as JSON.
    pub fn json(url: Secret, body: &serde_json::Value) -> HttpRequest {
        HttpRequest {
            method: reqwest::Method::POST,
            url,
            headers: vec![("Content-Type", Secret::new("application/json"))],
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> HttpRequest {
        self.headers.push((name, Secret::new(value.into())));
        self
    }
}

/// A receiver's answer: the status, `Retry-After`, and the start of the
/// body (some receivers explain a refusal there).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

/// At most this much of an answer's body is kept.
const ANSWER_BODY_MAX: usize = 4096;

impl Answer {
    /// `receiver answered <status>`: the detail of a failed delivery.
    pub fn detail(&self) -> String {
        format!("receiver answered {}", self.status)
    }
}

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl HttpClient {
    pub fn build(cfg: &HttpConfig) -> Result<HttpClient, HttpConfigError> {
        Self::build_with_timeout(cfg, REQUEST_TIMEOUT)
    }

    /// [`build`](Self::build) with requests bounded by `timeout`.
    pub fn build_with_timeout(
        cfg: &HttpConfig,
        timeout: Duration,
    ) -> Result<HttpClient, HttpConfigError> {
        let redirect = if cfg.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        };
        let client = reqwest_client(&cfg.tls_config, cfg.proxy_url.as_deref(), timeout)?
            .redirect(redirect)
            .build()
            .map_err(HttpConfigError::Client)?;
        let oauth2 = match &cfg.oauth2 {
            Some(o) => {
                let token_client = reqwest_client(&o.tls_config, o.proxy_url.as_deref(), timeout)
                    .and_then(|b| b.build().map_err(HttpConfigError::Client))
                    .map_err(|e| HttpConfigError::OAuth2(Box::new(e)))?;
                Some(TokenSource::new(o, token_client))
            }
            None => None,
        };
        Ok(HttpClient {
            client,
            authorization: authorization(cfg)?,
            oauth2,
        })
    }

    /// Sends one request. `Err` is a network failure, described without
    /// the URL. `now` (the caller's clock) decides whether a cached OAuth2
    /// token is still good. A 401 to a request that carried a cached OAuth2
    /// token is answered once more with a new token: the cached one may
    /// have been revoked, or have expired early (the token endpoint's
    /// clock, or ours, stepped).
    pub async fn send(&self, r: &HttpRequest, now: DateTime<Utc>) -> Result<Answer, String> {
        let own_auth = r
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("authorization"));
        let token = match (&self.oauth2, own_auth || self.authorization.is_some()) {
            (Some(source), false) => Some((source, source.authorization(now).await?)),
            _ => None,
        };
        let auth = token
            .as_ref()
            .map(|(_, t)| t)
            .or(self.authorization.as_ref().filter(|_| !own_auth));
        let answer = self.exchange(r, auth).await?;
        match token {
            Some((source, used)) if answer.status == 401 => {
                source.forget(&used).await;
                let fresh = source.authorization(now).await?;
                self.exchange(r, Some(&fresh)).await
            }
            _ => Ok(answer),
        }
    }

    /// One request and its answer, with `auth` as its `Authorization`
    /// unless the request sets its own.
    async fn exchange(&self, r: &HttpRequest, auth: Option<&Secret>) -> Result<Answer, String> {
        let mut req = self
            .client
            .request(r.method.clone(), r.url.expose())
            .body(r.body.clone());
        for (name, value) in &r.headers {
            req = req.header(*name, value.expose());
        }
        if let Some(auth) = auth {
            req = req.header(AUTHORIZATION, auth.expose());
        }
        let resp = req.send().await.map_err(|e| network_kind(&e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp.bytes().await.unwrap_or_default();
        let cut = &bytes[..bytes.len().min(ANSWER_BODY_MAX)];
        Ok(Answer {
            status,
            retry_after,
            body: String::from_utf8_lossy(cut).into_owned(),
        })
    }

    /// POSTs `body` as JSON to `url` and decides from the answer
    /// (forwarding to Alertmanagers).
    pub async fn post_json(
        &self,
        receiver: &str,
        url: &Secret,
        body: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), HttpSendError> {
        let fail = |what: String, decision| HttpSendError::Delivery {
            receiver: receiver.to_string(),
            what,
            decision,
        };
        let answer = self
            .send(&HttpRequest::json(url.clone(), body), now)
            .await
            .map_err(|what| fail(what, retry::from_network_error()))?;
        match retry::from_http_status(answer.status, answer.retry_after.as_deref(), now) {
            Decision::Delivered => Ok(()),
            d => Err(fail(format!("receiver answered {}", answer.status), d)),
        }
    }
}

/// A client builder with `tls_config` (see [`super::tls`]), a proxy, the
/// timeout and vigil's user agent.
fn reqwest_client(
    tls: &TlsConfig,
    proxy: Option<&str>,
    timeout: Duration,
) -> Result<reqwest::ClientBuilder, HttpConfigError> {
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(USER_AGENT)
        .tls_backend_preconfigured(super::tls::client_config(tls)?);
    if let Some(proxy) = proxy {
        let p = reqwest::Proxy::all(proxy).map_err(HttpConfigError::Proxy)?;
        b = b.proxy(p);
    }
    Ok(b)
}

fn network_kind(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    kind.to_string()
}

/// `Basic ...` from `basic_auth`, or `<type> <credentials>` from
/// `authorization` / `bearer_token` (type `Bearer`), secrets read from
/// their `*_file` when given.
fn authorization(cfg: &HttpConfig) -> Result<Option<Secret>, SecretFileError> {
    use base64::Engine;
    let path = |p: &Option<String>| p.as_ref().map(std::path::PathBuf::from);
    if let Some(b) = &cfg.basic_auth {
        let pw = resolve_secret(
            "password",
            b.password.as_ref(),
            path(&b.password_file).as_deref(),
        )?;
        let raw = format!("{}:{}", b.username, pw.as_ref().map_or("", |p| p.expose()));
        let enc = base64::engine::general_purpose::STANDARD.encode(raw);
        return Ok(Some(Secret::new(format!("Basic {enc}"))));
    }
    if let Some(a) = &cfg.authorization {
        let cred = resolve_secret(
            "credentials",
            a.credentials.as_ref(),
            path(&a.credentials_file).as_deref(),
        )?;
        let kind = a.kind.as_deref().unwrap_or("Bearer");
        return Ok(cred.map(|c| Secret::new(format!("{kind} {}", c.expose()))));
    }
    let bearer = resolve_secret(
        "bearer_token",
        cfg.bearer_token.as_ref(),
        path(&cfg.bearer_token_file).as_deref(),
    )?;
    Ok(bearer.map(|t| Secret::new(format!("Bearer {}", t.expose()))))
}
