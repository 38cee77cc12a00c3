//! Why the notification pipeline could not be built, started or
//! reloaded: one variant per thing that is built, each naming where in
//! the configuration it failed (receiver and entry, Alertmanager by
//! position) and carrying the typed cause. No secret appears in any of
//! them: URLs and keys are named by their field, never shown.

use vigil_common::ConfigErrors;

use super::http::HttpConfigError;
use super::integrations::IntegrationError;

/// Why [`Notifier::build`](super::Notifier::build), the forward targets
/// or [`start`](super::running::start) failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// One `<kind>_configs` entry of a receiver.
    #[error("receiver {receiver:?} {entry}[{index}]: {source}")]
    Integration {
        receiver: String,
        /// `<kind>_configs`.
        entry: &'static str,
        index: usize,
        /// Boxed: the causes are large and errors are rare.
        #[source]
        source: Box<IntegrationError>,
    },
    /// An Alertmanager to forward to, by its position in the list.
    #[error("alertmanager {index}: the url must be an absolute http or https URL")]
    ForwardUrl { index: usize },
    #[error("alertmanager {index}: http_config: {source}")]
    ForwardClient {
        index: usize,
        #[source]
        source: HttpConfigError,
    },
}

/// Why a reloaded `alerting:` section was refused; the running pipeline
/// stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The section or its routing configuration does not load.
    #[error("{0}")]
    Config(ConfigErrors),
    #[error("{0}")]
    Build(#[from] BuildError),
    #[error("alerting: adding or removing the routing configuration needs a restart")]
    RoutingNeedsRestart,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::forward::{ForwardTarget, build_targets};
    use crate::notify::integration::build_receiver;
    use crate::notify::route::parse_str;
    use crate::notify::tls::TlsError;
    use vigil_common::{Secret, SecretFileError};

    const SECRET: &str = "hunter2-in-the-config";

    /// The receiver `r` of `receivers`, built from `dir`.
    fn build(dir: &std::path::Path, receivers: &str) -> Result<usize, BuildError> {
        let text = format!("route: {{receiver: r}}\nreceivers:\n  - name: r\n{receivers}");
        let loaded = parse_str("am.yml", &text, &|_| None).unwrap();
        build_receiver(&loaded.config.receivers[0], &loaded.config.global, dir).map(|b| b.len())
    }

    /// Each failing step is a variant carrying the entry and the setting
    /// at fault; the message reads as before and shows no secret.
    #[test]
    fn integration_errors_name_the_entry_and_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let e = build(
            dir.path(),
            &format!(
                "    webhook_configs:\n      - url: 'http://h/{SECRET}'\n      - url: 'http://h/{SECRET}'\n        http_config: {{basic_auth: {{username: u, password_file: nope}}}}\n"
            ),
        )
        .unwrap_err();
        let text = e.to_string();
        let BuildError::Integration {
            receiver,
            entry,
            index,
            source,
        } = e
        else {
            panic!("{text}");
        };
        assert_eq!(
            (receiver.as_str(), entry, index),
            ("r", "webhook_configs", 1)
        );
        assert!(
            matches!(
                *source,
                IntegrationError::Http(HttpConfigError::Secret(SecretFileError::Read { ref field, .. }))
                    if field == "password"
            ),
            "{source:?}"
        );
        assert!(
            text.starts_with(
                "receiver \"r\" webhook_configs[1]: http_config: `password_file`: cannot read "
            ),
            "{text}"
        );
        assert!(!text.contains(SECRET), "{text}");

        // The token endpoint's own tls_config, under oauth2.
        let e = build(
            dir.path(),
            &format!(
                "    slack_configs:\n      - api_url: 'http://h/{SECRET}'\n        http_config: {{oauth2: {{client_id: i, client_secret: {SECRET}, token_url: 'http://t/', tls_config: {{ca_file: ca.pem}}}}}}\n"
            ),
        )
        .unwrap_err();
        let text = e.to_string();
        let BuildError::Integration { entry, source, .. } = e else {
            panic!("{text}");
        };
        assert_eq!(entry, "slack_configs");
        let IntegrationError::Http(HttpConfigError::OAuth2(inner)) = *source else {
            panic!("{text}");
        };
        assert!(
            matches!(
                *inner,
                HttpConfigError::Tls(TlsError::File {
                    what: "ca_file",
                    ..
                })
            ),
            "{inner:?}"
        );
        assert!(
            text.starts_with(
                "receiver \"r\" slack_configs[0]: http_config: oauth2: tls_config: ca_file "
            ),
            "{text}"
        );
        assert!(!text.contains(SECRET), "{text}");
    }

    /// A forward target is named by its position, never its URL.
    #[test]
    fn forward_errors_name_the_alertmanager_by_position() {
        let build_targets = |t| build_targets(t).map(|b| b.len());
        let target = |url: &str, http: &str| ForwardTarget {
            url: Secret::new(url),
            http: yaml_serde::from_str(http).unwrap(),
        };
        let ok = || target("http://am:9093", "{}");
        let e = build_targets(vec![ok(), target(&format!("am/{SECRET}"), "{}")]).unwrap_err();
        assert!(matches!(e, BuildError::ForwardUrl { index: 1 }), "{e:?}");
        assert!(!e.to_string().contains(SECRET), "{e}");

        let e = build_targets(vec![
            ok(),
            ok(),
            target(
                &format!("http://{SECRET}@am:9093"),
                "tls_config: {min_version: TLS13, max_version: TLS12}",
            ),
        ])
        .unwrap_err();
        assert!(
            matches!(
                e,
                BuildError::ForwardClient {
                    index: 2,
                    source: HttpConfigError::Tls(TlsError::VersionOrder)
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "alertmanager 2: http_config: tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified"
        );
    }
}
