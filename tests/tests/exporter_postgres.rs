//! The PostgreSQL collector against real servers: a primary and a streaming
//! replica started once for the whole binary (libtest-mimic harness), then
//! the trials, run one after another in the order below because the last
//! ones stop and restart the primary.
//!
//! Failures are checked both as the collector's `CollectError` and as
//! `pg_up 0` in the output of the exporter's registry.

#[path = "exporter_postgres/current.rs"]
mod current;
#[path = "exporter_postgres/custom_queries.rs"]
mod custom_queries;
#[path = "exporter_postgres/failures.rs"]
mod failures;
#[path = "exporter_postgres/opt_in.rs"]
mod opt_in;
#[path = "exporter_postgres/replication.rs"]
mod replication;
#[path = "exporter_postgres/support.rs"]
mod support;
#[path = "exporter_postgres/template_sizes.rs"]
mod template_sizes;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use support::{
    Env, LOGS, capture_logs, collector, contract, family, pg_up, psql_f64, registry, value,
};
use vigil_exporter::encode::{Format, encode};
use vigil_exporter::metrics::MetricType;
use vigil_test_support::wait_until;

/// A password that appears nowhere else, so finding it in an error proves a
/// leak.
const WRONG_PASSWORD: &str = "Zq9-never-in-errors-7731";

fn contract_families(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.primary_collector)?;
    assert!(
        env.primary_collector
            .target_labels()
            .contains(&("server".into(), env.primary().server_label().into()))
    );
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    let rows = contract();
    // postgres_exporter 0.20 added labels to some 0.11 families
    // (`pg_stat_activity_count`): those are allowed on top of the contract's.
    let current = vigil_tests::catalog::postgres();
    for (name, kind, labels) in &rows {
        if name == "pg_up" {
            continue; // written by the registry
        }
        let Some(f) = fams.iter().find(|f| &f.name == name) else {
            missing.push(name.clone());
            continue;
        };
        if f.kind.as_str() != kind {
            wrong.push(format!("{name}: type {} != {kind}", f.kind.as_str()));
        }
        if f.samples.is_empty() {
            wrong.push(format!("{name}: no samples"));
        }
        for s in &f.samples {
            let mut got: BTreeSet<String> = s.labels.iter().map(|(n, _)| n.to_string()).collect();
            got.insert("server".into()); // added by the registry from target_labels()
            let mut want = labels.clone();
            if f.kind == MetricType::Histogram && s.suffix != "_bucket" {
                want.remove("le");
            }
            let mut allowed = want.clone();
            if let Some(row) = current.iter().find(|r| &r.family == name) {
                allowed.extend(row.labels.iter().cloned());
            }
            if !want.is_subset(&got) || !got.is_subset(&allowed) {
                wrong.push(format!("{name}{}: labels {got:?} != {want:?}", s.suffix));
                break;
            }
        }
    }
    let present = rows.len() - 1 - missing.len();
    println!(
        "families: {present}/{} (pg_up from the registry)",
        rows.len() - 1
    );
    assert!(missing.is_empty(), "missing: {missing:?}");
    assert!(wrong.is_empty(), "{wrong:#?}");
    Ok(())
}

/// Not a speed assertion (DESIGN: benchmarks measure speed): prints the
/// median collection time over 20 collections with a kept connection, and
/// the output's size, for the record.
fn repeated_collections_reuse_the_connection(env: &Env) -> Result<(), Failed> {
    let backend_pids = || {
        env.primary()
            .query("SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE application_name = 'vigil-exporter'")
            .map_err(|e| e.to_string())
    };
    env.collect(&env.primary_collector)?;
    let before = backend_pids()?;
    let mut times = Vec::new();
    let mut samples = 0;
    for _ in 0..20 {
        let start = Instant::now();
        let fams = env.collect(&env.primary_collector)?;
        times.push(start.elapsed());
        samples = fams.iter().map(|f| f.samples.len()).sum();
    }
    times.sort();
    println!(
        "median collection {:?} over 20, {samples} samples",
        times[10]
    );
    assert_eq!(
        backend_pids()?,
        before,
        "the same backend served every collection"
    );
    Ok(())
}

/// Production setups collect as a role with `pg_monitor`, not a superuser:
/// it must see the same families, replication details included.
fn monitoring_role_sees_what_a_superuser_sees(env: &Env) -> Result<(), Failed> {
    let primary = env.primary();
    primary
        .query("CREATE ROLE vigil_monitor LOGIN PASSWORD 'monitor-pw' IN ROLE pg_monitor")
        .map_err(|e| e.to_string())?;
    let dsn = primary.dsn_for("vigil_monitor", "monitor-pw", "postgres");
    drop(primary);
    let monitor = collector(&dsn, true);
    let as_monitor = env.collect(&monitor)?;
    let as_superuser = env.collect(&env.primary_collector)?;
    let names = |fams: &[vigil_exporter::metrics::Family]| {
        fams.iter()
            .map(|f| (f.name.clone(), f.samples.is_empty()))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(names(&as_monitor), names(&as_superuser));
    let lsn = family(&as_monitor, "pg_stat_replication_pg_current_wal_lsn_bytes");
    assert_eq!(lsn.samples.len(), 1);
    assert!(lsn.samples[0].value > 0.0, "pg_monitor sees WAL positions");
    let tables = family(&as_monitor, "pg_stat_user_tables_seq_scan");
    assert!(
        tables
            .samples
            .iter()
            .any(|s| s.labels.contains(&("datname".into(), "appdb".into())))
    );
    Ok(())
}

/// A discovered database the role may not connect to is skipped: the
/// target stays up, the others' tables are there, and
/// `pg_exporter_last_scrape_error` says the scrape was incomplete.
fn unreadable_database_is_skipped(env: &Env) -> Result<(), Failed> {
    let primary = env.primary();
    primary
        .query("CREATE DATABASE closeddb")
        .map_err(|e| e.to_string())?;
    primary
        .query("REVOKE CONNECT ON DATABASE closeddb FROM PUBLIC")
        .map_err(|e| e.to_string())?;
    let dsn = primary.dsn_for("vigil_monitor", "monitor-pw", "postgres");
    drop(primary);
    let monitor = collector(&dsn, true);
    let fams = env.rt.block_on(registry(&[&monitor]).gather());
    let server = env.primary().server_label();
    assert_eq!(pg_up(&fams, &server), 1.0);
    assert_eq!(value(&fams, "pg_exporter_last_scrape_error", &[]), 1.0);
    let tables = family(&fams, "pg_stat_user_tables_n_tup_ins");
    let has = |db: &str| {
        tables
            .samples
            .iter()
            .any(|s| s.labels.contains(&("datname".into(), db.into())))
    };
    assert!(has("appdb") && !has("closeddb"));
    let logs = LOGS.get().expect("logs captured").text();
    assert!(logs.contains("database skipped") && logs.contains("closeddb"));
    Ok(())
}

/// With the `stat_statements` collector and the extension installed, the
/// most expensive statements appear per user, database and query id;
/// without the collector there is no such family.
fn statement_statistics(env: &Env) -> Result<(), Failed> {
    let primary = env.primary();
    primary
        .query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .map_err(|e| e.to_string())?;
    for _ in 0..3 {
        primary
            .query("SELECT count(*) FROM pg_class WHERE relname LIKE 'vigil_probe%'")
            .map_err(|e| e.to_string())?;
    }
    let dsn = primary.dsn();
    drop(primary);
    let mut t = support::target(&dsn, false, std::time::Duration::from_secs(5));
    t.collectors.stat_statements = Some(true);
    t.stat_statements_limit = Some(1000);
    let fams = env.collect(&support::collector_from(t))?;
    let calls = family(&fams, "pg_stat_statements_calls_total");
    assert_eq!(calls.kind, MetricType::Counter);
    let probe_query_id = env
        .primary()
        .query(
            "SELECT queryid FROM pg_stat_statements \
             WHERE query LIKE 'SELECT count(*) FROM pg_class WHERE relname LIKE%'",
        )
        .map_err(|e| e.to_string())?;
    let probe = value(
        &fams,
        "pg_stat_statements_calls_total",
        &[
            ("user", "postgres"),
            ("datname", "postgres"),
            ("queryid", &probe_query_id),
        ],
    );
    assert!(probe >= 3.0, "calls {probe}");
    for name in ["seconds_total", "rows_total", "block_read_seconds_total"] {
        let f = family(&fams, &format!("pg_stat_statements_{name}"));
        assert_eq!(f.samples.len(), calls.samples.len(), "{name}");
    }
    let without = env.collect(&env.primary_collector)?;
    assert!(
        without
            .iter()
            .all(|f| !f.name.starts_with("pg_stat_statements_"))
    );
    Ok(())
}

/// `promtool check metrics` may warn about names inherited from
/// postgres_exporter (contract names, its `stat_user_tables` collector and
/// example `pg_process_idle_seconds`), never about names that are new here.
fn promtool_accepts_our_names(env: &Env) -> Result<(), Failed> {
    let fams = env
        .rt
        .block_on(registry(&[&env.primary_collector, &env.replica_collector]).gather());
    let mut contract: BTreeSet<String> = contract().into_iter().map(|(name, ..)| name).collect();
    contract.extend(
        vigil_tests::catalog::postgres()
            .into_iter()
            .map(|r| r.family),
    );
    let inherited = |name: &str| {
        contract.contains(name)
            || name.starts_with("pg_stat_user_tables_")
            || name.starts_with("pg_settings_")
            || name.starts_with("pg_process_idle_seconds")
    };
    let warnings = support::promtool_warnings(&encode(&fams, Format::Text));
    let ours: Vec<_> = warnings
        .iter()
        .filter(|(name, _)| name.starts_with("pg_") && !inherited(name))
        .collect();
    let listed: BTreeSet<&str> = warnings
        .iter()
        .filter(|(name, _)| inherited(name))
        .map(|(name, _)| name.as_str())
        .collect();
    println!(
        "promtool warns on {} inherited names: {listed:?}",
        listed.len()
    );
    assert!(ours.is_empty(), "promtool warnings on our names: {ours:#?}");
    Ok(())
}

fn settings_match_the_server(env: &Env) -> Result<(), Failed> {
    let fams = env.collect(&env.primary_collector)?;
    let primary = env.primary();
    let get = |name: &str| family(&fams, name).samples[0].value;
    assert_eq!(get("pg_settings_port"), f64::from(primary.port()));
    assert_eq!(get("pg_settings_max_connections"), 50.0);
    assert_eq!(
        get("pg_settings_fsync"),
        0.0,
        "the test servers run with fsync=off"
    );
    let shared_buffers = psql_f64(
        &primary,
        "SELECT setting::float8 * 8192 FROM pg_settings WHERE name = 'shared_buffers'",
    );
    assert_eq!(get("pg_settings_shared_buffers_bytes"), shared_buffers);
    let checkpoint = psql_f64(
        &primary,
        "SELECT setting::float8 FROM pg_settings WHERE name = 'checkpoint_timeout'",
    );
    assert_eq!(get("pg_settings_checkpoint_timeout_seconds"), checkpoint);
    assert_eq!(get("pg_settings_bgwriter_delay_seconds"), 0.2);
    // The scrape's transaction sets its own statement_timeout; the gauge
    // shows the server's, as a fresh session sees it.
    let statement_timeout = psql_f64(
        &primary,
        "SELECT setting::float8 / 1000 FROM pg_settings WHERE name = 'statement_timeout'",
    );
    assert_eq!(
        get("pg_settings_statement_timeout_seconds"),
        statement_timeout
    );
    // A dotted extension setting (`pg_stat_statements.max`, default 5000).
    assert_eq!(get("pg_settings_pg_stat_statements_max"), 5000.0);
    assert!(
        fams.iter()
            .all(|f| !f.name.starts_with("pg_settings_datestyle"))
    );
    Ok(())
}

/// The collector reads `pg_settings` again only when the configuration
/// was reloaded: a changed setting shows on the scrapes after
/// `pg_reload_conf()` on the same kept connection.
fn settings_follow_a_reload(env: &Env) -> Result<(), Failed> {
    let work_mem = |env: &Env| -> Result<f64, Failed> {
        let fams = env.collect(&env.primary_collector)?;
        Ok(family(&fams, "pg_settings_work_mem_bytes").samples[0].value)
    };
    let before = work_mem(env)?;
    let wanted = before + 1024.0 * 1024.0;
    let set = format!("ALTER SYSTEM SET work_mem = '{}kB'", wanted as u64 / 1024);
    env.primary().query(&set).map_err(|e| e.to_string())?;
    env.primary()
        .query("SELECT pg_reload_conf()")
        .map_err(|e| e.to_string())?;
    // The reload reaches each backend asynchronously: a few scrapes.
    wait_until(
        &format!("work_mem {wanted} after the reload (before: {before})"),
        Duration::from_secs(10),
        || work_mem(env).is_ok_and(|seen| seen == wanted),
    );
    env.primary()
        .query("ALTER SYSTEM RESET work_mem")
        .map_err(|e| e.to_string())?;
    env.primary()
        .query("SELECT pg_reload_conf()")
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn database_and_table_statistics(env: &Env) -> Result<(), Failed> {
    let primary = env.primary();
    primary
        .query_db("appdb", "INSERT INTO t VALUES (3)")
        .map_err(|e| e.to_string())?;
    let fams = env.collect(&env.primary_collector)?;
    let static_labels = &family(&fams, "pg_static").samples[0].labels;
    let short = primary
        .query("SHOW server_version")
        .map_err(|e| e.to_string())?;
    let short = vigil_exporter::collectors::postgres::short_version(&short);
    assert!(static_labels.contains(&("short_version".into(), short.into())));
    assert!(value(&fams, "pg_database_size_bytes", &[("datname", "appdb")]) > 1e6);
    assert!(
        value(
            &fams,
            "pg_stat_database_xact_commit",
            &[("datname", "postgres")]
        ) > 0.0
    );
    // Discovered database: its tables, with the database in `datname`.
    let inserted = value(
        &fams,
        "pg_stat_user_tables_n_tup_ins",
        &[
            ("datname", "appdb"),
            ("schemaname", "public"),
            ("relname", "t"),
        ],
    );
    // Statistics reach the view asynchronously; at least the first two rows.
    assert!(inserted >= 2.0, "n_tup_ins {inserted}");
    let idle = family(&fams, "pg_process_idle_seconds");
    assert!(idle.samples.iter().any(|s| {
        s.labels
            .contains(&("application_name".into(), "vigil-idle-holder".into()))
    }));
    let start = value(&fams, "pg_postmaster_start_time_seconds", &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        start > now - 3600.0 && start <= now + 1.0,
        "start {start} now {now}"
    );
    let index_hits = value(
        &fams,
        "pg_statio_user_indexes_idx_blks_hit_total",
        &[
            ("datname", "appdb"),
            ("relname", "t"),
            ("indexrelname", "t_pkey"),
        ],
    );
    assert!(index_hits >= 0.0);
    assert_eq!(value(&fams, "pg_exporter_last_scrape_error", &[]), 0.0);
    Ok(())
}

type TrialFn = fn(&Env) -> Result<(), Failed>;

fn main() {
    let mut args = Arguments::from_args();
    capture_logs();
    // Trials share the servers and the last ones stop the primary: one at a
    // time, in order.
    args.test_threads = Some(1);
    let trials: Vec<(&str, TrialFn)> = vec![
        ("contract_families", contract_families),
        (
            "repeated_collections_reuse_the_connection",
            repeated_collections_reuse_the_connection,
        ),
        (
            "monitoring_role_sees_what_a_superuser_sees",
            monitoring_role_sees_what_a_superuser_sees,
        ),
        (
            "unreadable_database_is_skipped",
            unreadable_database_is_skipped,
        ),
        (
            "opt_in_collectors_by_name",
            opt_in::opt_in_collectors_by_name,
        ),
        (
            "statement_text_is_truncated",
            opt_in::statement_text_is_truncated,
        ),
        (
            "prepared_batch_follows_the_facts",
            opt_in::prepared_batch_follows_the_facts,
        ),
        (
            "kept_connection_scrapes_in_one_round_trip",
            opt_in::kept_connection_scrapes_in_one_round_trip,
        ),
        (
            "template_sizes_are_kept_while_the_row_stays",
            template_sizes::template_sizes_are_kept_while_the_row_stays,
        ),
        ("statement_statistics", statement_statistics),
        ("promtool_accepts_our_names", promtool_accepts_our_names),
        ("settings_match_the_server", settings_match_the_server),
        (
            "new_families_have_the_servers_values",
            current::new_families_have_the_servers_values,
        ),
        (
            "custom_queries_every_usage_kind",
            custom_queries::every_usage_kind,
        ),
        (
            "custom_queries_cache_seconds",
            custom_queries::cache_seconds_are_honoured,
        ),
        (
            "custom_queries_master_skipped_on_standby",
            custom_queries::master_queries_are_skipped_on_the_standby,
        ),
        (
            "custom_queries_slow_query_cut_at_deadline",
            custom_queries::slow_query_is_cut_at_the_deadline,
        ),
        ("settings_follow_a_reload", settings_follow_a_reload),
        (
            "database_and_table_statistics",
            database_and_table_statistics,
        ),
        (
            "replica_and_primary_roles",
            replication::replica_and_primary_roles,
        ),
        (
            "idle_caught_up_standby_has_zero_lag",
            replication::idle_caught_up_standby_has_zero_lag,
        ),
        (
            "paused_replay_shows_real_lag",
            replication::paused_replay_shows_real_lag,
        ),
        (
            "per_standby_statistics",
            replication::per_standby_statistics,
        ),
        ("replication_slots", replication::replication_slots),
        (
            "wrong_password_never_leaks",
            failures::wrong_password_never_leaks,
        ),
        ("tls_by_sslmode", failures::tls_by_sslmode),
        (
            "unresponsive_server_times_out",
            failures::unresponsive_server_times_out,
        ),
        ("primary_stop_and_start", failures::primary_stop_and_start),
    ];
    let wanted = |name: &str| {
        let probe = Trial::test(name, || Ok(()));
        !args.is_filtered_out(&probe)
    };
    // Servers start only if a trial will run: not for `--list`, `--ignored`
    // (none is), or a filter meant for other tests of the workspace.
    let env: Option<Arc<Env>> =
        (!args.list && !args.ignored && trials.iter().any(|(n, _)| wanted(n)))
            .then(|| Arc::new(Env::start()));
    let trials = trials
        .into_iter()
        .map(|(name, f)| {
            let env = env.clone();
            Trial::test(name, move || match env {
                Some(env) => f(&env),
                None => Err("servers not started".into()),
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(env); // stops the servers before exiting
    conclusion.exit();
}
