//! Threads with a large, known stack for parsing and evaluating queries.
//!
//! A stack overflow aborts the whole process, whichever thread it happens
//! on. [`super::limits`] bounds how deep any expression can make the parser
//! and the evaluator recurse; this is the second line: query and rule
//! evaluation run on threads whose stack is many times what that bound
//! needs, rather than on the blocking pool's (2 MiB) or a runtime worker's.
//! The stack is reserved address space; only the pages used are committed.
//! The engine itself moves evaluation onto such a thread when it is called
//! from any other ([`large_stack`]), so every caller is covered (the SLA
//! evaluator on a runtime worker, the command line on the main thread).

use std::cell::Cell;
use std::sync::LazyLock;

use tokio::sync::Semaphore;

/// Stack of each evaluation thread. The deepest expression the limits let
/// through uses about 2 MiB in a debug build (`depth_tests.rs` checks that
/// it fits a sixteenth of this).
pub const STACK_BYTES: usize = 64 << 20;

/// Evaluations running at once, as many as tokio's blocking pool allows
/// threads (512); more wait for a slot.
const MAX_THREADS: usize = 512;

static SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(MAX_THREADS));

thread_local! {
    /// Whether this thread was started here, with a [`STACK_BYTES`] stack.
    static LARGE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` on this thread if it has a [`STACK_BYTES`] stack, else on a new
/// one (borrowing freely: the caller waits). A panic in `f` is resumed in
/// the caller, as if `f` had run here.
pub fn large_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if LARGE.with(Cell::get) {
        return f();
    }
    let mut job = Some(f);
    let done = std::thread::scope(|scope| {
        let slot = &mut job;
        let spawned = std::thread::Builder::new()
            .name("vigil-eval".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, move || {
                LARGE.with(|l| l.set(true));
                slot.take().map(|f| f())
            });
        match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start an evaluation thread; evaluating in place");
                None
            }
        }
    });
    match (done, job) {
        (Some(v), _) => v,
        // No thread to be had (resource limits): `super::limits` still
        // bounds the recursion, on this thread's stack.
        (None, Some(f)) => f(),
        (None, None) => unreachable!("the job ran but returned nothing"),
    }
}

/// Lets a test measure evaluation on a stack of its own choosing: the
/// engine then evaluates on the calling thread.
#[cfg(test)]
pub(crate) fn assume_large_stack() {
    LARGE.with(|l| l.set(true));
}

/// The work panicked, or its thread could not be started.
#[derive(Debug, thiserror::Error)]
#[error("evaluation thread failed: {0}")]
pub struct WorkerFailed(String);

/// Runs `f` on a new thread with a [`STACK_BYTES`] stack and waits for it
/// without blocking the async runtime.
pub async fn run<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WorkerFailed> {
    let _slot = SLOTS
        .acquire()
        .await
        .map_err(|e| WorkerFailed(e.to_string()))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("vigil-eval".into())
        .stack_size(STACK_BYTES)
        .spawn(move || {
            LARGE.with(|l| l.set(true));
            let _ = tx.send(f());
        })
        .map_err(|e| WorkerFailed(e.to_string()))?;
    // A panic drops the sender; its message went to the panic hook (logs).
    rx.await.map_err(|_| WorkerFailed("it panicked".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_stack_moves_work_once_and_resumes_panics() {
        let outer = std::thread::current().id();
        let (inner, nested) = large_stack(|| {
            let inner = std::thread::current().id();
            // Already on a large stack: no second thread.
            (inner, large_stack(|| std::thread::current().id()))
        });
        assert_ne!(inner, outer);
        assert_eq!(inner, nested);
        let borrowed = String::from("six");
        assert_eq!(large_stack(|| borrowed.len()), 3);
        let caught = std::panic::catch_unwind(|| large_stack(|| panic!("boom")));
        assert!(caught.is_err());
    }
}
