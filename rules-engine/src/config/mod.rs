//! vigil's configuration file: `global`, `storage`, `query`, `rule_files`,
//! Prometheus-format `scrape_configs` and `remote_write`. Loading validates
//! everything once and reports each problem as `file:line:column: message`;
//! the rest of the program trusts the result.

// Each stage owns its section's types; the file's shape is assembled here.
pub use crate::model::units;
pub use crate::rules::datasource;
pub use crate::scrape::config as scrape;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vigil_common::secret::{Secret, SecretFileError, resolve_secret};
use vigil_common::{ConfigErrors, Parsed, parse_yaml};

pub use datasource::DataSourceConfig;

use crate::db::{Db, DbError, SQLITE_FILE};
pub use scrape::{ScrapeConfig, StaticConfig};
pub use units::{ByteSize, PromDuration};

/// The whole file. Every section is optional: an empty file is a valid
/// config (in-memory store, no scrape jobs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub global: GlobalConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub query: QueryConfig,
    /// Rule files (globs allowed), relative to the config file's folder.
    #[serde(default)]
    pub rule_files: Vec<String>,
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Rules query this API instead of the embedded store.
    #[serde(default)]
    pub datasource: Option<DataSourceConfig>,
    /// Where alerts go: Alertmanager-format routing (a file or inline) and
    /// Alertmanagers to forward to.
    #[serde(default)]
    pub alerting: Option<crate::notify::config::AlertingConfig>,
    /// The SLA report: services, credit tiers, maintenance windows.
    #[serde(default)]
    pub sla: Option<crate::sla::config::SlaConfig>,
    /// Receivers of recording-rule results and `ALERTS`/`ALERTS_FOR_STATE`
    /// (Prometheus's `remote_write` format, a subset).
    #[serde(default)]
    pub remote_write: Vec<crate::remote_write::RemoteWriteConfig>,
}

/// Defaults shared by every job, with Prometheus's values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    #[serde(default = "default_scrape_interval")]
    pub scrape_interval: PromDuration,
    #[serde(default = "default_scrape_timeout")]
    pub scrape_timeout: PromDuration,
    #[serde(default = "default_evaluation_interval")]
    pub evaluation_interval: PromDuration,
    /// Added to alerts and remote-written series, never to stored samples
    /// (as in Prometheus).
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: default_scrape_interval(),
            scrape_timeout: default_scrape_timeout(),
            evaluation_interval: default_evaluation_interval(),
            external_labels: BTreeMap::new(),
        }
    }
}

fn default_scrape_interval() -> PromDuration {
    PromDuration::from_secs(60)
}
fn default_scrape_timeout() -> PromDuration {
    PromDuration::from_secs(10)
}
fn default_evaluation_interval() -> PromDuration {
    PromDuration::from_secs(60)
}

/// Where samples and state live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// How long samples are kept. With `path`: in blocks on disk, 15d by
    /// default (Prometheus's), while the in-memory head keeps only the
    /// last few hours. Without `path` everything is in memory, so the
    /// default is 6h (the longest range the shipped rules use, with room).
    #[serde(default)]
    pub retention: Option<PromDuration>,
    /// With `path`: the oldest blocks are deleted while blocks, log and
    /// snapshot together exceed this (e.g. `50GB`).
    #[serde(default)]
    pub retention_size: Option<ByteSize>,
    /// The smallest block cut from the head (Prometheus's
    /// `--storage.tsdb.min-block-duration`, 2h); blocks are compacted into
    /// ranges three times larger up to a tenth of retention or 31d.
    #[serde(default = "default_min_block_duration")]
    pub min_block_duration: PromDuration,
    /// Folder for the SQLite database `vigil.db` (alert state, outbox,
    /// ledger), created on first start. `None` keeps that state in memory,
    /// like the samples: a restart then forgets pending and firing alerts.
    pub path: Option<PathBuf>,
    /// A PostgreSQL URL (`postgres://user:pass@host/db`) to keep that state
    /// in instead of SQLite; several vigils may share it. Never logged.
    pub database_url: Option<Secret>,
    /// A file holding `database_url` (the URL carries a password).
    pub database_url_file: Option<PathBuf>,
    /// The write-ahead log in `path/wal` (only with `path`).
    #[serde(default)]
    pub wal: WalConfig,
}

/// `storage.wal`: how samples are made durable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalConfig {
    /// `interval` (default): `fdatasync` at most every `sync_interval`, in
    /// the background; a power loss loses at most that much. `always`:
    /// before every append returns. `never`: when a segment closes and at
    /// shutdown only. A crashed or killed process loses nothing in any
    /// mode (appends reach the page cache before they return).
    #[serde(default)]
    pub sync: WalSync,
    #[serde(default = "default_wal_sync_interval")]
    pub sync_interval: PromDuration,
    /// Segment files are cut at this size (Prometheus's 128MB).
    #[serde(default = "default_wal_segment_size")]
    pub segment_size: ByteSize,
    /// Snappy-compress records, as Prometheus does by default.
    #[serde(default = "default_true")]
    pub compression: bool,
}

/// See [`WalConfig::sync`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WalSync {
    #[default]
    Interval,
    Always,
    Never,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            sync: WalSync::Interval,
            sync_interval: default_wal_sync_interval(),
            segment_size: default_wal_segment_size(),
            compression: true,
        }
    }
}

impl WalConfig {
    /// The log writer's options.
    pub fn options(&self) -> crate::store::wal::WalOptions {
        use crate::store::wal::{SyncPolicy, WalOptions};
        WalOptions {
            segment_size: usize::try_from(self.segment_size.0).unwrap_or(usize::MAX),
            sync: match self.sync {
                WalSync::Interval => SyncPolicy::Interval(self.sync_interval.as_duration()),
                WalSync::Always => SyncPolicy::Always,
                WalSync::Never => SyncPolicy::Never,
            },
            compress: self.compression,
        }
    }
}

/// Two 32 KiB pages: the log's framing needs whole pages.
const MIN_WAL_SEGMENT: u64 = 64 * 1024;

fn default_wal_sync_interval() -> PromDuration {
    PromDuration::from_secs(1)
}

fn default_wal_segment_size() -> ByteSize {
    ByteSize(128 * 1024 * 1024)
}

fn default_true() -> bool {
    true
}

impl StorageConfig {
    /// `retention`, or its default for this mode.
    pub fn retention(&self) -> PromDuration {
        self.retention.unwrap_or(match self.path {
            Some(_) => PromDuration::from_secs(15 * 24 * 3600),
            None => PromDuration::from_secs(6 * 3600),
        })
    }

    /// How long the in-memory head keeps samples: all of `retention`
    /// without a data directory; with one, blocks take the history and
    /// the head is cut into them every block range, so this is only the
    /// bound should block writing fail (the smaller of retention and 8
    /// block ranges).
    pub fn head_retention(&self) -> std::time::Duration {
        let retention = self.retention().as_duration();
        match self.path {
            Some(_) => retention.min(self.min_block_duration.as_duration() * 8),
            None => retention,
        }
    }

    /// The PostgreSQL URL, inline or read from its file.
    pub fn database_url(&self) -> Result<Option<Secret>, SecretFileError> {
        resolve_secret(
            "database_url",
            self.database_url.as_ref(),
            self.database_url_file.as_deref(),
        )
    }

    /// The SQL store this section asks for: PostgreSQL when a URL is
    /// given, else `vigil.db` in `path` (the folder is created), else in
    /// memory.
    pub async fn open_db(&self) -> Result<Db, DbError> {
        let url = self.database_url().map_err(DbError::DatabaseUrl)?;
        match (url, &self.path) {
            (Some(u), _) => Db::open_postgres(u.expose()).await,
            (None, Some(dir)) => {
                std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                    path: dir.clone(),
                    source,
                })?;
                Db::open_sqlite(&dir.join(SQLITE_FILE)).await
            }
            (None, None) => Db::open_memory().await,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            retention: None,
            retention_size: None,
            min_block_duration: default_min_block_duration(),
            path: None,
            database_url: None,
            database_url_file: None,
            wal: WalConfig::default(),
        }
    }
}

fn default_min_block_duration() -> PromDuration {
    PromDuration::from_secs(2 * 3600)
}

/// Limits on queries (Prometheus's `--query.*` flags).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryConfig {
    /// A query running longer is cancelled (Prometheus default 2m).
    #[serde(default = "default_query_timeout")]
    pub timeout: PromDuration,
    /// A query loading more samples at once fails instead of exhausting
    /// memory (Prometheus default 50 million).
    #[serde(default = "default_max_samples")]
    pub max_samples: usize,
    /// How far back an instant selector looks for a sample.
    #[serde(default = "default_lookback")]
    pub lookback_delta: PromDuration,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            timeout: default_query_timeout(),
            max_samples: default_max_samples(),
            lookback_delta: default_lookback(),
        }
    }
}

fn default_query_timeout() -> PromDuration {
    PromDuration::from_secs(120)
}
fn default_max_samples() -> usize {
    50_000_000
}
fn default_lookback() -> PromDuration {
    PromDuration::from_secs(300)
}

/// Why a config could not be loaded: every problem found, one per line,
/// each as `file:line:column: message` (vigil-common's located errors).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub ConfigErrors);

impl Config {
    /// Reads, expands `${ENV}` and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(ConfigErrors::one(&file, 0, 0, format!("cannot read: {e}")))
        })?;
        let mut cfg = Config::parse_with_env(&text, &file, &|name| std::env::var(name).ok())?;
        cfg.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        Ok(cfg)
    }

    /// Makes relative paths relative to the config file's folder, as
    /// Prometheus does, so `vigil run` works from any working directory.
    fn resolve_paths(&mut self, dir: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        let join_str = |s: &mut String| {
            if Path::new(s.as_str()).is_relative() {
                *s = dir.join(s.as_str()).display().to_string();
            }
        };
        self.rule_files.iter_mut().for_each(join_str);
        if let Some(p) = self.storage.path.as_mut() {
            join(p);
        }
        if let Some(p) = self.storage.database_url_file.as_mut() {
            join(p);
        }
        for sc in &mut self.scrape_configs {
            sc.resolve_paths(&join, &join_str);
        }
        if let Some(ds) = self.datasource.as_mut() {
            ds.resolve_paths(&join);
        }
        for rw in &mut self.remote_write {
            rw.resolve_paths(&join);
        }
    }

    /// Parses and validates config text; `${NAME}` references are errors
    /// (nothing to expand them from); `origin` names the text in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        Config::parse_with_env(text, origin, &|_| None)
    }

    /// Parses text, expanding `${NAME}` through `lookup`, and validates it.
    pub fn parse_with_env(
        text: &str,
        origin: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let parsed: Parsed<Config> = parse_yaml(origin, text, lookup).map_err(ConfigError)?;
        let mut cfg = parsed.value.clone();
        cfg.validate(&parsed).map_err(ConfigError)?;
        Ok(cfg)
    }

    /// Cross-field checks serde cannot make, located at the offending job.
    fn validate(&mut self, parsed: &Parsed<Config>) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        if self.global.scrape_timeout > self.global.scrape_interval {
            errors.push(parsed.error_at(
                "global",
                0,
                Some("scrape_timeout"),
                "global scrape timeout greater than scrape interval",
            ));
        }
        if self.storage.database_url.is_some() && self.storage.database_url_file.is_some() {
            errors.push(parsed.error_at(
                "storage",
                0,
                Some("database_url_file"),
                "set either `database_url` or `database_url_file`, not both",
            ));
        }
        if let Some(u) = &self.storage.database_url
            && !(u.expose().starts_with("postgres://") || u.expose().starts_with("postgresql://"))
        {
            errors.push(parsed.error_at(
                "storage",
                0,
                Some("database_url"),
                "database_url must start with postgres:// or postgresql://",
            ));
        }
        if self.storage.wal.segment_size.0 < MIN_WAL_SEGMENT {
            errors.push(parsed.error_at(
                "storage",
                0,
                Some("wal"),
                "storage.wal.segment_size must be at least 64KiB (two pages)",
            ));
        }
        if let Some(Err(m)) = self.datasource.as_ref().map(DataSourceConfig::validate) {
            errors.push(parsed.error_at("datasource", 0, None, m));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, sc) in self.scrape_configs.iter_mut().enumerate() {
            if !seen.insert(sc.job_name.clone()) {
                let msg = format!(
                    "found multiple scrape configs with job name {:?}",
                    sc.job_name
                );
                errors.push(parsed.error_at("scrape_configs", i, Some("job_name"), msg));
            }
            if let Err(m) = sc.resolve(self.global.scrape_interval, self.global.scrape_timeout) {
                errors.push(parsed.error_at("scrape_configs", i, Some("job_name"), m));
            }
        }
        let mut urls = std::collections::HashSet::new();
        for (i, rw) in self.remote_write.iter().enumerate() {
            if let Err((field, m)) = rw.validate() {
                errors.push(parsed.error_at("remote_write", i, Some(field), m));
            } else if !urls.insert(rw.display_url()) {
                let msg = format!(
                    "found multiple remote write configs with url {}",
                    rw.display_url()
                );
                errors.push(parsed.error_at("remote_write", i, Some("url"), msg));
            }
        }
        if let Some(Err(e)) = self.sla.as_ref().map(|s| s.validate()) {
            errors.extend(crate::sla::locate::locate(&e, &parsed.file, &parsed.text));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }
}
