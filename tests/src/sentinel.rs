//! Redis Sentinels for tests: `redis-sentinel` processes (Debian's
//! `redis-sentinel` package) watching a master started with
//! [`crate::redis::RedisServer`], each on a free loopback port in its own
//! temporary directory (Sentinel rewrites its configuration file there),
//! stopped by pid when dropped.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::redis::RedisError;
use vigil_test_support::free_port;
use vigil_test_support::{ChildGuard, wait_until};

/// How long a Sentinel may take to answer, or a group to see each other.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The name the Sentinels give the watched master.
pub const MASTER_NAME: &str = "vigil-master";

/// One running redis-sentinel.
pub struct Sentinel {
    dir: tempfile::TempDir,
    port: u16,
    _child: ChildGuard,
}

impl Sentinel {
    /// Starts `count` Sentinels watching `master` (with `password` for the
    /// master and its replicas, if set), quorum 2, a master considered
    /// down after 1 s, and waits until each knows all the others and the
    /// master's replicas (`expected_replicas`).
    pub fn start_group(
        count: usize,
        master: SocketAddr,
        password: Option<&str>,
        expected_replicas: usize,
    ) -> Result<Vec<Sentinel>, RedisError> {
        let sentinels = (0..count)
            .map(|_| Sentinel::start(master, password))
            .collect::<Result<Vec<_>, _>>()?;
        for s in &sentinels {
            let peers = format!("sentinels={count}");
            let replicas = format!("slaves={expected_replicas}");
            wait_until(
                &format!("sentinel :{} to see its peers and replicas", s.port),
                READY_TIMEOUT,
                || {
                    s.cli(&["INFO", "sentinel"])
                        .is_ok_and(|i| i.contains(&peers) && i.contains(&replicas))
                },
            );
        }
        Ok(sentinels)
    }

    fn start(master: SocketAddr, password: Option<&str>) -> Result<Sentinel, RedisError> {
        let dir = tempfile::Builder::new()
            .prefix("vigil-sentinel-")
            .tempdir()?;
        let port = free_port();
        let d = dir.path().display();
        let mut lines = vec![
            format!("port {port}"),
            "bind 127.0.0.1".to_string(),
            "daemonize no".to_string(),
            format!("dir {d}"),
            format!("logfile {d}/sentinel.log"),
            format!(
                "sentinel monitor {MASTER_NAME} {} {} 2",
                master.ip(),
                master.port()
            ),
            format!("sentinel down-after-milliseconds {MASTER_NAME} 1000"),
            format!("sentinel failover-timeout {MASTER_NAME} 10000"),
        ];
        if let Some(pw) = password {
            lines.push(format!("sentinel auth-pass {MASTER_NAME} {pw}"));
        }
        let config = dir.path().join("sentinel.conf");
        std::fs::write(&config, lines.join("\n") + "\n")?;
        let child = Command::new("redis-sentinel")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| RedisError::Missing {
                binary: "redis-sentinel",
                package: "redis-sentinel",
                source,
            })?;
        let sentinel = Sentinel {
            dir,
            port,
            _child: ChildGuard::new(format!("redis-sentinel :{port}"), child),
        };
        wait_until(&format!("sentinel :{port}"), READY_TIMEOUT, || {
            sentinel.cli(&["PING"]).is_ok_and(|r| r.trim() == "PONG")
        });
        Ok(sentinel)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The directory with its configuration and log.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The master's address as this Sentinel knows it (`ip:port`).
    pub fn master_address(&self) -> Result<String, RedisError> {
        let out = self.cli(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME])?;
        let parts: Vec<&str> = out.split_whitespace().collect();
        Ok(parts.join(":"))
    }

    /// Runs one command with `redis-cli` and returns its raw output.
    pub fn cli(&self, args: &[&str]) -> Result<String, RedisError> {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| RedisError::Missing {
                binary: "redis-cli",
                package: "redis-tools",
                source,
            })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() || stdout.starts_with("ERR") {
            return Err(RedisError::Cli {
                args: args.join(" "),
                message: format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)),
            });
        }
        Ok(stdout)
    }
}
