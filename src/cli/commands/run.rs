//! `vintner run`: run any command as a tracked MLflow run, then version and push its outputs.

use std::ffi::OsString;
use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::{Context, Exit, Hinted, report};
use crate::data::Repo;
use crate::pipeline::run::{self, RunOptions};
use crate::settings::Settings;
use crate::track::TrackingUri;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run name (default: a generated adjective-noun-number, as MLflow).
    #[arg(long)]
    name: Option<String>,
    /// Experiment name instead of vintner.toml's.
    #[arg(long)]
    experiment: Option<String>,
    /// A file or folder the command writes: versioned, pushed and recorded on the run when the
    /// command succeeds (repeatable).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    outputs: Vec<PathBuf>,
    /// A file or folder the command reads: verified (pulled when missing) and recorded
    /// (repeatable; default: data.paths of vintner.toml).
    #[arg(short = 'd', long = "dep", value_name = "PATH")]
    deps: Vec<PathBuf>,
    /// Data remote for the outputs (default: the default remote).
    #[arg(short, long)]
    remote: Option<String>,
    /// Tracking store (default: MLFLOW_TRACKING_URI, VINTNER_TRACKING_URI, vintner.toml, then ./mlflow.db).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
    /// The command and its arguments, after `--`.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<OsString>,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    crate::interrupt::install()?;
    let repo = Repo::find(&ctx.cwd)?;
    let settings = Settings::load(&repo.root)?;
    let uri =
        crate::cli::tracking::resolve_at(args.tracking_uri.as_deref(), &settings, &repo.root, ctx)?;
    let tracker = crate::cli::tracking::open_uri(&uri, crate::track::Access::Write)?;
    // The URI the command's own MLflow client opens: the same store, credentials included.
    let child_tracking_uri = match &uri {
        TrackingUri::Sqlite { .. } => uri.to_string(),
        TrackingUri::Http { url, .. } => url.clone(),
    };
    let opts = RunOptions {
        command: args.command,
        cwd: ctx.cwd.clone(),
        run_name: args.name,
        experiment: args.experiment,
        outputs: args.outputs,
        deps: args.deps,
        remote: args.remote,
        child_tracking_uri,
        stdout_to_stderr: args.json.json,
    };
    let progress = ctx.printer.progress();
    let report_ = match run::run(&repo, &settings, tracker.as_ref(), &opts, progress.as_ref()) {
        Err(crate::pipeline::Error::Interrupted(interrupted)) => {
            return Err(Hinted::new(
                format!("Run stopped: {interrupted}"),
                "the run (if it had started) is marked KILLED and nothing was versioned",
            )
            .into());
        }
        Err(e @ crate::pipeline::Error::CommandFailed { code, .. }) => {
            // As a shell would: the command's own exit code, after the explanation.
            report(&ctx.printer, &e.into());
            return Err(Exit(code.clamp(1, 255) as u8).into());
        }
        Err(e @ crate::pipeline::Error::CommandKilled { signal, .. }) => {
            report(&ctx.printer, &e.into());
            return Err(Exit((128 + signal).clamp(1, 255) as u8).into());
        }
        other => other?,
    };
    if args.json.json {
        return ctx.printer.json(&report_);
    }
    let p = &ctx.printer;
    p.data(format!("run_id      {}", report_.run_id));
    p.status(format!(
        "run         {} in experiment `{}` ({}): FINISHED",
        report_.run_name, report_.experiment, report_.tracking_uri
    ));
    for d in &report_.deps {
        p.status(format!("dependency  {} (md5 {})", d.path, d.md5));
    }
    for o in &report_.outputs {
        p.status(format!(
            "versioned   {} (md5 {}), pushed to remote `{}`",
            o.path, o.md5, o.remote
        ));
    }
    if !report_.git_add.is_empty() {
        p.status(format!(
            "\nTo commit the outputs' versions with the code, run:\n\n\tgit add {}\n\tgit commit -m \"Run {}\"\n",
            report_.git_add.join(" "),
            report_.run_name
        ));
    }
    Ok(())
}
