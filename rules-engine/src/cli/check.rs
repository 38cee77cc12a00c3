//! `vigil check config FILE...`: load and validate, print every error as
//! `file:line:column: message`, exit 1 when any file is bad.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;

pub fn config(files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for f in files {
        match Config::load(f) {
            Ok(cfg) => println!(
                "{}: SUCCESS: {} scrape jobs, {} rule file patterns",
                f.display(),
                cfg.scrape_configs.len(),
                cfg.rule_files.len()
            ),
            Err(e) => {
                ok = false;
                eprintln!("{e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub fn web_config(files: &[PathBuf]) -> ExitCode {
    vigil_common::install_crypto_provider();
    let mut ok = true;
    for f in files {
        match vigil_common::web::WebConfig::load(f) {
            Ok(w) => println!(
                "{}: SUCCESS: tls {}, basic auth {}",
                f.display(),
                if w.tls.is_some() { "on" } else { "off" },
                if w.auth.is_some() { "on" } else { "off" }
            ),
            Err(e) => {
                ok = false;
                eprintln!("{e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
