//! HAProxy: the families of HAProxy's built-in Prometheus exporter
//! (`haproxy_frontend_*`, `haproxy_backend_*`, `haproxy_server_*` with
//! labels `proxy`, `server`, `state`, `code`), read from the stats page's
//! CSV (`;csv`, basic auth) or from the runtime API socket (`show stat`),
//! plus `haproxy_process_*` from `show info` when the socket is configured,
//! and `haproxy_backend_up{proxy}` / `haproxy_server_up{proxy,server}` 1/0
//! gauges for alerting.
//!
//! Every series carries the label `target` naming the configured target
//! (the same label as Redis's, see [`crate::collectors::redis::TARGET_LABEL`];
//! HAProxy's own `server` label names a backend server, so the target
//! cannot use it), plus the target's static `labels`.
//!
//! With both `url` and `socket` set, stats come from the page and process
//! figures from the socket; a failure of either fails the collection, so
//! `haproxy_up` is 0 whenever a configured source is unreachable.

mod collector;
mod families;
mod fetch;
mod fields;
#[cfg(test)]
mod golden;
pub mod process;
pub mod stats;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use vigil_common::{Secret, resolve_secret};

use crate::collectors::redis::target_labels;
use crate::collectors::{BuildError, Collector};
use collector::{HaproxyCollector, StatsSource};
use fetch::HttpStats;

/// Replies larger than this are refused unless `max_body_bytes` says
/// otherwise: a stats CSV is about 1 KiB per server, so this allows some
/// thousands of servers while bounding memory per scrape.
const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// One HAProxy process to collect from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaproxyTarget {
    /// Value of the `target` label. Defaults to the URL's `host:port`, or
    /// the socket path.
    #[serde(default)]
    pub name: Option<String>,
    /// The stats page (`stats uri`), for example
    /// `http://127.0.0.1:8404/stats`; `;csv` is appended when missing. No
    /// credentials in the URL: use `username` and `password`.
    #[serde(default)]
    pub url: Option<String>,
    /// Basic-auth user of the stats page (`stats auth user:password`).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// A file holding the basic-auth password; an alternative to `password`.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA(s) that signed an `https://` stats page's
    /// certificate; only these are trusted then. The system's roots
    /// otherwise.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// The runtime API socket (`stats socket /path`): `show stat` when no
    /// `url` is given, and `show info` for `haproxy_process_*`.
    #[serde(default)]
    pub socket: Option<PathBuf>,
    /// Largest reply accepted, in bytes (default 8 MiB).
    #[serde(default)]
    pub max_body_bytes: Option<usize>,
    /// This target's collection deadline; the exporter's default when unset.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Static labels added to every series of this target.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Makes the collector for one HAProxy target. Contacts nothing.
pub fn build(target: &HaproxyTarget) -> Result<Arc<dyn Collector>, BuildError> {
    let who = match &target.name {
        Some(name) => format!("haproxy target {name}"),
        None => "haproxy target".to_string(),
    };
    let fail = |reason: String| BuildError::new(&who, reason);
    let password = resolve_secret(
        "password",
        target.password.as_ref(),
        target.password_file.as_deref(),
    )
    .map_err(|e| BuildError::secret(&who, &e))?;
    let (stats, display) = match (&target.url, &target.socket) {
        (Some(url), _) => {
            let (http, display) = http_stats(&who, url, target, password.clone())?;
            (StatsSource::Http(http), display)
        }
        (None, Some(path)) => (
            StatsSource::Socket(path.clone()),
            path.display().to_string(),
        ),
        (None, None) => return Err(fail("set `url`, `socket`, or both".into())),
    };
    let name = target.name.clone().unwrap_or_else(|| display.clone());
    let target_labels = target_labels(&name, &target.labels).map_err(&fail)?;
    Ok(Arc::new(HaproxyCollector {
        stats,
        info_socket: target.socket.clone(),
        max_body_bytes: target.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        display,
        password,
        target_labels,
        timeout: target.timeout,
    }))
}

fn http_stats(
    who: &str,
    url: &str,
    target: &HaproxyTarget,
    password: Option<Secret>,
) -> Result<(HttpStats, String), BuildError> {
    let fail = |reason: String| BuildError::new(who, reason);
    let mut parsed = reqwest::Url::parse(url).map_err(|e| BuildError::at(who, "url", e))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(fail(
            "url must not contain credentials; use `username` and `password`".into(),
        ));
    }
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(fail("url must be http:// or https://".into()));
    }
    if !parsed.path().ends_with(";csv") {
        let path = format!("{};csv", parsed.path());
        parsed.set_path(&path);
    }
    let display = match (parsed.host_str(), parsed.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => parsed.to_string(),
    };
    // reqwest is built without a default rustls provider (ring is the
    // workspace's only one); installing it twice is harmless.
    vigil_common::install_crypto_provider();
    let mut builder = reqwest::Client::builder();
    if parsed.scheme() == "http" {
        // No TLS on this target: an empty trust store spares loading the
        // system's roots, which costs about 2 MiB of resident memory per
        // client.
        builder = builder.tls_certs_only(Vec::new());
    }
    if let Some(path) = &target.tls_ca_file {
        let ca_file = |reason: String| BuildError::at(who, "tls_ca_file", reason);
        if parsed.scheme() != "https" {
            return Err(ca_file("needs an https:// url".into()));
        }
        let pem = std::fs::read(path)
            .map_err(|e| ca_file(format!("cannot read {}: {}", path.display(), e.kind())))?;
        let no_certificate = || ca_file(format!("{} holds no PEM certificate", path.display()));
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| no_certificate())?;
        if certs.is_empty() {
            return Err(no_certificate());
        }
        builder = builder.tls_certs_only(certs);
    }
    let client = builder
        .build()
        .map_err(|e| fail(format!("http client: {e}")))?;
    Ok((
        HttpStats {
            client,
            url: parsed,
            username: target.username.clone(),
            password,
        },
        display,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(yaml: &str) -> HaproxyTarget {
        yaml_serde::from_str(yaml).unwrap()
    }

    #[test]
    fn url_gets_csv_suffix_and_names_the_target() {
        let t = target("url: http://127.0.0.1:8404/stats\nusername: admin\npassword: pw\n");
        let (http, display) =
            http_stats("haproxy target", t.url.as_deref().unwrap(), &t, None).unwrap();
        assert_eq!(http.url.as_str(), "http://127.0.0.1:8404/stats;csv");
        assert_eq!(display, "127.0.0.1:8404");
        let c = build(&t).unwrap();
        assert_eq!(
            c.target_labels()[0],
            ("target".into(), "127.0.0.1:8404".into())
        );
    }

    #[test]
    fn a_ca_file_error_names_its_field() {
        let err = build(&target(
            "url: http://127.0.0.1:8404/stats\ntls_ca_file: /ca.pem\n",
        ))
        .err()
        .unwrap();
        assert_eq!(err.field.as_deref(), Some("tls_ca_file"));
        assert!(
            err.to_string()
                .contains("tls_ca_file: needs an https:// url"),
            "{err}"
        );
        let err = build(&target(
            "url: https://lb:8404/stats\ntls_ca_file: /nonexistent/ca.pem\n",
        ))
        .err()
        .unwrap();
        assert_eq!(err.field.as_deref(), Some("tls_ca_file"));
    }

    #[test]
    fn credentials_in_url_are_refused_without_echoing_them() {
        let t = target("url: http://admin:Zq9SekretPw@127.0.0.1:8404/stats\n");
        let err = build(&t).err().unwrap().to_string();
        assert!(!err.contains("Zq9SekretPw"), "{err}");
    }

    #[test]
    fn needs_a_url_or_socket_and_rejects_unknown_keys() {
        assert!(build(&target("name: lb\n")).is_err());
        assert!(yaml_serde::from_str::<HaproxyTarget>("socket: /x\nsokcet: /y\n").is_err());
        let c = build(&target("socket: /run/haproxy.sock\n")).unwrap();
        assert_eq!(c.target_labels()[0].1, "/run/haproxy.sock");
    }
}
