//! Reload: [`load`](super::load) again of what reloads (the config file,
//! the rule files, remote write, the `alerting:` section), then a typed
//! swap of it into the running stages. Reload is a transaction: everything
//! is loaded first, and on any error the running set stays and
//! `vigil_config_last_reload_successful` drops to 0. Unchanged groups keep
//! running; rules that stay keep their alerts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};

use axum::extract::State;
use axum::http::StatusCode;

use super::errors::ReloadError;
use super::load::external_labels;
use crate::api::rule_metrics::RuleMetrics;
use crate::clock::Clock;
use crate::config::Config;
use crate::notify;
use crate::remote_write::{self, RemoteWrite};
use crate::rules::group::Group;
use crate::rules::manager::RunningGroup;
use crate::rules::runtime::{RuleManager, load_rule_files};
use crate::scrape::ScrapeManager;

/// What a reload swaps into: the running stages, set once serving starts.
pub(super) struct Stages {
    pub scrape: Arc<ScrapeManager>,
    pub rules: Arc<RuleManager>,
    pub remote_write: Arc<RemoteWrite>,
    pub notify: Option<notify::running::Running>,
    /// `--web.external-url` as in use (for the reloaded notifier's links).
    pub external_url: String,
}

/// What a reload read and checked, not yet applied.
struct Next {
    config: Config,
    groups: Vec<Group>,
    remote_write: Vec<remote_write::Prepared>,
    notify: Option<notify::running::Reloaded>,
}

/// Reloads and reads a running vigil: `POST /-/reload`, SIGHUP, tests.
/// It does not keep the stages (nor the store they read) alive once
/// serving ended.
#[derive(Clone)]
pub struct Handle(Arc<Shared>);

struct Shared {
    /// `None`: the defaults; nothing to reload.
    config_file: Option<PathBuf>,
    clock: Arc<dyn Clock>,
    /// The reload gauges and the running groups.
    rules: RuleMetrics,
    /// Set when serving starts.
    external_url: OnceLock<String>,
    stages: OnceLock<Weak<Stages>>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

impl Handle {
    pub(super) fn new(
        config_file: Option<PathBuf>,
        clock: Arc<dyn Clock>,
        rules: RuleMetrics,
    ) -> Handle {
        Handle(Arc::new(Shared {
            config_file,
            clock,
            rules,
            external_url: OnceLock::new(),
            stages: OnceLock::new(),
            reloading: tokio::sync::Mutex::new(()),
        }))
    }

    /// Called once, by serve, when the stages run.
    pub(super) fn serving(&self, stages: &Arc<Stages>) {
        let _ = self.0.external_url.set(stages.external_url.clone());
        let _ = self.0.stages.set(Arc::downgrade(stages));
    }

    /// The rule groups being evaluated, in file order.
    pub fn rule_groups(&self) -> Vec<Arc<RunningGroup>> {
        self.0.rules.groups.0.read().clone()
    }

    /// The external URL in use, once serving started (the default for
    /// the listener when none was given).
    pub fn external_url(&self) -> Option<String> {
        self.0.external_url.get().cloned()
    }

    /// Re-reads the config file and the rule files, then applies the scrape
    /// jobs, the rule groups, remote write and the notifier.
    pub async fn reload(&self) -> Result<(), ReloadError> {
        let _one = self.0.reloading.lock().await;
        let result = match self.0.stages.get().and_then(Weak::upgrade) {
            None => Err(ReloadError::NotServing),
            Some(stages) => match &self.0.config_file {
                None => Ok(()),
                Some(path) => match load_next(path, &stages) {
                    Ok(next) => swap(&stages, next).await,
                    Err(e) => Err(e),
                },
            },
        };
        self.0.rules.reloaded(result.is_ok(), self.0.clock.now_ms());
        if result.is_ok()
            && let Some(path) = &self.0.config_file
        {
            tracing::info!(file = %path.display(), "configuration reloaded");
        }
        result
    }
}

/// Loads what reloads and checks the new `alerting:` section against the
/// running pipeline; nothing running changes.
fn load_next(path: &Path, stages: &Stages) -> Result<Next, ReloadError> {
    let config = Config::load(path)?;
    let groups = load_rule_files(
        &config.rule_files,
        config.global.evaluation_interval.as_millis(),
    )
    .map_err(ReloadError::Rules)?;
    let remote_write = stages
        .remote_write
        .prepare(&config.remote_write, &external_labels(&config))?;
    let notify = match &stages.notify {
        Some(running) => Some(
            running
                .check_reload(config.alerting.as_ref(), path, &stages.external_url)
                .map_err(ReloadError::Alerting)?,
        ),
        None => match &config.alerting {
            Some(a)
                if !notify::running::load(a, path)
                    .map_err(ReloadError::AlertingConfig)?
                    .is_empty() =>
            {
                return Err(ReloadError::NotifyNeedsRestart);
            }
            _ => None,
        },
    };
    Ok(Next {
        config,
        groups,
        remote_write,
        notify,
    })
}

/// Swaps `next` in: scrape jobs (the one step that can still refuse),
/// rule groups, remote write, then the notifier.
async fn swap(stages: &Stages, next: Next) -> Result<(), ReloadError> {
    stages
        .scrape
        .apply(&next.config.scrape_configs)
        .map_err(|(job, source)| ReloadError::ScrapeClient { job, source })?;
    stages.rules.update(next.groups).await;
    stages.remote_write.apply(next.remote_write).await;
    if let (Some(running), Some(reloaded)) = (&stages.notify, next.notify) {
        running.apply(reloaded);
    }
    Ok(())
}

/// `POST /-/reload`.
pub(super) async fn reload_handler(State(handle): State<Handle>) -> (StatusCode, String) {
    match handle.reload().await {
        Ok(()) => (StatusCode::OK, String::new()),
        Err(e) => {
            tracing::error!(error = %e, "reload failed; keeping the running configuration");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("failed to reload config: {e}\n"),
            )
        }
    }
}
