//! Processes started by tests: stopped by their own id when the guard drops,
//! and waited on by polling a condition, never by a fixed sleep.

use std::net::{SocketAddr, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

/// Owns a child process and kills it (by its pid, nothing else) on drop.
pub struct ChildGuard {
    name: String,
    child: Child,
}

impl ChildGuard {
    pub fn new(name: impl Into<String>, child: Child) -> Self {
        ChildGuard {
            name: name.into(),
            child,
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the process has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Asks the process to shut down (SIGTERM, through `kill(1)` with its
    /// pid) and reaps it; kills it if it is still running after `grace`.
    /// For servers whose clean shutdown the test relies on.
    pub fn terminate(&mut self, grace: Duration) {
        if self.has_exited() {
            return;
        }
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.id().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while !self.has_exited() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
    }

    /// Kills the process and reaps it.
    pub fn stop(&mut self) {
        if !self.has_exited() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `ready` every 20 ms until it returns true or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_tcp(addr: SocketAddr, timeout: Duration) {
    wait_until(&format!("a listener on {addr}"), timeout, || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
}
