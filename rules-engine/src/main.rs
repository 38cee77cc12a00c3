//! `vigil`: the command line. Everything else is in the library.

use std::process::ExitCode;

use clap::Parser;
use vigil::cli::{CheckCommand, Cli, Command, TestCommand};
use vigil_common::logging;

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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
