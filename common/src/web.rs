//! `--web.config.file`: TLS and basic auth in the Prometheus exporter-toolkit
//! format, so a file written for node_exporter or Prometheus works here:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional
//!   client_ca_file: ca.crt                         # with the above
//!   min_version: TLS12                             # TLS12 (default) or TLS13
//! basic_auth_users:
//!   alice: $2y$10$...                              # bcrypt hashes
//! http_server_config:
//!   headers: { X-Frame-Options: deny }
//! ```
//!
//! Relative paths are relative to the web-config file, as in exporter-toolkit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use crate::Secret;
use crate::basic_auth::BasicAuth;
use crate::yaml::{ConfigErrors, Located, Parsed, load_yaml};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfigFile {
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    /// User name to bcrypt hash of the password.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, Secret>,
    #[serde(default)]
    pub http_server_config: Option<HttpServerConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// `NoClientCert` (default), `RequireAndVerifyClientCert` or
    /// `VerifyClientCertIfGiven`.
    #[serde(default)]
    pub client_auth_type: Option<String>,
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// `TLS12` (default) or `TLS13`.
    #[serde(default)]
    pub min_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Extra response headers on every answer.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The web config made ready to serve with: TLS material loaded, hashes
/// checked. Building it fails on anything a request would trip over later.
#[derive(Clone, Default)]
pub struct WebConfig {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub auth: Option<BasicAuth>,
    pub headers: Vec<(String, String)>,
}

impl WebConfig {
    /// Loads and checks `--web.config.file`; every error located.
    pub fn load(path: &Path) -> Result<WebConfig, ConfigErrors> {
        let parsed: Parsed<WebConfigFile> = load_yaml(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let at = |key: &str, msg: String| -> Located {
            let (line, column) = crate::outline::key_position(&parsed.text, key).unwrap_or((0, 0));
            Located {
                file: parsed.file.clone(),
                line,
                column,
                message: msg,
            }
        };
        let mut errors = Vec::new();
        let file = &parsed.value;
        let tls = match &file.tls_server_config {
            None => None,
            Some(t) => match build_tls(t, base) {
                Ok(c) => Some(Arc::new(c)),
                Err(e) => {
                    errors.push(at("tls_server_config", e));
                    None
                }
            },
        };
        let auth = if file.basic_auth_users.is_empty() {
            None
        } else {
            match BasicAuth::new(&file.basic_auth_users) {
                Ok(a) => Some(a),
                Err(e) => {
                    errors.push(at("basic_auth_users", e));
                    None
                }
            }
        };
        let headers = file
            .http_server_config
            .as_ref()
            .map(|h| h.headers.clone().into_iter().collect())
            .unwrap_or_default();
        if errors.is_empty() {
            Ok(WebConfig { tls, auth, headers })
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// A rustls server config with ring as its provider, whatever the process
/// default is.
fn build_tls(t: &TlsServerConfig, base: &Path) -> Result<rustls::ServerConfig, String> {
    let cert_path = resolve(base, &t.cert_file);
    let key_path = resolve(base, &t.key_file);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect())
        .map_err(|e| format!("cert_file {}: {e}", cert_path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "cert_file {}: no certificate in it",
            cert_path.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| format!("key_file {}: {e}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match t.min_version.as_deref() {
        None | Some("TLS12") => rustls::ALL_VERSIONS,
        Some("TLS13") => &[&rustls::version::TLS13],
        Some(v) => return Err(format!("min_version {v:?}: expected TLS12 or TLS13")),
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| e.to_string())?;
    let client_auth = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let builder = match client_auth {
        "NoClientCert" => builder.with_no_client_auth(),
        "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {
            let ca = t
                .client_ca_file
                .as_ref()
                .ok_or_else(|| format!("client_auth_type {client_auth} needs client_ca_file"))?;
            let ca = resolve(base, ca);
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&ca)
                .map_err(|e| format!("client_ca_file {}: {e}", ca.display()))?
            {
                let cert = cert.map_err(|e| format!("client_ca_file {}: {e}", ca.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("client_ca_file {}: {e}", ca.display()))?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider);
            let verifier = if client_auth == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
        }
        other => {
            return Err(format!(
                "client_auth_type {other:?}: expected NoClientCert, RequireAndVerifyClientCert or VerifyClientCertIfGiven"
            ));
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("cert_file/key_file: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
