//! App health: probes an instance's `/health`, `/ready` and `/live` and
//! writes what the monitored systems' documents chart (seeds/001,
//! "Health Check Monitoring"): `instance_health{instance}` (1 healthy,
//! 0.5 degraded, 0 unhealthy or unreachable), `app_ready`, `app_live`,
//! `health_check_duration_seconds{check_type}`,
//! `health_check_failures_total{check_type}`, per-check
//! `app_health_check_status{check}` and
//! `app_health_check_latency_seconds{check}`, `app_info{version}` and
//! `app_uptime_seconds`.
//!
//! `app_up` (written by the registry) is 1 when `/health` gave an answer the
//! exporter understood, whatever it said: an instance that answers 503
//! `{"status":"unhealthy"}` is up and unhealthy. Unreachable, too slow, or an
//! answer that is not health JSON: `app_up 0` and `instance_health 0`.
//!
//! The target label is `instance`, as the documents' queries expect
//! (`instance_health{instance="api-1"}`). Prometheus renames a scraped
//! `instance` label to `exported_instance` unless the scrape job sets
//! `honor_labels: true`; the README says so.

mod parse;
mod probe;
mod stats;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde::Deserialize;
use vigil_common::{Secret, resolve_secret};

pub use parse::{Check, Health, HealthReport, ParseError, parse_health, parse_probe};
pub use stats::CheckType;

use crate::collectors::{BuildError, CollectError, Collector, Source};
use crate::metrics::{Family, Label, labels};
use probe::Prober;
use stats::ProbeStats;

/// Largest `/health` body read by default: the documented body is under
/// 1 KiB; anything near this limit is not a health answer.
const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// The label naming an app target.
pub const TARGET_LABEL: &str = "instance";

/// One app instance to probe.
///
/// ```yaml
/// apps:
///   - url: http://10.0.0.5:3001
///     instance: api-1
///     labels: { job: cartae-api }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppTarget {
    /// Base URL of the instance; the probe paths are joined to it. Must not
    /// hold a password: use `username` and `password`/`password_file`.
    pub url: String,
    /// The value of the `instance` label; defaults to the URL's `host:port`.
    #[serde(default)]
    pub instance: Option<String>,
    #[serde(default = "default_health_path")]
    pub health_path: String,
    #[serde(default = "default_ready_path")]
    pub ready_path: String,
    #[serde(default = "default_live_path")]
    pub live_path: String,
    /// This target's deadline; the exporter's default (5 s) when absent.
    /// Each probe gets nine tenths of it, so a hanging endpoint is reported
    /// by this collector before the registry cuts it off.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Largest body read from an endpoint, in bytes (default 64 KiB).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// HTTP basic auth user for the probes.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Static labels added to every sample of this target.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_health_path() -> String {
    "/health".to_string()
}
fn default_ready_path() -> String {
    "/ready".to_string()
}
fn default_live_path() -> String {
    "/live".to_string()
}
fn default_max_body() -> usize {
    DEFAULT_MAX_BODY
}

/// Makes the collector for one app target.
pub fn build(target: &AppTarget) -> Result<Arc<dyn Collector>, BuildError> {
    let who = format!(
        "app target {}",
        target.instance.as_deref().unwrap_or("(unnamed)")
    );
    let fail = |reason: String| BuildError::new(&who, reason);
    let base = reqwest::Url::parse(&target.url)
        .map_err(|e| BuildError::at(&who, "url", format!("not a URL ({e})")))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(BuildError::at(
            &who,
            "url",
            "expected an http:// or https:// URL",
        ));
    }
    if base.password().is_some() || !base.username().is_empty() {
        return Err(BuildError::at(
            &who,
            "url",
            "must not contain credentials; use username and password or password_file",
        ));
    }
    let password = resolve_secret(
        "password",
        target.password.as_ref(),
        target.password_file.as_deref(),
    )
    .map_err(|e| BuildError::secret(&who, &e))?;
    let auth = match (&target.username, password) {
        (Some(u), p) => Some((u.clone(), p.unwrap_or_default())),
        (None, Some(_)) => return Err(fail("password given without username".into())),
        (None, None) => None,
    };
    let host = base.host_str().unwrap_or_default();
    let instance = match &target.instance {
        Some(i) => i.clone(),
        None => match base.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        },
    };
    let mut target_labels: Vec<Label> = vec![(TARGET_LABEL.into(), instance.as_str().into())];
    for (k, v) in &target.labels {
        if k == TARGET_LABEL || !valid_label_name(k) {
            return Err(BuildError::at(
                &who,
                "labels",
                format!("invalid label name {k:?}"),
            ));
        }
        target_labels.push((k.clone().into(), v.as_str().into()));
    }
    let deadline = target.timeout.unwrap_or(crate::config::DEFAULT_TIMEOUT);
    let prober = Prober::new(
        &base,
        [&target.health_path, &target.ready_path, &target.live_path],
        deadline.mul_f64(0.9),
        target.max_body_bytes,
        auth,
    )
    .map_err(fail)?;
    Ok(Arc::new(AppCollector {
        prober,
        target_labels,
        timeout: target.timeout,
        stats: Mutex::new(ProbeStats::default()),
    }))
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

struct AppCollector {
    prober: Prober,
    target_labels: Vec<Label>,
    timeout: Option<Duration>,
    stats: Mutex<ProbeStats>,
}

impl AppCollector {
    async fn collect_all(&self) -> Result<Vec<Family>, CollectError> {
        self.stats().in_flight = true;
        let started = Instant::now();
        let (health, ready, live) = futures::join!(
            self.prober.health(),
            self.prober.yes_no(CheckType::Ready),
            self.prober.yes_no(CheckType::Live),
        );
        let mut stats = self.stats();
        stats.in_flight = false;
        stats.last_ready = ready.ok;
        stats.last_live = live.ok;
        stats.record(CheckType::Ready, ready.took, !ready.ok);
        stats.record(CheckType::Live, live.took, !live.ok);
        let report = match health.result {
            Ok(report) => report,
            Err(e) => {
                stats.record(CheckType::Health, health.took, true);
                tracing::debug!(after = ?started.elapsed(), "health probe failed");
                return Err(e);
            }
        };
        stats.record(
            CheckType::Health,
            health.took,
            report.health == Health::Unhealthy,
        );
        let mut families = self.state_families(report.health.value(), ready.ok, live.ok);
        families.extend(stats.families());
        families.extend(report_families(&report));
        Ok(families)
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, ProbeStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn state_families(&self, health: f64, ready: bool, live: bool) -> Vec<Family> {
        let bit = |b: bool| if b { 1.0 } else { 0.0 };
        vec![
            Family::gauge(
                "instance_health",
                "Instance health status (1=healthy, 0.5=degraded, 0=unhealthy or unreachable).",
            )
            .single(health),
            Family::gauge(
                "app_ready",
                "Whether the instance's readiness endpoint says it can take traffic (1) or not (0).",
            )
            .single(bit(ready)),
            Family::gauge(
                "app_live",
                "Whether the instance's liveness endpoint answers (1) or not (0).",
            )
            .single(bit(live)),
        ]
    }
}

/// Per-check gauges, version and uptime from a health answer.
fn report_families(report: &HealthReport) -> Vec<Family> {
    let mut status = Family::gauge(
        "app_health_check_status",
        "Status of each check the instance reports (1=ok, 0.5=degraded, 0=failed).",
    );
    let mut latency = Family::gauge(
        "app_health_check_latency_seconds",
        "Latency of each check the instance reports, in seconds.",
    );
    for c in &report.checks {
        status.push(labels(&[("check", &c.name)]), c.status);
        if let Some(l) = c.latency_seconds {
            latency.push(labels(&[("check", &c.name)]), l);
        }
    }
    let mut out = vec![status, latency];
    if let Some(v) = &report.version {
        let mut info = Family::gauge(
            "app_info",
            "A metric with a constant '1' value labelled by the instance's version.",
        );
        info.push(labels(&[("version", v)]), 1.0);
        out.push(info);
    }
    if let Some(u) = report.uptime_seconds {
        out.push(
            Family::gauge(
                "app_uptime_seconds",
                "How long the instance has been running, in seconds, as it reports.",
            )
            .single(u),
        );
    }
    out
}

impl Collector for AppCollector {
    fn source(&self) -> Source {
        Source::App
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

    /// An instance the exporter cannot read is unhealthy; when the registry
    /// cut the collection off, every probe counts as failed and not ready.
    fn failure_families(&self, _error: &CollectError) -> Vec<Family> {
        let mut stats = self.stats();
        if stats.in_flight {
            stats.in_flight = false;
            stats.last_ready = false;
            stats.last_live = false;
            let after = self.prober.probe_timeout();
            for check in CheckType::ALL {
                stats.record_abandoned(check, after);
            }
        }
        let mut families = self.state_families(0.0, stats.last_ready, stats.last_live);
        families.extend(stats.families());
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Format, encode};

    /// The families of a captured health answer, against their golden text.
    #[test]
    fn degraded_answer_matches_golden() {
        let body = include_bytes!("testdata/health_degraded.json");
        let report = parse_health(200, body).unwrap();
        assert_eq!(report.health.value(), 0.5);
        let text = encode(&report_families(&report), Format::Text);
        assert_eq!(text, include_str!("testdata/health_degraded.prom"));
    }

    #[test]
    fn build_refuses_credentials_in_the_url_without_echoing_them() {
        let target: AppTarget =
            yaml_serde::from_str("url: http://probe:Sekrit-42@127.0.0.1:3001\n").unwrap();
        let err = build(&target).err().unwrap().to_string();
        assert!(err.contains("must not contain credentials"), "{err}");
        assert!(!err.contains("Sekrit"), "{err}");
    }

    #[test]
    fn instance_defaults_to_host_and_port() {
        let target: AppTarget = yaml_serde::from_str("url: http://127.0.0.1:3001/base\n").unwrap();
        let c = build(&target).unwrap();
        assert_eq!(
            c.target_labels(),
            [("instance".into(), "127.0.0.1:3001".into())]
        );
        assert_eq!(c.source(), Source::App);
    }
}
