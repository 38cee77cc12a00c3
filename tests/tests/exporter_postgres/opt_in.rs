//! The opt-in collectors (`collectors:` by postgres_exporter's names):
//! `stat_statements`, `long_running_transactions`, `stat_user_indexes`.
//! Off by default; on through the configuration file's global
//! `collectors`, or a target's own; `stat_statements` without the extension
//! says so in `pg_scrape_collector_success` and leaves the target up.

use std::collections::BTreeSet;
use std::time::Instant;

use libtest_mimic::Failed;
use vigil_exporter::metrics::{Family, MetricType};

use super::support::{Env, family, pg_up, registry, value};

const OPT_IN_PREFIXES: [&str; 4] = [
    "pg_stat_statements_",
    "pg_long_running_transactions",
    "pg_stat_user_indexes_",
    "pg_scrape_collector_success",
];

fn label_names(f: &Family) -> BTreeSet<&str> {
    f.samples
        .iter()
        .flat_map(|s| s.labels.iter().map(|(n, _)| &**n))
        .collect()
}

/// The collectors of a configuration file's `postgres:` section.
fn from_config(yaml: &str) -> Vec<std::sync::Arc<dyn vigil_exporter::collectors::Collector>> {
    vigil_exporter::config::load_str("opt-in.yml", yaml, &|_| None)
        .expect("a valid configuration")
        .collectors
}

/// Off by default; `global.collectors` turns all three on, a target's own
/// `collectors` turns one off again; every family has postgres_exporter's
/// type and label names (plus `server`, which the registry adds).
pub(crate) fn opt_in_collectors_by_name(env: &Env) -> Result<(), Failed> {
    let default = env.collect(&env.primary_collector)?;
    for f in &default {
        assert!(
            !OPT_IN_PREFIXES.iter().any(|p| f.name.starts_with(p)),
            "{} without being asked",
            f.name
        );
    }
    let primary = env.primary();
    primary
        .query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .map_err(|e| e.to_string())?;
    let appdb = primary.dsn_for(
        "postgres",
        vigil_tests::postgres::SUPERUSER_PASSWORD,
        "appdb",
    );
    let dsn = primary.dsn();
    drop(primary);
    let collectors = from_config(&format!(
        "global:\n  collectors: {{ stat_statements: true, long_running_transactions: true, stat_user_indexes: true }}\n\
         postgres:\n  - dsn: '{dsn}'\n    auto_discover_databases: true\n  - dsn: '{appdb}'\n    server: own-choice\n    collectors: {{ stat_user_indexes: false }}\n"
    ));
    // An open transaction, so the oldest one has an age.
    let opened = Instant::now();
    let fams = env.rt.block_on(async {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::PgConnection::connect(&dsn).await?;
        conn.execute("BEGIN").await?;
        conn.execute("SELECT 1").await?;
        let fams = registry(&[&collectors[0], &collectors[1]]).gather().await;
        conn.execute("ROLLBACK").await?;
        Ok::<_, sqlx::Error>(fams)
    });
    let fams = fams.map_err(|e| e.to_string())?;
    let server = env.primary().server_label();
    assert_eq!(pg_up(&fams, &server), 1.0);
    assert_eq!(pg_up(&fams, "own-choice"), 1.0);

    let want: [(&str, MetricType, &[&str]); 8] = [
        (
            "pg_stat_statements_calls_total",
            MetricType::Counter,
            &["datname", "queryid", "server", "user"],
        ),
        (
            "pg_stat_statements_seconds_total",
            MetricType::Counter,
            &["datname", "queryid", "server", "user"],
        ),
        (
            "pg_stat_statements_rows_total",
            MetricType::Counter,
            &["datname", "queryid", "server", "user"],
        ),
        (
            "pg_stat_statements_block_read_seconds_total",
            MetricType::Counter,
            &["datname", "queryid", "server", "user"],
        ),
        (
            "pg_long_running_transactions",
            MetricType::Gauge,
            &["server"],
        ),
        (
            "pg_long_running_transactions_oldest_timestamp_seconds",
            MetricType::Gauge,
            &["server"],
        ),
        (
            "pg_stat_user_indexes_idx_scan_total",
            MetricType::Counter,
            &["datname", "indexrelname", "relname", "schemaname", "server"],
        ),
        (
            "pg_stat_user_indexes_idx_tup_read",
            MetricType::Counter,
            &["datname", "indexrelname", "relname", "schemaname", "server"],
        ),
    ];
    for (name, kind, labels) in want {
        let f = family(&fams, name);
        assert_eq!(f.kind, kind, "{name}");
        assert!(!f.samples.is_empty(), "{name} has no sample");
        assert_eq!(label_names(f), labels.iter().copied().collect(), "{name}");
    }
    // The discovered database's index, from the target that asked.
    let scans = family(&fams, "pg_stat_user_indexes_idx_scan_total");
    assert!(scans.samples.iter().any(|s| {
        s.labels.contains(&("datname".into(), "appdb".into()))
            && s.labels.contains(&("indexrelname".into(), "t_pkey".into()))
            && s.labels
                .contains(&("server".into(), server.as_str().into()))
    }));
    // The target that turned it off for itself has none.
    assert!(
        scans
            .samples
            .iter()
            .all(|s| !s.labels.contains(&("server".into(), "own-choice".into())))
    );
    let oldest = value(
        &fams,
        "pg_long_running_transactions_oldest_timestamp_seconds",
        &[("server", &server)],
    );
    let bound = opened.elapsed().as_secs_f64();
    assert!(
        oldest > 0.0 && oldest <= bound + 0.5,
        "oldest {oldest}, opened {bound} s ago"
    );
    // Open for less than a minute: not long-running yet.
    assert_eq!(
        value(
            &fams,
            "pg_long_running_transactions",
            &[("server", &server)]
        ),
        0.0
    );
    for collector in [
        "stat_statements",
        "long_running_transactions",
        "stat_user_indexes",
    ] {
        assert_eq!(
            value(
                &fams,
                "pg_scrape_collector_success",
                &[("server", &server), ("collector", collector)]
            ),
            1.0,
            "{collector}"
        );
    }
    // appdb has no pg_stat_statements view: reported, and the target up.
    assert_eq!(
        value(
            &fams,
            "pg_scrape_collector_success",
            &[("server", "own-choice"), ("collector", "stat_statements")]
        ),
        0.0
    );
    let calls = family(&fams, "pg_stat_statements_calls_total");
    assert!(
        calls
            .samples
            .iter()
            .all(|s| !s.labels.contains(&("server".into(), "own-choice".into())))
    );
    Ok(())
}

/// `stat_statements_include_query` writes each statement's text cut to
/// `stat_statements_query_length` characters, one series per query id.
pub(crate) fn statement_text_is_truncated(env: &Env) -> Result<(), Failed> {
    let primary = env.primary();
    primary
        .query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .map_err(|e| e.to_string())?;
    primary
        .query("SELECT count(*) FROM pg_class WHERE relname LIKE 'vigil_truncation_probe%'")
        .map_err(|e| e.to_string())?;
    let dsn = primary.dsn();
    drop(primary);
    let collectors = from_config(&format!(
        "postgres:\n  - dsn: '{dsn}'\n    collectors: {{ stat_statements: true }}\n    stat_statements_limit: 1000\n    stat_statements_include_query: true\n    stat_statements_query_length: 24\n"
    ));
    let fams = env.collect(&collectors[0])?;
    let texts = family(&fams, "pg_stat_statements_query_id");
    assert_eq!(label_names(texts), BTreeSet::from(["query", "queryid"]));
    let mut ids = BTreeSet::new();
    for s in &texts.samples {
        let query = &s.labels.iter().find(|(n, _)| n == "query").unwrap().1;
        let id = &s.labels.iter().find(|(n, _)| n == "queryid").unwrap().1;
        assert!(query.chars().count() <= 24, "{query:?}");
        assert!(ids.insert(id.clone()), "query id {id} twice");
        assert_eq!(s.value, 1.0);
    }
    assert!(
        texts.samples.iter().any(|s| s
            .labels
            .contains(&("query".into(), "SELECT count(*) FROM pg_".into()))),
        "the probe's text, cut at 24 characters"
    );
    Ok(())
}

/// A new database `name` on the primary with `pg_stat_statements`
/// created in it; the superuser's DSN for it.
pub(crate) fn database_with_statements(env: &Env, name: &str) -> Result<String, Failed> {
    let primary = env.primary();
    primary
        .query(&format!("CREATE DATABASE {name}"))
        .map_err(|e| e.to_string())?;
    primary
        .query_db(name, "CREATE EXTENSION pg_stat_statements")
        .map_err(|e| e.to_string())?;
    Ok(primary.dsn_for("postgres", vigil_tests::postgres::SUPERUSER_PASSWORD, name))
}

/// How many times pg_stat_statements counted statements like `pattern`
/// (SQL `LIKE`) run in database `name` (one of [`database_with_statements`]).
pub(crate) fn statement_calls(env: &Env, name: &str, pattern: &str) -> Result<String, Failed> {
    let sql = format!(
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s \
         JOIN pg_database d ON d.oid = s.dbid \
         WHERE d.datname = '{name}' AND s.query LIKE '{pattern}'"
    );
    Ok(env
        .primary()
        .query_db(name, &sql)
        .map_err(|e| e.to_string())?)
}

/// On a kept connection a scrape is one round trip: the server's facts are
/// read inside the batch, so the statement that reads them alone runs at
/// the first scrape only (pg_stat_statements counts it in a database of
/// this trial's own).
pub(crate) fn kept_connection_scrapes_in_one_round_trip(env: &Env) -> Result<(), Failed> {
    let dsn = database_with_statements(env, "onetripdb")?;
    let collector = super::support::collector(&dsn, false);
    for scrape in 1..=4 {
        let fams = env.collect(&collector).map_err(|e| e.to_string())?;
        assert_eq!(
            value(&fams, "pg_replication_is_replica", &[]),
            0.0,
            "scrape {scrape}"
        );
    }
    let calls = statement_calls(env, "onetripdb", "SELECT current_setting(%")?;
    assert_eq!(
        calls, "1",
        "the facts read alone once, at the first of 4 scrapes"
    );
    Ok(())
}

/// The views' batch is prepared once per kept connection, by the facts
/// the scrape reads first. When they change between scrapes
/// (`pg_stat_statements` dropped, then created again), the next scrape
/// reads the server as it now is: the target stays up, and the families
/// follow the extension.
pub(crate) fn prepared_batch_follows_the_facts(env: &Env) -> Result<(), Failed> {
    let dsn = database_with_statements(env, "prepdb")?;
    let collectors = from_config(&format!(
        "global:\n  collectors: {{ stat_statements: true }}\npostgres:\n  - dsn: '{dsn}'\n    server: prepared\n"
    ));
    let scrape = || env.rt.block_on(registry(&[&collectors[0]]).gather());
    let statements = |fams: &[Family]| {
        fams.iter()
            .any(|f| f.name.starts_with("pg_stat_statements_") && !f.samples.is_empty())
    };
    let success = |fams: &[Family]| {
        value(
            fams,
            "pg_scrape_collector_success",
            &[("collector", "stat_statements")],
        )
    };
    // `scrapes` scrapes in a row: up, and the extension's families and
    // success as `installed` says.
    let expect = |scrapes: usize, installed: bool, what: &str| {
        for _ in 0..scrapes {
            let fams = scrape();
            assert_eq!(pg_up(&fams, "prepared"), 1.0, "up ({what})");
            assert_eq!(
                statements(&fams),
                installed,
                "pg_stat_statements families ({what})"
            );
            assert_eq!(
                success(&fams),
                f64::from(u8::from(installed)),
                "success ({what})"
            );
        }
    };
    // The first scrape prepares the batch; later ones reuse it.
    expect(3, true, "installed");
    env.primary()
        .query_db("prepdb", "DROP EXTENSION pg_stat_statements")
        .map_err(|e| e.to_string())?;
    expect(2, false, "dropped");
    env.primary()
        .query_db("prepdb", "CREATE EXTENSION pg_stat_statements")
        .map_err(|e| e.to_string())?;
    expect(2, true, "created again");
    Ok(())
}
