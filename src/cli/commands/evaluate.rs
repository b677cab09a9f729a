//! `vintner evaluate`: cross-validates a model family on CSV files, recording nothing.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV files (several are stacked with a one-hot source column).
    inputs: Vec<std::path::PathBuf>,
    /// Model family.
    #[arg(long, default_value = "extra-trees")]
    model: String,
    /// Hyperparameter (repeatable): -P n_estimators=500.
    #[arg(short = 'P', long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// grouped | kfold.
    #[arg(long, default_value = "grouped")]
    cv: String,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("evaluate", "the models land with the models issue")
}
