//! The SQL store for state that must survive a restart: SQLite (a file in
//! the data directory, created on first start) by default, PostgreSQL when
//! given a `postgres://` URL. sqlx's runtime API only (no compile-time
//! checked macros, which would need a database at build time); migrations
//! are embedded per backend. Each stage owns its tables and their queries
//! (`rules/state_store.rs`, `notify/tables/`, `sla/ledger_sql.rs`); this
//! module keeps the pool, the migrations and [`on_db`], which picks the
//! dialect.

mod sql;

pub(crate) use sql::on_db;

use std::path::Path;
use std::str::FromStr;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// Why the database could not be used. Never carries the URL (it may hold
/// a password).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database: stored alert is malformed: {0}")]
    Corrupt(String),
    /// `storage.database_url_file` could not be read.
    #[error("storage: {0}")]
    DatabaseUrl(#[source] vigil_common::secret::SecretFileError),
    #[error("storage: cannot create storage.path {}: {source}", path.display())]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database: SLA ledger row is malformed: {0}")]
    CorruptLedger(String),
}

/// The SQLite file's name in `storage.path`.
pub const SQLITE_FILE: &str = "vigil.db";

/// A connection pool to one of the supported backends.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Opens (creating if needed) the SQLite file at `path` and migrates it.
    pub async fn open_sqlite(path: &Path) -> Result<Db, DbError> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Db::Sqlite(pool))
    }

    /// A private in-memory SQLite database, for when no data directory is
    /// configured: state lives as long as the process, like the samples.
    /// One connection that never expires, since each SQLite `:memory:`
    /// connection is a database of its own.
    pub async fn open_memory() -> Result<Db, DbError> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")?;
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Db::Sqlite(pool))
    }

    /// Connects to PostgreSQL at `url` and migrates it.
    pub async fn open_postgres(url: &str) -> Result<Db, DbError> {
        let opts = sqlx::postgres::PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Db::Postgres(pool))
    }

    /// `storage.database_url`: a `postgres://` or `postgresql://` URL, or
    /// else the SQLite file `vigil.db` in `data_dir`.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Db, DbError> {
        match database_url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Db::open_postgres(u).await
            }
            Some(u) => Db::open_sqlite(Path::new(u.trim_start_matches("sqlite://"))).await,
            None => Db::open_sqlite(&data_dir.join(SQLITE_FILE)).await,
        }
    }

    /// Where the state is kept, for the start-up log (never the URL).
    pub fn describe(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgresql",
        }
    }
}
