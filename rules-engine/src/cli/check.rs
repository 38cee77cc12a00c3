//! `vigil check config|web-config|rules FILE...`: load and validate, print
//! every error as `file:line:column: message`, exit 1 when any file is bad.
//! `check config` checks the rule files the config names as well, and
//! takes a bare Alertmanager configuration too (checked as `amtool
//! check-config` checks it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::Config;

/// `vigil check rules`: `rules::cli::check_rules`'s text and exit code.
pub fn rules(files: &[PathBuf]) -> ExitCode {
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    print_outcome(crate::rules::cli::check_rules(&refs))
}

/// Prints a rules command's output and turns its code into the exit code.
pub fn print_outcome(o: crate::rules::cli::Outcome) -> ExitCode {
    print!("{}", o.stdout);
    eprint!("{}", o.stderr);
    ExitCode::from(u8::try_from(o.code).unwrap_or(1))
}

pub fn config(files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for f in files {
        if is_alertmanager_file(f) {
            ok &= alertmanager_config(f);
            continue;
        }
        // As promtool check config: the rule files it names too, and the
        // routing configuration (a file of its own, or inline), as `vigil
        // run` checks them before binding.
        let checked = Config::load(f).map_err(|e| e.to_string()).and_then(|cfg| {
            if let Some(a) = &cfg.alerting {
                crate::notify::running::load(a, f).map_err(|e| e.to_string())?;
            }
            let interval = cfg.global.evaluation_interval.as_millis();
            let groups = crate::rules::runtime::load_rule_files(&cfg.rule_files, interval)
                .map_err(|errs| {
                    errs.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                })?;
            Ok((cfg, groups.len()))
        });
        match checked {
            Ok((cfg, groups)) => println!(
                "{}: SUCCESS: {} scrape jobs, {} rule groups{}",
                f.display(),
                cfg.scrape_configs.len(),
                groups,
                if cfg.alerting.is_some() {
                    ", alerting"
                } else {
                    ""
                }
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

/// An `alertmanager.yml` rather than vigil's own file: a YAML mapping with
/// a top-level `route` or `receivers` (vigil's config has neither).
fn is_alertmanager_file(f: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(f) else {
        return false;
    };
    let Ok(yaml_serde::Value::Mapping(m)) = yaml_serde::from_str(&text) else {
        return false;
    };
    m.contains_key("route") || m.contains_key("receivers")
}

/// Checks an Alertmanager file as `amtool check-config` does (routes,
/// receivers, inhibit rules, time intervals, globals, templates).
fn alertmanager_config(f: &Path) -> bool {
    match crate::notify::route::load_file(f) {
        Ok(l) => {
            let c = &l.config;
            println!(
                "{}: SUCCESS: alertmanager configuration: {} receivers, {} inhibit rules, {} time intervals, {} templates",
                f.display(),
                c.receivers.len(),
                c.inhibit_rules.len(),
                c.time_intervals.len() + c.mute_time_intervals.len(),
                c.templates.len(),
            );
            true
        }
        Err(e) => {
            eprintln!("{e}");
            false
        }
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
