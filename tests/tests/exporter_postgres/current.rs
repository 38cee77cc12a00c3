//! Values of the families postgres_exporter 0.20 added, read from the real
//! primary: WAL directory, roles, databases, wraparound ages, archiver
//! ages, per-table I/O, and the progress of a VACUUM while it runs.

use std::process::{Command, Stdio};
use std::time::Duration;

use libtest_mimic::Failed;
use vigil_test_support::{ChildGuard, wait_until};

use super::support::{Env, family, psql_f64, value};

pub(crate) fn new_families_have_the_servers_values(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.primary_collector)?;
    let primary = env.primary();
    let segments = psql_f64(
        &primary,
        "SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'",
    );
    // A segment may be added or recycled between the two reads.
    let got = value(&fams, "pg_wal_segments", &[]);
    assert!((got - segments).abs() <= 1.0, "{got} vs {segments}");
    assert!(value(&fams, "pg_wal_size_bytes", &[]) >= got * 16.0 * 1024.0 * 1024.0 - 1.0);
    assert_eq!(
        value(
            &fams,
            "pg_roles_connection_limit",
            &[("rolname", "postgres")]
        ),
        -1.0
    );
    assert_eq!(
        value(
            &fams,
            "pg_database_connection_limit",
            &[("datname", "appdb")]
        ),
        -1.0
    );
    let age = psql_f64(
        &primary,
        "SELECT age(datfrozenxid) FROM pg_database WHERE datname = 'appdb'",
    );
    let got = value(
        &fams,
        "pg_database_wraparound_age_datfrozenxid_seconds",
        &[("datname", "appdb")],
    );
    assert!(got <= age && got >= 0.0, "{got} vs {age}");
    assert!(
        family(&fams, "pg_database_wraparound_age_datfrozenxid_seconds")
            .samples
            .iter()
            .all(|s| !s.labels.contains(&("datname".into(), "template0".into()))),
        "only databases that accept connections"
    );
    // A segment was archived at start-up; none failed.
    assert!(value(&fams, "pg_stat_archiver_last_archive_age", &[]) >= 0.0);
    assert!(
        family(&fams, "pg_stat_archiver_last_failed_age")
            .samples
            .is_empty()
    );
    let hits = value(
        &fams,
        "pg_statio_user_tables_heap_blocks_hit",
        &[("datname", "appdb"), ("relname", "t")],
    );
    assert!(hits >= 0.0);
    // appdb's table has no TOAST index reads: 0, not NaN, as upstream.
    assert_eq!(
        value(
            &fams,
            "pg_statio_user_tables_tidx_blocks_read",
            &[("datname", "appdb"), ("relname", "t")]
        ),
        0.0
    );
    assert!(
        family(&fams, "pg_stat_progress_vacuum_phase")
            .samples
            .is_empty()
    );
    drop(primary);
    vacuum_in_progress(env)
}

/// A VACUUM slowed to one page per 100 ms shows in
/// `pg_stat_progress_vacuum_*`: one phase at 1, the other six at 0.
fn vacuum_in_progress(env: &Env) -> Result<(), Failed> {
    let primary = env.primary();
    primary
        .query("CREATE TABLE vacuum_probe AS SELECT g AS id FROM generate_series(1, 200000) g")?;
    let psql = vigil_tests::postgres::bin_dir()?.join("psql");
    let child = Command::new(psql)
        .arg(primary.dsn())
        .args(["-c", "VACUUM vacuum_probe"])
        .env(
            "PGOPTIONS",
            "-c vacuum_cost_delay=100 -c vacuum_cost_limit=1",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let _vacuum = ChildGuard::new("slow VACUUM", child);
    wait_until("the VACUUM to start", Duration::from_secs(30), || {
        primary
            .query("SELECT count(*) FROM pg_stat_progress_vacuum")
            .is_ok_and(|n| n.trim() == "1")
    });
    let fams = env.collect(&env.primary_collector)?;
    primary.query("SELECT pg_cancel_backend(pid) FROM pg_stat_progress_vacuum")?;
    primary.query("DROP TABLE vacuum_probe")?;
    let phase = family(&fams, "pg_stat_progress_vacuum_phase");
    let on_probe: Vec<f64> = phase
        .samples
        .iter()
        .filter(|s| {
            s.labels
                .contains(&("relname".into(), "vacuum_probe".into()))
        })
        .map(|s| s.value)
        .collect();
    assert_eq!(on_probe.len(), 7, "{phase:?}");
    assert_eq!(on_probe.iter().sum::<f64>(), 1.0);
    let total = value(
        &fams,
        "pg_stat_progress_vacuum_heap_blks",
        &[("datname", "postgres"), ("relname", "vacuum_probe")],
    );
    assert!(total > 0.0, "the table has pages: {total}");
    Ok(())
}
