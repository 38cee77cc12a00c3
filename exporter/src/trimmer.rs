//! Frees a scrape's families and returns the heap's free pages to the
//! system, on a thread of its own, after each scrape.
//!
//! A scrape allocates its families (thousands of small label strings, the
//! PostgreSQL answers). Freeing them was a twentieth of the exporter's CPU
//! per scrape, on the one runtime thread (see `main.rs`) before the answer
//! could go out; here it happens while the answer is sent. Then glibc
//! keeps the freed pages, and whatever stays allocated among them keeps
//! them resident until the next scrape reuses them: `malloc_trim` gives
//! them back. It walks the heap and can take a millisecond, so it too runs
//! here, never on the runtime's thread. Requests that arrive while it runs
//! wait for one more pass; past a few, they are done on the caller's thread.

use std::any::Any;
use std::sync::OnceLock;
use std::sync::mpsc::{self, SyncSender, TrySendError};

/// Something to free on the trimmer's thread.
type Garbage = Box<dyn Any + Send>;

static TRIMMER: OnceLock<Option<SyncSender<Garbage>>> = OnceLock::new();

/// Frees `garbage` and trims soon, off the caller's thread; never blocks.
/// If the thread cannot be started or is busy with earlier requests,
/// `garbage` is freed here and now.
pub fn dispose(garbage: Garbage) {
    let Some(sender) = TRIMMER.get_or_init(start) else {
        return;
    };
    match sender.try_send(garbage) {
        Ok(()) => {}
        Err(TrySendError::Full(garbage) | TrySendError::Disconnected(garbage)) => drop(garbage),
    }
}

fn start() -> Option<SyncSender<Garbage>> {
    // A few pending requests: a trim after them covers them all.
    let (sender, receiver) = mpsc::sync_channel::<Garbage>(4);
    std::thread::Builder::new()
        .name("trim".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            while let Ok(garbage) = receiver.recv() {
                drop(garbage);
                // Everything already queued is freed before the one trim.
                while let Ok(more) = receiver.try_recv() {
                    drop(more);
                }
                trim();
            }
        })
        .map_err(|e| tracing::debug!(error = %e, "no trim thread"))
        .ok()?;
    Some(sender)
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the allocator's
    // arenas to the system; it touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn garbage_is_freed() {
        let value = Arc::new(());
        dispose(Box::new(value.clone()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&value) > 1 {
            assert!(Instant::now() < deadline, "never freed");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
