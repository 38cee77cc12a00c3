//! HAProxy for tests: the system's `haproxy` in the foreground (`-db`) with
//! a generated config in a temporary directory:
//!
//! - frontend `web` on a free port, balancing to backend `app`;
//! - backend `app` with one server per given address (`app1`, `app2`, ...),
//!   health-checked with `option httpchk GET /health` every 100 ms, so a
//!   test sees state changes quickly;
//! - a stats page at `/stats` with basic auth on its own free port, which
//!   also serves HAProxy's built-in Prometheus exporter on paths starting
//!   with `/metrics` for side-by-side checks (and as a page that is not a
//!   stats CSV);
//! - a runtime API socket `admin.sock` in the temporary directory.
//!
//! With `tls`, the stats page is served over HTTPS only, with a certificate
//! for 127.0.0.1 signed by a CA generated in the directory (`ca_file`).
//!
//! Stopped by pid when dropped; `stop` and `start` for failure tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use vigil_test_support::free_port;
use vigil_test_support::{ChildGuard, wait_for_tcp, wait_until};

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// What to start.
#[derive(Debug, Clone)]
pub struct HaproxyOptions {
    /// The app servers of backend `app`.
    pub servers: Vec<SocketAddr>,
    pub stats_user: String,
    pub stats_password: String,
    /// Serve the stats page over HTTPS.
    pub tls: bool,
}

/// One running (or stopped) HAProxy.
pub struct HaproxyServer {
    dir: tempfile::TempDir,
    pub web_port: u16,
    pub stats_port: u16,
    options: HaproxyOptions,
    child: Option<ChildGuard>,
}

impl HaproxyServer {
    pub fn start(options: HaproxyOptions) -> std::io::Result<HaproxyServer> {
        let dir = tempfile::Builder::new()
            .prefix("vigil-haproxy-")
            .tempdir()?;
        let mut server = HaproxyServer {
            dir,
            web_port: free_port(),
            stats_port: free_port(),
            options,
            child: None,
        };
        if server.options.tls {
            crate::redis::make_test_certificates(server.dir.path())
                .map_err(std::io::Error::other)?;
            let dir = server.dir.path();
            // HAProxy wants the certificate and its key in one PEM file.
            let pem = std::fs::read_to_string(dir.join("server.crt"))?
                + &std::fs::read_to_string(dir.join("server.key"))?;
            std::fs::write(dir.join("stats.pem"), pem)?;
        }
        std::fs::write(server.config_path(), server.config())?;
        server.restart()?;
        Ok(server)
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("haproxy.cfg")
    }

    fn config(&self) -> String {
        let servers: String = self
            .options
            .servers
            .iter()
            .enumerate()
            .map(|(i, addr)| format!("    server app{} {addr} check\n", i + 1))
            .collect();
        format!(
            "global\n\
             \x20   stats socket {socket} mode 600 level admin\n\
             defaults\n\
             \x20   mode http\n\
             \x20   timeout connect 1s\n\
             \x20   timeout client 10s\n\
             \x20   timeout server 10s\n\
             frontend web\n\
             \x20   bind 127.0.0.1:{web}\n\
             \x20   default_backend app\n\
             backend app\n\
             \x20   option httpchk GET /health\n\
             \x20   default-server inter 100ms fall 1 rise 1\n\
             {servers}\
             frontend stats\n\
             \x20   bind 127.0.0.1:{stats}{ssl}\n\
             \x20   http-request use-service prometheus-exporter if {{ path_beg /metrics }}\n\
             \x20   stats enable\n\
             \x20   stats uri /stats\n\
             \x20   stats auth {user}:{password}\n",
            socket = self.socket().display(),
            web = self.web_port,
            stats = self.stats_port,
            ssl = if self.options.tls {
                format!(" ssl crt {}", self.dir.path().join("stats.pem").display())
            } else {
                String::new()
            },
            user = self.options.stats_user,
            password = self.options.stats_password,
        )
    }

    /// Starts HAProxy (again) and waits until the stats page and the
    /// runtime API socket accept connections.
    pub fn restart(&mut self) -> std::io::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let _ = std::fs::remove_file(self.socket());
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(self.config_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(
                self.dir.path().join("haproxy.log"),
            )?))
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot run haproxy ({e}); install it with `apt-get install -y haproxy`"
                    ),
                )
            })?;
        self.child = Some(ChildGuard::new("haproxy", child));
        wait_for_tcp(self.stats_addr(), READY_TIMEOUT);
        wait_until("the HAProxy runtime API socket", READY_TIMEOUT, || {
            std::os::unix::net::UnixStream::connect(self.socket()).is_ok()
        });
        Ok(())
    }

    /// Kills HAProxy by its pid.
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

    pub fn stats_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.stats_port))
    }

    fn stats_scheme(&self) -> &'static str {
        if self.options.tls { "https" } else { "http" }
    }

    /// The stats page, without `;csv` and without credentials.
    pub fn stats_url(&self) -> String {
        format!(
            "{}://127.0.0.1:{}/stats",
            self.stats_scheme(),
            self.stats_port
        )
    }

    /// HAProxy's built-in Prometheus exporter.
    pub fn builtin_metrics_url(&self) -> String {
        format!(
            "{}://127.0.0.1:{}/metrics",
            self.stats_scheme(),
            self.stats_port
        )
    }

    /// The PEM file of the CA that signed the stats page's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    pub fn web_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.web_port)
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn stats_user(&self) -> &str {
        &self.options.stats_user
    }

    pub fn stats_password(&self) -> &str {
        &self.options.stats_password
    }
}
