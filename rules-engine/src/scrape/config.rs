//! `scrape_configs` entries in Prometheus's format (the subset people use).
//! Fields left out fall back to `global` in [`ScrapeConfig::resolve`], so the
//! scrape stage only ever sees complete settings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use vigil_common::Secret;

use super::relabel::RelabelConfig;
use crate::model::units::{ByteSize, PromDuration};

/// One scrape job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// Becomes the `job` label of every target unless relabeling changes it.
    pub job_name: String,
    /// How often to scrape; defaults to `global.scrape_interval`.
    pub scrape_interval: Option<PromDuration>,
    /// Per-scrape deadline; defaults to `global.scrape_timeout`, and may not
    /// exceed the interval.
    pub scrape_timeout: Option<PromDuration>,
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Query parameters added to the scrape URL.
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    /// Keep the target's own `job`/`instance`/... labels on conflict instead
    /// of renaming them to `exported_*`.
    #[serde(default)]
    pub honor_labels: bool,
    /// Use the timestamps the target exposes (Prometheus default: true).
    #[serde(default = "yes")]
    pub honor_timestamps: bool,
    /// Ask for gzip (Prometheus `enable_compression`, default true).
    #[serde(default = "yes")]
    pub enable_compression: bool,
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
    pub bearer_token_file: Option<PathBuf>,
    pub authorization: Option<Authorization>,
    #[serde(default)]
    pub tls_config: TlsConfig,
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    #[serde(default)]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// More samples than this after metric relabeling fails the scrape (0: no limit).
    #[serde(default)]
    pub sample_limit: usize,
    /// A larger (uncompressed) body fails the scrape (0: no limit).
    #[serde(default)]
    pub body_size_limit: ByteSize,
    /// A sample with more labels than this fails the scrape (0: no limit).
    #[serde(default)]
    pub label_limit: usize,
    #[serde(default)]
    pub label_name_length_limit: usize,
    #[serde(default)]
    pub label_value_length_limit: usize,
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
}

fn default_metrics_path() -> String {
    "/metrics".into()
}
fn default_scheme() -> String {
    "http".into()
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
}

/// Prometheus's `authorization` block (`type` defaults to `Bearer`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    #[serde(rename = "type", default = "bearer")]
    pub kind: String,
    pub credentials: Option<Secret>,
    pub credentials_file: Option<PathBuf>,
}

fn bearer() -> String {
    "Bearer".into()
}

/// TLS to the target: extra CA, client certificate, server name, or (for
/// tests and self-signed labs) no verification.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// A fixed list of targets sharing labels.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses; each becomes `__address__`.
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Targets read from JSON or YAML files (lists of [`StaticConfig`]) and
/// re-read when they change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// Paths; the last path component may hold a `*` glob.
    pub files: Vec<String>,
    /// How often to re-read the files (Prometheus default 5m).
    #[serde(default = "default_refresh")]
    pub refresh_interval: PromDuration,
}

fn default_refresh() -> PromDuration {
    PromDuration::from_secs(300)
}

impl ScrapeConfig {
    /// A job scraping `address` with every default, as the no-config start
    /// uses to scrape vigil itself.
    pub fn for_static_target(job: &str, address: &str, interval: PromDuration) -> Self {
        ScrapeConfig {
            job_name: job.into(),
            scrape_interval: Some(interval),
            scrape_timeout: None,
            metrics_path: default_metrics_path(),
            scheme: default_scheme(),
            params: BTreeMap::new(),
            honor_labels: false,
            honor_timestamps: true,
            enable_compression: true,
            basic_auth: None,
            bearer_token: None,
            bearer_token_file: None,
            authorization: None,
            tls_config: TlsConfig::default(),
            static_configs: vec![StaticConfig {
                targets: vec![address.into()],
                labels: BTreeMap::new(),
            }],
            file_sd_configs: Vec::new(),
            sample_limit: 0,
            body_size_limit: ByteSize(0),
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
        }
    }

    /// Fills interval and timeout from `global.scrape_interval` and
    /// `global.scrape_timeout` (the timeout is capped at the interval when
    /// only the global value was given, as Prometheus does) and checks what
    /// serde cannot: one way of authenticating, a known scheme, a timeout
    /// within the interval.
    pub fn resolve(
        &mut self,
        global_interval: PromDuration,
        global_timeout: PromDuration,
    ) -> Result<(), String> {
        let interval = self.scrape_interval.unwrap_or(global_interval);
        let timeout = match self.scrape_timeout {
            Some(t) => t,
            None => global_timeout.min(interval),
        };
        if timeout > interval {
            return Err(format!(
                "scrape timeout greater than scrape interval for scrape config with job name {:?}",
                self.job_name
            ));
        }
        self.scrape_interval = Some(interval);
        self.scrape_timeout = Some(timeout);
        if self.job_name.is_empty() {
            return Err("job_name is empty".into());
        }
        if self.scheme != "http" && self.scheme != "https" {
            return Err(format!(
                "scheme must be http or https, not {:?}",
                self.scheme
            ));
        }
        if !self.metrics_path.starts_with('/') {
            return Err(format!(
                "metrics_path must start with '/': {:?}",
                self.metrics_path
            ));
        }
        self.check_auth()
    }

    fn check_auth(&self) -> Result<(), String> {
        let bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err(
                "at most one of bearer_token & bearer_token_file must be configured".into(),
            );
        }
        let ways = [
            bearer,
            self.basic_auth.is_some(),
            self.authorization.is_some(),
        ];
        if ways.iter().filter(|w| **w).count() > 1 {
            return Err(
                "at most one of basic_auth, bearer_token(_file) and authorization must be configured"
                    .into(),
            );
        }
        if let Some(b) = &self.basic_auth
            && b.password.is_some()
            && b.password_file.is_some()
        {
            return Err(
                "at most one of basic_auth password & password_file must be configured".into(),
            );
        }
        if let Some(a) = &self.authorization
            && a.credentials.is_some()
            && a.credentials_file.is_some()
        {
            return Err(
                "at most one of authorization credentials & credentials_file must be configured"
                    .into(),
            );
        }
        if self.tls_config.cert_file.is_some() != self.tls_config.key_file.is_some() {
            return Err("tls_config needs both cert_file and key_file, or neither".into());
        }
        Ok(())
    }

    /// Applies `join` to every file path (secrets, TLS files, file_sd globs).
    pub(crate) fn resolve_paths(
        &mut self,
        join: &dyn Fn(&mut PathBuf),
        join_str: &dyn Fn(&mut String),
    ) {
        if let Some(b) = self.basic_auth.as_mut() {
            b.password_file.as_mut().map(join);
        }
        if let Some(a) = self.authorization.as_mut() {
            a.credentials_file.as_mut().map(join);
        }
        self.bearer_token_file.as_mut().map(join);
        let tls = &mut self.tls_config;
        for p in [&mut tls.ca_file, &mut tls.cert_file, &mut tls.key_file] {
            p.as_mut().map(join);
        }
        for sd in &mut self.file_sd_configs {
            sd.files.iter_mut().for_each(join_str);
        }
    }

    /// The interval after [`resolve`](Self::resolve).
    pub fn interval(&self) -> PromDuration {
        self.scrape_interval.unwrap_or(PromDuration::from_secs(60))
    }

    /// The timeout after [`resolve`](Self::resolve).
    pub fn timeout(&self) -> PromDuration {
        self.scrape_timeout.unwrap_or(PromDuration::from_secs(10))
    }
}
