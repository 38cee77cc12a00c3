//! Collectors: one per kind of source, one instance per configured target.
//!
//! A collector only gathers the facts of its own source. The registry
//! (`crate::registry`) runs every collector concurrently under its deadline,
//! adds the target's labels to each sample, and writes the source's `*_up`
//! gauge and the exporter's self-metrics, so a failed or slow target still
//! yields samples ("failure is a sample") and never delays the others.

pub mod app_health;
pub mod haproxy;
pub mod postgres;
pub mod redis;

use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::metrics::{Family, Label};

tokio::task_local! {
    /// When the running collection will be abandoned: set by the registry
    /// around each collection (the target's deadline, shortened by the
    /// scraper's own timeout), so that a collector that runs steps of
    /// unknown length (custom queries) can fit them in.
    static DEADLINE: Instant;
}

/// Runs `collection` with `deadline` as its [`deadline`].
pub async fn with_deadline<F: std::future::Future>(deadline: Instant, collection: F) -> F::Output {
    DEADLINE.scope(deadline, collection).await
}

/// The deadline of the running collection, when the registry set one.
pub fn deadline() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// The kinds of source the exporter knows, each with its `*_up` gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Postgres,
    Redis,
    Haproxy,
    App,
}

impl Source {
    /// The value of the `collector` label on self-metrics.
    pub fn name(self) -> &'static str {
        match self {
            Source::Postgres => "postgres",
            Source::Redis => "redis",
            Source::Haproxy => "haproxy",
            Source::App => "app",
        }
    }

    /// The gauge that is 1 when the last collection from a target succeeded.
    pub fn up_metric(self) -> &'static str {
        match self {
            Source::Postgres => "pg_up",
            Source::Redis => "redis_up",
            Source::Haproxy => "haproxy_up",
            Source::App => "app_up",
        }
    }
}

/// Why a collection failed. The message must never contain a secret: build
/// it from the target's redacted name, never from a DSN or URL with a password.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct CollectError {
    /// A short, bounded word usable as a metric label (`connect`, `auth`,
    /// `timeout`, `parse`, `query`, `http`).
    pub kind: &'static str,
    /// Human-readable reason, logged once per change of state.
    pub reason: String,
}

impl CollectError {
    pub fn new(kind: &'static str, reason: impl Into<String>) -> Self {
        CollectError {
            kind,
            reason: reason.into(),
        }
    }
}

/// One configured target of one source.
pub trait Collector: Send + Sync {
    fn source(&self) -> Source;

    /// The labels that name this target on every sample it yields (for
    /// example `server="127.0.0.1:5432"` for PostgreSQL), plus the static
    /// labels from its configuration. Never contains a secret.
    fn target_labels(&self) -> &[Label];

    /// Gathers the target's families. Samples carry only the source's own
    /// labels; the registry adds `target_labels()`.
    fn collect(&self) -> BoxFuture<'_, Result<Vec<Family>, CollectError>>;

    /// This target's own deadline (its config's `timeout`), if it has one;
    /// the registry uses the global default otherwise.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// Families to write when a collection failed or passed its deadline
    /// (`kind` is `timeout` then), besides the `*_up` gauge the registry
    /// writes: for example `instance_health 0` for an app that cannot be
    /// reached, or counters the collector keeps across scrapes. None by
    /// default.
    fn failure_families(&self, error: &CollectError) -> Vec<Family> {
        let _ = error;
        Vec::new()
    }
}

/// A target's configuration cannot become a collector (bad DSN, bad URL,
/// unreadable `*_file`). The message names the target without its secrets.
#[derive(Debug, thiserror::Error)]
#[error("{target}: {reason}")]
pub struct BuildError {
    pub target: String,
    /// The target's field at fault (`url`, `password_file`), when one is:
    /// the config error points at its line.
    pub field: Option<String>,
    /// What is wrong; starts with the field's name when there is one.
    pub reason: String,
}

impl BuildError {
    /// An error about the target as a whole.
    pub fn new(target: &str, reason: impl Into<String>) -> Self {
        BuildError {
            target: target.to_string(),
            field: None,
            reason: reason.into(),
        }
    }

    /// An error about one field of the target.
    pub fn at(target: &str, field: &str, reason: impl std::fmt::Display) -> Self {
        BuildError {
            target: target.to_string(),
            field: Some(field.to_string()),
            reason: format!("{field}: {reason}"),
        }
    }

    /// A `*_file` secret that could not be used: an unreadable file is
    /// the `*_file` field's fault; both fields set is the target's.
    pub fn secret(target: &str, e: &vigil_common::secret::SecretFileError) -> Self {
        use vigil_common::secret::SecretFileError;
        BuildError {
            target: target.to_string(),
            field: match e {
                SecretFileError::Read { field, .. } => Some(format!("{field}_file")),
                SecretFileError::Both { .. } => None,
            },
            reason: e.to_string(),
        }
    }
}
