//! The HTTP side of a scrape: one reqwest client per job (auth, TLS, gzip,
//! timeout), the Accept header Prometheus sends, and a body read that stops
//! at `body_size_limit` instead of buffering whatever a target sends.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::scrape::config::ScrapeConfig;
use crate::scrape::config::{BasicAuth, TlsConfig};

/// Prometheus's Accept header: OpenMetrics preferred, then text 0.0.4.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Why a job's client could not be built (a secret or TLS file is missing
/// or invalid). Messages name the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("reading {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} in {path} is not valid PEM")]
    Pem { what: &'static str, path: String },
    #[error("credentials contain characters not allowed in an HTTP header")]
    Header,
    #[error("building the HTTP client: {0}")]
    Build(String),
}

/// Why one fetch failed; the text becomes the target's `lastError`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    #[error("server returned HTTP status {0}")]
    Status(String),
    #[error("scrape timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Request(String),
    #[error("body size limit exceeded ({0} bytes)")]
    BodyTooLarge(u64),
}

/// A fetched body and its content type.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: String,
}

/// A job's HTTP client. Credentials files are read when the client is
/// built, that is on every config (re)load, as Prometheus does.
#[derive(Debug, Clone)]
pub struct ScrapeClient {
    http: reqwest::Client,
    body_limit: u64,
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|source| ClientError::File {
        path: path.display().to_string(),
        source,
    })
}

pub(crate) fn read_trimmed(path: &std::path::Path) -> Result<String, ClientError> {
    let bytes = read(path)?;
    Ok(String::from_utf8_lossy(&bytes).trim().to_string())
}

impl ScrapeClient {
    pub fn new(cfg: &ScrapeConfig) -> Result<Self, ClientError> {
        vigil_common::install_crypto_provider();
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_HEADER));
        if let Some(value) = auth_header(cfg)? {
            let mut v = HeaderValue::from_str(&value).map_err(|_| ClientError::Header)?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let timeout = cfg.timeout().as_duration();
        let secs = format!("{}", timeout.as_secs_f64());
        if let Ok(v) = HeaderValue::from_str(&secs) {
            headers.insert("X-Prometheus-Scrape-Timeout-Seconds", v);
        }
        let mut b = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .gzip(cfg.enable_compression)
            .no_proxy();
        b = with_tls(b, &cfg.tls_config)?;
        let http = b
            .build()
            .map_err(|e| ClientError::Build(e.without_url().to_string()))?;
        Ok(ScrapeClient {
            http,
            body_limit: cfg.body_size_limit.0,
        })
    }

    /// GETs `url`, reading at most `body_size_limit` (decompressed) bytes.
    pub async fn fetch(&self, url: &str, timeout: Duration) -> Result<Fetched, FetchError> {
        let map = |e: reqwest::Error| {
            if e.is_timeout() {
                FetchError::Timeout(timeout)
            } else {
                FetchError::Request(describe(&e))
            }
        };
        let mut resp = self
            .http
            .get(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(map)?;
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().to_string()));
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(map)? {
            if self.body_limit > 0 && (body.len() + chunk.len()) as u64 > self.body_limit {
                return Err(FetchError::BodyTooLarge(self.body_limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, content_type })
    }
}

/// Adds a `tls_config` to a client: an extra CA, a client certificate, a
/// server name, or no verification. Shared by the scrape and remote write
/// clients.
pub fn with_tls(
    mut b: reqwest::ClientBuilder,
    tls: &TlsConfig,
) -> Result<reqwest::ClientBuilder, ClientError> {
    if let Some(ca) = &tls.ca_file {
        let certs =
            reqwest::Certificate::from_pem_bundle(&read(ca)?).map_err(|_| ClientError::Pem {
                what: "CA certificate",
                path: ca.display().to_string(),
            })?;
        b = b.tls_certs_merge(certs);
    }
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        let mut pem = read(cert)?;
        pem.push(b'\n');
        pem.extend(read(key)?);
        let id = reqwest::Identity::from_pem(&pem).map_err(|_| ClientError::Pem {
            what: "client certificate and key",
            path: cert.display().to_string(),
        })?;
        b = b.identity(id);
    }
    if tls.insecure_skip_verify {
        b = b.tls_danger_accept_invalid_certs(true);
    }
    if tls.server_name.is_some() {
        // The name to verify differs from the address: hostname checks
        // are relaxed, the chain is still verified.
        b = b.tls_danger_accept_invalid_hostnames(true);
    }
    Ok(b)
}

/// The error chain of a request failure ("connection refused", ...), without
/// the URL (the target shows its URL separately).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut msg = String::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !s.is_empty() && !msg.contains(&s) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&s);
        }
        cur = err.source();
    }
    msg
}

/// The `Authorization` value from basic_auth, bearer_token(_file) or
/// authorization.
fn auth_header(cfg: &ScrapeConfig) -> Result<Option<String>, ClientError> {
    let common = credentials_header(
        cfg.basic_auth.as_ref(),
        cfg.bearer_token.as_ref(),
        cfg.bearer_token_file.as_deref(),
    )?;
    if common.is_some() {
        return Ok(common);
    }
    if let Some(a) = &cfg.authorization {
        let cred = match (&a.credentials, &a.credentials_file) {
            (Some(c), _) => c.expose().to_string(),
            (None, Some(f)) => read_trimmed(f)?,
            (None, None) => String::new(),
        };
        return Ok(Some(format!("{} {cred}", a.kind)));
    }
    Ok(None)
}

/// `Basic ...` from `basic_auth`, else `Bearer ...` from `bearer_token` or
/// `bearer_token_file` (read now): the credentials every Prometheus HTTP
/// client block has (scrape jobs, remote write).
pub(crate) fn credentials_header(
    basic_auth: Option<&BasicAuth>,
    bearer_token: Option<&vigil_common::Secret>,
    bearer_token_file: Option<&std::path::Path>,
) -> Result<Option<String>, ClientError> {
    if let Some(b) = basic_auth {
        let password = match (&b.password, &b.password_file) {
            (Some(p), _) => p.expose().to_string(),
            (None, Some(f)) => read_trimmed(f)?,
            (None, None) => String::new(),
        };
        return Ok(Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{password}", b.username))
        )));
    }
    if let Some(t) = bearer_token {
        return Ok(Some(format!("Bearer {}", t.expose())));
    }
    if let Some(f) = bearer_token_file {
        return Ok(Some(format!("Bearer {}", read_trimmed(f)?)));
    }
    Ok(None)
}
