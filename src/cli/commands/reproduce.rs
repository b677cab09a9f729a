//! `vintner reproduce`: retrain a run on its exact data version and check the metrics match.

use super::JsonFlag;
use crate::cli::Context;
use crate::data::Repo;
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run to reproduce.
    run_id: String,
    /// Tracking store (default: MLFLOW_TRACKING_URI, VINTNER_TRACKING_URI, vintner.toml, then ./mlflow.db).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    crate::interrupt::install()?;
    let repo = Repo::find(&ctx.cwd)?;
    let settings = Settings::load(&repo.root)?;
    let tracker =
        crate::cli::tracking::open_at(args.tracking_uri.as_deref(), &settings, &repo.root, ctx)?;
    let progress = ctx.printer.progress();
    let rep = match crate::pipeline::reproduce::reproduce(
        &repo,
        tracker.as_ref(),
        &args.run_id,
        progress.as_ref(),
    ) {
        Err(crate::pipeline::Error::Interrupted(interrupted)) => {
            return Err(crate::cli::Hinted::new(
                format!("Reproduction of {} stopped: {interrupted}", args.run_id),
                "nothing was recorded and the workspace is as it was; run it again to start over",
            )
            .into());
        }
        other => other?,
    };
    if args.json.json {
        ctx.printer.json(&rep)?;
    } else {
        ctx.printer.data(format!(
            "{:<10} {:>14} {:>14}  same",
            "metric", "recorded", "reproduced"
        ));
        for c in &rep.metrics {
            ctx.printer.data(format!(
                "{:<10} {:>14.6} {:>14.6}  {}",
                c.metric,
                c.recorded,
                c.reproduced,
                if c.matches { "yes" } else { "NO" }
            ));
        }
    }
    if rep.all_match {
        ctx.printer.status(format!(
            "Run {} reproduced: every metric matches.",
            rep.run_id
        ));
        Ok(())
    } else {
        Err(crate::cli::Hinted::new(
            format!("Run {} did not reproduce: the metrics differ", rep.run_id),
            "check that the data version, the vintner version and the parameters are the recorded ones",
        )
        .into())
    }
}
