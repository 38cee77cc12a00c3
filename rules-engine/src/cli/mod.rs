//! The command line: `vigil run | query | check config|web-config|rules |
//! test rules`. One enum variant per subcommand group, each in its own
//! file; `main` only parses and dispatches.

pub mod check;
pub mod notify;
pub mod query;
pub mod run;
pub mod sla;
pub mod test;
pub mod tsdb;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use vigil_common::logging::LogFormat;

/// A small, complete alerting engine: scrape, store, PromQL, rules, routing,
/// SLA reports.
#[derive(Parser)]
#[command(name = "vigil", version)]
pub struct Cli {
    /// debug, info, warn or error.
    #[arg(long = "log.level", default_value = "info", global = true)]
    pub log_level: String,
    /// logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt", global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Scrape targets into the store and serve the Prometheus-compatible API.
    Run(RunArgs),
    /// Evaluate a PromQL expression on a running vigil (or Prometheus).
    Query(QueryArgs),
    /// Check files without running anything.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Run unit tests (promtool's test file format).
    #[command(subcommand)]
    Test(TestCommand),
    /// SLA reports, the month's error budget, and ledger backfill.
    Sla(sla::SlaArgs),
    /// Which receivers alerts reach (as amtool config routes).
    Route(notify::RouteArgs),
    /// Add, list and expire silences.
    Silence(notify::SilenceArgs),
    /// The alert history: state changes and notifications.
    Alerts(notify::AlertsArgs),
    /// TSDB block tools (promtool's `tsdb create-blocks-from`).
    Tsdb(tsdb::TsdbArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// The configuration file (YAML). Without it vigil keeps samples in
    /// memory and scrapes itself.
    #[arg(long = "config.file")]
    pub config_file: Option<PathBuf>,
    /// Address to listen on. 10188 sits next to vigil-exporter's 10187,
    /// outside the exporter port range Prometheus's allocation list uses,
    /// and away from Prometheus's own 9090 so both can run side by side.
    #[arg(long = "web.listen-address", default_value = "0.0.0.0:10188")]
    pub listen_address: SocketAddr,
    /// TLS and basic auth, in the Prometheus exporter-toolkit web-config
    /// format.
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// The URL vigil is reached at (behind a proxy, say), as Prometheus's
    /// flag: alerts' `generatorURL`, `$externalURL` in templates and the
    /// notifications' links. Default `http://<hostname>:<port>/`.
    #[arg(long = "web.external-url")]
    pub external_url: Option<String>,
    /// Minimum wait before a firing alert is sent again (Prometheus's
    /// `--rules.alert.resend-delay`).
    #[arg(long = "rules.alert.resend-delay", default_value = "1m", value_parser = parse_duration)]
    pub resend_delay: crate::model::units::PromDuration,
    /// Serve `POST /api/v1/admin/tsdb/snapshot` (Prometheus's flag).
    #[arg(long = "web.enable-admin-api")]
    pub enable_admin_api: bool,
}

/// A flag's duration, written as in configs (`1m`, `30s`).
pub(crate) fn parse_duration(s: &str) -> Result<crate::model::units::PromDuration, String> {
    crate::model::units::PromDuration::parse(s)
}

#[derive(Args)]
pub struct QueryArgs {
    /// The PromQL expression.
    pub expr: String,
    /// Evaluation time, RFC 3339 or Unix seconds (default: the server's now).
    #[arg(long)]
    pub time: Option<String>,
    /// The server to ask.
    #[arg(long, default_value = "http://127.0.0.1:10188")]
    pub server: String,
    /// Print the API's JSON answer instead of one line per series.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum CheckCommand {
    /// Check a configuration file: every error as file:line:column; exit 1
    /// if there is one.
    Config {
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check a `--web.config.file` (TLS files readable, bcrypt hashes
    /// valid): every error as file:line:column; exit 1 if there is one.
    WebConfig {
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check rule files as `promtool check rules` does (errors as
    /// file:line:column with group and rule; exit 1 if there is one), and
    /// print lint warnings with a suggested fix (they do not change the
    /// exit code).
    Rules {
        /// The rule files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum TestCommand {
    /// Run rule unit tests in promtool's format (`rule_files`,
    /// `input_series`, `alert_rule_test`, `promql_expr_test`); exit 1 if
    /// one fails.
    Rules {
        /// The test files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}
