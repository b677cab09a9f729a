//! `vintner checkout`: restore the workspace from the cache as the `.dvc` files describe it.

use std::path::PathBuf;

use serde::Serialize;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::Repo;
use crate::data::checkout::{self, Change, Changed};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Outputs or `.dvc` files; every `.dvc` file of the repository when omitted.
    targets: Vec<PathBuf>,
    /// Overwrite or delete workspace files whose content is not in the cache.
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    json: JsonFlag,
}

/// Prints DVC's `A       path` / `M       dir/` lines (none with `--quiet`, as DVC).
pub(crate) fn print_changes(ctx: &Context, changed: &[Changed]) {
    for c in changed {
        let letter = match c.change {
            Change::Added => 'A',
            Change::Modified => 'M',
        };
        let slash = if c.is_dir { "/" } else { "" };
        ctx.printer
            .report(format!("{letter}       {}{slash}", c.path));
    }
}

#[derive(Serialize)]
struct Report<'a> {
    changed: &'a [Changed],
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let changed = checkout::checkout(
        &repo,
        &args.targets,
        &ctx.cwd,
        args.force,
        progress.as_ref(),
    )?;
    if args.json.json {
        return ctx.printer.json(&Report { changed: &changed });
    }
    print_changes(ctx, &changed);
    Ok(())
}
