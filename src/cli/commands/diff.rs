//! `vintner diff`: shows added, deleted and modified data against a git revision.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Git revision to compare with (default HEAD).
    rev: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("diff", "use `dvc diff` meanwhile")
}
