//! `vintner cache dir`: show or set where the cache is (`cache.dir`), as `dvc cache dir` does —
//! a relative path is taken from the current folder and written relative to the config file.

use std::path::{Path, PathBuf};

use crate::cli::{Context, Hinted};
use crate::data::fsutil::normalize;
use crate::data::repo::relative_path;
use crate::data::{ConfigFile, ConfigLevel, Repo};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Show the cache folder, or set (or with --unset remove) `cache.dir`.
    Dir(DirArgs),
}

#[derive(Debug, clap::Args)]
struct DirArgs {
    /// The new cache folder; shown when omitted.
    value: Option<PathBuf>,
    /// Remove `cache.dir` from the config file.
    #[arg(short, long, conflicts_with = "value")]
    unset: bool,
    #[command(flatten)]
    level: LevelArgs,
}

/// Which config file to read or write: DVC's `--global`, `--system`, `--project`, `--local`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
#[group(multiple = false)]
pub struct LevelArgs {
    /// The user's config (`$XDG_CONFIG_HOME/dvc/config`).
    #[arg(long)]
    global: bool,
    /// The machine's config (`/etc/xdg/dvc/config`).
    #[arg(long)]
    system: bool,
    /// The repository's `.dvc/config` (the default for changes).
    #[arg(long)]
    project: bool,
    /// The repository's git-ignored `.dvc/config.local`.
    #[arg(long)]
    local: bool,
}

impl LevelArgs {
    /// The level asked for, if any.
    pub fn level(self) -> Option<ConfigLevel> {
        match (self.global, self.system, self.project, self.local) {
            (true, ..) => Some(ConfigLevel::Global),
            (_, true, ..) => Some(ConfigLevel::System),
            (_, _, true, _) => Some(ConfigLevel::Repo),
            (.., true) => Some(ConfigLevel::Local),
            _ => None,
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let Sub::Dir(args) = args.command;
    let repo = Repo::find(&ctx.cwd)?;
    let level = args.level.level();
    let path = repo.config_path(level.unwrap_or(ConfigLevel::Repo));
    let config_dir = path.parent().unwrap_or(&repo.dvc_dir).to_path_buf();
    let not_set = || {
        Hinted::new(
            format!("`cache.dir` is not set in `{}`", path.display()),
            "set it with `vintner cache dir <folder>`, or leave out the level flag to see the \
             folder in use",
        )
    };
    let (value, unset) = (args.value, args.unset);
    if value.is_none() && !unset {
        let shown = match level {
            None => repo.cache(&repo.config()?).root,
            Some(_) => {
                let file = ConfigFile::load(&path)?;
                let v = file.get("cache", "dir").ok_or_else(not_set)?;
                resolve(v, &config_dir)
            }
        };
        ctx.printer.data(shown.to_string_lossy());
        return Ok(());
    }
    let mut file = ConfigFile::load(&path)?;
    match value {
        Some(v) => {
            let written = written_path(&v, &ctx.cwd, &config_dir);
            file.set("cache", "dir", &written);
        }
        None => {
            if !file.unset("cache", "dir") {
                return Err(not_set().into());
            }
        }
    }
    file.save(&path)?;
    Ok(())
}

/// A path as the config holds it, resolved against the config file's folder.
fn resolve(value: &str, config_dir: &Path) -> PathBuf {
    if let Some(home) = crate::data::config::expand_home(value) {
        return PathBuf::from(home);
    }
    normalize(&config_dir.join(value))
}

/// What to write for `value` given on the command line in `cwd`: absolute and `~` paths as
/// they are, relative ones relative to the config file's folder.
fn written_path(value: &Path, cwd: &Path, config_dir: &Path) -> String {
    let text = value.to_string_lossy();
    if value.is_absolute() || text == "~" || text.starts_with("~/") || text.contains("://") {
        return text.into_owned();
    }
    relative_path(&normalize(&cwd.join(value)), &normalize(config_dir))
        .to_string_lossy()
        .into_owned()
}
