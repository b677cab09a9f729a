//! `vintner freeze`: mark `.dvc` files `frozen: true`, as `dvc freeze` does.

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{Repo, freeze};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `.dvc` files.
    #[arg(required = true)]
    targets: Vec<PathBuf>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    set(args, ctx, true)
}

/// `freeze` and `unfreeze`.
pub(super) fn set(args: Args, ctx: &Context, frozen: bool) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let report =
        freeze::set_frozen(&repo, &args.targets, &ctx.cwd, frozen).map_err(super::verb_error)?;
    if args.json.json {
        return ctx.printer.json(&report);
    }
    let verb = if frozen { "frozen" } else { "unfrozen" };
    for f in &report {
        let note = if f.changed { "" } else { " (already)" };
        ctx.printer.status(format!("{verb}  {}{note}", f.dvc_file));
    }
    Ok(())
}
