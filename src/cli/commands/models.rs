//! `vintner models`: lists and shows registered models and moves their aliases.

use clap::Subcommand;
use serde_json::json;

use super::JsonFlag;
use crate::cli::Context;
use crate::cli::tracking::{self, TrackingArgs, table, utc};
use crate::track::{ModelVersion, SearchModels, Tracker};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List registered models with their newest version and aliases.
    List {
        /// MLflow filter, e.g. "name LIKE 'wine%'".
        #[arg(long, short = 'f')]
        filter: Option<String>,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Show a registered model: tags, aliases and every version.
    Show {
        name: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Point an alias at a version, or delete it.
    Alias {
        #[command(subcommand)]
        action: AliasAction,
    },
}

#[derive(Debug, Subcommand)]
enum AliasAction {
    /// Point `<alias>` of model `<name>` at `<version>` (moving it if it exists).
    Set {
        name: String,
        alias: String,
        /// The version number the alias points to.
        #[arg(value_name = "VERSION")]
        model_version: u64,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete `<alias>` of model `<name>`.
    Delete {
        name: String,
        alias: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// Every version of `name`, newest first.
fn versions(tracker: &dyn Tracker, name: &str) -> anyhow::Result<Vec<ModelVersion>> {
    let mut q = SearchModels {
        filter: Some(format!("name = '{}'", name.replace('\'', "\\'"))),
        ..Default::default()
    };
    let mut out = Vec::new();
    loop {
        let page = tracker.search_model_versions(&q)?;
        out.extend(page.model_versions);
        match page.next_page_token {
            Some(t) => q.page_token = Some(t),
            None => break,
        }
    }
    out.sort_by_key(|v| std::cmp::Reverse(v.version));
    Ok(out)
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    match args.action {
        Action::List {
            filter,
            tracking,
            json,
        } => {
            let tracker = tracking::open(&tracking, ctx)?;
            let mut q = SearchModels {
                filter,
                ..Default::default()
            };
            let mut models = Vec::new();
            loop {
                let page = tracker.search_registered_models(&q)?;
                models.extend(page.registered_models);
                match page.next_page_token {
                    Some(t) => q.page_token = Some(t),
                    None => break,
                }
            }
            if json.json {
                return ctx.printer.json(&json!({ "registered_models": models }));
            }
            let mut rows = Vec::new();
            for m in &models {
                let latest = versions(tracker.as_ref(), &m.name)?
                    .first()
                    .map(|v| v.version);
                let aliases: Vec<String> = m
                    .aliases
                    .iter()
                    .map(|a| format!("{}→v{}", a.alias, a.version))
                    .collect();
                rows.push(vec![
                    m.name.clone(),
                    latest.map_or("-".into(), |v| v.to_string()),
                    aliases.join(", "),
                    utc(m.last_updated_timestamp),
                    m.description.clone().unwrap_or_default(),
                ]);
            }
            ctx.printer.data(table(
                &[
                    "Name",
                    "Latest version",
                    "Aliases",
                    "Updated (UTC)",
                    "Description",
                ],
                rows,
                &[1],
            ));
            Ok(())
        }
        Action::Show {
            name,
            tracking,
            json,
        } => {
            let tracker = tracking::open(&tracking, ctx)?;
            let model = tracker.get_registered_model(&name)?;
            let mut versions = versions(tracker.as_ref(), &name)?;
            // search results omit aliases on MLflow servers; fill them from the model
            for v in &mut versions {
                v.aliases = model
                    .aliases
                    .iter()
                    .filter(|a| a.version == v.version)
                    .map(|a| a.alias.clone())
                    .collect();
            }
            if json.json {
                return ctx
                    .printer
                    .json(&json!({ "registered_model": model, "model_versions": versions }));
            }
            let mut out = format!("Model {}\n", model.name);
            if let Some(d) = &model.description {
                out.push_str(&format!("  description  {d}\n"));
            }
            out.push_str(&format!(
                "  created      {} UTC\n",
                utc(model.creation_timestamp)
            ));
            out.push_str(&format!(
                "  updated      {} UTC\n",
                utc(model.last_updated_timestamp)
            ));
            for t in &model.tags {
                out.push_str(&format!("  tag          {} = {}\n", t.key, t.value));
            }
            out.push_str("\nVersions\n");
            let rows = versions
                .iter()
                .map(|v| {
                    vec![
                        v.version.to_string(),
                        v.status.clone(),
                        v.aliases.join(", "),
                        v.run_id.clone().unwrap_or_default(),
                        utc(v.creation_timestamp),
                        v.source.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out.push_str(&table(
                &[
                    "Version",
                    "Status",
                    "Aliases",
                    "Run ID",
                    "Created (UTC)",
                    "Source",
                ],
                rows,
                &[0],
            ));
            ctx.printer.data(out.trim_end());
            Ok(())
        }
        Action::Alias { action } => match action {
            AliasAction::Set {
                name,
                alias,
                model_version: version,
                tracking,
                json,
            } => {
                let tracker = tracking::open_writable(&tracking, ctx)?;
                tracker.set_registered_model_alias(&name, &alias, version)?;
                if json.json {
                    return ctx
                        .printer
                        .json(&json!({ "name": name, "alias": alias, "version": version }));
                }
                ctx.printer
                    .status(format!("{name}@{alias} → version {version}"));
                Ok(())
            }
            AliasAction::Delete {
                name,
                alias,
                tracking,
                json,
            } => {
                let tracker = tracking::open_writable(&tracking, ctx)?;
                tracker.delete_registered_model_alias(&name, &alias)?;
                if json.json {
                    return ctx
                        .printer
                        .json(&json!({ "name": name, "alias": alias, "deleted": true }));
                }
                ctx.printer.status(format!("Deleted alias {name}@{alias}"));
                Ok(())
            }
        },
    }
}
