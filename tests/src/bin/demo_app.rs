//! `vigil-demo-app`: the demo app as a process, for `scripts/demo` and for
//! tests that put it behind HAProxy. See `vigil_tests::demo_app`.

use std::net::SocketAddr;

use clap::Parser;
use vigil_tests::demo_app::{AppOptions, AppState, serve};

/// A tiny API instance with /health, /ready, /live and POST /admin/state.
#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3001")]
    listen: SocketAddr,
    /// The `instance` field of its answers.
    #[arg(long, default_value = "api-1")]
    instance: String,
    /// The `version` field of /health.
    #[arg(long = "version", id = "app_version", default_value = "1.0.0")]
    app_version: String,
    /// The state it starts in: healthy, degraded, unhealthy, slow or down.
    #[arg(long, default_value = "healthy")]
    state: AppState,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let opts = AppOptions {
        instance: args.instance,
        version: args.app_version,
        initial: args.state,
    };
    eprintln!(
        "vigil-demo-app {} listening on {}",
        opts.instance, args.listen
    );
    serve(listener, opts, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
