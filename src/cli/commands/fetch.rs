//! `vintner fetch`: downloads objects from the remote into the cache, verifying each hash.

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
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("fetch", "use `dvc fetch` meanwhile")
}
