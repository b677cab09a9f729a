//! `vintner train`: train on the versioned data, version and push the model, record the run.

use super::JsonFlag;
use crate::cli::Context;
use crate::data::Repo;
use crate::pipeline::train::{self, TrainOptions};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Override a hyperparameter (repeatable): -P n_estimators=800.
    #[arg(short = 'P', long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Model family instead of vintner.toml's (extra-trees, random-forest, gbm, mlp, elastic-net, blend).
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
    /// Data remote for the model (default: the default remote).
    #[arg(short, long)]
    remote: Option<String>,
    /// Tracking store (default: MLFLOW_TRACKING_URI, VINTNER_TRACKING_URI, vintner.toml, then ./mlflow.db).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

/// Splits `key=value` arguments.
pub(crate) fn parse_params(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(crate::cli::Hinted::new(
                format!("`-P {p}` is not `key=value`"),
                "write hyperparameters as `-P n_estimators=500`",
            )
            .into()),
        })
        .collect()
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    crate::interrupt::install()?;
    let repo = Repo::find(&ctx.cwd)?;
    let settings = Settings::load(&repo.root)?;
    let tracker = crate::cli::tracking::open_at_writable(
        args.tracking_uri.as_deref(),
        &settings,
        &repo.root,
        ctx,
    )?;
    let opts = TrainOptions {
        family: args.model,
        params: parse_params(&args.params)?,
        experiment: args.experiment,
        run_name: args.run_name,
        allow_unversioned_data: args.allow_unversioned_data,
        remote: args.remote,
    };
    let progress = ctx.printer.progress();
    let report = match train::train(&repo, &settings, tracker.as_ref(), &opts, progress.as_ref()) {
        Err(crate::pipeline::Error::Interrupted(interrupted)) => {
            return Err(crate::cli::Hinted::new(
                format!("Training stopped: {interrupted}"),
                "the run (if it had started) is marked KILLED and the workspace is as it was; \
                 `vintner train` starts over",
            )
            .into());
        }
        other => other?,
    };
    if args.json.json {
        return ctx.printer.json(&report);
    }
    let p = &ctx.printer;
    p.data(format!("run_id      {}", report.run_id));
    p.status(format!(
        "run         {} in experiment `{}` ({})",
        report.run_name, report.experiment, report.tracking_uri
    ));
    p.status(format!(
        "model       {} ({})",
        report.family, report.model.path
    ));
    let m = &report.cv.mean;
    let s = &report.cv.std;
    p.status(format!(
        "cv          rmse {:.4} ± {:.4}   mae {:.4} ± {:.4}   r2 {:.3}   acc(round) {:.1}%   ({} folds)",
        m.rmse,
        s.rmse,
        m.mae,
        s.mae,
        m.r2,
        100.0 * m.acc_round,
        report.cv.folds.len()
    ));
    p.status(format!(
        "versioned   {} -> {} (md5 {}), pushed to remote `{}`",
        report.model.path, report.model_dvc_file, report.model.md5, report.model.remote
    ));
    p.status(format!(
        "\nTo commit the model version with the code, run:\n\n\tgit add {}\n\tgit commit -m \"Train {}\"\n",
        report.git_add.join(" "),
        report.run_name
    ));
    Ok(())
}
