//! Why vigil could not load, serve or reload: one variant per step, each
//! carrying the typed cause.

use crate::config::ConfigError;
use crate::db::DbError;
use crate::remote_write::PrepareError;
use crate::rules::RuleError;
use crate::rules::remote::DataSourceError;
use crate::scrape::client::ClientError;
use crate::store::wal::WalError;

/// Why [`load`](super::load) failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The data directory's store (head snapshot, log, blocks).
    #[error("{0}")]
    Storage(#[from] WalError),
    /// The task opening the store ended abnormally.
    #[error("opening storage: {0}")]
    StorageTask(#[source] tokio::task::JoinError),
    /// Every rule file problem at once, each `file:line:column: ...`.
    #[error("{}", join(.0))]
    Rules(Vec<RuleError>),
    #[error("{0}")]
    DataSource(#[from] DataSourceError),
    #[error("alerting: {0}")]
    Alerting(vigil_common::ConfigErrors),
    #[error("{0}")]
    RemoteWrite(#[from] PrepareError),
    /// The SQL state store (alert state, outbox, ledger).
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Sla(#[from] crate::sla::run::StartError),
}

/// Why [`Loaded::serve`](super::Loaded::serve) stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("--web.external-url: {0}")]
    ExternalUrl(String),
    #[error("scrape job {job:?}: {source}")]
    ScrapeClient {
        job: String,
        #[source]
        source: ClientError,
    },
    /// Starting the notification pipeline (its notifier and clients).
    #[error("alerting: {0}")]
    Notify(#[source] crate::notify::BuildError),
    #[error("{0}")]
    Sla(#[from] crate::sla::run::StartError),
    #[error("serving HTTP: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a reload was refused; the running configuration stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{}", join(.0))]
    Rules(Vec<RuleError>),
    #[error("{0}")]
    RemoteWrite(#[from] PrepareError),
    #[error("{0}")]
    AlertingConfig(vigil_common::ConfigErrors),
    /// The running pipeline refused the new `alerting:` section.
    #[error("{0}")]
    Alerting(#[source] crate::notify::errors::ReloadError),
    #[error("alerting: starting notifications needs a restart")]
    NotifyNeedsRestart,
    #[error("scrape job {job:?}: {source}")]
    ScrapeClient {
        job: String,
        #[source]
        source: ClientError,
    },
    /// Before serving started, or after it ended.
    #[error("not serving")]
    NotServing,
}

fn join(errs: &[RuleError]) -> String {
    errs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
