//! Prometheus's common HTTP client configuration (`http_config:`), as
//! prometheus/common 0.38 reads it for Alertmanager 0.25: basic auth,
//! `authorization`, OAuth2 client credentials, the deprecated bearer
//! token, TLS, a proxy. Checked by [`super::http_check`]; turned into a
//! client by `notify/http.rs`. Secrets are [`Secret`]s, never shown.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::config::yaml11_bool;
use vigil_common::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    /// A token fetched from `token_url` with client credentials, sent as
    /// `Authorization: Bearer ...` and renewed when it expires.
    pub oauth2: Option<OAuth2>,
    pub bearer_token: Option<Secret>,
    pub bearer_token_file: Option<String>,
    #[serde(default)]
    pub tls_config: TlsConfig,
    pub proxy_url: Option<String>,
    #[serde(default = "yes", deserialize_with = "yaml11_bool")]
    pub follow_redirects: bool,
    #[serde(default = "yes", deserialize_with = "yaml11_bool")]
    pub enable_http2: bool,
}

impl Default for HttpConfig {
    /// The same defaults as an empty `http_config:` block (redirects
    /// followed, HTTP/2 allowed).
    fn default() -> Self {
        yaml_serde::from_str("{}").expect("an empty http_config is valid")
    }
}

/// `Authorization: Basic ...`. The username may be left out (an empty
/// one is sent), as in prometheus/common.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    #[serde(default)]
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

/// The OAuth 2.0 client credentials grant: the token endpoint is reached
/// with its own proxy and TLS settings, as in prometheus/common.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    #[serde(default)]
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// Read again for every token request, so a rotated secret is used.
    pub client_secret_file: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub token_url: String,
    /// Extra form parameters of the token request.
    #[serde(default)]
    pub endpoint_params: BTreeMap<String, String>,
    pub proxy_url: Option<String>,
    #[serde(default)]
    pub tls_config: TlsConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The only CA trusted when given (the system's are not, as in Go).
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    /// The name the server's certificate must carry, instead of the URL's
    /// host.
    pub server_name: Option<String>,
    #[serde(default, deserialize_with = "yaml11_bool")]
    pub insecure_skip_verify: bool,
    /// `TLS10` .. `TLS13`.
    pub min_version: Option<String>,
    pub max_version: Option<String>,
}

fn yes() -> bool {
    true
}
