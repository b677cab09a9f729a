//! `vintner gc`: removes cache objects no `.dvc` file of the workspace references.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep only what the workspace's `.dvc` files reference (required, as in DVC).
    #[arg(short, long)]
    workspace: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Only show what would be removed.
    #[arg(long)]
    dry: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("gc", "use `dvc gc -w` meanwhile")
}
