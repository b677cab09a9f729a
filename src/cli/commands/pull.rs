//! `vintner pull`: fetch (verified) then checkout.

use std::path::PathBuf;

use serde::Serialize;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::transfer::{self, TransferOptions, TransferReport};
use crate::data::{Repo, checkout, index};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Outputs or `.dvc` files; every `.dvc` file of the repository when omitted.
    targets: Vec<PathBuf>,
    /// Remote to pull from (default: each output's `remote`, else the default remote).
    #[arg(short, long)]
    remote: Option<String>,
    /// Parallel transfers (default: 4 × cores, as DVC).
    #[arg(short, long)]
    jobs: Option<usize>,
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
    let outs = index::collect(&repo, &args.targets, &ctx.cwd)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let opts = TransferOptions {
        targets: args.targets,
        remote: args.remote,
        jobs: args.jobs,
    };
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
        "{} file{} fetched, {} output{} changed",
        fetched.transferred,
        if fetched.transferred == 1 { "" } else { "s" },
        changed.len(),
        if changed.len() == 1 { "" } else { "s" }
    ));
    Ok(())
}
