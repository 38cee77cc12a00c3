//! Waiting for background work without guessing a sleep: poll a condition
//! until it holds, failing with what was awaited once the limit passes.
//! The limit is a ceiling for a stuck test, never part of an assertion.

use std::time::{Duration, Instant};

/// How often a condition is polled.
pub const POLL: Duration = Duration::from_millis(20);

/// Polls `ready` (blocking the thread) until it holds; panics naming
/// `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, ready: impl FnMut() -> bool) {
    assert!(
        poll_until(timeout, ready),
        "timed out after {timeout:?} waiting for {what}"
    );
}

/// Polls `ready` (blocking the thread) until it holds (true) or `timeout`
/// passes (false): for a caller whose failure is an error value, or whose
/// message needs what was seen last (a log, a process that exited).
pub fn poll_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !ready() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
    true
}

/// [`wait_until`] for async tests: sleeps on the runtime between polls, so
/// the tasks being waited for keep running on a current-thread runtime.
pub async fn eventually(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// [`eventually`] for a condition that awaits (an HTTP query, a database
/// read): `eventually!(SECS, "what", cond)` re-evaluates `cond` in the
/// calling async function until it is true, failing after `SECS` seconds.
/// `what` is evaluated only on failure, after the last `cond`, so it can
/// show what `cond` saw last. A costly condition (a subprocess, a hundred
/// queries) is polled less often with `eventually!(SECS, what, cond,
/// every: DURATION)`.
#[macro_export]
macro_rules! eventually {
    ($secs:expr, $what:expr, $cond:expr) => {
        $crate::eventually!($secs, $what, $cond, every: $crate::eventually::POLL)
    };
    ($secs:expr, $what:expr, $cond:expr, every: $every:expr) => {{
        let timeout = ::std::time::Duration::from_secs($secs);
        let deadline = ::std::time::Instant::now() + timeout;
        loop {
            if $cond {
                break;
            }
            assert!(
                ::std::time::Instant::now() < deadline,
                "timed out after {:?} waiting for {}",
                timeout,
                $what
            );
            ::tokio::time::sleep($every).await;
        }
    }};
}

/// Waits up to `secs` seconds until `GET url` answers 2xx: a server's
/// readiness endpoint (`/-/ready`), `what` naming the server on failure.
pub async fn http_ready(what: &str, url: &str, secs: u64) {
    vigil_common::install_crypto_provider();
    let client = reqwest::Client::new();
    crate::eventually!(secs, format!("{what} ready on {url}"), {
        client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    });
}
