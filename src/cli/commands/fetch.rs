//! `vintner fetch`: download the objects of the `.dvc` files into the cache, verifying each one.
//! Like `dvc fetch`, it fetches everything the remote has and warns about what it lacks; a
//! folder's file that the remote lists but cannot give is an error (after the rest is fetched).

use super::JsonFlag;
use crate::cli::Context;
use crate::data::Repo;
use crate::data::transfer;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    transfer: super::TransferArgs,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let outs = super::collect_outs(&repo, &args.transfer.targets, args.transfer.revs, &ctx.cwd)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let opts = args.transfer.options();
    let report = transfer::fetch_all(&repo, &cache, &outs, &opts, progress.as_ref())
        .map_err(|e| super::explain_no_remote(e.into(), &repo, "fetch"))?;
    if args.json.json {
        ctx.printer.json(&report)?;
    } else {
        super::warn_missing(ctx, &report.missing);
        ctx.printer.status(match report.transferred {
            0 => "Everything is up to date.".to_string(),
            n => format!("{} fetched", super::files(n)),
        });
    }
    if !report.failed.is_empty() {
        return Err(super::download_failed(&report.failed));
    }
    Ok(())
}
