//! `vintner runs`: lists (with MLflow's filter grammar, nested runs as a tree), shows (with
//! artifacts, dataset inputs and logged models) and compares tracked runs, as tables or CSV,
//! and manages them as MLflow's client does: delete/restore, tags, rename, set a final status.

use std::collections::{BTreeMap, BTreeSet};

use clap::Subcommand;
use serde_json::json;

use super::JsonFlag;
use crate::cli::tracking::{self, TrackingArgs, duration, number, printable, table, utc};
use crate::cli::{Context, Hinted};
use crate::track::{
    DatasetInput, FileInfo, LoggedModel, Metric, Run, RunStatus, RunUpdate, SearchExperiments,
    SearchRuns, Tag, Tracker, ViewType, now_ms,
};

/// The tag MLflow links a nested run to its parent with.
const PARENT_TAG: &str = "mlflow.parentRunId";

/// How `list` and `compare` print (`--json` stays the machine-readable contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
enum Format {
    /// An aligned table.
    #[default]
    Table,
    /// Comma-separated values with a header row.
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List runs, newest first unless --order-by says otherwise.
    List {
        /// Experiment name or id (repeatable) [default: every active experiment].
        #[arg(long, short = 'e', value_name = "NAME|ID")]
        experiment: Vec<String>,
        /// MLflow filter, e.g. "metrics.rmse < 0.8 and params.model = 'mlp'".
        #[arg(long, short = 'f')]
        filter: Option<String>,
        /// MLflow order_by clause (repeatable), e.g. "metrics.rmse ASC".
        #[arg(long, value_name = "CLAUSE")]
        order_by: Vec<String>,
        /// At most this many runs (one page), 1 to 50000 as MLflow allows.
        #[arg(long, default_value_t = 100, value_parser = parse_max_results)]
        max_results: usize,
        /// Continue after a previous page (its `next_page_token`).
        #[arg(long)]
        page_token: Option<String>,
        /// Include deleted runs.
        #[arg(long)]
        all: bool,
        /// One row per run in search order, without nesting child runs under their parent.
        #[arg(long)]
        flat: bool,
        /// Output format (CSV has a column per metric, param and tag, as MLflow's `search_runs`).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Show a run: attributes, params, latest metrics with a chart of their history, tags.
    Show {
        run_id: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Compare runs side by side: params, metrics and tags (differing rows are marked with `*`).
    Compare {
        #[arg(required = true, num_args = 2..)]
        run_ids: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete a run (MLflow's soft delete: `runs restore` brings it back).
    Delete {
        run_id: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Restore a deleted run.
    Restore {
        run_id: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Set or delete a tag of a run.
    Tag {
        #[command(subcommand)]
        action: TagAction,
    },
    /// Rename a run (its name and its `mlflow.runName` tag).
    Rename {
        run_id: String,
        new_name: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// End a run with a final status, e.g. one a crash left RUNNING; its end time becomes now.
    SetStatus {
        run_id: String,
        #[arg(value_parser = ["FINISHED", "FAILED", "KILLED"], ignore_case = true)]
        status: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
enum TagAction {
    /// Set `<key>` to `<value>` on a run (values longer than 8000 characters are cut, as MLflow does).
    Set {
        run_id: String,
        key: String,
        value: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete the tag `<key>` of a run.
    Delete {
        run_id: String,
        key: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// `--max-results`: MLflow refuses 0 (a page of nothing whose token never advances) and more
/// than 50,000.
fn parse_max_results(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    crate::track::validate::max_results(n).map_err(|_| {
        format!(
            "{n} is out of range: MLflow pages hold 1 to {} runs",
            crate::track::validate::MAX_SEARCH_RESULTS
        )
    })?;
    Ok(n)
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    match args.action {
        Action::List {
            experiment,
            filter,
            order_by,
            max_results,
            page_token,
            all,
            flat,
            format,
            tracking,
            json,
        } => {
            let tracker = tracking::open(&tracking, ctx)?;
            let experiments = experiment_names(tracker.as_ref(), &experiment)?;
            let page = tracker.search_runs(&SearchRuns {
                experiment_ids: experiments.keys().cloned().collect(),
                filter,
                order_by: order_by.clone(),
                max_results,
                page_token,
                view: if all {
                    ViewType::All
                } else {
                    ViewType::ActiveOnly
                },
            })?;
            if json.json {
                return ctx.printer.json(&page);
            }
            let first = registry_metric(ctx);
            if format == Format::Csv {
                ctx.printer.data(list_csv(&page.runs)?.trim_end());
            } else if flat {
                ctx.printer
                    .data(list_table(&page.runs, &experiments, &order_by, &first));
            } else {
                let (runs, depths) = tree_order(&page.runs);
                ctx.printer
                    .data(tree_table(&runs, &depths, &experiments, &order_by, &first));
            }
            if let Some(t) = page.next_page_token {
                ctx.printer
                    .status(format!("More runs: add --page-token {t}"));
            }
            Ok(())
        }
        Action::Show {
            run_id,
            tracking,
            json,
        } => {
            let tracker = tracking::open(&tracking, ctx)?;
            let run = tracker.get_run(&run_id)?;
            let mut history: BTreeMap<String, Vec<Metric>> = BTreeMap::new();
            for m in &run.data.metrics {
                history.insert(m.key.clone(), tracker.get_metric_history(&run_id, &m.key)?);
            }
            let extras = RunExtras::load(tracker.as_ref(), &run);
            if json.json {
                return ctx.printer.json(&json!({
                    "run": run,
                    "metric_history": history,
                    "artifacts": extras.artifacts.as_ref().ok(),
                    "dataset_inputs": extras.inputs,
                    "logged_models": extras.models,
                }));
            }
            ctx.printer.data(show_text(&run, &history, &extras));
            Ok(())
        }
        Action::Compare {
            run_ids,
            format,
            tracking,
            json,
        } => {
            let tracker = tracking::open(&tracking, ctx)?;
            let runs = run_ids
                .iter()
                .map(|id| tracker.get_run(id))
                .collect::<Result<Vec<_>, _>>()?;
            if json.json {
                return ctx.printer.json(&json!({ "runs": runs }));
            }
            match format {
                Format::Table => ctx.printer.data(compare_table(&runs)),
                Format::Csv => ctx.printer.data(compare_csv(&runs)?.trim_end()),
            }
            Ok(())
        }
        Action::Delete {
            run_id,
            tracking,
            json,
        } => {
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            tracker.delete_run(&run_id)?;
            changed(
                tracker.as_ref(),
                ctx,
                &run_id,
                json,
                format!("Deleted run {run_id}"),
            )
        }
        Action::Restore {
            run_id,
            tracking,
            json,
        } => {
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            tracker.restore_run(&run_id)?;
            changed(
                tracker.as_ref(),
                ctx,
                &run_id,
                json,
                format!("Restored run {run_id}"),
            )
        }
        Action::Tag { action } => match action {
            TagAction::Set {
                run_id,
                key,
                value,
                tracking,
                json,
            } => {
                let tracker = tracking::open_existing_writable(&tracking, ctx)?;
                tracker.set_tag(&run_id, &Tag::new(key.clone(), value))?;
                changed(
                    tracker.as_ref(),
                    ctx,
                    &run_id,
                    json,
                    format!("Set tag `{key}` of run {run_id}"),
                )
            }
            TagAction::Delete {
                run_id,
                key,
                tracking,
                json,
            } => {
                let tracker = tracking::open_existing_writable(&tracking, ctx)?;
                tracker.delete_tag(&run_id, &key)?;
                changed(
                    tracker.as_ref(),
                    ctx,
                    &run_id,
                    json,
                    format!("Deleted tag `{key}` of run {run_id}"),
                )
            }
        },
        Action::Rename {
            run_id,
            new_name,
            tracking,
            json,
        } => {
            if new_name.trim().is_empty() {
                return Err(Hinted::new(
                    format!("Cannot rename run {run_id} to an empty name"),
                    "give the new name, e.g. `vintner runs rename <run-id> baseline-2`",
                )
                .into());
            }
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            tracker.update_run(
                &run_id,
                &RunUpdate {
                    run_name: Some(new_name.clone()),
                    ..Default::default()
                },
            )?;
            changed(
                tracker.as_ref(),
                ctx,
                &run_id,
                json,
                format!("Renamed run {run_id} to `{new_name}`"),
            )
        }
        Action::SetStatus {
            run_id,
            status,
            tracking,
            json,
        } => {
            let status = RunStatus::parse(&status)
                .ok_or_else(|| anyhow::anyhow!("unknown run status `{status}`"))?;
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            // As MLflow's `set_terminated`: the end time is now.
            tracker.update_run(
                &run_id,
                &RunUpdate {
                    status: Some(status),
                    end_time: Some(now_ms()),
                    run_name: None,
                },
            )?;
            changed(
                tracker.as_ref(),
                ctx,
                &run_id,
                json,
                format!("Marked run {run_id} {status}"),
            )
        }
    }
}

/// After a change: the run as the store now has it (`--json`), or one status line.
fn changed(
    tracker: &dyn Tracker,
    ctx: &Context,
    run_id: &str,
    json: JsonFlag,
    message: String,
) -> anyhow::Result<()> {
    if json.json {
        let run = tracker.get_run(run_id)?;
        return ctx.printer.json(&json!({ "run": run }));
    }
    ctx.printer
        .status(format!("{message} in {}", tracker.uri()));
    Ok(())
}

/// id → name of the experiments to search (all active ones when none are named).
fn experiment_names(
    tracker: &dyn Tracker,
    wanted: &[String],
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if wanted.is_empty() {
        let mut q = SearchExperiments::default();
        loop {
            let page = tracker.search_experiments(&q)?;
            out.extend(
                page.experiments
                    .into_iter()
                    .map(|e| (e.experiment_id, e.name)),
            );
            match page.next_page_token {
                Some(t) => q.page_token = Some(t),
                None => break,
            }
        }
    } else {
        for w in wanted {
            let e = tracking::find_experiment(tracker, w)?;
            out.insert(e.experiment_id, e.name);
        }
    }
    Ok(out)
}

/// The metric columns, at most 4: keys named in --order-by first, then the registry metric
/// (`registry.metric`, the one `register` ranks runs by), then the other metrics `train` logs in
/// their usual order (mae, rmse, r2, …), then the rest alphabetically; only keys some run has.
fn metric_columns(runs: &[Run], order_by: &[String], registry_metric: &str) -> Vec<String> {
    let present: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.metrics.iter().map(|m| m.key.as_str()))
        .collect();
    let mut wanted: Vec<String> = order_by
        .iter()
        .filter_map(|o| crate::track::filter::parse_order_by(o).ok())
        .filter(|o| o.entity == crate::track::filter::Entity::Metric)
        .map(|o| o.key)
        .collect();
    wanted.push(registry_metric.to_string());
    wanted.extend(
        crate::ml::metrics::METRIC_NAMES
            .iter()
            .map(|m| m.to_string()),
    );
    wanted.extend(present.iter().map(|m| m.to_string()));
    let mut cols: Vec<String> = Vec::new();
    for k in wanted {
        if cols.len() == 4 {
            break;
        }
        if present.contains(k.as_str()) && !cols.contains(&k) {
            cols.push(k);
        }
    }
    cols
}

/// The metric `register` ranks runs by, from the project's settings (the default when there
/// are none).
fn registry_metric(ctx: &Context) -> String {
    let root = crate::git::toplevel(&ctx.cwd)
        .ok()
        .flatten()
        .unwrap_or_else(|| ctx.cwd.clone());
    crate::settings::Settings::load(&root)
        .map(|s| s.registry.metric)
        .unwrap_or_else(|_| crate::settings::RegistrySettings::default().metric)
}

fn list_table(
    runs: &[Run],
    experiments: &BTreeMap<String, String>,
    order_by: &[String],
    registry_metric: &str,
) -> String {
    let metrics = metric_columns(runs, order_by, registry_metric);
    let mut header = vec![
        "Run ID",
        "Name",
        "Experiment",
        "Status",
        "Started (UTC)",
        "Duration (s)",
    ];
    header.extend(metrics.iter().map(String::as_str));
    let rows = runs
        .iter()
        .map(|r| {
            let mut row = vec![
                r.info.run_id.clone(),
                r.info.run_name.clone(),
                experiments
                    .get(&r.info.experiment_id)
                    .cloned()
                    .unwrap_or_else(|| r.info.experiment_id.clone()),
                if r.info.lifecycle_stage == "active" {
                    r.info.status.to_string()
                } else {
                    format!("{} ({})", r.info.status, r.info.lifecycle_stage)
                },
                utc(r.info.start_time),
                duration(r.info.start_time, r.info.end_time),
            ];
            row.extend(
                metrics
                    .iter()
                    .map(|k| r.data.metric(k).map_or("-".into(), |m| number(m.value))),
            );
            row
        })
        .collect();
    let numeric: Vec<usize> = (5..6 + metrics.len()).collect();
    table(&header, rows, &numeric)
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line chart of `values` in at most `width` cells (buckets are averaged; NaN cells blank).
pub fn sparkline(values: &[f64], width: usize) -> String {
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let cells = values.len().min(width);
    let bucketed: Vec<f64> = (0..cells)
        .map(|i| {
            let lo = i * values.len() / cells;
            let hi = ((i + 1) * values.len() / cells).max(lo + 1);
            let finite: Vec<f64> = values[lo..hi]
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            if finite.is_empty() {
                f64::NAN
            } else {
                finite.iter().sum::<f64>() / finite.len() as f64
            }
        })
        .collect();
    let finite = bucketed.iter().copied().filter(|v| v.is_finite());
    let (min, max) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    bucketed
        .iter()
        .map(|v| {
            if !v.is_finite() {
                ' '
            } else if max > min {
                BARS[(((v - min) / (max - min)) * 7.0).round() as usize]
            } else {
                BARS[3]
            }
        })
        .collect()
}

fn show_text(run: &Run, history: &BTreeMap<String, Vec<Metric>>, extras: &RunExtras) -> String {
    let i = &run.info;
    let mut out = String::new();
    out.push_str(&format!("Run {} ({})\n", i.run_id, printable(&i.run_name)));
    out.push_str(&format!("  experiment   {}\n", i.experiment_id));
    out.push_str(&format!("  status       {}\n", i.status));
    out.push_str(&format!("  started      {} UTC\n", utc(i.start_time)));
    if i.end_time.is_some() {
        out.push_str(&format!("  ended        {} UTC\n", utc(i.end_time)));
    }
    out.push_str(&format!(
        "  duration (s) {}\n",
        duration(i.start_time, i.end_time)
    ));
    out.push_str(&format!("  artifacts    {}\n", i.artifact_uri));
    if i.lifecycle_stage != "active" {
        out.push_str(&format!("  lifecycle    {}\n", i.lifecycle_stage));
    }
    if !run.data.params.is_empty() {
        out.push_str("\nParams\n");
        let rows = run
            .data
            .params
            .iter()
            .map(|p| vec![p.key.clone(), p.value.clone()])
            .collect();
        out.push_str(&table(&["Key", "Value"], rows, &[]));
        out.push('\n');
    }
    if !run.data.metrics.is_empty() {
        out.push_str("\nMetrics\n");
        let rows = run
            .data
            .metrics
            .iter()
            .map(|m| {
                let h = history.get(&m.key).map(Vec::as_slice).unwrap_or(&[]);
                let mut sorted: Vec<&Metric> = h.iter().collect();
                sorted.sort_by_key(|m| (m.step, m.timestamp));
                let values: Vec<f64> = sorted.iter().map(|m| m.value).collect();
                let finite = values.iter().copied().filter(|v| v.is_finite());
                let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
                let range = if lo <= hi {
                    format!("{} … {}", number(lo), number(hi))
                } else {
                    "-".into()
                };
                vec![
                    m.key.clone(),
                    number(m.value),
                    m.step.to_string(),
                    h.len().to_string(),
                    range,
                    sparkline(&values, 40),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "Key",
                "Latest",
                "Step",
                "Points",
                "Min … max",
                "History (by step)",
            ],
            rows,
            &[1, 2, 3],
        ));
        out.push('\n');
    }
    if !extras.inputs.is_empty() {
        out.push_str("\nDatasets\n");
        let rows = extras
            .inputs
            .iter()
            .map(|i| {
                vec![
                    i.dataset.name.clone(),
                    i.dataset.digest.clone(),
                    i.context().unwrap_or("-").to_string(),
                    i.dataset.source_type.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["Name", "Digest", "Context", "Source type"],
            rows,
            &[],
        ));
        out.push('\n');
    }
    if !extras.models.is_empty() {
        out.push_str("\nLogged models\n");
        let rows = extras
            .models
            .iter()
            .map(|m| {
                vec![
                    m.model_id.clone(),
                    m.name.clone(),
                    m.status.clone(),
                    m.model_type.clone().unwrap_or_else(|| "-".into()),
                    m.artifact_location.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["Model ID", "Name", "Status", "Type", "Artifacts"],
            rows,
            &[],
        ));
        out.push('\n');
    }
    match &extras.artifacts {
        Ok(files) if files.is_empty() => {}
        Ok(files) => {
            out.push_str("\nArtifacts\n");
            let mut rows: Vec<Vec<String>> = files
                .iter()
                .take(MAX_SHOWN_ARTIFACTS)
                .map(|f| {
                    vec![
                        f.path.clone(),
                        f.file_size.map_or("-".into(), |s| s.to_string()),
                    ]
                })
                .collect();
            if files.len() > MAX_SHOWN_ARTIFACTS {
                rows.push(vec![
                    format!(
                        "… {} more (vintner artifacts list runs:/{}/…)",
                        files.len() - MAX_SHOWN_ARTIFACTS,
                        i.run_id
                    ),
                    String::new(),
                ]);
            }
            out.push_str(&table(&["Path", "Size (bytes)"], rows, &[1]));
            out.push('\n');
        }
        Err(e) => out.push_str(&format!("\nArtifacts\n  could not be listed: {e}\n")),
    }
    if !run.data.tags.is_empty() {
        out.push_str("\nTags\n");
        let rows = run
            .data
            .tags
            .iter()
            .map(|t| vec![t.key.clone(), t.value.clone()])
            .collect();
        out.push_str(&table(&["Key", "Value"], rows, &[]));
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// The rows of `runs compare`: a label and one cell per run.
fn compare_rows(runs: &[Run]) -> Vec<(String, Vec<String>)> {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    rows.push((
        "status".into(),
        runs.iter().map(|r| r.info.status.to_string()).collect(),
    ));
    rows.push((
        "started (UTC)".into(),
        runs.iter().map(|r| utc(r.info.start_time)).collect(),
    ));
    rows.push((
        "duration (s)".into(),
        runs.iter()
            .map(|r| duration(r.info.start_time, r.info.end_time))
            .collect(),
    ));
    let params: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.params.iter().map(|p| p.key.as_str()))
        .collect();
    for k in params {
        rows.push((
            format!("params.{k}"),
            runs.iter()
                .map(|r| r.data.param(k).unwrap_or("-").to_string())
                .collect(),
        ));
    }
    let metrics: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.metrics.iter().map(|m| m.key.as_str()))
        .collect();
    for k in metrics {
        rows.push((
            format!("metrics.{k}"),
            runs.iter()
                .map(|r| r.data.metric(k).map_or("-".into(), |m| number(m.value)))
                .collect(),
        ));
    }
    let tags: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.tags.iter().map(|t| t.key.as_str()))
        .collect();
    for k in tags {
        rows.push((
            format!("tags.{k}"),
            runs.iter()
                .map(|r| r.data.tag(k).unwrap_or("-").to_string())
                .collect(),
        ));
    }
    rows
}

fn compare_table(runs: &[Run]) -> String {
    let short = |r: &Run| {
        format!(
            "{} {}",
            &r.info.run_id[..r.info.run_id.len().min(8)],
            r.info.run_name
        )
    };
    let headers: Vec<String> = std::iter::once(String::new())
        .chain(runs.iter().map(short))
        .collect();
    let rows = compare_rows(runs)
        .into_iter()
        .map(|(label, cells)| {
            let differs = cells.windows(2).any(|w| w[0] != w[1]);
            let label = if differs {
                format!("* {label}")
            } else {
                format!("  {label}")
            };
            std::iter::once(label).chain(cells).collect()
        })
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    table(&header_refs, rows, &[])
}

/// `runs compare --format csv`: a `field` column, then one column per run (headed by its id).
fn compare_csv(runs: &[Run]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(std::iter::once("field").chain(runs.iter().map(|r| r.info.run_id.as_str())))?;
    for (label, cells) in compare_rows(runs) {
        w.write_record(std::iter::once(label).chain(cells))?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// A metric value for CSV: exact (shortest round-trip), `NaN`, `inf`, `-inf` as pandas writes them.
fn csv_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v}")
    }
}

fn csv_time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// `runs list --format csv`: the columns of MLflow's `search_runs` data frame (`run_id`,
/// `experiment_id`, `status`, `artifact_uri`, `start_time`, `end_time`, then `metrics.*`,
/// `params.*`, `tags.*`), one row per run in search order.
fn list_csv(runs: &[Run]) -> anyhow::Result<String> {
    let keys = |f: &dyn Fn(&Run) -> Vec<&str>| -> Vec<String> {
        let set: BTreeSet<&str> = runs.iter().flat_map(f).collect();
        set.into_iter().map(str::to_string).collect()
    };
    let metrics = keys(&|r| r.data.metrics.iter().map(|m| m.key.as_str()).collect());
    let params = keys(&|r| r.data.params.iter().map(|p| p.key.as_str()).collect());
    let tags = keys(&|r| r.data.tags.iter().map(|t| t.key.as_str()).collect());
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(metrics.iter().map(|k| format!("metrics.{k}")));
    header.extend(params.iter().map(|k| format!("params.{k}")));
    header.extend(tags.iter().map(|k| format!("tags.{k}")));
    w.write_record(&header)?;
    for r in runs {
        let mut row = vec![
            r.info.run_id.clone(),
            r.info.experiment_id.clone(),
            r.info.status.to_string(),
            r.info.artifact_uri.clone(),
            csv_time(r.info.start_time),
            csv_time(r.info.end_time),
        ];
        row.extend(metrics.iter().map(|k| {
            r.data
                .metric(k)
                .map_or(String::new(), |m| csv_number(m.value))
        }));
        row.extend(
            params
                .iter()
                .map(|k| r.data.param(k).unwrap_or_default().to_string()),
        );
        row.extend(
            tags.iter()
                .map(|k| r.data.tag(k).unwrap_or_default().to_string()),
        );
        w.write_record(&row)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// The runs of a page with each nested run (`mlflow.parentRunId`) right after its parent, and
/// each one's depth; a run whose parent is not on the page is a root.
fn tree_order(runs: &[Run]) -> (Vec<&Run>, Vec<usize>) {
    let index: BTreeMap<&str, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.info.run_id.as_str(), i))
        .collect();
    let parents: Vec<Option<usize>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.data
                .tag(PARENT_TAG)
                .and_then(|p| index.get(p).copied())
                .filter(|&p| p != i)
        })
        .collect();
    let mut order = Vec::with_capacity(runs.len());
    let mut depths = Vec::with_capacity(runs.len());
    let mut placed = vec![false; runs.len()];
    let roots = (0..runs.len()).filter(|&i| parents[i].is_none());
    // runs in a parent cycle have no root: they come last, listed from wherever the cycle starts
    for start in roots.chain(0..runs.len()).collect::<Vec<_>>() {
        let mut stack = vec![(start, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            if placed[i] {
                continue;
            }
            placed[i] = true;
            order.push(&runs[i]);
            depths.push(depth);
            let children = (0..runs.len()).filter(|&c| parents[c] == Some(i) && !placed[c]);
            stack.extend(children.rev().map(|c| (c, depth + 1)).collect::<Vec<_>>());
        }
    }
    (order, depths)
}

/// The list table with nested runs indented under their parent in the name column.
fn tree_table(
    runs: &[&Run],
    depths: &[usize],
    experiments: &BTreeMap<String, String>,
    order_by: &[String],
    registry_metric: &str,
) -> String {
    let shown: Vec<Run> = runs
        .iter()
        .zip(depths)
        .map(|(r, &d)| {
            let mut r = (*r).clone();
            if d > 0 {
                r.info.run_name = format!("{}└─ {}", "   ".repeat(d - 1), r.info.run_name);
            }
            r
        })
        .collect();
    list_table(&shown, experiments, order_by, registry_metric)
}

/// How many artifact files `runs show` lists.
const MAX_SHOWN_ARTIFACTS: usize = 50;

/// What `runs show` adds to the run: its artifacts, dataset inputs and logged models. A store
/// that cannot answer one of them (an older server) leaves that part out rather than failing.
struct RunExtras {
    artifacts: Result<Vec<FileInfo>, String>,
    inputs: Vec<DatasetInput>,
    models: Vec<LoggedModel>,
}

impl RunExtras {
    fn load(tracker: &dyn Tracker, run: &Run) -> RunExtras {
        let id = &run.info.run_id;
        RunExtras {
            artifacts: all_artifacts(tracker, id).map_err(|e| e.to_string()),
            inputs: tracker.get_run_inputs(id).unwrap_or_else(|e| {
                tracing::debug!("no dataset inputs for run {id}: {e}");
                Vec::new()
            }),
            models: tracker
                .search_logged_models(std::slice::from_ref(&run.info.experiment_id), Some(id))
                .unwrap_or_else(|e| {
                    tracing::debug!("no logged models for run {id}: {e}");
                    Vec::new()
                }),
        }
    }
}

/// Every artifact file of a run, recursively, sorted by path (at most a few thousand).
fn all_artifacts(tracker: &dyn Tracker, run_id: &str) -> crate::track::Result<Vec<FileInfo>> {
    const LIMIT: usize = 5000;
    let mut out = Vec::new();
    let mut pending: Vec<Option<String>> = vec![None];
    while let Some(dir) = pending.pop() {
        for f in tracker.list_artifacts(run_id, dir.as_deref())? {
            if f.is_dir {
                pending.push(Some(f.path));
            } else {
                out.push(f);
            }
        }
        if out.len() >= LIMIT {
            break;
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(metrics: &[&str]) -> Run {
        Run {
            info: crate::track::RunInfo {
                run_id: "r".into(),
                run_name: "n".into(),
                experiment_id: "0".into(),
                user_id: "u".into(),
                status: crate::track::RunStatus::Finished,
                start_time: None,
                end_time: None,
                artifact_uri: String::new(),
                lifecycle_stage: "active".into(),
            },
            data: crate::track::RunData {
                metrics: metrics.iter().map(|k| Metric::new(*k, 1.0, 0, 0)).collect(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn run_list_shows_the_registry_metric_and_its_siblings_first() {
        let mut logged: Vec<&str> = crate::ml::metrics::METRIC_NAMES.to_vec();
        logged.extend(["acc_025_std", "acc_05_std", "fold_rmse", "rmse_std"]);
        logged.sort();
        let runs = [run_with(&logged), run_with(&["zeta"])];
        assert_eq!(
            metric_columns(&runs, &[], "rmse"),
            ["rmse", "mae", "r2", "acc_round"]
        );
        assert_eq!(
            metric_columns(&runs, &[], "r2"),
            ["r2", "mae", "rmse", "acc_round"]
        );
        assert_eq!(
            metric_columns(&runs, &["metrics.zeta DESC".into()], "rmse"),
            ["zeta", "rmse", "mae", "r2"]
        );
        // Metrics no run has are never columns; the rest follow alphabetically.
        let other = [run_with(&["loss", "accuracy", "rmse"])];
        assert_eq!(
            metric_columns(&other, &[], "mae"),
            ["rmse", "accuracy", "loss"]
        );
    }

    #[test]
    fn sparkline_scales_and_buckets() {
        assert_eq!(
            sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 8),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[1.0, 1.0], 10), "▄▄");
        assert_eq!(sparkline(&[1.0, f64::NAN, 3.0], 10), "▁ █");
        let long: Vec<f64> = (0..1000).map(f64::from).collect();
        let s = sparkline(&long, 40);
        assert_eq!(s.chars().count(), 40);
        assert!(s.starts_with('▁') && s.ends_with('█'));
        assert_eq!(sparkline(&[], 10), "");
    }
}
