//! `vintner push`: upload the cached objects of the `.dvc` files to the data remote.

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
    let opts = args.transfer.options();
    let report = transfer::push(&repo, &opts, &ctx.cwd, progress.as_ref())?;
    if args.json.json {
        return ctx.printer.json(&report);
    }
    ctx.printer.status(match report.transferred {
        0 => "Everything is up to date.".to_string(),
        n => format!("{} pushed", super::files(n)),
    });
    Ok(())
}
