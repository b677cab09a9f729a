//! `vintner gc -w`: remove cache objects the workspace's `.dvc` files do not reference.

use std::io::{BufRead, IsTerminal, Write};

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{Error, Repo, gc};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep only what the workspace's `.dvc` files reference (required, as in DVC).
    #[arg(short, long, required = true)]
    workspace: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Only list what would be removed.
    #[arg(long)]
    dry: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let _ = args.workspace;
    if !args.dry && !args.force {
        let preview = gc::gc(&repo, true)?;
        if preview.removed.is_empty() {
            ctx.printer.status("No unused cache to remove.");
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(Error::NeedsConfirmation("gc").into());
        }
        eprint!(
            "This will remove {} unused object(s) from the cache. Are you sure you want to proceed? [y/n] ",
            preview.removed.len()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            ctx.printer.status("Nothing removed.");
            return Ok(());
        }
    }
    let report = gc::gc(&repo, args.dry)?;
    if args.json.json {
        return ctx.printer.json(&report);
    }
    if args.dry {
        for r in &report.removed {
            ctx.printer.data(r);
        }
        ctx.printer.status(format!(
            "Would remove {} object(s) from the cache.",
            report.removed.len()
        ));
    } else if report.removed.is_empty() {
        ctx.printer.status("No unused cache to remove.");
    } else {
        ctx.printer.status(format!(
            "Removed {} object(s) from the cache.",
            report.removed.len()
        ));
    }
    Ok(())
}
