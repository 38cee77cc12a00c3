//! Assembling a running vigil: [`Vigil::build`] makes the store, engine,
//! scrape manager and metrics from a config; [`Vigil::serve`] starts
//! scraping and serves the API on a listener the caller bound, until
//! `shutdown` resolves. `main` is a thin shell around these two, and tests
//! use them directly on port 0.

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
use crate::config::{Config, ConfigError, PromDuration, ScrapeConfig};
use crate::promql::{Engine, EngineOptions};
use crate::scrape::{Clock, ScrapeManager};
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
    #[error("serving HTTP: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Sla(#[from] crate::sla::run::StartError),
}

/// A built vigil, ready to serve.
pub struct Vigil {
    pub head: Arc<Head>,
    pub engine: Engine,
    pub scrape: Arc<ScrapeManager>,
    pub metrics: Arc<ServerMetrics>,
    pub clock: Arc<dyn Clock>,
    pub sla_gauges: crate::sla::metrics::SlaGauges,
    ready: Arc<AtomicBool>,
    /// The file the config came from (for reloads); `None`: defaults.
    config_file: Option<PathBuf>,
    config: Mutex<Config>,
    /// Routes other stages add (rules, alerts, silences) before serving.
    extra_routes: Mutex<Router>,
}

impl Vigil {
    /// Builds everything from `config`; nothing runs until [`serve`](Self::serve).
    pub fn build(config: Config, config_file: Option<PathBuf>, clock: Arc<dyn Clock>) -> Vigil {
        let head = Arc::new(Head::new(HeadOptions {
            retention: config.storage.retention.as_duration(),
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
        let metrics = Arc::new(
            ServerMetrics::new(Some(head.clone()), Some(scrape.clone()))
                .with_collector(Box::new(sla_gauges.clone())),
        );
        Vigil {
            head,
            engine,
            scrape,
            metrics,
            clock,
            sla_gauges,
            ready: Arc::new(AtomicBool::new(false)),
            config_file,
            config: Mutex::new(config),
            extra_routes: Mutex::new(Router::new()),
        }
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
            querier: self.head.clone(),
            engine: self.engine.clone(),
            scrape: Some(self.scrape.clone()),
            metrics: self.metrics.clone(),
            ready: self.ready.clone(),
            clock: self.clock.clone(),
        };
        let reload = Router::new()
            .route("/-/reload", post(reload_handler))
            .with_state(self.clone());
        let extra = self
            .extra_routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        api::router(state).merge(reload).merge(extra)
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
        let jobs = {
            let cfg = self.config.lock().unwrap_or_else(|p| p.into_inner());
            self.scrape_configs(&cfg, &own_addr, web.tls.is_some())
        };
        self.scrape
            .apply(&jobs)
            .map_err(|(job, source)| ServeError::ScrapeClient { job, source })?;
        let (cfg, head) = (self.config(), self.head.clone());
        let sla =
            crate::sla::run::start_for(&cfg, &self.engine, head, &self.sla_gauges, &self.clock);
        let sla = match sla.await {
            Ok(sla) => sla,
            Err(e) => {
                self.scrape.shutdown().await;
                return Err(e.into());
            }
        };
        self.ready.store(true, Ordering::Release);
        let result = vigil_common::serve::serve(self.router(), listener, web, shutdown).await;
        self.ready.store(false, Ordering::Release);
        if let Some(sla) = sla {
            sla.stop().await;
        }
        self.scrape.shutdown().await;
        result.map_err(ServeError::from)
    }

    /// Re-reads the config file and applies its scrape jobs. On any error
    /// the running config stays (reload is a transaction).
    pub fn reload(&self) -> Result<(), String> {
        let Some(path) = &self.config_file else {
            return Ok(());
        };
        let config = Config::load(path).map_err(|e: ConfigError| e.to_string())?;
        self.scrape
            .apply(&config.scrape_configs)
            .map_err(|(job, e)| format!("scrape job {job:?}: {e}"))?;
        *self.config.lock().unwrap_or_else(|p| p.into_inner()) = config;
        tracing::info!(file = %path.display(), "configuration reloaded");
        Ok(())
    }
}

async fn reload_handler(State(v): State<Arc<Vigil>>) -> (StatusCode, String) {
    match v.reload() {
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
