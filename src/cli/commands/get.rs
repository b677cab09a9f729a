//! `vintner get`: exact, verified bytes, in two forms. `get [name@alias | name/version |
//! models:/… | --run ID]` writes a registered model or a run's output (resolved through the
//! tracker, fetched from the data remote, md5-checked); `get <repo> <path>` copies a file or
//! folder out of another DVC repository (a local path or a `file://` URL) as `dvc get` does.

use std::path::{Path, PathBuf};

use super::JsonFlag;
use crate::cli::{Context, Hinted};
use crate::data::Repo;
use crate::data::get::GetError;
use crate::pipeline::get::GetChoice;
use crate::pipeline::infer::ModelChoice;
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model (name@alias, name/version or models:/…; default: registry.model_name@
    /// registry.alias), or, with a second argument, another DVC repository (a local path or a
    /// `file://` URL).
    #[arg(value_name = "MODEL|REPO")]
    first: Option<String>,
    /// With a repository: the file or folder inside it.
    #[arg(value_name = "PATH", conflicts_with = "run")]
    second: Option<String>,
    /// Get an output of this run instead of a registered model.
    #[arg(long, conflicts_with = "first")]
    run: Option<String>,
    /// With --run: the output (or recorded data file) to get, by its path in the repository
    /// (default: the run's model, or its only output).
    #[arg(long = "path", requires = "run", value_name = "OUTPUT")]
    run_path: Option<String>,
    /// Where to write it (default: its file name, in the current folder).
    #[arg(short = 'o', long = "out", value_name = "PATH")]
    out: Option<PathBuf>,
    /// With a repository: the git revision (branch, tag, commit) to take it from.
    #[arg(long, requires = "second")]
    rev: Option<String>,
    /// Replace a different file already at the destination.
    #[arg(short, long)]
    force: bool,
    /// Tracking store for a model (default: MLFLOW_TRACKING_URI, vintner.toml, then ./mlflow.db).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    match (&args.first, &args.second) {
        (Some(url), Some(path)) => get_from_repo(url, path, &args, ctx),
        _ => get_model(args, ctx),
    }
}

/// `get <repo> <path>`, as `dvc get`.
fn get_from_repo(url: &str, path: &str, args: &Args, ctx: &Context) -> anyhow::Result<()> {
    let progress = ctx.printer.progress();
    let got = crate::data::get::get(
        url,
        path,
        args.rev.as_deref(),
        args.out.as_deref(),
        &ctx.cwd,
        args.force,
        progress.as_ref(),
    )
    .map_err(get_error)?;
    if args.json.json {
        return ctx.printer.json(&got);
    }
    ctx.printer.status(format!(
        "got  {} ({})",
        got.path.display(),
        super::files(got.files)
    ));
    Ok(())
}

/// `get [model | --run ID]`: the exact bytes a registered model or a run recorded.
fn get_model(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let settings = Settings::load(&repo.root)?;
    let tracker =
        crate::cli::tracking::open_at(args.tracking_uri.as_deref(), &settings, &repo.root, ctx)?;
    let choice = match args.run {
        Some(id) => GetChoice::Run {
            id,
            path: args.run_path,
        },
        None => {
            let text = args.first.unwrap_or_else(|| {
                format!(
                    "{}@{}",
                    settings.registry.model_name, settings.registry.alias
                )
            });
            GetChoice::Model(ModelChoice::parse(&text)?)
        }
    };
    let (label, run_id, model) = crate::pipeline::get::resolve(tracker.as_ref(), &choice)?;
    let dest = match args.out {
        Some(p) => ctx.cwd.join(p),
        None => ctx.cwd.join(
            Path::new(&model.path)
                .file_name()
                .unwrap_or(std::ffi::OsStr::new("model")),
        ),
    };
    let progress = ctx.printer.progress();
    let got = crate::pipeline::get::get(
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

/// A `get`/`import`/`update` error as the CLI reports it, with its hint.
pub(crate) fn get_error(e: GetError) -> anyhow::Error {
    match e {
        GetError::External(x) => super::ls::external_error(x),
        other => {
            let hint = other.hint().unwrap_or_default();
            Hinted::new(other.to_string(), hint).into()
        }
    }
}
