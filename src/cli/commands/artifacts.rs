//! `vintner artifacts`: lists and downloads run and model artifacts by URI (`runs:/…`,
//! `models:/name@alias`, `models:/name/3`, `mlflow-artifacts:/…`, `s3://…`, a folder), through the
//! tracking server's proxy or directly, as `mlflow artifacts list/download` do.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use super::JsonFlag;
use crate::cli::tracking::{self, TrackingArgs, table};
use crate::cli::{Context, Hinted};
use crate::track::Tracker;
use crate::track::artifacts::{self, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the files and folders directly under an artifact URI.
    List {
        /// `runs:/<run_id>[/path]`, `models:/<name>/<version>`, `models:/<name>@<alias>`,
        /// `mlflow-artifacts:/…`, `s3://bucket/…` or a folder.
        uri: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Download the file or folder an artifact URI names into a folder.
    Download {
        /// `runs:/<run_id>[/path]`, `models:/<name>/<version>[/path]`, `models:/<name>@<alias>`,
        /// `mlflow-artifacts:/…`, `s3://bucket/…` or a folder.
        uri: String,
        /// Destination folder (created if missing).
        #[arg(short, long, value_name = "DIR", default_value = ".")]
        output: PathBuf,
        /// Replace existing files whose content differs.
        #[arg(short, long)]
        force: bool,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// The tracker `uri` needs (none for an `s3://` or local location, which are read directly).
fn open_for(
    uri: &str,
    args: &TrackingArgs,
    ctx: &Context,
) -> anyhow::Result<Option<Box<dyn Tracker>>> {
    if artifacts::needs_store(uri) {
        Ok(Some(tracking::open(args, ctx)?))
    } else {
        Ok(None)
    }
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    match args.action {
        Action::List {
            uri,
            tracking,
            json,
        } => {
            let tracker = open_for(&uri, &tracking, ctx)?;
            let (resolved, files) = artifacts::list(tracker.as_deref(), &uri)
                .map_err(|e| anyhow::Error::new(e).context(format!("Failed to list `{uri}`")))?;
            if json.json {
                return ctx.printer.json(&json!({
                    "root_uri": resolved.root,
                    "path": resolved.path_str(),
                    "files": files,
                }));
            }
            if files.is_empty() {
                ctx.printer
                    .status(format!("No artifacts under `{uri}` (or it is a file)."));
                return Ok(());
            }
            let rows = files
                .iter()
                .map(|f| {
                    vec![
                        if f.is_dir {
                            format!("{}/", f.path)
                        } else {
                            f.path.clone()
                        },
                        f.file_size.map_or("-".into(), |s| s.to_string()),
                    ]
                })
                .collect();
            ctx.printer
                .data(table(&["Path", "Size (bytes)"], rows, &[1]));
            Ok(())
        }
        Action::Download {
            uri,
            output,
            force,
            tracking,
            json,
        } => {
            let tracker = open_for(&uri, &tracking, ctx)?;
            let dest = if output.is_absolute() {
                output
            } else {
                ctx.cwd.join(output)
            };
            let staged =
                artifacts::stage_download(tracker.as_deref(), &uri, &dest).map_err(|e| {
                    anyhow::Error::new(e).context(format!("Failed to download `{uri}`"))
                })?;
            let conflicts: Vec<String> = staged
                .conflicts()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            if !conflicts.is_empty() && !force {
                return Err(Hinted::new(
                    format!(
                        "Failed to download `{uri}`: {} already exist{} with different content: {}",
                        super::files(conflicts.len()),
                        if conflicts.len() == 1 { "s" } else { "" },
                        conflicts.join(", ")
                    ),
                    "nothing was changed; pass --force to replace them, or download into another folder with -o",
                )
                .into());
            }
            let files = staged.commit(force)?;
            if json.json {
                return ctx.printer.json(&json!({ "uri": uri, "files": files }));
            }
            let count = |o: Outcome| files.iter().filter(|f| f.outcome == o).count();
            for f in files.iter().filter(|f| f.outcome != Outcome::Unchanged) {
                ctx.printer.data(f.target.display().to_string());
            }
            let mut summary = format!(
                "Downloaded {} into {}",
                super::files(count(Outcome::Written) + count(Outcome::Replaced)),
                dest.display()
            );
            if count(Outcome::Replaced) > 0 {
                summary.push_str(&format!(" ({} replaced)", count(Outcome::Replaced)));
            }
            if count(Outcome::Unchanged) > 0 {
                summary.push_str(&format!(
                    "; {} already up to date",
                    super::files(count(Outcome::Unchanged))
                ));
            }
            ctx.printer.status(format!("{summary}."));
            Ok(())
        }
    }
}
