//! Debian's `python3-aiosmtpd` as a real SMTP server for end-to-end tests:
//! on a free loopback port, plain SMTP (no TLS), delivering every message
//! into a Maildir that the test reads back. Stopped by pid when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::ports::free_port;
use crate::process::{ChildGuard, wait_for_tcp};

pub struct Smtpd {
    _child: ChildGuard,
    pub port: u16,
    pub maildir: PathBuf,
}

impl Smtpd {
    /// `python3 -m aiosmtpd` with its Maildir handler into `maildir`.
    pub fn start(maildir: &Path) -> Smtpd {
        let port = free_port();
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 not found: apt-get install python3-aiosmtpd (scripts/test does)");
        let child = ChildGuard::new("aiosmtpd", child);
        wait_for_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(20));
        Smtpd {
            _child: child,
            port,
            maildir: maildir.to_path_buf(),
        }
    }

    /// `host:port` for a `smarthost` setting.
    pub fn smarthost(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The messages delivered so far, as raw text, sorted by file name.
    pub fn delivered(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }
}
