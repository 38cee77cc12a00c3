//! A receiver's `tls_config` as Go's `crypto/tls` applies it (through
//! prometheus/common's `NewTLSConfig`): `ca_file` replaces the system's
//! roots, `server_name` is the name the certificate is verified against,
//! `insecure_skip_verify` skips the chain and name checks (not the
//! handshake signatures), `min_version`/`max_version` bound the protocol,
//! `cert_file` and `key_file` go together. Built as a rustls client
//! configuration that reqwest uses as is.
//!
//! rustls speaks TLS 1.2 and 1.3 only: a `max_version` below 1.2 is an
//! error here, and `min_version` TLS10/TLS11 allows 1.2 and 1.3.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme, SupportedProtocolVersion};

use crate::notify::route::receivers::TlsConfig;

/// Why a `tls_config` cannot be applied: the setting and the file at
/// fault, never a key's content.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls_config: unknown {key} {value:?}")]
    UnknownVersion { key: &'static str, value: String },
    #[error(
        "tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified"
    )]
    VersionOrder,
    #[error("tls_config: max_version below TLS12 is not supported (TLS 1.2 and 1.3 only)")]
    BelowTls12,
    /// rustls refused the protocol versions.
    #[error("tls_config: {0}")]
    Versions(#[source] rustls::Error),
    #[error("tls_config: client cert file {0:?} specified without client key file")]
    CertWithoutKey(String),
    #[error("tls_config: client key file {0:?} specified without client cert file")]
    KeyWithoutCert(String),
    /// The email receiver's form of the two above.
    #[error("tls_config: cert_file and key_file go together")]
    CertKeyPair,
    /// The file of setting `what` (`ca_file`, `cert_file`, `key_file`)
    /// cannot be read or used.
    #[error("tls_config: {what} {path}: {source}")]
    File {
        what: &'static str,
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("tls_config: {what} {path}: no certificate")]
    NoCertificate { what: &'static str, path: String },
    /// No private key in the file (the parser's message could quote the
    /// key, so it is not kept).
    #[error("tls_config: key_file {path}: no private key")]
    NoPrivateKey { path: String },
    /// The key file is not text (the email receiver's check).
    #[error("tls_config: key_file {path}: not PEM")]
    KeyNotPem { path: String },
    #[error("tls_config: client certificate {cert}: {source}")]
    ClientCert {
        cert: String,
        #[source]
        source: rustls::Error,
    },
    #[error("tls_config: system roots: {0}")]
    SystemRoots(#[source] rustls::Error),
    #[error("tls_config: server_name {0:?} is not a host name")]
    ServerName(String),
}

impl TlsError {
    fn file(
        what: &'static str,
        path: impl std::fmt::Display,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> TlsError {
        TlsError::File {
            what,
            path: path.to_string(),
            source: source.into(),
        }
    }
}

/// The rustls configuration for `t`, speaking HTTP/1.1. The error names
/// the setting and file, never a key's content.
pub fn client_config(t: &TlsConfig) -> Result<rustls::ClientConfig, TlsError> {
    vigil_common::install_crypto_provider();
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let versions = versions(t)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(TlsError::Versions)?
        .dangerous()
        .with_custom_certificate_verifier(verifier(t, &provider)?);
    let mut config = match (&t.cert_file, &t.key_file) {
        (Some(cert), Some(key)) => {
            let (certs, key) = identity(Path::new(cert), Path::new(key))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|source| TlsError::ClientCert {
                    cert: cert.clone(),
                    source,
                })?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), None) => return Err(TlsError::CertWithoutKey(cert.clone())),
        (None, Some(key)) => return Err(TlsError::KeyWithoutCert(key.clone())),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The protocol versions between `min_version` and `max_version`.
fn versions(t: &TlsConfig) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
    let rank = |key: &'static str, v: &Option<String>| -> Result<Option<u8>, TlsError> {
        match v.as_deref() {
            None => Ok(None),
            Some("TLS10") => Ok(Some(0)),
            Some("TLS11") => Ok(Some(1)),
            Some("TLS12") => Ok(Some(2)),
            Some("TLS13") => Ok(Some(3)),
            Some(other) => Err(TlsError::UnknownVersion {
                key,
                value: other.to_string(),
            }),
        }
    };
    let min = rank("min_version", &t.min_version)?;
    let max = rank("max_version", &t.max_version)?;
    if let (Some(min), Some(max)) = (min, max)
        && max < min
    {
        return Err(TlsError::VersionOrder);
    }
    let out: Vec<_> = [(2, &rustls::version::TLS12), (3, &rustls::version::TLS13)]
        .into_iter()
        .filter(|(r, _)| min.is_none_or(|m| *r >= m) && max.is_none_or(|m| *r <= m))
        .map(|(_, v)| v)
        .collect();
    if out.is_empty() {
        return Err(TlsError::BelowTls12);
    }
    Ok(out)
}

fn verifier(
    t: &TlsConfig,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    if t.insecure_skip_verify {
        return Ok(Arc::new(SkipVerify(provider.clone())));
    }
    let inner: Arc<dyn ServerCertVerifier> = match &t.ca_file {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in read_certs(Path::new(ca), "ca_file")? {
                roots
                    .add(cert)
                    .map_err(|e| TlsError::file("ca_file", ca, e))?;
            }
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| TlsError::file("ca_file", ca, e))?
        }
        None => Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(TlsError::SystemRoots)?,
        ),
    };
    match &t.server_name {
        Some(name) if !name.is_empty() => {
            let name = ServerName::try_from(name.clone())
                .map_err(|_| TlsError::ServerName(name.clone()))?;
            Ok(Arc::new(NamedVerifier { inner, name }))
        }
        _ => Ok(inner),
    }
}

fn read_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsError::file(what, &shown, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::file(what, &shown, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            what,
            path: shown.to_string(),
        });
    }
    Ok(certs)
}

fn identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let certs = read_certs(cert, "cert_file")?;
    // The key's error names the file only: a parse error could quote it.
    let key = PrivateKeyDer::from_pem_file(key).map_err(|_| TlsError::NoPrivateKey {
        path: key.display().to_string(),
    })?;
    Ok((certs, key))
}

/// Verifies the chain as `inner` does, against `server_name` instead of
/// the URL's host (Go's `tls.Config.ServerName`).
#[derive(Debug)]
struct NamedVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for NamedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _url_host: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `insecure_skip_verify`: any certificate and name, the handshake's
/// signatures still checked (as Go does).
#[derive(Debug)]
struct SkipVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(yaml: &str) -> TlsConfig {
        yaml_serde::from_str(yaml).unwrap()
    }

    #[test]
    fn versions_follow_min_and_max() {
        let v = |y: &str| {
            versions(&tls(y))
                .map(|v| v.len())
                .map_err(|e| e.to_string())
        };
        assert_eq!(v("{}"), Ok(2));
        assert_eq!(v("{min_version: TLS10}"), Ok(2));
        assert_eq!(v("{max_version: TLS12}"), Ok(1));
        assert_eq!(v("{min_version: TLS13}"), Ok(1));
        assert!(v("{max_version: TLS11}").is_err());
        let e = v("{min_version: TLS13, max_version: TLS12}").unwrap_err();
        assert!(e.contains("greater than or equal"), "{e}");
    }

    #[test]
    fn cert_without_key_is_refused() {
        let e = client_config(&tls("{cert_file: /c.pem}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("without client key file"), "{e}");
        let e = client_config(&tls("{key_file: /k.pem}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("without client cert file"), "{e}");
    }

    #[test]
    fn missing_ca_file_is_named() {
        let e = client_config(&tls("{ca_file: /nonexistent/ca.pem}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ca_file /nonexistent/ca.pem"), "{e}");
    }
}
