//! `vigil sla report | budget | backfill`: the SLA report of a calendar
//! month, the error budget of the month so far, and filling the ledger of a
//! past period from range queries.
//!
//! Each reads the configuration file for the services, tiers, windows and
//! the database (`storage.path`), and reads the clock only for `budget`'s
//! "now" (here, at the edge of the program, never in the `sla` module).
//!
//! Exit codes: 0 done; 1 bad input or an unusable ledger or source (clap's
//! usage errors are 2); 3 a service has no data for the period (the report
//! is still written); 4 an objective was missed and `--fail-on-breach` was
//! given. A breach alone is not a failure: it is what the report is for.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::db::Db;
use crate::sla::backfill;
use crate::sla::config::SlaConfig;
use crate::sla::period::{self, Period};
use crate::sla::render::{Format, render};
use crate::sla::report::{Report, report_from_ledger};
use crate::sla::span::Span;

/// Some service has no data at all in the period.
const EXIT_MISSING_DATA: u8 = 3;
/// An objective was missed (only with `--fail-on-breach`).
const EXIT_BREACH: u8 = 4;

#[derive(Args)]
pub struct SlaArgs {
    /// The configuration file with the `sla:` section; the ledger is the
    /// database in its `storage.path`.
    #[arg(long = "config.file", global = true)]
    pub config_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: SlaCommand,
}

#[derive(Subcommand)]
pub enum SlaCommand {
    /// The report of a calendar month in the SLA's time zone. Exit 3 when
    /// a service has no data, 4 on a missed objective with --fail-on-breach.
    Report(ReportArgs),
    /// The error budget of the current month so far.
    Budget(BudgetArgs),
    /// Fill the ledger of a past period from range queries of each
    /// service's `up` expression (a Prometheus-compatible API, by default
    /// a running vigil's embedded store). Replaces what the ledger had for
    /// the period, so running it twice changes nothing.
    Backfill(BackfillArgs),
}

#[derive(Args)]
pub struct ReportArgs {
    /// The month, YYYY-MM.
    #[arg(long)]
    pub month: String,
    /// Only this service.
    #[arg(long)]
    pub service: Option<String>,
    /// table, markdown, json, csv or html.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Exit 4 when a service missed its objective.
    #[arg(long)]
    pub fail_on_breach: bool,
}

#[derive(Args)]
pub struct BudgetArgs {
    /// Only this service.
    #[arg(long)]
    pub service: Option<String>,
    /// table, markdown, json, csv or html.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// "Now", RFC 3339 or Unix seconds (default: the clock).
    #[arg(long)]
    pub time: Option<String>,
}

#[derive(Args)]
pub struct BackfillArgs {
    /// Start, RFC 3339 or Unix seconds (or use --month).
    #[arg(long, requires = "to", conflicts_with = "month")]
    pub from: Option<String>,
    /// End (exclusive), RFC 3339 or Unix seconds.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// A whole month, YYYY-MM, in the SLA's time zone.
    #[arg(long)]
    pub month: Option<String>,
    /// Only this service.
    #[arg(long)]
    pub service: Option<String>,
    /// The Prometheus-compatible API to ask (Prometheus, Thanos, Mimir, or
    /// a running vigil for its embedded store).
    #[arg(long = "source.url", default_value = "http://127.0.0.1:10188")]
    pub source_url: String,
    /// Step between evaluations (default: global.evaluation_interval).
    #[arg(long, value_parser = crate::model::units::PromDuration::parse)]
    pub step: Option<crate::model::units::PromDuration>,
}

/// Runs a `vigil sla` subcommand and says how it ended.
pub fn main(args: &SlaArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(anyhow!(e)),
    };
    match rt.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn fail(e: anyhow::Error) -> ExitCode {
    eprintln!("vigil sla: {e:#}");
    ExitCode::FAILURE
}

async fn run(args: &SlaArgs) -> anyhow::Result<ExitCode> {
    let (config, sla) = load(args.config_file.as_deref())?;
    match &args.command {
        SlaCommand::Report(a) => {
            let format: Format = a.format.parse()?;
            let (y, m) = period::parse_month(&a.month)?;
            let p = period::month(y, m, sla.time_zone.0)?;
            let db = open_existing(&config).await?;
            let r = report_from_ledger(&sla, &p, a.service.as_deref(), &db).await?;
            write(&render(&r, format), a.output.as_deref())?;
            Ok(verdict(&r, a.fail_on_breach))
        }
        SlaCommand::Budget(a) => {
            let format: Format = a.format.parse()?;
            let now = match &a.time {
                Some(t) => parse_time(t)?,
                None => now_ms(),
            };
            let p = period::current_month_to_date(sla.time_zone.0, now)?;
            let db = open_existing(&config).await?;
            let r = report_from_ledger(&sla, &p, a.service.as_deref(), &db).await?;
            write(&render(&r, format), None)?;
            Ok(verdict(&r, false))
        }
        SlaCommand::Backfill(a) => backfill_cmd(&config, &sla, a).await,
    }
}

/// The config and its `sla:` section, both required.
fn load(path: Option<&Path>) -> anyhow::Result<(Config, SlaConfig)> {
    let path = path.ok_or_else(|| anyhow!("--config.file is required"))?;
    let config = Config::load(path).map_err(|e| anyhow!("bad configuration:\n{e}"))?;
    let sla = config
        .sla
        .clone()
        .ok_or_else(|| anyhow!("{}: no sla: section", path.display()))?;
    if sla.services.is_empty() {
        bail!("{}: sla.services is empty", path.display());
    }
    Ok((config, sla))
}

/// The ledger database of `storage.path`, which must exist for a report:
/// an absent ledger is missing data, not an empty month.
async fn open_existing(config: &Config) -> anyhow::Result<Db> {
    if let Some(db) = open_postgres(config).await? {
        return Ok(db);
    }
    let dir = ledger_dir(config)?;
    let file = dir.join("vigil.db");
    if !file.exists() {
        bail!(
            "no ledger at {}: run vigil with this configuration, or vigil sla backfill",
            file.display()
        );
    }
    Ok(Db::open(None, dir).await?)
}

/// The PostgreSQL database of `storage.database_url(_file)`, when set: the
/// one a running vigil keeps its ledger in then.
async fn open_postgres(config: &Config) -> anyhow::Result<Option<Db>> {
    let url = config.storage.database_url().map_err(|e| anyhow!("{e}"))?;
    match url {
        Some(_) => Ok(Some(config.storage.open_db().await?)),
        None => Ok(None),
    }
}

fn ledger_dir(config: &Config) -> anyhow::Result<&Path> {
    config.storage.path.as_deref().ok_or_else(|| {
        anyhow!("storage.path is not set: the SLA ledger needs a database (storage.path)")
    })
}

fn write(text: &str, output: Option<&Path>) -> anyhow::Result<()> {
    match output {
        Some(f) => std::fs::write(f, text).with_context(|| format!("cannot write {}", f.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Missing data first (the report cannot be trusted), then a breach.
fn verdict(r: &Report, fail_on_breach: bool) -> ExitCode {
    let missing: Vec<&str> = r
        .services
        .iter()
        .filter(|s| s.missing_data())
        .map(|s| s.name.as_str())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "vigil sla: no data for {} in {}",
            missing.join(", "),
            r.period.label
        );
        return ExitCode::from(EXIT_MISSING_DATA);
    }
    let missed: Vec<&str> = r
        .services
        .iter()
        .filter(|s| s.verdict.met == Some(false))
        .map(|s| s.name.as_str())
        .collect();
    if fail_on_breach && !missed.is_empty() {
        eprintln!(
            "vigil sla: objective missed by {} in {}",
            missed.join(", "),
            r.period.label
        );
        return ExitCode::from(EXIT_BREACH);
    }
    ExitCode::SUCCESS
}

async fn backfill_cmd(
    config: &Config,
    sla: &SlaConfig,
    a: &BackfillArgs,
) -> anyhow::Result<ExitCode> {
    let span = match (&a.month, &a.from, &a.to) {
        (Some(m), _, _) => {
            let (y, mo) = period::parse_month(m)?;
            period::month(y, mo, sla.time_zone.0)?.span
        }
        (None, Some(f), Some(t)) => Span::new(parse_time(f)?, parse_time(t)?),
        _ => bail!("give --month, or --from and --to"),
    };
    if span.is_empty() {
        bail!("--to must be after --from");
    }
    let step = a
        .step
        .unwrap_or(config.global.evaluation_interval)
        .as_millis();
    if step <= 0 {
        bail!("--step must be positive");
    }
    if let Some(name) = a
        .service
        .as_deref()
        .filter(|n| !sla.services.iter().any(|s| s.name == *n))
    {
        bail!("no SLA service named {name:?} in the configuration");
    }
    vigil_common::install_crypto_provider();
    let db = match open_postgres(config).await? {
        Some(db) => db,
        None => {
            let dir = ledger_dir(config)?;
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            Db::open(None, dir).await?
        }
    };
    let client = reqwest::Client::new();
    for s in sla
        .services
        .iter()
        .filter(|s| a.service.as_deref().is_none_or(|o| o == s.name))
    {
        let points = backfill::fetch(&client, &a.source_url, &s.up, span, step)
            .await
            .with_context(|| format!("service {:?}", s.name))?;
        let ivs = backfill::intervals(&points, span, step, sla.max_gap.as_millis())?;
        db.ledger_replace(&s.name, span, &ivs).await?;
        let p = Period {
            label: String::new(),
            span,
            time_zone: sla.time_zone.0.name().to_string(),
        };
        let r = crate::sla::report::service_report(sla, s, &p, &ivs);
        println!(
            "{}: {} steps with data, {} ledger rows, {} min down, {} min unknown",
            s.name,
            points.len(),
            ivs.len(),
            r.breakdown.down_ms / 60_000,
            r.breakdown.unknown_ms / 60_000
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// RFC 3339 or Unix seconds (fractions allowed), as epoch ms.
fn parse_time(s: &str) -> anyhow::Result<i64> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
    {
        return Ok((secs * 1000.0).round() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| anyhow!("not a time: {s:?} ({e}; expected RFC 3339 or Unix seconds)"))
}

fn now_ms() -> i64 {
    use crate::clock::Clock;
    crate::clock::SystemClock.now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("1700000000.5").unwrap(), 1_700_000_000_500);
        assert_eq!(
            parse_time("2026-10-01T00:00:00+02:00").unwrap(),
            1_790_805_600_000
        );
        assert!(parse_time("yesterday").is_err());
    }
}
