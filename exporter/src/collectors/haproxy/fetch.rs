//! Reading HAProxy's replies: the stats page over HTTP(S) and the runtime
//! API over its unix socket. Both stop reading past a size limit, so a
//! misconfigured URL that serves a huge file cannot exhaust memory.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use vigil_common::Secret;

use crate::collectors::CollectError;

/// The stats page, fetched with `reqwest` (one client per target, so its
/// connection pool is reused across scrapes).
pub struct HttpStats {
    pub client: reqwest::Client,
    /// The stats URL with `;csv` appended; never contains credentials.
    pub url: reqwest::Url,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

impl HttpStats {
    pub async fn fetch(&self, limit: usize, timeout: Duration) -> Result<String, CollectError> {
        let mut request = self.client.get(self.url.clone()).timeout(timeout);
        if self.username.is_some() || self.password.is_some() {
            request = request.basic_auth(
                self.username.as_deref().unwrap_or(""),
                self.password.as_ref().map(Secret::expose),
            );
        }
        let response = request.send().await.map_err(|e| request_error(&e))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(CollectError::new(
                "auth",
                format!("stats page answered {status}"),
            ));
        }
        if !status.is_success() {
            return Err(CollectError::new(
                "http",
                format!("stats page answered {status}"),
            ));
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| request_error(&e))?;
            if body.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        utf8(body)
    }
}

/// reqwest's errors name the URL, which holds no credentials here; only
/// the class of failure is kept, with its source, to keep messages short.
fn request_error(e: &reqwest::Error) -> CollectError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "http"
    };
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    CollectError::new(kind, reason)
}

/// Sends one command on the runtime API socket and reads the reply until
/// HAProxy closes the connection (non-interactive mode).
pub async fn socket_command(
    path: &Path,
    command: &str,
    limit: usize,
) -> Result<String, CollectError> {
    let mut stream = UnixStream::connect(path).await.map_err(|e| {
        CollectError::new(
            "connect",
            format!("runtime API socket {}: {e}", path.display()),
        )
    })?;
    let io = |e: std::io::Error| {
        CollectError::new(
            "connect",
            format!("runtime API socket {}: {e}", path.display()),
        )
    };
    stream
        .write_all(format!("{command}\n").as_bytes())
        .await
        .map_err(io)?;
    let mut body = Vec::new();
    let mut limited = stream.take(limit as u64 + 1);
    limited.read_to_end(&mut body).await.map_err(io)?;
    if body.len() > limit {
        return Err(too_large(limit));
    }
    utf8(body)
}

fn too_large(limit: usize) -> CollectError {
    CollectError::new("parse", format!("reply larger than {limit} bytes"))
}

fn utf8(body: Vec<u8>) -> Result<String, CollectError> {
    String::from_utf8(body).map_err(|e| {
        CollectError::new(
            "parse",
            format!("reply is not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}
