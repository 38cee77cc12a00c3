//! Custom queries (postgres_exporter's queries.yaml format, `queries_file`)
//! against the real primary and standby: every usage kind, a query that
//! fails, one slower than the target's deadline, `master: true` on the
//! standby, `cache_seconds`, and query files from the public collections
//! (`pg_txid_current`, a `pg_stat_user_tables` namespace that replaces the
//! built-in family of the same name).

use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::Failed;
use vigil_exporter::collectors::Collector;
use vigil_exporter::metrics::{Family, MetricType};

use super::support::{Env, family, pg_up, registry, target, value};

const QUERIES: &str = r#"
pg_custom:
  query: |
    SELECT 'appdb'::text AS db, 7::bigint AS calls, 2.5::float8 AS level,
           'on'::text AS mode, 1500::int AS wait, 99 AS ignored, true AS flag,
           NULL::int AS nothing
  metrics:
    - db: {usage: "LABEL", description: "Database"}
    - calls: {usage: "COUNTER", description: "Calls"}
    - level: {usage: "GAUGE", description: "Level"}
    - mode: {usage: "MAPPEDMETRIC", description: "Mode", metric_mapping: {"on": 1, "off": 0}}
    - wait: {usage: "DURATION", description: "Wait"}
    - ignored: {usage: "DISCARD"}
    - nothing: {usage: "GAUGE", description: "NULL is NaN"}
pg_idle_hist:
  query: |
    SELECT 'app'::text AS app, ARRAY[1, 5]::float8[] AS seconds,
           ARRAY[1, 3]::bigint[] AS seconds_bucket, 4.5::float8 AS seconds_sum,
           4::bigint AS seconds_count
  metrics:
    - app: {usage: "LABEL"}
    - seconds: {usage: "HISTOGRAM", description: "Idle"}
pg_broken:
  query: "SELECT n FROM no_such_table"
  metrics:
    - n: {usage: "GAUGE"}
pg_primary_only:
  query: "SELECT count(*) AS standbys FROM pg_stat_replication"
  master: true
  metrics:
    - standbys: {usage: "GAUGE", description: "Standbys streaming from here"}
pg_cached:
  query: "SELECT extract(epoch FROM clock_timestamp()) AS now"
  cache_seconds: 600
  metrics:
    - now: {usage: "GAUGE"}
pg_uncached:
  query: "SELECT extract(epoch FROM clock_timestamp()) AS now"
  metrics:
    - now: {usage: "GAUGE"}
pg_txid:
  query: "SELECT CASE WHEN pg_is_in_recovery() THEN 'NaN'::float ELSE txid_current() % (2^52)::bigint END AS current"
  metrics:
    - current:
        usage: "COUNTER"
        description: "Current 64-bit transaction id of the query backend"
pg_stat_user_tables:
  query: |
    SELECT current_database() datname, schemaname, relname, n_live_tup
    FROM pg_stat_user_tables
  metrics:
    - datname: {usage: "LABEL", description: "Name of current database"}
    - schemaname: {usage: "LABEL", description: "Name of the schema that this table is in"}
    - relname: {usage: "LABEL", description: "Name of this table"}
    - n_live_tup: {usage: "GAUGE", description: "Estimated number of live rows (custom)"}
"#;

const SLOW: &str = r#"
pg_slow:
  query: "SELECT pg_sleep(30) IS NULL AS slept"
  metrics:
    - slept: {usage: "GAUGE"}
pg_fast:
  query: "SELECT 1 AS one"
  metrics:
    - one: {usage: "GAUGE"}
"#;

/// A collector of `dsn` with `queries` as its queries file.
fn with_queries(
    dir: &tempfile::TempDir,
    dsn: &str,
    queries: &str,
    timeout: Duration,
) -> Arc<dyn Collector> {
    let path = dir.path().join(format!("q{}.yaml", queries.len()));
    std::fs::write(&path, queries).expect("write the queries file");
    let mut t = target(dsn, false, timeout);
    t.queries_file = Some(path);
    super::support::collector_from(t)
}

fn failures(fams: &[Family], namespace: &str) -> f64 {
    value(
        fams,
        "vigil_exporter_custom_query_failures_total",
        &[("namespace", namespace)],
    )
}

fn has(fams: &[Family], name: &str) -> bool {
    fams.iter().any(|f| f.name == name)
}

pub(crate) fn every_usage_kind(env: &Env) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    // On appdb, which has a table for the pg_stat_user_tables query.
    let dsn = env
        .primary()
        .dsn_with(vigil_tests::postgres::SUPERUSER_PASSWORD, "appdb");
    let c = with_queries(&dir, &dsn, QUERIES, Duration::from_secs(5));
    let fams = env.collect(&c)?;
    let db = [("db", "appdb")];
    let kind = |name: &str| family(&fams, name).kind;
    assert_eq!(kind("pg_custom_calls"), MetricType::Counter);
    assert_eq!(value(&fams, "pg_custom_calls", &db), 7.0);
    assert_eq!(family(&fams, "pg_custom_calls").help, "Calls");
    assert_eq!(kind("pg_custom_level"), MetricType::Gauge);
    assert_eq!(value(&fams, "pg_custom_level", &db), 2.5);
    assert_eq!(value(&fams, "pg_custom_mode", &db), 1.0);
    assert_eq!(value(&fams, "pg_custom_wait_milliseconds", &db), 1500.0);
    assert!(value(&fams, "pg_custom_nothing", &db).is_nan());
    assert!(!has(&fams, "pg_custom_ignored") && !has(&fams, "pg_custom_db"));
    // A column the file does not list: untyped, as upstream.
    assert_eq!(kind("pg_custom_flag"), MetricType::Untyped);
    assert_eq!(value(&fams, "pg_custom_flag", &db), 1.0);
    let hist = family(&fams, "pg_idle_hist_seconds");
    assert_eq!(hist.kind, MetricType::Histogram);
    let bucket = |le: &str| {
        hist.samples
            .iter()
            .find(|s| s.suffix == "_bucket" && s.labels.contains(&("le".into(), le.into())))
            .map(|s| s.value)
    };
    assert_eq!(
        (bucket("1"), bucket("5"), bucket("+Inf")),
        (Some(1.0), Some(3.0), Some(4.0))
    );
    assert!(
        !has(&fams, "pg_idle_hist_seconds_sum"),
        "companions are the histogram's"
    );
    assert!(value(&fams, "pg_txid_current", &[]) > 0.0);
    assert_eq!(value(&fams, "pg_primary_only_standbys", &[]), 1.0);
    // The custom pg_stat_user_tables_n_live_tup replaces the built-in one;
    // the other built-in families of that view stay.
    let live: Vec<&Family> = fams
        .iter()
        .filter(|f| f.name == "pg_stat_user_tables_n_live_tup")
        .collect();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].help, "Estimated number of live rows (custom)");
    assert!(value(&fams, "pg_stat_user_tables_n_live_tup", &[("relname", "t")]) >= 0.0);
    assert!(has(&fams, "pg_stat_user_tables_seq_scan"));
    // The failing query: absent, counted, the scrape marked, the rest read.
    assert!(!has(&fams, "pg_broken_n"));
    assert_eq!(failures(&fams, "pg_broken"), 1.0);
    assert_eq!(failures(&fams, "pg_custom"), 0.0);
    assert_eq!(value(&fams, "pg_exporter_last_scrape_error", &[]), 1.0);
    let again = env.collect(&c)?;
    assert_eq!(failures(&again, "pg_broken"), 2.0);
    Ok(())
}

pub(crate) fn cache_seconds_are_honoured(env: &Env) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let c = with_queries(&dir, &env.primary().dsn(), QUERIES, Duration::from_secs(5));
    let first = env.collect(&c)?;
    // PostgreSQL's now() must move on between the two collections: real
    // time passes, nothing is awaited.
    std::thread::sleep(Duration::from_millis(20));
    let second = env.collect(&c)?;
    let now = |f: &[Family], ns: &str| value(f, &format!("{ns}_now"), &[]);
    assert_eq!(now(&first, "pg_cached"), now(&second, "pg_cached"));
    assert!(now(&second, "pg_uncached") > now(&first, "pg_uncached"));
    Ok(())
}

pub(crate) fn master_queries_are_skipped_on_the_standby(env: &Env) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let c = with_queries(&dir, &env.replica.dsn(), QUERIES, Duration::from_secs(5));
    let fams = env.collect(&c)?;
    assert!(!has(&fams, "pg_primary_only_standbys"));
    assert_eq!(failures(&fams, "pg_primary_only"), 0.0);
    assert!(
        has(&fams, "pg_custom_calls"),
        "other queries run on the standby"
    );
    Ok(())
}

/// A query slower than the target's deadline is cancelled in time: the
/// target stays up (the registry would write `pg_up 0` had the collection
/// passed its deadline), the other queries are read, the slow one counted.
pub(crate) fn slow_query_is_cut_at_the_deadline(env: &Env) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let c = with_queries(&dir, &env.primary().dsn(), SLOW, Duration::from_secs(2));
    let fams = env.rt.block_on(registry(&[&c]).gather());
    assert_eq!(pg_up(&fams, &env.primary().server_label()), 1.0);
    assert!(!has(&fams, "pg_slow_slept"));
    assert_eq!(value(&fams, "pg_fast_one", &[]), 1.0);
    assert_eq!(failures(&fams, "pg_slow"), 1.0);
    Ok(())
}
