//! Debian's `python3-aiosmtpd` as the tests' SMTP server on a loopback
//! port, delivering into a Maildir the test reads back: plain, STARTTLS,
//! TLS from the first byte, or requiring AUTH. Stopped by pid on drop.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::eventually::wait_until;
use crate::process::ChildGuard;

/// aiosmtpd's controller with what its command line does not offer: TLS
/// from the first byte (port-465 style).
const IMPLICIT_TLS: &str = r#"
import signal, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
port, maildir, cert, key = sys.argv[1:5]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
c = Controller(Mailbox(maildir), hostname="127.0.0.1", port=int(port), ssl_context=ctx)
c.start()
print("ready", flush=True)
signal.sigwait([signal.SIGTERM, signal.SIGINT])
c.stop()
"#;

/// aiosmtpd's controller requiring AUTH (over plain text, as loopback
/// tests can: `auth_require_tls=False`) for one user; the mechanisms not
/// listed after the log file are not advertised. Each attempt appends
/// `MECHANISM ok|bad` to the log file, so a test can tell which
/// mechanism the client chose.
const AUTH: &str = r#"
import signal, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
port, maildir, user, password, log = sys.argv[1:6]
offered = set(sys.argv[6:])
def authenticator(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword) and data.login == user.encode()
          and data.password == password.encode())
    with open(log, "a") as f:
        f.write(f"{mechanism} {'ok' if ok else 'bad'}\n")
    return AuthResult(success=ok, handled=False)
c = Controller(Mailbox(maildir), hostname="127.0.0.1", port=int(port),
               authenticator=authenticator, auth_required=True, auth_require_tls=False,
               auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m not in offered])
c.start()
print("ready", flush=True)
signal.sigwait([signal.SIGTERM, signal.SIGINT])
c.stop()
"#;

pub struct Smtpd {
    _child: ChildGuard,
    pub port: u16,
    pub maildir: PathBuf,
}

impl Smtpd {
    /// aiosmtpd's command line on `port`; `tls` is `(cert, key)` for STARTTLS.
    pub fn start(port: u16, maildir: &Path, tls: Option<(&Path, &Path)>) -> Smtpd {
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"));
        if let Some((cert, key)) = tls {
            cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
        }
        cmd.args(["-c", "aiosmtpd.handlers.Mailbox"]).arg(maildir);
        Self::spawn(cmd, port, maildir)
    }

    /// TLS from the first byte on `port`.
    pub fn start_implicit_tls(port: u16, maildir: &Path, cert: &Path, key: &Path) -> Smtpd {
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.args(["-c", IMPLICIT_TLS, &port.to_string()])
            .arg(maildir)
            .arg(cert)
            .arg(key);
        Self::spawn(cmd, port, maildir)
    }

    /// A server that takes mail only after AUTH as `user`/`password`
    /// with one of `mechanisms` (`PLAIN`, `LOGIN`); attempts go to `log`.
    pub fn start_auth(
        port: u16,
        maildir: &Path,
        (user, password): (&str, &str),
        mechanisms: &[&str],
        log: &Path,
    ) -> Smtpd {
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.args(["-W", "ignore", "-c", AUTH, &port.to_string()])
            .arg(maildir)
            .args([user, password])
            .arg(log)
            .args(mechanisms);
        Self::spawn(cmd, port, maildir)
    }

    fn spawn(mut cmd: Command, port: u16, maildir: &Path) -> Smtpd {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 not found: install Debian's python3-aiosmtpd (scripts/test does)");
        let server = Smtpd {
            _child: ChildGuard::new(format!("aiosmtpd :{port}"), child),
            port,
            maildir: maildir.to_path_buf(),
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_until(
            &format!("aiosmtpd on {addr} (is python3-aiosmtpd installed?)"),
            Duration::from_secs(20),
            || TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok(),
        );
        server
    }

    /// `host:port` for a `smarthost` setting.
    pub fn smarthost(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The messages delivered so far, as raw text, in the order of their
    /// Maildir file names (which begin with the delivery time).
    pub fn delivered(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_else(|e| panic!("read delivered mail {}: {e}", p.display()))
            })
            .collect()
    }
}
