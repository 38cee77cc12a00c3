//! Debian's Prometheus as the tests' reference: started from
//! `/usr/bin/prometheus` on a free loopback port, its configuration and
//! TSDB in a folder the test owns, killed (by its pid) when dropped.

use std::path::Path;
use std::process::{Command, Stdio};

use vigil_test_support::{ChildGuard, free_port};

pub struct Prometheus {
    child: ChildGuard,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Prometheus {
    /// Writes `config` to `dir/prometheus.yml`, keeps the TSDB in
    /// `dir/data`, and passes `flags` on.
    pub fn start(dir: &Path, config: &str, flags: &[&str]) -> Prometheus {
        let bin = "/usr/bin/prometheus";
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: install Debian's `prometheus` package (scripts/test does)"
        );
        let cfg = dir.join("prometheus.yml");
        std::fs::write(&cfg, config).unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        Prometheus {
            child: ChildGuard::new(format!("prometheus :{port}"), child),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits until `/-/ready` answers 200 (the TSDB is open).
    pub async fn ready(&self) {
        vigil_test_support::http_ready("Prometheus", &format!("{}/-/ready", self.base), 60).await;
    }

    /// SIGKILL: the data source vanishes mid-test.
    pub fn kill(&mut self) {
        self.child.stop();
    }
}
