//! DVC 3.x compatible versioning of files and folders: the repository layout, `.dvc/config`,
//! hashing, `.dvc` files, `.dir` manifests, the cache, the workspace and remotes. Knows nothing
//! of `track` or `ml`: what vintner writes here, the real `dvc` reads, and the other way round.

pub mod add;
pub mod azure;
pub mod check_ignore;
pub mod checkout;
pub mod commit;
pub mod config;
pub mod data_status;
pub mod destroy;
pub mod diff;
pub mod dvcfile;
pub mod dvcyaml;
pub mod external;
pub mod freeze;
pub mod fsutil;
pub mod gc;
pub mod gcs;
pub mod get;
pub mod gitignore;
pub mod hash;
pub mod index;
pub mod install;
pub mod lock;
pub mod ls;
pub mod manifest;
pub mod md5;
pub mod objstore;
pub mod odb;
pub mod paths;
pub mod pipeline_lock;
pub mod remote;
pub mod remote_index;
pub mod remote_opts;
pub mod remove;
pub mod rename;
pub mod repo;
pub mod repro;
pub mod s3;
pub mod ssh;
pub mod state;
pub mod status;
pub mod target;
pub mod transfer;
pub mod unprotect;
pub mod webdav;
pub mod workspace;
pub mod yaml;

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
    #[error("Malformed `.dvc` file `{}`: {message}", path.display())]
    MalformedDvcFile { path: PathBuf, message: String },
    #[error("Malformed pipeline file `{}`: {message}", path.display())]
    MalformedPipelineFile { path: PathBuf, message: String },
    #[error("`{}` does not have a stage named `{name}`", file.display())]
    NoSuchStage { file: PathBuf, name: String },
    #[error("`{}` is DVC's lock file, not a target", path.display())]
    NotAPipelineFile { path: PathBuf, meant: String },
    #[error("Checksum mismatch for {what}: expected {expected}, found {found}")]
    HashMismatch {
        what: String,
        expected: String,
        found: String,
    },
    #[error("Corrupt `.dir` manifest `{oid}` in `{location}`: {message}")]
    BadManifest {
        oid: String,
        location: String,
        message: String,
    },
    #[error("No cache link type worked")]
    NoLinkType,
    #[error("Invalid `cache.type` in the DVC config: {0}")]
    BadCacheType(String),
    #[error("`{}` does not exist", .0.display())]
    Missing(PathBuf),
    #[error("`{}` is not tracked: no `.dvc` file describes it", .0.display())]
    NotTracked(PathBuf),
    #[error("`{}` is outside the repository `{}`", path.display(), root.display())]
    OutsideRepo { path: PathBuf, root: PathBuf },
    #[error("`{}` names the path `{path}`, which {why}", file.display())]
    UnsafePath {
        /// The file that names it (relative to the repository root when inside it).
        file: PathBuf,
        /// The path as written there.
        path: String,
        why: paths::Escape,
    },
    #[error("`{}` is a broken symlink", .0.display())]
    BrokenSymlink(PathBuf),
    #[error("`{}` is already tracked by `{}`", path.display(), by.display())]
    AlreadyTracked { path: PathBuf, by: PathBuf },
    #[error("{} object(s) are missing from the cache: {}", missing.len(), missing.join(", "))]
    MissingFromCache { missing: Vec<String> },
    #[error("{} object(s) are missing from remote `{remote}`: {}", missing.len(), missing.join(", "))]
    MissingFromRemote {
        remote: String,
        missing: Vec<String>,
    },
    #[error("Refusing to overwrite or delete workspace files whose content is not in the cache: {}", paths.join(", "))]
    UnsavedChanges { paths: Vec<String> },
    #[error("Data remote `{remote}` failed: {message}")]
    Remote { remote: String, message: String },
    #[error("`{}` is inside a folder being versioned", .0.display())]
    DvcignoreInOutput(PathBuf),
    #[error("Refusing to collect garbage: {0}")]
    GcRefused(String),
    #[error("Cannot add `{}`: {reason}", path.display())]
    CannotAdd { path: PathBuf, reason: String },
    #[error("The DVC config of `{remote}` sets `{option}`, which vintner does not support yet")]
    UnsupportedOption { remote: String, option: String },
    #[error(
        "Data remote `{remote}` is a `{scheme}://` remote, which vintner does not speak (it speaks \
         local folders, s3://, gs://, azure://, ssh://, webdav(s):// and http(s)://)"
    )]
    UnsupportedRemote { remote: String, scheme: String },
    #[error("No AWS credentials found for remote `{remote}`")]
    NoCredentials { remote: String },
    #[error("Another vintner or DVC process holds the repository lock `{}`", .0.display())]
    Locked(PathBuf),
    #[error("`{0}` needs confirmation, and there is no terminal to ask on")]
    NeedsConfirmation(&'static str),
    #[error("`{}` would not be a valid DVC config, so nothing was written: {message}", path.display())]
    InvalidConfig { path: PathBuf, message: String },
    #[error("`{}`: {message}", path.display())]
    ConfigOptionMissing { path: PathBuf, message: String },
    #[error("`{}` is ignored by `{rule}`", path.display())]
    Ignored { path: PathBuf, rule: String },
    #[error("Cannot add `{}`: `{}` is a symlink to a folder", path.display(), link.display())]
    SymlinkedFolder { path: PathBuf, link: PathBuf },
    #[error("`{}` already exists", .0.display())]
    OutExists(PathBuf),
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
                    "pick another name, change it with `vintner remote modify {name} url <url>`, \
                     or replace it with `vintner remote add -f {name} <url>`"
                )
            }
            Error::NoRemote => {
                "add one with `vintner remote add -d <name> <url>` (a folder or s3://bucket/path)"
                    .into()
            }
            Error::Git(_) => "install git, or check the repository with `git status`".into(),
            Error::NoSuchStage { file, .. } => format!(
                "name one of the stages under `stages:` in `{}`",
                file.display()
            ),
            Error::NotAPipelineFile { meant, .. } => format!("did you mean `{meant}`?"),
            Error::MalformedPipelineFile { path, .. } => format!(
                "fix `{}` by hand, or restore it with `git checkout -- {}`",
                path.display(),
                path.display()
            ),
            Error::MalformedDvcFile { path, .. } => format!(
                "fix `{}` by hand, or restore it with `git checkout -- {}`",
                path.display(),
                path.display()
            ),
            Error::HashMismatch { .. } => {
                "the stored copy is corrupt; push it again from a machine that has the file".into()
            }
            Error::BadManifest { .. } => {
                "the manifest is corrupt; push it again from a machine that has the folder".into()
            }
            Error::BadCacheType(_) => {
                "set it with `dvc config cache.type reflink,copy` (or hardlink, symlink, copy)"
                    .into()
            }
            Error::Missing(_) => "check the path".into(),
            Error::NotTracked(_) => "version it first with `vintner add <path>`".into(),
            Error::OutsideRepo { .. } => "move the data inside the repository".into(),
            Error::UnsafePath { file, .. } => format!(
                "every path a repository names must stay inside it, so nothing was written; \
                 fix or remove that entry of `{}`",
                file.display()
            ),
            Error::BrokenSymlink(_) => "fix or remove the link, or list it in `.dvcignore`".into(),
            Error::AlreadyTracked { by, .. } => format!(
                "it is part of the output of `{}`; re-add that output instead",
                by.display()
            ),
            Error::MissingFromCache { .. } => {
                "fetch them with `vintner pull` (or `vintner fetch`) from the data remote".into()
            }
            Error::MissingFromRemote { .. } => {
                "push them from a machine that has them: `vintner push`".into()
            }
            Error::UnsavedChanges { .. } => {
                "save them with `vintner add`, or discard them with `--force`".into()
            }
            Error::Remote { .. } => {
                "check the remote with `vintner remote list` and that it is reachable".into()
            }
            Error::NoCredentials { remote } => format!(
                "set them with `vintner remote modify --local {remote} access_key_id <id>` and \
                 `… secret_access_key <secret>`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an \
                 `~/.aws/credentials` profile (`vintner remote modify {remote} profile <name>`)"
            ),
            Error::GcRefused(_) => "run `dvc gc -w` for this repository, or fetch the missing objects first (`vintner fetch`)".into(),
            Error::CannotAdd { .. } => "add the existing output, or remove its `.dvc` file first (as DVC requires)".into(),
            Error::UnsupportedOption { remote, option } if remote == "cache" => {
                format!("use DVC for this repository, or unset it: `dvc config --unset {option}`")
            }
            Error::UnsupportedRemote { remote, .. } => format!(
                "use DVC with its plugin for this remote, or point `{remote}` at one vintner \
                 speaks: `vintner remote modify {remote} url <url>`"
            ),
            Error::UnsupportedOption { remote, option } => format!(
                "use DVC for this remote, or remove the option: `vintner remote modify --unset {remote} {option}`"
            ),
            Error::DvcignoreInOutput(_) => {
                "move its patterns to a `.dvcignore` above the folder (DVC refuses this too)".into()
            }
            Error::Locked(_) => {
                "wait for the other process to finish, then run the command again".into()
            }
            Error::NeedsConfirmation(_) => "pass `--force` to go ahead without asking".into(),
            Error::ConfigOptionMissing { .. } => "`vintner config --list --show-origin` shows each option and the file that sets it".into(),
            Error::InvalidConfig { .. } => "use an option DVC knows for this remote type, with a value of the right kind (as `dvc remote modify` accepts them)".into(),
            Error::Ignored { .. } => "remove or narrow that pattern in `.dvcignore` to version it (DVC refuses ignored paths too)".into(),
            Error::SymlinkedFolder { .. } => "DVC does not add files inside symlinked folders: add the folder the link points to, or copy the data into the repository".into(),
            Error::OutExists(_) => "pass `--force` to replace it, or choose another path with `-o`".into(),
            Error::Io { .. } | Error::NoLinkType => return None,
        })
    }

    /// Internal errors exit with code 2; everything else is the user's to fix (exit 1).
    pub fn is_internal(&self) -> bool {
        false
    }
}

/// Result alias for the data layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;
