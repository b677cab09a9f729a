//! `vintner register`: put the best qualifying run's model in the registry and move the alias.

use std::io::IsTerminal;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::Repo;
use crate::pipeline::register::{self, Direction, Pick, RegisterOptions};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Register this run instead of the best one.
    #[arg(long, conflicts_with = "manual")]
    run: Option<String>,
    /// Pick the run from an interactive list.
    #[arg(long)]
    manual: bool,
    /// Registered model name (default: registry.model_name in vintner.toml).
    #[arg(long)]
    name: Option<String>,
    /// Alias to move to the new version (default: registry.alias, `champion`).
    #[arg(long)]
    alias: Option<String>,
    /// Metric that ranks the runs (default: registry.metric).
    #[arg(long)]
    metric: Option<String>,
    /// The worst acceptable metric value: at most this, or at least when higher is better
    /// (default: registry.threshold).
    #[arg(long)]
    threshold: Option<f64>,
    /// A higher metric is better (default: known for vintner's metrics, else
    /// registry.direction).
    #[arg(long, conflicts_with = "lower_is_better")]
    higher_is_better: bool,
    /// A lower metric is better.
    #[arg(long)]
    lower_is_better: bool,
    /// The output that is the model, for a run made by `vintner run` (default:
    /// registry.output, else the run's only output).
    #[arg(long, value_name = "PATH")]
    output: Option<String>,
    /// Experiment to pick from (default: tracking.experiment).
    #[arg(long)]
    experiment: Option<String>,
    /// Tracking store (default: MLFLOW_TRACKING_URI, vintner.toml, then ./mlflow.db).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let settings = Settings::load(&repo.root)?;
    let tracker = crate::cli::tracking::open_at_writable(
        args.tracking_uri.as_deref(),
        &settings,
        &repo.root,
        ctx,
    )?;
    let experiment = args
        .experiment
        .unwrap_or_else(|| settings.tracking.experiment.clone());
    let metric = args
        .metric
        .unwrap_or_else(|| settings.registry.metric.clone());
    let flag = if args.higher_is_better {
        Some(Direction::Higher)
    } else if args.lower_is_better {
        Some(Direction::Lower)
    } else {
        None
    };
    let direction = Direction::resolve(&metric, flag, settings.registry.direction.as_deref())?;
    let pick = if let Some(id) = args.run {
        Pick::Run(id)
    } else if args.manual {
        Pick::Run(pick_manually(
            tracker.as_ref(),
            &experiment,
            &metric,
            direction,
        )?)
    } else {
        Pick::Best
    };
    let opts = RegisterOptions {
        experiment,
        model_name: args
            .name
            .unwrap_or_else(|| settings.registry.model_name.clone()),
        alias: args
            .alias
            .unwrap_or_else(|| settings.registry.alias.clone()),
        metric,
        direction,
        threshold: args.threshold.unwrap_or(settings.registry.threshold),
        pick,
        output: args.output,
        configured_output: settings.registry.output.clone(),
    };
    let reg = register::register(&repo, tracker.as_ref(), &opts)?;
    if args.json.json {
        return ctx.printer.json(&reg);
    }
    let value = reg
        .value
        .map(|v| format!("{v:.4}"))
        .unwrap_or_else(|| "n/a".into());
    ctx.printer.data(format!("{}/{}", reg.name, reg.version));
    ctx.printer.status(format!(
        "{} version {} of `{}` (run {}, {} {}); alias `{}` -> {}",
        if reg.created {
            "Registered"
        } else {
            "Already registered:"
        },
        reg.version,
        reg.name,
        reg.run_id,
        reg.metric,
        value,
        reg.alias,
        reg.version
    ));
    ctx.printer.status(format!(
        "source: {}; model bytes: {}",
        reg.source, reg.model_location
    ));
    Ok(())
}

/// Lets a person choose among the experiment's finished runs.
fn pick_manually(
    tracker: &dyn crate::track::Tracker,
    experiment: &str,
    metric: &str,
    direction: Direction,
) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(crate::cli::Hinted::new(
            "`--manual` needs a terminal to show the list of runs",
            "pick the run yourself with `vintner runs list`, then `vintner register --run <id>`",
        )
        .into());
    }
    let runs = register::candidate_runs(tracker, experiment, metric, direction)?;
    if runs.is_empty() {
        return Err(crate::pipeline::Error::NoExperiment(experiment.to_string()).into());
    }
    let items: Vec<String> = runs
        .iter()
        .map(|r| {
            let v = register::metric_of(r, metric)
                .map(|v| format!("{v:.4}"))
                .unwrap_or_else(|| "   n/a".into());
            format!("{}  {metric} {v}  {}", r.info.run_id, r.info.run_name)
        })
        .collect();
    let choice = dialoguer::Select::new()
        .with_prompt(format!("Register which run of `{experiment}`?"))
        .items(&items)
        .default(0)
        .interact()?;
    Ok(runs[choice].info.run_id.clone())
}
