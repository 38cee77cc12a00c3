//! Time as an input: the one clock every stage reads (scrape timestamps,
//! rule and SLA slots, notify's waits and instants). A running vigil uses
//! [`SystemClock`]; tests use [`ManualClock`], which only moves when told
//! to and wakes the tasks sleeping on it when it does, so a test proves
//! that nothing more happens by moving the clock past every wait instead
//! of sleeping through them.
//!
//! A leaf: it imports no other part of vigil, so every stage may import it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

/// A wait on a [`Clock`]; dropping it stops waiting.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Milliseconds since the Unix epoch, and waits measured on the same time.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;

    /// Resolves once the clock reads `deadline_ms` or later.
    fn sleep_until_ms(&self, deadline_ms: i64) -> Sleep;

    /// The current instant.
    fn now(&self) -> DateTime<Utc> {
        from_ms(self.now_ms())
    }

    /// Resolves once `d` has passed on this clock.
    fn sleep(&self, d: Duration) -> Sleep {
        self.sleep_until_ms(self.now_ms().saturating_add(millis(d)))
    }

    /// Resolves once the clock reads `t` or later.
    fn sleep_until(&self, t: DateTime<Utc>) -> Sleep {
        self.sleep_until_ms(t.timestamp_millis())
    }
}

/// The instant `ms` milliseconds after the epoch (the earliest
/// representable one when out of range).
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A duration in whole milliseconds, saturating.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The system's wall clock; waits run on tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis()
    }

    fn sleep_until_ms(&self, deadline_ms: i64) -> Sleep {
        let left = deadline_ms.saturating_sub(self.now_ms()).max(0);
        Box::pin(tokio::time::sleep(Duration::from_millis(left as u64)))
    }

    /// Full precision, as the wall clock gives it.
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// On tokio's monotonic timer: a wall-clock step does not stretch it.
    fn sleep(&self, d: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock that only moves when told to. Its sleeps are registered with
/// it and woken by [`ManualClock::set`] and [`ManualClock::advance`]
/// once their deadline is reached. Cloning shares the clock.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<Mutex<Manual>>);

#[derive(Debug, Default)]
struct Manual {
    now_ms: i64,
    next_id: u64,
    /// Pending sleeps by id: deadline and the task to wake.
    sleepers: BTreeMap<u64, (i64, Waker)>,
}

impl ManualClock {
    pub fn new(ms: i64) -> Self {
        ManualClock(Arc::new(Mutex::new(Manual {
            now_ms: ms,
            ..Manual::default()
        })))
    }

    /// Sets the time and wakes the sleeps now due.
    pub fn set(&self, ms: i64) {
        let due: Vec<Waker> = {
            let mut m = self.0.lock();
            m.now_ms = ms;
            let ids: Vec<u64> = m
                .sleepers
                .iter()
                .filter(|(_, (deadline, _))| *deadline <= ms)
                .map(|(id, _)| *id)
                .collect();
            ids.iter()
                .filter_map(|id| m.sleepers.remove(id))
                .map(|(_, w)| w)
                .collect()
        };
        for w in due {
            w.wake();
        }
    }

    /// Moves the time forward by `d` and wakes the sleeps now due.
    pub fn advance(&self, d: Duration) {
        let now = self.0.lock().now_ms;
        self.set(now.saturating_add(millis(d)));
    }

    /// How many sleeps wait on this clock: a task woken by a move is not
    /// counted again until it sleeps again, which is how a test knows the
    /// tasks it drives have gone back to waiting.
    pub fn sleepers(&self) -> usize {
        self.0.lock().sleepers.len()
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.lock().now_ms
    }

    fn sleep_until_ms(&self, deadline_ms: i64) -> Sleep {
        Box::pin(ManualSleep {
            clock: self.0.clone(),
            deadline_ms,
            id: None,
        })
    }
}

/// One sleep on a [`ManualClock`]: registered while pending, removed when
/// it completes or is dropped.
struct ManualSleep {
    clock: Arc<Mutex<Manual>>,
    deadline_ms: i64,
    id: Option<u64>,
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut m = this.clock.lock();
        if m.now_ms >= this.deadline_ms {
            if let Some(id) = this.id.take() {
                m.sleepers.remove(&id);
            }
            return Poll::Ready(());
        }
        let id = *this.id.get_or_insert_with(|| {
            m.next_id += 1;
            m.next_id
        });
        m.sleepers
            .insert(id, (this.deadline_ms, cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for ManualSleep {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.clock.lock().sleepers.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_sleep_ends_when_the_clock_reaches_its_deadline() {
        let clock = ManualClock::new(1_000);
        let c: Arc<dyn Clock> = Arc::new(clock.clone());
        let task = tokio::spawn(async move { c.sleep(Duration::from_millis(500)).await });
        while clock.sleepers() == 0 {
            tokio::task::yield_now().await;
        }
        clock.advance(Duration::from_millis(499));
        assert_eq!(clock.sleepers(), 1, "not due yet");
        clock.advance(Duration::from_millis(1));
        assert_eq!(clock.sleepers(), 0, "woken and unregistered");
        task.await.unwrap();
        assert_eq!(clock.now_ms(), 1_500);
    }

    #[tokio::test]
    async fn a_dropped_sleep_is_unregistered_and_a_past_deadline_is_ready() {
        let clock = ManualClock::new(0);
        let mut s = clock.sleep_until_ms(10);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(s.as_mut().poll(&mut cx).is_pending());
        assert_eq!(clock.sleepers(), 1);
        drop(s);
        assert_eq!(clock.sleepers(), 0);
        let mut past = clock.sleep_until_ms(-5);
        assert!(past.as_mut().poll(&mut cx).is_ready());
        assert_eq!(clock.now(), from_ms(0));
    }

    #[tokio::test]
    async fn the_system_clock_reads_and_sleeps_on_real_time() {
        let c = SystemClock;
        c.sleep(Duration::from_millis(1)).await;
        c.sleep_until_ms(c.now_ms() - 1_000).await;
        let (ms, t) = (c.now_ms(), c.now());
        assert!((t.timestamp_millis() - ms).abs() < 60_000, "{ms} vs {t}");
    }
}
