//! Email against a real SMTP server: Debian's `python3-aiosmtpd` started
//! on a free loopback port with its Maildir handler, so each test reads
//! back the message as delivered (recipients, subject, headers, the text
//! and HTML parts). Plain SMTP, STARTTLS required and opportunistic, and
//! TLS from the first byte (a certificate made for the test and trusted
//! explicitly), and `tls_config`'s `server_name` and
//! `insecure_skip_verify`.

use std::path::{Path, PathBuf};

use vigil::notify::smtp::{EmailContent, SmtpTarget, SmtpTls, TlsMode, build_message, send};
use vigil_test_support::{Smtpd, free_port};

/// An aiosmtpd on a free port with a Maildir of its own.
struct Server {
    smtpd: Smtpd,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Server {
    type Target = Smtpd;
    fn deref(&self) -> &Smtpd {
        &self.smtpd
    }
}

/// Starts aiosmtpd; `tls` is `(cert, key)` for STARTTLS.
fn smtpd(tls: Option<(&Path, &Path)>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let smtpd = Smtpd::start(free_port(), &dir.path().join("mail"), tls);
    Server { smtpd, _dir: dir }
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
        tls_options: Default::default(),
    }
}

#[tokio::test]
async fn plain_smtp_delivers_one_multipart_message() {
    let server = smtpd(None);
    let msg = build_message(&content()).unwrap();
    send(&target(server.port, TlsMode::None, None), msg)
        .await
        .unwrap();
    let got = server.delivered();
    assert_eq!(got.len(), 1);
    check(&got[0]);
}

#[tokio::test]
async fn required_starttls_delivers_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, cert_path, key_path) = certificate(dir.path());
    let server = smtpd(Some((&cert_path, &key_path)));
    let pem = cert.into_bytes();
    let msg = build_message(&content()).unwrap();
    send(
        &target(server.port, TlsMode::StartTlsRequired, Some(pem)),
        msg,
    )
    .await
    .unwrap();
    let got = server.delivered();
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
    assert!(server.delivered().is_empty(), "sent in clear: {e}");
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
    assert_eq!(server.delivered().len(), 1, "plain when not offered");

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
    assert_eq!(server.delivered().len(), 1);
}

/// A self-signed certificate for 127.0.0.1: (PEM, cert file, key file).
fn certificate(dir: &Path) -> (String, PathBuf, PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.join("c.pem"), dir.join("k.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    (cert.cert.pem(), cert_path, key_path)
}

fn smtpd_implicit_tls(cert: &Path, key: &Path) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let smtpd = Smtpd::start_implicit_tls(free_port(), &dir.path().join("mail"), cert, key);
    Server { smtpd, _dir: dir }
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
    let got = server.delivered();
    assert_eq!(got.len(), 1);
    check(&got[0]);
}

/// A server whose certificate names `mail.example.org`, reached at
/// 127.0.0.1: refused unless `server_name` says that name, or
/// `insecure_skip_verify` skips the check.
#[tokio::test]
async fn server_name_and_insecure_skip_verify() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["mail.example.org".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = smtpd(Some((&cert_path, &key_path)));
    let pem = cert.cert.pem().into_bytes();
    let with = |root: Option<Vec<u8>>, tls_options: SmtpTls| SmtpTarget {
        tls_options,
        ..target(server.port, TlsMode::StartTlsRequired, root)
    };
    let msg = || build_message(&content()).unwrap();
    let plain = with(Some(pem.clone()), SmtpTls::default());
    assert!(
        send(&plain, msg()).await.is_err(),
        "127.0.0.1 is not the name"
    );
    let named = with(
        Some(pem),
        SmtpTls {
            server_name: Some("mail.example.org".into()),
            ..Default::default()
        },
    );
    send(&named, msg()).await.unwrap();
    let insecure = with(
        None,
        SmtpTls {
            insecure_skip_verify: true,
            ..Default::default()
        },
    );
    send(&insecure, msg()).await.unwrap();
    assert_eq!(server.delivered().len(), 2);
}
