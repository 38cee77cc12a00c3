//! The order of one collection, in as few round trips as the facts allow.
//!
//! 0. On a kept connection without custom queries: the batch made for the
//!    facts its last scrape read (below), with `server::INFO` read again in
//!    it, and nothing else: one round trip, no transaction (one statement
//!    sees one snapshot). When the facts changed (a promotion, a
//!    configuration reload, a right granted) the answer is thrown away and
//!    steps 1 to 4 run on the same connection. Inside a full scrape the
//!    first round trip waited 1.4 to 1.8 ms (median) for the exporter's
//!    thread, busy sending every other target's requests, before the
//!    batch could go; the full scrape's median fell by a tenth
//!    (`scripts/bench/exporter`). The price: this batch runs without the
//!    scrape's `statement_timeout` (step 1 sets it `LOCAL`, for the reasons
//!    at `begin`, and a session `SET` would leak through a transaction
//!    pooler to other clients), so a scrape abandoned at its deadline
//!    drops the connection while the server finishes the batch, as it
//!    finishes every query of postgres_exporter, which sets no timeout.
//!    Its views are bounded by the server's own limits (connections,
//!    locks, `pg_stat_statements.max`, files per database).
//! 1. On the main connection, one simple-protocol message: `BEGIN`, `SET
//!    LOCAL statement_timeout`, and the server's facts (`server::INFO`, a
//!    query on no table, cheap to plan): its version picks every other
//!    statement, and whether the user may list the WAL directory or read
//!    `pg_stat_statements` decides whether those can be asked at all (a
//!    failing statement would fail the rest).
//! 2. One prepared statement with every view (see `batch.rs`), with
//!    `pg_settings` only when its cached copy is stale
//!    (`server::SettingsKey`) and the list of databases to discover.
//! 3. The custom queries, when configured, one by one (each under its
//!    savepoint and its share of the deadline, see `queries/`).
//! 4. `COMMIT`, on a task of its own: everything is read, so the scrape
//!    does not wait for it (on a loaded machine each round trip waits for
//!    both processes to be scheduled again, which cost milliseconds). The
//!    task holds the connection's lock until the commit is answered and
//!    only then puts the connection back, so the next scrape waits for it
//!    and never finds a transaction open; a commit that fails or takes
//!    longer than the target's timeout drops the connection.
//! 5. Each discovered database on its own kept connection, all at once:
//!    `BEGIN` and `SET LOCAL`, its tables and indexes in one statement, its
//!    custom queries, `COMMIT`.
//!
//! One or two round trips waited for where there were twenty: on loopback the
//! waits, not the server's work, were most of a collection's time.

use std::time::{Duration, Instant};

use futures::future::join_all;
use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgRow};
use tokio::sync::OwnedMutexGuard;

use super::batch::Batch;
use super::frozen_sizes::FrozenSizes;
use super::server::{self, CachedSettings, ServerInfo};
use super::{
    KeptConnection, PostgresCollector, activity, bgwriter, database, last_scrape_error, queries,
    replication, roles, settings, slots, statements, user_tables, vacuum, wal,
};
use crate::collectors::CollectError;
use crate::metrics::{Family, labels};

/// A step that failed: what it did, and the error.
type Failure = (&'static str, sqlx::Error);

/// The families of the batch, the settings cache as it now is, the
/// databases to discover, and the server's facts when the batch read them.
type Collected = (
    Vec<Family>,
    Option<CachedSettings>,
    Vec<String>,
    Option<ServerInfo>,
);

/// What [`PostgresCollector::one_round_trip`] came to.
enum OneTrip {
    Collected {
        out: Vec<Family>,
        kept: KeptConnection,
        run: DatabaseRun,
        others: Vec<String>,
    },
    /// Collect in two round trips, on this connection if any.
    NotTaken(Option<KeptConnection>),
}

/// What the collection of each discovered database needs to know.
struct DatabaseRun {
    version: u32,
    in_recovery: bool,
    deadline: Instant,
}

impl DatabaseRun {
    fn new(info: &ServerInfo, deadline: Instant) -> DatabaseRun {
        DatabaseRun {
            version: info.version_num,
            in_recovery: info.in_recovery,
            deadline,
        }
    }
}

impl PostgresCollector {
    pub(super) async fn collect_all(&self) -> Result<Vec<Family>, CollectError> {
        // The registry's deadline when it set one (it may be shorter: the
        // global default, or the scraper's timeout), never later than ours.
        let own = Instant::now() + self.deadline;
        let deadline = crate::collectors::deadline().map_or(own, |d| d.min(own));
        let mut slot = self.connection.clone().lock_owned().await;
        let mut custom = Vec::new();
        let mut custom_failed = false;
        let (mut out, run, others) = match self.one_round_trip(slot.take(), deadline).await? {
            OneTrip::Collected {
                out,
                kept,
                run,
                others,
            } => {
                *slot = Some(kept);
                drop(slot);
                (out, run, others)
            }
            OneTrip::NotTaken(kept) => {
                self.two_round_trips(slot, kept, deadline, &mut custom, &mut custom_failed)
                    .await?
            }
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

    /// Step 0 of the module documentation: on a kept connection, the batch
    /// made for the facts its last scrape read, with those facts read
    /// again in it, in one round trip. `NotTaken` when it cannot be (no kept
    /// connection or facts, custom queries to run in a transaction), when
    /// the facts changed (the connection is handed on), or when the batch
    /// failed (none is).
    async fn one_round_trip(
        &self,
        kept: Option<KeptConnection>,
        deadline: Instant,
    ) -> Result<OneTrip, CollectError> {
        let (mut conn, settings, last, mut frozen_sizes) = match kept {
            Some(KeptConnection {
                conn,
                settings,
                info: Some(last),
                frozen_sizes,
            }) if self.queries.is_none() => (conn, settings, last, frozen_sizes),
            other => return Ok(OneTrip::NotTaken(other)),
        };
        let collected = self
            .collect_server(&mut conn, &last, settings, &mut frozen_sizes, true)
            .await;
        match collected {
            Ok((out, cached, others, Some(now))) if last.same_plan(&now) => {
                Ok(OneTrip::Collected {
                    out,
                    run: DatabaseRun::new(&now, deadline),
                    kept: KeptConnection {
                        conn,
                        settings: cached,
                        info: Some(now),
                        frozen_sizes,
                    },
                    others,
                })
            }
            // The two round trips read the facts again first.
            Ok((_, cached, _, _)) => Ok(OneTrip::NotTaken(Some(KeptConnection {
                conn,
                settings: cached,
                info: None,
                frozen_sizes,
            }))),
            // Whatever failed (the server restarted and closed the session,
            // a view the batch was made for is gone, a right was revoked),
            // the two round trips start again on a new connection and say
            // what is wrong if it still is.
            Err((what, e)) => {
                tracing::debug!(
                    server = %self.server,
                    error = %self.error(what, &e),
                    "collecting again in two round trips, on a new connection"
                );
                Ok(OneTrip::NotTaken(None))
            }
        }
    }

    /// Steps 1 to 4 of the module documentation: the facts first, then
    /// the batch made for them, custom queries, and the commit on a task
    /// of its own, which puts the connection back into `slot`.
    async fn two_round_trips(
        &self,
        slot: OwnedMutexGuard<Option<KeptConnection>>,
        kept: Option<KeptConnection>,
        deadline: Instant,
        custom: &mut Vec<Family>,
        custom_failed: &mut bool,
    ) -> Result<(Vec<Family>, DatabaseRun, Vec<String>), CollectError> {
        let (kept, cached, frozen_sizes) = match kept {
            Some(k) => (Some(k.conn), k.settings, k.frozen_sizes),
            None => (None, None, FrozenSizes::default()),
        };
        let (mut conn, rows, reused) = self
            .run_first(kept, &self.options, &begin(self.deadline, server::INFO))
            .await
            .map_err(|(what, e)| self.error(what, &e))?;
        let info = rows
            .first()
            .ok_or(sqlx::Error::RowNotFound)
            .and_then(server::info)
            .map_err(|e| self.error("reading the server version", &e))?;
        // What was read on a connection that is gone says nothing of this one.
        let cached = cached.filter(|_| reused);
        let mut frozen_sizes = if reused {
            frozen_sizes
        } else {
            FrozenSizes::default()
        };
        let (out, cached, others, _) = self
            .collect_server(&mut conn, &info, cached, &mut frozen_sizes, false)
            .await
            .map_err(|(what, e)| self.error(what, &e))?;
        if let Some(queries) = &self.queries {
            let scope = queries::Scope {
                version: info.version_num,
                in_recovery: info.in_recovery,
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
            *custom_failed |= failed;
        }
        let run = DatabaseRun::new(&info, deadline);
        self.commit_later(
            slot,
            KeptConnection {
                conn,
                settings: cached,
                info: Some(info),
                frozen_sizes,
            },
        );
        Ok((out, run, others))
    }

    /// Ends the scrape's transaction on `kept` on a task of its own (see
    /// the module documentation, step 4), then puts it into `slot` and
    /// releases the slot's lock.
    fn commit_later(
        &self,
        mut slot: OwnedMutexGuard<Option<KeptConnection>>,
        kept: KeptConnection,
    ) {
        let timeout = self.deadline;
        let server = self.server.clone();
        let secrets = self.secrets.clone();
        tokio::spawn(async move {
            let mut kept = kept;
            match tokio::time::timeout(timeout, commit(&mut kept.conn)).await {
                Ok(Ok(())) => *slot = Some(kept),
                Ok(Err(e)) => tracing::debug!(
                    server = %server,
                    error = %super::error::collect_error(&server, "ending the scrape's transaction", &e, &secrets),
                    "connection dropped; the next scrape opens a new one"
                ),
                Err(_) => tracing::debug!(
                    server = %server,
                    "no answer to COMMIT within {timeout:?}; connection dropped"
                ),
            }
        });
    }

    /// What a custom query may use of the deadline: all but a tenth, kept
    /// for the rest of the scrape (at least 20 ms, at most 500 ms).
    pub(super) fn margin(&self) -> Duration {
        (self.deadline / 10).clamp(Duration::from_millis(20), Duration::from_millis(500))
    }

    /// Runs `sql` (simple protocol: `BEGIN` and what comes with it) on
    /// `kept` when it answers, else on a new connection with `options`: a
    /// kept connection the server closed (a restart) costs no failed
    /// scrape. The connection, the rows, and whether it is `kept`.
    async fn run_first(
        &self,
        kept: Option<PgConnection>,
        options: &PgConnectOptions,
        sql: &str,
    ) -> Result<(PgConnection, Vec<PgRow>, bool), Failure> {
        let what = "beginning the scrape's transaction";
        if let Some(mut conn) = kept {
            match simple(&mut conn, sql).await {
                Ok(rows) => return Ok((conn, rows, true)),
                Err(e) => tracing::debug!(
                    server = %self.server,
                    error = %self.error(what, &e),
                    "reconnecting"
                ),
            }
        }
        let mut conn = tokio::time::timeout(self.deadline, sqlx::ConnectOptions::connect(options))
            .await
            .unwrap_or_else(|_| {
                Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {:?}", self.deadline),
                )))
            })
            .map_err(|e| ("connecting", e))?;
        let rows = simple(&mut conn, sql).await.map_err(|e| (what, e))?;
        Ok((conn, rows, false))
    }

    /// The second round trip on the main connection (see the module
    /// documentation): every view's families, the settings cache as it now
    /// is, and the databases to discover.
    async fn collect_server(
        &self,
        conn: &mut PgConnection,
        info: &ServerInfo,
        cached: Option<CachedSettings>,
        frozen_sizes: &mut FrozenSizes,
        read_info: bool,
    ) -> Result<Collected, Failure> {
        let version = info.version_num;
        let enabled = self.enabled;
        let mut batch = Batch::new();
        let info_slot = read_info.then(|| batch.add(server::INFO, server::INFO_COLUMNS));
        let fresh = cached.filter(|c| info.settings_key.holds(Some(c)));
        let settings_slot = fresh
            .is_none()
            .then(|| batch.add(settings::QUERY, settings::COLUMNS));
        let database = database::plan(&mut batch, version);
        let activity = activity::plan(&mut batch, enabled.long_running_transactions);
        let bgwriter = bgwriter::plan(&mut batch, version);
        let replication = replication::plan(&mut batch, version);
        let slots = slots::plan(&mut batch, version);
        let tables = user_tables::plan(&mut batch, version, enabled.stat_user_indexes);
        let roles = roles::plan(&mut batch, version);
        let wal = wal::plan(&mut batch, info.wal_allowed);
        let vacuum = vacuum::plan(&mut batch, version);
        let statements = match self.stat_statements {
            Some(options) if info.has_stat_statements => {
                Some(statements::plan(&mut batch, version, options))
            }
            _ => None,
        };
        let discover = self
            .auto_discover
            .then(|| batch.add(user_tables::DISCOVER, ["datname"]));
        let answer = batch
            .run(conn)
            .await
            .map_err(|e| ("reading the statistics views", e))?;
        let results = answer
            .results()
            .map_err(|e| ("reading the statistics views", e))?;
        let now = info_slot
            .map(|slot| results.one(slot).and_then(server::info_in_batch))
            .transpose()
            .map_err(|e| ("reading the server version", e))?;
        let what = "measuring template databases";
        let frozen_keys = database.frozen_keys(&results).map_err(|e| (what, e))?;
        frozen_sizes
            .measure_missing(conn, &frozen_keys)
            .await
            .map_err(|e| (what, e))?;

        let cached = match fresh {
            Some(cached) => cached,
            None => CachedSettings {
                key: info.settings_key,
                families: server::settings(settings_slot.map_or(&[], |slot| results.rows(slot)))
                    .map_err(|e| ("reading pg_settings", e))?,
            },
        };
        let mut out = info.families.clone();
        out.extend(cached.families.iter().cloned());
        let decoded = [
            (
                "reading pg_stat_database",
                database.decode(&results, frozen_sizes),
            ),
            ("reading pg_stat_activity", activity.decode(&results)),
            ("reading pg_stat_bgwriter", bgwriter.decode(&results)),
            ("reading replication state", replication.decode(&results)),
            ("reading pg_replication_slots", slots.decode(&results)),
            ("reading pg_stat_user_tables", tables.decode(&results)),
            ("reading pg_roles", roles::decode(&results, roles, version)),
            ("reading pg_ls_waldir()", wal::decode(&results, wal)),
            (
                "reading pg_stat_progress_vacuum",
                vacuum::decode(&results, &vacuum),
            ),
        ];
        for (what, families) in decoded {
            out.extend(families.map_err(|e| (what, e))?);
        }
        if let Some(plan) = statements {
            out.extend(
                plan.decode(&results)
                    .map_err(|e| ("reading pg_stat_statements", e))?,
            );
        }
        out.extend(self.opt_in_success(info));
        let others = match discover {
            Some(slot) => user_tables::discovered(results.rows(slot), &self.exclude)
                .map_err(|e| ("listing databases", e))?,
            None => Vec::new(),
        };
        Ok((out, Some(cached), others, now))
    }

    /// postgres_exporter's `pg_scrape_collector_success{collector}` for
    /// each opt-in collector this target runs: 0 for `stat_statements`
    /// when the extension is not installed in the DSN's database (logged
    /// when that changes), so its absence shows without taking the target
    /// down; 1 otherwise.
    fn opt_in_success(&self, info: &ServerInfo) -> Option<Family> {
        let enabled = self.enabled;
        let mut family = Family::gauge(
            "pg_scrape_collector_success",
            "Whether each opt-in collector succeeded (1) or could not read its view (0).",
        );
        if enabled.stat_statements {
            let ok = info.has_stat_statements;
            let was_missing = self
                .statements_missing
                .swap(!ok, std::sync::atomic::Ordering::Relaxed);
            if !ok && !was_missing {
                tracing::warn!(
                    server = %self.server,
                    "stat_statements: the pg_stat_statements view is not in the DSN's database \
                     (CREATE EXTENSION pg_stat_statements, with the library in \
                     shared_preload_libraries); no pg_stat_statements_* families"
                );
            }
            family.push(
                labels(&[("collector", "stat_statements")]),
                if ok { 1.0 } else { 0.0 },
            );
        }
        for (on, name) in [
            (
                enabled.long_running_transactions,
                "long_running_transactions",
            ),
            (enabled.stat_user_indexes, "stat_user_indexes"),
        ] {
            if on {
                family.push(labels(&[("collector", name)]), 1.0);
            }
        }
        (!family.samples.is_empty()).then_some(family)
    }

    /// Adds the per-table families (and custom queries' families) of each
    /// discovered database, all collected at once, each on its own kept
    /// connection; a database that fails is logged and skipped. Whether
    /// all succeeded.
    async fn collect_databases(
        &self,
        names: &[String],
        run: &DatabaseRun,
        out: &mut Vec<Family>,
        custom: &mut Vec<Family>,
        custom_failed: &mut bool,
    ) -> bool {
        let mut kept = self.database_connections.lock().await;
        kept.retain(|name, _| names.contains(name));
        let taken: Vec<(&String, Option<PgConnection>)> =
            names.iter().map(|name| (name, kept.remove(name))).collect();
        let collected = join_all(taken.into_iter().map(|(name, conn)| async move {
            (name, self.collect_database(conn, name, run).await)
        }))
        .await;
        let mut complete = true;
        for (name, result) in collected {
            match result {
                Ok((conn, families, from_queries, failed)) => {
                    kept.insert(name.clone(), conn);
                    user_tables::merge(out, families);
                    custom.extend(from_queries);
                    *custom_failed |= failed;
                }
                Err((what, e)) => {
                    complete = false;
                    tracing::warn!(
                        database = %name,
                        error = %self.error(what, &e),
                        "database skipped"
                    );
                }
            }
        }
        complete
    }

    /// One discovered database: its per-table families and the families of
    /// the custom queries that run there (and whether one failed), with the
    /// connection to keep.
    async fn collect_database(
        &self,
        kept: Option<PgConnection>,
        database: &str,
        run: &DatabaseRun,
    ) -> Result<(PgConnection, Vec<Family>, Vec<Family>, bool), Failure> {
        let options = self.options.clone().database(database);
        let (mut conn, _, _) = self
            .run_first(kept, &options, &begin(self.deadline, ""))
            .await?;
        let mut batch = Batch::new();
        let tables = user_tables::plan(&mut batch, run.version, self.enabled.stat_user_indexes);
        let answer = batch
            .run(&mut conn)
            .await
            .map_err(|e| ("reading pg_stat_user_tables", e))?;
        let results = answer
            .results()
            .map_err(|e| ("reading pg_stat_user_tables", e))?;
        let families = tables
            .decode(&results)
            .map_err(|e| ("reading pg_stat_user_tables", e))?;
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
                queries
                    .run(&mut conn, &scope)
                    .await
                    .map_err(|e| ("running custom queries", e))?
            }
            None => (Vec::new(), false),
        };
        commit(&mut conn)
            .await
            .map_err(|e| ("ending the scrape's transaction", e))?;
        Ok((conn, families, custom, failed))
    }
}

/// The text that starts a scrape's transaction with `statement_timeout`
/// set for it alone, then `then` (one more statement, or nothing), sent as
/// one simple-protocol message, so a scrape abandoned at its deadline
/// leaves no statement running on the server. `SET LOCAL` ends with the
/// transaction, so it is safe behind a transaction-pooling PgBouncer, which
/// would refuse the `options` startup parameter and would hand a session
/// `SET` on to other clients. One transaction also gives every view of the
/// scrape the same statistics snapshot (ages are measured from
/// `clock_timestamp()`, since `now()` is the transaction's start).
///
/// The transaction is ours, not sqlx's `Transaction`: a scrape that fails
/// drops its connection rather than rolling back, so there is nothing for
/// a guard to do, and sqlx's `BEGIN` would be a round trip of its own.
fn begin(timeout: Duration, then: &str) -> String {
    // An integer of milliseconds: nothing from outside reaches the text.
    let mut sql = format!(
        "BEGIN; SET LOCAL statement_timeout = {}",
        timeout.as_millis()
    );
    if !then.is_empty() {
        sql.push_str("; ");
        sql.push_str(then);
    }
    sql
}

/// Runs `sql` as one simple-protocol message; the rows of all its
/// statements.
async fn simple(conn: &mut PgConnection, sql: &str) -> Result<Vec<PgRow>, sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(conn)
        .await
}

/// Ends a scrape's transaction.
async fn commit(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("COMMIT").execute(conn).await?;
    Ok(())
}
