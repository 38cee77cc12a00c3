//! The per-target loop: wait for the target's slot in the interval, scrape,
//! repeat until cancelled, then write staleness markers.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::scraper::Scraper;
use crate::clock::Clock;

/// How far into each interval this target's scrapes fall. Spreading targets
/// by a hash of their identity keeps hundreds of targets from being scraped
/// in the same instant, and keeps each target's slot stable across restarts
/// (as Prometheus's `offset`).
pub fn slot_offset(key: &str, interval: Duration, now_ms: i64) -> Duration {
    let interval_ms = interval.as_millis().max(1) as i64;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    let slot = (h.finish() % interval_ms as u64) as i64;
    Duration::from_millis((slot - now_ms).rem_euclid(interval_ms) as u64)
}

/// Runs until `cancel` fires; the last act is marking the target's series
/// stale, so queries stop seeing a removed target at once. When vigil
/// itself is stopping (`exiting`), no markers are written: the target is
/// not gone, and a restart continues its series (as Prometheus, which
/// writes end-of-run markers only for targets that go away).
pub async fn run(
    mut scraper: Scraper,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
    exiting: Arc<AtomicBool>,
) {
    let interval = scraper.target().interval;
    let offset = slot_offset(&scraper.target().key(), interval, clock.now_ms());
    let mut ticker = tokio::time::interval_at(Instant::now() + offset, interval);
    // A scrape that overran its slot is not made up for: Prometheus skips
    // it too, rather than scraping twice in a row.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut last_scrape_ms = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let t = clock.now_ms();
        last_scrape_ms = Some(t);
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = scraper.scrape(t) => {}
        }
    }
    if exiting.load(Ordering::Acquire) {
        scraper.leave();
    } else {
        scraper.stop(stale_time(clock.now_ms(), last_scrape_ms));
    }
}

/// When the end-of-run staleness markers go: now, but always after the
/// last scrape. A marker at the last sample's own millisecond would be a
/// duplicate timestamp the store refuses, and the removed target's series
/// would stay visible for the lookback window.
fn stale_time(now_ms: i64, last_scrape_ms: Option<i64>) -> i64 {
    match last_scrape_ms {
        Some(last) if last >= now_ms => last + 1,
        _ => now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_markers_come_after_the_last_scrape() {
        assert_eq!(stale_time(5_000, None), 5_000);
        assert_eq!(stale_time(5_000, Some(4_000)), 5_000);
        assert_eq!(stale_time(5_000, Some(5_000)), 5_001);
    }

    #[test]
    fn offset_is_stable_and_within_the_interval() {
        let i = Duration::from_secs(15);
        let a = slot_offset("t1", i, 1_000_000);
        assert!(a < i);
        // One second later the same slot is one second closer.
        let b = slot_offset("t1", i, 1_001_000);
        assert_eq!(
            (a.as_millis() as i64 - 1000).rem_euclid(15_000),
            b.as_millis() as i64
        );
    }
}
