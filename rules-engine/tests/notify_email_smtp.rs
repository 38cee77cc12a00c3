//! Email against a real SMTP server: Debian's `python3-aiosmtpd` started
//! on a free loopback port with its Maildir handler, so each test reads
//! back the message as delivered (recipients, subject, headers, the text
//! and HTML parts). Plain SMTP, STARTTLS required and opportunistic, and
//! TLS from the first byte (a certificate made for the test and trusted
//! explicitly).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vigil::notify::email::{EmailContent, SmtpTarget, TlsMode, build_message, send};

struct Smtpd {
    child: Child,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts aiosmtpd; `tls` is `(cert, key)` for STARTTLS.
fn smtpd(tls: Option<(&Path, &Path)>) -> Smtpd {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"));
    if let Some((cert, key)) = tls {
        cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
    }
    cmd.args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = cmd
        .spawn()
        .expect("python3 not found: install Debian's python3-aiosmtpd (scripts/test does)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "aiosmtpd did not listen on {port} (is python3-aiosmtpd installed?)"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Smtpd {
        child,
        port,
        maildir,
        _dir: dir,
    }
}

fn delivered(maildir: &Path) -> Vec<String> {
    let new = maildir.join("new");
    let mut out: Vec<String> = std::fs::read_dir(&new)
        .map(|d| {
            d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn content() -> EmailContent {
    EmailContent {
        from: "Vigil <vigil@example.org>".into(),
        to: "ops@example.org, dba@example.org".into(),
        subject: "[FIRING:1] PostgresDown (db1)".into(),
        headers: vec![(
            "X-Vigil-Group".into(),
            "{}:{alertname=\"PostgresDown\"}".into(),
        )],
        text: Some("PostgresDown is firing on db1".into()),
        html: Some("<p><b>PostgresDown</b> is firing on db1</p>".into()),
    }
}

fn check(msg: &str) {
    assert!(
        msg.contains("Subject: [FIRING:1] PostgresDown (db1)"),
        "{msg}"
    );
    assert!(
        msg.contains("To: ops@example.org, dba@example.org"),
        "{msg}"
    );
    assert!(
        msg.contains("X-Vigil-Group: {}:{alertname=\"PostgresDown\"}"),
        "{msg}"
    );
    assert!(msg.contains("multipart/alternative"), "{msg}");
    assert!(msg.contains("Content-Type: text/plain"), "{msg}");
    assert!(msg.contains("PostgresDown is firing on db1"), "{msg}");
    assert!(msg.contains("Content-Type: text/html"), "{msg}");
    assert!(msg.contains("<b>PostgresDown</b>"), "{msg}");
    // Both recipients got it in one SMTP transaction.
    assert!(
        msg.contains("X-RcptTo: ops@example.org, dba@example.org"),
        "{msg}"
    );
}

fn target(port: u16, tls: TlsMode, root_pem: Option<Vec<u8>>) -> SmtpTarget {
    SmtpTarget {
        host: "127.0.0.1".into(),
        port,
        tls,
        hello: "vigil.test".into(),
        username: None,
        password: None,
        root_pem,
    }
}

#[tokio::test]
async fn plain_smtp_delivers_one_multipart_message() {
    let server = smtpd(None);
    let msg = build_message(&content()).unwrap();
    send(&target(server.port, TlsMode::None, None), msg)
        .await
        .unwrap();
    let got = delivered(&server.maildir);
    assert_eq!(got.len(), 1);
    check(&got[0]);
}

#[tokio::test]
async fn required_starttls_delivers_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = smtpd(Some((&cert_path, &key_path)));
    let pem = cert.cert.pem().into_bytes();
    let msg = build_message(&content()).unwrap();
    send(
        &target(server.port, TlsMode::StartTlsRequired, Some(pem)),
        msg,
    )
    .await
    .unwrap();
    let got = delivered(&server.maildir);
    assert_eq!(got.len(), 1);
    check(&got[0]);
}

#[tokio::test]
async fn required_starttls_refuses_a_server_without_it() {
    let server = smtpd(None);
    let msg = build_message(&content()).unwrap();
    let e = send(&target(server.port, TlsMode::StartTlsRequired, None), msg)
        .await
        .unwrap_err();
    assert!(delivered(&server.maildir).is_empty(), "sent in clear: {e}");
}

#[tokio::test]
async fn server_down_is_retryable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let msg = build_message(&content()).unwrap();
    let e = send(&target(port, TlsMode::None, None), msg)
        .await
        .unwrap_err();
    assert!(e.retryable(), "{e}");
}

#[tokio::test]
async fn opportunistic_starttls_delivers_with_and_without_tls() {
    let server = smtpd(None);
    let msg = build_message(&content()).unwrap();
    send(
        &target(server.port, TlsMode::StartTlsOpportunistic, None),
        msg,
    )
    .await
    .unwrap();
    assert_eq!(
        delivered(&server.maildir).len(),
        1,
        "plain when not offered"
    );

    let dir = tempfile::tempdir().unwrap();
    let (cert, cert_path, key_path) = certificate(dir.path());
    let server = smtpd(Some((&cert_path, &key_path)));
    let msg = build_message(&content()).unwrap();
    send(
        &target(
            server.port,
            TlsMode::StartTlsOpportunistic,
            Some(cert.into_bytes()),
        ),
        msg,
    )
    .await
    .unwrap();
    assert_eq!(delivered(&server.maildir).len(), 1);
}

/// A self-signed certificate for 127.0.0.1: (PEM, cert file, key file).
fn certificate(dir: &Path) -> (String, PathBuf, PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.join("c.pem"), dir.join("k.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    (cert.cert.pem(), cert_path, key_path)
}

/// aiosmtpd's controller with what its command line does not offer: TLS
/// from the first byte (port-465 style).
const SMTPD_SCRIPT: &str = r#"
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

fn smtpd_implicit_tls(cert: &Path, key: &Path) -> Smtpd {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("/usr/bin/python3")
        .args(["-c", SMTPD_SCRIPT, &port.to_string()])
        .arg(&maildir)
        .arg(cert)
        .arg(key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "aiosmtpd did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Smtpd {
        child,
        port,
        maildir,
        _dir: dir,
    }
}

#[tokio::test]
async fn implicit_tls_delivers_from_the_first_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, cert_path, key_path) = certificate(dir.path());
    let server = smtpd_implicit_tls(&cert_path, &key_path);
    let msg = build_message(&content()).unwrap();
    send(
        &target(server.port, TlsMode::Implicit, Some(cert.into_bytes())),
        msg,
    )
    .await
    .unwrap();
    let got = delivered(&server.maildir);
    assert_eq!(got.len(), 1);
    check(&got[0]);
}
