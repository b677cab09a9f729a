//! `vintner infer`: predicts with a registered or tracked model after pulling and verifying its bytes.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// name@alias or name/version (default: the configured model at its alias).
    #[arg(long)]
    model: Option<String>,
    /// A run id instead of a registered model.
    #[arg(long, conflicts_with = "model")]
    run: Option<String>,
    /// Pick the model from a list.
    #[arg(long)]
    interactive: bool,
    /// CSV to predict (default: the exact data version the model was trained on).
    #[arg(long)]
    input: Option<std::path::PathBuf>,
    /// Where to write predictions (default: stdout).
    #[arg(long)]
    output: Option<std::path::PathBuf>,
    /// csv | json.
    #[arg(long, default_value = "csv")]
    format: String,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built(
        "infer",
        "the workflow lands with the train/register/infer issue",
    )
}
