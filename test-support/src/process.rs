//! Processes started by tests: stopped by their own pid when the guard
//! drops (a failing test leaves nothing running), and waited on by polling
//! a condition, never by a fixed sleep.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::Duration;

use crate::eventually::{poll_until, wait_until};

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

    /// Sends a signal by name (`HUP`, `TERM`) to this process's pid,
    /// through `kill(1)`; panics if it cannot be delivered.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("kill -{name} {}: {e}", self.name))
            .success();
        assert!(ok, "kill -{name} {} (pid {})", self.name, self.id());
    }

    /// Asks the process to shut down (SIGTERM by its pid) and reaps it;
    /// kills it if it is still running after `grace`. For servers whose
    /// clean shutdown the test relies on.
    pub fn terminate(&mut self, grace: Duration) {
        if self.has_exited() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.id().to_string()])
            .status();
        poll_until(grace, || self.has_exited());
        self.stop();
    }

    /// Kills the process (SIGKILL: nothing saved on the way out) and
    /// reaps it.
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

/// A port on 127.0.0.1 that was free a moment ago: the OS picks it (bind to
/// port 0), then the listener is closed so a server we start can take it.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_tcp(addr: SocketAddr, timeout: Duration) {
    wait_until(&format!("a listener on {addr}"), timeout, || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
}
