//! `haproxy_process_*` from the runtime API's `show info` (`Name: value`
//! lines), under the built-in exporter's names. Community dashboards fill
//! their variables from `haproxy_process_start_time_seconds`, which is why
//! the socket is worth configuring next to the stats page.

use crate::metrics::{Family, MetricType, labels};

/// Why a `show info` reply is unusable. `line` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("show info line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

/// The `Name: value` pairs of a `show info` reply, in order.
pub fn parse(text: &str) -> Result<Vec<(&str, &str)>, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ParseError {
                line: i + 1,
                reason: "expected `Name: value`".to_string(),
            });
        };
        out.push((name.trim(), value.trim()));
    }
    if !out.iter().any(|(n, _)| *n == "Pid" || *n == "Name") {
        return Err(ParseError {
            line: 1,
            reason: "not a `show info` reply (no Name or Pid)".to_string(),
        });
    }
    Ok(out)
}

/// `show info` field, metric suffix, whether it is a counter, help.
#[rustfmt::skip]
const FIELDS: &[(&str, &str, bool, &str)] = &[
    ("Nbthread", "nbthread", false, "Number of threads"),
    ("Nbproc", "nbproc", false, "Number of worker processes (always 1 since 2.5)"),
    ("Process_num", "relative_process_id", false, "Relative number of this worker process"),
    ("Uptime_sec", "uptime_seconds", false, "Seconds since this worker started"),
    ("Start_time_sec", "start_time_seconds", false, "Unix time this worker started"),
    ("PoolFailed", "pool_failures_total", true, "Failed pool allocations since start"),
    ("Ulimit-n", "max_fds", false, "Limit on file descriptors"),
    ("Maxsock", "max_sockets", false, "Limit on sockets"),
    ("Maxconn", "max_connections", false, "Limit on connections (maxconn)"),
    ("Hard_maxconn", "hard_max_connections", false, "Hard limit on connections"),
    ("CurrConns", "current_connections", false, "Connections open now"),
    ("CumConns", "connections_total", true, "Connections since start"),
    ("CumReq", "requests_total", true, "Requests since start"),
    ("MaxSslConns", "max_ssl_connections", false, "Limit on SSL connections, 0 for none"),
    ("CurrSslConns", "current_ssl_connections", false, "SSL connections open now"),
    ("CumSslConns", "ssl_connections_total", true, "SSL connections since start"),
    ("Maxpipes", "max_pipes", false, "Limit on pipes for splicing, 0 for none"),
    ("PipesUsed", "pipes_used_total", true, "Pipes in use"),
    ("PipesFree", "pipes_free_total", true, "Pipes allocated and free"),
    ("ConnRate", "current_connection_rate", false, "New connections over the last second"),
    ("ConnRateLimit", "limit_connection_rate", false, "Limit on new connections per second"),
    ("MaxConnRate", "max_connection_rate", false, "Highest new connections per second since start"),
    ("SessRate", "current_session_rate", false, "New sessions over the last second"),
    ("SessRateLimit", "limit_session_rate", false, "Limit on new sessions per second"),
    ("MaxSessRate", "max_session_rate", false, "Highest new sessions per second since start"),
    ("SslRate", "current_ssl_rate", false, "New SSL connections over the last second"),
    ("SslRateLimit", "limit_ssl_rate", false, "Limit on new SSL connections per second"),
    ("MaxSslRate", "max_ssl_rate", false, "Highest new SSL connections per second since start"),
    ("SslFrontendKeyRate", "current_frontend_ssl_key_rate", false, "Frontend SSL keys computed over the last second"),
    ("SslFrontendMaxKeyRate", "max_frontend_ssl_key_rate", false, "Highest frontend SSL keys per second since start"),
    ("SslFrontendSessionReuse_pct", "frontend_ssl_reuse", false, "Percent of frontend SSL connections that reused a session"),
    ("SslBackendKeyRate", "current_backend_ssl_key_rate", false, "Backend SSL keys computed over the last second"),
    ("SslBackendMaxKeyRate", "max_backend_ssl_key_rate", false, "Highest backend SSL keys per second since start"),
    ("SslCacheLookups", "ssl_cache_lookups_total", true, "SSL session cache lookups since start"),
    ("SslCacheMisses", "ssl_cache_misses_total", true, "SSL session cache misses since start"),
    ("CompressBpsIn", "http_comp_bytes_in_total", true, "Bytes fed to the HTTP compressor over the last second"),
    ("CompressBpsOut", "http_comp_bytes_out_total", true, "Bytes emitted by the HTTP compressor over the last second"),
    ("CompressBpsRateLim", "limit_http_comp", false, "Compression output rate above which compression stops"),
    ("ZlibMemUsage", "current_zlib_memory", false, "Bytes used by zlib compression"),
    ("MaxZlibMemUsage", "max_zlib_memory", false, "Limit on bytes used by zlib compression"),
    ("Tasks", "current_tasks", false, "Tasks, active and sleeping"),
    ("Run_queue", "current_run_queue", false, "Active tasks and tasklets"),
    ("Idle_pct", "idle_time_percent", false, "Percent of the last second spent idle"),
    ("Stopping", "stopping", false, "1 while the worker is stopping"),
    ("Jobs", "jobs", false, "Active jobs (connections, listeners)"),
    ("Unstoppable Jobs", "unstoppable_jobs", false, "Active jobs that cannot be stopped"),
    ("Listeners", "listeners", false, "Active listeners"),
    ("ActivePeers", "active_peers", false, "Verified active peer connections"),
    ("ConnectedPeers", "connected_peers", false, "Connected peers"),
    ("DroppedLogs", "dropped_logs_total", true, "Log messages dropped since start"),
    ("BusyPolling", "busy_polling_enabled", false, "1 if busy polling is in use"),
    ("FailedResolutions", "failed_resolutions", true, "Failed DNS resolutions since start"),
    ("TotalBytesOut", "bytes_out_total", true, "Bytes sent since start"),
    ("TotalSplicdedBytesOut", "spliced_bytes_out_total", true, "Bytes sent through kernel pipes since start"),
    ("BytesOutRate", "bytes_out_rate", false, "Bytes sent over the last second"),
    ("CumRecvLogs", "recv_logs_total", true, "Log messages received by log-forward listeners since start"),
    ("Memmax_bytes", "max_memory_bytes", false, "Limit on memory in bytes, 0 for none"),
    ("PoolAlloc_bytes", "pool_allocated_bytes", false, "Bytes allocated in pools"),
    ("PoolUsed_bytes", "pool_used_bytes", false, "Bytes of pools in use"),
];

/// The process families of one `show info` reply. Fields that are missing
/// (older versions) or not numbers are left out.
pub fn families(info: &[(&str, &str)]) -> Vec<Family> {
    let get = |name: &str| info.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let mut out = Vec::new();
    for (field, suffix, counter, help) in FIELDS {
        let Some(value) = get(field).and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let kind = if *counter {
            MetricType::Counter
        } else {
            MetricType::Gauge
        };
        out.push(Family::new(format!("haproxy_process_{suffix}"), *help, kind).single(value));
    }
    if let Some(version) = get("Version") {
        let mut build = Family::gauge("haproxy_process_build_info", "HAProxy version");
        build.push(labels(&[("version", version)]), 1.0);
        out.push(build);
    }
    // HAProxy 3.2's promex names for the `node` and `description` of the
    // global section, as info gauges.
    for (field, name, label, help) in [
        (
            "node",
            "haproxy_process_node",
            "node",
            "Node name (global node)",
        ),
        (
            "description",
            "haproxy_process_description",
            "desc",
            "Node description (global description)",
        ),
    ] {
        if let Some(value) = get(field).filter(|v| !v.is_empty()) {
            let mut family = Family::gauge(name, help);
            family.push(labels(&[(label, value)]), 1.0);
            out.push(family);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURED: &str = include_str!("testdata/show_info_2.6.txt");

    #[test]
    fn captured_reply_gives_start_time_and_build_info() {
        let info = parse(CAPTURED).unwrap();
        let f = families(&info);
        let start = f
            .iter()
            .find(|f| f.name == "haproxy_process_start_time_seconds")
            .unwrap();
        assert_eq!(start.samples[0].value, 1_795_309_460.0);
        let build = f
            .iter()
            .find(|f| f.name == "haproxy_process_build_info")
            .unwrap();
        assert_eq!(
            build.samples[0].labels,
            labels(&[("version", "2.6.12-1+deb12u4")])
        );
        let jobs = f
            .iter()
            .find(|f| f.name == "haproxy_process_unstoppable_jobs");
        assert!(jobs.is_some());
        let requests = f
            .iter()
            .find(|f| f.name == "haproxy_process_requests_total")
            .unwrap();
        assert_eq!(requests.kind, MetricType::Counter);
    }

    #[test]
    fn other_replies_are_errors() {
        assert_eq!(parse("Unknown command.\n").unwrap_err().line, 1);
        assert!(parse("Foo: 1\n").is_err());
        assert!(parse("").is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(text in ".*") {
            if let Ok(info) = parse(&text) {
                let _ = families(&info);
            }
        }
    }
}
