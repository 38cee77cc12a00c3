//! A PostgreSQL target as written in the exporter's configuration, and the
//! connection settings it resolves to.
//!
//! The DSN is a secret (it usually holds a password): it lives in a
//! [`Secret`], is read from `dsn_file` when given, and only the host and port
//! ever leave this module (as the `server` label and in error messages).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use sqlx::postgres::PgConnectOptions;
use vigil_common::Secret;

use crate::collectors::BuildError;

/// One PostgreSQL server to collect from.
///
/// ```yaml
/// dsn: postgres://exporter:${PG_PASSWORD}@db1:5432/postgres?sslmode=require
/// timeout: 3s
/// labels: { cluster: main }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresTarget {
    /// Connection URL, `postgres://user:password@host:port/database?sslmode=...`,
    /// or libpq's `host=... user=... password=... sslmode=...` (the forms
    /// postgres_exporter's `DATA_SOURCE_NAME` takes). TLS is chosen by
    /// `sslmode` (`disable`, `prefer` (the default), `require`, `verify-ca`,
    /// `verify-full`; `sslrootcert` names the CA file).
    /// Exactly one of `dsn` and `dsn_file` must be set.
    #[serde(default)]
    pub dsn: Option<Secret>,
    /// A file holding the connection URL (surrounding whitespace ignored), so
    /// the password can stay out of the configuration file.
    #[serde(default)]
    pub dsn_file: Option<PathBuf>,
    /// The value of the `server` label; defaults to the DSN's `host:port`,
    /// as postgres_exporter does.
    #[serde(default)]
    pub server: Option<String>,
    /// This target's deadline for one collection; the exporter's default
    /// (5 s) when absent.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Static labels added to every sample of this target.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Also collect per-database statistics (`pg_stat_user_tables_*`) from
    /// every database that accepts connections, not only the DSN's own.
    #[serde(default)]
    pub auto_discover_databases: bool,
    /// The opt-in collectors this target runs, by postgres_exporter's
    /// names; a collector it does not name follows `global.collectors`.
    #[serde(default)]
    pub collectors: OptIn,
    /// `stat_statements`: how many statements to keep, those with the most
    /// execution time.
    #[serde(default)]
    pub stat_statements_limit: Option<u32>,
    /// Also write each kept statement's text, as
    /// `pg_stat_statements_query_id{queryid,query}` (postgres_exporter's
    /// `--collector.stat_statements.include_query`).
    #[serde(default)]
    pub stat_statements_include_query: bool,
    /// How many characters of the text to keep (120 by default).
    #[serde(default)]
    pub stat_statements_query_length: Option<u32>,
    /// Custom queries, in postgres_exporter's `queries.yaml` format (its
    /// `--extend.query-path`); replaces `global.queries_file` for this
    /// target.
    #[serde(default)]
    pub queries_file: Option<PathBuf>,
    /// Databases left out of discovery (`template0`/`template1` never
    /// accept our connections and are always left out).
    #[serde(default)]
    pub exclude_databases: Vec<String>,
}

/// postgres_exporter's collectors that it runs only when asked
/// (`--collector.<name>`), which people enable most, on or off by name:
/// `collectors: { stat_statements: true }`. Each is off unless the target
/// or `global.collectors` turns it on (the target's word wins). An
/// unknown name is an error, so a typo never leaves a collector silently
/// off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptIn {
    /// `pg_stat_statements_*`: the statements with the most execution
    /// time (the extension must be installed in the DSN's database). Each
    /// statement is a series.
    #[serde(default)]
    pub stat_statements: Option<bool>,
    /// `pg_long_running_transactions` and `_oldest_timestamp_seconds`.
    #[serde(default)]
    pub long_running_transactions: Option<bool>,
    /// `pg_stat_user_indexes_*`: scans and tuples per index. Each index of
    /// each collected database is a series.
    #[serde(default)]
    pub stat_user_indexes: Option<bool>,
}

/// Which opt-in collectors run, once the target's and the global choices
/// are combined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Enabled {
    pub stat_statements: bool,
    pub long_running_transactions: bool,
    pub stat_user_indexes: bool,
}

impl OptIn {
    /// This target's choices over `global`'s; off where neither says.
    pub(crate) fn over(self, global: OptIn) -> Enabled {
        let pick = |own: Option<bool>, global: Option<bool>| own.or(global).unwrap_or(false);
        Enabled {
            stat_statements: pick(self.stat_statements, global.stat_statements),
            long_running_transactions: pick(
                self.long_running_transactions,
                global.long_running_transactions,
            ),
            stat_user_indexes: pick(self.stat_user_indexes, global.stat_user_indexes),
        }
    }
}

/// The pieces of a target that the collector needs, resolved once at build.
pub(crate) struct Resolved {
    pub options: PgConnectOptions,
    /// `host:port` (or `socket-dir:port`), never with credentials.
    pub server: String,
    /// Strings that must never appear in an error message: the DSN itself
    /// and its password.
    pub secrets: Vec<String>,
}

impl PostgresTarget {
    /// Reads the DSN (from `dsn` or `dsn_file`) and parses it. Errors name the
    /// problem, never the DSN's text.
    pub(crate) fn resolve(&self) -> Result<Resolved, BuildError> {
        let name = self
            .server
            .clone()
            .unwrap_or_else(|| "postgres".to_string());
        let fail = |reason: String| BuildError::new(&name, reason);
        let dsn = match (&self.dsn, &self.dsn_file) {
            (Some(dsn), None) => dsn.clone(),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| fail(format!("cannot read dsn_file {}: {e}", path.display())))?;
                Secret::new(text.trim())
            }
            (Some(_), Some(_)) => return Err(fail("set only one of dsn and dsn_file".into())),
            (None, None) => return Err(fail("one of dsn and dsn_file is required".into())),
        };
        if dsn.is_empty() {
            return Err(fail("the DSN is empty".into()));
        }
        let options = super::dsn::parse(dsn.expose()).map_err(|e| fail(e.to_string()))?;
        let server = match &self.server {
            Some(server) => server.clone(),
            None => server_label(&options),
        };
        let mut secrets = vec![dsn.expose().to_string()];
        secrets.extend(super::dsn::passwords(dsn.expose()));
        Ok(Resolved {
            options,
            server,
            secrets,
        })
    }
}

/// Static label names must be valid Prometheus label names, not reserved
/// (`__` prefix) and not `server`, which names the target.
pub(crate) fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), String> {
    for name in labels.keys() {
        let mut chars = name.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid || name.starts_with("__") {
            return Err(format!("static label {name:?} is not a valid label name"));
        }
        if name == "server" {
            return Err("static label \"server\" is reserved: set `server` instead".into());
        }
    }
    Ok(())
}

/// `host:port` as postgres_exporter writes it in `server`; for a Unix socket
/// the socket directory stands for the host.
fn server_label(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(dir) => format!("{}:{}", dir.display(), options.get_port()),
        // An IPv6 address is bracketed, so the port stays unambiguous.
        None if options.get_host().contains(':') && !options.get_host().starts_with('[') => {
            format!("[{}]:{}", options.get_host(), options.get_port())
        }
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(yaml: &str) -> PostgresTarget {
        yaml_serde::from_str(yaml).expect("valid target")
    }

    #[test]
    fn server_label_is_host_and_port_without_credentials() {
        let t = target("dsn: postgres://mon:Sekr3t@db.example:6543/app?sslmode=disable");
        let r = t.resolve().unwrap();
        assert_eq!(r.server, "db.example:6543");
        assert!(r.secrets.iter().any(|s| s == "Sekr3t"));
    }

    #[test]
    fn default_port_is_5432_and_server_can_be_overridden() {
        let r = target("dsn: postgres://mon@db/app").resolve().unwrap();
        assert_eq!(r.server, "db:5432");
        let r = target("{dsn: 'postgres://mon@db/app', server: primary}")
            .resolve()
            .unwrap();
        assert_eq!(r.server, "primary");
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let r = target("dsn: 'postgres://u@[::1]:5433/d'")
            .resolve()
            .unwrap();
        assert_eq!(r.server, "[::1]:5433");
        let r = target("dsn: 'host=::1 port=5434 user=u'")
            .resolve()
            .unwrap();
        assert_eq!(r.server, "[::1]:5434");
        let r = target("dsn: 'host=/run/postgresql user=u'")
            .resolve()
            .unwrap();
        assert_eq!(r.server, "/run/postgresql:5432");
    }

    #[test]
    fn dsn_file_is_read_and_trimmed() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "postgres://u:pw@h:1/d\n").unwrap();
        let t = target(&format!("dsn_file: {}", file.path().display()));
        assert_eq!(t.resolve().unwrap().server, "h:1");
    }

    #[test]
    fn errors_never_show_the_dsn() {
        let t = target("dsn: 'not a url with Sekr3t'");
        let err = t.resolve().err().expect("invalid DSN is an error");
        assert!(!err.to_string().contains("Sekr3t"), "{err}");
        let t = target("{}");
        assert!(t.resolve().is_err());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = yaml_serde::from_str::<PostgresTarget>("dsn: x\ndns: y").unwrap_err();
        assert!(err.to_string().contains("dns"), "{err}");
    }

    #[test]
    fn static_labels_must_be_valid_and_not_server() {
        let labels = |k: &str| BTreeMap::from([(k.to_string(), "v".to_string())]);
        assert!(check_labels(&labels("cluster")).is_ok());
        assert!(check_labels(&labels("_env2")).is_ok());
        for bad in ["server", "1x", "a-b", "__x", ""] {
            assert!(check_labels(&labels(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn opt_in_collectors_follow_the_target_then_the_global_choice() {
        let t = target(
            "{dsn: 'postgres://h/d', collectors: {stat_statements: true, stat_user_indexes: false}}",
        );
        let global: OptIn =
            yaml_serde::from_str("{stat_user_indexes: true, long_running_transactions: true}")
                .unwrap();
        assert_eq!(
            t.collectors.over(global),
            Enabled {
                stat_statements: true,
                long_running_transactions: true,
                stat_user_indexes: false,
            }
        );
        assert_eq!(OptIn::default().over(OptIn::default()), Enabled::default());
        let err =
            yaml_serde::from_str::<PostgresTarget>("{dsn: x, collectors: {stat_statement: true}}")
                .unwrap_err();
        assert!(err.to_string().contains("stat_statement"), "{err}");
    }

    #[test]
    fn timeout_is_a_humantime_duration() {
        let t = target("{dsn: 'postgres://h/d', timeout: 1500ms}");
        assert_eq!(t.timeout, Some(Duration::from_millis(1500)));
    }
}
