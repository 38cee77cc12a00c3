//! `vigil run`: load everything first (a bad config or rule file never
//! leaves a half-started server), bind, serve until Ctrl-C or SIGTERM,
//! reload on SIGHUP.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use vigil_common::web::WebConfig;

use super::RunArgs;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::server::Vigil;

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
    let vigil = Arc::new(Vigil::build(
        config,
        args.config_file.clone(),
        Arc::new(SystemClock),
    ));
    let external_url = crate::rules::external_url::compute(
        args.external_url.as_deref(),
        args.listen_address.port(),
    )
    .map_err(|e| anyhow!("--web.external-url: {e}"))?;
    vigil.set_external_url(external_url);
    vigil.set_resend_delay(args.resend_delay.as_duration());
    vigil.set_admin_api(args.enable_admin_api);
    vigil
        .load_rules()
        .await
        .map_err(|e| anyhow!("bad rules or state store:\n{e}"))?;
    reload_on_sighup(vigil.clone())?;
    let listener = tokio::net::TcpListener::bind(args.listen_address)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen_address))?;
    tracing::info!(address = %listener.local_addr()?, tls = web.tls.is_some(), "listening");
    vigil.serve(listener, &web, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(unix)]
fn reload_on_sighup(vigil: Arc<Vigil>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if let Err(e) = vigil.reload().await {
                tracing::error!(error = %e, "reload failed; keeping the running configuration");
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_sighup(_: Arc<Vigil>) -> anyhow::Result<()> {
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
