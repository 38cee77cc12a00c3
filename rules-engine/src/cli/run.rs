//! `vigil run`: load everything first (a bad config or rule file never
//! leaves a half-started server), bind, serve until Ctrl-C or SIGTERM,
//! reload on SIGHUP.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use vigil_common::web::WebConfig;

use super::RunArgs;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::server::{Handle, Options, load};

pub async fn run(args: &RunArgs) -> anyhow::Result<()> {
    vigil_common::install_crypto_provider();
    let config = match &args.config_file {
        Some(path) => Config::load(path).map_err(|e| anyhow!("bad configuration:\n{e}"))?,
        None => Config::default(),
    };
    let web = match &args.web_config_file {
        Some(path) => WebConfig::load(path).map_err(|e| anyhow!("bad web config:\n{e}"))?,
        None => WebConfig::default(),
    };
    let external_url = crate::rules::external_url::compute(
        args.external_url.as_deref(),
        args.listen_address.port(),
    )
    .map_err(|e| anyhow!("--web.external-url: {e}"))?;
    let options = Options {
        web,
        external_url: Some(external_url),
        resend_delay: args.resend_delay.as_duration(),
        admin_api: args.enable_admin_api,
        ..Options::new(args.config_file.clone(), Arc::new(SystemClock))
    };
    let tls = options.web.tls.is_some();
    let loaded = load(config, options)
        .await
        .map_err(|e| anyhow!("bad rules or state store:\n{e}"))?;
    reload_on_sighup(loaded.handle())?;
    let listener = tokio::net::TcpListener::bind(args.listen_address)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen_address))?;
    tracing::info!(address = %listener.local_addr()?, tls, "listening");
    loaded.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(unix)]
fn reload_on_sighup(handle: Handle) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if let Err(e) = handle.reload().await {
                tracing::error!(error = %e, "reload failed; keeping the running configuration");
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_sighup(_: Handle) -> anyhow::Result<()> {
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
