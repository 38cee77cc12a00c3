//! Cumulative scrape counters per job, kept by the manager so they stay
//! monotonic when targets come and go; `/metrics` shows them as
//! `vigil_scrape_*_total{job}` (bounded: one set per configured job).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::scraper::ScrapeReport;

/// One job's totals since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounters {
    pub scrapes: u64,
    pub failures: u64,
    /// Samples stored (after metric relabeling).
    pub samples: u64,
    /// Samples the store refused (out of order, duplicate timestamp).
    pub rejected: u64,
    pub stale_markers: u64,
}

#[derive(Debug, Default)]
pub struct ScrapeCounters {
    by_job: Mutex<BTreeMap<String, JobCounters>>,
}

impl ScrapeCounters {
    pub fn record(&self, job: &str, r: &ScrapeReport) {
        let mut map = self.by_job.lock().unwrap_or_else(|p| p.into_inner());
        let c = match map.get_mut(job) {
            Some(c) => c,
            None => map.entry(job.to_string()).or_default(),
        };
        c.scrapes += 1;
        if !r.up() {
            c.failures += 1;
        } else {
            c.samples += (r.samples_post_relabel - r.rejected) as u64;
        }
        c.rejected += r.rejected as u64;
        c.stale_markers += r.stale_markers as u64;
    }

    pub fn snapshot(&self) -> BTreeMap<String, JobCounters> {
        self.by_job
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
