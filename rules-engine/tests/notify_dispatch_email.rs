//! Email through the dispatcher against Debian's aiosmtpd: the SMTP server
//! is down when the alert fires, the notification waits in the outbox with
//! backoff, and is delivered exactly once when the server comes back —
//! with the default templates' subject, text and HTML parts. The pipeline
//! runs on a manual clock the test moves (`support/manual_time.rs`); the
//! SMTP server is real.

#[path = "support/manual_time.rs"]
mod manual_time;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vigil_test_support::{Smtpd, free_port};

use manual_time::{drive_until, run_for, send, wall_ms};
use vigil::clock::{Clock, ManualClock};
use vigil::db::Db;
use vigil::model::Labels;
use vigil::notify::metrics::NotifyMetrics;
use vigil::notify::retry::Backoff;
use vigil::notify::route::parse_str;
use vigil::notify::tables::OutboxStore;
use vigil::notify::{DispatchOptions, Dispatcher, Notifier};
use vigil::rules::query::OutgoingAlert;

/// How far the test moves the clock at a time.
const STEP: Duration = Duration::from_millis(100);

#[tokio::test]
async fn smtp_down_then_back_delivers_once() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let maildir: PathBuf = dir.path().join("mail");
    let cfg = format!(
        "global:\n  smtp_smarthost: 127.0.0.1:{port}\n  smtp_from: Vigil <vigil@example.org>\n  smtp_require_tls: false\n\
route:\n  receiver: mail\n  group_by: [alertname]\n  group_wait: 0s\n\
receivers:\n  - name: mail\n    email_configs:\n      - to: ops@example.org\n        headers: {{X-Team: '{{{{ .CommonLabels.team }}}}'}}\n"
    );
    let loaded = parse_str("am.yml", &cfg, &|_| None).unwrap();
    let n = Notifier::build(&loaded, "http://vigil.example").unwrap();
    let db = Db::open_sqlite(&dir.path().join("vigil.db")).await.unwrap();
    let opts = DispatchOptions {
        instance: "mail-test".into(),
        backoff: Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_millis(500),
        },
        poll: Duration::from_millis(100),
        ..DispatchOptions::default()
    };
    let clock = ManualClock::new(wall_ms());
    let d = Dispatcher::start(
        n,
        db.clone(),
        opts,
        NotifyMetrics::default(),
        Arc::new(clock.clone()),
    );
    let now = clock.now_ms();
    send(
        &d,
        vec![OutgoingAlert {
            labels: Labels::from_pairs([
                ("alertname", "PostgresDown"),
                ("instance", "db1"),
                ("team", "dba"),
            ]),
            annotations: vec![("summary".into(), "db1 is down".into())],
            starts_at: now,
            ends_at: now + 3_600_000,
            generator_url: "http://prom/graph".into(),
        }],
    )
    .await;
    // Let it fail a few times against the closed port.
    let limit = Duration::from_secs(10);
    drive_until(&clock, &db, "no failed attempts", STEP, limit, async || {
        let rows = db.outbox_list().await.unwrap();
        let failed = rows.first().is_some_and(|r| r.attempts >= 2);
        if failed {
            assert_eq!(rows[0].status, "pending");
        }
        failed
    })
    .await;
    let smtpd = Smtpd::start(port, &maildir, None);
    let what = "no mail after the server came back";
    drive_until(&clock, &db, what, STEP, limit, async || {
        !smtpd.delivered().is_empty()
    })
    .await;
    run_for(&clock, &db, STEP, Duration::from_secs(2)).await;
    d.shutdown().await;
    let mails = smtpd.delivered();
    assert_eq!(mails.len(), 1, "delivered once");
    let m = &mails[0];
    assert!(
        m.contains("Subject: [FIRING:1] PostgresDown (db1 dba)"),
        "{m}"
    );
    assert!(m.contains("To: ops@example.org"), "{m}");
    assert!(m.contains("X-Team: dba"), "{m}");
    assert!(m.contains("multipart/alternative"), "{m}");
    assert!(m.contains("instance = db1"), "text part: {m}");
    assert!(m.contains("text/html"), "{m}");
    let rows = db.outbox_list().await.unwrap();
    assert_eq!(rows[0].status, "delivered");
    assert!(rows[0].attempts >= 3);
}
