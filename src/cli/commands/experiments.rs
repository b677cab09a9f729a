//! `vintner experiments`: lists or creates experiments in the tracking store.

use clap::Subcommand;
use serde_json::json;

use super::JsonFlag;
use crate::cli::Context;
use crate::cli::tracking::{self, TrackingArgs};
use crate::track::{SearchExperiments, ViewType};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the experiments (newest first).
    List {
        /// Include deleted experiments.
        #[arg(long)]
        all: bool,
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
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    match args.action {
        Action::List {
            all,
            tracking,
            json,
        } => {
            let tracker = tracking::open(&tracking, ctx)?;
            let mut query = SearchExperiments {
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
                    vec![
                        e.experiment_id.clone(),
                        name,
                        tracking::utc(e.creation_time),
                        e.artifact_location.clone(),
                    ]
                })
                .collect();
            ctx.printer.data(tracking::table(
                &["ID", "Name", "Created (UTC)", "Artifact location"],
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
    }
}
