//! `vintner add`: hashes files or folders into the cache and writes DVC 3 `.dvc` files.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files, folders or `.dvc` files; all `.dvc` files of the repository when omitted.
    targets: Vec<std::path::PathBuf>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("add", "use `dvc add` meanwhile")
}
