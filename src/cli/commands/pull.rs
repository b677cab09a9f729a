//! `vintner pull`: fetch (verified) then checkout.

use serde::Serialize;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::transfer::{self, TransferReport};
use crate::data::{Repo, checkout, index};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    transfer: super::TransferArgs,
    /// Overwrite or delete workspace files whose content is not in the cache.
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Serialize)]
struct Report<'a> {
    fetch: &'a TransferReport,
    changed: &'a [checkout::Changed],
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let outs = index::collect(&repo, &args.transfer.targets, &ctx.cwd)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let opts = args.transfer.options();
    let fetched = transfer::fetch_outs(&repo, &cache, &outs, &opts, progress.as_ref())?;
    let changed = checkout::checkout_outs(&repo, &outs, args.force, progress.as_ref())?;
    if args.json.json {
        return ctx.printer.json(&Report {
            fetch: &fetched,
            changed: &changed,
        });
    }
    super::checkout::print_changes(ctx, &changed);
    ctx.printer.status(format!(
        "{} fetched, {} output{} changed",
        super::files(fetched.transferred),
        changed.len(),
        if changed.len() == 1 { "" } else { "s" }
    ));
    Ok(())
}
