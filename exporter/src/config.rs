//! The exporter's configuration file, and the one place that turns it into
//! running collectors.
//!
//! ```yaml
//! global:
//!   timeout: 5s            # each target's deadline unless it sets its own
//! postgres:
//!   - dsn_file: /etc/vigil/pg-primary.dsn
//! redis:
//!   - address: redis://10.0.0.7:6379
//!     password_file: /etc/vigil/redis.pass
//! haproxy:
//!   - url: http://10.0.0.2:8404/stats;csv
//! apps:
//!   - url: http://10.0.0.5:3001
//!     instance: api-1
//! ```
//!
//! Each section is a list of targets; the target types, with their field
//! documentation, live next to their collectors. Loading is all or nothing:
//! every error of the file is reported at `file:line:column`, and nothing is
//! built unless everything is right, so a reload with a bad file keeps the
//! running configuration.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use vigil_common::{ConfigErrors, Located, Parsed, Partial, seq_or_null};

use crate::collectors::app_health::{self, AppTarget};
use crate::collectors::haproxy::{self, HaproxyTarget};
use crate::collectors::postgres::{self, PostgresTarget};
use crate::collectors::redis::{self, RedisTarget};
use crate::collectors::{BuildError, Collector};
use crate::metrics::Label;

mod target_key;
pub use target_key::TargetKey;

/// The collectors of the running configuration by their target's key,
/// offered to a reload.
pub type Reusable = HashMap<TargetKey, Arc<dyn Collector>>;

/// The deadline of one target's collection when neither the target nor
/// `global.timeout` sets one: well under Prometheus's default 10 s scrape
/// timeout, so one slow target never fails the whole scrape.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub global: Global,
    #[serde(default, deserialize_with = "seq_or_null")]
    pub postgres: Vec<PostgresTarget>,
    #[serde(default, deserialize_with = "seq_or_null")]
    pub redis: Vec<RedisTarget>,
    #[serde(default, deserialize_with = "seq_or_null")]
    pub haproxy: Vec<HaproxyTarget>,
    #[serde(default, deserialize_with = "seq_or_null")]
    pub apps: Vec<AppTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Global {
    /// Deadline of each target's collection when the target sets none.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Custom queries for every PostgreSQL target that sets no
    /// `queries_file` of its own (postgres_exporter's `queries.yaml`).
    #[serde(default)]
    pub queries_file: Option<std::path::PathBuf>,
    /// PostgreSQL's opt-in collectors for every target that does not
    /// choose for itself, by postgres_exporter's names
    /// (`{ stat_statements: true }`).
    #[serde(default)]
    pub collectors: postgres::OptIn,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            timeout: DEFAULT_TIMEOUT,
            queries_file: None,
            collectors: postgres::OptIn::default(),
        }
    }
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

/// A configuration made into collectors, ready to run.
pub struct Loaded {
    pub collectors: Vec<Arc<dyn Collector>>,
    pub default_timeout: Duration,
    /// The key of each collector's target, in the same order.
    pub keys: Vec<TargetKey>,
}

impl Loaded {
    /// The collectors by key, for the next reload to reuse.
    pub fn reusable(&self) -> Reusable {
        self.keys
            .iter()
            .cloned()
            .zip(self.collectors.iter().cloned())
            .collect()
    }
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("targets", &self.collectors.len())
            .field("default_timeout", &self.default_timeout)
            .finish()
    }
}

/// Reads, checks and builds the file at `path`.
pub fn load(path: &Path) -> Result<Loaded, ConfigErrors> {
    load_reusing(path, &Reusable::new())
}

/// Like [`load`], keeping the collectors in `previous` whose targets did not
/// change.
pub fn load_reusing(path: &Path, previous: &Reusable) -> Result<Loaded, ConfigErrors> {
    finish(vigil_common::load_yaml_partial::<Config>(path), previous)
}

/// Parses and builds `text` (named `file` in errors), with `${ENV}` taken
/// from `lookup`.
pub fn load_str(
    file: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigErrors> {
    finish(
        vigil_common::parse_yaml_partial::<Config>(file, text, lookup),
        &Reusable::new(),
    )
}

/// Builds what parsed, so that one run reports the file's schema errors and
/// the targets that cannot be built together, in file order.
fn finish(partial: Partial<Config>, previous: &Reusable) -> Result<Loaded, ConfigErrors> {
    let mut errors = partial.errors;
    if let Some(parsed) = &partial.parsed {
        match build_reusing(parsed, previous) {
            Ok(loaded) if errors.is_empty() => return Ok(loaded),
            Ok(_) => {}
            Err(e) => errors.extend(e.0),
        }
    }
    errors.sort_by_key(|e| (e.line, e.column));
    Err(ConfigErrors(errors))
}

/// One target's build: its section, its index there, the collector, its key.
type Built<'a> = (
    &'a str,
    usize,
    Result<Arc<dyn Collector>, BuildError>,
    TargetKey,
);

/// Builds every target; reports every target that cannot be built and every
/// duplicate (two targets with the same labels would write the same series).
pub fn build(parsed: &Parsed<Config>) -> Result<Loaded, ConfigErrors> {
    build_reusing(parsed, &Reusable::new())
}

/// [`build`], taking the collector of an unchanged target from `previous`.
pub fn build_reusing(parsed: &Parsed<Config>, previous: &Reusable) -> Result<Loaded, ConfigErrors> {
    let c = &parsed.value;
    let doc: yaml_serde::Value = yaml_serde::from_str(&parsed.text).unwrap_or_default();
    let mut built: Vec<Built> = Vec::new();
    let mut add_keyed =
        |section: &'static str,
         i: usize,
         key: TargetKey,
         make: &dyn Fn() -> Result<Arc<dyn Collector>, BuildError>| {
            let collector = match previous.get(&key) {
                Some(running) => Ok(running.clone()),
                None => make(),
            };
            built.push((section, i, collector, key));
        };
    let global_queries = c.global.queries_file.as_deref();
    for (i, t) in c.postgres.iter().enumerate() {
        let key = TargetKey::of(&doc, "postgres", i);
        // A changed global queries file makes new collectors too.
        let key = match (&t.queries_file, global_queries) {
            (None, Some(path)) => key.with_file("global.queries_file", path),
            _ => key,
        };
        // So do changed global collectors.
        let key = key.with_value("global.collectors", &format!("{:?}", c.global.collectors));
        add_keyed("postgres", i, key, &|| {
            postgres::build(t, global_queries, c.global.collectors)
        });
    }
    for (i, t) in c.redis.iter().enumerate() {
        add_keyed("redis", i, TargetKey::of(&doc, "redis", i), &|| {
            redis::build(t)
        });
    }
    for (i, t) in c.haproxy.iter().enumerate() {
        let key = TargetKey::of(&doc, "haproxy", i);
        add_keyed("haproxy", i, key, &|| haproxy::build(t));
    }
    for (i, t) in c.apps.iter().enumerate() {
        add_keyed("apps", i, TargetKey::of(&doc, "apps", i), &|| {
            app_health::build(t)
        });
    }

    let mut errors: Vec<Located> = Vec::new();
    let mut collectors = Vec::new();
    let mut keys = Vec::new();
    let mut seen: HashMap<(&'static str, Vec<Label>), (&str, usize)> = HashMap::new();
    for (section, i, result, target_key) in built {
        let n = parsed.original_index(section, i);
        match result {
            Ok(collector) => {
                let key = (
                    collector.source().name(),
                    collector.target_labels().to_vec(),
                );
                if let Some((s0, i0)) = seen.get(&key) {
                    errors.push(parsed.error_at(
                        section,
                        i,
                        None,
                        format!("{section}[{n}]: the same target as {s0}[{i0}] (same labels); give one a different name"),
                    ));
                } else {
                    seen.insert(key, (section, n));
                    collectors.push(collector);
                    keys.push(target_key);
                }
            }
            Err(e) => {
                let key = e.field.as_deref();
                errors.push(parsed.error_at(section, i, key, format!("{section}[{n}]: {e}")));
            }
        }
    }
    if errors.is_empty() {
        Ok(Loaded {
            collectors,
            default_timeout: c.global.timeout,
            keys,
        })
    } else {
        errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Loaded, ConfigErrors> {
        load_str("x.yml", text, &|_| None)
    }

    #[test]
    fn empty_sections_are_fine() {
        let l = load("global:\n  timeout: 2s\napps:\n").unwrap();
        assert!(l.collectors.is_empty());
        assert_eq!(l.default_timeout, Duration::from_secs(2));
    }

    #[test]
    fn builds_apps_and_locates_bad_ones() {
        let text = "apps:\n  - url: http://127.0.0.1:1\n  - url: ftp://x\n  - url: http://127.0.0.1:1\n  - url: http://u:pw@h:1\n    instance: x\n";
        let errs = load(text).unwrap_err().0;
        let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert!(
            shown[0].starts_with("x.yml:3:5: apps[1]: app target (unnamed): url:"),
            "{shown:?}"
        );
        assert!(
            shown[1].starts_with("x.yml:4:3: apps[2]: the same target as apps[0]"),
            "{shown:?}"
        );
        assert!(shown[2].starts_with("x.yml:5:5: apps[3]"), "{shown:?}");
        assert!(!shown[2].contains("pw@"), "{shown:?}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let errs =
            load("apps:\n  - url: http://a:1\n    colour: red\nglobal:\n  timeout: 1s\n  x: 1\n")
                .unwrap_err()
                .0;
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!((errs[0].line, errs[0].column), (3, 5));
    }

    #[test]
    fn schema_and_build_errors_come_together() {
        let text =
            "apps:\n  - url: http://a:1\n    colour: red\n  - url: http://a:1\n  - url: ftp://b\n";
        let shown: Vec<String> = load(text)
            .unwrap_err()
            .0
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown[0].starts_with("x.yml:3:5: apps[0]: unknown field `colour`"),
            "{shown:?}"
        );
        assert!(
            shown[1].starts_with("x.yml:5:5: apps[2]: app target (unnamed): url:"),
            "{shown:?}"
        );
    }
}
