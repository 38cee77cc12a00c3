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
//! only when the scrape succeeded and its transaction was committed: a
//! scrape that failed, or that the registry abandoned at its deadline,
//! drops it, so a connection in an unknown state is never reused.
//!
//! Why not sqlx's `PgPool`: when the server refuses connections it retries
//! until its acquire timeout and then reports only "pool timed out", so a
//! stopped server would take the whole deadline on every scrape and the log
//! would not say why; a direct connect fails at once with the real reason
//! (connection refused, password authentication failed).
//!
//! A collection runs in one transaction on the main connection, in two
//! round trips (see `scrape.rs`): the server's version (which picks the
//! queries) and what the user may read, then every view at once in one
//! prepared statement; custom queries after; the commit's round trip is
//! not waited for. Then per-table statistics of each discovered
//! database on its own connection, all databases at once. Any failure on
//! the main connection fails the collection; a discovered database that
//! cannot be read is logged and left out (and
//! `pg_exporter_last_scrape_error` is 1), so one dropped database does not
//! take the whole server's `pg_up` to 0.
//!
//! Opt-in collectors, off unless `collectors:` (the target's or the
//! global one) names them, by postgres_exporter's names:
//! `stat_statements`, `long_running_transactions`, `stat_user_indexes`.
//!
//! ```text
//! mod.rs        build(), the collector and its kept connections
//! scrape.rs     the order of a collection, round trip by round trip
//! batch.rs      many views in one prepared statement (JSON), one round trip
//! config.rs     PostgresTarget (YAML), opt-in collectors, server label, static labels
//! dsn.rs        URL and libpq keyword DSNs, password forms for scrubbing
//! error.rs      sqlx errors -> CollectError (kind, scrubbed reason)
//! columns.rs    views as column tables -> SELECT by version -> families
//! server.rs     version, pg_static, start time, pg_settings rows
//! settings.rs   pg_settings row -> gauge (pure, postgres_exporter's rules)
//! database.rs   pg_stat_database(_conflicts), pg_database_size_bytes
//! frozen_sizes.rs template0's size, kept while its row stays the same
//! activity.rs   pg_stat_activity, pg_locks, idle histogram, long transactions (opt-in)
//! bgwriter.rs   pg_stat_bgwriter (checkpointer/io on 17+), pg_stat_archiver
//! replication.rs lag, is_replica, WAL receiver; per-standby pg_stat_replication
//! slots.rs      pg_replication_slots
//! user_tables.rs pg_stat_user_tables, pg_statio_user_{tables,indexes},
//!               pg_stat_user_indexes (opt-in), discovery
//! statements.rs pg_stat_statements (opt-in)
//! roles.rs      pg_roles
//! wal.rs        pg_ls_waldir(): WAL segments and size
//! vacuum.rs     pg_stat_progress_vacuum
//! queries/      custom queries (postgres_exporter's queries.yaml)
//! ```

mod activity;
mod batch;
mod bgwriter;
mod columns;
mod config;
mod database;
mod dsn;
mod error;
mod frozen_sizes;
mod queries;
mod replication;
mod roles;
mod scrape;
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
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::PgConnection;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::Mutex;

pub use config::{OptIn, PostgresTarget};
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
    global_collectors: OptIn,
) -> Result<Arc<dyn Collector>, BuildError> {
    let resolved = target.resolve()?;
    let enabled = target.collectors.over(global_collectors);
    let queries = match target.queries_file.as_deref().or(global_queries) {
        Some(path) => Some(queries::UserQueries::load(path).map_err(|e| {
            BuildError::at(
                &resolved.server,
                "queries_file",
                e.to_string().replace('\n', "; "),
            )
        })?),
        None => None,
    };
    let timeout = target.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let mut options = resolved.options;
    if options.get_application_name().is_none() {
        options = options.application_name("vigil-exporter");
    }
    config::check_labels(&target.labels)
        .map_err(|reason| BuildError::new(&resolved.server, reason))?;
    let mut target_labels: Vec<Label> = vec![("server".into(), resolved.server.as_str().into())];
    target_labels.extend(
        target
            .labels
            .iter()
            .map(|(k, v)| (k.clone().into(), v.as_str().into())),
    );
    Ok(Arc::new(PostgresCollector {
        server: resolved.server,
        secrets: resolved.secrets,
        target_labels,
        timeout: target.timeout,
        deadline: timeout,
        options,
        auto_discover: target.auto_discover_databases,
        exclude: target.exclude_databases.clone(),
        enabled,
        statements_missing: AtomicBool::new(false),
        stat_statements: enabled.stat_statements.then(|| statements::Options {
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
        connection: Arc::new(Mutex::new(None)),
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
    /// Which opt-in collectors run.
    enabled: config::Enabled,
    /// What to read of `pg_stat_statements`, when enabled.
    stat_statements: Option<statements::Options>,
    /// Whether the last collection found no `pg_stat_statements` view,
    /// so that its absence is logged once, not at every scrape.
    statements_missing: AtomicBool,
    /// The connection to the DSN's database, between scrapes, with the
    /// settings last read on it. Shared with the task that ends a scrape's
    /// transaction (see `scrape.rs`), which holds the lock until then.
    connection: Arc<Mutex<Option<KeptConnection>>>,
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
    /// The facts the connection's last batch was made for: the next scrape
    /// sends that batch at once, in one round trip (see `scrape.rs`).
    info: Option<server::ServerInfo>,
    /// The sizes of template0 and its like measured on this connection
    /// (see `frozen_sizes.rs`).
    frozen_sizes: frozen_sizes::FrozenSizes,
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
            OptIn::default(),
        )
        .unwrap();
        let want = [("server", "db:6432"), ("az", "b"), ("cluster", "main")];
        let want: Vec<Label> = want
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
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
            OptIn::default(),
        )
        .err()
        .expect("server is reserved");
        assert_eq!(err.target, "db:5432");
        assert!(!err.to_string().contains("Sekr3t"), "{err}");
    }
}
