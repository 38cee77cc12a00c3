//! Custom queries: postgres_exporter's `queries.yaml` (see [`file`]), run
//! on a target at each scrape.
//!
//! - Each query runs in the scrape's transaction under a savepoint, with
//!   `statement_timeout` set to what is left of the target's deadline (less
//!   a margin for the rest of the scrape): a query that fails or is too
//!   slow is rolled back to its savepoint, its families are absent from
//!   that scrape, it is counted in
//!   `vigil_exporter_custom_query_failures_total{namespace}` and
//!   `pg_exporter_last_scrape_error` is 1; the target stays up.
//! - `master: true` runs on a primary's DSN database only: never on a
//!   standby, never on auto-discovered databases. (Upstream's "master" is
//!   only "the configured DSN", not the server's role; a query meant for
//!   the primary alone, such as one reading `pg_stat_replication`, is why
//!   people set it.) Other queries run on every database collected.
//! - `cache_seconds`: a result is reused until it is older than that, per
//!   database.
//! - A custom family replaces a built-in family of the same name, so a
//!   query file that recreates one (`pg_stat_user_tables`,
//!   `pg_process_idle`) works as it did with postgres_exporter and no name
//!   is written twice.

mod families;
pub(crate) mod file;
mod value;
pub(crate) mod version;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use sqlx::{AssertSqlSafe, Column, Either, PgConnection, Row, TypeInfo, ValueRef};
use vigil_common::ConfigErrors;

use crate::metrics::{Family, Name, labels};
use families::QueryResult;
use file::UserQuery;

/// The savepoint each custom query runs under.
const SAVEPOINT: &str = "vigil_custom_query";

/// A cached result by (query index, database): when read, and what.
type Cache = HashMap<(usize, String), (Instant, Vec<Family>)>;

/// The custom queries of one target, with their cached results and failure
/// counts.
pub(crate) struct UserQueries {
    queries: Vec<UserQuery>,
    cache: Mutex<Cache>,
    /// Failures by namespace since the exporter started, with the reason
    /// last logged.
    failures: Mutex<BTreeMap<String, (u64, String)>>,
}

/// Where the queries run.
pub(crate) struct Scope<'a> {
    pub version: u32,
    pub in_recovery: bool,
    /// The DSN's own database (not a discovered one).
    pub main: bool,
    pub database: &'a str,
    /// When the target's deadline passes.
    pub deadline: Instant,
    /// Time kept for the rest of the scrape after the queries.
    pub margin: Duration,
}

impl UserQueries {
    /// Reads and checks `path`.
    pub(crate) fn load(path: &Path) -> Result<UserQueries, ConfigErrors> {
        Ok(UserQueries {
            queries: file::load(path)?,
            cache: Mutex::new(HashMap::new()),
            failures: Mutex::new(BTreeMap::new()),
        })
    }

    /// Runs (or takes from the cache) every query that applies to `scope`,
    /// in the scrape's open transaction. The families, and whether a query
    /// failed. Only an error of the connection itself is an `Err`.
    pub(crate) async fn run(
        &self,
        conn: &mut PgConnection,
        scope: &Scope<'_>,
    ) -> Result<(Vec<Family>, bool), sqlx::Error> {
        let mut out = Vec::new();
        let mut failed = false;
        let mut open_savepoint = false;
        for (i, query) in self.queries.iter().enumerate() {
            if (query.master && (scope.in_recovery || !scope.main))
                || query
                    .versions
                    .as_ref()
                    .is_some_and(|r| !r.contains(scope.version))
            {
                continue;
            }
            let key = (i, scope.database.to_string());
            let cached = self
                .cache
                .lock()
                .expect("cache lock")
                .get(&key)
                .filter(|(at, _)| at.elapsed() <= Duration::from_secs(query.cache_seconds))
                .map(|(_, families)| families.clone());
            if let Some(families) = cached {
                out.extend(families);
                continue;
            }
            let budget = scope
                .deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(scope.margin);
            if budget < Duration::from_millis(1) {
                self.failed(query, scope, "no time left before the target's deadline");
                failed = true;
                continue;
            }
            let result = run_one(conn, query, budget, open_savepoint).await;
            open_savepoint = true;
            match result {
                Ok(result) => {
                    let (families, problems) = families::families(query, &result);
                    for problem in problems {
                        tracing::info!(database = scope.database, "custom query: {problem}");
                    }
                    if query.cache_seconds > 0 {
                        self.cache
                            .lock()
                            .expect("cache lock")
                            .insert(key, (Instant::now(), families.clone()));
                    }
                    out.extend(families);
                }
                Err(e) => {
                    if is_connection_error(&e) {
                        return Err(e);
                    }
                    self.failed(query, scope, &e.to_string());
                    failed = true;
                }
            }
        }
        if open_savepoint {
            sqlx::raw_sql(AssertSqlSafe(format!(
                "ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
            )))
            .execute(&mut *conn)
            .await?;
        }
        Ok((out, failed))
    }

    /// Counts a failure; logs it when its reason differs from the last one
    /// of the same query (a query that fails at every scrape logs once).
    fn failed(&self, query: &UserQuery, scope: &Scope<'_>, why: &str) {
        let mut failures = self.failures.lock().expect("failures lock");
        let (count, last) = failures.entry(query.namespace.clone()).or_default();
        *count += 1;
        if last != why {
            tracing::warn!(
                namespace = %query.namespace,
                database = scope.database,
                error = why,
                "custom query failed; its metrics are left out of scrapes while it fails"
            );
            *last = why.to_string();
        }
    }

    /// `vigil_exporter_custom_query_failures_total{namespace}`, every
    /// query's namespace present from the start.
    pub(crate) fn failures_family(&self) -> Family {
        let counts = self.failures.lock().expect("failures lock");
        let mut family = Family::counter(
            "vigil_exporter_custom_query_failures_total",
            "Custom queries (queries_file) that failed or passed the target's deadline, by namespace",
        );
        let mut namespaces: Vec<&str> = self.queries.iter().map(|q| q.namespace.as_str()).collect();
        namespaces.dedup();
        for ns in namespaces {
            let n = counts.get(ns).map_or(0, |(n, _)| *n);
            family.push(labels(&[("namespace", ns)]), n as f64);
        }
        family
    }
}

/// Runs one query under a fresh savepoint (the previous one, if any, rolled
/// back first: that also undoes its `SET LOCAL`s), over the simple query
/// protocol, so every value comes as text with its type (see `value.rs`).
async fn run_one(
    conn: &mut PgConnection,
    query: &UserQuery,
    budget: Duration,
    previous: bool,
) -> Result<QueryResult, sqlx::Error> {
    // Only integers and fixed words reach this text.
    let mut prelude = String::new();
    if previous {
        prelude += &format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}; ");
    }
    prelude += &format!(
        "SAVEPOINT {SAVEPOINT}; SET LOCAL statement_timeout = {}; SET LOCAL datestyle = 'ISO'",
        budget.as_millis().max(1)
    );
    sqlx::raw_sql(AssertSqlSafe(prelude))
        .execute(&mut *conn)
        .await?;
    // The operator's own SQL, from the queries file they configured.
    let mut stream = sqlx::raw_sql(AssertSqlSafe(query.sql.clone())).fetch_many(&mut *conn);
    let mut result = QueryResult {
        columns: Vec::new(),
        rows: Vec::new(),
    };
    while let Some(item) = stream.try_next().await? {
        let Either::Right(row) = item else {
            continue;
        };
        if result.columns.is_empty() {
            result.columns = row
                .columns()
                .iter()
                .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
                .collect();
        }
        let mut values = Vec::with_capacity(row.len());
        for i in 0..row.len() {
            let raw = row.try_get_raw(i)?;
            values.push(if raw.is_null() {
                None
            } else {
                Some(raw.as_str().map_err(sqlx::Error::Decode)?.to_string())
            });
        }
        result.rows.push(values);
    }
    Ok(result)
}

/// Errors after which the connection cannot go on (as opposed to an error
/// of the query, which its savepoint undoes).
fn is_connection_error(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolClosed
    )
}

/// Adds every custom family to `out`: one that has the name of a built-in
/// family replaces it (an empty one too: its query ran and found no row),
/// and the same family from several databases is one.
pub(crate) fn merge(out: &mut Vec<Family>, custom: Vec<Family>) {
    let names: std::collections::BTreeSet<Name> = custom.iter().map(|f| f.name.clone()).collect();
    out.retain(|f| !names.contains(&f.name));
    let mut merged: Vec<Family> = Vec::new();
    for family in custom {
        match merged.iter_mut().find(|f| f.name == family.name) {
            Some(existing) => existing.samples.extend(family.samples),
            None => merged.push(family),
        }
    }
    out.extend(merged.into_iter().filter(|f| !f.samples.is_empty()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_families_replace_builtins_and_merge_across_databases() {
        let mut out = vec![
            Family::gauge("pg_a", "builtin").single(1.0),
            Family::gauge("pg_b", "builtin").single(2.0),
        ];
        merge(
            &mut out,
            vec![
                Family::counter("pg_a", "custom").single(3.0),
                Family::counter("pg_a", "custom").single(4.0),
                Family::gauge("pg_c", "custom").single(5.0),
            ],
        );
        let got: Vec<(&str, &str, usize)> = out
            .iter()
            .map(|f| (&*f.name, &*f.help, f.samples.len()))
            .collect();
        assert_eq!(
            got,
            [
                ("pg_b", "builtin", 1),
                ("pg_a", "custom", 2),
                ("pg_c", "custom", 1)
            ]
        );
    }
}
