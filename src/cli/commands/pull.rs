//! `vintner pull`: fetches objects from the remote (verified) and checks them out.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files, folders or `.dvc` files; all `.dvc` files of the repository when omitted.
    targets: Vec<std::path::PathBuf>,
    /// Number of parallel transfers (default: 4 × cores, as DVC).
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Remote to use instead of the default one.
    #[arg(short, long)]
    remote: Option<String>,
    /// Overwrite workspace files that are not in the cache.
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("pull", "use `dvc pull` meanwhile")
}
