//! The running notification configuration: one [`Notifier::build`] turns
//! a validated Alertmanager configuration into the routing tree, inhibit
//! rules, time intervals, built integrations and templates the dispatcher
//! and the sender share. A reload builds a new one completely before
//! swapping it in, so a bad file leaves the running one in place.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::errors::BuildError;
use super::inhibit::InhibitRule;
use super::integration::{Integration, build_receiver};
use super::template::Templates;
use crate::notify::route::time_intervals::TimeIntervalSpec;
use crate::notify::route::{Loaded, Route, RouteOpts};

pub struct Notifier {
    pub route: Route,
    /// Every route's options by its unique id.
    pub routes: BTreeMap<String, RouteOpts>,
    pub inhibit_rules: Vec<InhibitRule>,
    pub time_intervals: BTreeMap<String, Vec<TimeIntervalSpec>>,
    /// Integrations of each receiver, in config order.
    pub receivers: BTreeMap<String, Vec<Arc<Integration>>>,
    pub templates: Templates,
    /// Shown in payloads (`externalURL`) and links.
    pub external_url: String,
    /// How long an alert posted without an end stays firing.
    pub resolve_timeout: Duration,
    /// Receiver names in configuration order (`/api/v2/receivers`).
    pub receiver_names: Vec<String>,
    /// The configuration as written, secrets masked (`/api/v2/status`).
    pub original: String,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("receivers", &self.receivers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Notifier {
    /// Builds everything; the first problem (unreadable secret file, bad
    /// CA, template that does not parse) is returned, naming the receiver
    /// or file.
    pub fn build(loaded: &Loaded, external_url: &str) -> Result<Notifier, BuildError> {
        let c = &loaded.config;
        let base_dir = Path::new(&loaded.file)
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let route = Route::build(loaded.route());
        let routes = route
            .walk()
            .into_iter()
            .map(|(_, r)| (r.id.clone(), r.opts.clone()))
            .collect();
        let mut receivers = BTreeMap::new();
        for r in &c.receivers {
            let built = build_receiver(r, &c.global, &base_dir)?;
            receivers.insert(r.name.clone(), built.into_iter().map(Arc::new).collect());
        }
        // Read and parsed once, when the file was checked.
        let templates = loaded.templates.clone();
        let time_intervals = c
            .time_intervals
            .iter()
            .chain(&c.mute_time_intervals)
            .map(|n| (n.name.clone(), n.time_intervals.clone()))
            .collect();
        Ok(Notifier {
            route,
            routes,
            inhibit_rules: c.inhibit_rules.iter().map(InhibitRule::build).collect(),
            time_intervals,
            receivers,
            templates,
            external_url: external_url.trim_end_matches('/').to_string(),
            resolve_timeout: c.global.resolve_timeout.as_duration(),
            receiver_names: c.receivers.iter().map(|r| r.name.clone()).collect(),
            original: loaded.original.clone(),
        })
    }

    /// The integration with this outbox key, if the config still has it.
    pub fn integration(&self, key: &str) -> Option<&Arc<Integration>> {
        self.receivers.values().flatten().find(|i| i.key == key)
    }
}
