//! `add`: hash files or folders into the cache and write their `.dvc` files and `.gitignore`
//! entries exactly as `dvc add` does, keeping the user's edits to an existing `.dvc` file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::dvcfile::{self, Hashes};
use super::fsutil::normalize;
use super::index;
use super::lock::RepoLock;
use super::odb::LinkType;
use super::repo::Repo;
use super::workspace;
use super::{Error, Result, gitignore};
use crate::progress::Progress;

/// What `add` did for one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Added {
    /// The output, relative to the repository root.
    pub path: String,
    /// Its `.dvc` file, relative to the repository root.
    pub dvc_file: String,
    pub md5: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfiles: Option<u64>,
    /// False when the output was already tracked with the same content.
    pub changed: bool,
    /// Files git should stage (the `.dvc` file and the `.gitignore`), relative to the root.
    pub git_add: Vec<String>,
}

/// How long a command waits for another process holding the repository lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Versions each target (paths relative to `cwd`).
pub fn add(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<Vec<Added>> {
    let _lock = RepoLock::acquire(&repo.dvc_dir, LOCK_WAIT)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let links = repo.link_types(&config)?;
    let state = repo.state();
    let tracked = index::collect(repo, &[], cwd)?;
    let rel = |p: &Path| {
        p.strip_prefix(&repo.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let mut report = Vec::new();
    for target in targets {
        let abs = normalize(&cwd.join(target));
        if !abs.starts_with(&repo.root) || abs == repo.root {
            return Err(Error::OutsideRepo {
                path: abs,
                root: repo.root.clone(),
            });
        }
        if std::fs::symlink_metadata(&abs).is_err() {
            return Err(Error::Missing(abs));
        }
        if let Some(owner) = tracked
            .iter()
            .find(|t| abs.starts_with(&t.path) && abs != t.path)
        {
            return Err(Error::AlreadyTracked {
                path: abs,
                by: owner.dvc_path.clone(),
            });
        }
        let cannot = |reason: String| Error::CannotAdd {
            path: abs.clone(),
            reason,
        };
        if let Some(inner) = tracked
            .iter()
            .find(|t| t.path.starts_with(&abs) && t.path != abs)
        {
            return Err(cannot(format!(
                "it overlaps the output `{}` of `{}`",
                inner.display(repo),
                inner.dvc_display(repo)
            )));
        }
        if abs.extension().is_some_and(|x| x == "dvc")
            || abs
                .strip_prefix(&repo.root)
                .ok()
                .and_then(|r| r.components().next())
                .is_some_and(|c| c.as_os_str() == ".dvc" || c.as_os_str() == ".git")
        {
            return Err(cannot("it is part of DVC's or git's own files".into()));
        }
        let (parent, name) = match (abs.parent(), abs.file_name()) {
            (Some(p), Some(n)) => (p.to_path_buf(), n.to_string_lossy().into_owned()),
            _ => return Err(Error::Missing(abs)),
        };
        let dvc_path = parent.join(format!("{name}.dvc"));
        if let Some(other) = tracked
            .iter()
            .find(|t| t.path == abs && t.dvc_path != dvc_path)
        {
            return Err(cannot(format!(
                "it is already tracked by `{}`",
                other.dvc_display(repo)
            )));
        }
        if crate::git::is_tracked(&repo.root, &abs) {
            return Err(cannot(
                "git already tracks it; run `git rm -r --cached` on it first".into(),
            ));
        }
        let before = tracked
            .iter()
            .find(|t| t.path == abs && t.dvc_path == dvc_path)
            .and_then(|t| t.out.md5.clone());

        let hashed = workspace::hash_output(&abs, &state, Some(&cache), progress)?
            .ok_or_else(|| Error::Missing(abs.clone()))?;
        if let Some(bytes) = &hashed.manifest {
            cache.add_bytes(bytes, &hashed.oid())?;
        }
        dvcfile::write(
            &dvc_path,
            &name,
            &Hashes {
                md5: hashed.md5.clone(),
                size: hashed.size,
                nfiles: hashed.nfiles,
                isexec: hashed.isexec,
            },
        )?;
        gitignore::ignore(&parent, &name)?;
        relink(&cache, &hashed, &abs, &links)?;
        report.push(Added {
            path: rel(&abs),
            dvc_file: rel(&dvc_path),
            changed: before.as_deref() != Some(hashed.md5.as_str()),
            md5: hashed.md5,
            size: hashed.size,
            nfiles: hashed.nfiles,
            git_add: vec![rel(&dvc_path), rel(&parent.join(".gitignore"))],
        });
    }
    state.save();
    Ok(report)
}

/// With `cache.type` hardlink or symlink first, replace workspace files by links to the cache
/// (as DVC does after add); with reflink/copy the workspace copy stays as it is.
pub fn relink(
    cache: &super::odb::Odb,
    hashed: &workspace::Hashed,
    abs: &Path,
    links: &[LinkType],
) -> Result<()> {
    if !matches!(links.first(), Some(LinkType::Hardlink | LinkType::Symlink)) {
        return Ok(());
    }
    if hashed.manifest.is_none() {
        return cache
            .checkout_file(&hashed.oid(), abs, links, hashed.isexec)
            .map(drop);
    }
    for f in &hashed.files {
        let oid = super::odb::Oid::new(f.md5.clone(), super::hash::HashKind::Md5);
        cache.checkout_file(&oid, &f.abs, links, false)?;
    }
    Ok(())
}
