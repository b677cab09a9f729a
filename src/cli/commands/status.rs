//! `vintner status`: compares the workspace with the `.dvc` files, or with `-c` the cache with the remote.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files, folders or `.dvc` files; all `.dvc` files of the repository when omitted.
    targets: Vec<std::path::PathBuf>,
    /// Compare the cache with the remote instead of the workspace with the cache.
    #[arg(short, long)]
    cloud: bool,
    /// Remote for `-c`.
    #[arg(short, long)]
    remote: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("status", "use `dvc status` meanwhile")
}
