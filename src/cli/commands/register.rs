//! `vintner register`: registers the best qualifying run's model and moves the alias.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Register this run instead of the best one.
    #[arg(long, conflicts_with = "manual")]
    run: Option<String>,
    /// Pick the run from an interactive list.
    #[arg(long)]
    manual: bool,
    /// Registered model name (default from vintner.toml).
    #[arg(long)]
    name: Option<String>,
    /// Alias to move (default: champion).
    #[arg(long)]
    alias: Option<String>,
    /// Metric that ranks the runs.
    #[arg(long)]
    metric: Option<String>,
    /// Best allowed metric value.
    #[arg(long)]
    threshold: Option<f64>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built(
        "register",
        "the workflow lands with the train/register/infer issue",
    )
}
