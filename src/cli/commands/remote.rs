//! `vintner remote add|list|default|modify|rename|remove`: data remotes in `.dvc/config` (or,
//! with `--local`, the git-ignored `.dvc/config.local` for credentials; `--global`/`--system`
//! for DVC's other levels), written and validated as `dvc remote` does; its configuration errors
//! exit with DVC's code 251.
//! A URL is always shown redacted (`http://***@host`, `?token=***`), and a URL that carries
//! credentials is refused for the git-tracked `.dvc/config`.

use serde::Serialize;

use super::JsonFlag;
use crate::cli::{ConfigFailed, Context, Hinted};
use crate::data::{ConfigLevel, Repo};
use crate::redact;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RemoteCommand,
}

/// Which config file a command writes (`dvc remote`'s `--system|--global|--project|--local`).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
#[group(multiple = false)]
struct LevelFlags {
    /// Use the system config (`/etc/xdg/dvc/config`, or `$DVC_SYSTEM_CONFIG_DIR/config`).
    #[arg(long)]
    system: bool,
    /// Use the global config (`~/.config/dvc/config`, or `$DVC_GLOBAL_CONFIG_DIR/config`).
    #[arg(long)]
    global: bool,
    /// Use the project config `.dvc/config` (the default).
    #[arg(long)]
    project: bool,
    /// Use `.dvc/config.local` (not tracked by git): the place for credentials.
    #[arg(long)]
    local: bool,
}

impl LevelFlags {
    fn level(self) -> ConfigLevel {
        if self.system {
            ConfigLevel::System
        } else if self.global {
            ConfigLevel::Global
        } else if self.local {
            ConfigLevel::Local
        } else {
            ConfigLevel::Repo
        }
    }

    /// Whether the file written is `.dvc/config`, which git tracks.
    fn git_tracked(self) -> bool {
        self.level() == ConfigLevel::Repo
    }
}

#[derive(Debug, clap::Subcommand)]
enum RemoteCommand {
    /// Add a remote: a local folder or s3://bucket/prefix.
    Add {
        /// Also make it the default remote.
        #[arg(short = 'd', long = "default")]
        default: bool,
        /// Replace a remote of that name (in the same config file).
        #[arg(short, long)]
        force: bool,
        #[command(flatten)]
        level: LevelFlags,
        name: String,
        url: String,
    },
    /// List remotes and their URLs (the default is marked).
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Show the default remote, set it, or unset it.
    Default {
        /// Unset the default remote.
        #[arg(short, long, conflicts_with = "name")]
        unset: bool,
        #[command(flatten)]
        level: LevelFlags,
        name: Option<String>,
    },
    /// Set or unset an option of a remote (url, endpointurl, region, profile, access_key_id, …),
    /// checked as DVC's config schema checks it for the remote's type.
    Modify {
        #[command(flatten)]
        level: LevelFlags,
        /// Remove the option instead of setting it.
        #[arg(short, long)]
        unset: bool,
        name: String,
        option: String,
        #[arg(required_unless_present = "unset")]
        value: Option<String>,
    },
    /// Rename a remote (and the default that names it).
    Rename {
        #[command(flatten)]
        level: LevelFlags,
        name: String,
        new: String,
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
    git_tracked: bool,
    value: &str,
    fix: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if !git_tracked || !value.contains("://") {
        return Ok(());
    }
    let shown = redact::url(value);
    if matches!(shown, std::borrow::Cow::Borrowed(_)) {
        return Ok(());
    }
    // `ssh://user@host` names the login, not a secret (DVC writes such URLs): only a password
    // or a secret query value is refused there.
    if value.starts_with("ssh://") {
        let (bare, creds) = redact::split_credentials(value);
        let secret_query = matches!(redact::url(&bare), std::borrow::Cow::Owned(_));
        if !secret_query && creds.is_none_or(|c| c.password.is_none()) {
            return Ok(());
        }
    }
    Err(Hinted::new(
        format!(
            "`{shown}` carries credentials, and `.dvc/config` is tracked by git; nothing was written"
        ),
        fix(),
    )
    .into())
}

/// DVC's configuration errors exit with 251, as `dvc remote` does.
fn config_error(e: crate::data::Error) -> anyhow::Error {
    use crate::data::Error as E;
    match e {
        E::InvalidConfig { .. }
        | E::RemoteExists(_)
        | E::UnknownRemote { .. }
        | E::Config { .. } => ConfigFailed(e).into(),
        other => other.into(),
    }
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let p = &ctx.printer;
    match args.command {
        RemoteCommand::Add {
            default,
            force,
            level,
            name,
            url,
        } => {
            // DVC lowercases remote names.
            let name = name.to_lowercase();
            refuse_tracked_credentials(level.git_tracked(), &url, || {
                format!(
                    "add it to the git-ignored `.dvc/config.local` instead: `vintner remote add --local{} {name} <url>`",
                    if default { " -d" } else { "" }
                )
            })?;
            let written = repo
                .add_remote(&name, &url, default, force, level.level(), &ctx.cwd)
                .map_err(config_error)?;
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
        RemoteCommand::Default { unset, level, name } => match (name, unset) {
            (_, true) => {
                repo.set_default_remote(None, level.level())
                    .map_err(config_error)?;
                p.status("Default remote unset");
            }
            (Some(name), false) => {
                let name = name.to_lowercase();
                repo.set_default_remote(Some(&name), level.level())
                    .map_err(config_error)?;
                p.status(format!("Default remote is now `{name}`"));
            }
            (None, false) => match repo.config()?.default_remote() {
                Some(name) => p.data(name),
                None => return Err(crate::data::Error::NoRemote.into()),
            },
        },
        RemoteCommand::Modify {
            level,
            unset,
            name,
            option,
            value,
        } => {
            let name = name.to_lowercase();
            let value = if unset { None } else { value };
            if let Some(v) = &value {
                refuse_tracked_credentials(level.git_tracked(), v, || {
                    format!(
                        "set it in the git-ignored `.dvc/config.local` instead: `vintner remote modify --local {name} {option} <value>`"
                    )
                })?;
            }
            if level.git_tracked() && value.is_some() && is_secret(&option) {
                p.warn(format!(
                    "`{option}` is a credential and `.dvc/config` is tracked by git; prefer `--local`"
                ));
            }
            repo.modify_remote(&name, &option, value.as_deref(), level.level(), &ctx.cwd)
                .map_err(config_error)?;
            let shown = match value {
                None => "unset".to_string(),
                Some(_) if is_secret(&option) => "set (value hidden)".into(),
                Some(v) => format!("= {}", redact::url(&v)),
            };
            p.status(format!("remote `{name}`: {option} {shown}"));
        }
        RemoteCommand::Rename { level, name, new } => {
            let (name, new) = (name.to_lowercase(), new.to_lowercase());
            repo.rename_remote(&name, &new, level.level())
                .map_err(config_error)?;
            p.status(format!("Renamed remote `{name}` to `{new}`"));
        }
        RemoteCommand::Remove { name } => {
            repo.remove_remote(&name.to_lowercase())
                .map_err(config_error)?;
            p.status(format!("Removed remote `{name}`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        refuse_tracked_credentials(true, url, String::new).is_err()
    }

    #[test]
    fn an_ssh_login_name_is_not_a_secret_but_a_password_is() {
        assert!(!refused("ssh://alice@host:2222/store"));
        assert!(refused("ssh://alice:pw@host/store"));
        assert!(refused("ssh://alice@host/store?token=t"));
        assert!(refused("https://token@host/store"));
        assert!(refused("s3://key:secret@bucket/store"));
        assert!(!refused("s3://bucket/store"));
        assert!(refuse_tracked_credentials(false, "https://a:b@h/x", String::new).is_ok());
    }
}
