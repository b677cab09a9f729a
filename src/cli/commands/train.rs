//! `vintner train`: trains on the versioned data, versions and pushes the model, records the run.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Override a hyperparameter (repeatable): -P n_estimators=800.
    #[arg(short = 'P', long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Model family instead of vintner.toml's.
    #[arg(long)]
    model: Option<String>,
    /// Experiment name instead of vintner.toml's.
    #[arg(long)]
    experiment: Option<String>,
    /// Run name (default: a generated adjective-noun-number, as MLflow).
    #[arg(long)]
    run_name: Option<String>,
    /// Train even if the data differs from its `.dvc` file (recorded as a tag).
    #[arg(long)]
    allow_unversioned_data: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built(
        "train",
        "the workflow lands with the train/register/infer issue",
    )
}
