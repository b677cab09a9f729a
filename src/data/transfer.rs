//! `push` and `fetch`: moving the objects of outputs between the cache and a remote, in
//! parallel, skipping what the other side has (so an interrupted transfer resumes), uploading a
//! `.dir` only after all its files, and verifying every download.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;

use super::index::{self, Tracked};
use super::odb::{Odb, Oid};
use super::remote::{self, Remote};
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
}

fn jobs(opt: Option<usize>) -> usize {
    opt.unwrap_or_else(|| {
        4 * std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
    .max(1)
}

fn pool(jobs: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Remote {
            remote: String::new(),
            message: format!("cannot start transfer threads: {e}"),
        })
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

/// Uploads the cached objects of the targets' outputs.
pub fn push(
    repo: &Repo,
    opts: &TransferOptions,
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let outs: Vec<Tracked> = index::collect(repo, &opts.targets, cwd)?
        .into_iter()
        .filter(|t| t.out.push)
        .collect();
    let pool = pool(jobs(opts.jobs))?;
    let mut report = TransferReport::default();
    for (remote, outs) in by_remote(&outs, opts, &config)? {
        report.remotes.push(remote.name().to_string());
        // Plain objects first, each `.dir` after all of its files.
        let mut files: BTreeSet<Oid> = BTreeSet::new();
        let mut dirs: Vec<(Oid, Vec<Oid>)> = Vec::new();
        let mut missing = Vec::new();
        for t in outs {
            let oid = Oid::new(t.out.md5.clone().unwrap_or_default(), t.out.hash);
            if !cache.contains(&oid) {
                missing.push(format!("{} ({})", t.display(repo), oid.rel_path()));
                continue;
            }
            if oid.is_dir() {
                let members: Vec<Oid> = cache
                    .read_manifest(&oid)?
                    .into_iter()
                    .map(|e| Oid::new(e.md5, t.out.hash))
                    .collect();
                for m in cache.missing(&members) {
                    missing.push(format!("{}/… ({})", t.display(repo), m.rel_path()));
                }
                files.extend(members.iter().cloned());
                dirs.push((oid, members));
            } else {
                files.insert(oid);
            }
        }
        if !missing.is_empty() {
            return Err(Error::MissingFromCache { missing });
        }
        let files: Vec<Oid> = files.into_iter().collect();
        progress.begin("pushing", Some(files.len() as u64 + dirs.len() as u64));
        let todo = pool.install(|| remote.missing(&files))?;
        progress.advance((files.len() - todo.len()) as u64);
        let failures: Mutex<Vec<Error>> = Mutex::new(Vec::new());
        let done = std::sync::atomic::AtomicUsize::new(0);
        pool.install(|| {
            todo.par_iter().for_each(|oid| {
                match remote.put(&cache.path(oid), oid) {
                    Ok(()) => {
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(e) => failures.lock().expect("no panics while held").push(e),
                }
                progress.advance(1);
            })
        });
        let mut failures = failures.into_inner().unwrap_or_default();
        if !failures.is_empty() {
            progress.end();
            return Err(failures.swap_remove(0));
        }
        let mut transferred = done.into_inner();
        for (dir, _members) in &dirs {
            if !remote.contains(dir)? {
                remote.put(&cache.path(dir), dir)?;
                transferred += 1;
            }
            progress.advance(1);
        }
        progress.end();
        report.transferred += transferred;
        report.skipped += files.len() + dirs.len() - transferred;
    }
    Ok(report)
}

/// Downloads what the targets' outputs need into the cache, verifying each object.
pub fn fetch(
    repo: &Repo,
    opts: &TransferOptions,
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let outs = index::collect(repo, &opts.targets, cwd)?;
    fetch_outs(repo, &cache, &outs, opts, progress)
}

/// [`fetch`] for already collected outputs.
pub fn fetch_outs(
    repo: &Repo,
    cache: &Odb,
    outs: &[Tracked],
    opts: &TransferOptions,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let _lock = super::lock::RepoLock::acquire(&repo.dvc_dir, super::add::LOCK_WAIT)?;
    let config = repo.config()?;
    let pool = pool(jobs(opts.jobs))?;
    let mut report = TransferReport::default();
    for (remote, outs) in by_remote(outs, opts, &config)? {
        report.remotes.push(remote.name().to_string());
        let mut wanted: BTreeSet<Oid> = BTreeSet::new();
        let mut have = 0usize;
        for t in outs {
            let oid = Oid::new(t.out.md5.clone().unwrap_or_default(), t.out.hash);
            if oid.is_dir() {
                if !cache.contains(&oid) {
                    let bytes = remote.read_verified(&oid)?;
                    super::manifest::parse(&bytes).map_err(|e| Error::BadManifest {
                        oid: oid.rel_path(),
                        location: remote.describe(),
                        message: e.to_string(),
                    })?;
                    cache.add_bytes(&bytes, &oid)?;
                    report.transferred += 1;
                } else {
                    have += 1;
                }
                for e in cache.read_manifest(&oid)? {
                    wanted.insert(Oid::new(e.md5, t.out.hash));
                }
            } else {
                wanted.insert(oid);
            }
        }
        let wanted: Vec<Oid> = wanted.into_iter().collect();
        let todo: Vec<Oid> = cache.missing(&wanted).into_iter().cloned().collect();
        report.skipped += have + wanted.len() - todo.len();
        progress.begin("fetching", Some(todo.len() as u64));
        let results: Vec<(Oid, Result<()>)> = pool.install(|| {
            todo.par_iter()
                .map(|oid| {
                    let r = remote.get(oid, cache);
                    progress.advance(1);
                    (oid.clone(), r)
                })
                .collect()
        });
        progress.end();
        let mut missing = Vec::new();
        for (oid, r) in results {
            match r {
                Ok(()) => report.transferred += 1,
                Err(Error::MissingFromRemote { .. }) => missing.push(oid.rel_path()),
                Err(e) => return Err(e),
            }
        }
        if !missing.is_empty() {
            return Err(Error::MissingFromRemote {
                remote: remote.name().to_string(),
                missing,
            });
        }
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
    let results: Vec<Result<()>> = pool(jobs(jobs_opt))?.install(|| {
        todo.par_iter()
            .map(|o| {
                let r = remote.get(o, cache);
                progress.advance(1);
                r
            })
            .collect()
    });
    progress.end();
    for r in results {
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
    for e in entries {
        if !remote.contains(&Oid::new(e.md5, oid.kind()))? {
            return Ok(false);
        }
    }
    Ok(true)
}
