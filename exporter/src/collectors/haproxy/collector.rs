//! The HAProxy collector: stats rows from the stats page (or the runtime
//! API when no page is configured), process figures from `show info` when
//! the runtime API socket is configured; both read concurrently.

use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use vigil_common::Secret;

use super::fetch::{self, HttpStats};
use super::{families, process, stats};
use crate::collectors::{CollectError, Collector, Source};
use crate::metrics::{Family, Label};

/// Per-request timeout when the target sets none; the registry's deadline
/// still bounds the whole collection.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

pub enum StatsSource {
    Http(HttpStats),
    Socket(PathBuf),
}

pub struct HaproxyCollector {
    pub(super) stats: StatsSource,
    /// Runtime API socket for `show info`, when configured.
    pub(super) info_socket: Option<PathBuf>,
    pub(super) max_body_bytes: usize,
    /// Names the target in errors (URL without credentials, or socket).
    pub(super) display: String,
    pub(super) password: Option<Secret>,
    pub(super) target_labels: Vec<Label>,
    pub(super) timeout: Option<Duration>,
}

impl Collector for HaproxyCollector {
    fn source(&self) -> Source {
        Source::Haproxy
    }

    fn target_labels(&self) -> &[Label] {
        &self.target_labels
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn collect(&self) -> BoxFuture<'_, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let (stats, info) = futures::join!(self.stat_rows(), self.process_info());
            let mut out = stats.map_err(|e| self.describe(e))?;
            out.extend(info.map_err(|e| self.describe(e))?);
            Ok(out)
        })
    }
}

impl HaproxyCollector {
    async fn stat_rows(&self) -> Result<Vec<Family>, CollectError> {
        let limit = self.max_body_bytes;
        let text = match &self.stats {
            StatsSource::Http(http) => {
                http.fetch(limit, self.timeout.unwrap_or(DEFAULT_TIMEOUT))
                    .await?
            }
            StatsSource::Socket(path) => fetch::socket_command(path, "show stat", limit).await?,
        };
        let rows = stats::parse(&text).map_err(|e| CollectError::new("parse", e.to_string()))?;
        Ok(families::families(&rows))
    }

    async fn process_info(&self) -> Result<Vec<Family>, CollectError> {
        let Some(path) = &self.info_socket else {
            return Ok(Vec::new());
        };
        let text = fetch::socket_command(path, "show info", self.max_body_bytes).await?;
        let info = process::parse(&text).map_err(|e| CollectError::new("parse", e.to_string()))?;
        Ok(process::families(&info))
    }

    /// Prefixes the target and removes the password, should any layer ever
    /// echo it.
    fn describe(&self, e: CollectError) -> CollectError {
        let mut reason = format!("haproxy {}: {}", self.display, e.reason);
        if let Some(secret) = self.password.as_ref().filter(|s| !s.is_empty()) {
            reason = reason.replace(secret.expose(), "<secret>");
        }
        CollectError::new(e.kind, reason)
    }
}
