//! The `vigil` binary as a child process (`vigil run`), the way users run
//! it: a config file, a free loopback port, its log in a file. Stopped with
//! SIGTERM by its pid (a clean shutdown) when asked, killed when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::bins::vigil_bin;
use vigil_test_support::free_port;
use vigil_test_support::{ChildGuard, wait_for_tcp};

pub struct VigilProcess {
    child: ChildGuard,
    pub addr: SocketAddr,
    pub config: PathBuf,
    pub log: PathBuf,
}

impl VigilProcess {
    /// `vigil run --config.file CONFIG` on 127.0.0.1 (free port), logging
    /// to `log`; returns once it listens.
    pub fn start(config: &Path, log: &Path) -> VigilProcess {
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log_file = std::fs::File::create(log).expect("create vigil's log");
        let child = Command::new(vigil_bin())
            .arg("run")
            .arg("--config.file")
            .arg(config)
            .arg("--web.listen-address")
            .arg(addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start vigil");
        let child = ChildGuard::new("vigil", child);
        wait_for_tcp(addr, Duration::from_secs(30));
        VigilProcess {
            child,
            addr,
            config: config.to_path_buf(),
            log: log.to_path_buf(),
        }
    }

    /// [`VigilProcess::start`] once `vigil check config CONFIG` accepts the
    /// file (a drill's config mistake then fails with vigil's own message,
    /// not a timeout later).
    pub fn start_checked(config: &Path, log: &Path) -> VigilProcess {
        let check = Command::new(vigil_bin())
            .args(["check", "config"])
            .arg(config)
            .output()
            .expect("run vigil check config");
        assert!(
            check.status.success(),
            "vigil check config: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        VigilProcess::start(config, log)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits for the clean shutdown (killed after 30 s).
    pub fn terminate(&mut self) {
        self.child.terminate(Duration::from_secs(30));
    }

    /// SIGKILL: no clean shutdown, nothing released.
    pub fn kill(&mut self) {
        self.child.stop();
    }

    /// Runs another `vigil` subcommand with this instance's config file
    /// (`vigil sla report --config.file ...` and the like).
    pub fn command(&self, args: &[&str]) -> Output {
        Command::new(vigil_bin())
            .args(args)
            .arg("--config.file")
            .arg(&self.config)
            .output()
            .expect("run vigil")
    }
}
