//! Real PostgreSQL servers for tests: a primary and, on request, a streaming
//! replica made with `pg_basebackup -R`, each on a free loopback port in its
//! own temporary directory.
//!
//! PostgreSQL refuses to run as root (and CI runs as root), so every server
//! command (`initdb`, `pg_ctl`, `pg_basebackup`, `psql`) runs as the
//! `postgres` system user through `runuser -u postgres --`, on a directory
//! that user owns. The packages' system services are never touched: each
//! [`PgServer`] is its own cluster, stopped with `pg_ctl stop` on its own data
//! directory when it is dropped.
//!
//! ```no_run
//! use vigil_tests::postgres::PgServer;
//! let primary = PgServer::start_primary().unwrap();
//! let replica = primary.start_replica().unwrap();
//! replica.wait_caught_up(&primary).unwrap();
//! assert_eq!(replica.query("SELECT pg_is_in_recovery()").unwrap(), "t");
//! ```
//!
//! Layout of one server's temporary directory (owned by `postgres`, mode 0700):
//!
//! ```text
//! /tmp/vigil-pg-XXXX/
//!   data/           the cluster (PGDATA)
//!   postgres.log    the server log (pg_ctl -l)
//!   .s.PGSQL.<port> the Unix socket psql uses (trust auth, local only)
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use vigil_test_support::{free_port, poll_until};

/// The password of the `postgres` superuser in every test cluster. TCP
/// connections use scram-sha-256, so a DSN must carry it; a test that wants
/// to prove a password never leaks should use a *different*, distinctive one.
pub const SUPERUSER_PASSWORD: &str = "vigil-test-superuser-pw";

/// The system user that owns and runs the test clusters.
const OS_USER: &str = "postgres";

/// How long a server may take to start, stop, or a replica to catch up. Far
/// above what it needs on an idle machine; tests poll, so this is only the
/// point at which they give up.
const PATIENCE: Duration = Duration::from_secs(60);

/// A command around a test cluster failed; `output` holds its stderr (and the
/// server log's tail when a start failed) so the failure explains itself.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {output}")]
pub struct PgError {
    pub what: String,
    pub output: String,
}

impl PgError {
    fn new(what: impl Into<String>, output: impl Into<String>) -> Self {
        PgError {
            what: what.into(),
            output: output.into(),
        }
    }
}

/// Whether a server is a primary or a standby streaming from one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Primary,
    Replica,
}

/// One running PostgreSQL cluster of our own. Dropping it stops the server
/// (`pg_ctl stop -m fast` on its data directory) and deletes the directory.
pub struct PgServer {
    role: Role,
    port: u16,
    bin: PathBuf,
    /// Removed when the server is dropped, after `Drop::drop` has stopped
    /// the server that uses it (fields drop after that body runs).
    dir: tempfile::TempDir,
    running: bool,
}

impl PgServer {
    /// Creates a fresh cluster (`initdb`, superuser `postgres` with
    /// [`SUPERUSER_PASSWORD`], scram-sha-256 on TCP, trust on the socket) and
    /// starts it on a free port of 127.0.0.1.
    pub fn start_primary() -> Result<PgServer, PgError> {
        let bin = bin_dir()?;
        let dir = owned_temp_dir()?;
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, SUPERUSER_PASSWORD)
            .map_err(|e| PgError::new("writing the password file", e.to_string()))?;
        chown_to_postgres(&pwfile)?;
        let data = dir.path().join("data");
        run_as_postgres(
            &bin.join("initdb"),
            &[
                "--no-sync",
                "--username=postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                &format!("--pwfile={}", pwfile.display()),
                "-D",
                &data.display().to_string(),
            ],
            dir.path(),
        )
        .map_err(|e| with_hint(e, "initdb"))?;
        // initdb's pg_hba.conf allows replication from 127.0.0.1 with the same
        // method as `--auth-host`, which is what the replica needs.
        let mut server = PgServer {
            role: Role::Primary,
            port: free_port(),
            bin,
            dir,
            running: false,
        };
        server.start()?;
        Ok(server)
    }

    /// Makes a streaming replica of this primary with `pg_basebackup -R`
    /// (which writes `primary_conninfo` and `standby.signal`) through a
    /// physical replication slot named [`PgServer::slot_name`], and starts it
    /// on its own free port.
    pub fn start_replica(&self) -> Result<PgServer, PgError> {
        let dir = owned_temp_dir()?;
        let data = dir.path().join("data");
        let port = free_port();
        let slot = format!("vigil_replica_{port}");
        let conn = format!(
            "host=127.0.0.1 port={} user=postgres password={SUPERUSER_PASSWORD} \
             application_name=vigil_replica_{port}",
            self.port
        );
        run_as_postgres(
            &self.bin.join("pg_basebackup"),
            &[
                "-d",
                &conn,
                "-D",
                &data.display().to_string(),
                "-R",
                "-X",
                "stream",
                "-C",
                "-S",
                &slot,
                "--no-sync",
                "--checkpoint=fast",
            ],
            dir.path(),
        )?;
        let mut server = PgServer {
            role: Role::Replica,
            port,
            bin: self.bin.clone(),
            dir,
            running: false,
        };
        server.start()?;
        Ok(server)
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `127.0.0.1:<port>`: the value postgres_exporter (and vigil) put in the
    /// `server` label for this server.
    pub fn server_label(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A TCP DSN for the superuser on database `postgres`.
    pub fn dsn(&self) -> String {
        self.dsn_with(SUPERUSER_PASSWORD, "postgres")
    }

    /// A TCP DSN for the superuser with any password and database, e.g. a
    /// distinctive wrong password for a no-secrets-in-errors test.
    pub fn dsn_with(&self, password: &str, database: &str) -> String {
        self.dsn_for("postgres", password, database)
    }

    /// A TCP DSN for any role, e.g. a monitoring role made with
    /// `CREATE ROLE mon LOGIN PASSWORD '...' IN ROLE pg_monitor`. The
    /// password is used as is: keep it to URL-safe characters.
    pub fn dsn_for(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// The name of the replication slot a replica streams through (set on
    /// the replica; the slot itself lives on the primary).
    pub fn slot_name(&self) -> Option<String> {
        (self.role == Role::Replica).then(|| format!("vigil_replica_{}", self.port))
    }

    /// The `application_name` a replica reports to its primary.
    pub fn application_name(&self) -> Option<String> {
        self.slot_name()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The postmaster's process id, read from `postmaster.pid`.
    pub fn pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// Starts the server (again) with `pg_ctl start -w` on its own port; the
    /// data directory is kept, so a stopped primary comes back with its data
    /// and its replica reconnects by itself. Runs with `fsync=off` (test data
    /// needs no durability, and several servers share slow disks),
    /// `max_connections=50`, and `pg_stat_statements` preloaded (it ships
    /// with the server package; `CREATE EXTENSION pg_stat_statements` in a
    /// database makes its view available there).
    pub fn start(&mut self) -> Result<(), PgError> {
        if self.running {
            return Ok(());
        }
        // WAL archiving on, to a command that keeps nothing: a primary then
        // has `pg_stat_archiver` times once a segment is switched, as the
        // continuous-archiving backups of the documents have.
        let options = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c fsync=off -c max_connections=50 \
             -c shared_preload_libraries=pg_stat_statements \
             -c archive_mode=on -c archive_command=/bin/true",
            self.port,
            self.dir.path().display()
        );
        let result = run_as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "start",
                "-w",
                "-t",
                &PATIENCE.as_secs().to_string(),
                "-D",
                &self.data_dir().display().to_string(),
                "-l",
                &self.log_file().display().to_string(),
                "-o",
                &options,
            ],
            self.dir.path(),
        );
        if let Err(e) = result {
            let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(PgError::new(
                format!("starting PostgreSQL on port {}", self.port),
                format!("{}\n--- server log ---\n{}", e.output, tail.join("\n")),
            ));
        }
        self.running = true;
        Ok(())
    }

    /// Switches to a new WAL segment and waits until the archiver has
    /// archived the finished one, so `pg_stat_archiver` has a last archived
    /// time (archiving is on, see [`PgServer::start`]).
    pub fn archive_one_segment(&self) -> Result<(), PgError> {
        let before = self.query("SELECT archived_count FROM pg_stat_archiver")?;
        // A switch on an empty segment does nothing: write something first.
        self.query("CREATE TABLE vigil_wal_switch (); DROP TABLE vigil_wal_switch")?;
        self.query("SELECT pg_switch_wal()")?;
        vigil_test_support::wait_until("a WAL segment archived", PATIENCE, || {
            self.query("SELECT archived_count FROM pg_stat_archiver")
                .is_ok_and(|n| n.trim() != before.trim())
        });
        Ok(())
    }

    /// Stops the server with `pg_ctl stop -m fast -w` (clients are
    /// disconnected, the shutdown checkpoint is written) and waits for it.
    pub fn stop(&mut self) -> Result<(), PgError> {
        if !self.running {
            return Ok(());
        }
        run_as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "stop",
                "-w",
                "-m",
                "fast",
                "-t",
                &PATIENCE.as_secs().to_string(),
                "-D",
                &self.data_dir().display().to_string(),
            ],
            self.dir.path(),
        )?;
        self.running = false;
        Ok(())
    }

    /// Runs SQL with `psql` over the Unix socket as the superuser, on
    /// database `postgres`, and returns its output without headers or
    /// alignment (`-At`), trimmed: `"t"`, `"42"`, rows as `a|b` lines.
    pub fn query(&self, sql: &str) -> Result<String, PgError> {
        self.query_db("postgres", sql)
    }

    /// [`PgServer::query`] on another database.
    pub fn query_db(&self, database: &str, sql: &str) -> Result<String, PgError> {
        let out = run_as_postgres(
            &self.bin.join("psql"),
            &[
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &self.dir.path().display().to_string(),
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
            self.dir.path(),
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Turns TLS on (`ssl = on` by `ALTER SYSTEM` and a reload, no restart)
    /// with a fresh self-signed ECDSA certificate for `127.0.0.1` (as an IP
    /// subject alternative name, so `sslmode=verify-full` can check it), and
    /// returns the path of a copy of that certificate to use as
    /// `sslrootcert`. Plain connections keep working (`pg_hba.conf` is
    /// `host`, which allows both).
    pub fn enable_tls(&self) -> Result<PathBuf, PgError> {
        let data = self.data_dir();
        let (key, cert) = (data.join("server.key"), data.join("server.crt"));
        let out = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .map_err(|e| {
                PgError::new(
                    "running openssl (install the openssl package)",
                    e.to_string(),
                )
            })?;
        check("openssl req", out)?;
        chown_to_postgres(&key)?;
        chown_to_postgres(&cert)?;
        // PostgreSQL refuses a key file that others can read.
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| PgError::new("chmod server.key", e.to_string()))?;
        let root_cert = self.dir.path().join("root.crt");
        std::fs::copy(&cert, &root_cert)
            .map_err(|e| PgError::new("copying the certificate", e.to_string()))?;
        // ALTER SYSTEM cannot run in psql's implicit transaction with another
        // statement: one call each.
        self.query("ALTER SYSTEM SET ssl = on")?;
        self.query("SELECT pg_reload_conf()")?;
        let mut ssl = Ok(String::new());
        if !poll_until(PATIENCE, || {
            ssl = self.query("SHOW ssl");
            ssl.as_ref().map_or(true, |v| v == "on")
        }) {
            return Err(PgError::new(
                "enabling TLS",
                "ssl is still off after the reload",
            ));
        }
        ssl?;
        Ok(root_cert)
    }

    /// Waits until this replica is streaming from `primary` and has replayed
    /// everything the primary has written so far (polled on the primary's
    /// `pg_stat_replication`, never a fixed sleep).
    pub fn wait_caught_up(&self, primary: &PgServer) -> Result<(), PgError> {
        let Some(app) = self.application_name() else {
            return Err(PgError::new(
                "wait_caught_up",
                "this server is not a replica",
            ));
        };
        let sql = format!(
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = '{app}' \
             AND state = 'streaming' AND replay_lsn >= pg_current_wal_lsn()"
        );
        let mut last = String::new();
        let caught_up = poll_until(PATIENCE, || {
            last = match primary.query(&sql) {
                Ok(n) if n == "1" => return true,
                Ok(n) => format!("{n} matching rows in pg_stat_replication"),
                Err(e) => e.to_string(),
            };
            false
        });
        if caught_up {
            Ok(())
        } else {
            Err(PgError::new(
                format!("replica {app} did not catch up within {PATIENCE:?}"),
                last,
            ))
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.running
            && let Err(e) = self.stop()
        {
            // Last resort so no server outlives the test: immediate mode
            // needs no checkpoint and cannot wait on clients.
            eprintln!("stopping PostgreSQL on port {} failed: {e}", self.port);
            let _ = run_as_postgres(
                &self.bin.join("pg_ctl"),
                &[
                    "stop",
                    "-m",
                    "immediate",
                    "-D",
                    &self.data_dir().display().to_string(),
                ],
                self.dir.path(),
            );
        }
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with an `initdb`, or the
/// directory in `VIGIL_PG_BIN`.
pub fn bin_dir() -> Result<PathBuf, PgError> {
    if let Some(dir) = std::env::var_os("VIGIL_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let root = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version);
    newest.map(|(_, bin)| bin).ok_or_else(|| {
        PgError::new(
            "PostgreSQL server binaries not found under /usr/lib/postgresql",
            "install them with `apt-get install -y postgresql` (scripts/test does), \
             or set VIGIL_PG_BIN to a directory holding initdb and pg_ctl",
        )
    })
}

/// A temporary directory owned by `postgres`, which PostgreSQL requires of
/// its data directory and which lets it create its socket there.
fn owned_temp_dir() -> Result<tempfile::TempDir, PgError> {
    let dir = tempfile::Builder::new()
        .prefix("vigil-pg-")
        .tempdir()
        .map_err(|e| PgError::new("creating a temporary directory", e.to_string()))?;
    chown_to_postgres(dir.path())?;
    Ok(dir)
}

fn chown_to_postgres(path: &Path) -> Result<(), PgError> {
    let out = Command::new("chown")
        .arg(format!("{OS_USER}:"))
        .arg(path)
        .output()
        .map_err(|e| PgError::new("running chown", e.to_string()))?;
    check(&format!("chown {}", path.display()), out).map(drop)
}

/// Runs a PostgreSQL program as the `postgres` user in `cwd` (a directory
/// that user can enter; the test's own working directory may not be).
fn run_as_postgres(program: &Path, args: &[&str], cwd: &Path) -> Result<Output, PgError> {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let out = Command::new("runuser")
        .args(["-u", OS_USER, "--"])
        .arg(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .map_err(|e| {
            PgError::new(
                format!("running {name} as {OS_USER}"),
                format!("{e} (runuser is in util-linux; the `postgres` user comes with the postgresql package)"),
            )
        })?;
    check(&name, out)
}

fn check(what: &str, out: Output) -> Result<Output, PgError> {
    if out.status.success() {
        Ok(out)
    } else {
        let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        Err(PgError::new(
            format!("{what} failed ({})", out.status),
            text.trim().to_string(),
        ))
    }
}

fn with_hint(mut e: PgError, program: &str) -> PgError {
    e.output.push_str(&format!(
        "\n({program} runs as the `{OS_USER}` user via runuser)"
    ));
    e
}
