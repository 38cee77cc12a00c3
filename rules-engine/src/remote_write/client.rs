//! One receiver's HTTP client: the remote write 1.0 headers, credentials
//! read when the client is built (each load or reload, as Prometheus does),
//! and the answer sorted into delivered, retry (5xx, 429 with its
//! Retry-After, network errors) or refused (any other 4xx). Reasons never
//! carry the URL or a credential.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};

use super::config::RemoteWriteConfig;
use crate::scrape::client::{ClientError, credentials_header, describe, with_tls};

/// What became of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    /// Worth sending again; `after` is the receiver's Retry-After.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// The receiver will never take this batch (a bad request).
    Refused {
        reason: String,
    },
}

pub struct RemoteClient {
    http: reqwest::Client,
    url: String,
}

impl RemoteClient {
    pub fn new(cfg: &RemoteWriteConfig) -> Result<RemoteClient, ClientError> {
        vigil_common::install_crypto_provider();
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(
            "X-Prometheus-Remote-Write-Version",
            HeaderValue::from_static("0.1.0"),
        );
        for (name, value) in &cfg.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ClientError::Header)?;
            let mut v = HeaderValue::from_str(value.expose()).map_err(|_| ClientError::Header)?;
            v.set_sensitive(true);
            headers.insert(name, v);
        }
        let auth = credentials_header(
            cfg.basic_auth.as_ref(),
            cfg.bearer_token.as_ref(),
            cfg.bearer_token_file.as_deref(),
        )?;
        if let Some(value) = auth {
            let mut v = HeaderValue::from_str(&value).map_err(|_| ClientError::Header)?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let b = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
            .timeout(cfg.remote_timeout.as_duration())
            .no_proxy();
        let http = with_tls(b, &cfg.tls_config)?
            .build()
            .map_err(|e| ClientError::Build(e.without_url().to_string()))?;
        Ok(RemoteClient {
            http,
            url: cfg.url.expose().to_string(),
        })
    }

    /// POSTs one encoded request.
    pub async fn send(&self, body: Vec<u8>) -> Outcome {
        let resp = match self.http.post(&self.url).body(body).send().await {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    reason: describe(&e.without_url()),
                    after: None,
                };
            }
        };
        let status = resp.status();
        if status.is_success() {
            return Outcome::Delivered;
        }
        let after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, chrono::Utc::now()));
        let reason = format!("server returned HTTP status {status}");
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Outcome::Retry { reason, after }
        } else {
            Outcome::Refused { reason }
        }
    }
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110), relative to `now`.
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 7, 28, 0).unwrap();
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after("Wed, 02 Dec 2026 07:27:00 GMT", now), None);
        assert_eq!(retry_after("soon", now), None);
    }
}
