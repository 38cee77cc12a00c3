//! [`Loaded::serve`]: the stages started in the order of the data flow,
//! served until shutdown, stopped in reverse.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::routing::post;
use tokio::net::TcpListener;

use super::errors::ServeError;
use super::load::{Loaded, default_sink, external_labels};
use super::reload::{Stages, reload_handler};
use crate::api::{self, ApiState};
use crate::clock::Clock;
use crate::config::{PromDuration, ScrapeConfig};
use crate::notify;
use crate::remote_write::TeeAppender;
use crate::rules::Group;
use crate::rules::alerting::AlertContext;
use crate::rules::manager::{ManagerDeps, Ready, always_ready};
use crate::rules::runtime::RuleManager;
use crate::rules::{EngineQuery, RuleQuery};
use crate::scrape::ScrapeManager;
use crate::sla::run::{SlaDeps, SlaHandle};
use crate::store::storage::start_maintenance;

/// The interval of the self-scrape job that runs when no config file is
/// given, so a bare `vigil run` shows its own metrics at once.
const SELF_SCRAPE_INTERVAL: PromDuration = PromDuration::from_secs(15);

/// How often blocks are cut, compacted and expired, and the log
/// checkpointed.
const STORAGE_MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl Loaded {
    /// Starts every stage and serves on `listener` until `shutdown`; then
    /// stops them in reverse, the store last (its snapshot is then the
    /// whole head).
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let own_addr = listener.local_addr()?;
        let external_url = match self.options.external_url.clone() {
            Some(u) => u,
            None => crate::rules::external_url::compute(None, own_addr.port())
                .map_err(ServeError::ExternalUrl)?,
        };

        // 1. The store and its log: opened by `load`; from now on blocks
        //    are cut, compacted and expired in the background.
        let maintenance = self
            .storage
            .get()
            .map(|s| start_maintenance(s, STORAGE_MAINTENANCE_EVERY));

        // 2. Scrape: targets into the head.
        let jobs = self.scrape_jobs(&own_addr.to_string());
        self.scrape
            .apply(&jobs)
            .map_err(|(job, source)| ServeError::ScrapeClient { job, source })?;

        // 3-5. Rules -> alerting -> notify: the notification pipeline
        //    starts first, so the rules' first alerts have somewhere to go;
        //    `ALERTS` and recording results go to the head and remote write.
        let alerting = self.alerting.take();
        let notify = match self.start_notify(alerting, &external_url) {
            Ok(n) => n,
            Err(e) => {
                self.scrape.shutdown().await;
                return Err(e);
            }
        };
        let sink = match &notify {
            Some(n) => n.sink.clone(),
            None => (self.options.alert_sink.clone())
                .unwrap_or_else(|| default_sink(self.options.clock.clone())),
        };
        let groups = std::mem::take(&mut self.groups);
        let rules = self.start_rules(groups, sink, &jobs, &external_url).await;

        // 6. SLA: reads the store, writes its ledger.
        let sla = match self.start_sla(&jobs) {
            Ok(sla) => sla,
            Err(e) => {
                self.stop_stages(&rules, notify.as_ref(), None).await;
                return Err(e);
            }
        };

        // 7. The API: reads everything; reloads swap into the stages.
        let routes = notify.as_ref().and_then(|n| n.routes.clone());
        let stages = Arc::new(Stages {
            scrape: self.scrape.clone(),
            rules: rules.clone(),
            remote_write: self.remote_write.clone(),
            notify,
            external_url,
        });
        self.handle.serving(&stages);
        let ready = Arc::new(AtomicBool::new(true));
        let router = self.router(ready.clone(), routes);
        let result =
            vigil_common::serve::serve(router, listener, &self.options.web, shutdown).await;

        // Stopped in reverse: nothing appends once the store closes.
        ready.store(false, Ordering::Release);
        self.stop_stages(&rules, stages.notify.as_ref(), sla).await;
        drop(maintenance);
        if let Some(storage) = self.storage.get().cloned() {
            // Appends have stopped: the snapshot is the whole head.
            let _ = tokio::task::spawn_blocking(move || storage.shutdown()).await;
        }
        result.map_err(ServeError::from)
    }

    /// Stops the stages that started, in reverse order of the data flow
    /// (the store is the caller's, and closes last).
    async fn stop_stages(
        &self,
        rules: &RuleManager,
        notify: Option<&notify::running::Running>,
        sla: Option<SlaHandle>,
    ) {
        rules.stop().await;
        self.remote_write.stop().await;
        if let Some(n) = notify {
            n.shutdown().await;
        }
        if let Some(sla) = sla {
            sla.stop().await;
        }
        self.scrape.shutdown().await;
    }

    /// The scrape jobs to run: the config's, or with no config file at
    /// all, one job scraping this server's own `/metrics`. Served over
    /// TLS, the self-scrape speaks https and accepts the server's own
    /// certificate (it connects to its own listener).
    fn scrape_jobs(&self, own_addr: &str) -> Vec<ScrapeConfig> {
        if self.options.config_file.is_none() && self.config.scrape_configs.is_empty() {
            let mut job = ScrapeConfig::for_static_target("vigil", own_addr, SELF_SCRAPE_INTERVAL);
            if self.options.web.tls.is_some() {
                job.scheme = "https".into();
                job.tls_config.insecure_skip_verify = true;
            }
            return vec![job];
        }
        self.config.scrape_configs.clone()
    }

    /// The `alerting:` pipeline (routing, outbox, senders, forwarding to
    /// Alertmanagers), when configured.
    fn start_notify(
        &self,
        alerting: Option<notify::running::Prepared>,
        external_url: &str,
    ) -> Result<Option<notify::running::Running>, ServeError> {
        let Some(alerting) = alerting else {
            return Ok(None);
        };
        notify::running::start(
            alerting,
            self.db.clone(),
            &self.notify_metrics,
            external_url,
            self.options.clock.clone(),
        )
        .map_err(ServeError::Notify)
    }

    /// Starts remote write and the rule groups: queries go to the embedded
    /// store (or the configured remote data source), results to the head
    /// and remote write, alerts to `sink`.
    async fn start_rules(
        &mut self,
        groups: Vec<Group>,
        sink: Arc<dyn crate::rules::AlertSink>,
        jobs: &[ScrapeConfig],
        external_url: &str,
    ) -> Arc<RuleManager> {
        let prepared = std::mem::take(&mut self.remote_write_prepared);
        self.remote_write.apply(prepared).await;
        let (query, ready): (Arc<dyn RuleQuery>, Ready) = match self.remote.take() {
            // The remote store is not empty after our restart.
            Some(remote) => (Arc::new(remote), always_ready()),
            None => (
                Arc::new(EngineQuery {
                    engine: self.engine.clone(),
                    querier: self.view.clone(),
                }),
                warm_up(jobs, &self.scrape, &self.options.clock),
            ),
        };
        let deps = ManagerDeps {
            query: query.clone(),
            appender: Arc::new(TeeAppender {
                store: self.head.clone(),
                remote: self.remote_write.clone(),
            }),
            sink,
            alert_ctx: AlertContext {
                external_labels: external_labels(&self.config),
                external_url: external_url.to_string(),
                query: Some(query),
            },
            resend_delay_ms: i64::try_from(self.options.resend_delay.as_millis())
                .unwrap_or(i64::MAX),
            db: Some(self.db.clone()),
            clock: self.options.clock.clone(),
            ready,
            eval_seconds: Some(self.metrics.rules.eval_seconds.clone()),
        };
        let rules = Arc::new(RuleManager::new(deps, self.metrics.rules.groups.0.clone()));
        rules.update(groups).await;
        rules
    }

    /// The task for the config's `sla:` section (`None` without one), its
    /// ledger in the state store, so both share one pool.
    fn start_sla(&self, jobs: &[ScrapeConfig]) -> Result<Option<SlaHandle>, ServeError> {
        let Some(sla) = self.config.sla.clone() else {
            return Ok(None);
        };
        let first_scrapes_ms = jobs
            .iter()
            .map(|s| s.interval().as_millis() + s.timeout().as_millis())
            .max()
            .unwrap_or(0);
        Ok(Some(crate::sla::run::start(SlaDeps {
            config: sla,
            query: Arc::new(EngineQuery {
                engine: self.engine.clone(),
                querier: self.view.clone(),
            }),
            ledger: Arc::new(self.db.clone()),
            gauges: self.sla_gauges.clone(),
            clock: self.options.clock.clone(),
            interval_ms: self.config.global.evaluation_interval.as_millis(),
            first_scrapes_ms,
        })?))
    }

    /// The HTTP routes: the API, `/metrics`, health, the rules and TSDB
    /// APIs, `POST /-/reload`, the notify API and the caller's routes.
    fn router(&self, ready: Arc<AtomicBool>, notify: Option<Router>) -> Router {
        let state = ApiState {
            querier: self.view.clone(),
            engine: self.engine.clone(),
            scrape: Some(self.scrape.clone()),
            metrics: self.metrics.clone(),
            ready,
            clock: self.options.clock.clone(),
        };
        let own = Router::new()
            .route("/-/reload", post(reload_handler))
            .with_state(self.handle.clone())
            .merge(api::rules::router(self.metrics.rules.groups.0.clone()))
            .merge(api::tsdb::router(api::tsdb::TsdbApi {
                head: self.head.clone(),
                storage: self.storage.clone(),
                admin: self.options.admin_api,
            }));
        api::router(state)
            .merge(own)
            .merge(notify.unwrap_or_default())
            .merge(self.options.routes.clone())
            .layer(axum::middleware::from_fn(api::limits::json_errors))
    }
}

/// Ready once every scrape target has been scraped once since start (the
/// store starts empty), or at the latest after the longest scrape interval
/// plus its timeout.
fn warm_up(jobs: &[ScrapeConfig], scrape: &Arc<ScrapeManager>, clock: &Arc<dyn Clock>) -> Ready {
    let cap = jobs
        .iter()
        .map(|j| j.interval().as_millis() + j.timeout().as_millis())
        .max()
        .unwrap_or(0);
    let deadline = clock.now_ms() + cap;
    let (scrape, clock) = (scrape.clone(), clock.clone());
    let warm = Arc::new(AtomicBool::new(false));
    Arc::new(move || {
        if warm.load(Ordering::Relaxed) {
            return true;
        }
        let done = clock.now_ms() >= deadline
            || scrape
                .targets()
                .active
                .iter()
                .all(|t| t.status.last_scrape_ms.is_some());
        if done {
            warm.store(true, Ordering::Relaxed);
        }
        done
    })
}
