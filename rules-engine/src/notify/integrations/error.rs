//! Why one `<kind>_configs` entry could not be built: the setting at
//! fault, never a secret. [`crate::notify::BuildError`] adds the receiver
//! and the entry.

use vigil_common::SecretFileError;

use super::aws::AwsKeysError;
use super::common::UrlError;
use crate::notify::http::HttpConfigError;
use crate::notify::tls::TlsError;

#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// What Alertmanager reports when it reads the entry (a missing key,
    /// keys that exclude each other) or what the entry lacks once the
    /// `global:` defaults apply: the words `vigil check` reports at the
    /// entry's line, kept as Alertmanager spells them.
    #[error("{0}")]
    Check(String),
    /// A value needed to send is absent once its file and the globals
    /// are read.
    #[error("{0}")]
    Missing(&'static str),
    /// A secret's `*_file`, or both it and the inline value.
    #[error("{0}")]
    Secret(#[from] SecretFileError),
    #[error("http_config: {0}")]
    Http(#[from] HttpConfigError),
    #[error("{0}")]
    Url(#[from] UrlError),
    /// The email receiver's own `tls_config` files.
    #[error("{0}")]
    Tls(#[from] TlsError),
    #[error("smarthost {0:?} is not host:port")]
    Smarthost(String),
    /// `sns_configs.sigv4`: no usable keys.
    #[error("sigv4: {0}")]
    Sigv4(#[from] AwsKeysError),
    /// `sns_configs.sigv4.role_arn`: the STS client.
    #[error("sigv4: http_config: {0}")]
    Sts(#[source] HttpConfigError),
}
