//! A notification pipeline driven by a [`ManualClock`]: the test moves the
//! clock and then waits until the pipeline has done everything the move
//! made due ("settled"), so a test proves that nothing more is sent by
//! moving the clock past every wait (group_interval, retries, polls)
//! rather than by sleeping through them.
//!
//! Settled means: the dispatcher and its sender both sleep on the clock
//! again, and no outbox row is due at the clock's time (a due row is being
//! sent or about to be). A batch handed to the dispatcher is not seen by
//! that test until the dispatcher takes it, so after sending, wait with
//! [`ingested`] first.

#![allow(dead_code)]

use std::time::Duration;

use vigil::clock::{Clock, ManualClock};
use vigil::db::Db;
use vigil::notify::Dispatcher;
use vigil::notify::tables::OutboxStore;
use vigil::rules::query::{AlertSink, OutgoingAlert};
use vigil_test_support::eventually;

/// How often a settle polls: a test settles after every move of the
/// clock, and the tasks react within microseconds.
const QUICK: Duration = Duration::from_millis(5);

/// The tasks of an idle dispatcher on SQLite that sleep on the clock: the
/// dispatcher's schedule and the sender's poll.
pub const TASKS: usize = 2;

/// The wall clock now, in ms: where a test's manual clock starts, so the
/// times it stores look like any others.
pub fn wall_ms() -> i64 {
    vigil::clock::SystemClock.now_ms()
}

/// Waits (10 s of real time at most) until the pipeline is idle at the
/// clock's current time.
pub async fn settle(clock: &ManualClock, db: &Db) {
    eventually!(
        10,
        format!(
            "the pipeline to settle: {} tasks sleep on the clock, next due {:?}, now {}",
            clock.sleepers(),
            db.next_due().await,
            clock.now()
        ),
        // Asked again after the database read: a task that woke meanwhile
        // (a batch arrived, a row came due) dropped its sleep.
        clock.sleepers() >= TASKS
            && db.next_due().await.unwrap().is_none_or(|t| t > clock.now())
            && clock.sleepers() >= TASKS,
        every: QUICK
    );
}

/// Moves the clock forward by `total` in `step`s, settling after each.
pub async fn run_for(clock: &ManualClock, db: &Db, step: Duration, total: Duration) {
    let mut moved = Duration::ZERO;
    settle(clock, db).await;
    while moved < total {
        let d = step.min(total - moved);
        clock.advance(d);
        moved += d;
        settle(clock, db).await;
    }
}

/// Moves the clock forward in `step`s, settling after each, until `done`
/// holds; fails after `limit` of clock time. Returns the clock time it
/// took.
pub async fn drive_until(
    clock: &ManualClock,
    db: &Db,
    what: &str,
    step: Duration,
    limit: Duration,
    mut done: impl AsyncFnMut() -> bool,
) -> Duration {
    let start = clock.now_ms();
    settle(clock, db).await;
    loop {
        let took = Duration::from_millis((clock.now_ms() - start) as u64);
        if done().await {
            return took;
        }
        assert!(took < limit, "{what}: not after {took:?} of clock time");
        clock.advance(step);
        settle(clock, db).await;
    }
}

/// Hands `alerts` to the dispatcher and waits until it holds each of them
/// as sent (same labels, and the same end where one is given).
pub async fn send(d: &Dispatcher, alerts: Vec<OutgoingAlert>) {
    let wanted: Vec<_> = alerts
        .iter()
        .map(|a| (a.labels.clone(), (a.ends_at > 0).then_some(a.ends_at)))
        .collect();
    d.send(alerts);
    ingested(d, |held| {
        wanted.iter().all(|(labels, ends)| {
            held.iter()
                .any(|(l, e)| l == labels && ends.is_none_or(|x| Some(x) == *e))
        })
    })
    .await;
}

/// Waits (10 s of real time at most) until the dispatcher's held alerts,
/// as (labels, end in ms), satisfy `ok`.
pub async fn ingested(
    d: &Dispatcher,
    mut ok: impl FnMut(&[(vigil::model::Labels, Option<i64>)]) -> bool,
) {
    let mut held: Vec<_>;
    eventually!(
        10,
        format!("the dispatcher to take the alerts; it holds {held:?}"),
        {
            held = d
                .alerts()
                .into_iter()
                .map(|(a, _)| (a.labels, a.ends_at.map(|t| t.timestamp_millis())))
                .collect();
            ok(&held)
        },
        every: QUICK
    );
}
