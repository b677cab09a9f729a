//! `vintner commit`: record the workspace's changes to tracked outputs in the cache and their
//! `.dvc` files, asking first (as DVC does) unless `--force`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{Error, Repo, commit};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Outputs or `.dvc` files; every `.dvc` file of the repository when omitted.
    targets: Vec<PathBuf>,
    /// Commit changed outputs without asking.
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    if !args.force {
        let pending = commit::pending(&repo, &args.targets, &ctx.cwd, progress.as_ref())
            .map_err(super::verb_error)?;
        // Outputs only missing from the cache are stored without asking; changes need a yes.
        let changed: Vec<&commit::Pending> = pending
            .iter()
            .filter(|p| p.state != crate::data::status::OutState::NotInCache)
            .collect();
        if !changed.is_empty() {
            if !std::io::stdin().is_terminal() {
                return Err(Error::NeedsConfirmation("commit").into());
            }
            for p in &changed {
                eprint!(
                    "output '{}' of '{}' is {}. ",
                    p.path,
                    p.dvc_file,
                    p.state.label()
                );
            }
            eprint!("Are you sure you want to commit it? [y/n] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                ctx.printer.status("Nothing committed.");
                return Ok(());
            }
        }
    }
    let committed = commit::commit(&repo, &args.targets, &ctx.cwd, progress.as_ref())
        .map_err(super::verb_error)?;
    if args.json.json {
        return ctx.printer.json(&committed);
    }
    for c in &committed {
        let verb = if c.changed { "committed" } else { "cached" };
        ctx.printer
            .status(format!("{verb:>9}  {} -> {}", c.path, c.dvc_file));
    }
    let changed: Vec<&str> = committed
        .iter()
        .filter(|c| c.changed)
        .map(|c| c.dvc_file.as_str())
        .collect();
    if !changed.is_empty() {
        ctx.printer.status(format!(
            "\nTo track the changes with git, run:\n\n\tgit add {}\n",
            changed.join(" ")
        ));
    }
    Ok(())
}
