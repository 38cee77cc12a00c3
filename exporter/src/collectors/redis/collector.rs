//! The Redis collector: one connection per target, kept across scrapes.
//!
//! The connection is a `redis::aio::ConnectionManager`, created on the first
//! scrape (so building the collector needs no server and no runtime) and
//! kept afterwards. When the server restarts, the first command on the dead
//! connection fails and makes the manager reconnect in the background; the
//! collector then retries once, so a restarted server is scraped again on
//! the next scrape without rebuilding anything.

use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Value};
use tokio::sync::OnceCell;
use vigil_common::Secret;

use super::families::{self, Config, Slowlog, Snapshot};
use super::info;
use super::latency;
use super::sentinel::{self, Changes, Master};
use crate::collectors::{CollectError, Collector, Source};
use crate::metrics::{Family, Label};

/// Used for the connect and response timeouts when the target sets none; the
/// registry's deadline still bounds the whole collection.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct RedisCollector {
    pub(super) client: redis::Client,
    pub(super) connection: OnceCell<ConnectionManager>,
    /// `host:port` or the socket path: names the target in errors.
    pub(super) display: String,
    /// Scrubbed from every error message, in case a server or library ever
    /// echoes it.
    pub(super) password: Option<Secret>,
    pub(super) target_labels: Vec<Label>,
    pub(super) timeout: Option<Duration>,
    /// On a Sentinel: each master's last address and change count.
    pub(super) changes: std::sync::Mutex<Changes>,
}

impl Collector for RedisCollector {
    fn source(&self) -> Source {
        Source::Redis
    }

    fn target_labels(&self) -> &[Label] {
        &self.target_labels
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn collect(&self) -> BoxFuture<'_, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let replies = match self.query().await {
                // The connection was dropped (server restart): the manager is
                // reconnecting; one retry waits for that new connection.
                Err(e) if e.is_unrecoverable_error() || e.is_io_error() => self.query().await,
                other => other,
            }
            .map_err(|e| self.error(e))?;
            let masters = if replies.sentinel {
                Some(self.sentinel_masters().await.map_err(|e| self.error(e))?)
            } else {
                None
            };
            let sentinel = masters.map(|masters| {
                let mut changes = self.changes.lock().expect("changes lock");
                sentinel::track(&masters, &mut changes);
                (masters, changes.clone())
            });
            snapshot_families(replies, sentinel).map_err(|e| {
                self.scrub(CollectError::new(
                    e.kind,
                    format!("redis {}: {}", self.display, e.reason),
                ))
            })
        })
    }
}

/// The replies of one scrape's pipeline, in the order sent.
struct Replies {
    info: Value,
    config: [Option<Value>; 6],
    slowlog_len: Option<Value>,
    slowlog_last: Option<Value>,
    latency_latest: Option<Value>,
    latency_histogram: Option<Value>,
    /// `CLUSTER INFO` (an error outside cluster mode).
    cluster_info: Option<Value>,
    /// INFO says `redis_mode:sentinel`.
    sentinel: bool,
}

/// `CONFIG GET` parameters, in `Config`'s field order.
const CONFIG_PARAMS: [&str; 6] = [
    "maxmemory",
    "maxclients",
    "io-threads",
    "databases",
    "repl-backlog-size",
    "client-output-buffer-limit",
];

impl RedisCollector {
    async fn manager(&self) -> Result<ConnectionManager, RedisError> {
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let manager = self
            .connection
            .get_or_try_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    // One attempt per scrape: a down server must show as down
                    // at once, not after a series of backoffs.
                    .set_number_of_retries(0);
                ConnectionManager::new_with_config(self.client.clone(), config)
            })
            .await?;
        Ok(manager.clone())
    }

    /// INFO ALL must succeed; CONFIG, SLOWLOG and LATENCY may be renamed,
    /// denied by ACL on managed services or absent (a Sentinel has none of
    /// them), so their errors only leave families out.
    async fn query(&self) -> Result<Replies, RedisError> {
        let mut conn = self.manager().await?;
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        pipe.cmd("INFO").arg("ALL");
        for param in CONFIG_PARAMS {
            pipe.cmd("CONFIG").arg("GET").arg(param);
        }
        pipe.cmd("SLOWLOG").arg("LEN");
        pipe.cmd("SLOWLOG").arg("GET").arg(1);
        pipe.cmd("LATENCY").arg("LATEST");
        pipe.cmd("LATENCY").arg("HISTOGRAM");
        pipe.cmd("CLUSTER").arg("INFO");
        let replies: Vec<Result<Value, RedisError>> = pipe.query_async(&mut conn).await?;
        let mut replies = replies.into_iter();
        let mut next = || {
            replies.next().ok_or_else(|| {
                RedisError::from((redis::ErrorKind::Client, "unexpected number of replies"))
            })
        };
        let info = next()??;
        let mut config: [Option<Value>; 6] = Default::default();
        for slot in &mut config {
            *slot = next()?.ok();
        }
        let slowlog_len = next()?.ok();
        let slowlog_last = next()?.ok();
        let latency_latest = next()?.ok();
        let latency_histogram = next()?.ok();
        let cluster_info = next()?.ok();
        // Looked at in place: INFO ALL is ~20 KB, copied for nothing before.
        let sentinel = match &info {
            Value::BulkString(bytes) => std::str::from_utf8(bytes).ok(),
            Value::VerbatimString { text, .. } | Value::SimpleString(text) => Some(text.as_str()),
            _ => None,
        }
        .is_some_and(|t| t.contains("redis_mode:sentinel"));
        Ok(Replies {
            info,
            config,
            slowlog_len,
            slowlog_last,
            latency_latest,
            latency_histogram,
            cluster_info,
            sentinel,
        })
    }

    /// `SENTINEL MASTERS`, then `CKQUORUM`, `SENTINELS` and `SLAVES` of
    /// every master in one pipeline.
    async fn sentinel_masters(&self) -> Result<Vec<Master>, RedisError> {
        let mut conn = self.manager().await?;
        let reply: Value = redis::cmd("SENTINEL")
            .arg("MASTERS")
            .query_async(&mut conn)
            .await?;
        let mut masters: Vec<Master> = match reply {
            Value::Array(items) => items
                .into_iter()
                .map(|m| Master {
                    fields: string_map(m),
                    ckquorum: Err(String::new()),
                    sentinel_flags: Vec::new(),
                    replica_flags: Vec::new(),
                })
                .filter(|m| m.name().is_some())
                .collect(),
            _ => Vec::new(),
        };
        if masters.is_empty() {
            return Ok(masters);
        }
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for m in &masters {
            let name = m.name().unwrap_or_default();
            pipe.cmd("SENTINEL").arg("CKQUORUM").arg(name);
            pipe.cmd("SENTINEL").arg("SENTINELS").arg(name);
            pipe.cmd("SENTINEL").arg("SLAVES").arg(name);
        }
        let replies: Vec<Result<Value, RedisError>> = pipe.query_async(&mut conn).await?;
        for (m, chunk) in masters.iter_mut().zip(replies.chunks(3)) {
            let [ckquorum, sentinels, slaves] = chunk else {
                continue;
            };
            m.ckquorum = match ckquorum {
                Ok(v) => Ok(text(v.clone()).unwrap_or_default()),
                Err(e) => Err(error_text(e)),
            };
            m.sentinel_flags = flags(sentinels);
            m.replica_flags = flags(slaves);
        }
        Ok(masters)
    }

    fn error(&self, e: RedisError) -> CollectError {
        let kind = if e.is_timeout() {
            "timeout"
        } else if matches!(e.kind(), redis::ErrorKind::AuthenticationFailed)
            || e.to_string().contains("WRONGPASS")
            || e.to_string().contains("NOAUTH")
        {
            "auth"
        } else if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
            "connect"
        } else {
            "query"
        };
        self.scrub(CollectError::new(
            kind,
            format!("redis {}: {e}", self.display),
        ))
    }

    fn scrub(&self, mut e: CollectError) -> CollectError {
        if let Some(secret) = self.password.as_ref().filter(|s| !s.is_empty()) {
            e.reason = e.reason.replace(secret.expose(), "<secret>");
        }
        e
    }
}

fn snapshot_families(
    replies: Replies,
    sentinel: Option<(Vec<Master>, Changes)>,
) -> Result<Vec<Family>, CollectError> {
    let text = text(replies.info)
        .ok_or_else(|| CollectError::new("parse", "INFO reply is not valid UTF-8 text"))?;
    let info = info::parse(&text).map_err(|e| CollectError::new("parse", e.to_string()))?;
    let [
        maxmemory,
        maxclients,
        io_threads,
        databases,
        backlog,
        buffers,
    ] = replies.config;
    let config = Config {
        maxmemory: config_value(maxmemory),
        maxclients: config_value(maxclients),
        io_threads: config_value(io_threads),
        databases: config_value(databases).map(|d| d.clamp(0.0, 1024.0) as u32),
        repl_backlog_size: config_value(backlog),
        client_output_buffer_limit: config_text(buffers),
    };
    let slowlog = replies
        .slowlog_len
        .and_then(|v| redis::from_redis_value::<i64>(v).ok())
        .map(|length| Slowlog {
            length: length as f64,
            last: replies.slowlog_last.and_then(last_slowlog_entry),
        });
    Ok(families::families(&Snapshot {
        info,
        config,
        slowlog,
        latency_spikes: replies
            .latency_latest
            .as_ref()
            .map(latency::parse_latest)
            .unwrap_or_default(),
        latency_histograms: replies
            .latency_histogram
            .as_ref()
            .map(latency::parse_histogram)
            .unwrap_or_default(),
        sentinel,
        cluster_info: replies.cluster_info.and_then(self::text),
    }))
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
        Value::VerbatimString { text, .. } => Some(text),
        Value::SimpleString(text) => Some(text),
        _ => None,
    }
}

/// A Redis error reply as redis_exporter shows it: `CODE detail`.
fn error_text(e: &RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        _ => e.to_string(),
    }
}

/// A reply of field/value pairs (an array in RESP2, a map in RESP3).
fn string_map(value: Value) -> std::collections::BTreeMap<String, String> {
    let pairs: Vec<(Value, Value)> = match value {
        Value::Map(map) => map,
        Value::Array(items) => {
            let mut items = items.into_iter();
            let mut out = Vec::new();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                out.push((k, v));
            }
            out
        }
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
        .collect()
}

/// The `flags` of each entry of `SENTINEL SENTINELS` / `SLAVES`.
fn flags(reply: &Result<Value, RedisError>) -> Vec<String> {
    match reply {
        Ok(Value::Array(items)) => items
            .iter()
            .filter_map(|item| string_map(item.clone()).remove("flags"))
            .collect(),
        _ => Vec::new(),
    }
}

/// The text of `CONFIG GET x`'s value.
fn config_text(reply: Option<Value>) -> Option<String> {
    let pairs: Vec<(String, String)> = match reply? {
        Value::Map(map) => map
            .into_iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|kv| match kv {
                [k, v] => Some((text(k.clone())?, text(v.clone())?)),
                _ => None,
            })
            .collect(),
        _ => return None,
    };
    pairs.into_iter().next().map(|(_, v)| v)
}

/// `CONFIG GET x` answers `[x, value]` (RESP2) or `{x: value}` (RESP3).
fn config_value(reply: Option<Value>) -> Option<f64> {
    let pairs: Vec<(String, String)> = match reply? {
        Value::Map(map) => map
            .into_iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|kv| match kv {
                [k, v] => Some((text(k.clone())?, text(v.clone())?)),
                _ => None,
            })
            .collect(),
        _ => return None,
    };
    pairs.first().and_then(|(_, v)| info::number(v))
}

/// `SLOWLOG GET 1` answers `[[id, timestamp, duration_usec, ...]]`.
fn last_slowlog_entry(reply: Value) -> Option<(f64, f64)> {
    let Value::Array(entries) = reply else {
        return None;
    };
    let Value::Array(entry) = entries.into_iter().next()? else {
        return None;
    };
    let id = redis::from_redis_value::<i64>(entry.first()?.clone()).ok()?;
    let usec = redis::from_redis_value::<i64>(entry.get(2)?.clone()).ok()?;
    Some((id as f64, usec as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn config_get_in_resp2_and_resp3() {
        let resp2 = Value::Array(vec![bulk("maxmemory"), bulk("1024")]);
        assert_eq!(config_value(Some(resp2)), Some(1024.0));
        let resp3 = Value::Map(vec![(bulk("maxmemory"), bulk("0"))]);
        assert_eq!(config_value(Some(resp3)), Some(0.0));
        assert_eq!(config_value(Some(Value::Array(vec![]))), None);
        assert_eq!(config_value(None), None);
    }

    #[test]
    fn slowlog_entry_id_and_duration() {
        let entry = Value::Array(vec![Value::Array(vec![
            Value::Int(41),
            Value::Int(1_700_000_000),
            Value::Int(12_000),
            Value::Array(vec![bulk("DEBUG"), bulk("SLEEP")]),
        ])]);
        assert_eq!(last_slowlog_entry(entry), Some((41.0, 12_000.0)));
        assert_eq!(last_slowlog_entry(Value::Array(vec![])), None);
    }

    #[test]
    fn invalid_utf8_info_is_a_parse_error() {
        let replies = Replies {
            info: Value::BulkString(vec![0xff, 0xfe, b':']),
            config: Default::default(),
            slowlog_len: None,
            slowlog_last: None,
            latency_latest: None,
            latency_histogram: None,
            cluster_info: None,
            sentinel: false,
        };
        let err = snapshot_families(replies, None).unwrap_err();
        assert_eq!(err.kind, "parse");
    }
}
