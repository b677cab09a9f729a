//! `vintner reproduce`: retrains a recorded run on its exact data version and compares the metrics.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run to reproduce.
    run_id: String,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built(
        "reproduce",
        "the workflow lands with the train/register/infer issue",
    )
}
