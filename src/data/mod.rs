//! DVC 3.x compatible versioning of files and folders: the repository layout, `.dvc/config`,
//! hashing, `.dvc` files, `.dir` manifests, the cache, the workspace and remotes. Knows nothing
//! of `track` or `ml`: what vintner writes here, the real `dvc` reads, and the other way round.

pub mod config;
pub mod fsutil;
pub mod repo;

use std::path::PathBuf;

pub use config::{ConfigFile, ConfigLevel};
pub use repo::Repo;

/// What can go wrong in the data layer. Each variant names the file or remote involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Failed to {action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not inside a DVC repository", .0.display())]
    NotARepo(PathBuf),
    #[error("`{}` is inside the git repository `{}`, not at its top", dir.display(), top.display())]
    NotGitTop { dir: PathBuf, top: PathBuf },
    #[error("Malformed DVC config `{}` (line {line}): {message}", path.display())]
    Config {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("Unknown data remote `{name}`")]
    UnknownRemote { name: String, known: Vec<String> },
    #[error("Data remote `{0}` already exists")]
    RemoteExists(String),
    #[error("No data remote is configured")]
    NoRemote,
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// The fix to suggest to a person, when there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NotARepo(_) => {
                "run `vintner init` first (or work inside a DVC repository)".into()
            }
            Error::NotGitTop { top, .. } => {
                format!("run `vintner init` in `{}`", top.display())
            }
            Error::Config { path, .. } => format!(
                "fix or remove the line in `{}`; `vintner remote list` shows what is read",
                path.display()
            ),
            Error::UnknownRemote { known, .. } if known.is_empty() => {
                "no remote is configured; add one with `vintner remote add -d <name> <url>`".into()
            }
            Error::UnknownRemote { known, .. } => {
                format!("known remotes: {}", known.join(", "))
            }
            Error::RemoteExists(name) => {
                format!(
                    "change it with `vintner remote modify {name} url <url>` or pick another name"
                )
            }
            Error::NoRemote => {
                "add one with `vintner remote add -d <name> <url>` (a folder or s3://bucket/path)"
                    .into()
            }
            Error::Git(_) => "install git, or check the repository with `git status`".into(),
            Error::Io { .. } => return None,
        })
    }

    /// Internal errors exit with code 2; everything else is the user's to fix (exit 1).
    pub fn is_internal(&self) -> bool {
        false
    }
}

/// Result alias for the data layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;
