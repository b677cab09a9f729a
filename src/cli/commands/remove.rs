//! `vintner remove` (`rm`): stop tracking outputs — delete their `.dvc` files and `.gitignore`
//! entries, keeping the data as plain files, or deleting it too with `--outs`.

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{Repo, remove};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `.dvc` files to remove.
    #[arg(required = true)]
    targets: Vec<PathBuf>,
    /// Delete the outputs from the workspace as well.
    #[arg(long)]
    outs: bool,
    /// With `--outs`, also delete outputs whose content is not in the cache (it is lost).
    #[arg(short, long, requires = "outs")]
    force: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let removed = remove::remove(
        &repo,
        &args.targets,
        &ctx.cwd,
        args.outs,
        args.force,
        progress.as_ref(),
    )
    .map_err(super::verb_error)?;
    if args.json.json {
        return ctx.printer.json(&removed);
    }
    for r in &removed {
        let what = if r.outs_deleted {
            "and its outputs"
        } else {
            "(the data stays in the workspace)"
        };
        ctx.printer
            .status(format!("removed  {} {what}", r.dvc_file));
    }
    let mut to_stage: Vec<&str> = Vec::new();
    for r in &removed {
        to_stage.push(&r.dvc_file);
        to_stage.extend(r.gitignores.iter().map(String::as_str));
    }
    if !to_stage.is_empty() {
        ctx.printer.status(format!(
            "\nTo track the changes with git, run:\n\n\tgit add {}\n",
            to_stage.join(" ")
        ));
    }
    Ok(())
}
