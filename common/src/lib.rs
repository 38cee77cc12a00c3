//! What both Vigil programs share: secrets, `${ENV}` expansion, YAML loading
//! with every error located at `file:line:column`, the exporter-toolkit
//! web-config format (TLS, basic auth), serving with graceful shutdown, and
//! logging set-up.

pub mod basic_auth;
pub mod env;
pub mod json_limits;
pub mod logging;
pub mod outline;
pub mod secret;
pub mod serve;
pub mod web;
pub mod yaml;

pub use secret::{Secret, SecretFileError, resolve_secret};
pub use yaml::{
    ConfigErrors, Located, Parsed, Partial, load_yaml, load_yaml_partial, parse_yaml,
    parse_yaml_partial, seq_or_null,
};

/// Makes ring the process's rustls crypto provider. reqwest, sqlx and redis
/// are built without one (one TLS stack, no aws-lc); call this once at
/// start-up. Calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
