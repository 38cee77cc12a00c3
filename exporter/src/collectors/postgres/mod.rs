//! The PostgreSQL collector: postgres_exporter's families (and its newer
//! replication ones) from one server per target.
//!
//! Each target keeps one connection (and one per discovered database) across
//! scrapes, as postgres_exporter does. It is opened on first use, so a
//! server that is down when the exporter starts is only a failed collection
//! (`pg_up 0`); a kept connection whose first statement fails (the server
//! restarted, or closed it) is replaced at once by a new one, so a server
//! restart needs no exporter restart and costs no failed scrape. No ping
//! comes first: the scrape's `BEGIN` tells as much, without its own round
//! trip. A connection is taken out of its slot for the scrape and put back
//! only when the scrape succeeded: a scrape that failed, or that the
//! registry abandoned at its deadline, drops it, so a connection in an
//! unknown state is never reused.
//!
//! Why not sqlx's `PgPool`: when the server refuses connections it retries
//! until its acquire timeout and then reports only "pool timed out", so a
//! stopped server would take the whole deadline on every scrape and the log
//! would not say why; a direct connect fails at once with the real reason
//! (connection refused, password authentication failed).
//!
//! A collection runs in one transaction on the main connection (see
//! `begin_bounded`): the server's version (which picks the queries),
//! `pg_settings`, the database, activity, bgwriter, replication and slot
//! views, per-table and per-index statistics, `pg_stat_statements` when
//! enabled; then per-table statistics of each discovered database on its
//! own connection. Any failure on the main connection fails the collection;
//! a discovered database that cannot be read is logged and left out (and
//! `pg_exporter_last_scrape_error` is 1), so one dropped database does not
//! take the whole server's `pg_up` to 0.
//!
//! ```text
//! mod.rs        build(), the kept connections, the order of a collection
//! config.rs     PostgresTarget (YAML), server label, static labels
//! dsn.rs        URL and libpq keyword DSNs, password forms for scrubbing
//! error.rs      sqlx errors -> CollectError (kind, scrubbed reason)
//! columns.rs    views as column tables -> SELECT by version -> families
//! server.rs     version, pg_static, start time, pg_settings rows
//! settings.rs   pg_settings row -> gauge (pure, postgres_exporter's rules)
//! database.rs   pg_stat_database(_conflicts), pg_database_size_bytes
//! activity.rs   pg_stat_activity, pg_locks, idle histogram, long transactions
//! bgwriter.rs   pg_stat_bgwriter (checkpointer/io on 17+), pg_stat_archiver
//! replication.rs lag, is_replica, WAL receiver; per-standby pg_stat_replication
//! slots.rs      pg_replication_slots
//! user_tables.rs pg_stat_user_tables, pg_statio_user_{tables,indexes}, discovery
//! statements.rs pg_stat_statements (opt-in)
//! roles.rs      pg_roles
//! wal.rs        pg_ls_waldir(): WAL segments and size
//! vacuum.rs     pg_stat_progress_vacuum
//! queries/      custom queries (postgres_exporter's queries.yaml)
//! ```

mod activity;
mod bgwriter;
mod columns;
mod config;
mod database;
mod dsn;
mod error;
mod queries;
mod replication;
mod roles;
mod server;
pub mod settings;
mod slots;
mod statements;
mod user_tables;
mod vacuum;
mod wal;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, PgConnection};
use tokio::sync::Mutex;

pub use config::PostgresTarget;
pub use server::short_version;

use crate::collectors::{BuildError, CollectError, Collector, Source};
use crate::metrics::{Family, Label};

/// The deadline for connecting, and the `statement_timeout`, when the target
/// sets no `timeout`; the registry's default deadline is the same 5 s.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Makes the collector for one target. Fails only on configuration errors
/// (no DSN, unreadable `dsn_file`, a DSN that cannot be parsed, an invalid
/// static label); a server that cannot be reached is a failed collection
/// later, not a build error.
pub fn build(
    target: &PostgresTarget,
    global_queries: Option<&Path>,
) -> Result<Arc<dyn Collector>, BuildError> {
    let resolved = target.resolve()?;
    let queries = match target.queries_file.as_deref().or(global_queries) {
        Some(path) => Some(queries::UserQueries::load(path).map_err(|e| BuildError {
            target: resolved.server.clone(),
            reason: format!("queries_file: {}", e.to_string().replace('\n', "; ")),
        })?),
        None => None,
    };
    let timeout = target.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let mut options = resolved.options;
    if options.get_application_name().is_none() {
        options = options.application_name("vigil-exporter");
    }
    config::check_labels(&target.labels).map_err(|reason| BuildError {
        target: resolved.server.clone(),
        reason,
    })?;
    let mut target_labels: Vec<Label> = vec![("server".to_string(), resolved.server.clone())];
    target_labels.extend(target.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(Arc::new(PostgresCollector {
        server: resolved.server,
        secrets: resolved.secrets,
        target_labels,
        timeout: target.timeout,
        deadline: timeout,
        options,
        auto_discover: target.auto_discover_databases,
        exclude: target.exclude_databases.clone(),
        stat_statements: target.stat_statements.then(|| statements::Options {
            limit: target
                .stat_statements_limit
                .unwrap_or(statements::DEFAULT_LIMIT),
            query_length: target.stat_statements_include_query.then(|| {
                target
                    .stat_statements_query_length
                    .unwrap_or(statements::DEFAULT_QUERY_LENGTH)
            }),
        }),
        queries,
        connection: Mutex::new(None),
        database_connections: Mutex::new(BTreeMap::new()),
    }))
}

struct PostgresCollector {
    server: String,
    /// Forms of the DSN and password scrubbed from every error message.
    secrets: Vec<String>,
    target_labels: Vec<Label>,
    timeout: Option<Duration>,
    /// The target's timeout (or the default): bounds connecting and, as
    /// `statement_timeout`, each statement.
    deadline: Duration,
    options: PgConnectOptions,
    auto_discover: bool,
    exclude: Vec<String>,
    /// What to read of `pg_stat_statements`, when enabled.
    stat_statements: Option<statements::Options>,
    /// The connection to the DSN's database, between scrapes, with the
    /// settings last read on it.
    connection: Mutex<Option<KeptConnection>>,
    /// The custom queries of `queries_file`, if any.
    queries: Option<queries::UserQueries>,
    /// Connections to discovered databases by name; databases that
    /// disappear are dropped at the next discovery.
    database_connections: Mutex<BTreeMap<String, PgConnection>>,
}

impl PostgresCollector {
    fn error(&self, what: &str, err: &sqlx::Error) -> CollectError {
        error::collect_error(&self.server, what, err, &self.secrets)
    }

    /// A connection with the scrape's transaction begun (see
    /// [`begin_bounded`]): `kept`, when its `BEGIN` succeeds, else a new one
    /// with `options`. Whether it is `kept`.
    async fn begin_scrape(
        &self,
        kept: Option<PgConnection>,
        options: &PgConnectOptions,
    ) -> Result<(PgConnection, bool), sqlx::Error> {
        if let Some(mut conn) = kept {
            match begin_bounded(&mut conn, self.deadline).await {
                Ok(()) => return Ok((conn, true)),
                Err(e) => tracing::debug!(
                    server = %self.server,
                    error = %self.error("reusing the kept connection", &e),
                    "reconnecting"
                ),
            }
        }
        let mut conn = tokio::time::timeout(self.deadline, options.connect())
            .await
            .unwrap_or_else(|_| {
                Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {:?}", self.deadline),
                )))
            })?;
        begin_bounded(&mut conn, self.deadline).await?;
        Ok((conn, false))
    }

    async fn collect_all(&self) -> Result<Vec<Family>, CollectError> {
        // The registry's deadline when it set one (it may be shorter: the
        // global default, or the scraper's timeout), never later than ours.
        let own = Instant::now() + self.deadline;
        let deadline = crate::collectors::deadline().map_or(own, |d| d.min(own));
        let mut slot = self.connection.lock().await;
        let (kept, settings) = slot
            .take()
            .map_or((None, None), |k| (Some(k.conn), k.settings));
        let (mut conn, reused) = self
            .begin_scrape(kept, &self.options)
            .await
            .map_err(|e| self.error("connecting", &e))?;
        // What was read on a connection that is gone says nothing of this one.
        let mut settings = settings.filter(|_| reused);
        let (mut out, version, in_recovery) = self.collect_server(&mut conn, &mut settings).await?;
        let others = if self.auto_discover {
            user_tables::discover(&mut conn, &self.exclude)
                .await
                .map_err(|e| self.error("listing databases", &e))?
        } else {
            Vec::new()
        };
        let mut custom = Vec::new();
        let mut custom_failed = false;
        if let Some(queries) = &self.queries {
            let scope = queries::Scope {
                version,
                in_recovery,
                main: true,
                database: self.options.get_database().unwrap_or(""),
                deadline,
                margin: self.margin(),
            };
            let (families, failed) = queries
                .run(&mut conn, &scope)
                .await
                .map_err(|e| self.error("running custom queries", &e))?;
            custom.extend(families);
            custom_failed |= failed;
        }
        commit(&mut conn)
            .await
            .map_err(|e| self.error("ending the scrape's transaction", &e))?;
        *slot = Some(KeptConnection { conn, settings });
        drop(slot);
        let run = DatabaseRun {
            version,
            in_recovery,
            deadline,
        };
        let complete = self
            .collect_databases(&others, &run, &mut out, &mut custom, &mut custom_failed)
            .await;
        if let Some(queries) = &self.queries {
            queries::merge(&mut out, custom);
            out.push(queries.failures_family());
        }
        out.push(last_scrape_error(!complete || custom_failed));
        Ok(out)
    }

    /// What a custom query may use of the deadline: all but a tenth, kept
    /// for the rest of the scrape (at least 20 ms, at most 500 ms).
    fn margin(&self) -> Duration {
        (self.deadline / 10).clamp(Duration::from_millis(20), Duration::from_millis(500))
    }

    /// Everything read on the main connection, the server's version, and
    /// whether it is a standby.
    async fn collect_server(
        &self,
        conn: &mut PgConnection,
        settings: &mut Option<server::CachedSettings>,
    ) -> Result<(Vec<Family>, u32, bool), CollectError> {
        let info = server::info(conn)
            .await
            .map_err(|e| self.error("reading the server version", &e))?;
        let version = info.version_num;
        let in_recovery = info.in_recovery;
        let wal_allowed = info.wal_allowed;
        let mut out = info.families;
        out.extend(
            server::settings_cached(conn, info.settings_key, settings)
                .await
                .map_err(|e| self.error("reading pg_settings", &e))?,
        );
        out.extend(
            database::collect(conn, version)
                .await
                .map_err(|e| self.error("reading pg_stat_database", &e))?,
        );
        out.extend(
            activity::collect(conn)
                .await
                .map_err(|e| self.error("reading pg_stat_activity and pg_locks", &e))?,
        );
        out.extend(
            bgwriter::collect(conn, version)
                .await
                .map_err(|e| self.error("reading pg_stat_bgwriter", &e))?,
        );
        out.extend(
            replication::collect(conn, version)
                .await
                .map_err(|e| self.error("reading replication state", &e))?,
        );
        out.extend(
            slots::collect(conn, version)
                .await
                .map_err(|e| self.error("reading pg_replication_slots", &e))?,
        );
        out.extend(
            user_tables::collect(conn, version)
                .await
                .map_err(|e| self.error("reading pg_stat_user_tables", &e))?,
        );
        out.extend(
            roles::collect(conn, version)
                .await
                .map_err(|e| self.error("reading pg_roles", &e))?,
        );
        out.extend(
            wal::collect(conn, wal_allowed)
                .await
                .map_err(|e| self.error("reading pg_ls_waldir()", &e))?,
        );
        out.extend(
            vacuum::collect(conn, version)
                .await
                .map_err(|e| self.error("reading pg_stat_progress_vacuum", &e))?,
        );
        if let Some(options) = self.stat_statements {
            out.extend(
                statements::collect(conn, version, options)
                    .await
                    .map_err(|e| self.error("reading pg_stat_statements", &e))?,
            );
        }
        Ok((out, version, in_recovery))
    }

    /// Adds the per-table families (and custom queries' families) of each
    /// discovered database; a database that fails is logged and skipped.
    /// Whether all succeeded.
    async fn collect_databases(
        &self,
        names: &[String],
        run: &DatabaseRun,
        out: &mut Vec<Family>,
        custom: &mut Vec<Family>,
        custom_failed: &mut bool,
    ) -> bool {
        let mut complete = true;
        let mut kept = self.database_connections.lock().await;
        kept.retain(|name, _| names.contains(name));
        for name in names {
            let options = self.options.clone().database(name);
            let result = match self.begin_scrape(kept.remove(name), &options).await {
                Ok((mut conn, _)) => {
                    let families = self.collect_tables(&mut conn, name, run).await;
                    if families.is_ok() {
                        kept.insert(name.clone(), conn);
                    }
                    families
                }
                Err(e) => Err(e),
            };
            match result {
                Ok((families, from_queries, failed)) => {
                    user_tables::merge(out, families);
                    custom.extend(from_queries);
                    *custom_failed |= failed;
                }
                Err(e) => {
                    complete = false;
                    tracing::warn!(
                        database = %name,
                        error = %self.error("reading pg_stat_user_tables", &e),
                        "database skipped"
                    );
                }
            }
        }
        complete
    }
}

/// What the collection of each discovered database needs to know.
struct DatabaseRun {
    version: u32,
    in_recovery: bool,
    deadline: Instant,
}

impl PostgresCollector {
    /// The per-table families of the database `conn` is connected to, in
    /// the transaction [`begin_scrape`](Self::begin_scrape) began, and the
    /// families of the custom queries that run there (and whether one
    /// failed).
    async fn collect_tables(
        &self,
        conn: &mut PgConnection,
        database: &str,
        run: &DatabaseRun,
    ) -> Result<(Vec<Family>, Vec<Family>, bool), sqlx::Error> {
        let families = user_tables::collect(conn, run.version).await?;
        let (custom, failed) = match &self.queries {
            Some(queries) => {
                let scope = queries::Scope {
                    version: run.version,
                    in_recovery: run.in_recovery,
                    main: false,
                    database,
                    deadline: run.deadline,
                    margin: self.margin(),
                };
                queries.run(conn, &scope).await?
            }
            None => (Vec::new(), false),
        };
        commit(conn).await?;
        Ok((families, custom, failed))
    }
}

/// postgres_exporter's `pg_exporter_last_scrape_error`, which community
/// dashboards chart: 1 when the last collection from this target failed or
/// had to skip a discovered database, else 0 (`pg_up` says only whether the
/// server could be read at all).
fn last_scrape_error(failed: bool) -> Family {
    Family::gauge(
        "pg_exporter_last_scrape_error",
        "Whether the last scrape of metrics from PostgreSQL resulted in an error (1 for error, 0 for success).",
    )
    .single(if failed { 1.0 } else { 0.0 })
}

/// A kept connection and what it last read of `pg_settings`.
struct KeptConnection {
    conn: PgConnection,
    settings: Option<server::CachedSettings>,
}

/// Starts a scrape's transaction with `statement_timeout` set for it alone,
/// in one round trip (one simple query of two statements), so a scrape
/// abandoned at its deadline leaves no statement running on the server.
/// `SET LOCAL` ends with the transaction, so it is safe behind a
/// transaction-pooling PgBouncer, which would refuse the `options` startup
/// parameter and would hand a session `SET` on to other clients. One
/// transaction also gives every view of the scrape the same statistics
/// snapshot (ages are measured from `clock_timestamp()`, since `now()` is
/// the transaction's start).
///
/// The transaction is ours, not sqlx's `Transaction`: a scrape that fails
/// drops its connection rather than rolling back, so there is nothing for
/// a guard to do, and sqlx's `BEGIN` would be a round trip of its own.
async fn begin_bounded(conn: &mut PgConnection, timeout: Duration) -> Result<(), sqlx::Error> {
    // An integer of milliseconds: nothing from outside reaches the text.
    let begin = format!(
        "BEGIN; SET LOCAL statement_timeout = {}",
        timeout.as_millis()
    );
    sqlx::raw_sql(AssertSqlSafe(begin)).execute(conn).await?;
    Ok(())
}

/// Ends a scrape's transaction.
async fn commit(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("COMMIT").execute(conn).await?;
    Ok(())
}

impl Collector for PostgresCollector {
    fn source(&self) -> Source {
        Source::Postgres
    }

    fn target_labels(&self) -> &[Label] {
        &self.target_labels
    }

    fn collect(&self) -> BoxFuture<'_, Result<Vec<Family>, CollectError>> {
        Box::pin(self.collect_all())
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn failure_families(&self, _error: &CollectError) -> Vec<Family> {
        vec![last_scrape_error(true)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(yaml: &str) -> PostgresTarget {
        yaml_serde::from_str(yaml).expect("valid target")
    }

    #[test]
    fn target_labels_are_server_then_static_labels() {
        let c = build(
            &target("{dsn: 'postgres://u:pw@db:6432/app', labels: {cluster: main, az: b}}"),
            None,
        )
        .unwrap();
        let want = [("server", "db:6432"), ("az", "b"), ("cluster", "main")];
        let want: Vec<Label> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(c.target_labels(), want.as_slice());
        assert_eq!(c.source(), Source::Postgres);
        assert_eq!(c.timeout(), None);
    }

    #[test]
    fn build_errors_name_the_target_not_the_secret() {
        let err = build(
            &target("{dsn: 'postgres://u:Sekr3t@db/app', labels: {server: x}}"),
            None,
        )
        .err()
        .expect("server is reserved");
        assert_eq!(err.target, "db:5432");
        assert!(!err.to_string().contains("Sekr3t"), "{err}");
    }
}
