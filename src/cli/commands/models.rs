//! `vintner models`: lists, shows and searches registered models and their versions, moves
//! aliases, and manages the registry as MLflow's client does: delete a model or a version,
//! descriptions and tags. Every model argument takes `name`, `name@alias`, `name/3` or their
//! `models:/…` URI form ([`ModelUri`]).

use std::collections::BTreeMap;

use clap::Subcommand;
use serde_json::json;

use super::JsonFlag;
use crate::cli::tracking::{self, TrackingArgs, table, utc};
use crate::cli::{Context, Hinted};
use crate::track::{ModelUri, ModelVersion, SearchModels, Tag, Tracker, VersionRef};

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
    /// Show a registered model: description, tags, aliases and every version with its stage
    /// (or only the version `models:/name/3` or `name@alias` names).
    Show {
        /// `name`, `name@alias`, `name/3` or `models:/…`.
        model: String,
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
    /// Delete a registered model with all its versions, tags and aliases.
    Delete {
        name: String,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List model versions (of one model, or of all) with MLflow's `search_model_versions`
    /// filter, or delete one.
    #[command(args_conflicts_with_subcommands = true)]
    Versions {
        #[command(subcommand)]
        action: Option<VersionsAction>,
        /// Only this model's versions.
        name: Option<String>,
        /// MLflow filter, e.g. "run_id = '…'", "version_number > 2", "tags.stage = 'ok'".
        #[arg(long, short = 'f')]
        filter: Option<String>,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Set the description of a model, or of one version (`--version 3`, `name@alias`,
    /// `models:/name/3`); "" clears it.
    #[command(disable_version_flag = true)]
    Describe {
        model: String,
        description: String,
        #[arg(long, value_name = "N")]
        version: Option<u64>,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Set or delete a tag of a model, or of one version.
    Tag {
        #[command(subcommand)]
        action: TagAction,
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

#[derive(Debug, Subcommand)]
enum VersionsAction {
    /// Delete a version as MLflow does: its number is never reused, its aliases go, and it is
    /// hidden from every listing.
    #[command(disable_version_flag = true)]
    Delete {
        /// `name` (with VERSION), or `name/3`, `name@alias`, `models:/…`.
        model: String,
        version: Option<u64>,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
enum TagAction {
    /// Set `<key>` to `<value>` on a model, or on one version.
    #[command(disable_version_flag = true)]
    Set {
        model: String,
        key: String,
        value: String,
        #[arg(long, value_name = "N")]
        version: Option<u64>,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete the tag `<key>` of a model, or of one version.
    #[command(disable_version_flag = true)]
    Delete {
        model: String,
        key: String,
        #[arg(long, value_name = "N")]
        version: Option<u64>,
        #[command(flatten)]
        tracking: TrackingArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// A string literal for an MLflow filter: single quotes unless the text has one.
fn quoted(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        format!("'{}'", text.replace('\'', "\\'"))
    }
}

/// Every version a search returns (all pages), newest first within a model.
fn search_versions(
    tracker: &dyn Tracker,
    filter: Option<String>,
) -> anyhow::Result<Vec<ModelVersion>> {
    let mut q = SearchModels {
        filter,
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
    out.sort_by(|a, b| a.name.cmp(&b.name).then(b.version.cmp(&a.version)));
    Ok(out)
}

/// Every version of `name`, newest first.
fn versions(tracker: &dyn Tracker, name: &str) -> anyhow::Result<Vec<ModelVersion>> {
    search_versions(tracker, Some(format!("name = {}", quoted(name))))
}

/// Fills each version's aliases from its model (MLflow servers leave them out of searches).
fn fill_aliases(tracker: &dyn Tracker, versions: &mut [ModelVersion]) -> anyhow::Result<()> {
    let mut aliases: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for v in versions.iter_mut() {
        if !aliases.contains_key(&v.name) {
            let m = tracker.get_registered_model(&v.name)?;
            aliases.insert(
                v.name.clone(),
                m.aliases
                    .into_iter()
                    .map(|a| (a.alias, a.version))
                    .collect(),
            );
        }
        v.aliases = aliases[&v.name]
            .iter()
            .filter(|(_, n)| *n == v.version)
            .map(|(a, _)| a.clone())
            .collect();
    }
    Ok(())
}

/// The model and the version number a command acts on: the version from the reference
/// (`name/3`, `name@alias`, `models:/…`) or from `--version`, not both.
fn target(
    tracker: &dyn Tracker,
    model: &str,
    flag: Option<u64>,
) -> anyhow::Result<(String, Option<u64>)> {
    let uri = ModelUri::parse(model)?;
    match (&uri.version, flag) {
        (None, v) => Ok((uri.name, v)),
        (Some(_), Some(_)) => Err(Hinted::new(
            format!("`{model}` already names a version, and --version names another"),
            "give the version once: `name --version 3` or `models:/name/3`",
        )
        .into()),
        (Some(VersionRef::Version(v)), None) => Ok((uri.name.clone(), Some(*v))),
        (Some(VersionRef::Alias(_)), None) => {
            let v = uri.model_version(tracker)?;
            Ok((uri.name, Some(v.version)))
        }
    }
}

fn versions_table(versions: &[ModelVersion], with_name: bool) -> String {
    let mut header = Vec::new();
    if with_name {
        header.push("Name");
    }
    header.extend([
        "Version",
        "Stage",
        "Status",
        "Aliases",
        "Run ID",
        "Created (UTC)",
        "Source",
    ]);
    let rows = versions
        .iter()
        .map(|v| {
            let mut row = Vec::new();
            if with_name {
                row.push(v.name.clone());
            }
            row.extend([
                v.version.to_string(),
                v.current_stage.clone(),
                v.status.clone(),
                v.aliases.join(", "),
                v.run_id.clone().unwrap_or_default(),
                utc(v.creation_timestamp),
                v.source.clone().unwrap_or_default(),
            ]);
            row
        })
        .collect();
    table(&header, rows, &[usize::from(with_name)])
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
            model,
            tracking,
            json,
        } => {
            let uri = ModelUri::parse(&model)?;
            let tracker = tracking::open(&tracking, ctx)?;
            let model = tracker.get_registered_model(&uri.name)?;
            let mut versions = match &uri.version {
                Some(_) => vec![uri.model_version(tracker.as_ref())?],
                None => versions(tracker.as_ref(), &uri.name)?,
            };
            fill_aliases(tracker.as_ref(), &mut versions)?;
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
            out.push_str(&versions_table(&versions, false));
            let notes: Vec<String> = versions
                .iter()
                .flat_map(|v| {
                    let desc = v
                        .description
                        .iter()
                        .map(move |d| format!("  v{}  description  {d}", v.version));
                    let tags = v.tags.iter().map(move |t| {
                        format!("  v{}  tag          {} = {}", v.version, t.key, t.value)
                    });
                    desc.chain(tags).collect::<Vec<_>>()
                })
                .collect();
            if !notes.is_empty() {
                out.push_str("\n\nVersion descriptions and tags\n");
                out.push_str(&notes.join("\n"));
            }
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
                crate::pipeline::lineage::move_alias(tracker.as_ref(), &name, &alias, version)?;
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
                tracker.delete_registered_model_tag(
                    &name,
                    &crate::pipeline::lineage::alias_since_tag(&alias),
                )?;
                if json.json {
                    return ctx
                        .printer
                        .json(&json!({ "name": name, "alias": alias, "deleted": true }));
                }
                ctx.printer.status(format!("Deleted alias {name}@{alias}"));
                Ok(())
            }
        },
        Action::Delete {
            name,
            tracking,
            json,
        } => {
            let uri = ModelUri::parse(&name)?;
            if uri.version.is_some() {
                return Err(Hinted::new(
                    format!("`{name}` names one version, not a whole model"),
                    format!(
                        "delete the version with `vintner models versions delete {name}`, or the \
                         whole model with `vintner models delete {}`",
                        uri.name
                    ),
                )
                .into());
            }
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            tracker.delete_registered_model(&uri.name)?;
            if json.json {
                return ctx
                    .printer
                    .json(&json!({ "name": uri.name, "deleted": true }));
            }
            ctx.printer.status(format!(
                "Deleted registered model `{}` with its versions in {}",
                uri.name,
                tracker.uri()
            ));
            Ok(())
        }
        Action::Versions {
            action:
                Some(VersionsAction::Delete {
                    model,
                    version,
                    tracking,
                    json,
                }),
            ..
        } => {
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            let (name, version) = target(tracker.as_ref(), &model, version)?;
            let version = version.ok_or_else(|| {
                Hinted::new(
                    format!("No version given to delete from model `{name}`"),
                    format!("name it: `vintner models versions delete {name} 3`"),
                )
            })?;
            tracker.delete_model_version(&name, version)?;
            if json.json {
                return ctx
                    .printer
                    .json(&json!({ "name": name, "version": version, "deleted": true }));
            }
            ctx.printer.status(format!(
                "Deleted version {version} of `{name}` in {}",
                tracker.uri()
            ));
            Ok(())
        }
        Action::Versions {
            action: None,
            name,
            filter,
            tracking,
            json,
        } => {
            let tracker = tracking::open(&tracking, ctx)?;
            let name = match name {
                Some(n) => {
                    let uri = ModelUri::parse(&n)?;
                    if uri.version.is_some() {
                        return Err(Hinted::new(
                            format!("`{n}` names one version"),
                            format!("list them all with `vintner models versions {}`, or show this one with `vintner models show {n}`", uri.name),
                        )
                        .into());
                    }
                    Some(uri.name)
                }
                None => None,
            };
            let filter = match (name.as_deref(), filter.filter(|f| !f.trim().is_empty())) {
                (Some(n), Some(f)) => Some(format!("name = {} AND {f}", quoted(n))),
                (Some(n), None) => Some(format!("name = {}", quoted(n))),
                (None, f) => f,
            };
            let mut versions = search_versions(tracker.as_ref(), filter)?;
            fill_aliases(tracker.as_ref(), &mut versions)?;
            if json.json {
                return ctx.printer.json(&json!({ "model_versions": versions }));
            }
            ctx.printer.data(versions_table(&versions, true));
            Ok(())
        }
        Action::Describe {
            model,
            description,
            version,
            tracking,
            json,
        } => {
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            let (name, version) = target(tracker.as_ref(), &model, version)?;
            let value = match version {
                Some(v) => {
                    json!({ "model_version": tracker.update_model_version(&name, v, &description)? })
                }
                None => {
                    json!({ "registered_model": tracker.update_registered_model(&name, &description)? })
                }
            };
            if json.json {
                return ctx.printer.json(&value);
            }
            let what = match version {
                Some(v) => format!("version {v} of `{name}`"),
                None => format!("`{name}`"),
            };
            let verb = if description.is_empty() {
                "Cleared the description of"
            } else {
                "Described"
            };
            ctx.printer.status(format!("{verb} {what}"));
            Ok(())
        }
        Action::Tag { action } => {
            let (model, key, value, version, tracking, json) = match action {
                TagAction::Set {
                    model,
                    key,
                    value,
                    version,
                    tracking,
                    json,
                } => (model, key, Some(value), version, tracking, json),
                TagAction::Delete {
                    model,
                    key,
                    version,
                    tracking,
                    json,
                } => (model, key, None, version, tracking, json),
            };
            let tracker = tracking::open_existing_writable(&tracking, ctx)?;
            let (name, version) = target(tracker.as_ref(), &model, version)?;
            match (&value, version) {
                (Some(val), Some(v)) => {
                    tracker.set_model_version_tag(&name, v, &Tag::new(key.clone(), val.clone()))?
                }
                (Some(val), None) => {
                    tracker.set_registered_model_tag(&name, &Tag::new(key.clone(), val.clone()))?
                }
                (None, Some(v)) => tracker.delete_model_version_tag(&name, v, &key)?,
                (None, None) => tracker.delete_registered_model_tag(&name, &key)?,
            }
            let (entity, what) = match version {
                Some(v) => (
                    json!({ "model_version": tracker.get_model_version(&name, v)? }),
                    format!("version {v} of `{name}`"),
                ),
                None => (
                    json!({ "registered_model": tracker.get_registered_model(&name)? }),
                    format!("`{name}`"),
                ),
            };
            if json.json {
                return ctx.printer.json(&entity);
            }
            let verb = if value.is_some() { "Set" } else { "Deleted" };
            ctx.printer.status(format!("{verb} tag `{key}` of {what}"));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_literals_survive_quotes() {
        assert_eq!(quoted("wine"), "'wine'");
        assert_eq!(quoted("o'brien"), "\"o'brien\"");
    }
}
