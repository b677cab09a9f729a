//! `vintner gc -w`: remove cache objects the workspace's `.dvc` files (and with `-a`/`-T`/
//! `--all-commits`, those of other git revisions) do not reference, and the copies `infer`
//! unpacked of them.

use std::io::{BufRead, IsTerminal, Write};

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{Error, Repo, gc};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep what the workspace's `.dvc` files reference (always kept; this or a revision flag
    /// is required, as in DVC).
    #[arg(short, long, required_unless_present_any = ["all_branches", "all_tags", "all_commits"])]
    workspace: bool,
    /// Also keep what the `.dvc` files of other git revisions reference.
    #[command(flatten)]
    revs: super::RevArgs,
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
        let preview = gc::gc(&repo, true, args.revs.revisions())?;
        if preview.removed.is_empty() && preview.unpacked_removed.is_empty() {
            ctx.printer.status("No unused cache to remove.");
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(Error::NeedsConfirmation("gc").into());
        }
        eprint!(
            "This will remove {}. Are you sure you want to proceed? [y/n] ",
            amounts(&preview, "unused ")
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            ctx.printer.status("Nothing removed.");
            return Ok(());
        }
    }
    let report = gc::gc(&repo, args.dry, args.revs.revisions())?;
    if args.json.json {
        return ctx.printer.json(&report);
    }
    if args.dry {
        for r in &report.removed {
            ctx.printer.data(r);
        }
        for r in &report.unpacked_removed {
            ctx.printer.data(format!("{UNPACKED}/{r}"));
        }
        ctx.printer
            .status(format!("Would remove {}.", amounts(&report, "")));
    } else if report.removed.is_empty() && report.unpacked_removed.is_empty() {
        ctx.printer.status("No unused cache to remove.");
    } else {
        ctx.printer
            .status(format!("Removed {}.", amounts(&report, "")));
    }
    Ok(())
}

/// Where `infer` unpacks models and data, relative to the repository root.
const UNPACKED: &str = ".dvc/tmp/vintner";

/// `3 object(s) from the cache and 2 unpacked model or data copies from .dvc/tmp/vintner`.
fn amounts(report: &gc::GcReport, adjective: &str) -> String {
    let objects = format!(
        "{} {adjective}object(s) from the cache",
        report.removed.len()
    );
    match report.unpacked_removed.len() {
        0 => objects,
        n => format!("{objects} and {n} unpacked model or data copies from {UNPACKED}"),
    }
}
