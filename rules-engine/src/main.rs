//! `vigil`: the command line. Everything else is in the library.

use std::process::ExitCode;

use clap::Parser;
use vigil::cli::{CheckCommand, Cli, Command, TestCommand};
use vigil_common::logging;

/// jemalloc instead of glibc's malloc. Scrapes and queries allocate large,
/// short-lived buffers from several runtime threads; glibc keeps what its
/// per-thread arenas freed, so resident memory ratchets up to the largest
/// query ever answered, while jemalloc hands unused pages back to the
/// kernel within seconds (its dirty-page decay).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: a background thread purges
/// freed pages (without it, purging happens only inside later allocation
/// calls, so pages freed by a scrape or a query stayed resident until the
/// next burst of work), dirty pages go back after 1 s instead of 10 s, and
/// straight to the kernel (no "muzzy" stage, whose `MADV_FREE` pages still
/// count as resident). `scripts/bench/query-vs-prometheus`, 100k series:
/// vigil's RSS 137 -> 100 MiB before the queries and 192 -> 106 MiB after
/// them, query times unchanged. `_RJEM_MALLOC_CONF` in the environment
/// still overrides these.
#[cfg(not(target_env = "msvc"))]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8; 60] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = logging::init(&cli.log_level, cli.log_format) {
        eprintln!("vigil: {e}");
        return ExitCode::from(2);
    }
    let result = match &cli.command {
        Command::Check(CheckCommand::Config { files }) => return vigil::cli::check::config(files),
        Command::Check(CheckCommand::WebConfig { files }) => {
            return vigil::cli::check::web_config(files);
        }
        Command::Check(CheckCommand::Rules { files }) => return vigil::cli::check::rules(files),
        Command::Test(TestCommand::Rules { files }) => return vigil::cli::test::rules(files),
        Command::Sla(args) => return vigil::cli::sla::main(args),
        Command::Route(args) => return vigil::cli::notify::route(args),
        Command::Tsdb(args) => vigil::cli::tsdb::main(args),
        Command::Silence(args) => {
            return runtime().map_or_else(
                |e| fail(&e),
                |rt| rt.block_on(vigil::cli::notify::silence(args)),
            );
        }
        Command::Alerts(args) => {
            return runtime().map_or_else(
                |e| fail(&e),
                |rt| rt.block_on(vigil::cli::notify::alerts(args)),
            );
        }
        Command::Run(args) => runtime().and_then(|rt| rt.block_on(vigil::cli::run::run(args))),
        Command::Query(args) => runtime()
            .and_then(|rt| rt.block_on(vigil::cli::query::run(args)))
            .map(|out| print!("{out}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigil: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("vigil: {e:#}");
    ExitCode::FAILURE
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
