//! `vintner serve`: serves predictions over HTTP with MLflow's scoring protocol.

use super::JsonFlag;
use crate::cli::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// name@alias or name/version (default: the configured model at its alias).
    #[arg(long)]
    model: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5001")]
    bind: String,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    let _ = (&args, args.json.json);
    super::not_built("serve", "serving lands after the workflow")
}
