//! SMTP AUTH against Debian's aiosmtpd requiring it: PLAIN and LOGIN with
//! the right password deliver; a wrong password is a permanent 535, so the
//! notification fails at once (not retried until it expires), is logged
//! and counted, and the password shows nowhere — not in the error, the
//! logs, `/metrics`, the history API or `/api/v2/status`.
//!
//! Like Alertmanager, vigil has no setting that picks the mechanism: it
//! takes one the server offers (PLAIN before LOGIN), so each mechanism is
//! tested against a server that offers only that one; and, like it, sends
//! without authenticating to a server that offers no AUTH.

#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use std::path::Path;

use vigil::notify::smtp::{EmailContent, SmtpTarget, TlsMode, build_message, send};
use vigil_bin::VigilProcess;
use vigil_common::Secret;
use vigil_test_support::{Smtpd, eventually, free_port};

const USER: &str = "vigil";
const RIGHT: &str = "c0rrect-h0rse-batt3ry";
const WRONG: &str = "wr0ng-pa55w0rd-s3cret";

fn content() -> EmailContent {
    EmailContent {
        from: "vigil@example.org".into(),
        to: "ops@example.org".into(),
        subject: "[FIRING:1] PostgresDown".into(),
        headers: vec![],
        text: Some("PostgresDown is firing".into()),
        html: None,
    }
}

fn target(port: u16, password: &str) -> SmtpTarget {
    SmtpTarget {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        hello: "vigil.test".into(),
        username: Some(USER.into()),
        password: Some(Secret::new(password.to_string())),
        root_pem: None,
        tls_options: Default::default(),
    }
}

/// An authenticating aiosmtpd offering `mechanisms`, in a temp dir.
fn server(dir: &Path, mechanisms: &[&str]) -> Smtpd {
    Smtpd::start_auth(
        free_port(),
        &dir.join("mail"),
        (USER, RIGHT),
        mechanisms,
        &dir.join("auth.log"),
    )
}

fn auth_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("auth.log")).unwrap_or_default()
}

#[tokio::test]
async fn plain_and_login_deliver_with_the_right_password() {
    for mech in ["PLAIN", "LOGIN"] {
        let dir = tempfile::tempdir().unwrap();
        let s = server(dir.path(), &[mech]);
        let msg = build_message(&content()).unwrap();
        send(&target(s.port, RIGHT), msg)
            .await
            .unwrap_or_else(|e| panic!("{mech}: {e}"));
        assert_eq!(auth_log(dir.path()), format!("{mech} ok\n"));
        let got = s.delivered();
        assert_eq!(got.len(), 1, "{mech}");
        assert!(
            got[0].contains("Subject: [FIRING:1] PostgresDown"),
            "{mech}"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_is_permanent_and_not_in_the_error() {
    for mech in ["PLAIN", "LOGIN"] {
        let dir = tempfile::tempdir().unwrap();
        let s = server(dir.path(), &[mech]);
        let msg = build_message(&content()).unwrap();
        let e = send(&target(s.port, WRONG), msg).await.unwrap_err();
        assert!(!e.retryable(), "{mech}: a 535 is permanent: {e}");
        assert!(e.to_string().contains("535"), "{mech}: {e}");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(WRONG), "{mech}: {shown}");
        assert_eq!(auth_log(dir.path()), format!("{mech} bad\n"));
        assert!(s.delivered().is_empty(), "{mech}");
    }
}

/// Alertmanager's rule: a server that offers no AUTH is sent to without
/// authenticating, even with a user and password configured.
#[tokio::test]
async fn a_server_without_auth_gets_the_mail_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let s = Smtpd::start(free_port(), &dir.path().join("mail"), None);
    let msg = build_message(&content()).unwrap();
    send(&target(s.port, RIGHT), msg).await.unwrap();
    assert_eq!(s.delivered().len(), 1);
}

/// A running vigil with two email receivers reached by one alert: one
/// reads the right password from `smtp_auth_password_file`, the other
/// overrides it with a wrong `auth_password_file`.
#[tokio::test]
async fn a_running_vigil_delivers_with_the_password_file_and_keeps_a_wrong_one_secret() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = server(dir.path(), &["PLAIN", "LOGIN"]);
    std::fs::write(dir.path().join("right.pw"), format!("{RIGHT}\n")).unwrap();
    std::fs::write(dir.path().join("wrong.pw"), WRONG).unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            r#"storage:
  path: data
alerting:
  alertmanager_config:
    global:
      smtp_smarthost: 127.0.0.1:{port}
      smtp_from: vigil@example.org
      smtp_require_tls: false
      smtp_auth_username: {USER}
      smtp_auth_password_file: right.pw
    route:
      receiver: right
      group_wait: 0s
      routes:
        - receiver: right
          continue: true
        - receiver: wrong
    receivers:
      - name: right
        email_configs: [{{to: ops@example.org}}]
      - name: wrong
        email_configs: [{{to: dba@example.org, auth_password_file: wrong.pw}}]
"#,
            port = smtp.port
        ),
    )
    .unwrap();
    let v = VigilProcess::start(&config);
    vigil_common::install_crypto_provider();
    let client = reqwest::Client::new();
    let posted = client
        .post(format!("{}/api/v2/alerts", v.base))
        .json(&serde_json::json!([{"labels": {"alertname": "PostgresDown", "instance": "db1"}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);

    eventually!(
        20,
        format!(
            "a mail and a failure logged: mail {:?}, logs {:?}",
            smtp.delivered(),
            v.logs.lock().unwrap()
        ),
        !smtp.delivered().is_empty() && !v.logged("notification failed").is_empty()
    );
    // A 535 is not tried again: the notification is recorded failed (a
    // retry would be recorded "retry", and only pending rows are claimed),
    // so once the history says so no second attempt can come.
    let mut history: serde_json::Value;
    eventually!(
        20,
        format!("the notification recorded failed: {history}"),
        {
            history = v.get("/api/v1/alerts/history?kind=notification").await;
            history["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["status"] == "failed" && r["detail"].as_str().unwrap().contains("535"))
        }
    );
    let mails = smtp.delivered();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: ops@example.org"), "{}", mails[0]);
    let log = auth_log(dir.path());
    assert_eq!(log.matches(" bad").count(), 1, "tried once: {log}");
    assert_eq!(log.matches(" ok").count(), 1, "{log}");

    let failed = v.logged("notification failed");
    assert_eq!(failed[0]["reason"], "smtp_rejected", "{failed:?}");
    let history = v.get("/api/v1/alerts/history?kind=notification").await;
    let rows = history["data"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["status"] == "failed" && r["detail"].as_str().unwrap().contains("535")),
        "{rows:?}"
    );
    let metrics = v.text("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("smtp_rejected") && l.contains("failed")),
        "the failure is counted:\n{metrics}"
    );
    let status = v.text("/api/v2/status").await;
    let logs = serde_json::to_string(&*v.logs.lock().unwrap()).unwrap();
    for (what, text) in [
        ("logs", &logs),
        ("history", &history.to_string()),
        ("metrics", &metrics),
        ("status", &status),
    ] {
        for pw in [RIGHT, WRONG] {
            assert!(!text.contains(pw), "the password is in the {what}: {text}");
        }
    }
}
