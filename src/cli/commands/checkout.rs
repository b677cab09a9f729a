//! `vintner checkout`: restore the workspace from the cache as the `.dvc` files describe it.
//! Like `dvc checkout`, it restores every output it can, then fails naming the outputs whose
//! data the cache lacks (and, unlike DVC, leaves those as they were).

use std::path::PathBuf;

use serde::Serialize;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::checkout::{self, Change, Changed, CheckoutOptions, Stats};
use crate::data::{Repo, index};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Outputs, `.dvc` files, paths inside tracked folders, or folders holding `.dvc` files;
    /// every `.dvc` file of the repository when omitted.
    targets: Vec<PathBuf>,
    /// Overwrite or delete workspace files whose content is not in the cache.
    #[arg(short, long)]
    force: bool,
    /// Write every file again from the cache with the configured link type (`cache.type`).
    #[arg(long)]
    relink: bool,
    /// Check out every `.dvc` file inside the folders given as targets.
    #[arg(short = 'R', long)]
    recursive: bool,
    /// Succeed even if the data of some outputs is missing (they are left as they are).
    #[arg(long)]
    allow_missing: bool,
    #[command(flatten)]
    json: JsonFlag,
}

/// Prints DVC's `M       dir/` / `A       path` lines, modified before added and folders
/// before files, each group sorted (none with `--quiet`, as DVC).
pub(crate) fn print_changes(ctx: &Context, changed: &[Changed]) {
    let mut sorted: Vec<&Changed> = changed.iter().collect();
    sorted.sort_by(|a, b| {
        let rank = |c: &Changed| (c.change == Change::Added, !c.is_dir);
        rank(a).cmp(&rank(b)).then_with(|| a.path.cmp(&b.path))
    });
    for c in sorted {
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
    /// Outputs that could not be checked out (shown from the current folder).
    failed: &'a [String],
    stats: Stats,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    for t in args.targets.iter().filter(|_| args.recursive) {
        let abs = ctx.cwd.join(t);
        if !abs.is_dir() {
            return Err(crate::cli::Hinted::new(
                format!("`{}` is not a folder", t.display()),
                "`-R` checks out the `.dvc` files inside the folders given; drop it for a file",
            )
            .into());
        }
    }
    let done = checkout::checkout(
        &repo,
        &args.targets,
        &ctx.cwd,
        CheckoutOptions {
            force: args.force,
            relink: args.relink,
        },
        progress.as_ref(),
    )?;
    let failed: Vec<String> = done
        .failed
        .iter()
        .map(|p| index::shown_from(p, &ctx.cwd))
        .collect();
    if args.json.json {
        ctx.printer.json(&Report {
            changed: &done.changed,
            failed: &failed,
            stats: done.stats,
        })?;
    } else {
        print_changes(ctx, &done.changed);
        super::warn_missing(ctx, &done.missing);
    }
    if !done.failed.is_empty() && !args.allow_missing {
        return Err(super::checkout_failed(&done.failed, &ctx.cwd));
    }
    if args.relink && !args.json.json {
        ctx.printer.report("Relinked successfully");
    }
    Ok(())
}
