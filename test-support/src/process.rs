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

/// A port on 127.0.0.1 that was free a moment ago, for a server a test
/// starts (PostgreSQL, Redis, HAProxy take a port number, not a socket).
///
/// It is picked outside the kernel's ephemeral range: a port that binding
/// to port 0 handed out comes from that range, and between closing it and
/// the server binding it, any outgoing connection of the machine (other
/// tests' clients) could take it as its local port. A random port below or
/// above the range is checked free by binding it; only when none of many
/// is free does the OS pick.
pub fn free_port() -> u16 {
    use std::hash::BuildHasher;
    let (low, high) = ephemeral_range();
    let below = u32::from(low - 1024);
    let outside = below + (65535 - u32::from(high));
    for attempt in 0..64u32 {
        if outside == 0 {
            break;
        }
        // Each `RandomState` has keys of its own, random per process and
        // thread: concurrent tests do not try the same ports in order.
        let n = (std::collections::hash_map::RandomState::new().hash_one(attempt)
            % u64::from(outside)) as u32;
        let port = if n < below {
            1024 + n
        } else {
            u32::from(high) + 1 + (n - below)
        };
        let port = port as u16;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// The kernel's ephemeral port range (Linux's default when unreadable).
fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut parts = text.split_whitespace().map(|p| p.parse::<u16>());
            Some((parts.next()?.ok()?, parts.next()?.ok()?))
        })
        .filter(|(low, high)| 1024 <= *low && low <= high)
        .unwrap_or((32768, 60999))
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_tcp(addr: SocketAddr, timeout: Duration) {
    wait_until(&format!("a listener on {addr}"), timeout, || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
}
