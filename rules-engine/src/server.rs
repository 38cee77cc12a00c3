//! Assembling a running vigil: [`Vigil::build`] makes the store, engine,
//! scrape manager and metrics from a config; [`Vigil::load_rules`] loads
//! the rule files and opens the alert state store (so a bad rule file stops
//! `vigil run` before it binds); [`Vigil::serve`] starts scraping and rule
//! evaluation and serves the API on a listener the caller bound, until
//! `shutdown` resolves. `main` is a thin shell around these, and tests use
//! them directly on port 0.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::net::TcpListener;
use vigil_common::web::WebConfig;

use crate::api::{self, ApiState, ServerMetrics};
use crate::clock::Clock;
use crate::config::{Config, ConfigError, PromDuration, ScrapeConfig};
use crate::db::{Db, DbError};
use crate::notify;
use crate::promql::{Engine, EngineOptions};
use crate::remote_write::{RemoteWrite, RemoteWriteMetrics, TeeAppender};
use crate::rules::alerting::AlertContext;
use crate::rules::group::{DEFAULT_RESEND_DELAY_MS, Group};
use crate::rules::log_sink::LogSink;
use crate::rules::manager::{ManagerDeps, Ready, always_ready};
use crate::rules::remote::RemoteQuery;
use crate::rules::runtime::{GroupsView, RuleManager, load_rule_files};
use crate::rules::{AlertSink, EngineQuery, RuleError, RuleQuery};
use crate::scrape::ScrapeManager;
use crate::store::storage::{BlockOptions, ReadView, Storage};
use crate::store::wal::WalError;
use crate::store::{Head, HeadOptions};

/// The interval of the self-scrape job that runs when no config file is
/// given, so a bare `vigil run` shows its own metrics at once.
const SELF_SCRAPE_INTERVAL: PromDuration = PromDuration::from_secs(15);

/// Why vigil could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("scrape job {job:?}: {source}")]
    ScrapeClient {
        job: String,
        #[source]
        source: crate::scrape::client::ClientError,
    },
    #[error("{}", join_errors(.0))]
    Rules(Vec<RuleError>),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    DataSource(String),
    #[error("{0}")]
    RemoteWrite(String),
    #[error("--web.external-url: {0}")]
    ExternalUrl(String),
    #[error("alerting: {0}")]
    Alerting(vigil_common::ConfigErrors),
    #[error("alerting: {0}")]
    Notify(String),
    #[error("serving HTTP: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Sla(#[from] crate::sla::run::StartError),
    #[error("{0}")]
    Storage(#[from] WalError),
}

/// How often blocks are cut, compacted and expired, and the log
/// checkpointed.
const STORAGE_MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

fn join_errors(errs: &[RuleError]) -> String {
    errs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Rule groups loaded and the state store opened, not yet running.
struct Prepared {
    groups: Vec<Group>,
    db: Db,
    /// The configured remote data source, if any.
    remote: Option<RemoteQuery>,
    /// The checked `alerting:` section, if any.
    alerting: Option<notify::running::Prepared>,
    /// The `remote_write:` receivers, clients built.
    remote_write: Vec<crate::remote_write::Prepared>,
}

/// A built vigil, ready to serve.
pub struct Vigil {
    pub head: Arc<Head>,
    pub engine: Engine,
    pub scrape: Arc<ScrapeManager>,
    pub metrics: Arc<ServerMetrics>,
    pub clock: Arc<dyn Clock>,
    pub sla_gauges: crate::sla::metrics::SlaGauges,
    /// What the notification pipeline counts, on `/metrics` from the start.
    notify_metrics: notify::running::PipelineMetrics,
    /// The notification pipeline, once serving started with one.
    notify: tokio::sync::Mutex<Option<notify::running::Running>>,
    ready: Arc<AtomicBool>,
    /// The file the config came from (for reloads); `None`: defaults.
    config_file: Option<PathBuf>,
    config: Mutex<Config>,
    /// Routes other stages add (rules, alerts, silences) before serving.
    extra_routes: Mutex<Router>,
    /// Where alerts leaving the rules go; [`LogSink`] unless replaced.
    sink: Mutex<Arc<dyn AlertSink>>,
    /// The running groups, as the API and `/metrics` read them.
    groups_view: GroupsView,
    prepared: tokio::sync::Mutex<Option<Prepared>>,
    /// Set once serving starts.
    rules: std::sync::OnceLock<Arc<RuleManager>>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    /// Where recording results and `ALERTS` are remote-written (nothing
    /// until configured).
    remote_write: Arc<RemoteWrite>,
    /// `--web.external-url` as computed; `None`: `http://<hostname>:<port>`
    /// of the listener, decided in [`serve`](Self::serve).
    external_url: Mutex<Option<String>>,
    /// `--rules.alert.resend-delay`.
    resend_delay_ms: std::sync::atomic::AtomicI64,
    /// The data directory's store (head, log, blocks), once opened (with
    /// `storage.path`); queries and `/metrics` read it from the same slot.
    storage: Arc<std::sync::OnceLock<Arc<Storage>>>,
    /// Head and blocks as queries see them.
    view: Arc<ReadView>,
    /// `--web.enable-admin-api`.
    admin_api: AtomicBool,
}

impl Vigil {
    /// Builds everything from `config`; nothing runs until [`serve`](Self::serve).
    pub fn build(config: Config, config_file: Option<PathBuf>, clock: Arc<dyn Clock>) -> Vigil {
        let head = Arc::new(Head::new(HeadOptions {
            retention: config.storage.head_retention(),
            ..HeadOptions::default()
        }));
        let engine = Engine::new(EngineOptions {
            lookback_delta: config.query.lookback_delta.as_duration(),
            max_samples: config.query.max_samples,
            timeout: config.query.timeout.as_duration(),
            subquery_step: config.global.evaluation_interval.as_duration(),
        });
        let scrape = ScrapeManager::new(head.clone(), clock.clone());
        let sla_gauges = crate::sla::metrics::SlaGauges::default();
        let notify_metrics = notify::running::PipelineMetrics::default();
        let remote_metrics = RemoteWriteMetrics::default();
        let storage = Arc::new(std::sync::OnceLock::new());
        let view = Arc::new(ReadView {
            head: head.clone(),
            storage: storage.clone(),
        });
        let metrics = Arc::new(
            ServerMetrics::new(Some(head.clone()), Some(scrape.clone()))
                .with_collector(Box::new(api::metrics::StorageCollector(storage.clone())))
                .with_collector(Box::new(sla_gauges.clone()))
                .with_registry(|r| notify_metrics.register(r))
                .with_registry(|r| remote_metrics.register(r)),
        );
        metrics.rules.reloaded(true, clock.now_ms());
        let groups_view = metrics.rules.groups.0.clone();
        Vigil {
            head,
            engine,
            scrape,
            metrics,
            clock: clock.clone(),
            sla_gauges,
            notify_metrics,
            notify: tokio::sync::Mutex::new(None),
            ready: Arc::new(AtomicBool::new(false)),
            config_file,
            config: Mutex::new(config),
            extra_routes: Mutex::new(Router::new()),
            sink: Mutex::new(Arc::new(LogSink(clock.clone()))),
            groups_view,
            prepared: tokio::sync::Mutex::new(None),
            rules: std::sync::OnceLock::new(),
            reloading: tokio::sync::Mutex::new(()),
            remote_write: Arc::new(RemoteWrite::new(remote_metrics)),
            external_url: Mutex::new(None),
            resend_delay_ms: std::sync::atomic::AtomicI64::new(DEFAULT_RESEND_DELAY_MS),
            storage,
            view,
            admin_api: AtomicBool::new(false),
        }
    }

    /// Locks `storage.path` and restores the head from its snapshot and
    /// write-ahead log, then logs every append from here on. Without
    /// `storage.path` the samples live in memory only, and it says so.
    /// Runs once, before anything scrapes or evaluates.
    pub async fn open_storage(&self) -> Result<(), ServeError> {
        if self.storage.get().is_some() {
            return Ok(());
        }
        let config = self.config();
        let Some(path) = config.storage.path.clone() else {
            tracing::warn!(
                "samples are kept in memory only: set storage.path to keep them across restarts"
            );
            return Ok(());
        };
        let head = self.head.clone();
        let opts = config.storage.wal.options();
        let blocks = BlockOptions {
            block_range_ms: config.storage.min_block_duration.as_millis(),
            retention_ms: Some(config.storage.retention().as_millis()),
            retention_bytes: config.storage.retention_size.map(|b| b.0),
        };
        let (storage, report) =
            tokio::task::spawn_blocking(move || Storage::open(&path, &head, opts, blocks))
                .await
                .map_err(|e| ServeError::Io(std::io::Error::other(e)))??;
        let wal = storage.wal().clone();
        for problem in &report.problems {
            tracing::warn!(problem = %problem, "write-ahead log");
        }
        if let Some(aside) = &report.moved_aside {
            tracing::warn!(path = %aside.display(), "damaged write-ahead log data moved aside");
        }
        tracing::info!(
            dir = %wal.dir().display(),
            snapshot = wal.stats().snapshot_loaded,
            "replayed {} segments, {} series, {} samples in {:.3} s",
            report.segments,
            report.series,
            report.samples,
            report.seconds
        );
        if report.samples > 0 || wal.stats().snapshot_loaded {
            self.scrape
                .restored_history(crate::scrape::RestoredHistory {
                    store: self.head.clone(),
                    lookback_ms: config.query.lookback_delta.as_millis(),
                });
        }
        let _ = self.storage.set(Arc::new(storage));
        Ok(())
    }

    /// Sets the external URL (already computed by
    /// [`crate::rules::external_url::compute`]): `$externalURL` in
    /// templates, each alert's `generatorURL`, the notifier's links. Call
    /// before [`serve`](Self::serve).
    pub fn set_external_url(&self, url: String) {
        *self.external_url.lock().unwrap_or_else(|p| p.into_inner()) = Some(url);
    }

    /// The external URL in use (after [`serve`](Self::serve) started, the
    /// default for its listener when none was set).
    pub fn external_url(&self) -> Option<String> {
        self.external_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How long a firing alert waits before it is sent again (Prometheus's
    /// `--rules.alert.resend-delay`, default 1m). Call before
    /// [`serve`](Self::serve).
    pub fn set_resend_delay(&self, delay: std::time::Duration) {
        let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        self.resend_delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Serves the admin API (`POST /api/v1/admin/tsdb/snapshot`). Call
    /// before [`serve`](Self::serve).
    pub fn set_admin_api(&self, on: bool) {
        self.admin_api.store(on, Ordering::Relaxed);
    }

    /// The rule groups being evaluated, in file order.
    pub fn rule_groups(&self) -> Vec<Arc<crate::rules::manager::RunningGroup>> {
        self.groups_view.read().clone()
    }

    /// Sends the alerts the rules produce to `sink` (the notification
    /// pipeline) instead of the log. Call before [`serve`](Self::serve).
    pub fn set_alert_sink(&self, sink: Arc<dyn AlertSink>) {
        *self.sink.lock().unwrap_or_else(|p| p.into_inner()) = sink;
    }

    /// Loads and validates the configured rule files and opens the alert
    /// state store, without starting anything: every rule file error comes
    /// back at once, each as `file:line:column: ...`. [`serve`](Self::serve)
    /// calls it when the caller did not.
    pub async fn load_rules(&self) -> Result<(), ServeError> {
        self.open_storage().await?;
        let config = self.config();
        let groups = load_rule_files(
            &config.rule_files,
            config.global.evaluation_interval.as_millis(),
        )
        .map_err(ServeError::Rules)?;
        let remote = config
            .datasource
            .as_ref()
            .map(RemoteQuery::new)
            .transpose()
            .map_err(ServeError::DataSource)?;
        let alerting = match (&config.alerting, &self.config_file) {
            (Some(a), Some(file)) => {
                Some(notify::running::load(a, file).map_err(ServeError::Alerting)?)
            }
            _ => None,
        };
        let remote_write = self
            .remote_write
            .prepare(&config.remote_write, &external_labels(&config))
            .map_err(ServeError::RemoteWrite)?;
        let db = Db::for_storage(&config.storage).await?;
        tracing::info!(groups = groups.len(), state = db.describe(), "rules loaded");
        let s = &config.storage;
        if !groups.is_empty()
            && s.path.is_none()
            && s.database_url.is_none()
            && s.database_url_file.is_none()
        {
            tracing::warn!(
                "alert state is kept in memory: set storage.path (or storage.database_url) to keep it across restarts"
            );
        }
        *self.prepared.lock().await = Some(Prepared {
            groups,
            db,
            remote,
            alerting,
            remote_write,
        });
        Ok(())
    }

    /// The rule manager's dependencies: the engine over the embedded store
    /// (or the configured remote data source), results appended to the
    /// head, the configured sink.
    fn manager_deps(
        &self,
        config: &Config,
        prepared: Prepared,
        ready: Ready,
        external_url: String,
    ) -> ManagerDeps {
        let db = prepared.db;
        let (query, ready): (Arc<dyn RuleQuery>, Ready) = match prepared.remote {
            Some(remote) => (
                Arc::new(remote),
                // The remote store is not empty after our restart.
                always_ready(),
            ),
            None => (
                Arc::new(EngineQuery {
                    engine: self.engine.clone(),
                    querier: self.view.clone(),
                }),
                ready,
            ),
        };
        ManagerDeps {
            query: query.clone(),
            appender: Arc::new(TeeAppender {
                store: self.head.clone(),
                remote: self.remote_write.clone(),
            }),
            sink: self.sink.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            alert_ctx: AlertContext {
                external_labels: external_labels(config),
                external_url,
                query: Some(query),
            },
            resend_delay_ms: self.resend_delay_ms.load(Ordering::Relaxed),
            db: Some(db),
            clock: self.clock.clone(),
            ready,
            eval_seconds: Some(self.metrics.rules.eval_seconds.clone()),
        }
    }

    /// Ready once every scrape target has been scraped once since start
    /// (the store starts empty), or at the latest after the longest scrape
    /// interval plus its timeout.
    fn warm_up(&self, jobs: &[ScrapeConfig]) -> Ready {
        let cap = jobs
            .iter()
            .map(|j| j.interval().as_millis() + j.timeout().as_millis())
            .max()
            .unwrap_or(0);
        let deadline = self.clock.now_ms() + cap;
        let (scrape, clock) = (self.scrape.clone(), self.clock.clone());
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

    /// Adds routes served next to the API (for example `/api/v1/rules`
    /// from the rule engine). Call before [`serve`](Self::serve).
    pub fn add_routes(&self, routes: Router) {
        let mut r = self.extra_routes.lock().unwrap_or_else(|p| p.into_inner());
        *r = std::mem::take(&mut *r).merge(routes);
    }

    /// The loaded configuration (for stages built after this one).
    pub fn config(&self) -> Config {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The HTTP routes (API, `/metrics`, health, `POST /-/reload`).
    pub fn router(self: &Arc<Self>) -> Router {
        let state = ApiState {
            querier: self.view.clone(),
            engine: self.engine.clone(),
            scrape: Some(self.scrape.clone()),
            metrics: self.metrics.clone(),
            ready: self.ready.clone(),
            clock: self.clock.clone(),
        };
        let reload = Router::new()
            .route("/-/reload", post(reload_handler))
            .with_state(self.clone())
            .merge(api::rules::router(self.groups_view.clone()))
            .merge(api::tsdb::router(api::tsdb::TsdbApi {
                head: self.head.clone(),
                storage: self.storage.clone(),
                admin: self.admin_api.load(Ordering::Relaxed),
            }));
        let extra = self
            .extra_routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        api::router(state)
            .merge(reload)
            .merge(extra)
            .layer(axum::middleware::from_fn(api::limits::json_errors))
    }

    /// The scrape jobs to run: the config's, or with no config file at
    /// all, one job scraping this server's own `/metrics`.
    /// Served over TLS, the self-scrape speaks https and accepts the
    /// server's own certificate (it connects to its own listener).
    fn scrape_configs(&self, config: &Config, own_addr: &str, tls: bool) -> Vec<ScrapeConfig> {
        if self.config_file.is_none() && config.scrape_configs.is_empty() {
            let mut job = ScrapeConfig::for_static_target("vigil", own_addr, SELF_SCRAPE_INTERVAL);
            if tls {
                job.scheme = "https".into();
                job.tls_config.insecure_skip_verify = true;
            }
            return vec![job];
        }
        config.scrape_configs.clone()
    }

    /// Starts scraping and serves on `listener` until `shutdown`; then stops
    /// the scrape loops (writing their staleness markers).
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        web: &WebConfig,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let own_addr = listener.local_addr()?.to_string();
        let external_url = match self.external_url() {
            Some(u) => u,
            None => crate::rules::external_url::compute(None, listener.local_addr()?.port())
                .map_err(ServeError::ExternalUrl)?,
        };
        self.set_external_url(external_url.clone());
        let config = self.config();
        let jobs = self.scrape_configs(&config, &own_addr, web.tls.is_some());
        if self.prepared.lock().await.is_none() {
            self.load_rules().await?;
        }
        let Some(mut prepared) = self.prepared.lock().await.take() else {
            unreachable!("load_rules prepared the rules");
        };
        self.scrape
            .apply(&jobs)
            .map_err(|(job, source)| ServeError::ScrapeClient { job, source })?;
        let sla = crate::sla::run::start_for(
            &config,
            &self.engine,
            self.view.clone(),
            &self.sla_gauges,
            &self.clock,
            &prepared.db,
        );
        let sla = match sla {
            Ok(sla) => sla,
            Err(e) => {
                self.scrape.shutdown().await;
                return Err(e.into());
            }
        };
        if let Some(alerting) = prepared.alerting.take() {
            let running = notify::running::start(
                alerting,
                prepared.db.clone(),
                &self.notify_metrics,
                &external_url,
                self.clock.clone(),
            )
            .map_err(ServeError::Notify)?;
            if let Some(running) = running {
                self.set_alert_sink(running.sink.clone());
                if let Some(routes) = running.routes.clone() {
                    self.add_routes(routes);
                }
                *self.notify.lock().await = Some(running);
            }
        }
        let groups = std::mem::take(&mut prepared.groups);
        self.remote_write
            .apply(std::mem::take(&mut prepared.remote_write))
            .await;
        let deps = self.manager_deps(&config, prepared, self.warm_up(&jobs), external_url);
        let rules = Arc::new(RuleManager::new(deps, self.groups_view.clone()));
        rules.update(groups).await;
        let _ = self.rules.set(rules.clone());
        let maintenance = self
            .storage
            .get()
            .map(|s| crate::store::storage::start_maintenance(s, STORAGE_MAINTENANCE_EVERY));
        self.ready.store(true, Ordering::Release);
        let result = vigil_common::serve::serve(self.router(), listener, web, shutdown).await;
        self.ready.store(false, Ordering::Release);
        rules.stop().await;
        self.remote_write.stop().await;
        if let Some(running) = self.notify.lock().await.take() {
            running.shutdown().await;
        }
        if let Some(sla) = sla {
            sla.stop().await;
        }
        self.scrape.shutdown().await;
        drop(maintenance);
        if let Some(storage) = self.storage.get().cloned() {
            // Appends have stopped: the snapshot is the whole head.
            let _ = tokio::task::spawn_blocking(move || storage.shutdown()).await;
        }
        result.map_err(ServeError::from)
    }

    /// Re-reads the config file and the rule files, then applies the scrape
    /// jobs and the rule groups. Reload is a transaction: everything is
    /// loaded first, and on any error the running set stays and
    /// `vigil_config_last_reload_successful` drops to 0. Unchanged groups
    /// keep running; rules that stay keep their alerts.
    pub async fn reload(&self) -> Result<(), String> {
        let _one = self.reloading.lock().await;
        let result = self.try_reload().await;
        self.metrics
            .rules
            .reloaded(result.is_ok(), self.clock.now_ms());
        result
    }

    async fn try_reload(&self) -> Result<(), String> {
        let Some(path) = &self.config_file else {
            return Ok(());
        };
        let config = Config::load(path).map_err(|e: ConfigError| e.to_string())?;
        let groups = load_rule_files(
            &config.rule_files,
            config.global.evaluation_interval.as_millis(),
        )
        .map_err(|e| join_errors(&e))?;
        let remote_write = self
            .remote_write
            .prepare(&config.remote_write, &external_labels(&config))?;
        let external_url = self.external_url().unwrap_or_default();
        let notify = self.notify.lock().await;
        let reloaded = match notify.as_ref() {
            Some(running) => {
                Some(running.check_reload(config.alerting.as_ref(), path, &external_url)?)
            }
            None => match &config.alerting {
                Some(a)
                    if !notify::running::load(a, path)
                        .map_err(|e| e.to_string())?
                        .is_empty() =>
                {
                    return Err("alerting: starting notifications needs a restart".into());
                }
                _ => None,
            },
        };
        self.scrape
            .apply(&config.scrape_configs)
            .map_err(|(job, e)| format!("scrape job {job:?}: {e}"))?;
        if let Some(rules) = self.rules.get() {
            rules.update(groups).await;
            self.remote_write.apply(remote_write).await;
        }
        if let (Some(running), Some(reloaded)) = (notify.as_ref(), reloaded) {
            running.apply(reloaded);
        }
        *self.config.lock().unwrap_or_else(|p| p.into_inner()) = config;
        tracing::info!(file = %path.display(), "configuration reloaded");
        Ok(())
    }
}

/// `global.external_labels`, added to alerts and remote-written series.
fn external_labels(config: &Config) -> crate::model::Labels {
    crate::model::Labels::from_pairs(config.global.external_labels.clone())
}

async fn reload_handler(State(v): State<Arc<Vigil>>) -> (StatusCode, String) {
    match v.reload().await {
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
