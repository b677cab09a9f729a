//! `vintner data status`: what the `.dvc` files changed since the last commit, what the workspace
//! changed since the `.dvc` files, and what the cache lacks — laid out as `dvc data status`
//! lays it out, with the same `--json`.

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::Repo;
use crate::data::data_status::{self, Changes};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Changes between the last git commit, the `.dvc` files and the workspace.
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// Outputs, `.dvc` files' outputs or folders to limit the report to.
    targets: Vec<PathBuf>,
    /// Show the files inside tracked folders.
    #[arg(long)]
    granular: bool,
    /// Also list tracked paths that did not change.
    #[arg(long)]
    unchanged: bool,
    #[command(flatten)]
    json: JsonFlag,
}

/// The hints DVC prints under each heading, with this tool's commands.
const NOT_IN_CACHE: (&str, &[&str]) = (
    "Not in cache",
    &["use \"vintner fetch <file>...\" to download files"],
);
const COMMITTED: (&str, &[&str]) = (
    "DVC committed changes",
    &["git commit the corresponding dvc files to update the repo"],
);
const UNCOMMITTED: (&str, &[&str]) = (
    "DVC uncommitted changes",
    &[
        "use \"vintner commit <file>...\" to track changes",
        "use \"vintner checkout <file>...\" to discard changes",
    ],
);
const UNCHANGED: (&str, &[&str]) = ("DVC unchanged files", &[]);

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let Sub::Status(args) = args.command;
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let status = data_status::data_status(
        &repo,
        &args.targets,
        &ctx.cwd,
        args.granular,
        args.unchanged,
        progress.as_ref(),
    )?;
    if args.json.json {
        return ctx.printer.json(&status);
    }
    let items = |c: &Changes| -> Vec<String> {
        c.0.iter()
            .flat_map(|(kind, items)| items.iter().map(move |i| format!("{kind}: {i}")))
            .collect()
    };
    let sections = [
        (NOT_IN_CACHE, status.not_in_cache.clone()),
        (COMMITTED, items(&status.committed)),
        (UNCOMMITTED, items(&status.uncommitted)),
        (UNCHANGED, status.unchanged.clone()),
    ];
    let p = &ctx.printer;
    let mut any = false;
    for ((label, hints), lines) in sections {
        if lines.is_empty() {
            continue;
        }
        if any {
            p.data("");
        }
        any = true;
        p.data(format!("{label}:"));
        for hint in hints {
            p.data(format!("  ({hint})"));
        }
        for line in lines {
            p.data(format!("{:8}{line}", ""));
        }
    }
    if !any {
        let empty = if status.git_empty {
            " in an empty git repo"
        } else {
            ""
        };
        p.data(format!("No changes{empty}."));
    }
    if status.git_dirty {
        let other = if any { "other " } else { "" };
        p.data(format!(
            "(there are {other}changes not tracked by dvc, use \"git status\" to see)"
        ));
    }
    Ok(())
}
