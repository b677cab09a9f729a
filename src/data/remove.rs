//! `remove`: stop tracking what `.dvc` files describe, as `dvc remove` does — delete the `.dvc`
//! file, take the outputs out of `.gitignore`, and either leave the data in the workspace as
//! writable files of its own (links into the cache become copies) or, with `--outs`, delete it.
//! Unlike DVC, `--outs` refuses to delete data whose content is not in the cache unless forced.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;

use super::add::LOCK_WAIT;
use super::dvcfile::DvcFile;
use super::lock::RepoLock;
use super::repo::Repo;
use super::status::{OutState, out_state};
use super::target::{self, Result};
use super::{Error, index};
use crate::progress::Progress;

/// What `remove` did for one `.dvc` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// The `.dvc` file, relative to the repository root.
    pub dvc_file: String,
    /// Its outputs, relative to the repository root.
    pub outs: Vec<String>,
    /// Whether the outputs were deleted from the workspace (`--outs`).
    pub outs_deleted: bool,
    /// `.gitignore` files that changed (or were deleted, having no line left).
    pub gitignores: Vec<String>,
}

/// Removes each `.dvc` file `targets` name (relative to `cwd`). Every target is read and, with
/// `outs`, checked before anything changes; without `force`, `outs` refuses to delete an
/// output whose workspace content the cache does not hold.
pub fn remove(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    outs: bool,
    force: bool,
    progress: &dyn Progress,
) -> Result<Vec<Removed>> {
    let _lock = RepoLock::acquire(&repo.dvc_dir, LOCK_WAIT)?;
    let mut files: Vec<DvcFile> = Vec::new();
    for t in targets {
        let file = target::dvc_file(repo, t, cwd)?;
        if !files.iter().any(|f| f.path == file.path) {
            files.push(file);
        }
    }
    if outs && !force {
        let unsaved = unsaved_outputs(repo, &files, progress)?;
        if !unsaved.is_empty() {
            return Err(Error::UnsavedChanges { paths: unsaved }.into());
        }
    }
    let mut report = Vec::new();
    for file in &files {
        let mut removed = Removed {
            dvc_file: target::shown(repo, &file.path)
                .to_string_lossy()
                .into_owned(),
            outs: Vec::new(),
            outs_deleted: outs,
            gitignores: Vec::new(),
        };
        for out in &file.outs {
            let path = file.out_path(out);
            removed
                .outs
                .push(target::shown(repo, &path).to_string_lossy().into_owned());
            let exists = std::fs::symlink_metadata(&path).is_ok();
            if outs && exists {
                delete(&path)?;
            } else if exists && out.cache && std::fs::metadata(&path).is_ok() {
                super::unprotect::unprotect(&path)?;
            }
            if out.cache
                && let (Some(dir), Some(name)) = (path.parent(), path.file_name())
                && target::unignore(dir, &name.to_string_lossy())?
            {
                let gi = target::shown(repo, &dir.join(".gitignore"));
                removed.gitignores.push(gi.to_string_lossy().into_owned());
            }
        }
        std::fs::remove_file(&file.path).map_err(Error::io("remove", &file.path))?;
        report.push(removed);
    }
    Ok(report)
}

/// The outputs of `files` whose workspace content would be lost if deleted: not in the cache,
/// changed since added, or never cached at all (`cache: false`).
fn unsaved_outputs(
    repo: &Repo,
    files: &[DvcFile],
    progress: &dyn Progress,
) -> super::Result<Vec<String>> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let state = repo.state();
    let listed = OnceLock::new();
    let mut unsaved = Vec::new();
    for file in files {
        for out in &file.outs {
            let t = index::Tracked {
                dvc_path: file.path.clone(),
                path: file.out_path(out),
                out: out.clone(),
                only: None,
                stage: None,
            };
            if std::fs::symlink_metadata(&t.path).is_err() {
                continue;
            }
            let lost = !out.cache
                || matches!(
                    out_state(&t, &cache, &listed, &state, progress)?,
                    Some(OutState::Modified | OutState::NotInCache)
                );
            if lost {
                unsaved.push(t.display(repo));
            }
        }
    }
    state.save();
    Ok(unsaved)
}

/// Deletes an output from the workspace: a file, a link, or a whole folder.
fn delete(path: &Path) -> super::Result<()> {
    let meta = std::fs::symlink_metadata(path).map_err(Error::io("stat", path))?;
    let removed = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    removed.map_err(Error::io("remove", path))
}
