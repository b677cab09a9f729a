//! `gc -w`: remove cache objects that no `.dvc` file of the workspace references (the `.dir`
//! manifests and their files included), as `dvc gc -w` does. Never touches a referenced object.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Serialize;

use super::hash::HashKind;
use super::index;
use super::odb::Oid;
use super::repo::Repo;
use super::{Error, Result};

/// What gc removed (or, dry, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Object paths relative to the cache root.
    pub removed: Vec<String>,
    pub kept: usize,
    pub dry: bool,
}

/// Every object the workspace's `.dvc` files reference.
fn referenced(repo: &Repo) -> Result<HashSet<Oid>> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let mut keep = HashSet::new();
    for t in index::collect(repo, &[], &repo.root)? {
        let Some(md5) = t.out.md5.clone() else {
            continue;
        };
        let oid = Oid::new(md5, t.out.hash);
        if oid.is_dir() {
            if !cache.contains(&oid) {
                // Without the manifest the folder's files cannot be told apart from garbage.
                return Err(Error::GcRefused(format!(
                    "the manifest of `{}` ({}) is not in the cache",
                    t.display(repo),
                    oid.rel_path()
                )));
            }
            for e in cache.read_manifest(&oid)? {
                keep.insert(Oid::new(e.md5, t.out.hash));
            }
        }
        keep.insert(oid);
    }
    Ok(keep)
}

/// Lists (dry) or removes unreferenced cache objects. The caller asks for confirmation.
pub fn gc(repo: &Repo, dry: bool) -> Result<GcReport> {
    // Pipeline outputs (`dvc.yaml`/`dvc.lock`) are not read by vintner: collecting garbage
    // would delete them.
    if let Some(f) = ["dvc.yaml", "dvc.lock"]
        .iter()
        .map(|f| repo.root.join(f))
        .find(|p| p.exists())
    {
        return Err(Error::GcRefused(format!(
            "`{}` declares pipeline outputs that vintner does not track",
            f.display()
        )));
    }
    let _lock = super::lock::RepoLock::acquire(&repo.dvc_dir, super::add::LOCK_WAIT)?;
    let keep = referenced(repo)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let mut report = GcReport {
        dry,
        ..GcReport::default()
    };
    for (oid, path) in stored_objects(&cache.root)? {
        if keep.contains(&oid) {
            report.kept += 1;
            continue;
        }
        if !dry {
            std::fs::remove_file(&path).map_err(Error::io("remove", &path))?;
        }
        report.removed.push(oid.rel_path());
    }
    report.removed.sort();
    Ok(report)
}

/// Every object in a store: `files/md5/XX/…` and legacy `XX/…`.
fn stored_objects(root: &std::path::Path) -> Result<Vec<(Oid, PathBuf)>> {
    let mut found = Vec::new();
    let mut scan = |dir: PathBuf, kind: HashKind| -> Result<()> {
        let Ok(prefixes) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for p in prefixes.flatten() {
            let head = p.file_name().to_string_lossy().into_owned();
            if head.len() != 2 || !head.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let inner = std::fs::read_dir(p.path()).map_err(Error::io("read folder", p.path()))?;
            for f in inner.flatten() {
                let tail = f.file_name().to_string_lossy().into_owned();
                let hex = tail.strip_suffix(".dir").unwrap_or(&tail);
                if hex.len() == 30 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    found.push((Oid::new(format!("{head}{tail}"), kind), f.path()));
                }
            }
        }
        Ok(())
    };
    scan(root.join("files").join("md5"), HashKind::Md5)?;
    scan(root.to_path_buf(), HashKind::Md5Dos2Unix)?;
    Ok(found)
}
