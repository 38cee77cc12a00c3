//! `vigil route test|show`, `vigil silence add|query|expire` and `vigil
//! alerts history`: thin shells over `route::cli` and `notify::cli`, which
//! hold the logic and are tested by value. Routing comes from vigil's
//! config (its `alerting:` section) or straight from an Alertmanager file,
//! as amtool takes it; silences and history from the configured database.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::config::Config;
use crate::db::Db;
use crate::notify::route::Loaded;
use crate::notify::tables::history::HistoryQuery;

#[derive(Args)]
pub struct RouteArgs {
    /// vigil's configuration file (its `alerting:` section).
    #[arg(long = "config.file", global = true, default_value = "vigil.yml")]
    pub config_file: PathBuf,
    /// An Alertmanager configuration file instead (as amtool's --config.file).
    #[arg(long = "alertmanager.config", global = true)]
    pub alertmanager_config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: RouteCommand,
}

#[derive(Subcommand)]
pub enum RouteCommand {
    /// Print the receivers a label set reaches (as `amtool config routes test`).
    Test {
        /// Labels, `name=value` as amtool reads them (the value may be
        /// double-quoted with `\"` escapes; names may hold `:`).
        labels: Vec<String>,
        /// Exit 1 unless the receivers are exactly these (comma-separated).
        #[arg(long = "verify.receivers")]
        verify: Option<String>,
        /// Draw the matching routes first (as amtool's `--tree`).
        #[arg(long)]
        tree: bool,
    },
    /// Print the routing tree (as `amtool config routes show`).
    Show,
}

#[derive(Args)]
pub struct StoreArgs {
    /// vigil's configuration file (its `storage:` section names the database).
    #[arg(long = "config.file", global = true, default_value = "vigil.yml")]
    pub config_file: PathBuf,
}

#[derive(Args)]
pub struct SilenceArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: SilenceCommand,
}

#[derive(Subcommand)]
pub enum SilenceCommand {
    /// Silence the alerts matching every matcher (`alertname="X"`, `job=~"a|b"`).
    Add {
        #[arg(required = true)]
        matchers: Vec<String>,
        #[arg(long, default_value = "vigil")]
        author: String,
        #[arg(long, default_value = "")]
        comment: String,
        /// How long, e.g. 2h.
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        duration: Duration,
    },
    /// List active and pending silences (or expired ones), optionally filtered.
    Query {
        matchers: Vec<String>,
        #[arg(long)]
        expired: bool,
    },
    /// Expire silences now (they stay listed with --expired, for audit).
    Expire {
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

#[derive(Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// State changes and notifications (with their outcome), newest first.
    History {
        /// Only entries at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// `alert` or `notification`.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        fingerprint: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

/// A Prometheus duration (`90m`, `1h30m`).
fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::model::units::PromDuration::parse(s).map(|d| d.as_duration())
}

/// Prints a command's text and turns its code into the exit code.
fn finish((text, code): (String, i32)) -> ExitCode {
    if code == 0 {
        print!("{text}");
    } else {
        eprint!("{text}");
    }
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("vigil: {message}");
    ExitCode::from(2)
}

fn routing(args: &RouteArgs) -> Result<Loaded, String> {
    if let Some(file) = &args.alertmanager_config {
        return crate::notify::route::load_file(file).map_err(|e| e.to_string());
    }
    let file = &args.config_file;
    let alerting = Config::load(file)
        .map_err(|e| e.to_string())?
        .alerting
        .ok_or_else(|| format!("{}: no alerting: section", file.display()))?;
    crate::notify::running::load(&alerting, file)
        .map_err(|e| e.to_string())?
        .into_routing()
        .ok_or_else(|| format!("{}: alerting: has no routing configuration", file.display()))
}

pub fn route(args: &RouteArgs) -> ExitCode {
    let loaded = match routing(args) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    match &args.command {
        RouteCommand::Test {
            labels,
            verify,
            tree,
        } => super::check::print_outcome(crate::notify::route::cli::route_test(
            &loaded,
            labels,
            verify.as_deref(),
            *tree,
        )),
        RouteCommand::Show => finish(crate::notify::route::cli::route_show(&loaded)),
    }
}

async fn open(store: &StoreArgs) -> Result<Db, String> {
    let config = Config::load(&store.config_file).map_err(|e| e.to_string())?;
    config.storage.open_db().await.map_err(|e| e.to_string())
}

pub async fn silence(args: &SilenceArgs) -> ExitCode {
    let db = match open(&args.store).await {
        Ok(db) => db,
        Err(e) => return fail(e),
    };
    let now = chrono::Utc::now();
    finish(match &args.command {
        SilenceCommand::Add {
            matchers,
            author,
            comment,
            duration,
        } => crate::notify::cli::silence_add(&db, matchers, author, comment, *duration, now).await,
        SilenceCommand::Query { matchers, expired } => {
            crate::notify::cli::silence_query(&db, matchers, *expired, now).await
        }
        SilenceCommand::Expire { ids } => crate::notify::cli::silence_expire(&db, ids, now).await,
    })
}

pub async fn alerts(args: &AlertsArgs) -> ExitCode {
    let db = match open(&args.store).await {
        Ok(db) => db,
        Err(e) => return fail(e),
    };
    let AlertsCommand::History {
        since,
        kind,
        fingerprint,
        limit,
    } = &args.command;
    let q = HistoryQuery {
        since: *since,
        kind: kind.clone(),
        fingerprint: fingerprint.clone(),
        limit: Some(*limit),
    };
    finish(crate::notify::cli::alerts_history(&db, &q).await)
}
