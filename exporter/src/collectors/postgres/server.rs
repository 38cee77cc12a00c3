//! Facts about the server as a whole: its version (which also picks the
//! queries for everything else), `pg_static`,
//! `pg_postmaster_start_time_seconds` and the `pg_settings_*` gauges.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Mutex;

use sqlx::Row as _;
use sqlx::postgres::PgRow;

use super::batch::Row;
use super::settings::{self, SettingRow};
use crate::metrics::{Family, MetricType, Name, labels};

/// What one query tells about the server.
#[derive(Clone)]
pub(crate) struct ServerInfo {
    /// `server_version_num`, e.g. 150018 for 15.18.
    pub version_num: u32,
    /// When `pg_settings` last changed for this connection's view.
    pub settings_key: SettingsKey,
    /// `pg_is_in_recovery()`: a standby.
    pub in_recovery: bool,
    /// Whether this user may call `pg_ls_waldir()` (asked here, so the
    /// WAL directory costs no round trip of its own to find out).
    pub wal_allowed: bool,
    /// Whether the `pg_stat_statements` view exists in the connected
    /// database (asked here for the same reason).
    pub has_stat_statements: bool,
    pub families: Vec<Family>,
}

/// What `pg_settings`, as a kept connection sees it, changes with: the
/// server's configuration is reloaded (`pg_conf_load_time()`, which a
/// SIGHUP, `pg_reload_conf()` or a restart moves), or a standby is promoted
/// (`in_hot_standby`, `transaction_read_only`). `ALTER ROLE|DATABASE ... SET`
/// applies to new sessions only, and a new connection starts without a
/// cache. While the key holds, the last settings are served again instead
/// of reading ~250 rows on every scrape (about a millisecond of the
/// server's time, the costliest query of a collection after the database
/// sizes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SettingsKey {
    conf_load_time: f64,
    in_recovery: bool,
}

/// The `pg_settings_*` gauges read under `key`.
pub(crate) struct CachedSettings {
    pub key: SettingsKey,
    pub families: Vec<Family>,
}

/// The statement [`info`] reads: the first of every collection, since its
/// answer picks the others.
pub(crate) const INFO: &str = "SELECT current_setting('server_version_num')::int4 AS version_num, \
       version() AS version, current_setting('server_version') AS server_version, \
       extract(epoch FROM pg_postmaster_start_time())::float8 AS start_time, \
       extract(epoch FROM pg_conf_load_time())::float8 AS conf_load_time, \
       pg_is_in_recovery() AS in_recovery, \
       has_function_privilege('pg_ls_waldir()', 'EXECUTE') AS wal_allowed, \
       to_regclass('pg_stat_statements') IS NOT NULL AS has_stat_statements";

/// [`INFO`]'s columns, for reading it in a batch.
pub(crate) const INFO_COLUMNS: [&str; 8] = [
    "version_num",
    "version",
    "server_version",
    "start_time",
    "conf_load_time",
    "in_recovery",
    "wal_allowed",
    "has_stat_statements",
];

/// A `float8` column of [`INFO`]'s row; `NULL` is `NaN`.
fn float(row: &PgRow, name: &str) -> Result<f64, sqlx::Error> {
    let value: Option<f64> = row.try_get(name)?;
    Ok(value.unwrap_or(f64::NAN))
}

/// [`INFO`]'s row as the simple protocol returns it.
pub(crate) fn info(row: &PgRow) -> Result<ServerInfo, sqlx::Error> {
    let version_num: i32 = row.try_get("version_num")?;
    Ok(ServerInfo::new(Facts {
        version_num: u32::try_from(version_num).unwrap_or(0),
        version: row.try_get("version")?,
        server_version: row.try_get("server_version")?,
        start_time: float(row, "start_time")?,
        conf_load_time: float(row, "conf_load_time")?,
        in_recovery: row.try_get("in_recovery")?,
        wal_allowed: row.try_get("wal_allowed")?,
        has_stat_statements: row.try_get("has_stat_statements")?,
    }))
}

/// [`INFO`]'s row read in a batch (see `scrape.rs`, one round trip).
pub(crate) fn info_in_batch(row: &Row) -> Result<ServerInfo, sqlx::Error> {
    let version_num = row.float("version_num")?;
    Ok(ServerInfo::new(Facts {
        version_num: if version_num.is_finite() && version_num >= 0.0 {
            version_num as u32
        } else {
            0
        },
        version: row.text("version")?.unwrap_or_default(),
        server_version: row.text("server_version")?.unwrap_or_default(),
        start_time: row.float("start_time")?,
        conf_load_time: row.float("conf_load_time")?,
        in_recovery: row.flag("in_recovery")?,
        wal_allowed: row.flag("wal_allowed")?,
        has_stat_statements: row.flag("has_stat_statements")?,
    }))
}

/// [`INFO`]'s values, however they were read.
struct Facts {
    version_num: u32,
    version: String,
    server_version: String,
    start_time: f64,
    conf_load_time: f64,
    in_recovery: bool,
    wal_allowed: bool,
    has_stat_statements: bool,
}

impl ServerInfo {
    fn new(f: Facts) -> ServerInfo {
        let mut static_family = Family::new(
            "pg_static",
            "Version string as reported by postgres",
            MetricType::Untyped,
        );
        static_family.push(
            labels(&[
                ("short_version", &short_version(&f.server_version)),
                ("version", &f.version),
            ]),
            1.0,
        );
        let start = Family::gauge(
            "pg_postmaster_start_time_seconds",
            "Time at which postmaster started",
        )
        .single(f.start_time);
        ServerInfo {
            version_num: f.version_num,
            settings_key: SettingsKey {
                conf_load_time: f.conf_load_time,
                in_recovery: f.in_recovery,
            },
            in_recovery: f.in_recovery,
            wal_allowed: f.wal_allowed,
            has_stat_statements: f.has_stat_statements,
            families: vec![static_family, start],
        }
    }

    /// Whether a batch made for `self` reads what `now` needs: the same
    /// version, the same rights, and `pg_settings` and the role unchanged
    /// (the settings key holds `in_recovery`).
    pub(crate) fn same_plan(&self, now: &ServerInfo) -> bool {
        self.version_num == now.version_num
            && self.settings_key == now.settings_key
            && self.wal_allowed == now.wal_allowed
            && self.has_stat_statements == now.has_stat_statements
    }
}

impl SettingsKey {
    /// Whether `cache` was read under this key.
    pub(crate) fn holds(&self, cache: Option<&CachedSettings>) -> bool {
        cache.is_some_and(|c| c.key == *self)
    }
}

/// The `pg_settings_*` gauges from the rows of `settings::QUERY`. A
/// setting that cannot be mapped is logged and left out rather than
/// failing the whole target.
pub(crate) fn settings(rows: &[Row]) -> Result<Vec<Family>, sqlx::Error> {
    let text = |row: &Row, name: &str| row.text(name).map(Option::unwrap_or_default);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let setting = SettingRow {
            name: text(row, "name")?,
            setting: text(row, "setting")?,
            unit: text(row, "unit")?,
            short_desc: text(row, "short_desc")?,
            vartype: text(row, "vartype")?,
        };
        match settings::setting_family(&setting) {
            Ok(Some(mut family)) => {
                family.name = intern(family.name);
                family.help = intern(family.help);
                out.push(family);
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "pg_settings row skipped"),
        }
    }
    Ok(out)
}

/// The names and help texts of the `pg_settings_*` gauges, kept for the
/// life of the process.
///
/// The cached settings families are copied into every scrape's output, and
/// a copy of an owned name or help text is an allocation: two per setting,
/// a few hundred settings per server, on every scrape (with the samples'
/// vectors, the largest share of a PostgreSQL collection's allocations).
/// Interned, their copies are borrowed. The set is bounded by the settings
/// the servers define: a few hundred per PostgreSQL version, plus the
/// custom settings of their configuration.
static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// `text` as a borrowed `'static` string, the same one every time.
fn intern(text: Name) -> Name {
    let Cow::Owned(owned) = text else {
        return text;
    };
    let mut interned = INTERNED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(existing) = interned.get(owned.as_str()) {
        return Cow::Borrowed(existing);
    }
    let leaked: &'static str = Box::leak(owned.into_boxed_str());
    interned.insert(leaked);
    Cow::Borrowed(leaked)
}

/// `server_version` as the three-part version postgres_exporter puts in
/// `short_version`: `"15.18 (Debian 15.18-0+deb12u1)"` → `"15.18.0"`,
/// `"17devel"` → `"17.0.0"`.
pub fn short_version(server_version: &str) -> String {
    let numeric: String = server_version
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts: Vec<&str> = numeric.split('.').filter(|p| !p.is_empty()).collect();
    parts.truncate(3);
    while parts.len() < 3 {
        parts.push("0");
    }
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_texts_are_borrowed_and_shared() {
        let a = intern(Cow::Owned("pg_settings_vigil_test_interned".to_string()));
        let b = intern(Cow::Owned("pg_settings_vigil_test_interned".to_string()));
        match (&a, &b) {
            (Cow::Borrowed(a), Cow::Borrowed(b)) => assert!(std::ptr::eq(*a, *b)),
            other => panic!("not borrowed: {other:?}"),
        }
        assert!(matches!(
            intern(Cow::Borrowed("static")),
            Cow::Borrowed("static")
        ));
    }

    #[test]
    fn short_version_has_three_parts() {
        assert_eq!(short_version("15.18 (Debian 15.18-0+deb12u1)"), "15.18.0");
        assert_eq!(short_version("13.2"), "13.2.0");
        assert_eq!(short_version("17devel"), "17.0.0");
        assert_eq!(short_version("9.6.24"), "9.6.24");
        assert_eq!(short_version(""), "0.0.0");
    }
}
