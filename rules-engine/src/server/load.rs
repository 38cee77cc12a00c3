//! [`load`]: everything read and checked, and what must exist opened,
//! before anything runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use vigil_common::web::WebConfig;

use super::errors::LoadError;
use super::reload::Handle;
use crate::api::{self, ServerMetrics};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::model::Labels;
use crate::notify;
use crate::promql::{Engine, EngineOptions};
use crate::remote_write::{self, RemoteWrite, RemoteWriteMetrics};
use crate::rules::group::{DEFAULT_RESEND_DELAY_MS, Group};
use crate::rules::remote::RemoteQuery;
use crate::rules::runtime::load_rule_files;
use crate::rules::{AlertSink, log_sink::LogSink};
use crate::scrape::{RestoredHistory, ScrapeManager};
use crate::sla::metrics::SlaGauges;
use crate::store::storage::{BlockOptions, ReadView, Storage};
use crate::store::{Head, HeadOptions};

/// How vigil runs, besides its config file: the command line's flags, and
/// what tests replace.
pub struct Options {
    /// The file the config came from, read again on reload; `None`: the
    /// defaults, with vigil scraping itself.
    pub config_file: Option<PathBuf>,
    pub clock: Arc<dyn Clock>,
    /// `--web.config.file`: TLS and basic auth of the listener.
    pub web: WebConfig,
    /// `--web.external-url`, already computed by
    /// [`crate::rules::external_url::compute`]: `$externalURL` in
    /// templates, each alert's `generatorURL`, the notifier's links.
    /// `None`: `http://<hostname>:<port>` of the listener.
    pub external_url: Option<String>,
    /// `--rules.alert.resend-delay`: how long a firing alert waits before
    /// it is sent again.
    pub resend_delay: Duration,
    /// `--web.enable-admin-api`: `POST /api/v1/admin/tsdb/snapshot`.
    pub admin_api: bool,
    /// Where alerts leaving the rules go when no `alerting:` pipeline takes
    /// them; [`LogSink`] unless replaced (tests record them).
    pub alert_sink: Option<Arc<dyn AlertSink>>,
    /// Routes served next to the API.
    pub routes: Router,
}

impl Options {
    /// The defaults of `vigil run`'s flags.
    pub fn new(config_file: Option<PathBuf>, clock: Arc<dyn Clock>) -> Options {
        Options {
            config_file,
            clock,
            web: WebConfig::default(),
            external_url: None,
            resend_delay: Duration::from_millis(DEFAULT_RESEND_DELAY_MS.unsigned_abs()),
            admin_api: false,
            alert_sink: None,
            routes: Router::new(),
        }
    }
}

/// Everything loaded and checked, the stores open; nothing runs until
/// [`Loaded::serve`].
pub struct Loaded {
    pub(super) config: Config,
    pub(super) options: Options,
    /// The in-memory head: scrapes and rule results append here.
    pub head: Arc<Head>,
    pub(super) engine: Engine,
    pub(super) scrape: Arc<ScrapeManager>,
    /// The data directory's store (head, log, blocks), when `storage.path`
    /// is set; queries and `/metrics` read it from this slot.
    pub(super) storage: Arc<std::sync::OnceLock<Arc<Storage>>>,
    /// Head and blocks as queries see them.
    pub(super) view: Arc<ReadView>,
    pub(super) metrics: Arc<ServerMetrics>,
    pub(super) sla_gauges: SlaGauges,
    pub(super) notify_metrics: notify::running::PipelineMetrics,
    /// Where recording results and `ALERTS` are remote-written.
    pub(super) remote_write: Arc<RemoteWrite>,
    /// The `remote_write:` receivers, clients built.
    pub(super) remote_write_prepared: Vec<remote_write::Prepared>,
    pub(super) groups: Vec<Group>,
    /// The configured remote data source, if any.
    pub(super) remote: Option<RemoteQuery>,
    /// The checked `alerting:` section, if any.
    pub(super) alerting: Option<notify::running::Prepared>,
    /// Alert state, outbox, history, silences, SLA ledger.
    pub(super) db: Db,
    pub(super) handle: Handle,
}

impl Loaded {
    /// The options it was loaded with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Reloads, the running rule groups and the external URL in use, for
    /// SIGHUP and tests; it works once [`serve`](Self::serve) started.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

/// Reads and checks everything `config` names and opens the stores, in
/// the order of the data flow; the first problem stops it.
pub async fn load(config: Config, options: Options) -> Result<Loaded, LoadError> {
    let clock = options.clock.clone();
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
    let storage = Arc::new(std::sync::OnceLock::new());
    if let Some(s) = open_storage(&config, &head, &scrape).await? {
        let _ = storage.set(s);
    }
    let groups = load_rule_files(
        &config.rule_files,
        config.global.evaluation_interval.as_millis(),
    )
    .map_err(LoadError::Rules)?;
    let remote = config
        .datasource
        .as_ref()
        .map(RemoteQuery::new)
        .transpose()?;
    let alerting = match (&config.alerting, &options.config_file) {
        (Some(a), Some(file)) => Some(notify::running::load(a, file).map_err(LoadError::Alerting)?),
        _ => None,
    };
    let remote_metrics = RemoteWriteMetrics::default();
    let remote_write = Arc::new(RemoteWrite::new(remote_metrics.clone()));
    let remote_write_prepared =
        remote_write.prepare(&config.remote_write, &external_labels(&config))?;
    let db = config.storage.open_db().await?;
    if let Some(sla) = &config.sla {
        crate::sla::run::Evaluator::new(sla.clone())?;
    }
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
    let view = Arc::new(ReadView {
        head: head.clone(),
        storage: storage.clone(),
    });
    let sla_gauges = SlaGauges::default();
    let notify_metrics = notify::running::PipelineMetrics::default();
    let metrics = Arc::new(
        ServerMetrics::new(Some(head.clone()), Some(scrape.clone()))
            .with_collector(Box::new(api::metrics::StorageCollector(storage.clone())))
            .with_collector(Box::new(sla_gauges.clone()))
            .with_registry(|r| notify_metrics.register(r))
            .with_registry(|r| remote_metrics.register(r)),
    );
    metrics.rules.reloaded(true, clock.now_ms());
    let handle = Handle::new(options.config_file.clone(), clock, metrics.rules.clone());
    Ok(Loaded {
        config,
        options,
        head,
        engine,
        scrape,
        storage,
        view,
        metrics,
        sla_gauges,
        notify_metrics,
        remote_write,
        remote_write_prepared,
        groups,
        remote,
        alerting,
        db,
        handle,
    })
}

/// Locks `storage.path` and restores the head from its snapshot and
/// write-ahead log, which logs every append from here on. Without
/// `storage.path` the samples live in memory only, and it says so.
async fn open_storage(
    config: &Config,
    head: &Arc<Head>,
    scrape: &ScrapeManager,
) -> Result<Option<Arc<Storage>>, LoadError> {
    let Some(path) = config.storage.path.clone() else {
        tracing::warn!(
            "samples are kept in memory only: set storage.path to keep them across restarts"
        );
        return Ok(None);
    };
    let opts = config.storage.wal.options();
    let blocks = BlockOptions {
        block_range_ms: config.storage.min_block_duration.as_millis(),
        retention_ms: Some(config.storage.retention().as_millis()),
        retention_bytes: config.storage.retention_size.map(|b| b.0),
    };
    let h = head.clone();
    let (storage, report) =
        tokio::task::spawn_blocking(move || Storage::open(&path, &h, opts, blocks))
            .await
            .map_err(LoadError::StorageTask)??;
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
        scrape.restored_history(RestoredHistory {
            store: head.clone(),
            lookback_ms: config.query.lookback_delta.as_millis(),
        });
    }
    Ok(Some(Arc::new(storage)))
}

/// `global.external_labels`, added to alerts and remote-written series.
pub(super) fn external_labels(config: &Config) -> Labels {
    Labels::from_pairs(config.global.external_labels.clone())
}

/// Where alerts go without an `alerting:` pipeline or a replacement:
/// the log.
pub(super) fn default_sink(clock: Arc<dyn Clock>) -> Arc<dyn AlertSink> {
    Arc::new(LogSink(clock))
}
