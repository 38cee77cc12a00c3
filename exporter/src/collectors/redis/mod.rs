//! Redis: the families of redis_exporter, from `INFO ALL`, `CONFIG GET`
//! (maxmemory, maxclients, io-threads, databases) and `SLOWLOG`, on masters
//! and replicas alike.
//!
//! Every series carries the label `target` (see [`TARGET_LABEL`]) naming the
//! configured target, plus the target's static `labels`. `target` collides
//! with no label Redis's or HAProxy's families use (HAProxy already has
//! `server`, `proxy`, `state`), so the HAProxy collector uses the same name.
//!
//! Deliberate differences from redis_exporter:
//! - `redis_instance_info` has no `run_id` or `process_id` label: both change
//!   at every restart and would start a new series each time.
//! - `redis_start_time_seconds` comes from the server's clock.
//! - redis_exporter's key-group and multi-target `/scrape` features do not
//!   exist here, so `redis_last_key_groups_scrape_duration_milliseconds` and
//!   `redis_target_scrape_request_errors_total` are not emitted.

mod cluster;
mod collector;
mod commands;
mod families;
mod fields;
#[cfg(test)]
mod golden;
pub mod info;
mod latency;
mod replication;
mod sentinel;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use redis::{ConnectionAddr, IntoConnectionInfo};
use serde::Deserialize;
use vigil_common::{Secret, resolve_secret};

use crate::collectors::{BuildError, Collector};
use crate::metrics::Label;

pub use info::{ParseError, parse as parse_info};

/// The label naming the target on every Redis and HAProxy series.
pub const TARGET_LABEL: &str = "target";

/// One Redis server to collect from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTarget {
    /// Value of the `target` label. Defaults to the address's `host:port`
    /// (or socket path), never including credentials.
    #[serde(default)]
    pub name: Option<String>,
    /// `redis://host:port[/db]`, `rediss://host:port` for TLS, or
    /// `unix:///path/to/redis.sock`. Must not contain a password: use
    /// `password` or `password_file`, which never appear in errors.
    pub address: String,
    /// ACL user name (Redis 6+); the `default` user when unset.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (`requirepass` or the ACL user's).
    #[serde(default)]
    pub password: Option<Secret>,
    /// A file holding the password (trailing newline ignored); an
    /// alternative to `password` for secrets mounted as files.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA that signed the server's certificate, for
    /// `rediss://` with a private CA; the system's roots otherwise.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// This target's collection deadline (for example `2s`); the exporter's
    /// default when unset.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Static labels added to every series of this target.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Makes the collector for one Redis target. Connects nothing: the first
/// scrape does, so a server that is down at start shows as `redis_up 0`.
pub fn build(target: &RedisTarget) -> Result<Arc<dyn Collector>, BuildError> {
    let who = match &target.name {
        Some(name) => format!("redis target {name}"),
        None => "redis target".to_string(),
    };
    let fail = |reason: String| BuildError::new(&who, reason);
    let password = resolve_secret(
        "password",
        target.password.as_ref(),
        target.password_file.as_deref(),
    )
    .map_err(|e| BuildError::secret(&who, &e))?;
    let info = target
        .address
        .as_str()
        .into_connection_info()
        .map_err(|_| fail("address is not a redis://, rediss:// or unix:// URL".into()))?;
    if info.redis_settings().password().is_some() {
        return Err(fail(
            "the address must not contain a password; use `password` or `password_file`".into(),
        ));
    }
    let display = info.addr().to_string();
    let mut settings = info.redis_settings().clone();
    if let Some(user) = &target.username {
        settings = settings.set_username(user);
    }
    if let Some(secret) = &password {
        settings = settings.set_password(secret.expose());
    }
    let is_tls = matches!(info.addr(), ConnectionAddr::TcpTls { .. });
    let info = info.set_redis_settings(settings);
    let ca_file = |reason: String| BuildError::at(&who, "tls_ca_file", reason);
    let client = match &target.tls_ca_file {
        Some(path) if is_tls => {
            let pem = std::fs::read(path)
                .map_err(|e| ca_file(format!("cannot read {}: {e}", path.display())))?;
            redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                },
            )
        }
        Some(_) => return Err(ca_file("needs a rediss:// address".into())),
        None => redis::Client::open(info),
    }
    .map_err(|e| fail(format!("invalid connection settings ({:?})", e.kind())))?;

    let name = target.name.clone().unwrap_or_else(|| display.clone());
    let target_labels = target_labels(&name, &target.labels).map_err(&fail)?;
    Ok(Arc::new(collector::RedisCollector {
        client,
        connection: Default::default(),
        display,
        password,
        target_labels,
        timeout: target.timeout,
        changes: Default::default(),
    }))
}

/// The `target` label followed by the static labels. A static label may not
/// be called `target`, nor have an invalid name.
pub(crate) fn target_labels(
    name: &str,
    statics: &BTreeMap<String, String>,
) -> Result<Vec<Label>, String> {
    let mut out: Vec<Label> = vec![(TARGET_LABEL.into(), name.into())];
    for (key, value) in statics {
        let valid = key
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if key.is_empty() || !valid || key.starts_with("__") {
            return Err(format!("invalid label name {key:?}"));
        }
        if key == TARGET_LABEL {
            return Err(format!("label {TARGET_LABEL:?} is set by the exporter"));
        }
        out.push((key.clone().into(), value.as_str().into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(yaml: &str) -> RedisTarget {
        yaml_serde::from_str(yaml).unwrap()
    }

    #[test]
    fn config_rejects_unknown_keys() {
        let err = yaml_serde::from_str::<RedisTarget>("address: redis://h:1\npasword: x\n");
        assert!(err.is_err());
    }

    #[test]
    fn target_label_defaults_to_host_port() {
        let c = build(&target("address: redis://127.0.0.1:6390\ntimeout: 2s\n")).unwrap();
        assert_eq!(
            c.target_labels(),
            [("target".into(), "127.0.0.1:6390".into())]
        );
        assert_eq!(c.timeout(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn a_ca_file_error_names_its_field() {
        for yaml in [
            "address: redis://127.0.0.1:6390\ntls_ca_file: /ca.pem\n",
            "address: rediss://127.0.0.1:6390\ntls_ca_file: /nonexistent/ca.pem\n",
        ] {
            let err = build(&target(yaml)).err().unwrap();
            assert_eq!(err.field.as_deref(), Some("tls_ca_file"), "{err}");
        }
    }

    #[test]
    fn password_in_the_address_is_refused_without_echoing_it() {
        let err = build(&target("address: redis://:Hunter2Sekrit@127.0.0.1:6390\n"))
            .err()
            .unwrap();
        assert!(!err.to_string().contains("Hunter2Sekrit"), "{err}");
    }

    #[test]
    fn static_labels_cannot_override_target() {
        let t = target("address: redis://h:1\nlabels: {target: x}\n");
        assert!(build(&t).is_err());
        let t = target("address: redis://h:1\nlabels: {env: prod}\n");
        let c = build(&t).unwrap();
        assert_eq!(c.target_labels()[1], ("env".into(), "prod".into()));
    }
}
