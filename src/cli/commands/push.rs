//! `vintner push`: upload the cached objects of the `.dvc` files to the data remote. Like
//! `dvc push`, it uploads everything it has and warns about objects it has nowhere (exit 0).

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
    let opts = args.transfer.options();
    let report = transfer::push_outs(&repo, &outs, &opts, progress.as_ref())
        .map_err(|e| super::explain_no_remote(e.into(), &repo, "push"))?;
    if args.json.json {
        return ctx.printer.json(&report);
    }
    super::warn_missing(ctx, &report.missing);
    ctx.printer.status(match report.transferred {
        0 => "Everything is up to date.".to_string(),
        n => format!("{} pushed", super::files(n)),
    });
    Ok(())
}
