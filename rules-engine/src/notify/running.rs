//! The notification side of a running vigil, assembled from the config's
//! `alerting:` section: the dispatcher (routing, grouping, outbox, sends)
//! when a routing configuration is given, a forwarder to the listed
//! Alertmanagers (present, maybe with none, so that a reload can change the
//! list), both behind one [`AlertSink`], and the Alertmanager v2 API
//! routes. [`load`] checks everything before vigil binds its port;
//! [`start`] runs it; [`Running::check_reload`] and [`Running::apply`]
//! swap the routing and the Alertmanager list on a reload.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use vigil_common::ConfigErrors;

use super::config::AlertingConfig;
use super::dispatch::Dispatcher;
use super::errors::{BuildError, ReloadError};
use super::forward::{BuiltTarget, ForwardMetrics, Forwarder, Tee, build_targets};
use super::metrics::NotifyMetrics;
use super::notifier::Notifier;
use crate::clock::Clock;
use crate::db::Db;
use crate::notify::route::Loaded;
use crate::rules::AlertSink;

/// The `alerting:` section, checked.
pub struct Prepared {
    alerting: AlertingConfig,
    routing: Option<Loaded>,
}

/// Checks the section: the routing configuration (file or inline), every
/// error located. `config_file` is vigil's own file (relative paths, and
/// the lines of an inline configuration).
pub fn load(alerting: &AlertingConfig, config_file: &Path) -> Result<Prepared, ConfigErrors> {
    let text = std::fs::read_to_string(config_file)
        .map_err(|e| ConfigErrors::one(&config_file.display().to_string(), 0, 0, e.to_string()))?;
    let routing = alerting.load(config_file, &text)?;
    Ok(Prepared {
        alerting: alerting.clone(),
        routing,
    })
}

impl Prepared {
    /// The checked routing configuration, if the section gives one.
    pub fn into_routing(self) -> Option<Loaded> {
        self.routing
    }

    /// True when the section starts nothing: no routing, no Alertmanagers.
    pub fn is_empty(&self) -> bool {
        self.routing.is_none() && self.alerting.alertmanagers.is_empty()
    }
}

/// The running pipeline; [`Running::shutdown`] stops it.
pub struct Running {
    /// Where the rules send their alerts.
    pub sink: Arc<dyn AlertSink>,
    /// `/api/v2/silences`, `/api/v2/alerts`, `/api/v1/alerts/history`
    /// (present only with a routing configuration).
    pub routes: Option<Router>,
    dispatcher: Option<Dispatcher>,
    forwarder: Forwarder,
}

/// A reloaded section, checked and built; [`Running::apply`] puts it in
/// place.
pub struct Reloaded {
    /// The new routing (none when vigil runs without one).
    notifier: Option<Notifier>,
    /// The new Alertmanager list.
    forward: Vec<BuiltTarget>,
}

/// The metrics the pipeline updates, registered on `/metrics` at build.
#[derive(Clone, Default)]
pub struct PipelineMetrics {
    pub notify: NotifyMetrics,
    pub forward: ForwardMetrics,
}

impl PipelineMetrics {
    pub fn register(&self, r: &mut prometheus_client::registry::Registry) {
        self.notify.register(r);
        self.forward.register(r);
    }
}

/// Starts what the section asks for on the current runtime; `None` when
/// it asks for nothing (no routing, no Alertmanagers).
/// `external_url` is vigil's own (`--web.external-url`), used unless the
/// section sets one.
pub fn start(
    prepared: Prepared,
    db: Db,
    metrics: &PipelineMetrics,
    external_url: &str,
    clock: Arc<dyn Clock>,
) -> Result<Option<Running>, BuildError> {
    let Prepared { alerting, routing } = prepared;
    let mut sinks: Vec<Arc<dyn AlertSink>> = Vec::new();
    let dispatcher = match &routing {
        Some(loaded) => {
            let notifier = Notifier::build(loaded, &alerting.external_url_or(external_url))?;
            let d = Dispatcher::start(
                notifier,
                db,
                alerting.dispatch_options(),
                metrics.notify.clone(),
                clock.clone(),
            );
            sinks.push(Arc::new(d.clone()));
            Some(d)
        }
        None => None,
    };
    let targets = alerting.forward_targets();
    if dispatcher.is_none() && targets.is_empty() {
        return Ok(None);
    }
    let forwarder = Forwarder::start(targets, metrics.forward.clone(), clock)?;
    sinks.push(Arc::new(forwarder.clone()));
    let sink: Arc<dyn AlertSink> = match sinks.len() {
        1 => sinks.remove(0),
        _ => Arc::new(Tee(sinks)),
    };
    Ok(Some(Running {
        sink,
        routes: dispatcher.clone().map(super::api::router),
        dispatcher,
        forwarder,
    }))
}

impl Running {
    /// Checks a reloaded `alerting:` section and builds its notifier and
    /// its Alertmanager clients; the running ones stay until
    /// [`Running::apply`]. Removing or adding the routing configuration
    /// needs a restart (the outbox and API come and go with it), and says
    /// so; the Alertmanager list may change freely.
    pub fn check_reload(
        &self,
        alerting: Option<&AlertingConfig>,
        config_file: &Path,
        external_url: &str,
    ) -> Result<Reloaded, ReloadError> {
        let routing = match alerting {
            Some(a) => load(a, config_file).map_err(ReloadError::Config)?.routing,
            None => None,
        };
        let forward = build_targets(alerting.map(|a| a.forward_targets()).unwrap_or_default())?;
        let notifier = match (&self.dispatcher, routing) {
            (None, None) => None,
            (Some(_), Some(loaded)) => {
                let url = alerting.map_or_else(
                    || external_url.to_string(),
                    |a| a.external_url_or(external_url),
                );
                Some(Notifier::build(&loaded, &url)?)
            }
            _ => return Err(ReloadError::RoutingNeedsRestart),
        };
        Ok(Reloaded { notifier, forward })
    }

    /// Routes, sends and forwards as `reloaded` says from now on.
    pub fn apply(&self, reloaded: Reloaded) {
        if let (Some(d), Some(n)) = (&self.dispatcher, reloaded.notifier) {
            d.reload(n);
        }
        self.forwarder.set_targets(reloaded.forward);
    }

    /// Stops sending; what is still in the outbox waits for the next start.
    pub async fn shutdown(&self) {
        self.forwarder.shutdown();
        if let Some(d) = &self.dispatcher {
            d.shutdown().await;
        }
    }
}
