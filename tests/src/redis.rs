//! Redis servers for tests: a master and replicas from the system's
//! `redis-server`, each on a free loopback port in its own temporary
//! directory with a generated config file, stopped by pid when dropped.
//!
//! `redis-cli` (Debian's `redis-tools`, installed with `redis-server`) runs
//! the few commands tests need, so this crate does not depend on a client.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use vigil_test_support::free_port;
use vigil_test_support::{ChildGuard, wait_until};

/// How long a server may take to accept commands, or a replica to finish
/// its first synchronisation. Generous for a loaded CI machine; polling
/// returns as soon as the condition holds.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a server could not be started or reached.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("cannot run {binary} ({source}); install it with `apt-get install -y {package}`")]
    Missing {
        binary: &'static str,
        package: &'static str,
        source: std::io::Error,
    },
    #[error("redis-cli {args}: {message}")]
    Cli { args: String, message: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// `requirepass` (and `masterauth` on replicas of such a master).
    pub password: Option<String>,
    /// The master to replicate from.
    pub replica_of: Option<SocketAddr>,
    /// Serve TLS only (`tls-port`), with a certificate for 127.0.0.1
    /// signed by a CA generated in the server's directory (see `ca_file`).
    pub tls: bool,
    /// Extra config lines, written verbatim.
    pub extra: Vec<String>,
}

/// One running (or stopped) redis-server.
pub struct RedisServer {
    dir: tempfile::TempDir,
    port: u16,
    options: RedisOptions,
    child: Option<ChildGuard>,
}

impl RedisServer {
    /// A master on a free port.
    pub fn start_master(password: Option<&str>) -> Result<RedisServer, RedisError> {
        Self::start_with(RedisOptions {
            password: password.map(str::to_string),
            ..RedisOptions::default()
        })
    }

    /// A replica of `self`, started and waited for until its link to the
    /// master is up (first full sync done) and the master lists it online.
    pub fn start_replica(&self) -> Result<RedisServer, RedisError> {
        let replica = Self::start_with(RedisOptions {
            password: self.options.password.clone(),
            replica_of: Some(self.addr()),
            tls: false,
            extra: Vec::new(),
        })?;
        wait_until("the replica's link to its master", READY_TIMEOUT, || {
            replica
                .cli(&["INFO", "replication"])
                .is_ok_and(|info| info.contains("master_link_status:up"))
        });
        // The master sees the replica `online` a moment after the replica
        // sees its link up (once the replica acknowledges the sync).
        let online = format!("port={},state=online", replica.port);
        wait_until(
            "the master to list the replica online",
            READY_TIMEOUT,
            || {
                self.cli(&["INFO", "replication"])
                    .is_ok_and(|info| info.contains(&online))
            },
        );
        Ok(replica)
    }

    pub fn start_with(options: RedisOptions) -> Result<RedisServer, RedisError> {
        let dir = tempfile::Builder::new().prefix("vigil-redis-").tempdir()?;
        let mut server = RedisServer {
            dir,
            port: free_port(),
            options,
            child: None,
        };
        if server.options.tls {
            make_test_certificates(server.dir.path())?;
        }
        server.write_config()?;
        server.start()?;
        Ok(server)
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("redis.conf")
    }

    fn write_config(&self) -> std::io::Result<()> {
        let dir = self.dir.path().display();
        let mut lines = vec![
            format!("port {}", if self.options.tls { 0 } else { self.port }),
            "bind 127.0.0.1".to_string(),
            "daemonize no".to_string(),
            format!("dir {dir}"),
            format!("logfile {dir}/redis.log"),
            // No snapshots: tests restart servers and want them fast.
            "save \"\"".to_string(),
            "appendonly no".to_string(),
            // Redis 7 waits 5 s for more replicas before a sync by default.
            "repl-diskless-sync-delay 0".to_string(),
        ];
        if let Some(password) = &self.options.password {
            lines.push(format!("requirepass {password}"));
            lines.push(format!("masterauth {password}"));
        }
        if self.options.tls {
            lines.push(format!("tls-port {}", self.port));
            lines.push(format!("tls-cert-file {dir}/server.crt"));
            lines.push(format!("tls-key-file {dir}/server.key"));
            lines.push(format!("tls-ca-cert-file {dir}/ca.crt"));
            lines.push("tls-auth-clients no".to_string());
        }
        if let Some(master) = self.options.replica_of {
            lines.push(format!("replicaof {} {}", master.ip(), master.port()));
        }
        lines.extend(self.options.extra.iter().cloned());
        std::fs::write(self.config_path(), lines.join("\n") + "\n")
    }

    /// Starts the server (again) on its port and waits until it answers
    /// PING. A replica is not waited for here: see `start_replica`.
    pub fn start(&mut self) -> Result<(), RedisError> {
        if self.is_running() {
            return Ok(());
        }
        let child = Command::new("redis-server")
            .arg(self.config_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| RedisError::Missing {
                binary: "redis-server",
                package: "redis-server",
                source,
            })?;
        self.child = Some(ChildGuard::new(format!("redis :{}", self.port), child));
        wait_until(
            &format!("redis on port {}", self.port),
            READY_TIMEOUT,
            || self.cli(&["PING"]).is_ok_and(|r| r.trim() == "PONG"),
        );
        Ok(())
    }

    /// Kills the server (by its pid) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.stop();
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| !c.has_exited())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(ChildGuard::id)
    }

    /// Sends a signal by name (`STOP`, `CONT`) to the running server, by
    /// its pid.
    pub fn signal(&self, name: &str) {
        let child = self.child.as_ref();
        child.expect("redis is not running").signal(name);
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `redis://127.0.0.1:port` (`rediss://` with TLS), without credentials.
    pub fn url(&self) -> String {
        let scheme = if self.options.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The PEM file of the CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs one command with `redis-cli` and returns its raw output.
    pub fn cli(&self, args: &[&str]) -> Result<String, RedisError> {
        let mut command = Command::new("redis-cli");
        command
            .arg("-h")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(self.port.to_string());
        if self.options.tls {
            command.arg("--tls").arg("--cacert").arg(self.ca_file());
        }
        if let Some(password) = &self.options.password {
            // Through the environment, not argv, so `ps` never shows it.
            command.env("REDISCLI_AUTH", password);
        }
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| RedisError::Missing {
                binary: "redis-cli",
                package: "redis-tools",
                source,
            })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() || stdout.starts_with("ERR") || stdout.starts_with("NOAUTH") {
            return Err(RedisError::Cli {
                args: args.join(" "),
                message: format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)),
            });
        }
        Ok(stdout)
    }
}

/// Writes `ca.crt`, `server.crt` and `server.key` into `dir`: a CA and a
/// certificate for 127.0.0.1 it signed, valid for a day, made with the
/// `openssl` command (Debian's `openssl` package). Used by the TLS servers
/// of the tests (Redis here, HAProxy's stats page).
pub fn make_test_certificates(dir: &Path) -> Result<(), RedisError> {
    std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n")?;
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=vigil-test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.cnf",
            "-out",
            "server.crt",
        ],
    ];
    for args in steps {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| RedisError::Missing {
                binary: "openssl",
                package: "openssl",
                source,
            })?;
        if !output.status.success() {
            return Err(RedisError::Cli {
                args: format!("openssl {}", args.join(" ")),
                message: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
    }
    Ok(())
}
