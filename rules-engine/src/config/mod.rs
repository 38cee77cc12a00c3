//! vigil's configuration file: `global`, `storage`, `query`, `rule_files` and
//! Prometheus-format `scrape_configs`. Loading validates everything once and
//! reports each problem as `file:line:column: message`; the rest of the
//! program trusts the result.

pub mod scrape;
pub mod units;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    /// How long samples stay in the in-memory head. Six hours covers the
    /// longest range the shipped rules use with room to spare.
    #[serde(default = "default_retention")]
    pub retention: PromDuration,
    /// Folder for the SQLite database (alert state, outbox, ledger). `None`
    /// keeps everything in memory.
    pub path: Option<PathBuf>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            retention: default_retention(),
            path: None,
        }
    }
}

fn default_retention() -> PromDuration {
    PromDuration::from_secs(6 * 3600)
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

/// Why a config could not be loaded. The message starts with
/// `file:line:column` whenever a position is known.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut cfg = Config::parse(&text, &path.display().to_string())?;
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
        for sc in &mut self.scrape_configs {
            sc.resolve_paths(&join, &join_str);
        }
    }

    /// Parses and validates config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            yaml_serde::from_str(text).map_err(|e| located(origin, text, &e))?
        };
        cfg.validate(text, origin)?;
        Ok(cfg)
    }

    fn validate(&mut self, text: &str, origin: &str) -> Result<(), ConfigError> {
        if self.global.scrape_timeout > self.global.scrape_interval {
            let (line, column) = find_key(text, "scrape_timeout", 0);
            return Err(invalid(
                origin,
                line,
                column,
                "global scrape timeout greater than scrape interval".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, sc) in self.scrape_configs.iter_mut().enumerate() {
            let (line, column) = find_key(text, "job_name", i);
            if !seen.insert(sc.job_name.clone()) {
                let msg = format!(
                    "found multiple scrape configs with job name {:?}",
                    sc.job_name
                );
                return Err(invalid(origin, line, column, msg));
            }
            sc.resolve(&self.global)
                .map_err(|m| invalid(origin, line, column, m))?;
        }
        Ok(())
    }
}

fn invalid(path: &str, line: usize, column: usize, message: String) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_string(),
        line,
        column,
        message,
    }
}

/// Turns a YAML error into `file:line:column: message`, dropping the
/// position suffix yaml_serde appends so it is not said twice.
fn located(origin: &str, text: &str, e: &yaml_serde::Error) -> ConfigError {
    let msg = e.to_string();
    let message = match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let (line, column) = match e.location() {
        Some(l) => (l.line(), l.column()),
        None => (text.lines().count().max(1), 1),
    };
    invalid(origin, line, column, message)
}

/// The 1-based position of the `nth` occurrence of `key:` as a YAML key,
/// for errors found after deserialization (which keeps no positions).
fn find_key(text: &str, key: &str, nth: usize) -> (usize, usize) {
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ");
        if trimmed.starts_with(key) && trimmed[key.len()..].trim_start().starts_with(':') {
            if count == nth {
                return (i + 1, line.len() - trimmed.len() + 1);
            }
            count += 1;
        }
    }
    (1, 1)
}
