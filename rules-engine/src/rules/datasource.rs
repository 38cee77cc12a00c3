//! `datasource`: where rules query instead of the embedded store — any
//! Prometheus-compatible query API (Prometheus, Thanos, Mimir,
//! VictoriaMetrics), asked on `/api/v1/query`.

use std::path::PathBuf;

use serde::Deserialize;
use vigil_common::Secret;

use crate::model::units::PromDuration;
use crate::scrape::config::BasicAuth;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSourceConfig {
    /// The API's base URL, e.g. `http://prometheus:9090` (vigil appends
    /// `/api/v1/query`). Mimir or Thanos paths such as `/prometheus` are
    /// kept.
    pub url: String,
    pub basic_auth: Option<BasicAuth>,
    pub bearer_token: Option<Secret>,
    pub bearer_token_file: Option<PathBuf>,
    /// A query taking longer fails (and the rule is unhealthy).
    #[serde(default = "default_timeout")]
    pub timeout: PromDuration,
}

fn default_timeout() -> PromDuration {
    PromDuration::from_secs(30)
}

impl DataSourceConfig {
    /// Checks that serde cannot make; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err("datasource url must start with http:// or https://".into());
        }
        let bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err("set either bearer_token or bearer_token_file, not both".into());
        }
        if let Some(b) = &self.basic_auth {
            if bearer {
                return Err("set either basic_auth or a bearer token, not both".into());
            }
            if b.password.is_some() && b.password_file.is_some() {
                return Err("set either basic_auth password or password_file, not both".into());
            }
        }
        Ok(())
    }

    pub(crate) fn resolve_paths(&mut self, join: &dyn Fn(&mut PathBuf)) {
        if let Some(p) = self.bearer_token_file.as_mut() {
            join(p);
        }
        if let Some(p) = self
            .basic_auth
            .as_mut()
            .and_then(|b| b.password_file.as_mut())
        {
            join(p);
        }
    }
}
