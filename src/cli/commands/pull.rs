//! `vintner pull`: fetch (verified) then checkout. Like `dvc pull`, it restores every output it
//! can, then fails naming the outputs whose data is in neither the cache nor the remote (and,
//! unlike DVC, leaves those as they were).

use serde::Serialize;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::checkout::{self, CheckoutOptions, Stats};
use crate::data::transfer::{self, TransferReport};
use crate::data::{Repo, index};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    transfer: super::TransferArgs,
    /// Overwrite or delete workspace files whose content is not in the cache.
    #[arg(short, long)]
    force: bool,
    /// Succeed even if the data of some outputs is missing (they are left as they are).
    #[arg(long)]
    allow_missing: bool,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Serialize)]
struct Report<'a> {
    fetch: &'a TransferReport,
    changed: &'a [checkout::Changed],
    /// Outputs that could not be checked out (shown from the current folder).
    failed: &'a [String],
    stats: Stats,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let targets = &args.transfer.targets;
    // Fetched: the workspace's outputs and those of the other revisions asked for; checked
    // out: the workspace's only, as DVC does.
    let outs = index::collect_outputs(&repo, targets, &ctx.cwd)?;
    let wanted = super::collect_outs(&repo, targets, args.transfer.revs, &ctx.cwd)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let opts = args.transfer.options();
    let fetched = transfer::fetch_all(&repo, &cache, &wanted, &opts, progress.as_ref())
        .map_err(|e| super::explain_no_remote(e.into(), &repo, "pull"))?;
    let done = checkout::checkout_all(
        &repo,
        &outs,
        CheckoutOptions {
            force: args.force,
            relink: false,
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
            fetch: &fetched,
            changed: &done.changed,
            failed: &failed,
            stats: done.stats,
        })?;
    } else {
        super::checkout::print_changes(ctx, &done.changed);
        let mut missing = fetched.missing.clone();
        missing.extend(done.missing.iter().cloned());
        missing.sort();
        missing.dedup();
        super::warn_missing(ctx, &missing);
        ctx.printer.status(super::summary(&[
            (fetched.transferred, "fetched"),
            (done.stats.modified, "modified"),
            (done.stats.added, "added"),
            (done.stats.deleted, "deleted"),
        ]));
    }
    if !fetched.failed.is_empty() {
        return Err(super::download_failed(&fetched.failed));
    }
    if !done.failed.is_empty() && !args.allow_missing {
        return Err(super::checkout_failed(&done.failed, &ctx.cwd));
    }
    Ok(())
}
