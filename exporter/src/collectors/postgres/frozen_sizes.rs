//! `pg_database_size_bytes` of the templates nobody can change (template0):
//! measured once, then kept while their `pg_database` row stays the same.
//!
//! `pg_database_size` lists a database's directory and `stat`s every file
//! in it: on a fresh cluster about 300 files per database, and 42 % of a
//! collection's CPU in the server backend (`perf` on the backend during
//! `scripts/bench/exporter`). template0 is a third of that, on every
//! scrape of every server, for a number that cannot change: it accepts no
//! connections (`datallowconn` false), so no session can write to it.
//!
//! What can still change such a database, and how each shows:
//! - An anti-wraparound autovacuum (the only process that enters a
//!   database that refuses connections): it is a backend of that database
//!   while it runs, and it moves `datfrozenxid` when done. A standby
//!   replays the vacuum's writes before its new `datfrozenxid`, so for the
//!   seconds such a vacuum of template0 takes, a standby may still show
//!   the size from before it.
//! - `ALTER DATABASE ... ALLOW_CONNECTIONS true`, a session, then `false`
//!   again, all between two scrapes: every `ALTER DATABASE` writes a new
//!   version of the row, with a new `xmin`.
//! - `ALTER DATABASE ... SET TABLESPACE`: a new `dattablespace` (and row).
//! - Sessions still connected when connections were refused: the database
//!   counts backends.
//!
//! Why templates only: a standby replays what the primary's sessions
//! write, and counts none of them, so a database that refuses new
//! connections while old ones keep writing would look still there. Such a
//! database is being drained for maintenance; a template that refuses
//! connections is template0 (or made like it).
//!
//! So a database is *frozen* while it is a template, refuses connections
//! and has no backend, and its size is kept under the key of its row (`oid`, `xmin`,
//! `datfrozenxid`, `datminmxid`, `dattablespace`). Any other database is
//! measured on every scrape, as postgres_exporter does. The cache lives as
//! long as the collector's connection: a new connection (a restart, a
//! failover, another server at the same address) measures again.

use std::collections::HashMap;

use sqlx::PgConnection;

/// When a `pg_database` row's database is frozen; the one condition both
/// columns below test, so that a row has a key exactly when its size is
/// left to the cache.
macro_rules! frozen {
    () => {
        "datistemplate AND NOT datallowconn AND pg_stat_get_db_numbackends(oid) = 0"
    };
}

/// The key column the databases statement selects: the row's key when the
/// database is frozen, else `NULL`.
pub(crate) const KEY_SQL: &str = concat!(
    "CASE WHEN ",
    frozen!(),
    " THEN concat_ws(':', oid, xmin, datfrozenxid, datminmxid, dattablespace) END"
);

/// The size column: measured unless the database is frozen (then `NULL`,
/// filled from the cache).
pub(crate) const SIZE_SQL: &str = concat!(
    "CASE WHEN ",
    frozen!(),
    " THEN NULL ELSE pg_database_size(oid) END"
);

/// Sizes of frozen databases by their row's key.
#[derive(Default)]
pub(crate) struct FrozenSizes {
    sizes: HashMap<String, f64>,
}

impl FrozenSizes {
    /// The size kept under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<f64> {
        self.sizes.get(key).copied()
    }

    /// Keeps the sizes of `keys` (those of the frozen databases the last
    /// batch listed), measuring those new or changed since the scrape
    /// before (one statement, only when there are any); forgets every
    /// other key.
    pub(crate) async fn measure_missing(
        &mut self,
        conn: &mut PgConnection,
        keys: &[&str],
    ) -> Result<(), sqlx::Error> {
        let missing = self.missing(keys);
        if missing.is_empty() {
            return Ok(());
        }
        self.measure(conn, &missing).await
    }

    /// Which of `keys` have no size yet; forgets every other key.
    fn missing<'k>(&mut self, keys: &[&'k str]) -> Vec<&'k str> {
        self.sizes.retain(|k, _| keys.contains(&k.as_str()));
        keys.iter()
            .copied()
            .filter(|k| !self.sizes.contains_key(*k))
            .collect()
    }

    /// Measures the databases of `keys` in one statement.
    async fn measure(&mut self, conn: &mut PgConnection, keys: &[&str]) -> Result<(), sqlx::Error> {
        let oids: Vec<i64> = keys.iter().filter_map(|k| oid_of(k)).collect();
        let rows: Vec<(i64, f64)> = sqlx::query_as(
            "SELECT oid::int8, pg_database_size(oid)::float8 FROM pg_database \
             WHERE oid::int8 = ANY($1)",
        )
        .bind(&oids)
        .fetch_all(conn)
        .await?;
        for key in keys {
            let size = oid_of(key).and_then(|oid| rows.iter().find(|(o, _)| *o == oid));
            if let Some((_, size)) = size {
                self.sizes.insert(key.to_string(), *size);
            }
        }
        Ok(())
    }
}

/// The `oid` at the head of a key.
fn oid_of(key: &str) -> Option<i64> {
    key.split(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_lists_new_keys_and_forgets_gone_ones() {
        let mut cache = FrozenSizes::default();
        cache.sizes.insert("1:700:722:1:1663".into(), 7.5e6);
        cache.sizes.insert("9:800:800:1:1663".into(), 1.0);
        let missing = cache.missing(&["1:700:722:1:1663", "1:900:722:1:1663"]);
        assert_eq!(missing, ["1:900:722:1:1663"]);
        assert_eq!(cache.get("1:700:722:1:1663"), Some(7.5e6));
        assert_eq!(cache.get("9:800:800:1:1663"), None);
        assert_eq!(oid_of("16384:1:2:3:4"), Some(16384));
        assert_eq!(oid_of("x"), None);
    }
}
