//! `remote_write:` entries in Prometheus's format (the subset vigil sends
//! with): where to send, how to authenticate, which series to keep, and
//! how much to buffer. Checked once at load; errors name the field and
//! never print a credential (the URL is shown without user info or query).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use vigil_common::Secret;

use crate::model::units::PromDuration;
use crate::scrape::config::{BasicAuth, TlsConfig};
use crate::scrape::relabel::RelabelConfig;

/// One receiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    /// The receiver's endpoint, e.g. `http://prometheus:9090/api/v1/write`.
    /// Kept as a secret because people put credentials in URLs; metrics and
    /// logs show [`RemoteWriteConfig::display_url`].
    pub url: Secret,
    /// One request taking longer fails (and is retried). Prometheus: 30s.
    #[serde(default = "default_timeout")]
    pub remote_timeout: PromDuration,
    /// Extra request headers (a tenant id, say). Values may be tokens, so
    /// they are secrets; headers the protocol sets itself are refused.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    pub basic_auth: Option<BasicAuth>,
    pub bearer_token: Option<Secret>,
    pub bearer_token_file: Option<PathBuf>,
    #[serde(default)]
    pub tls_config: TlsConfig,
    /// Applied to each series (external labels added) before it is sent; a
    /// series they drop is not sent.
    #[serde(default)]
    pub write_relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub queue_config: QueueConfig,
}

/// The in-memory queue and batching, with Prometheus's defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Samples buffered; when full the oldest are dropped (and counted), so
    /// a slow receiver never holds up rule evaluation.
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    /// Most samples in one request.
    #[serde(default = "default_max_samples")]
    pub max_samples_per_send: usize,
    /// A partial batch is sent after waiting this long.
    #[serde(default = "default_deadline")]
    pub batch_send_deadline: PromDuration,
    /// First wait after a recoverable failure; doubled on each retry.
    #[serde(default = "default_min_backoff")]
    pub min_backoff: PromDuration,
    /// Longest wait between retries.
    #[serde(default = "default_max_backoff")]
    pub max_backoff: PromDuration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: default_capacity(),
            max_samples_per_send: default_max_samples(),
            batch_send_deadline: default_deadline(),
            min_backoff: default_min_backoff(),
            max_backoff: default_max_backoff(),
        }
    }
}

fn default_timeout() -> PromDuration {
    PromDuration::from_secs(30)
}
fn default_capacity() -> usize {
    10_000
}
fn default_max_samples() -> usize {
    2_000
}
fn default_deadline() -> PromDuration {
    PromDuration::from_secs(5)
}
fn default_min_backoff() -> PromDuration {
    PromDuration(std::time::Duration::from_millis(30))
}
fn default_max_backoff() -> PromDuration {
    PromDuration::from_secs(5)
}

/// Headers the protocol or the client sets; Prometheus refuses them too.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "x-prometheus-remote-write-version",
];

impl RemoteWriteConfig {
    /// `scheme://host:port/path` of the URL: no user info, no query, so it
    /// can label metrics and appear in logs.
    pub fn display_url(&self) -> String {
        strip_url(self.url.expose())
    }

    /// Checks serde cannot make. `Err((field, message))`: the field the
    /// error is located at.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let url = reqwest::Url::parse(self.url.expose())
            .map_err(|e| ("url", format!("remote write url is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err((
                "url",
                "remote write url must be http:// or https:// with a host".into(),
            ));
        }
        if self.remote_timeout.as_duration().is_zero() {
            return Err(("remote_timeout", "remote_timeout must be above 0".into()));
        }
        for name in self.headers.keys() {
            if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(("headers", format!("{name} is a reserved header")));
            }
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(("headers", format!("{name:?} is not a valid header name")));
            }
        }
        self.check_auth()?;
        self.queue_config.validate()
    }

    fn check_auth(&self) -> Result<(), (&'static str, String)> {
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err((
                "bearer_token_file",
                "at most one of bearer_token & bearer_token_file must be configured".into(),
            ));
        }
        let bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        if let Some(b) = &self.basic_auth {
            if bearer {
                return Err((
                    "basic_auth",
                    "at most one of basic_auth and bearer_token(_file) must be configured".into(),
                ));
            }
            if b.password.is_some() && b.password_file.is_some() {
                return Err((
                    "basic_auth",
                    "at most one of basic_auth password & password_file must be configured".into(),
                ));
            }
        }
        let tls = &self.tls_config;
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err((
                "tls_config",
                "tls_config needs both cert_file and key_file, or neither".into(),
            ));
        }
        Ok(())
    }

    /// Makes credential and TLS files relative to the config file's folder.
    pub fn resolve_paths(&mut self, join: &dyn Fn(&mut PathBuf)) {
        if let Some(p) = self
            .basic_auth
            .as_mut()
            .and_then(|b| b.password_file.as_mut())
        {
            join(p);
        }
        self.bearer_token_file.as_mut().map(join);
        let tls = &mut self.tls_config;
        for p in [&mut tls.ca_file, &mut tls.cert_file, &mut tls.key_file] {
            p.as_mut().map(join);
        }
    }
}

impl QueueConfig {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.capacity == 0 {
            return Err((
                "queue_config",
                "queue_config capacity must be above 0".into(),
            ));
        }
        if self.max_samples_per_send == 0 {
            return Err((
                "queue_config",
                "queue_config max_samples_per_send must be above 0".into(),
            ));
        }
        if self.batch_send_deadline.as_duration().is_zero() {
            return Err((
                "queue_config",
                "queue_config batch_send_deadline must be above 0".into(),
            ));
        }
        if self.min_backoff > self.max_backoff {
            return Err((
                "queue_config",
                "queue_config min_backoff must not exceed max_backoff".into(),
            ));
        }
        Ok(())
    }
}

/// A URL without user info, query or fragment (unparseable: a placeholder).
pub fn strip_url(raw: &str) -> String {
    match reqwest::Url::parse(raw) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}
