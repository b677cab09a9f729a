//! `vintner experiments`: lists or creates experiments in the tracking store.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// list | create <name>.
    action: Vec<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built(
        "experiments",
        "the tracking layer lands with its issue; `mlflow ui` shows the store meanwhile",
    )
}
