//! `vigil-exporter`: the command line. Everything else is in the library.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use vigil_common::logging::{self, LogFormat};
use vigil_common::web::WebConfig;
use vigil_exporter::http::{Exporter, reload_on_sighup, serve};

/// PostgreSQL, Redis, HAProxy and application-health metrics on one
/// /metrics endpoint, under the names of the community exporters.
#[derive(Parser)]
#[command(name = "vigil-exporter", version)]
struct Cli {
    /// The configuration file (YAML).
    #[arg(long = "config.file", default_value = "vigil-exporter.yml")]
    config_file: PathBuf,
    /// Address to listen on. 10187 lies outside the 9100-9999 range that the
    /// Prometheus default port allocations list has handed out in full, so it
    /// collides with no registered exporter.
    #[arg(long = "web.listen-address", default_value = "0.0.0.0:10187")]
    listen_address: SocketAddr,
    /// TLS and basic auth, in the Prometheus exporter-toolkit web-config
    /// format.
    #[arg(long = "web.config.file")]
    web_config_file: Option<PathBuf>,
    /// debug, info, warn or error.
    #[arg(long = "log.level", default_value = "info")]
    log_level: String,
    /// logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check a configuration file: print every error as file:line:column,
    /// exit 1 if there is one.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    if let Err(e) = logging::init(&cli.log_level, cli.log_format) {
        eprintln!("vigil-exporter: {e}");
        return ExitCode::from(2);
    }
    vigil_common::install_crypto_provider();
    if let Some(Command::CheckConfig { file }) = &cli.command {
        return check_config(file);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("vigil-exporter: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(file: &Path) -> ExitCode {
    match vigil_exporter::config::load(file) {
        Ok(loaded) => {
            println!(
                "{}: ok, {} targets",
                file.display(),
                loaded.collectors.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// One thread runs everything: the exporter mostly waits on its targets,
/// and each runtime worker thread kept its own stack and allocator cache
/// resident (11.2-11.4 MiB against 12.0-12.1 MiB with one worker per core
/// in `scripts/bench/exporter`, the primary alone as fast either way). The
/// heap is trimmed on a thread of its own (`trimmer`), and DNS lookups use
/// tokio's blocking pool, so nothing blocks this thread.
#[tokio::main(flavor = "current_thread")]
async fn run(cli: Cli) -> anyhow::Result<()> {
    // Everything is checked before the port is bound: a bad file never
    // leaves a half-started exporter behind.
    let exporter =
        Exporter::load(&cli.config_file).map_err(|e| anyhow::anyhow!("bad configuration:\n{e}"))?;
    let web = match &cli.web_config_file {
        Some(path) => WebConfig::load(path).map_err(|e| anyhow::anyhow!("bad web config:\n{e}"))?,
        None => WebConfig::default(),
    };
    let exporter = Arc::new(exporter);
    reload_on_sighup(exporter.clone()).context("cannot watch SIGHUP")?;
    let listener = tokio::net::TcpListener::bind(cli.listen_address)
        .await
        .with_context(|| format!("cannot listen on {}", cli.listen_address))?;
    tracing::info!(
        address = %listener.local_addr()?,
        tls = web.tls.is_some(),
        "listening"
    );
    serve(exporter, listener, &web, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// One glibc malloc arena instead of one per thread: the exporter allocates
/// little and briefly per scrape, and per-thread arenas each keep their own
/// freed pages, which was a sixth of its resident memory (12.7 MiB against
/// 11.7 MiB with one arena, `scripts/bench/exporter`). Contention on the one
/// arena's lock does not matter at a few allocations per collected series.
///
/// And a fixed mmap threshold: the large buffers of one answer (its text,
/// about 250 KB for a full stack, and the gzip state) are mapped and
/// unmapped per scrape. By default glibc raises the threshold to the size
/// of the first such buffer freed; after that they come from the heap, and
/// whatever sits above them keeps their pages resident between scrapes
/// (RSS 11.4–12.3 MiB over runs of `scripts/bench/exporter`, against
/// 11.3–11.8 MiB with the threshold fixed, scrape times unchanged).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets malloc parameters; it is called first in
    // main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
