//! Returns the heap's free pages to the system after each scrape.
//!
//! A scrape allocates its families (thousands of small label strings, the
//! PostgreSQL answers) and frees them all once the text is written; glibc
//! keeps those pages, and whatever stays allocated among them keeps them
//! resident until the next scrape reuses them. `malloc_trim` gives them
//! back. It walks the heap and can take a millisecond, so it runs on a
//! thread of its own, never on the runtime's thread (the exporter runs
//! one, see `main.rs`), where it would delay the answer it follows.
//! Requests that arrive while it runs are merged into one more pass.

use std::sync::OnceLock;
use std::sync::mpsc::{self, SyncSender, TrySendError};

static TRIMMER: OnceLock<Option<SyncSender<()>>> = OnceLock::new();

/// Asks for a trim soon; never blocks. Does nothing where glibc's
/// `malloc_trim` does not exist, or if the thread cannot be started.
pub fn request() {
    let sender = TRIMMER.get_or_init(start);
    if let Some(sender) = sender {
        match sender.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => {}
        }
    }
}

fn start() -> Option<SyncSender<()>> {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return None;
    }
    // One pending request is enough: a trim after it covers them all.
    let (sender, receiver) = mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("trim".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            while receiver.recv().is_ok() {
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
