//! `push` and `fetch`: moving the objects of outputs between the cache and a remote, in
//! parallel, skipping what the other side has (so an interrupted transfer resumes), uploading a
//! `.dir` only after all its files, and verifying every download.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::index::{self, Tracked};
use super::odb::{Odb, Oid};
use super::remote::{self, Remote};
use super::remote_index::RemoteIndex;
use super::repo::Repo;
use super::{Error, Result};
use crate::progress::Progress;

/// Options shared by push, fetch and pull.
#[derive(Debug, Clone, Default)]
pub struct TransferOptions {
    pub targets: Vec<PathBuf>,
    /// Remote name (default: each output's `remote`, else `core.remote`).
    pub remote: Option<String>,
    /// Parallel transfers; `None` is DVC's default of 4 × cores.
    pub jobs: Option<usize>,
}

/// What a transfer did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransferReport {
    /// Objects copied.
    pub transferred: usize,
    /// Objects the destination already had.
    pub skipped: usize,
    /// Remotes used.
    pub remotes: Vec<String>,
    /// Objects neither the cache nor the remote holds (their md5, `.dir` for a folder's
    /// manifest), sorted: the rest was transferred, as DVC does, and these are reported.
    pub missing: Vec<String>,
    /// Files a folder's manifest on the remote lists that the remote could not give (fetch).
    pub failed: Vec<String>,
}

impl TransferReport {
    /// The objects it could not transfer, as one error (for callers that need everything).
    pub fn complete(self, push: bool) -> Result<TransferReport> {
        if self.missing.is_empty() && self.failed.is_empty() {
            return Ok(self);
        }
        let mut missing = self.missing.clone();
        missing.extend(self.failed.iter().cloned());
        Err(if push {
            Error::MissingFromCache { missing }
        } else {
            Error::MissingFromRemote {
                remote: self.remotes.join(", "),
                missing,
            }
        })
    }
}

/// Transfers at once: `-j`, else the remote's own default (its `jobs` setting, DVC's 4 × cores
/// for a folder, many more for a network remote).
fn jobs(opt: Option<usize>, remote: &dyn Remote) -> usize {
    opt.unwrap_or_else(|| remote.default_jobs()).max(1)
}

/// Outputs grouped with the remote they go to.
type RemoteGroups<'a> = Vec<(Box<dyn Remote>, Vec<&'a Tracked>)>;

/// Groups outputs by the remote they go to.
fn by_remote<'a>(
    outs: &'a [Tracked],
    opts: &TransferOptions,
    config: &super::config::Config,
) -> Result<RemoteGroups<'a>> {
    let mut groups: BTreeMap<Option<String>, Vec<&Tracked>> = BTreeMap::new();
    for t in outs {
        if !t.out.cache || t.out.md5.is_none() {
            continue;
        }
        let name = opts.remote.clone().or_else(|| t.out.remote.clone());
        groups.entry(name).or_default().push(t);
    }
    groups
        .into_iter()
        .map(|(name, ts)| Ok((remote::open(config, name.as_deref())?, ts)))
        .collect()
}

/// Uploads the cached objects of the targets' outputs; fails if any is missing from both the
/// cache and the remote (for callers that need every object there).
pub fn push(
    repo: &Repo,
    opts: &TransferOptions,
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let outs = index::collect_outputs(repo, &opts.targets, cwd)?;
    push_outs(repo, &outs, opts, progress)?.complete(true)
}

/// Uploads everything the outputs need that the cache holds and the remote lacks, as
/// `dvc push` does: objects missing from both are listed in the report, not an error. Outputs
/// marked `push: false` are skipped; a folder's manifest goes up only once the remote holds
/// all of its files (so a remote never lists a folder it cannot give back), and for a target
/// inside a folder only the files it names go up.
pub fn push_outs(
    repo: &Repo,
    outs: &[Tracked],
    opts: &TransferOptions,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let outs: Vec<Tracked> = outs.iter().filter(|t| t.out.push).cloned().collect();
    let mut report = TransferReport::default();
    for (remote, outs) in by_remote(&outs, opts, &config)? {
        report.remotes.push(remote.name().to_string());
        // Plain objects first, each `.dir` after all of its files.
        let mut files: BTreeSet<Oid> = BTreeSet::new();
        let mut dirs: Vec<(Oid, Vec<Oid>)> = Vec::new();
        let mut absent: BTreeSet<Oid> = BTreeSet::new();
        for t in outs {
            let oid = Oid::new(t.out.md5.clone().unwrap_or_default(), t.out.hash);
            if !cache.contains(&oid) {
                // A folder whose manifest is gone: its files are unknown.
                absent.insert(oid);
                continue;
            }
            if oid.is_dir() {
                let entries = cache.read_manifest(&oid)?;
                let members: Vec<Oid> = entries
                    .iter()
                    .map(|e| Oid::new(e.md5.clone(), t.out.hash))
                    .collect();
                for (e, m) in entries.iter().zip(&members) {
                    if t.covers(&e.relpath) {
                        files.insert(m.clone());
                    }
                }
                if !dirs.iter().any(|(d, _)| *d == oid) {
                    dirs.push((oid, members));
                }
            } else {
                files.insert(oid);
            }
        }
        let files: Vec<Oid> = files.into_iter().collect();
        let (have, lost): (Vec<Oid>, Vec<Oid>) = files.into_iter().partition(|o| cache.contains(o));
        absent.extend(lost);
        let jobs = jobs(opts.jobs, remote.as_ref());
        // A folder the remote index knows whole costs one check of its `.dir`: it and its
        // files are on the remote.
        let mut index = RemoteIndex::open(&repo.dvc_dir, remote.as_ref());
        let held = index.confirm(remote.as_ref(), dirs.iter().map(|(d, _)| d), jobs)?;
        let whole: HashSet<&Oid> = dirs
            .iter()
            .filter(|(d, _)| held.contains(d))
            .flat_map(|(d, members)| members.iter().chain([d]))
            .collect();
        // One existence check for everything else: the files, what the cache lacks (only
        // missing if the remote lacks it too), the manifests and all their files.
        let mut asked: BTreeSet<Oid> = have.iter().cloned().collect();
        asked.extend(absent.iter().cloned());
        for (dir, members) in &dirs {
            asked.insert(dir.clone());
            asked.extend(members.iter().cloned());
        }
        let asked: Vec<Oid> = asked.into_iter().filter(|o| !whole.contains(o)).collect();
        let mut lacking: BTreeSet<Oid> = remote.missing_with(&asked, jobs)?.into_iter().collect();
        let gone: Vec<&Oid> = absent.iter().filter(|o| lacking.contains(*o)).collect();
        report.missing.extend(gone.iter().map(|o| o.md5.clone()));
        report.skipped += absent.len() - gone.len();
        progress.begin("pushing", Some(have.len() as u64 + dirs.len() as u64));
        let todo: Vec<(PathBuf, Oid)> = have
            .iter()
            .filter(|o| lacking.contains(*o))
            .map(|o| (cache.path(o), o.clone()))
            .collect();
        progress.advance((have.len() - todo.len()) as u64);
        let results = remote.put_many(&todo, jobs, progress)?;
        let mut transferred = 0;
        let mut failures = Vec::new();
        for ((_, oid), r) in todo.iter().zip(results) {
            match r {
                Ok(()) => {
                    lacking.remove(oid);
                    transferred += 1;
                }
                Err(e) => failures.push(e),
            }
        }
        if !failures.is_empty() {
            progress.end();
            index.save();
            return Err(failures.swap_remove(0));
        }
        let mut dirs_skipped = 0;
        for (dir, members) in &dirs {
            if !lacking.contains(dir) {
                dirs_skipped += 1;
            } else if members.iter().all(|m| !lacking.contains(m)) {
                remote.put(&cache.path(dir), dir)?;
                lacking.remove(dir);
                transferred += 1;
            }
            progress.advance(1);
        }
        progress.end();
        // Each folder now on the remote with all of its files is indexed (those it already
        // knew stay).
        for (dir, members) in &dirs {
            if !lacking.contains(dir) && members.iter().all(|m| !lacking.contains(m)) {
                index.insert(dir.clone());
            }
        }
        index.save();
        report.transferred += transferred;
        report.skipped += have.len() - todo.len() + dirs_skipped;
    }
    report.missing.sort();
    report.missing.dedup();
    Ok(report)
}

/// Downloads what the targets' outputs need into the cache, verifying each object, as
/// [`fetch_all`] does.
pub fn fetch(
    repo: &Repo,
    opts: &TransferOptions,
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let outs = index::collect_outputs(repo, &opts.targets, cwd)?;
    fetch_all(repo, &cache, &outs, opts, progress)
}

/// [`fetch_all`], failing if any object could not be fetched (for callers that need them all).
pub fn fetch_outs(
    repo: &Repo,
    cache: &Odb,
    outs: &[Tracked],
    opts: &TransferOptions,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    fetch_all(repo, cache, outs, opts, progress)?.complete(false)
}

/// Downloads everything the outputs need that the cache lacks, verifying each object, as
/// `dvc fetch` does: what the remote does not hold is listed in the report (`missing`, or
/// `failed` for the files of a folder whose manifest the remote has), not an error, and the
/// rest is fetched. The objects of `push: false` outputs are fetched when the remote happens
/// to hold them, and not reported when it does not (they are never pushed).
pub fn fetch_all(
    repo: &Repo,
    cache: &Odb,
    outs: &[Tracked],
    opts: &TransferOptions,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let _lock = super::lock::RepoLock::acquire(&repo.dvc_dir, super::add::LOCK_WAIT)?;
    let config = repo.config()?;
    let mut report = TransferReport::default();
    for (remote, outs) in by_remote(outs, opts, &config)? {
        report.remotes.push(remote.name().to_string());
        let mut wanted: BTreeSet<Oid> = BTreeSet::new();
        // Objects an output names itself (not as a folder's file), and those never pushed.
        let mut top: BTreeSet<Oid> = BTreeSet::new();
        let mut unpushed: BTreeSet<Oid> = BTreeSet::new();
        let mut have = 0usize;
        let mut index = RemoteIndex::open(&repo.dvc_dir, remote.as_ref());
        // Folders with all their files, and those whose manifest came from the remote now.
        let mut folders: Vec<(Oid, Vec<Oid>)> = Vec::new();
        let mut read_now: HashSet<Oid> = HashSet::new();
        for t in outs {
            let oid = Oid::new(t.out.md5.clone().unwrap_or_default(), t.out.hash);
            if oid.is_dir() {
                if !cache.contains(&oid) {
                    let bytes = match remote.read_verified(&oid) {
                        Ok(bytes) => bytes,
                        Err(Error::MissingFromRemote { .. }) => {
                            index.remove(&oid);
                            if t.out.push {
                                report.missing.push(oid.md5.clone());
                            }
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    super::manifest::parse(&bytes).map_err(|e| Error::BadManifest {
                        oid: oid.rel_path(),
                        location: remote.describe(),
                        message: e.to_string(),
                    })?;
                    cache.add_bytes(&bytes, &oid)?;
                    read_now.insert(oid.clone());
                    report.transferred += 1;
                } else {
                    have += 1;
                }
                let mut members = Vec::new();
                for e in cache.read_manifest(&oid)? {
                    let m = Oid::new(e.md5, t.out.hash);
                    members.push(m.clone());
                    if t.covers(&e.relpath) {
                        if !t.out.push {
                            unpushed.insert(m.clone());
                        }
                        wanted.insert(m);
                    }
                }
                folders.push((oid, members));
            } else {
                if !t.out.push {
                    unpushed.insert(oid.clone());
                }
                top.insert(oid.clone());
                wanted.insert(oid);
            }
        }
        let wanted: Vec<Oid> = wanted.into_iter().collect();
        let todo: Vec<Oid> = cache.missing(&wanted).into_iter().cloned().collect();
        report.skipped += have + wanted.len() - todo.len();
        progress.begin("fetching", Some(todo.len() as u64));
        let results = remote.get_many(&todo, cache, jobs(opts.jobs, remote.as_ref()), progress);
        progress.end();
        let mut fetched: HashSet<Oid> = HashSet::new();
        let mut lacking: HashSet<Oid> = HashSet::new();
        for (oid, r) in todo.into_iter().zip(results?) {
            match r {
                Ok(()) => {
                    report.transferred += 1;
                    fetched.insert(oid);
                    continue;
                }
                Err(Error::MissingFromRemote { .. }) if unpushed.contains(&oid) => {}
                Err(Error::MissingFromRemote { .. }) if top.contains(&oid) => {
                    report.missing.push(oid.md5.clone())
                }
                Err(Error::MissingFromRemote { .. }) => report.failed.push(oid.md5.clone()),
                Err(e) => {
                    index.save();
                    return Err(e);
                }
            }
            lacking.insert(oid);
        }
        // A folder is known whole on the remote once its manifest and every file it lists came
        // from there in this fetch; one the remote lacks a file of is forgotten.
        for (dir, members) in folders {
            if members.iter().any(|m| lacking.contains(m)) {
                index.remove(&dir);
            } else if read_now.contains(&dir) && members.iter().all(|m| fetched.contains(m)) {
                index.insert(dir);
            }
        }
        index.save();
    }
    for list in [&mut report.missing, &mut report.failed] {
        list.sort();
        list.dedup();
    }
    Ok(report)
}

/// Fetches one object — a file, or a `.dir` manifest and all its files — from `remote` into
/// `cache`, verifying everything. Returns how many objects were downloaded.
pub fn fetch_object(
    cache: &Odb,
    remote: &dyn Remote,
    oid: &Oid,
    jobs_opt: Option<usize>,
    progress: &dyn Progress,
) -> Result<usize> {
    let mut wanted = vec![];
    let mut fetched = 0;
    if oid.is_dir() {
        if !cache.contains(oid) {
            let bytes = remote.read_verified(oid)?;
            super::manifest::parse(&bytes).map_err(|e| Error::BadManifest {
                oid: oid.rel_path(),
                location: remote.describe(),
                message: e.to_string(),
            })?;
            cache.add_bytes(&bytes, oid)?;
            fetched += 1;
        }
        for e in cache.read_manifest(oid)? {
            wanted.push(Oid::new(e.md5, oid.kind()));
        }
    } else {
        wanted.push(oid.clone());
    }
    let todo: Vec<Oid> = cache.missing(&wanted).into_iter().cloned().collect();
    progress.begin("fetching", Some(todo.len() as u64));
    let results = remote.get_many(&todo, cache, jobs(jobs_opt, remote), progress);
    progress.end();
    for r in results? {
        r?;
        fetched += 1;
    }
    Ok(fetched)
}

/// Whether `remote` holds `oid` whole: the object, and for a folder its manifest (verified)
/// and every file it lists.
pub fn remote_has_whole(remote: &dyn Remote, oid: &Oid) -> Result<bool> {
    if !remote.contains(oid)? {
        return Ok(false);
    }
    if !oid.is_dir() {
        return Ok(true);
    }
    let bytes = remote.read_verified(oid)?;
    let entries = super::manifest::parse(&bytes).map_err(|e| Error::BadManifest {
        oid: oid.rel_path(),
        location: remote.describe(),
        message: e.to_string(),
    })?;
    let files: Vec<Oid> = entries
        .into_iter()
        .map(|e| Oid::new(e.md5, oid.kind()))
        .collect();
    Ok(remote.missing(&files)?.is_empty())
}
