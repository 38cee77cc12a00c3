//! Which `show stat` / `;csv` column becomes which metric, as a table.
//!
//! Names, types and the object types each metric exists for follow HAProxy's
//! built-in Prometheus exporter (`anchors/haproxy_builtin.catalog.tsv`), so
//! its dashboards work unchanged. Times HAProxy reports in milliseconds are
//! converted to seconds, as the built-in exporter does.

/// The object types a column applies to (bit set).
pub const F: u8 = 1;
pub const B: u8 = 2;
pub const S: u8 = 4;

/// One numeric column and the metric it becomes, for the object types in
/// `on`: `haproxy_{frontend|backend|server}_{suffix}`.
pub struct Column {
    pub column: &'static str,
    pub suffix: &'static str,
    pub counter: bool,
    pub help: &'static str,
    pub scale: f64,
    pub on: u8,
}

const MS: f64 = 1e-3;

const fn g(column: &'static str, suffix: &'static str, on: u8, help: &'static str) -> Column {
    Column {
        column,
        suffix,
        counter: false,
        help,
        scale: 1.0,
        on,
    }
}

const fn c(column: &'static str, suffix: &'static str, on: u8, help: &'static str) -> Column {
    Column {
        column,
        suffix,
        counter: true,
        help,
        scale: 1.0,
        on,
    }
}

const fn ms(column: &'static str, suffix: &'static str, on: u8, help: &'static str) -> Column {
    Column {
        column,
        suffix,
        counter: false,
        help,
        scale: MS,
        on,
    }
}

#[rustfmt::skip]
pub const COLUMNS: &[Column] = &[
    g("qcur", "current_queue", B | S, "Requests waiting in the queue now"),
    g("qmax", "max_queue", B | S, "Highest queue length seen since start"),
    g("scur", "current_sessions", F | B | S, "Sessions open now"),
    g("smax", "max_sessions", F | B | S, "Highest number of open sessions seen since start"),
    g("slim", "limit_sessions", F | B | S, "Session limit: maxconn of a frontend or server, fullconn of a backend"),
    c("stot", "sessions_total", F | B | S, "Sessions since start"),
    c("bin", "bytes_in_total", F | B | S, "Request bytes received since start"),
    c("bout", "bytes_out_total", F | B | S, "Response bytes sent since start"),
    c("dreq", "requests_denied_total", F | B, "Requests denied by rules since start"),
    c("dresp", "responses_denied_total", F | B | S, "Responses denied by rules since start"),
    c("ereq", "request_errors_total", F, "Invalid requests since start"),
    c("econ", "connection_errors_total", B | S, "Failed connection attempts to servers since start"),
    c("eresp", "response_errors_total", B | S, "Invalid or aborted server responses since start"),
    c("wretr", "retry_warnings_total", B | S, "Connection retries to servers since start"),
    c("wredis", "redispatch_warnings_total", B | S, "Redispatches to another server after a failed connection since start"),
    g("weight", "weight", B | S, "Effective weight of a server, or the sum of its active servers' weights for a backend"),
    g("act", "active_servers", B, "Active servers that are UP with a non-zero weight"),
    g("bck", "backup_servers", B, "Backup servers that are UP with a non-zero weight"),
    // HAProxy 3.0's promex names for a server's act/bck flags.
    g("act", "active", S, "1 if the server is an active (not backup) server"),
    g("bck", "backup", S, "1 if the server is a backup server"),
    c("chkfail", "check_failures_total", S, "Failed health checks since start"),
    c("chkdown", "check_up_down_total", B | S, "Transitions from UP to DOWN since start"),
    g("lastchg", "check_last_change_seconds", B | S, "Seconds since the last UP/DOWN transition"),
    c("downtime", "downtime_seconds_total", B | S, "Seconds spent DOWN since start"),
    g("qlimit", "queue_limit", S, "Queue limit of a server (maxqueue)"),
    g("throttle", "current_throttle", S, "Throttle percentage applied during slowstart"),
    c("lbtot", "loadbalanced_total", B | S, "Times a server was selected by load balancing since start"),
    // HAProxy 3.2's promex name (and haproxy_exporter's, which dashboards use).
    g("rate", "current_session_rate", F | B | S, "New sessions per second over the last second"),
    g("rate_lim", "limit_session_rate", F, "Limit on new sessions per second (rate-limit sessions)"),
    g("rate_max", "max_session_rate", F | B | S, "Highest number of new sessions per second seen since start"),
    g("check_code", "check_code", S, "HTTP or layer 5-7 code of the last health check, 0 if none"),
    ms("check_duration", "check_duration_seconds", S, "Duration of the last health check in seconds"),
    g("req_rate_max", "http_requests_rate_max", F, "Highest number of HTTP requests per second seen since start"),
    c("req_tot", "http_requests_total", F | B, "HTTP requests since start"),
    c("cli_abrt", "client_aborts_total", B | S, "Transfers aborted by the client since start"),
    c("srv_abrt", "server_aborts_total", B | S, "Transfers aborted by the server since start"),
    c("comp_in", "http_comp_bytes_in_total", F | B, "Bytes fed to the HTTP compressor since start"),
    c("comp_out", "http_comp_bytes_out_total", F | B, "Bytes emitted by the HTTP compressor since start"),
    c("comp_byp", "http_comp_bytes_bypassed_total", F | B, "Bytes that bypassed the HTTP compressor since start"),
    c("comp_rsp", "http_comp_responses_total", F | B, "HTTP responses compressed since start"),
    g("lastsess", "last_session_seconds", B | S, "Seconds since the last session was assigned, -1 if never"),
    ms("qtime", "queue_time_average_seconds", B | S, "Average queue time over the last 1024 requests, in seconds"),
    ms("ctime", "connect_time_average_seconds", B | S, "Average connect time over the last 1024 requests, in seconds"),
    ms("rtime", "response_time_average_seconds", B | S, "Average response time over the last 1024 requests, in seconds"),
    ms("ttime", "total_time_average_seconds", B | S, "Average total session time over the last 1024 requests, in seconds"),
    g("conn_rate_max", "connections_rate_max", F, "Highest number of new connections per second seen since start"),
    c("conn_tot", "connections_total", F, "Connections accepted since start"),
    c("intercepted", "intercepted_requests_total", F, "Requests answered by HAProxy itself (redirects, stats, services) since start"),
    c("dcon", "denied_connections_total", F, "Connections refused by tcp-request connection rules since start"),
    c("dses", "denied_sessions_total", F, "Sessions refused by tcp-request session rules since start"),
    c("wrew", "failed_header_rewriting_total", F | B | S, "Failed HTTP header rewrites since start"),
    c("connect", "connection_attempts_total", B | S, "Connection attempts to servers since start"),
    c("reuse", "connection_reuses_total", B | S, "Reused server connections since start"),
    c("cache_lookups", "http_cache_lookups_total", F | B, "HTTP cache lookups since start"),
    c("cache_hits", "http_cache_hits_total", F | B, "HTTP cache hits since start"),
    g("srv_icur", "idle_connections_current", S, "Idle connections available for reuse"),
    g("src_ilim", "idle_connections_limit", S, "Limit on idle connections (pool-max-conn)"),
    ms("qtime_max", "max_queue_time_seconds", B | S, "Longest queue time seen, in seconds"),
    ms("ctime_max", "max_connect_time_seconds", B | S, "Longest connect time seen, in seconds"),
    ms("rtime_max", "max_response_time_seconds", B | S, "Longest response time seen, in seconds"),
    ms("ttime_max", "max_total_time_seconds", B | S, "Longest total session time seen, in seconds"),
    c("eint", "internal_errors_total", F | B | S, "Internal errors since start"),
    g("idle_conn_cur", "unsafe_idle_connections_current", S, "Idle connections that are unsafe to reuse"),
    g("safe_conn_cur", "safe_idle_connections_current", S, "Idle connections that are safe to reuse"),
    g("used_conn_cur", "used_connections_current", S, "Server connections in use"),
    g("need_conn_est", "need_connections_current", S, "Estimated number of server connections needed"),
    g("uweight", "uweight", B | S, "User-set weight of a server, or the sum over its active servers for a backend"),
];

/// `hrsp_*` columns and the `code` label value they become.
pub const HTTP_CODES: &[(&str, &str)] = &[
    ("hrsp_1xx", "1xx"),
    ("hrsp_2xx", "2xx"),
    ("hrsp_3xx", "3xx"),
    ("hrsp_4xx", "4xx"),
    ("hrsp_5xx", "5xx"),
    ("hrsp_other", "other"),
];

/// Server states, as the built-in exporter's `state` label values.
pub const SERVER_STATES: &[&str] = &["DOWN", "UP", "MAINT", "DRAIN", "NOLB"];

/// Frontend and backend states.
pub const PROXY_STATES: &[&str] = &["DOWN", "UP"];

/// Health-check results, as the built-in exporter's `state` label values.
pub const CHECK_STATES: &[&str] = &[
    "HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP",
    "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK",
];

/// Whether a column must hold a number (or be empty) in every row.
pub fn is_numeric(column: &str) -> bool {
    COLUMNS.iter().any(|c| c.column == column) || HTTP_CODES.iter().any(|(c, _)| *c == column)
}
