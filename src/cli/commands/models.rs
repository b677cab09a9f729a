//! `vintner models`: lists and shows registered models and moves their aliases.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// list | show <name> | alias set|delete <name> <alias> [<version>].
    action: Vec<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("models", "the tracking layer lands with its issue")
}
