//! The HTTP side of the app probes: one pooled client per target, a deadline
//! on each probe, and a cap on how much of a body is read.

use std::time::{Duration, Instant};

use reqwest::Url;
use vigil_common::Secret;

use super::parse::{HealthReport, parse_health, parse_probe};
use super::stats::CheckType;
use crate::collectors::CollectError;

pub struct Prober {
    client: reqwest::Client,
    urls: [Url; 3],
    probe_timeout: Duration,
    max_body: usize,
    auth: Option<(String, Secret)>,
}

/// The `/health` probe's outcome and how long it took.
pub struct HealthProbe {
    pub result: Result<HealthReport, CollectError>,
    pub took: Duration,
}

/// A `/ready` or `/live` probe's outcome.
pub struct YesNo {
    pub ok: bool,
    pub took: Duration,
}

impl Prober {
    pub fn new(
        base: &Url,
        paths: [&String; 3],
        probe_timeout: Duration,
        max_body: usize,
        auth: Option<(String, Secret)>,
    ) -> Result<Prober, String> {
        let join = |p: &String| {
            base.join(p)
                .map_err(|e| format!("path {p:?}: cannot be joined to the url ({e})"))
        };
        let urls = [join(paths[0])?, join(paths[1])?, join(paths[2])?];
        vigil_common::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(probe_timeout)
            .connect_timeout(probe_timeout)
            // A health endpoint that redirects is misconfigured; following
            // it could probe another instance.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("vigil-exporter/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Prober {
            client,
            urls,
            probe_timeout,
            max_body,
            auth,
        })
    }

    pub fn probe_timeout(&self) -> Duration {
        self.probe_timeout
    }

    fn url(&self, check: CheckType) -> &Url {
        &self.urls[check as usize]
    }

    pub async fn health(&self) -> HealthProbe {
        let started = Instant::now();
        let result = match self.get(CheckType::Health).await {
            Ok((code, body)) => parse_health(code, &body).map_err(|e| {
                CollectError::new(
                    "parse",
                    format!("GET {}: {e}", self.url(CheckType::Health).path()),
                )
            }),
            Err(e) => Err(e),
        };
        HealthProbe {
            result,
            took: started.elapsed(),
        }
    }

    pub async fn yes_no(&self, check: CheckType) -> YesNo {
        let started = Instant::now();
        let ok = match self.get(check).await {
            Ok((code, body)) => parse_probe(code, &body),
            Err(e) => {
                tracing::debug!(probe = check.as_str(), reason = %e, "probe failed");
                false
            }
        };
        YesNo {
            ok,
            took: started.elapsed(),
        }
    }

    /// GETs one endpoint: status and at most `max_body` bytes of body.
    async fn get(&self, check: CheckType) -> Result<(u16, Vec<u8>), CollectError> {
        let url = self.url(check);
        let what = format!("GET {}", url.path());
        let mut request = self.client.get(url.clone());
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, Some(password.expose()));
        }
        let work = async {
            let mut response = request.send().await.map_err(|e| http_error(&what, e))?;
            let code = response.status().as_u16();
            if response
                .content_length()
                .is_some_and(|n| n > self.max_body as u64)
            {
                return Err(too_big(&what, self.max_body));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| http_error(&what, e))? {
                if body.len() + chunk.len() > self.max_body {
                    return Err(too_big(&what, self.max_body));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((code, body))
        };
        match tokio::time::timeout(self.probe_timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(CollectError::new(
                "timeout",
                format!("{what}: no answer within {:?}", self.probe_timeout),
            )),
        }
    }
}

fn too_big(what: &str, limit: usize) -> CollectError {
    CollectError::new("body", format!("{what}: body larger than {limit} bytes"))
}

/// A short reason from reqwest's error chain, without the URL (which names
/// the target already in the log fields).
fn http_error(what: &str, e: reqwest::Error) -> CollectError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "http"
    };
    let e = e.without_url();
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        reason = s.to_string();
        source = s.source();
    }
    CollectError::new(kind, format!("{what}: {reason}"))
}
