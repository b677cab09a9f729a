//! `vintner remote add|list|default|modify|remove`: data remotes in `.dvc/config` (or, with
//! `--local`, the git-ignored `.dvc/config.local` for credentials), written as `dvc remote` does.

use serde::Serialize;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{ConfigLevel, Repo};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RemoteCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RemoteCommand {
    /// Add a remote: a local folder or s3://bucket/prefix.
    Add {
        /// Also make it the default remote.
        #[arg(short = 'd', long = "default")]
        default: bool,
        /// Write to `.dvc/config.local` (not tracked by git) instead of `.dvc/config`.
        #[arg(long)]
        local: bool,
        name: String,
        url: String,
    },
    /// List remotes and their URLs (the default is marked).
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Show the default remote, or set it.
    Default {
        /// Write to `.dvc/config.local` instead of `.dvc/config`.
        #[arg(long)]
        local: bool,
        name: Option<String>,
    },
    /// Set or unset an option of a remote (url, endpointurl, region, profile, access_key_id, …).
    Modify {
        /// Write to `.dvc/config.local`: use this for credentials, which must stay out of git.
        #[arg(long)]
        local: bool,
        /// Remove the option instead of setting it.
        #[arg(short, long)]
        unset: bool,
        name: String,
        option: String,
        #[arg(required_unless_present = "unset")]
        value: Option<String>,
    },
    /// Remove a remote from `.dvc/config` and `.dvc/config.local`.
    Remove { name: String },
}

#[derive(Debug, Serialize)]
struct RemoteRow {
    name: String,
    url: String,
    default: bool,
}

/// Whether an option's value is a secret: never printed, and better kept in `config.local`.
fn is_secret(option: &str) -> bool {
    let o = option.to_ascii_lowercase();
    [
        "key",
        "secret",
        "token",
        "password",
        "credential",
        "connection_string",
    ]
    .iter()
    .any(|w| o.contains(w))
}

fn level(local: bool) -> ConfigLevel {
    if local {
        ConfigLevel::Local
    } else {
        ConfigLevel::Repo
    }
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let p = &ctx.printer;
    match args.command {
        RemoteCommand::Add {
            default,
            local,
            name,
            url,
        } => {
            let written = repo.add_remote(&name, &url, default, level(local), &ctx.cwd)?;
            p.status(format!(
                "Added remote `{name}` -> {written}{}",
                if default { " (default)" } else { "" }
            ));
        }
        RemoteCommand::List { json } => {
            let config = repo.config()?;
            let default = config.default_remote().map(str::to_string);
            let rows: Vec<RemoteRow> = config
                .remote_names()
                .into_iter()
                .map(|name| {
                    let url = config.remote(&name).map(|r| r.url).unwrap_or_default();
                    RemoteRow {
                        default: default.as_deref() == Some(name.as_str()),
                        name,
                        url,
                    }
                })
                .collect();
            if json.json {
                return p.json(&rows);
            }
            let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
            for r in rows {
                p.data(format!(
                    "{:width$}  {}{}",
                    r.name,
                    r.url,
                    if r.default { "  (default)" } else { "" }
                ));
            }
        }
        RemoteCommand::Default { local, name } => match name {
            Some(name) => {
                repo.set_default_remote(&name, level(local))?;
                p.status(format!("Default remote is now `{name}`"));
            }
            None => match repo.config()?.default_remote() {
                Some(name) => p.data(name),
                None => return Err(crate::data::Error::NoRemote.into()),
            },
        },
        RemoteCommand::Modify {
            local,
            unset,
            name,
            option,
            value,
        } => {
            let value = if unset { None } else { value };
            if !local && value.is_some() && is_secret(&option) {
                p.warn(format!(
                    "`{option}` is a credential and `.dvc/config` is tracked by git; prefer `--local`"
                ));
            }
            repo.modify_remote(&name, &option, value.as_deref(), level(local), &ctx.cwd)?;
            let shown = match value {
                None => "unset".to_string(),
                Some(_) if is_secret(&option) => "set (value hidden)".into(),
                Some(v) => format!("= {v}"),
            };
            p.status(format!("remote `{name}`: {option} {shown}"));
        }
        RemoteCommand::Remove { name } => {
            repo.remove_remote(&name)?;
            p.status(format!("Removed remote `{name}`"));
        }
    }
    Ok(())
}
