//! Receivers as Alertmanager writes them: a name and lists of
//! integration configurations, each with `send_resolved` and an HTTP
//! client configuration (basic auth, bearer token, TLS) in Prometheus's
//! common format. The email, Slack and webhook entries are declared here;
//! the other kinds' entries live with their integration
//! (`notify/integrations/`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::url_check;

use vigil_common::Secret;

pub use super::http_config::{Authorization, BasicAuth, HttpConfig, OAuth2, TlsConfig};

/// A named destination: declared with the integrations' registry
/// (`notify/integrations/mod.rs`), one list per receiver kind.
pub use crate::notify::integrations::Receiver;

/// One email destination. Empty fields fall back to `global.smtp_*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Alertmanager 0.25's default (`DefaultEmailConfig`): email does not
    /// tell of resolution unless asked to.
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    /// Comma-separated addresses; required.
    pub to: Option<String>,
    pub from: Option<String>,
    pub hello: Option<String>,
    /// `host:port`, the port required (Alertmanager's `HostPort`).
    #[serde(default, deserialize_with = "host_port")]
    pub smarthost: Option<String>,
    pub auth_username: Option<String>,
    pub auth_password: Option<Secret>,
    /// Wins over `auth_password` when both are given (Alertmanager takes
    /// both and reads the file).
    pub auth_password_file: Option<String>,
    pub auth_secret: Option<Secret>,
    pub auth_identity: Option<String>,
    /// Extra headers (templated); `Subject`, `To`, `From` override the
    /// defaults. Names are canonicalised (`x-team` is `X-Team`) and two
    /// that differ only in case are an error, as in Alertmanager.
    #[serde(default, deserialize_with = "canonical_headers")]
    pub headers: BTreeMap<String, String>,
    /// The HTML body template; Alertmanager's default when absent.
    pub html: Option<String>,
    /// The plain-text body template; none when absent.
    pub text: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_opt_bool"
    )]
    pub require_tls: Option<bool>,
    #[serde(default)]
    pub tls_config: TlsConfig,
}

/// One Slack incoming-webhook destination.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Alertmanager's default: Slack is not told of resolution.
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
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
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub short_fields: bool,
    pub footer: Option<String>,
    pub fallback: Option<String>,
    pub callback_id: Option<String>,
    pub icon_emoji: Option<String>,
    pub icon_url: Option<String>,
    pub image_url: Option<String>,
    pub thumb_url: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
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
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_opt_bool"
    )]
    pub short: Option<bool>,
}

/// One generic webhook destination (Alertmanager's JSON, version 4).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    /// The URL, a secret (it may carry a token); http or https. Alertmanager
    /// 0.25 has no `url_file` here (0.26 added it), so neither has vigil:
    /// `amtool check-config` and vigil accept the same files.
    #[serde(default, deserialize_with = "http_url_secret")]
    pub url: Option<Secret>,
    pub http_config: Option<HttpConfig>,
    /// At most this many alerts per message; 0 means all.
    #[serde(default)]
    pub max_alerts: u64,
}

fn yes() -> bool {
    true
}

/// An integration URL that must be http or https with a host.
fn http_url_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    let s = Secret::deserialize(d)?;
    url_check::hidden_http_url(s.expose()).map_err(serde::de::Error::custom)?;
    Ok(Some(s))
}

fn host_port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    url_check::host_port(&s).map_err(serde::de::Error::custom)?;
    Ok(Some(s))
}

/// Email headers under their canonical MIME names; a name given twice
/// (in any case) is refused with the canonical name.
fn canonical_headers<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, String>::deserialize(d)?;
    let mut out = BTreeMap::new();
    for (name, value) in raw {
        let canonical = canonical_mime_header_key(&name);
        if out.contains_key(&canonical) {
            let msg = format!("duplicate header {canonical:?} in email config");
            return Err(serde::de::Error::custom(msg));
        }
        out.insert(canonical, value);
    }
    Ok(out)
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and each
/// letter after a `-` upper case, the rest lower case; a name with a
/// character that is not a header token character is left as written.
pub fn canonical_mime_header_key(name: &str) -> String {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !name.chars().all(token) {
        return name.to_string();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}
