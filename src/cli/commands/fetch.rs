//! `vintner fetch`: download the objects of the `.dvc` files into the cache, verifying each one.

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::Repo;
use crate::data::transfer::{self, TransferOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Outputs or `.dvc` files; every `.dvc` file of the repository when omitted.
    targets: Vec<PathBuf>,
    /// Remote to fetch from (default: each output's `remote`, else the default remote).
    #[arg(short, long)]
    remote: Option<String>,
    /// Parallel transfers (default: 4 × cores, as DVC).
    #[arg(short, long)]
    jobs: Option<usize>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let opts = TransferOptions {
        targets: args.targets,
        remote: args.remote,
        jobs: args.jobs,
    };
    let report = transfer::fetch(&repo, &opts, &ctx.cwd, progress.as_ref())?;
    if args.json.json {
        return ctx.printer.json(&report);
    }
    ctx.printer.status(match report.transferred {
        0 => "Everything is up to date.".to_string(),
        n => format!("{n} file{} fetched", if n == 1 { "" } else { "s" }),
    });
    Ok(())
}
