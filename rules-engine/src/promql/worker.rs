//! Threads with a large, known stack for parsing and evaluating queries.
//!
//! A stack overflow aborts the whole process, whichever thread it happens
//! on. [`super::limits`] bounds how deep any expression can make the parser
//! and the evaluator recurse; this is the second line: query and rule
//! evaluation run on threads whose stack is many times what that bound
//! needs, rather than on the blocking pool's (2 MiB) or a runtime worker's.
//! The stack is reserved address space; only the pages used are committed.

use std::sync::LazyLock;

use tokio::sync::Semaphore;

/// Stack of each evaluation thread. The deepest expression the limits let
/// through uses a few MiB in a debug build (see the test below).
pub const STACK_BYTES: usize = 64 << 20;

/// Evaluations running at once, as many as tokio's blocking pool allows
/// threads (512); more wait for a slot.
const MAX_THREADS: usize = 512;

static SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(MAX_THREADS));

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
            let _ = tx.send(f());
        })
        .map_err(|e| WorkerFailed(e.to_string()))?;
    // A panic drops the sender; its message went to the panic hook (logs).
    rx.await.map_err(|_| WorkerFailed("it panicked".into()))
}

/// [`run`] for synchronous callers (the command line): runs `f` on a
/// [`STACK_BYTES`] thread and waits for it.
pub fn run_sync<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WorkerFailed> {
    std::thread::Builder::new()
        .name("vigil-eval".into())
        .stack_size(STACK_BYTES)
        .spawn(f)
        .map_err(|e| WorkerFailed(e.to_string()))?
        .join()
        .map_err(|_| WorkerFailed("it panicked".into()))
}
