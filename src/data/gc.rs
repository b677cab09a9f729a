//! `gc -w`: remove cache objects that no `.dvc` file, no output of a `dvc.yaml` stage and no
//! output recorded in a `dvc.lock` of the workspace references (the `.dir` manifests and their files included), as
//! `dvc gc -w` does — and with `-a`/`-T`/`--all-commits` none that the `.dvc` files of those git
//! revisions reference either. Never touches a referenced object. `gc -c` does the same on a
//! remote: it lists the remote and deletes what no kept revision references.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::index;
use super::odb::Oid;
use super::paths::Inside;
use super::pipeline_lock;
use super::remote::{self, Remote};
use super::repo::Repo;
use super::{Error, Result};

/// What gc removed (or, dry, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Object paths relative to the cache root.
    pub removed: Vec<String>,
    pub kept: usize,
    pub dry: bool,
    /// Unpacked copies under `.dvc/tmp/vintner/` (`models/<md5>`, `data/<md5>`) of objects
    /// that are no longer kept.
    pub unpacked_removed: Vec<String>,
}

/// Every object the workspace's `.dvc` files and `dvc.lock` files reference, and those the
/// `.dvc` files of `revs` reference. A folder's manifest missing from the cache is read from
/// `remote` when there is one (verified); without it the folder's files cannot be told apart
/// from garbage, and gc refuses.
fn referenced(
    repo: &Repo,
    revs: index::Revisions,
    remote: Option<&dyn Remote>,
) -> Result<HashSet<Oid>> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let mut outs: Vec<(String, Oid)> = Vec::new();
    // Outputs `dvc.yaml` marks `cache: false` are not in the cache, as DVC knows them.
    let mut uncached: HashSet<PathBuf> = HashSet::new();
    for t in index::collect_outputs(repo, &[], &repo.root)? {
        if !t.out.cache {
            uncached.insert(t.path);
            continue;
        }
        if let Some(md5) = t.out.md5.clone() {
            outs.push((t.display(repo), Oid::new(md5, t.out.hash)));
        }
    }
    for t in index::at_revisions(repo, revs)? {
        if let Some(md5) = t.out.md5.clone() {
            outs.push((
                format!("{} (in another revision)", t.display(repo)),
                Oid::new(md5, t.out.hash),
            ));
        }
    }
    let inside = Inside::new(&repo.root);
    for lock in index::lock_files(repo)? {
        outs.extend(
            lock_outs(&lock, &inside)?
                .into_iter()
                .filter(|(path, _, _)| !uncached.contains(path))
                .map(|(_, shown, oid)| (shown, oid)),
        );
    }
    let mut keep = HashSet::new();
    for (shown, oid) in outs {
        if oid.is_dir() && !keep.contains(&oid) {
            let entries = if cache.contains(&oid) {
                cache.read_manifest(&oid)?
            } else {
                let refused = || {
                    Error::GcRefused(format!(
                        "the manifest of `{shown}` ({}) is not in the cache{}",
                        oid.rel_path(),
                        if remote.is_some() {
                            " nor on the remote"
                        } else {
                            ""
                        }
                    ))
                };
                let Some(remote) = remote else {
                    return Err(refused());
                };
                let bytes = match remote.read_verified(&oid) {
                    Ok(bytes) => bytes,
                    Err(Error::MissingFromRemote { .. }) => return Err(refused()),
                    Err(e) => return Err(e),
                };
                super::manifest::parse(&bytes).map_err(|e| Error::BadManifest {
                    oid: oid.rel_path(),
                    location: remote.describe(),
                    message: e.to_string(),
                })?
            };
            for e in entries {
                keep.insert(Oid::new(e.md5, oid.kind()));
            }
        }
        keep.insert(oid);
    }
    Ok(keep)
}

/// The outputs a `dvc.lock` records, as (shown name, object): every stage's `outs` (metrics and
/// plots included, as DVC writes them there), whether or not `dvc.yaml` still declares the
/// stage, read by [`pipeline_lock::lock_outs`]. A lock file that cannot be read stops `gc`:
/// its outputs would look like garbage, and so does one naming a path outside the repository.
fn lock_outs(path: &Path, inside: &Inside) -> Result<Vec<(PathBuf, String, Oid)>> {
    let outs = pipeline_lock::lock_outs(path, inside).map_err(|e| match e {
        Error::MalformedPipelineFile { path, message } => {
            Error::GcRefused(format!("`{}` cannot be read: {message}", path.display()))
        }
        other => other,
    })?;
    Ok(outs
        .into_iter()
        .filter_map(|(stage, abs, out)| {
            let md5 = out.md5?;
            let shown = format!("{} (stage {stage})", out.path);
            Some((abs, shown, Oid::new(md5, out.hash)))
        })
        .collect())
}

/// Lists (dry) or removes unreferenced cache objects. The caller asks for confirmation.
pub fn gc(repo: &Repo, dry: bool, revs: index::Revisions) -> Result<GcReport> {
    gc_with(repo, dry, revs, None)
}

/// [`gc`], reading the manifests of kept folders that the cache lacks from `remote` (as
/// `gc -c` does in a clone that never fetched them).
pub fn gc_with(
    repo: &Repo,
    dry: bool,
    revs: index::Revisions,
    remote: Option<&dyn Remote>,
) -> Result<GcReport> {
    let _lock = super::lock::RepoLock::acquire(&repo.dvc_dir, super::add::LOCK_WAIT)?;
    let keep = referenced(repo, revs, remote)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let mut report = GcReport {
        dry,
        ..GcReport::default()
    };
    for (oid, path) in super::remote::stored_objects(&cache.root)? {
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
    report.unpacked_removed = unpacked_garbage(repo, &keep, dry)?;
    Ok(report)
}

/// What `gc -c` found on a remote: the objects no kept revision references.
pub struct RemotePlan {
    pub remote: Box<dyn Remote>,
    /// Unreferenced objects on the remote, sorted.
    pub garbage: Vec<Oid>,
    /// Objects on the remote that stay.
    pub kept: usize,
    /// The repository's `.dvc` folder, where the remote's index lives.
    dvc_dir: PathBuf,
}

/// What `gc -c` removed (or, dry, would remove) from a remote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RemoteGcReport {
    /// The remote's name.
    pub remote: String,
    /// Object paths relative to the remote's root.
    pub removed: Vec<String>,
    pub kept: usize,
    pub dry: bool,
}

/// Lists the remote called `name` (or the default remote) and finds the objects that neither
/// the workspace nor `revs` reference, as `dvc gc -c` does; removes nothing. Every object any
/// kept `.dvc` file or `dvc.lock` names is kept, whichever remote its output pushes to.
pub fn plan_remote(repo: &Repo, name: Option<&str>, revs: index::Revisions) -> Result<RemotePlan> {
    let _lock = super::lock::RepoLock::acquire(&repo.dvc_dir, super::add::LOCK_WAIT)?;
    let remote = remote::open(&repo.config()?, name)?;
    let keep = referenced(repo, revs, Some(remote.as_ref()))?;
    let (kept, garbage): (Vec<Oid>, Vec<Oid>) =
        remote.list()?.into_iter().partition(|o| keep.contains(o));
    Ok(RemotePlan {
        remote,
        garbage,
        kept: kept.len(),
        dvc_dir: repo.dvc_dir.clone(),
    })
}

/// Removes a plan's objects from its remote (`jobs` requests at once, else the remote's
/// default); `dry` only reports them. The remote's index goes first, as DVC clears it: it
/// must never vouch for a folder whose objects were deleted.
pub fn execute_remote(plan: &RemotePlan, dry: bool, jobs: Option<usize>) -> Result<RemoteGcReport> {
    if !dry && !plan.garbage.is_empty() {
        super::remote_index::clear(&plan.dvc_dir, plan.remote.as_ref())?;
        let jobs = jobs.unwrap_or_else(|| plan.remote.default_jobs());
        // Folder manifests before any file, as DVC deletes them: if this is cut short, no
        // `.dir` is left on the remote whose files are gone, which would vouch for them.
        let (dirs, files): (Vec<Oid>, Vec<Oid>) =
            plan.garbage.iter().cloned().partition(Oid::is_dir);
        for batch in [dirs, files].iter().filter(|b| !b.is_empty()) {
            plan.remote.delete(batch, jobs)?;
        }
    }
    Ok(RemoteGcReport {
        remote: plan.remote.name().to_string(),
        removed: plan.garbage.iter().map(Oid::rel_path).collect(),
        kept: plan.kept,
        dry,
    })
}

/// Removes (unless `dry`) the copies `infer` unpacked under `.dvc/tmp/vintner/{models,data}/<md5>`
/// whose object `keep` does not hold; returns them as `models/<md5>`, sorted. Entries not named
/// by an md5 are left alone.
fn unpacked_garbage(repo: &Repo, keep: &HashSet<Oid>, dry: bool) -> Result<Vec<String>> {
    let kept: HashSet<&str> = keep.iter().map(Oid::hex).collect();
    let base = repo.dvc_dir.join("tmp").join("vintner");
    let mut removed = Vec::new();
    for kind in ["models", "data"] {
        let dir = base.join(kind);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("read folder", &dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(Error::io("read folder", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !super::manifest::is_md5(&name) || kept.contains(name.as_str()) {
                continue;
            }
            if !dry {
                let path = entry.path();
                let gone = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                gone.map_err(Error::io("remove", &path))?;
            }
            removed.push(format!("{kind}/{name}"));
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::hash::HashKind;

    #[test]
    fn lock_outs_read_dvc_3_and_dvc_1_lock_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dvc.lock");
        let inside = Inside::new(dir.path());
        std::fs::write(
            &path,
            "schema: '2.0'\nstages:\n  make:\n    cmd: echo\n    deps:\n    - path: in.txt\n      \
             md5: 00000000000000000000000000000001\n    outs:\n    - path: out.txt\n      hash: md5\n      \
             md5: 0123456789abcdef0123456789abcdef\n      size: 3\n    - path: d\n      \
             md5: fedcba9876543210fedcba9876543210.dir\n",
        )
        .unwrap();
        let outs = lock_outs(&path, &inside).unwrap();
        assert_eq!(
            outs.iter().map(|(_, _, o)| o.clone()).collect::<Vec<_>>(),
            vec![
                Oid::new("0123456789abcdef0123456789abcdef", HashKind::Md5),
                Oid::new(
                    "fedcba9876543210fedcba9876543210.dir",
                    HashKind::Md5Dos2Unix
                ),
            ]
        );
        std::fs::write(
            &path,
            "train:\n  cmd: x\n  outs:\n  - path: m.bin\n    md5: a1111111111111111111111111111111\n",
        )
        .unwrap();
        assert_eq!(
            lock_outs(&path, &inside).unwrap()[0].2,
            Oid::new("a1111111111111111111111111111111", HashKind::Md5Dos2Unix)
        );
        std::fs::write(&path, "stages: [unclosed\n").unwrap();
        assert!(matches!(
            lock_outs(&path, &inside),
            Err(Error::GcRefused(_))
        ));
        std::fs::write(
            &path,
            "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs:\n    - path: ../../x\n",
        )
        .unwrap();
        let err = lock_outs(&path, &inside).unwrap_err().to_string();
        assert!(
            err.contains("`dvc.lock` names the path `../../x`, which leads outside"),
            "{err}"
        );
    }
}
