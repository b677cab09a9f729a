//! `vintner config [name] [value]`: get, set, unset and list DVC's config options as
//! `dvc config` does, at its four levels (`--system`, `--global`, `--project`, `--local`).
//! Values are checked by the same schema as `vintner remote` (a bad option or value exits with
//! DVC's 251 and writes nothing); files are written as DVC writes them.

use std::path::{Path, PathBuf};

use crate::cli::{ConfigFailed, Context, Hinted};
use crate::data::config::{Config, remote_section, resolve_url};
use crate::data::repo::{config_relative_url, relative_path};
use crate::data::{ConfigFile, ConfigLevel, Error as DataError, Repo};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    level: LevelFlags,
    /// Unset the option.
    #[arg(short, long)]
    unset: bool,
    /// List every option set, level by level (system, global, project, local).
    #[arg(short, long)]
    list: bool,
    /// Show the file that sets each value.
    #[arg(long)]
    show_origin: bool,
    /// Option name: `section.option`, `remote.name.option` or `db.name.option`.
    #[arg(value_parser = parse_name)]
    name: Option<Name>,
    /// Option value.
    value: Option<String>,
}

/// Which config file (`dvc config`'s `--system|--global|--project|--local`); none means every
/// level for reading and the project's `.dvc/config` for writing.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
#[group(multiple = false)]
struct LevelFlags {
    /// Use the system config (`/etc/xdg/dvc/config`, or `$DVC_SYSTEM_CONFIG_DIR/config`).
    #[arg(long)]
    system: bool,
    /// Use the global config (`~/.config/dvc/config`, or `$DVC_GLOBAL_CONFIG_DIR/config`).
    #[arg(long)]
    global: bool,
    /// Use the project config `.dvc/config`.
    #[arg(long)]
    project: bool,
    /// Use `.dvc/config.local` (not tracked by git).
    #[arg(long)]
    local: bool,
}

impl LevelFlags {
    fn level(self) -> Option<ConfigLevel> {
        if self.system {
            Some(ConfigLevel::System)
        } else if self.global {
            Some(ConfigLevel::Global)
        } else if self.project {
            Some(ConfigLevel::Repo)
        } else if self.local {
            Some(ConfigLevel::Local)
        } else {
            None
        }
    }
}

/// A parsed option name, lowercased as DVC lowercases it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name {
    /// `remote` or `db` for a named section.
    top: Option<String>,
    section: String,
    option: String,
}

impl Name {
    /// The section as the file spells it (`core`, `remote "name"`).
    fn file_section(&self) -> String {
        match self.top.as_deref() {
            Some("remote") => remote_section(&self.section),
            Some(top) => format!("{top} \"{}\"", self.section),
            None => self.section.clone(),
        }
    }

    /// DVC's message when the section or option is not in a file.
    fn missing(&self, file: &ConfigFile) -> Option<String> {
        let kind = self.top.as_deref().unwrap_or("section");
        if !file.has_section(&self.file_section()) {
            return Some(format!("{kind} '{}' doesn't exist", self.section));
        }
        if file.get(&self.file_section(), &self.option).is_none() {
            return Some(format!(
                "option '{}' doesn't exist in {kind} '{}'",
                self.option, self.section
            ));
        }
        None
    }

    /// Whether the option holds a path that DVC writes relative to the config file's folder.
    fn is_path(&self) -> bool {
        match self.top.as_deref() {
            Some("remote") => matches!(
                self.option.as_str(),
                "url"
                    | "gdrive_user_credentials_file"
                    | "gdrive_service_account_json_file_path"
                    | "credentialpath"
                    | "keyfile"
                    | "cert_path"
                    | "key_path"
            ),
            None => self.section == "cache" && self.option == "dir",
            _ => false,
        }
    }
}

/// `dvc config`'s name pattern: `(remote.|db.)?section.option`, no other dots.
fn parse_name(value: &str) -> Result<Name, String> {
    let bad = || {
        "name argument should look like remote.name.option or db.name.option or section.option"
            .to_string()
    };
    let parts: Vec<&str> = value.split('.').collect();
    let (top, section, option) = match parts.as_slice() {
        [section, option] => (None, *section, *option),
        [top, section, option] if matches!(*top, "remote" | "db") => {
            (Some(top.to_string()), *section, *option)
        }
        _ => return Err(bad()),
    };
    Ok(Name {
        top,
        section: section.to_lowercase(),
        option: option.to_lowercase(),
    })
}

/// Where the config files are: the repository's `.dvc`, or none outside a repository.
struct Place {
    cwd: PathBuf,
    root: Option<PathBuf>,
    dvc_dir: Option<PathBuf>,
}

impl Place {
    fn find(cwd: &Path) -> anyhow::Result<Place> {
        match Repo::find(cwd) {
            Ok(repo) => Ok(Place {
                cwd: cwd.to_path_buf(),
                root: Some(repo.root.clone()),
                dvc_dir: Some(repo.dvc_dir.clone()),
            }),
            Err(DataError::NotARepo(_)) => Ok(Place {
                cwd: cwd.to_path_buf(),
                root: None,
                dvc_dir: None,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The levels a command without a level flag reads, least specific first.
    fn levels(&self, level: Option<ConfigLevel>) -> anyhow::Result<Vec<ConfigLevel>> {
        match level {
            Some(l) => {
                self.require(l)?;
                Ok(vec![l])
            }
            None if self.dvc_dir.is_some() => Ok(vec![
                ConfigLevel::System,
                ConfigLevel::Global,
                ConfigLevel::Repo,
                ConfigLevel::Local,
            ]),
            None => Ok(vec![ConfigLevel::System, ConfigLevel::Global]),
        }
    }

    /// The repository levels need a repository (DVC: "Not inside a DVC repo", exit 251).
    fn require(&self, level: ConfigLevel) -> anyhow::Result<()> {
        if self.dvc_dir.is_none() && matches!(level, ConfigLevel::Repo | ConfigLevel::Local) {
            return Err(ConfigFailed(DataError::NotARepo(self.cwd.clone())).into());
        }
        Ok(())
    }

    /// The `.dvc` folder to resolve levels against; outside a repository only the system and
    /// global levels are used, which do not depend on it.
    fn dvc_dir(&self) -> PathBuf {
        self.dvc_dir.clone().unwrap_or_default()
    }

    fn path(&self, level: ConfigLevel) -> anyhow::Result<PathBuf> {
        level.path(&self.dvc_dir()).ok_or_else(|| {
            Hinted::new(
                "cannot locate the global DVC config: neither XDG_CONFIG_HOME nor HOME is set",
                "set HOME, or DVC_GLOBAL_CONFIG_DIR to the folder of the global config",
            )
            .into()
        })
    }

    /// A value as DVC shows it: a path option resolved against its config file's folder.
    fn shown(&self, name: &Name, level: ConfigLevel, value: &str) -> String {
        if name.is_path() {
            resolve_url(value, level, &self.dvc_dir())
        } else {
            value.to_string()
        }
    }

    /// `--show-origin`'s prefix: the file, relative to the repository for its own levels.
    fn origin(&self, level: ConfigLevel) -> anyhow::Result<String> {
        let path = self.path(level)?;
        let shown = match (&self.root, level) {
            (Some(root), ConfigLevel::Repo | ConfigLevel::Local) => relative_path(&path, root),
            _ => path,
        };
        Ok(format!("{}\t", shown.to_string_lossy()))
    }
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    if args.show_origin && (args.value.is_some() || args.unset) {
        return Err(Hinted::new(
            "--show-origin can't be used together with any of these options: -u/--unset, value",
            "use `--show-origin` only to read or list values",
        )
        .into());
    }
    let place = Place::find(&ctx.cwd)?;
    let level = args.level.level();
    if args.list {
        if args.name.is_some() || args.value.is_some() || args.unset {
            return Err(Hinted::new(
                "-l/--list can't be used together with any of these options: -u/--unset, name, value",
                "run `vintner config --list` alone, or `vintner config <name>` to read one option",
            )
            .into());
        }
        return list(&place, level, args.show_origin, ctx);
    }
    let Some(name) = args.name else {
        return Err(Hinted::new(
            "name argument is required",
            "name an option, as in `vintner config core.remote`, or list them with `--list`",
        )
        .into());
    };
    match (args.value, args.unset) {
        (None, false) => get(&place, level, &name, args.show_origin, ctx),
        (value, unset) => set(&place, level, &name, value.filter(|_| !unset), ctx),
    }
}

fn list(
    place: &Place,
    level: Option<ConfigLevel>,
    show_origin: bool,
    ctx: &Context,
) -> anyhow::Result<()> {
    for level in place.levels(level)? {
        let file = ConfigFile::load(&place.path(level)?)?;
        let prefix = if show_origin {
            place.origin(level)?
        } else {
            String::new()
        };
        for (key, value) in file.flatten() {
            let value = match parse_name(&key) {
                Ok(name) => place.shown(&name, level, &value),
                Err(_) => value,
            };
            ctx.printer.data(format!("{prefix}{key}={value}"));
        }
    }
    Ok(())
}

fn get(
    place: &Place,
    level: Option<ConfigLevel>,
    name: &Name,
    show_origin: bool,
    ctx: &Context,
) -> anyhow::Result<()> {
    for l in place.levels(level)?.into_iter().rev() {
        let path = place.path(l)?;
        let file = ConfigFile::load(&path)?;
        match name.missing(&file) {
            // Without a level flag, DVC looks further and prints nothing if no level sets it.
            Some(message) if level.is_some() => {
                return Err(ConfigFailed(DataError::ConfigOptionMissing { path, message }).into());
            }
            Some(_) => {}
            None => {
                let prefix = if show_origin {
                    place.origin(l)?
                } else {
                    String::new()
                };
                let value = file
                    .get(&name.file_section(), &name.option)
                    .unwrap_or_default();
                let value = place.shown(name, l, value);
                ctx.printer.data(format!("{prefix}{value}"));
                break;
            }
        }
    }
    Ok(())
}

fn set(
    place: &Place,
    level: Option<ConfigLevel>,
    name: &Name,
    value: Option<String>,
    ctx: &Context,
) -> anyhow::Result<()> {
    let level = level.unwrap_or(ConfigLevel::Repo);
    place.require(level)?;
    let path = place.path(level)?;
    let value = match value {
        Some(v) if name.is_path() => {
            let dir = path.parent().unwrap_or(Path::new("."));
            Some(config_relative_url(&v, &ctx.cwd, dir))
        }
        other => other,
    };
    let section = name.file_section();
    Config::edit(&place.dvc_dir(), level, |file, _| {
        match &value {
            Some(v) => file.set(&section, &name.option, v),
            None => {
                if let Some(message) = name.missing(file) {
                    return Err(DataError::ConfigOptionMissing {
                        path: path.clone(),
                        message,
                    });
                }
                file.unset(&section, &name.option);
            }
        }
        Ok(())
    })
    .map_err(config_error)?;
    if value.is_some() && name.top.is_none() && name.section == "cache" && name.option == "type" {
        ctx.printer.warn(
            "You have changed the 'cache.type' option. This doesn't update any existing \
             workspace file links, but it can be done with: vintner checkout --relink",
        );
    }
    Ok(())
}

/// DVC's configuration errors exit with 251.
fn config_error(e: DataError) -> anyhow::Error {
    match e {
        DataError::InvalidConfig { .. }
        | DataError::ConfigOptionMissing { .. }
        | DataError::Config { .. } => ConfigFailed(e).into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_as_dvc_config_reads_them() {
        let n = parse_name("Core.AutoStage").unwrap();
        assert_eq!(n.top, None);
        assert_eq!(
            (n.section.as_str(), n.option.as_str()),
            ("core", "autostage")
        );
        assert_eq!(n.file_section(), "core");
        let r = parse_name("remote.MyRemote.url").unwrap();
        assert_eq!(r.top.as_deref(), Some("remote"));
        assert_eq!(r.file_section(), "remote \"myremote\"");
        assert!(r.is_path());
        assert!(parse_name("foo").is_err());
        assert!(parse_name("a.b.c").is_err());
        assert!(parse_name("remote.a.b.c").is_err());
    }
}
