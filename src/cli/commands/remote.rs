//! `vintner remote add|list|default|modify|remove`: data remotes in `.dvc/config` (or, with
//! `--local`, the git-ignored `.dvc/config.local` for credentials), written as `dvc remote` does.
//! A URL is always shown redacted (`http://***@host`, `?token=***`), and a URL that carries
//! credentials is refused for the git-tracked `.dvc/config`.

use serde::Serialize;

use super::JsonFlag;
use crate::cli::{Context, Hinted};
use crate::data::{ConfigLevel, Repo};
use crate::redact;

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

/// Refuses a URL with credentials (user info, a secret query value) for `.dvc/config`, which git
/// tracks: once committed, the secret is in every clone.
fn refuse_tracked_credentials(
    local: bool,
    value: &str,
    fix: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if local || !value.contains("://") {
        return Ok(());
    }
    let shown = redact::url(value);
    if matches!(shown, std::borrow::Cow::Borrowed(_)) {
        return Ok(());
    }
    Err(Hinted::new(
        format!(
            "`{shown}` carries credentials, and `.dvc/config` is tracked by git; nothing was written"
        ),
        fix(),
    )
    .into())
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
            refuse_tracked_credentials(local, &url, || {
                format!(
                    "add it to the git-ignored `.dvc/config.local` instead: `vintner remote add --local{} {name} <url>`",
                    if default { " -d" } else { "" }
                )
            })?;
            let written = repo.add_remote(&name, &url, default, level(local), &ctx.cwd)?;
            p.status(format!(
                "Added remote `{name}` -> {}{}",
                redact::url(&written),
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
                        url: redact::url(&url).into_owned(),
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
            if let Some(v) = &value {
                refuse_tracked_credentials(local, v, || {
                    format!(
                        "set it in the git-ignored `.dvc/config.local` instead: `vintner remote modify --local {name} {option} <value>`"
                    )
                })?;
            }
            if !local && value.is_some() && is_secret(&option) {
                p.warn(format!(
                    "`{option}` is a credential and `.dvc/config` is tracked by git; prefer `--local`"
                ));
            }
            repo.modify_remote(&name, &option, value.as_deref(), level(local), &ctx.cwd)?;
            let shown = match value {
                None => "unset".to_string(),
                Some(_) if is_secret(&option) => "set (value hidden)".into(),
                Some(v) => format!("= {}", redact::url(&v)),
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
