//! Debian's Prometheus as the tests' reference: started from
//! `/usr/bin/prometheus` on a free loopback port, its configuration and
//! TSDB in a folder the test owns, stopped with SIGTERM when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Prometheus {
    child: Option<Child>,
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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// SIGKILL: the data source vanishes mid-test.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}
