//! `vintner update`: bring imports (`.dvc` files `vintner import` or `dvc import` wrote) to the
//! newest commit of the revision they follow, or to `--rev`.

use std::path::PathBuf;

use super::JsonFlag;
use super::get::get_error;
use crate::cli::Context;
use crate::data::{Repo, get};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Import `.dvc` files.
    #[arg(required = true)]
    targets: Vec<PathBuf>,
    /// Follow this git revision from now on.
    #[arg(long)]
    rev: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let done = get::update(
        &repo,
        &args.targets,
        &ctx.cwd,
        args.rev.as_deref(),
        progress.as_ref(),
    )
    .map_err(get_error)?;
    if args.json.json {
        return ctx.printer.json(&done);
    }
    for d in &done {
        if d.changed {
            ctx.printer.report(format!(
                "Importing '{} ({})' -> '{}'",
                d.source, d.url, d.path
            ));
        } else {
            ctx.printer
                .report(format!("'{}' didn't change, skipping", d.dvc_file));
        }
    }
    Ok(())
}
