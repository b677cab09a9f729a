//! `vintner experiments`: lists (with `search_experiments`' filter grammar), creates, deletes,
//! restores, renames and tags experiments in the tracking store, as MLflow's client does.

use clap::Subcommand;
use serde_json::json;

use super::JsonFlag;
use crate::cli::Context;
use crate::cli::tracking::{self, TrackingArgs};
use crate::track::{SearchExperiments, Tag, Tracker, ViewType};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the experiments (newest first) with their tags.
    List {
        /// Include deleted experiments.
        #[arg(long)]
        all: bool,
        /// MLflow filter, e.g. "name LIKE 'wine%' and tags.team = 'ml'" (attributes name,
        /// experiment_id, creation_time, last_update_time; tags.<key>).
        #[arg(long, short = 'f')]
        filter: Option<String>,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Create an experiment and print its id.
    Create {
        /// The experiment's name (unique).
        name: String,
        /// Where its runs' artifacts go [default: `mlruns/<id>` beside mlflow.db, or the server's choice].
        #[arg(long, value_name = "URI")]
        artifact_location: Option<String>,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete an experiment and its runs (MLflow's soft delete: `experiments restore` brings
    /// them back).
    Delete {
        /// Name or id.
        experiment: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Restore a deleted experiment and its runs.
    Restore {
        /// Name or id.
        experiment: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Rename an experiment.
    Rename {
        /// Name or id.
        experiment: String,
        new_name: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Set or delete a tag of an experiment.
    Tag {
        #[command(subcommand)]
        action: TagAction,
    },
}

#[derive(Debug, Subcommand)]
enum TagAction {
    /// Set `<key>` to `<value>` on an experiment.
    Set {
        /// Name or id.
        experiment: String,
        key: String,
        value: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete the tag `<key>` of an experiment.
    Delete {
        /// Name or id.
        experiment: String,
        key: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    match args.action {
        Action::List {
            all,
            filter,
            tracking,
            json,
        } => {
            let tracker = tracking::open(&tracking, ctx)?;
            let mut query = SearchExperiments {
                filter,
                view: if all {
                    ViewType::All
                } else {
                    ViewType::ActiveOnly
                },
                ..Default::default()
            };
            let mut experiments = Vec::new();
            loop {
                let page = tracker.search_experiments(&query)?;
                experiments.extend(page.experiments);
                match page.next_page_token {
                    Some(t) => query.page_token = Some(t),
                    None => break,
                }
            }
            if json.json {
                return ctx.printer.json(&json!({ "experiments": experiments }));
            }
            let rows = experiments
                .iter()
                .map(|e| {
                    let mut name = e.name.clone();
                    if e.lifecycle_stage != "active" {
                        name.push_str(" (deleted)");
                    }
                    let tags: Vec<String> = e
                        .tags
                        .iter()
                        .filter(|t| !t.key.starts_with("mlflow."))
                        .map(|t| format!("{}={}", t.key, t.value))
                        .collect();
                    vec![
                        e.experiment_id.clone(),
                        name,
                        tracking::utc(e.creation_time),
                        tags.join(", "),
                        e.artifact_location.clone(),
                    ]
                })
                .collect();
            ctx.printer.data(tracking::table(
                &["ID", "Name", "Created (UTC)", "Tags", "Artifact location"],
                rows,
                &[0],
            ));
            Ok(())
        }
        Action::Create {
            name,
            artifact_location,
            tracking,
            json,
        } => {
            let tracker = tracking::open_writable(&tracking, ctx)?;
            let exp = tracker.create_experiment(&name, artifact_location.as_deref(), &[])?;
            if json.json {
                return ctx.printer.json(&exp);
            }
            ctx.printer.status(format!(
                "Created experiment `{}` in {}",
                exp.name,
                tracker.uri()
            ));
            ctx.printer.data(&exp.experiment_id);
            Ok(())
        }
        Action::Delete {
            experiment,
            tracking,
            json,
        } => {
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            let exp = tracking::find_experiment(tracker.as_ref(), &experiment)?;
            tracker.delete_experiment(&exp.experiment_id)?;
            changed(tracker.as_ref(), ctx, &exp.experiment_id, json, "Deleted")
        }
        Action::Restore {
            experiment,
            tracking,
            json,
        } => {
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            let exp = tracking::find_experiment(tracker.as_ref(), &experiment)?;
            tracker.restore_experiment(&exp.experiment_id)?;
            changed(tracker.as_ref(), ctx, &exp.experiment_id, json, "Restored")
        }
        Action::Rename {
            experiment,
            new_name,
            tracking,
            json,
        } => {
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            let exp = tracking::find_experiment(tracker.as_ref(), &experiment)?;
            tracker.rename_experiment(&exp.experiment_id, &new_name)?;
            changed(tracker.as_ref(), ctx, &exp.experiment_id, json, "Renamed")
        }
        Action::Tag { action } => match action {
            TagAction::Set {
                experiment,
                key,
                value,
                tracking,
                json,
            } => {
                let tracker = tracking::open_existing_writable(&tracking, ctx)?;
                let exp = tracking::find_experiment(tracker.as_ref(), &experiment)?;
                tracker.set_experiment_tag(&exp.experiment_id, &Tag::new(key.clone(), value))?;
                changed(
                    tracker.as_ref(),
                    ctx,
                    &exp.experiment_id,
                    json,
                    &format!("Set tag `{key}` of"),
                )
            }
            TagAction::Delete {
                experiment,
                key,
                tracking,
                json,
            } => {
                let tracker = tracking::open_existing_writable(&tracking, ctx)?;
                let exp = tracking::find_experiment(tracker.as_ref(), &experiment)?;
                tracker.delete_experiment_tag(&exp.experiment_id, &key)?;
                changed(
                    tracker.as_ref(),
                    ctx,
                    &exp.experiment_id,
                    json,
                    &format!("Deleted tag `{key}` of"),
                )
            }
        },
    }
}

/// After a change: the experiment as the store now has it (`--json`), or one status line.
fn changed(
    tracker: &dyn Tracker,
    ctx: &Context,
    experiment_id: &str,
    json: JsonFlag,
    what: &str,
) -> anyhow::Result<()> {
    let exp = tracker.get_experiment(experiment_id)?;
    if json.json {
        return ctx.printer.json(&exp);
    }
    ctx.printer.status(format!(
        "{what} experiment `{}` (id {}) in {}",
        exp.name,
        exp.experiment_id,
        tracker.uri()
    ));
    Ok(())
}
