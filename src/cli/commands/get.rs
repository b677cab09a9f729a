//! `vintner get`: the exact, verified bytes of a registered model or of a run's output.

use std::path::{Path, PathBuf};

use super::JsonFlag;
use crate::cli::Context;
use crate::data::Repo;
use crate::pipeline::get::{self, GetChoice};
use crate::pipeline::infer::ModelChoice;
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// name@alias, name/version or models:/… (default: registry.model_name@registry.alias).
    #[arg(conflicts_with = "run")]
    model: Option<String>,
    /// Get an output of this run instead of a registered model.
    #[arg(long)]
    run: Option<String>,
    /// With --run: the output (or recorded data file) to get, by its path in the repository
    /// (default: the run's model, or its only output).
    #[arg(long, requires = "run", value_name = "OUTPUT")]
    path: Option<String>,
    /// Where to write it (default: its file name, in the current folder).
    #[arg(short = 'o', long = "out", value_name = "PATH")]
    out: Option<PathBuf>,
    /// Replace a different file already at the destination.
    #[arg(long)]
    force: bool,
    /// Tracking store (default: MLFLOW_TRACKING_URI, vintner.toml, then ./mlflow.db).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let settings = Settings::load(&repo.root)?;
    let tracker =
        crate::cli::tracking::open_at(args.tracking_uri.as_deref(), &settings, &repo.root, ctx)?;
    let choice = match args.run {
        Some(id) => GetChoice::Run {
            id,
            path: args.path,
        },
        None => {
            let text = args.model.unwrap_or_else(|| {
                format!(
                    "{}@{}",
                    settings.registry.model_name, settings.registry.alias
                )
            });
            GetChoice::Model(ModelChoice::parse(&text)?)
        }
    };
    let (label, run_id, model) = get::resolve(tracker.as_ref(), &choice)?;
    let dest = match args.out {
        Some(p) => ctx.cwd.join(p),
        None => ctx.cwd.join(
            Path::new(&model.path)
                .file_name()
                .unwrap_or(std::ffi::OsStr::new("model")),
        ),
    };
    let progress = ctx.printer.progress();
    let got = get::get(
        &repo,
        &label,
        &run_id,
        &model,
        &dest,
        args.force,
        progress.as_ref(),
    )?;
    for r in &got.repaired {
        ctx.printer.warn(format!("repaired: {r}"));
    }
    if args.json.json {
        return ctx.printer.json(&got);
    }
    ctx.printer.data(got.destination.display().to_string());
    ctx.printer.status(format!(
        "{} {} of {} (run {}, md5 {}){}",
        if got.written {
            "Wrote"
        } else {
            "Already there:"
        },
        got.path,
        got.source,
        got.run_id,
        got.md5,
        if got.written {
            format!(" to {}", got.destination.display())
        } else {
            String::new()
        }
    ));
    Ok(())
}
