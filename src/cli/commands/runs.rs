//! `vintner runs`: lists, shows and compares tracked runs.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// list | show <id> | compare <id>...
    action: Vec<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("runs", "the tracking layer lands with its issue")
}
