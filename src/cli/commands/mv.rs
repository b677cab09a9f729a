//! `vintner move` (`mv`): rename a tracked output, its `.dvc` file and its `.gitignore` entry
//! together, as `dvc move` does.

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{Repo, rename};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tracked output to move.
    src: PathBuf,
    /// Where to (a new path, or an existing folder to move it into).
    dst: PathBuf,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let moved = rename::move_output(&repo, &args.src, &args.dst, &ctx.cwd, progress.as_ref())
        .map_err(super::verb_error)?;
    if args.json.json {
        return ctx.printer.json(&moved);
    }
    if !moved.data_moved {
        ctx.printer.warn(format!(
            "`{}` is missing; only its `.dvc` file changed",
            moved.from
        ));
    }
    ctx.printer.status(format!(
        "moved  {} -> {} ({} -> {})",
        moved.from, moved.to, moved.dvc_from, moved.dvc_to
    ));
    ctx.printer.status(format!(
        "\nTo track the changes with git, run:\n\n\tgit add {}\n",
        moved.git_add.join(" ")
    ));
    Ok(())
}
