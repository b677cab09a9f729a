//! `vintner serve`: serves predictions over HTTP with MLflow's scoring protocol, following the
//! registry alias when the model is named by one. The model is resolved as `infer` resolves it,
//! in a clone without a tracking store too.

use std::net::IpAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cli::commands::infer as infer_command;
use crate::cli::tracking;
use crate::cli::{Context, Hinted};
use crate::data::Repo;
use crate::pipeline::infer::{self, ModelChoice};
use crate::serve::{self, Limits, reload};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// name@alias or name/version (default: registry.model_name@registry.alias).
    #[arg(long, conflicts_with = "run")]
    model: Option<String>,
    /// Serve the model of this run instead of a registered one.
    #[arg(long)]
    run: Option<String>,
    /// Address to listen on; 0.0.0.0 (every interface) only when asked.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(short, long, default_value_t = 5000)]
    port: u16,
    /// Seconds between looks at the registry alias (0: never look again).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    poll_interval: f64,
    /// Largest request body in bytes (413 above it).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Most rows in one request (413 above it).
    #[arg(long, value_name = "ROWS", default_value_t = Limits::default().max_rows)]
    max_rows: usize,
    /// Seconds to answer one request before giving up with 504 (MLflow's variable is read too).
    #[arg(
        long,
        value_name = "SECS",
        env = "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT",
        default_value_t = 60.0
    )]
    timeout: f64,
    /// Most requests predicted at once; more wait their turn (default: 2 × cores, at least 4).
    #[arg(long, value_name = "N")]
    max_concurrency: Option<usize>,
    /// Tracking store (default: MLFLOW_TRACKING_URI, vintner.toml, then ./mlflow.db; with none
    /// of them and no mlflow.db, the model git versions: `<model.output>.dvc` at HEAD).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let started = Instant::now();
    let limits = limits(&args)?;
    let repo = Repo::find(&ctx.cwd)?;
    let settings = Settings::load(&repo.root)?;
    let uri = tracking::resolve_at(args.tracking_uri.as_deref(), &settings, &repo.root, ctx)?;

    // Listen before loading: a port in use is reported at once, not after the model loads.
    // Connections that arrive meanwhile wait in the backlog and are answered once it is ready.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind((args.host, args.port)))
        .map_err(|e| {
            Hinted::new(
                format!("Failed to listen on {}:{}: {e}", args.host, args.port),
                "pick another port with `--port`, or stop what is listening there",
            )
        })?;
    let address = listener.local_addr()?;

    // Resolved as `infer` resolves it: through the tracking store, or in a clone without one,
    // the model git versions.
    let (tracker, choice, resolved) = match infer_command::open_store(&uri, &repo)? {
        Ok(tracker) => {
            let choice = match &args.run {
                Some(id) => ModelChoice::Run(id.clone()),
                None => ModelChoice::parse(&args.model.clone().unwrap_or_else(|| {
                    format!(
                        "{}@{}",
                        settings.registry.model_name, settings.registry.alias
                    )
                }))?,
            };
            let resolved = infer::resolve(tracker.as_ref(), &choice)?;
            (Some(tracker), Some(choice), resolved)
        }
        Err(missing) => {
            let flag = match (&args.model, &args.run) {
                (Some(m), _) => Some(format!("`--model {m}`")),
                (None, Some(r)) => Some(format!("`--run {r}`")),
                (None, None) => None,
            };
            let resolved =
                infer_command::versioned_model("serve", flag, &missing, &repo, &settings, ctx)?;
            (None, None, resolved)
        }
    };
    let resolved_in = started.elapsed();
    let progress = ctx.printer.progress();
    let (served, repairs) = reload::load(&repo, &resolved, progress.as_ref())?;
    drop(progress);
    tracing::debug!(
        "model {} resolved in {} ms, fetched, verified and loaded in {} ms",
        resolved.label,
        resolved_in.as_millis(),
        (started.elapsed() - resolved_in).as_millis()
    );
    for r in &repairs {
        ctx.printer.warn(format!("repaired: {r}"));
    }
    let what = format!(
        "{} (version {}, {})",
        served.label, served.version, served.md5
    );
    let state = serve::State::new(limits, Some(served));
    ctx.printer.status(format!(
        "serving {what} on http://{address} (POST /invocations; ready in {} ms)",
        started.elapsed().as_millis()
    ));
    let watch = match (&tracker, choice) {
        (Some(tracker), Some(choice @ ModelChoice::Alias { .. })) if args.poll_interval > 0.0 => {
            ctx.printer.status(format!(
                "following {} every {} s",
                resolved.label, args.poll_interval
            ));
            Some(reload::Watch {
                tracker: tracker.as_ref(),
                repo: &repo,
                choice,
                every: Duration::from_secs_f64(args.poll_interval),
            })
        }
        _ => None,
    };
    let notify = |event: &reload::Event| match event {
        reload::Event::Swapped {
            label,
            from,
            to,
            repaired,
        } => {
            for r in repaired {
                ctx.printer.warn(format!("repaired: {r}"));
            }
            ctx.printer.status(format!(
                "{label} moved: now serving version {to} (was {from})"
            ));
        }
        reload::Event::Failed { version, error } => ctx.printer.warn(match version {
            Some(v) => {
                format!("version {v} was not swapped in, the old model keeps serving: {error}")
            }
            None => format!("could not read the registry, the model keeps serving: {error}"),
        }),
        reload::Event::Recovered => ctx.printer.status("the registry answers again"),
    };
    let result = std::thread::scope(|scope| {
        let (stop, stopped) = mpsc::channel::<()>();
        if let Some(watch) = &watch {
            let state = &state;
            let notify = &notify;
            scope.spawn(move || reload::watch(state, watch, &stopped, notify));
        }
        let (signalled, signal) = tokio::sync::oneshot::channel();
        let result = runtime.block_on(async {
            let server = serve::run(listener, state.clone(), async move {
                let _ = signalled.send(shutdown_signal().await);
            });
            let announce = async {
                if let Ok(signal) = signal.await {
                    ctx.printer.status(format!(
                        "{signal}: finishing the requests in flight, then stopping"
                    ));
                }
            };
            tokio::join!(server, announce).0
        });
        drop(stop);
        result
    });
    result?;
    ctx.printer.status("stopped");
    Ok(())
}

/// Typed limits from the flags, refusing values that cannot work.
fn limits(args: &Args) -> anyhow::Result<Limits> {
    let seconds = |flag: &str, v: f64| -> anyhow::Result<Duration> {
        Duration::try_from_secs_f64(v)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                Hinted::new(
                    format!("`{flag} {v}` is not a positive number of seconds"),
                    format!("give {flag} a number of seconds above 0, e.g. `{flag} 30`"),
                )
                .into()
            })
    };
    if !(args.poll_interval >= 0.0 && args.poll_interval.is_finite()) {
        return Err(Hinted::new(
            format!(
                "`--poll-interval {}` is not a number of seconds",
                args.poll_interval
            ),
            "give --poll-interval seconds, or 0 to never look at the registry again",
        )
        .into());
    }
    for (flag, value) in [
        ("--max-body-bytes", args.max_body_bytes),
        ("--max-rows", args.max_rows),
        ("--max-concurrency", args.max_concurrency.unwrap_or(1)),
    ] {
        if value == 0 {
            return Err(Hinted::new(
                format!("`{flag} 0` would refuse every request"),
                format!("give {flag} a number above 0"),
            )
            .into());
        }
    }
    Ok(Limits {
        max_body_bytes: args.max_body_bytes,
        max_rows: args.max_rows,
        timeout: seconds("--timeout", args.timeout)?,
        concurrency: args
            .max_concurrency
            .unwrap_or(Limits::default().concurrency),
    })
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM and says which came.
async fn shutdown_signal() -> &'static str {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                    "terminated"
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            s = ctrl_c => s,
            s = term => s,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await
}
