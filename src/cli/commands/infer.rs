//! `vintner infer`: predict with a registered or tracked model, pulling exactly its bytes.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::Context;
use crate::data::Repo;
use crate::pipeline::infer::{self, ModelChoice};
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// name@alias or name/version (default: registry.model_name@registry.alias).
    #[arg(long, conflicts_with_all = ["run", "interactive"])]
    model: Option<String>,
    /// Use the model of this run instead of a registered one.
    #[arg(long, conflicts_with = "interactive")]
    run: Option<String>,
    /// Pick the model from a list of registered versions and runs.
    #[arg(long)]
    interactive: bool,
    /// CSV to predict (default: the exact data version the model was trained on).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Write predictions here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Tracking store (default: MLFLOW_TRACKING_URI, vintner.toml, then ./mlflow.db).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let settings = Settings::load(&repo.root)?;
    let tracker =
        crate::cli::tracking::open_at(args.tracking_uri.as_deref(), &settings, &repo.root, ctx)?;
    let choice = if let Some(id) = args.run {
        ModelChoice::Run(id)
    } else if args.interactive {
        pick(tracker.as_ref(), &settings)?
    } else {
        let text = args.model.unwrap_or_else(|| {
            format!(
                "{}@{}",
                settings.registry.model_name, settings.registry.alias
            )
        });
        ModelChoice::parse(&text)?
    };
    let resolved = infer::resolve(tracker.as_ref(), &choice)?;
    let progress = ctx.printer.progress();
    let input = args.input.map(|p| ctx.cwd.join(p));
    let separator = crate::pipeline::train::dataset_options(&settings)?.separator;
    let out = infer::infer(
        &repo,
        &resolved,
        input.as_deref(),
        separator,
        progress.as_ref(),
    )?;
    ctx.printer.status(format!(
        "model {} (run {}, {}), {} rows",
        out.model,
        out.run_id,
        resolved.model.md5,
        out.predictions.len()
    ));
    if !out.ignored_columns.is_empty() {
        ctx.printer.status(format!(
            "note: ignored columns the model does not use: {}",
            out.ignored_columns.join(", ")
        ));
    }
    if let Some(m) = &out.metrics {
        ctx.printer.status(format!(
            "against the input's target: mae {:.4}  rmse {:.4}  r2 {:.3}",
            m.mae, m.rmse, m.r2
        ));
    }
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&out)?,
        Format::Csv => {
            let mut s = String::from("prediction\n");
            for v in &out.predictions {
                s.push_str(&format!("{v}\n"));
            }
            s
        }
    };
    match args.output {
        Some(path) => {
            let path = ctx.cwd.join(path);
            crate::data::fsutil::write_atomic(&path, text.as_bytes())?;
            ctx.printer.status(format!("wrote {}", path.display()));
        }
        None => ctx.printer.data(text.trim_end()),
    }
    Ok(())
}

/// Lists registered versions, then runs, and lets a person choose.
fn pick(tracker: &dyn crate::track::Tracker, settings: &Settings) -> anyhow::Result<ModelChoice> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(crate::cli::Hinted::new(
            "`--interactive` needs a terminal",
            "name the model with `--model name@alias`, `--model name/version` or `--run <id>`",
        )
        .into());
    }
    let metric = &settings.registry.metric;
    let mut labels = Vec::new();
    let mut choices = Vec::new();
    let versions = tracker.search_model_versions(&crate::track::SearchModels {
        filter: Some(format!(
            "name = '{}'",
            settings.registry.model_name.replace('\'', "''")
        )),
        max_results: 200,
        ..Default::default()
    })?;
    for v in versions.model_versions {
        let value = v
            .run_id
            .as_deref()
            .and_then(|id| tracker.get_run(id).ok())
            .and_then(|r| crate::pipeline::register::metric_of(&r, metric))
            .map(|x| format!("{x:.4}"))
            .unwrap_or_else(|| "n/a".into());
        labels.push(format!(
            "{}/{}  {metric} {value}  {}",
            v.name,
            v.version,
            v.aliases.join(",")
        ));
        choices.push(ModelChoice::Version {
            name: v.name.clone(),
            version: v.version,
        });
    }
    let direction = crate::pipeline::register::Direction::resolve(
        metric,
        None,
        settings.registry.direction.as_deref(),
    )
    .unwrap_or(crate::pipeline::register::Direction::Lower);
    if let Ok(runs) = crate::pipeline::register::candidate_runs(
        tracker,
        &settings.tracking.experiment,
        metric,
        direction,
    ) {
        for r in runs {
            let value = crate::pipeline::register::metric_of(&r, metric)
                .map(|x| format!("{x:.4}"))
                .unwrap_or_else(|| "n/a".into());
            labels.push(format!(
                "run {}  {metric} {value}  {}",
                r.info.run_id, r.info.run_name
            ));
            choices.push(ModelChoice::Run(r.info.run_id.clone()));
        }
    }
    if choices.is_empty() {
        return Err(crate::cli::Hinted::new(
            "There is no model to pick from",
            "train one: `vintner train`",
        )
        .into());
    }
    let i = dialoguer::Select::new()
        .with_prompt("Predict with which model?")
        .items(&labels)
        .default(0)
        .interact()?;
    Ok(choices.swap_remove(i))
}
