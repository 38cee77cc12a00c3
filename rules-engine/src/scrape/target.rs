//! From discovered addresses to scrape targets, as Prometheus's
//! `PopulateLabels` does: defaults for `job`, `__scheme__`,
//! `__metrics_path__`, `__scrape_interval__`, `__scrape_timeout__` and
//! `__param_*`, then `relabel_configs`, then `instance` defaulted to
//! `__address__` and `__meta_*` removed. The target's public labels are the
//! ones not starting with `__`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::config::ScrapeConfig;
use crate::model::units::PromDuration;
use crate::model::{Label, Labels};

use super::relabel;

/// A group of addresses sharing labels, as static_configs and file_sd give them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetGroup {
    pub targets: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Where the group came from (`static` or a file path), for messages.
    pub source: String,
}

/// One thing to scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Labels after relabeling, including `__` ones (`__address__`, ...).
    pub all_labels: Labels,
    /// Labels as discovered, before relabeling (`discoveredLabels` in the API).
    pub discovered: Labels,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
}

/// Why a discovered address gives no target.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("no address")]
    NoAddress,
    #[error("{0:?} is not a valid hostname")]
    BadAddress(String),
    #[error("error parsing scrape {what}: {reason}")]
    BadDuration { what: &'static str, reason: String },
    #[error("scrape timeout cannot be greater than scrape interval ({timeout} > {interval})")]
    TimeoutAboveInterval { timeout: String, interval: String },
}

impl Target {
    /// The labels every sample of this target gets (`job`, `instance`, ...).
    pub fn labels(&self) -> Labels {
        Labels::from_sorted(
            self.all_labels
                .iter()
                .filter(|l| !l.name.starts_with("__"))
                .cloned()
                .collect::<Vec<Label>>(),
        )
    }

    /// A key that tells targets apart across re-discovery (labels and URL).
    pub fn key(&self) -> String {
        format!("{}|{}", self.all_labels, self.url)
    }
}

/// Relabels every address of `group`; dropped ones are left out, broken
/// ones come back as errors with their discovered labels.
pub fn targets_from_group(
    cfg: &ScrapeConfig,
    group: &TargetGroup,
) -> Vec<Result<Target, (Labels, TargetError)>> {
    group
        .targets
        .iter()
        .filter_map(|addr| {
            let mut pairs: Vec<(String, String)> = group.labels.clone().into_iter().collect();
            pairs.push(("__address__".into(), addr.clone()));
            populate(cfg, Labels::from_pairs(pairs)).transpose()
        })
        .collect()
}

/// `Ok(None)` when relabeling dropped the target.
pub fn populate(
    cfg: &ScrapeConfig,
    mut lb: Labels,
) -> Result<Option<Target>, (Labels, TargetError)> {
    let defaults = [
        ("job", cfg.job_name.clone()),
        ("__scrape_interval__", cfg.interval().to_string()),
        ("__scrape_timeout__", cfg.timeout().to_string()),
        ("__metrics_path__", cfg.metrics_path.clone()),
        ("__scheme__", cfg.scheme.clone()),
    ];
    for (name, value) in defaults {
        if lb.get(name).is_none() {
            lb.set(name, &value);
        }
    }
    for (k, v) in &cfg.params {
        let name = format!("__param_{k}");
        if let Some(first) = v.first()
            && lb.get(&name).is_none()
        {
            lb.set(&name, first);
        }
    }
    let discovered = lb.clone();
    let Some(mut lb) = relabel::process(lb, &cfg.relabel_configs) else {
        return Ok(None);
    };
    let fail = |e| (discovered.clone(), e);
    let addr = lb
        .get("__address__")
        .ok_or_else(|| fail(TargetError::NoAddress))?
        .to_string();
    if addr.contains('/') {
        return Err(fail(TargetError::BadAddress(addr)));
    }
    let interval = duration_label(&lb, "__scrape_interval__", "interval").map_err(fail)?;
    let timeout = duration_label(&lb, "__scrape_timeout__", "timeout").map_err(fail)?;
    if timeout > interval {
        return Err(fail(TargetError::TimeoutAboveInterval {
            timeout: timeout.to_string(),
            interval: interval.to_string(),
        }));
    }
    for name in lb.iter().map(|l| l.name.clone()).collect::<Vec<_>>() {
        if name.starts_with("__meta_") {
            lb.remove(&name);
        }
    }
    if lb.get("instance").is_none() {
        lb.set("instance", &addr);
    }
    let url = scrape_url(cfg, &lb, &addr);
    Ok(Some(Target {
        all_labels: lb,
        discovered,
        url,
        interval: interval.0,
        timeout: timeout.0,
    }))
}

fn duration_label(
    lb: &Labels,
    name: &str,
    what: &'static str,
) -> Result<PromDuration, TargetError> {
    let raw = lb.get(name).unwrap_or("");
    match PromDuration::parse(raw) {
        Ok(d) if d.0.is_zero() => Err(TargetError::BadDuration {
            what,
            reason: format!("scrape {what} cannot be 0"),
        }),
        Ok(d) => Ok(d),
        Err(reason) => Err(TargetError::BadDuration { what, reason }),
    }
}

/// `scheme://address/path?params`, where `__param_x` labels override the
/// first value of the configured parameter `x`.
fn scrape_url(cfg: &ScrapeConfig, lb: &Labels, addr: &str) -> String {
    let scheme = lb.get("__scheme__").unwrap_or("http");
    let path = lb.get("__metrics_path__").unwrap_or("/metrics");
    let mut params: BTreeMap<String, Vec<String>> = cfg.params.clone();
    for l in lb.iter() {
        if let Some(k) = l.name.strip_prefix("__param_") {
            let values = params.entry(k.to_string()).or_default();
            if values.is_empty() {
                values.push(l.value.clone());
            } else {
                values[0] = l.value.clone();
            }
        }
    }
    let mut url = format!("{scheme}://{addr}{path}");
    let mut sep = if path.contains('?') { '&' } else { '?' };
    for (k, values) in &params {
        for v in values {
            url.push(sep);
            url.push_str(&encode(k));
            url.push('=');
            url.push_str(&encode(v));
            sep = '&';
        }
    }
    url
}

/// Percent-encodes a query component (RFC 3986 unreserved kept as is).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn job(yaml: &str) -> ScrapeConfig {
        Config::parse(yaml, "test")
            .unwrap()
            .scrape_configs
            .remove(0)
    }

    fn group(addrs: &[&str], labels: &[(&str, &str)]) -> TargetGroup {
        TargetGroup {
            targets: addrs.iter().map(|s| s.to_string()).collect(),
            labels: labels
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            source: "static".into(),
        }
    }

    #[test]
    fn defaults_are_set_like_prometheus() {
        let cfg = job(
            "scrape_configs:\n- job_name: node\n  scrape_interval: 15s\n  params: {module: [a b, c]}\n",
        );
        let t = targets_from_group(&cfg, &group(&["h:9100"], &[("team", "x")]))
            .remove(0)
            .unwrap();
        assert_eq!(
            t.labels().to_string(),
            r#"{instance="h:9100", job="node", team="x"}"#
        );
        assert_eq!(t.url, "http://h:9100/metrics?module=a%20b&module=c");
        assert_eq!(t.interval, Duration::from_secs(15));
        assert_eq!(t.timeout, Duration::from_secs(10));
        assert_eq!(t.discovered.get("__scrape_interval__"), Some("15s"));
        assert_eq!(t.discovered.get("__param_module"), Some("a b"));
    }

    #[test]
    fn relabeling_can_rewrite_address_path_and_interval_or_drop() {
        let cfg = job("scrape_configs:
- job_name: blackbox
  relabel_configs:
  - source_labels: [__address__]
    target_label: __param_target
  - source_labels: [__param_target]
    target_label: instance
  - target_label: __address__
    replacement: 'prober:9115'
  - target_label: __metrics_path__
    replacement: /probe
  - target_label: __scrape_interval__
    replacement: 30s
  - source_labels: [instance]
    regex: 'skip.*'
    action: drop
");
        let out = targets_from_group(&cfg, &group(&["https://a.example", "skip.me"], &[]));
        assert_eq!(out.len(), 1, "the second address is dropped");
        let t = out[0].as_ref().unwrap();
        assert_eq!(
            t.url,
            "http://prober:9115/probe?target=https%3A%2F%2Fa.example"
        );
        assert_eq!(t.labels().get("instance"), Some("https://a.example"));
        assert_eq!(t.interval, Duration::from_secs(30));
    }

    #[test]
    fn meta_labels_are_removed_and_bad_targets_reported() {
        let cfg = job("scrape_configs:\n- job_name: j\n");
        let t = targets_from_group(&cfg, &group(&["h:1"], &[("__meta_filepath", "/x")]))
            .remove(0)
            .unwrap();
        assert_eq!(t.all_labels.get("__meta_filepath"), None);
        assert_eq!(t.discovered.get("__meta_filepath"), Some("/x"));
        let bad = targets_from_group(&cfg, &group(&["h:1/x"], &[])).remove(0);
        assert_eq!(bad.unwrap_err().1, TargetError::BadAddress("h:1/x".into()));
    }
}
