//! Failure trials: a wrong password (no secret anywhere), TLS by
//! `sslmode`, a server that never answers, and a primary stopped and
//! started again under the same collector.

use std::time::Duration;

use vigil_test_support::wait_until;

use libtest_mimic::Failed;
use vigil_exporter::encode::{Format, encode};

use super::WRONG_PASSWORD;
/// How long the standby may take to notice its primary went away or came
/// back (it retries every `wal_retrieve_retry_interval`, 5 s by default).
const PATIENCE: Duration = Duration::from_secs(30);

use super::support::{self, Env, LOGS, collector, pg_up, psql_f64, registry, value};

pub(crate) fn wrong_password_never_leaks(env: &Env) -> Result<(), Failed> {
    let dsn = env.primary().dsn_with(WRONG_PASSWORD, "postgres");
    let server = env.primary().server_label();
    let c = collector(&dsn, false);
    let err = env.collect(&c).expect_err("a wrong password must fail");
    let text = format!("{err} {err:?}");
    assert_eq!(err.kind, "auth", "{text}");
    assert!(!text.contains(WRONG_PASSWORD), "password leaked: {text}");
    assert!(!text.contains(&dsn), "DSN leaked: {text}");
    assert!(text.contains(&server), "{text}");
    // Through the registry: pg_up 0 for this target, the reason logged, and
    // neither the exposition (both formats) nor the logs hold the secret.
    let fams = env
        .rt
        .block_on(registry(&[&c, &env.replica_collector]).gather());
    assert_eq!(pg_up(&fams, &server), 0.0);
    assert_eq!(pg_up(&fams, &env.replica.server_label()), 1.0);
    let error = |s: &str| value(&fams, "pg_exporter_last_scrape_error", &[("server", s)]);
    assert_eq!(error(&server), 1.0);
    assert_eq!(error(&env.replica.server_label()), 0.0);
    for format in [Format::Text, Format::OpenMetrics] {
        let body = encode(&fams, format);
        assert!(!body.contains(WRONG_PASSWORD), "password in /metrics");
        assert!(body.contains("pg_replication_is_replica"));
    }
    let logs = LOGS.get().expect("logs captured").text();
    assert!(
        logs.contains("password authentication failed"),
        "reason not logged"
    );
    assert!(!logs.contains(WRONG_PASSWORD), "password in the logs");
    // Nor the right passwords, after all the successful collections so far.
    assert!(!logs.contains(vigil_tests::postgres::SUPERUSER_PASSWORD));
    assert!(!logs.contains("monitor-pw"));
    assert!(
        logs.contains("pg_stat_database"),
        "sqlx's statement logs were captured"
    );
    Ok(())
}

/// TLS as the DSN's `sslmode` asks: `require` encrypts, `verify-full` with
/// the server's certificate as `sslrootcert` also checks it (rustls), and
/// the server sees our sessions as TLS sessions.
pub(crate) fn tls_by_sslmode(env: &Env) -> Result<(), Failed> {
    let primary = env.primary();
    let root = primary.enable_tls().map_err(|e| e.to_string())?;
    let plain = primary.dsn().replace("?sslmode=disable", "");
    let app = "vigil-tls-probe";
    for query in [
        "?sslmode=require".to_string(),
        format!("?sslmode=verify-full&sslrootcert={}", root.display()),
    ] {
        let dsn = format!("{plain}{query}&application_name={app}");
        let c = collector(&dsn, false);
        let fams = env.collect(&c)?;
        assert_eq!(value(&fams, "pg_settings_ssl", &[]), 1.0);
        let tls_sessions = psql_f64(
            &primary,
            &format!(
                "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
                 WHERE ssl AND application_name = '{app}'"
            ),
        );
        assert_eq!(tls_sessions, 1.0, "{query}: our kept session uses TLS");
        drop(c); // closes the session before the next mode is tried
        vigil_test_support::wait_until("the probe session to end", Duration::from_secs(10), || {
            primary
                .query(&format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'"
                ))
                .is_ok_and(|n| n == "0")
        });
    }
    // A certificate that does not match: verify-full must refuse it.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let wrong_root = support::unrelated_certificate(dir.path());
    let dsn = format!(
        "{plain}?sslmode=verify-full&sslrootcert={}",
        wrong_root.display()
    );
    let err = env
        .collect(&collector(&dsn, false))
        .expect_err("an unknown certificate must be refused");
    assert_eq!(err.kind, "connect", "{err}");
    Ok(())
}

/// A server that accepts TCP connections but never answers (the listen
/// backlog completes the handshake): the collection fails at the target's
/// own deadline with kind `timeout`, and the other target is unaffected.
pub(crate) fn unresponsive_server_times_out(env: &Env) -> Result<(), Failed> {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = silent.local_addr().map_err(|e| e.to_string())?.port();
    let dsn = format!("postgres://postgres:x@127.0.0.1:{port}/postgres?sslmode=disable");
    let c = support::collector_with_timeout(&dsn, false, Duration::from_millis(300));
    let err = env
        .collect(&c)
        .expect_err("a silent server cannot be collected");
    assert_eq!(err.kind, "timeout", "{err}");
    let fams = env
        .rt
        .block_on(registry(&[&c, &env.replica_collector]).gather());
    assert_eq!(pg_up(&fams, &format!("127.0.0.1:{port}")), 0.0);
    assert_eq!(pg_up(&fams, &env.replica.server_label()), 1.0);
    drop(silent);
    Ok(())
}

/// Stop the primary: its collection fails, the replica's does not. Start it
/// again: the same collector succeeds, without being rebuilt.
pub(crate) fn primary_stop_and_start(env: &Env) -> Result<(), Failed> {
    let registry = registry(&[&env.primary_collector, &env.replica_collector]);
    let (primary, replica) = (env.primary().server_label(), env.replica.server_label());
    let fams = env.rt.block_on(registry.gather());
    assert_eq!((pg_up(&fams, &primary), pg_up(&fams, &replica)), (1.0, 1.0));

    env.primary().stop().map_err(|e| e.to_string())?;
    let err = env
        .collect(&env.primary_collector)
        .expect_err("collecting from a stopped server must fail");
    assert_eq!(err.kind, "connect", "{err}");
    let fams = env.rt.block_on(registry.gather());
    assert_eq!(pg_up(&fams, &primary), 0.0);
    assert_eq!(pg_up(&fams, &replica), 1.0, "the replica is unaffected");
    assert_eq!(
        value(&fams, "pg_replication_is_replica", &[("server", &replica)]),
        1.0
    );
    // The standby notices it is cut off: its lag stays 0 (it has replayed
    // all it received) but its WAL receiver no longer streams.
    let streaming = |env: &Env| -> Result<f64, Failed> {
        let fams = env.collect(&env.replica_collector)?;
        Ok(value(&fams, "pg_replication_wal_receiver_streaming", &[]))
    };
    wait_until("the standby to stop streaming", PATIENCE, || {
        streaming(env).is_ok_and(|v| v == 0.0)
    });

    env.primary().start().map_err(|e| e.to_string())?;
    wait_until("the standby to stream again", PATIENCE, || {
        streaming(env).is_ok_and(|v| v == 1.0)
    });
    let fams = env.rt.block_on(registry.gather());
    assert_eq!((pg_up(&fams, &primary), pg_up(&fams, &replica)), (1.0, 1.0));
    assert_eq!(
        value(&fams, "pg_replication_is_replica", &[("server", &primary)]),
        0.0
    );
    // A restart between two scrapes: the kept connection is dead, the next
    // scrape's BEGIN fails on it and the collection reconnects at once, so
    // the restart costs no failed scrape.
    {
        let mut primary = env.primary();
        primary.stop().map_err(|e| e.to_string())?;
        primary.start().map_err(|e| e.to_string())?;
    }
    let fams = env.rt.block_on(registry.gather());
    assert_eq!(pg_up(&fams, &primary), 1.0);
    Ok(())
}
