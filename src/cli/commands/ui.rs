//! `vintner ui`: read-only web pages over the tracking store — experiments, runs with their
//! charts and lineage, comparisons and the model registry — served on loopback by default.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::Context;
use crate::cli::tracking::{self, TrackingArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on; the default serves this machine only, `0.0.0.0` opens the pages
    /// to the network (they are read-only, and unauthenticated).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 5002)]
    port: u16,
    #[command(flatten)]
    tracking: TrackingArgs,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    // Opened to read: a missing store is an error at start-up, never created.
    let tracker = tracking::open(&args.tracking, ctx)?;
    let state = crate::ui::UiState {
        tracker: Arc::from(tracker),
        registry_metric: registry_metric(ctx),
        loopback_only: args.host.is_loopback(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Failed to start the HTTP runtime")?;
    let addr = SocketAddr::new(args.host, args.port);
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            crate::cli::Hinted::new(
                format!("Failed to listen on {addr}: {e}"),
                "choose another port with `--port` (0 picks a free one) or another address \
                 with `--host`",
            )
        })?;
        let bound = listener
            .local_addr()
            .context("Failed to read the listening address")?;
        ctx.printer.status(format!(
            "Serving the tracking store {} read-only at http://{bound}/ (Ctrl-C to stop)",
            crate::redact::Redacted(state.tracker.uri())
        ));
        if !args.host.is_loopback() {
            ctx.printer.warn(format!(
                "listening on {} : anyone who can reach this address can read every run and \
                 model",
                args.host
            ));
        }
        crate::ui::serve(listener, crate::ui::app(state), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("The web server failed")?;
        anyhow::Ok(())
    })?;
    ctx.printer.status("Stopped.");
    Ok(())
}

/// The metric `register` ranks runs by, from the project's settings (the default when there
/// are none): the first metric column of the runs tables.
fn registry_metric(ctx: &Context) -> String {
    let root = crate::git::toplevel(&ctx.cwd)
        .ok()
        .flatten()
        .unwrap_or_else(|| ctx.cwd.clone());
    crate::settings::Settings::load(&root)
        .map(|s| s.registry.metric)
        .unwrap_or_else(|_| crate::settings::RegistrySettings::default().metric)
}
