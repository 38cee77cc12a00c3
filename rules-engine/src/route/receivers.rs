//! Receivers as Alertmanager writes them: a name and lists of
//! integration configurations, each with `send_resolved` and an HTTP
//! client configuration (basic auth, bearer token, TLS) in Prometheus's
//! common format. The email, Slack and webhook entries are declared here;
//! the other kinds' entries live with their integration
//! (`notify/integrations/`).

use std::collections::BTreeMap;

use serde::Deserialize;

use vigil_common::Secret;

/// A named destination: declared with the integrations' registry
/// (`notify/integrations/mod.rs`), one list per receiver kind.
pub use crate::notify::integrations::Receiver;

/// One email destination. Empty fields fall back to `global.smtp_*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Alertmanager 0.25's default (`DefaultEmailConfig`): email does not
    /// tell of resolution unless asked to.
    #[serde(default)]
    pub send_resolved: bool,
    /// Comma-separated addresses; required.
    pub to: Option<String>,
    pub from: Option<String>,
    pub hello: Option<String>,
    pub smarthost: Option<String>,
    pub auth_username: Option<String>,
    pub auth_password: Option<Secret>,
    pub auth_password_file: Option<String>,
    pub auth_secret: Option<Secret>,
    pub auth_identity: Option<String>,
    /// Extra headers (templated); `Subject`, `To`, `From` override the
    /// defaults.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The HTML body template; Alertmanager's default when absent.
    pub html: Option<String>,
    /// The plain-text body template; none when absent.
    pub text: Option<String>,
    pub require_tls: Option<bool>,
    #[serde(default)]
    pub tls_config: TlsConfig,
}

/// One Slack incoming-webhook destination.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Alertmanager's default: Slack is not told of resolution.
    #[serde(default)]
    pub send_resolved: bool,
    /// The webhook URL, a secret (it carries its own credential).
    pub api_url: Option<Secret>,
    pub api_url_file: Option<String>,
    pub http_config: Option<HttpConfig>,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub color: Option<String>,
    pub title: Option<String>,
    pub title_link: Option<String>,
    pub pretext: Option<String>,
    pub text: Option<String>,
    #[serde(default)]
    pub fields: Vec<SlackField>,
    #[serde(default)]
    pub short_fields: bool,
    pub footer: Option<String>,
    pub fallback: Option<String>,
    pub callback_id: Option<String>,
    pub icon_emoji: Option<String>,
    pub icon_url: Option<String>,
    pub image_url: Option<String>,
    pub thumb_url: Option<String>,
    #[serde(default)]
    pub link_names: bool,
    #[serde(default)]
    pub mrkdwn_in: Vec<String>,
}

/// A title/value pair shown in a Slack message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackField {
    pub title: String,
    pub value: String,
    pub short: Option<bool>,
}

/// One generic webhook destination (Alertmanager's JSON, version 4).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// The URL, a secret (it may carry a token).
    pub url: Option<Secret>,
    pub url_file: Option<String>,
    pub http_config: Option<HttpConfig>,
    /// At most this many alerts per message; 0 means all.
    #[serde(default)]
    pub max_alerts: u64,
}

/// Prometheus's common HTTP client configuration, the parts vigil uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub bearer_token: Option<Secret>,
    pub bearer_token_file: Option<String>,
    #[serde(default)]
    pub tls_config: TlsConfig,
    pub proxy_url: Option<String>,
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    #[serde(default = "yes")]
    pub enable_http2: bool,
}

impl Default for HttpConfig {
    /// The same defaults as an empty `http_config:` block (redirects
    /// followed, HTTP/2 allowed).
    fn default() -> Self {
        yaml_serde::from_str("{}").expect("an empty http_config is valid")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: Option<Secret>,
    pub password_file: Option<String>,
}

/// `Authorization: <type> <credentials>`; the type defaults to `Bearer`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub credentials: Option<Secret>,
    pub credentials_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    pub min_version: Option<String>,
}

fn yes() -> bool {
    true
}
