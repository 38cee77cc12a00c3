//! Why the notification pipeline could not be built, started or
//! reloaded: one variant per thing that is built, each naming where in
//! the configuration it failed (receiver and entry, Alertmanager by
//! position) and carrying the typed cause. No secret appears in any of
//! them: URLs and keys are named by their field, never shown.

use vigil_common::ConfigErrors;

use super::http::HttpConfigError;
use super::integrations::IntegrationError;

/// Why [`Notifier::build`](super::Notifier::build), the forward targets
/// or [`start`](super::running::start) failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// One `<kind>_configs` entry of a receiver.
    #[error("receiver {receiver:?} {entry}[{index}]: {source}")]
    Integration {
        receiver: String,
        /// `<kind>_configs`.
        entry: &'static str,
        index: usize,
        /// Boxed: the causes are large and errors are rare.
        #[source]
        source: Box<IntegrationError>,
    },
    /// An Alertmanager to forward to, by its position in the list.
    #[error("alertmanager {index}: the url must be an absolute http or https URL")]
    ForwardUrl { index: usize },
    #[error("alertmanager {index}: http_config: {source}")]
    ForwardClient {
        index: usize,
        #[source]
        source: HttpConfigError,
    },
}

/// Why a reloaded `alerting:` section was refused; the running pipeline
/// stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The section or its routing configuration does not load.
    #[error("{0}")]
    Config(ConfigErrors),
    #[error("{0}")]
    Build(#[from] BuildError),
    #[error("alerting: adding or removing the routing configuration needs a restart")]
    RoutingNeedsRestart,
}
