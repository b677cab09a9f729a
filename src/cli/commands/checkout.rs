//! `vintner checkout`: restores the workspace from the cache as the `.dvc` files describe it.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files, folders or `.dvc` files; all `.dvc` files of the repository when omitted.
    targets: Vec<std::path::PathBuf>,
    /// Overwrite or delete workspace files whose content is not in the cache.
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("checkout", "use `dvc checkout` meanwhile")
}
