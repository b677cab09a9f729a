//! A DVC repository on disk: finding it from any folder inside, creating the exact layout
//! `dvc init` creates, and managing its remotes in `.dvc/config(.local)` as `dvc remote` does.

use std::path::{Path, PathBuf};

use super::config::{self, Config, ConfigFile, ConfigLevel, remote_section};
use super::fsutil::{normalize, write_atomic};
use super::odb::{LinkType, Odb};
use super::state::State;
use super::{Error, Result};
use crate::git;

/// `.dvc/.gitignore` exactly as `dvc init` writes it.
pub const DVC_GITIGNORE: &str = "/config.local\n/tmp\n/cache\n";
/// `.dvcignore` exactly as `dvc init` writes it.
pub const DVCIGNORE: &str = "# Add patterns of files dvc should ignore, which could improve\n\
# the performance. Learn more at\n\
# https://dvc.org/doc/user-guide/dvcignore\n";

/// A DVC repository: the folder holding `.dvc/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub root: PathBuf,
    pub dvc_dir: PathBuf,
}

/// What `init` should do about a data remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteChoice {
    /// Configure this URL (a folder or `s3://…`) as the default remote named `name`.
    Url { name: String, url: String },
    /// Leave remotes alone.
    None,
}

/// What `init` found and did, for the CLI to report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitReport {
    pub git_initialized: bool,
    /// Files created, relative to the repository root.
    pub created: Vec<PathBuf>,
    /// Files that were already there and were left untouched.
    pub existing: Vec<PathBuf>,
    /// The default remote configured by this run, as (name, url).
    pub remote_added: Option<(String, String)>,
    /// The default remote that was already configured, as (name, url).
    pub remote_existing: Option<(String, String)>,
}

impl Repo {
    /// The repository containing `start` (the nearest ancestor with a `.dvc` folder).
    pub fn find(start: &Path) -> Result<Repo> {
        let start = normalize(start);
        let mut dir = Some(start.as_path());
        while let Some(d) = dir {
            if d.join(".dvc").is_dir() {
                return Ok(Repo::at(d));
            }
            dir = d.parent();
        }
        Err(Error::NotARepo(start))
    }

    /// The repository rooted at `root` (not checked).
    pub fn at(root: &Path) -> Repo {
        Repo {
            root: root.to_path_buf(),
            dvc_dir: root.join(".dvc"),
        }
    }

    /// All config levels merged.
    pub fn config(&self) -> Result<Config> {
        Config::load(&self.dvc_dir)
    }

    /// The cache: `cache.dir` or `.dvc/cache`.
    pub fn cache(&self, config: &Config) -> Odb {
        Odb::new(
            config
                .get_path("cache", "dir")
                .unwrap_or_else(|| self.dvc_dir.join("cache")),
        )
        .shared(config.shared_cache())
    }

    /// `cache.type` as a list of link types to try in order (default `reflink,copy`).
    pub fn link_types(&self, config: &Config) -> Result<Vec<LinkType>> {
        LinkType::parse_list(config.get("cache", "type").unwrap_or("reflink,copy"))
            .map_err(Error::BadCacheType)
    }

    /// The hash cache of this repository.
    pub fn state(&self) -> State {
        State::load(&self.dvc_dir)
    }

    /// The path of one config level's file.
    pub fn config_path(&self, level: ConfigLevel) -> PathBuf {
        level
            .path(&self.dvc_dir)
            .unwrap_or_else(|| self.dvc_dir.join("config"))
    }

    /// Adds remote `name` with `url` at `level`; `default` also sets `core.remote` there, and
    /// `force` replaces a remote of that name at that level (as `dvc remote add -f`).
    /// A relative local path is taken relative to `cwd` and written relative to the config
    /// file's folder, as DVC does.
    pub fn add_remote(
        &self,
        name: &str,
        url: &str,
        default: bool,
        force: bool,
        level: ConfigLevel,
        cwd: &Path,
    ) -> Result<String> {
        let path = self.config_path(level);
        let written = config_relative_url(url, cwd, path.parent().unwrap_or(&self.dvc_dir));
        config::remote_add(&self.dvc_dir, level, name, &written, default, force)?;
        Ok(written)
    }

    /// Sets `core.remote = name` at `level` (or with `None`, removes it there).
    pub fn set_default_remote(&self, name: Option<&str>, level: ConfigLevel) -> Result<()> {
        config::remote_default(&self.dvc_dir, level, name)
    }

    /// Renames remote `from` (defined at `level`) to `to`, with the defaults that name it.
    pub fn rename_remote(&self, from: &str, to: &str, level: ConfigLevel) -> Result<()> {
        config::remote_rename(&self.dvc_dir, level, from, to)
    }

    /// Sets (or with `unset`, removes) an option of remote `name` at `level`, validated as
    /// DVC's config schema validates it for the remote's type.
    pub fn modify_remote(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
        level: ConfigLevel,
        cwd: &Path,
    ) -> Result<()> {
        let path = self.config_path(level);
        let value = match value {
            Some(v) if key == "url" => Some(config_relative_url(
                v,
                cwd,
                path.parent().unwrap_or(&self.dvc_dir),
            )),
            other => other.map(str::to_string),
        };
        config::remote_modify(&self.dvc_dir, level, name, key, value.as_deref())
    }

    /// Removes remote `name` from every repository level (unlike DVC, also from
    /// `config.local`, so no half section is left behind), and `core.remote` if it named it.
    pub fn remove_remote(&self, name: &str) -> Result<()> {
        let config = self.config()?;
        if !config.remote_names().iter().any(|n| n == name) {
            return Err(Error::UnknownRemote {
                name: name.to_string(),
                known: config.remote_names(),
            });
        }
        for level in [ConfigLevel::Repo, ConfigLevel::Local] {
            let path = self.config_path(level);
            let mut file = ConfigFile::load(&path)?;
            let mut changed = file.remove_section(&remote_section(name));
            if file.get("core", "remote") == Some(name) {
                changed |= file.unset("core", "remote");
            }
            if changed {
                file.save(&path)?;
            }
        }
        Ok(())
    }
}

/// DVC writes a relative local remote path relative to the config file's folder.
pub(crate) fn config_relative_url(url: &str, cwd: &Path, config_dir: &Path) -> String {
    if url.contains("://") || Path::new(url).is_absolute() || url == "~" || url.starts_with("~/") {
        return url.to_string();
    }
    let abs = normalize(&cwd.join(url));
    relative_path(&abs, &normalize(config_dir))
        .to_string_lossy()
        .into_owned()
}

/// `to` expressed relative to `from` (both absolute and normalised).
pub(crate) fn relative_path(to: &Path, from: &Path) -> PathBuf {
    let to_c: Vec<_> = to.components().collect();
    let from_c: Vec<_> = from.components().collect();
    let common = to_c.iter().zip(&from_c).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from_c.len() {
        out.push("..");
    }
    for c in &to_c[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// Makes `dir` a git repository (if it is not one) holding a DVC layout identical to `dvc init`'s,
/// and configures the default remote when asked and none is set. Never overwrites a file.
pub fn init(dir: &Path, remote: &RemoteChoice) -> Result<InitReport> {
    let mut report = InitReport::default();
    match git::toplevel(dir)? {
        Some(top) => {
            let top = std::fs::canonicalize(&top).unwrap_or(top);
            let here = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            if top != here {
                return Err(Error::NotGitTop { dir: here, top });
            }
        }
        None => {
            git::init(dir)?;
            report.git_initialized = true;
        }
    }
    let repo = Repo::at(dir);
    let files: [(&str, &str); 3] = [
        (".dvc/.gitignore", DVC_GITIGNORE),
        (".dvc/config", ""),
        (".dvcignore", DVCIGNORE),
    ];
    for (rel, content) in files {
        let path = dir.join(rel);
        if path.exists() {
            report.existing.push(PathBuf::from(rel));
        } else {
            write_atomic(&path, content.as_bytes())?;
            report.created.push(PathBuf::from(rel));
        }
    }
    let tmp = repo.dvc_dir.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(Error::io("create folder", &tmp))?;
    let btime = tmp.join("btime");
    if !btime.exists() {
        write_atomic(&btime, b"")?;
    }

    let config = repo.config()?;
    if let Some(name) = config.default_remote() {
        let url = config.remote(name).map(|r| r.url).unwrap_or_default();
        report.remote_existing = Some((name.to_string(), url));
    } else if let RemoteChoice::Url { name, url } = remote {
        if !url.contains("://") {
            std::fs::create_dir_all(url).map_err(Error::io("create remote folder", url))?;
        }
        let written = repo.add_remote(name, url, true, false, ConfigLevel::Repo, dir)?;
        report.remote_added = Some((name.clone(), written));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_url_is_rewritten_against_dvc_folder() {
        let url = config_relative_url(
            "../relremote",
            Path::new("/r/repo"),
            Path::new("/r/repo/.dvc"),
        );
        assert_eq!(url, "../../relremote");
    }

    #[test]
    fn find_walks_up() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".dvc")).unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        let repo = Repo::find(&dir.path().join("a/b")).unwrap();
        assert_eq!(repo.root, dir.path());
        assert!(matches!(
            Repo::find(&dir.path().join("..").join("nonexistent-x")),
            Err(Error::NotARepo(_))
        ));
    }
}
