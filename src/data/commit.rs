//! `commit`: record what is in the workspace for outputs that are already tracked, as
//! `dvc commit` does — hash the data into the cache and update the hashes in its `.dvc` file in
//! place (other keys and comments stay). [`pending`] says which outputs changed, so that the
//! command line can ask before committing them, as DVC asks.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;

use super::add::{LOCK_WAIT, relink};
use super::dvcfile::{self, Hashes};
use super::fsutil::write_atomic;
use super::index::{self, Tracked};
use super::lock::RepoLock;
use super::repo::Repo;
use super::status::{OutState, out_state};
use super::target::{Result, VerbError};
use super::{Error, workspace};
use crate::progress::Progress;

/// One output whose workspace content differs from its `.dvc` file, or is not in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    pub dvc_file: String,
    pub path: String,
    pub state: OutState,
}

/// What `commit` did for one output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Committed {
    pub dvc_file: String,
    pub path: String,
    pub md5: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfiles: Option<u64>,
    /// Whether the `.dvc` file changed (false: the data only went into the cache).
    pub changed: bool,
}

/// The targets' outputs (all when none) that a commit would change, with how they changed.
pub fn pending(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<Vec<Pending>> {
    let outs = index::collect(repo, targets, cwd)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let state = repo.state();
    let listed = OnceLock::new();
    let mut found = Vec::new();
    for t in &outs {
        if let Some(s) = out_state(t, &cache, &listed, &state, progress)? {
            found.push(Pending {
                dvc_file: t.dvc_display(repo),
                path: t.display(repo),
                state: s,
            });
        }
    }
    state.save();
    Ok(found)
}

/// Commits the targets' outputs (all when none): every output that is not up to date is hashed
/// into the cache and its `.dvc` file updated. A missing output is an error, and no `.dvc`
/// file is written until every output is hashed.
pub fn commit(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<Vec<Committed>> {
    let _lock = RepoLock::acquire(&repo.dvc_dir, LOCK_WAIT)?;
    let outs = index::collect(repo, targets, cwd)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let links = repo.link_types(&config)?;
    let state = repo.state();
    let listed = OnceLock::new();
    let mut todo: Vec<(&Tracked, workspace::Hashed)> = Vec::new();
    for t in &outs {
        if out_state(t, &cache, &listed, &state, progress)?.is_none() {
            continue;
        }
        let per_file = outs.iter().filter(|o| o.dvc_path == t.dvc_path).count();
        if per_file != 1 {
            return Err(VerbError::ManyOuts {
                path: super::target::shown(repo, &t.dvc_path),
                outs: per_file,
                verb: "commit",
            });
        }
        if std::fs::symlink_metadata(&t.path).is_err() {
            return Err(Error::Missing(t.path.clone()).into());
        }
        let store = t.out.cache.then_some(&cache);
        let hashed = workspace::hash_output(&t.path, &state, store, progress)?
            .ok_or_else(|| Error::Missing(t.path.clone()))?;
        todo.push((t, hashed));
    }
    let mut report = Vec::new();
    for (t, hashed) in todo {
        let old = std::fs::read_to_string(&t.dvc_path).map_err(Error::io("read", &t.dvc_path))?;
        let text = dvcfile::update_text(
            &old,
            &Hashes {
                md5: hashed.md5.clone(),
                size: hashed.size,
                nfiles: hashed.nfiles,
                isexec: hashed.isexec,
            },
        )
        .ok_or_else(|| VerbError::NotEditable(t.dvc_path.clone()))?;
        if t.out.cache {
            if let Some(bytes) = &hashed.manifest {
                cache.add_bytes(bytes, &hashed.oid())?;
            }
            relink(&cache, &hashed, &t.path, &links)?;
        }
        let changed = text != old;
        if changed {
            write_atomic(&t.dvc_path, text.as_bytes())?;
        }
        report.push(Committed {
            dvc_file: t.dvc_display(repo),
            path: t.display(repo),
            md5: hashed.md5,
            size: hashed.size,
            nfiles: hashed.nfiles,
            changed,
        });
    }
    state.save();
    Ok(report)
}
