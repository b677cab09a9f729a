//! `vintner infer`: predict with a registered or tracked model, pulling exactly its bytes.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::tracking;
use crate::cli::{Context, Hinted};
use crate::data::Repo;
use crate::pipeline::infer::{self, ModelChoice};
use crate::settings::Settings;
use crate::track::{self, Access, Tracker, TrackingUri, UriSource};

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
    /// Tracking store (default: MLFLOW_TRACKING_URI, vintner.toml, then ./mlflow.db; with none
    /// of them and no mlflow.db, the model git versions: `<model.output>.dvc` at HEAD).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let settings = Settings::load(&repo.root)?;
    let uri = tracking::resolve_at(args.tracking_uri.as_deref(), &settings, &repo.root, ctx)?;
    let resolved = match open_store(&uri, &repo)? {
        Ok(tracker) => {
            let choice = if let Some(id) = args.run.clone() {
                ModelChoice::Run(id)
            } else if args.interactive {
                pick(tracker.as_ref(), &settings)?
            } else {
                let text = args.model.clone().unwrap_or_else(|| {
                    format!(
                        "{}@{}",
                        settings.registry.model_name, settings.registry.alias
                    )
                });
                ModelChoice::parse(&text)?
            };
            infer::resolve(tracker.as_ref(), &choice)?
        }
        Err(missing) => versioned_model(
            "infer",
            explicit_choice(&args),
            &missing,
            &repo,
            &settings,
            ctx,
        )?,
    };
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
        if out.run_id.is_empty() {
            "unknown"
        } else {
            &out.run_id
        },
        out.model_md5,
        out.predictions.len()
    ));
    for r in &out.repaired {
        ctx.printer.warn(format!("repaired: {r}"));
    }
    if !out.ignored_columns.is_empty() {
        ctx.printer.status(format!(
            "note: ignored columns the model does not use: {}",
            out.ignored_columns.join(", ")
        ));
    }
    if let Some(m) = &out.metrics {
        if out.in_sample {
            ctx.printer.status(format!(
                "in-sample fit on the model's own training rows (not its quality): mae {:.4}  rmse {:.4}  r2 {:.3}",
                m.mae, m.rmse, m.r2
            ));
        } else {
            ctx.printer.status(format!(
                "against the input's target: mae {:.4}  rmse {:.4}  r2 {:.3}",
                m.mae, m.rmse, m.r2
            ));
        }
    }
    if out.in_sample {
        ctx.printer.status(match &out.cv_metrics {
            Some(cv) => format!("cross-validated (the figures to trust): {}", cv_text(cv)),
            None => {
                "cross-validated figures: recorded on the run, in the team's tracking store".into()
            }
        });
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

/// The tracking store `uri` names or, in a clone with none (the default `mlflow.db` missing or
/// empty, and nothing pointing at the team's server), what is missing, in words.
pub(crate) fn open_store(
    uri: &TrackingUri,
    repo: &Repo,
) -> anyhow::Result<Result<Box<dyn Tracker>, String>> {
    let opened = tracking::open_uri(uri, Access::Read);
    if let Err(e) = &opened
        && uri.source() == UriSource::Default
        && let Some(track::Error::NoStore { path, empty_file }) = e.downcast_ref::<track::Error>()
    {
        return Ok(Err(format!(
            "`{}` {}",
            shown(path, &repo.root),
            if *empty_file {
                "is empty"
            } else {
                "does not exist"
            }
        )));
    }
    Ok(Ok(opened?))
}

/// In a clone with no tracking store (`missing` says what is not there): the model git versions
/// (`<model.output>.dvc` at HEAD), said so on stderr. A model named by the registry or a run
/// (`flag`) is refused with the way to reach the store the runs were recorded in.
pub(crate) fn versioned_model(
    command: &str,
    flag: Option<String>,
    missing: &str,
    repo: &Repo,
    settings: &Settings,
    ctx: &Context,
) -> anyhow::Result<infer::Resolved> {
    if let Some(flag) = flag {
        return Err(Hinted::new(
            format!("{flag} needs the model registry, and there is no tracking store here ({missing})"),
            format!(
                "the registry lives where the runs were recorded: point MLFLOW_TRACKING_URI (or --tracking-uri) \
                 at the team's server, e.g. `MLFLOW_TRACKING_URI=http://host:5000 vintner {command} …`; without \
                 --model or --run, {command} uses the model git versions (`{}.dvc`)",
                settings.model.output.display()
            ),
        )
        .into());
    }
    let r = infer::versioned_model(repo, &settings.model.output)?;
    ctx.printer.status(format!(
        "no tracking store here ({missing}); using the model git versions: {} (md5 {})",
        r.label, r.model.md5
    ));
    Ok(r)
}

/// The flag that names a model, which only a tracking store can resolve.
fn explicit_choice(args: &Args) -> Option<String> {
    if let Some(m) = &args.model {
        Some(format!("`--model {m}`"))
    } else if let Some(r) = &args.run {
        Some(format!("`--run {r}`"))
    } else if args.interactive {
        Some("`--interactive`".into())
    } else {
        None
    }
}

/// `rmse 0.6412 ± 0.0213  mae 0.4987 ± 0.0170`: the run's CV means with their spread.
fn cv_text(cv: &std::collections::BTreeMap<String, f64>) -> String {
    ["rmse", "mae", "r2"]
        .iter()
        .filter_map(|k| {
            let mean = cv.get(*k)?;
            Some(match cv.get(&format!("{k}_std")) {
                Some(std) => format!("{k} {mean:.4} ± {std:.4}"),
                None => format!("{k} {mean:.4}"),
            })
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// `path` relative to the repository root when it is inside it.
fn shown(path: &std::path::Path, root: &std::path::Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Lists registered versions, then runs, and lets a person choose.
fn pick(tracker: &dyn crate::track::Tracker, settings: &Settings) -> anyhow::Result<ModelChoice> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Hinted::new(
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
        return Err(Hinted::new(
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
