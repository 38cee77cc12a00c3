//! vigil's `alerting:` section: where the Alertmanager-format routing
//! configuration comes from (an existing `alertmanager.yml`, or the same
//! content inline), the external URL for links, Alertmanagers to forward
//! alerts to, and the outbox's delivery settings.
//!
//! ```yaml
//! alerting:
//!   alertmanager_config_file: alertmanager.yml   # or:
//!   alertmanager_config:
//!     route: {receiver: ops}
//!     receivers: [{name: ops, webhook_configs: [{url: http://hook}]}]
//!   external_url: https://vigil.example.org
//!   alertmanagers: [{url: http://am:9093}]
//! ```
//!
//! Inline configuration is checked like a file: its errors carry the line
//! and column in vigil's own config file.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use vigil_common::{ConfigErrors, Secret};

use super::dispatch::DispatchOptions;
use super::forward::ForwardTarget;
use crate::model::units::PromDuration;
use crate::notify::route::receivers::HttpConfig;
use crate::notify::route::{Loaded, load_file, parse_str};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// An Alertmanager configuration file, relative to vigil's config.
    pub alertmanager_config_file: Option<String>,
    /// The same content inline (Alertmanager's format, unchanged).
    pub alertmanager_config: Option<yaml_serde::Value>,
    /// The URL users reach vigil at: `externalURL` in payloads and the
    /// link in default messages.
    pub external_url: Option<String>,
    /// Existing Alertmanagers to forward alerts to, as Prometheus does.
    #[serde(default)]
    pub alertmanagers: Vec<AlertmanagerRef>,
    /// The outbox lease owner's name; defaults to the host name. Give
    /// each instance sharing a database its own.
    pub instance: Option<String>,
    /// A notification still failing this long after it was queued is
    /// given up (default 6h).
    pub give_up_after: Option<PromDuration>,
    /// How long a notification being sent stays reserved for the instance
    /// sending it without a renewal (default 10s; renewed every third of
    /// it while the send runs). When that instance dies, another one
    /// sharing the database sends the notification within this time.
    pub delivery_lease: Option<PromDuration>,
    /// With instances sharing PostgreSQL: an alert resolves only when no
    /// instance that heartbeated within this time still sees it firing
    /// (default 15s; heartbeats every third of it).
    pub peer_timeout: Option<PromDuration>,
    /// At most this many alerts are held (default 50000); new alerts
    /// beyond it are dropped and counted in
    /// `vigil_notify_alerts_dropped_total`, updates of held ones are taken.
    pub max_alerts: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerRef {
    /// Base URL (`http://am:9093`); a secret, as it may carry credentials.
    pub url: Secret,
    pub http_config: Option<HttpConfig>,
}

impl AlertingConfig {
    /// The URL notifications link to: the section's own, else vigil's
    /// (`--web.external-url`).
    pub fn external_url_or(&self, vigils: &str) -> String {
        self.external_url
            .clone()
            .unwrap_or_else(|| vigils.to_string())
    }

    /// The routing configuration, checked; `None` when neither form is
    /// given. `config_file` and `config_text` are vigil's own config, for
    /// relative paths and for placing errors of the inline form.
    pub fn load(
        &self,
        config_file: &Path,
        config_text: &str,
    ) -> Result<Option<Loaded>, ConfigErrors> {
        let file = config_file.display().to_string();
        match (&self.alertmanager_config_file, &self.alertmanager_config) {
            (Some(_), Some(_)) => Err(ConfigErrors::one(
                &file,
                0,
                0,
                "alerting: give alertmanager_config_file or alertmanager_config, not both",
            )),
            (None, None) => Ok(None),
            (Some(p), None) => {
                let base = config_file.parent().unwrap_or(Path::new("."));
                load_file(&base.join(p)).map(Some)
            }
            (None, Some(_)) => {
                let Some((block, line0, indent)) = inline_block(config_text) else {
                    return Err(ConfigErrors::one(
                        &file,
                        0,
                        0,
                        "alerting.alertmanager_config must be a block under alerting:",
                    ));
                };
                parse_str(&file, &block, &|n| std::env::var(n).ok())
                    .map(Some)
                    .map_err(|mut e| {
                        for l in &mut e.0 {
                            // Errors inside a template file keep their place.
                            if l.line > 0 && l.file == file {
                                l.line += line0;
                                l.column += indent;
                            }
                        }
                        e
                    })
            }
        }
    }

    pub fn dispatch_options(&self) -> DispatchOptions {
        let mut o = DispatchOptions::default();
        if let Some(i) = self.instance.clone().or_else(host_name) {
            o.instance = i;
        }
        if let Some(d) = self.give_up_after {
            o.give_up_after = d.as_duration().max(Duration::from_secs(1));
        }
        if let Some(d) = self.delivery_lease {
            // Renewals every third of it must fit several database round
            // trips.
            o.lease = d.as_duration().max(Duration::from_millis(300));
        }
        if let Some(m) = self.max_alerts {
            o.max_alerts = m;
        }
        if let Some(d) = self.peer_timeout {
            o.peer_timeout = d.as_duration().max(Duration::from_millis(300));
        }
        o
    }

    pub fn forward_targets(&self) -> Vec<ForwardTarget> {
        self.alertmanagers
            .iter()
            .map(|a| ForwardTarget {
                url: a.url.clone(),
                http: a.http_config.clone().unwrap_or_default(),
            })
            .collect()
    }
}

fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// The text of `alertmanager_config:`'s block under `alerting:`,
/// dedented, with the number of lines before it and its indentation.
fn inline_block(text: &str) -> Option<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let alerting = lines
        .iter()
        .position(|l| l.trim_end() == "alerting:" && indent_of(l) == 0)?;
    let key = lines
        .iter()
        .enumerate()
        .skip(alerting + 1)
        .take_while(|(_, l)| l.trim().is_empty() || indent_of(l) > 0)
        .find(|(_, l)| l.trim_start().starts_with("alertmanager_config:"))?
        .0;
    let key_indent = indent_of(lines[key]);
    let body: Vec<&str> = lines[key + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent_of(l) > key_indent)
        .copied()
        .collect();
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent_of(l))
        .min()?;
    let block: Vec<&str> = body
        .iter()
        .map(|l| if l.len() >= indent { &l[indent..] } else { "" })
        .collect();
    Some((block.join("\n") + "\n", key + 1, indent))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "storage: {}\nalerting:\n  external_url: http://v\n  alertmanager_config:\n    route:\n      receiver: ops\n    receivers:\n      - name: ops\n        webhook_configs: [{url: 'http://hook'}]\nrules: []\n";

    /// The `alerting:` value (the rest of the file is the lead's Config's).
    fn section(text: &str) -> AlertingConfig {
        let v: yaml_serde::Value = yaml_serde::from_str(text).unwrap();
        yaml_serde::from_value(v.get("alerting").cloned().unwrap()).unwrap()
    }

    #[test]
    fn inline_config_loads() {
        let a = section(TEXT);
        let loaded = a
            .load(Path::new("/etc/vigil/vigil.yml"), TEXT)
            .unwrap()
            .unwrap();
        assert_eq!(loaded.route().receiver.as_deref(), Some("ops"));
    }

    #[test]
    fn inline_errors_point_into_vigils_file() {
        let text = TEXT.replace("receiver: ops", "receiver: nobody");
        let a = section(&text);
        let err = a.load(Path::new("vigil.yml"), &text).unwrap_err();
        let e = &err.0[0];
        assert_eq!(
            (e.file.as_str(), e.line, e.column),
            ("vigil.yml", 6, 17),
            "{err}"
        );
        assert!(e.message.contains("undefined receiver"), "{err}");
    }

    #[test]
    fn both_forms_is_an_error() {
        let mut a = section(TEXT);
        a.alertmanager_config_file = Some("am.yml".into());
        assert!(a.load(Path::new("vigil.yml"), TEXT).is_err());
    }
}
