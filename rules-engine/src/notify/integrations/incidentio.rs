//! `incidentio_configs` (Alertmanager 0.29+): the webhook message
//! (notification data, `version` "1", `groupKey`, `truncatedAlerts`)
//! posted to an incident.io alert source, authorized by its token
//! (`Authorization: Bearer`, or `http_config.authorization`). At most
//! `max_alerts` alerts; a message over 512 KiB keeps only its first alert,
//! as Alertmanager does. Retried: 5xx and 429.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::common::{
    Check, at_most_one, classify, go_json_len, parse_go_duration, parse_url, secret,
};
use super::error::IntegrationError;
use super::webhook::limit;
use super::{Build, BuildContext, HttpIntegration, Render};
use crate::notify::data::Data;
use crate::notify::http::{Answer, HttpClient, HttpRequest, REQUEST_TIMEOUT};
use crate::notify::retry::Decision;
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// The largest message incident.io takes, in bytes.
pub const MAX_PAYLOAD: usize = 512 * 1024;

/// One `incidentio_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentioConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    pub url: Option<Secret>,
    pub url_file: Option<String>,
    pub alert_source_token: Option<Secret>,
    pub alert_source_token_file: Option<String>,
    /// At most this many alerts per message; 0 means all.
    #[serde(default)]
    pub max_alerts: u64,
    /// A Go duration; 0 (the default) means vigil's request timeout.
    #[serde(default, deserialize_with = "go_duration")]
    pub timeout: f64,
}

http_entries!(IncidentioConfig);

fn yes() -> bool {
    true
}

fn go_duration<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let s = String::deserialize(d)?;
    parse_go_duration(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("time: invalid duration {s:?}")))
}

impl Check for IncidentioConfig {
    fn check(&self) -> Result<(), String> {
        if self.url.is_none() && self.url_file.is_none() {
            return Err("one of url or url_file must be configured".into());
        }
        at_most_one(&self.url, &self.url_file, ("url", "url_file"))?;
        if let Some(u) = &self.url {
            parse_url("url", u.expose())?;
        }
        at_most_one(
            &self.alert_source_token,
            &self.alert_source_token_file,
            ("alert_source_token", "alert_source_token_file"),
        )?;
        let token = self.alert_source_token.is_some() || self.alert_source_token_file.is_some();
        if let Some(h) = &self.http_config {
            if h.authorization.is_some() && token {
                return Err("cannot specify alert_source_token or alert_source_token_file when using http_config.authorization".into());
            }
            if h.authorization.is_none() && !token {
                return Err("at least one of alert_source_token, alert_source_token_file or http_config.authorization must be configured".into());
            }
        }
        Ok(())
    }
}

/// A built `incidentio_configs` entry.
pub struct Incidentio {
    url: Secret,
    token: Option<Secret>,
    client: Arc<HttpClient>,
    max_alerts: u64,
}

impl Build for Incidentio {
    type Config = IncidentioConfig;
    const KIND: &'static str = "incidentio";

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let url = secret("url", c.url.as_ref(), c.url_file.as_deref(), cx.base_dir)?.ok_or(
            IntegrationError::Missing("one of url or url_file must be configured"),
        )?;
        let token = secret(
            "alert_source_token",
            c.alert_source_token.as_ref(),
            c.alert_source_token_file.as_deref(),
            cx.base_dir,
        )?
        .map(|t| Secret::new(t.expose().trim()));
        let cfg = c
            .http_config
            .as_ref()
            .or(cx.global.http_config.as_ref())
            .cloned()
            .unwrap_or_default();
        let timeout = if c.timeout > 0.0 {
            Duration::from_secs_f64(c.timeout)
        } else {
            REQUEST_TIMEOUT
        };
        let client = HttpClient::build_with_timeout(&cfg, timeout)?;
        Ok(Incidentio {
            url,
            token,
            client: Arc::new(client),
            max_alerts: c.max_alerts,
        })
    }
}

impl HttpIntegration for Incidentio {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let n = cx.notice;
        let (sent, truncated) = limit(n.alerts, self.max_alerts);
        let data = Data::new(cx.receiver, n.group_labels, sent, n.external_url, n.now);
        let mut msg = serde_json::to_value(&data).map_err(|e| TemplateError(e.to_string()))?;
        msg["version"] = "1".into();
        msg["groupKey"] = n.group_key.into();
        msg["truncatedAlerts"] = truncated.into();
        if go_json_len(&msg) > MAX_PAYLOAD
            && let Some(alerts) = msg["alerts"].as_array_mut()
        {
            alerts.truncate(1);
            cx.note_truncated("alerts");
        }
        Ok(msg)
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        let req = HttpRequest::json(self.url.clone(), payload);
        Ok(vec![match &self.token {
            Some(t) => req.header("Authorization", format!("Bearer {}", t.expose())),
            None => req,
        }])
    }

    fn classify(&self, a: &Answer, now: DateTime<Utc>) -> Decision {
        classify(a, &[429], now)
    }
}
