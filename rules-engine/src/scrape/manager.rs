//! The scrape manager: one pool per job, one loop per target. It applies a
//! config as a whole (all clients built first, so a bad secret file leaves
//! the running set alone), keeps loops of unchanged targets running across
//! reloads and file_sd changes, and stops removed ones, which writes their
//! staleness markers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::model::Labels;
use crate::scrape::config::ScrapeConfig;
use crate::store::Appender;

use super::client::{ClientError, ScrapeClient};
use super::file_sd::{FileSd, static_groups};
use super::metadata::MetadataStore;
use super::scrape_loop;
use super::scraper::{RestoredHistory, ScrapeStatus, Scraper};
use super::stats::ScrapeCounters;
use super::target::{Target, TargetGroup, targets_from_group};
use crate::clock::Clock;

/// File discovery reacts to edits within this time even when the job's
/// `refresh_interval` is longer: Prometheus watches the files, we poll.
const FILE_SD_MAX_POLL: Duration = Duration::from_secs(5);

/// A target as `/api/v1/targets` shows it.
#[derive(Debug, Clone)]
pub struct ActiveTarget {
    pub job: String,
    pub target: Target,
    pub status: ScrapeStatus,
}

/// Active and dropped targets of every job.
#[derive(Debug, Clone, Default)]
pub struct TargetsView {
    pub active: Vec<ActiveTarget>,
    /// Discovered labels of targets that relabeling dropped, per job.
    pub dropped: Vec<(String, Labels)>,
}

struct Running {
    target: Target,
    status: Arc<Mutex<ScrapeStatus>>,
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

struct Pool {
    cfg: Arc<ScrapeConfig>,
    /// `Debug` text of the config, to tell an unchanged job on reload
    /// (secrets print as `<secret>`, so only their presence counts).
    fingerprint: String,
    client: ScrapeClient,
    file_sd: Vec<FileSd>,
    sd_task: Option<JoinHandle<()>>,
    running: BTreeMap<String, Running>,
    dropped: Vec<Labels>,
}

/// Runs every scrape loop; share as `Arc<ScrapeManager>`.
pub struct ScrapeManager {
    appender: Arc<dyn Appender>,
    clock: Arc<dyn Clock>,
    pools: Mutex<BTreeMap<String, Pool>>,
    metadata: Arc<MetadataStore>,
    counters: Arc<ScrapeCounters>,
    /// Set by [`ScrapeManager::shutdown`]: loops end without staleness
    /// markers.
    exiting: Arc<AtomicBool>,
    /// History replayed at start, which new targets' first scrapes check
    /// for series that vanished meanwhile.
    restored: std::sync::OnceLock<RestoredHistory>,
    me: Weak<ScrapeManager>,
}

impl ScrapeManager {
    pub fn new(appender: Arc<dyn Appender>, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new_cyclic(|me| ScrapeManager {
            appender,
            clock,
            pools: Mutex::new(BTreeMap::new()),
            metadata: Arc::new(MetadataStore::default()),
            counters: Arc::new(ScrapeCounters::default()),
            exiting: Arc::new(AtomicBool::new(false)),
            restored: std::sync::OnceLock::new(),
            me: me.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Pool>> {
        self.pools.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the running jobs match `configs`. Must run inside a Tokio
    /// runtime. On error nothing changes.
    pub fn apply(&self, configs: &[ScrapeConfig]) -> Result<(), (String, ClientError)> {
        let mut fresh = Vec::new();
        for cfg in configs {
            let client = ScrapeClient::new(cfg).map_err(|e| (cfg.job_name.clone(), e))?;
            fresh.push((cfg.clone(), client));
        }
        let mut pools = self.lock();
        let wanted: Vec<&str> = configs.iter().map(|c| c.job_name.as_str()).collect();
        let removed: Vec<String> = pools
            .keys()
            .filter(|k| !wanted.contains(&k.as_str()))
            .cloned()
            .collect();
        for job in removed {
            if let Some(pool) = pools.remove(&job) {
                stop_pool(pool);
            }
        }
        for (cfg, client) in fresh {
            let fingerprint = format!("{cfg:?}");
            if pools
                .get(&cfg.job_name)
                .is_some_and(|p| p.fingerprint == fingerprint)
            {
                continue;
            }
            if let Some(old) = pools.remove(&cfg.job_name) {
                stop_pool(old);
            }
            let mut pool = Pool {
                file_sd: cfg
                    .file_sd_configs
                    .iter()
                    .map(|f| FileSd::new(f.files.clone()))
                    .collect(),
                sd_task: None,
                cfg: Arc::new(cfg),
                fingerprint,
                client,
                running: BTreeMap::new(),
                dropped: Vec::new(),
            };
            refresh_file_sd(&mut pool);
            self.sync(&mut pool);
            pool.sd_task = self.spawn_file_sd_task(&pool.cfg);
            pools.insert(pool.cfg.job_name.clone(), pool);
        }
        Ok(())
    }

    /// Starts loops for new targets and stops loops of vanished ones.
    fn sync(&self, pool: &mut Pool) {
        let mut groups: Vec<TargetGroup> = static_groups(&pool.cfg.static_configs);
        groups.extend(pool.file_sd.iter().flat_map(|f| f.groups()));
        let mut wanted: BTreeMap<String, Target> = BTreeMap::new();
        pool.dropped.clear();
        for g in &groups {
            for r in targets_from_group(&pool.cfg, g) {
                match r {
                    Ok(t) => {
                        wanted.insert(t.key(), t);
                    }
                    Err((labels, e)) => {
                        tracing::warn!(job = %pool.cfg.job_name, source = %g.source, labels = %labels, error = %e, "invalid target");
                        pool.dropped.push(labels);
                    }
                }
            }
            pool.dropped.extend(dropped_by_relabeling(&pool.cfg, g));
        }
        let gone: Vec<String> = pool
            .running
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(r) = pool.running.remove(&key) {
                r.cancel.cancel();
            }
        }
        for (key, target) in wanted {
            if pool.running.contains_key(&key) {
                continue;
            }
            let scraper = Scraper::new(
                target.clone(),
                pool.cfg.clone(),
                pool.client.clone(),
                self.appender.clone(),
            )
            .with_metadata(self.metadata.clone())
            .with_counters(self.counters.clone())
            .with_restored(self.restored.get().cloned());
            let status = scraper.status();
            let cancel = CancellationToken::new();
            let handle = tokio::spawn(scrape_loop::run(
                scraper,
                self.clock.clone(),
                cancel.clone(),
                self.exiting.clone(),
            ));
            pool.running.insert(
                key,
                Running {
                    target,
                    status,
                    cancel,
                    handle,
                },
            );
        }
    }

    fn spawn_file_sd_task(&self, cfg: &ScrapeConfig) -> Option<JoinHandle<()>> {
        let every = cfg
            .file_sd_configs
            .iter()
            .map(|f| f.refresh_interval.as_duration())
            .min()?
            .min(FILE_SD_MAX_POLL);
        let (me, job) = (self.me.clone(), cfg.job_name.clone());
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(m) = me.upgrade() else { return };
                m.refresh_job(&job);
            }
        }))
    }

    /// Re-reads a job's discovery files and syncs its loops if they changed.
    pub fn refresh_job(&self, job: &str) {
        let mut pools = self.lock();
        if let Some(pool) = pools.get_mut(job)
            && refresh_file_sd(pool)
        {
            self.sync(pool);
        }
    }

    /// What targets said about their metrics (`/api/v1/metadata`).
    pub fn metadata(&self) -> &MetadataStore {
        &self.metadata
    }

    /// Scrape totals per job, for `/metrics`.
    pub fn counters(&self) -> &ScrapeCounters {
        &self.counters
    }

    /// A snapshot for the API.
    pub fn targets(&self) -> TargetsView {
        let pools = self.lock();
        let mut view = TargetsView::default();
        for (job, pool) in pools.iter() {
            for r in pool.running.values() {
                let status = r.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
                view.active.push(ActiveTarget {
                    job: job.clone(),
                    target: r.target.clone(),
                    status,
                });
            }
            view.dropped
                .extend(pool.dropped.iter().map(|l| (job.clone(), l.clone())));
        }
        view
    }

    /// The store holds history from before a restart: each target's first
    /// scrape marks stale its series that vanished meanwhile. Call before
    /// the first [`ScrapeManager::apply`].
    pub fn restored_history(&self, history: RestoredHistory) {
        let _ = self.restored.set(history);
    }

    /// Stops every loop (vigil is exiting: no staleness markers, so the
    /// series continue after a restart) and waits for them.
    pub async fn shutdown(&self) {
        self.exiting.store(true, Ordering::Release);
        let pools: Vec<Pool> = std::mem::take(&mut *self.lock()).into_values().collect();
        let mut handles = Vec::new();
        for mut pool in pools {
            if let Some(t) = pool.sd_task.take() {
                t.abort();
            }
            for (_, r) in std::mem::take(&mut pool.running) {
                r.cancel.cancel();
                handles.push(r.handle);
            }
        }
        for h in handles {
            let _ = h.await;
        }
    }
}

/// Cancels a pool's loops (they write staleness markers as they end).
fn stop_pool(mut pool: Pool) {
    if let Some(t) = pool.sd_task.take() {
        t.abort();
    }
    for r in pool.running.values() {
        r.cancel.cancel();
    }
}

/// Re-reads the pool's files; logs new errors; true when groups changed.
fn refresh_file_sd(pool: &mut Pool) -> bool {
    let mut changed = false;
    for sd in &mut pool.file_sd {
        let (c, errors) = sd.refresh();
        changed |= c;
        for e in errors {
            tracing::warn!(job = %pool.cfg.job_name, error = %e, "file_sd");
        }
    }
    changed
}

/// Discovered labels of the group's addresses that relabeling drops.
fn dropped_by_relabeling(cfg: &ScrapeConfig, g: &TargetGroup) -> Vec<Labels> {
    g.targets
        .iter()
        .filter_map(|addr| {
            let single = TargetGroup {
                targets: vec![addr.clone()],
                ..g.clone()
            };
            targets_from_group(cfg, &single).is_empty().then(|| {
                let mut pairs: Vec<(String, String)> = g.labels.clone().into_iter().collect();
                pairs.push(("__address__".into(), addr.clone()));
                pairs.push(("job".into(), cfg.job_name.clone()));
                Labels::from_pairs(pairs)
            })
        })
        .collect()
}
