//! `checkout`: make the workspace match the `.dvc` files from the cache. Without `--force` it
//! never overwrites or deletes a workspace file whose content is not in the cache (DVC's rule),
//! and it decides everything before it changes anything.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::hash::HashKind;
use super::index::{self, Tracked};
use super::odb::{Odb, Oid};
use super::paths::Inside;
use super::repo::Repo;
use super::state::State;
use super::workspace;
use super::{Error, Result};
use crate::progress::Progress;

/// What happened to one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Modified,
}

/// One output checkout changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub path: String,
    pub change: Change,
    pub is_dir: bool,
}

/// A single file operation decided before any is done.
enum Op {
    Write {
        oid: Oid,
        dest: PathBuf,
        isexec: bool,
        /// Whether something may stand at `dest` (a fresh checkout skips looking).
        occupied: bool,
    },
    Remove(PathBuf),
    /// Add the owner's execute bit (the content is already right).
    Chmod(PathBuf),
}

/// How `checkout` may change the workspace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckoutOptions {
    /// Overwrite or delete workspace files whose content is not in the cache.
    pub force: bool,
    /// Write every file again from the cache with the configured link type, even those whose
    /// content is already right (`dvc checkout --relink`).
    pub relink: bool,
}

/// How many files checkout added, modified and deleted (DVC's summary counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub added: usize,
    pub modified: usize,
    pub deleted: usize,
}

/// What one checkout did, and what it could not do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckoutReport {
    pub changed: Vec<Changed>,
    /// Outputs left exactly as they were because objects they need are not in the cache
    /// (absolute paths), in the order met.
    pub failed: Vec<PathBuf>,
    /// Those objects (md5s, `.dir` for a folder's manifest), sorted.
    pub missing: Vec<String>,
    pub stats: Stats,
}

/// Checks out the targets' outputs (all when none); see [`checkout_all`].
pub fn checkout(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    opts: CheckoutOptions,
    progress: &dyn Progress,
) -> Result<CheckoutReport> {
    let outs = index::collect_outputs(repo, targets, cwd)?;
    checkout_all(repo, &outs, opts, progress)
}

/// [`checkout_all`], failing if an output could not be checked out (for callers that need
/// every output in place).
pub fn checkout_outs(
    repo: &Repo,
    outs: &[Tracked],
    force: bool,
    progress: &dyn Progress,
) -> Result<Vec<Changed>> {
    let report = checkout_all(
        repo,
        outs,
        CheckoutOptions {
            force,
            relink: false,
        },
        progress,
    )?;
    if !report.missing.is_empty() {
        return Err(Error::MissingFromCache {
            missing: report.missing,
        });
    }
    Ok(report.changed)
}

/// The plan for one output.
#[derive(Default)]
struct Plan {
    ops: Vec<Op>,
    unsaved: Vec<String>,
    missing: Vec<String>,
    stats: Stats,
    /// Whether the output changes (ops that only relink do not count).
    changes: bool,
}

/// Checks out the outputs as `dvc checkout` does: every output whose objects are in the cache
/// is restored, and the others are reported in [`CheckoutReport::failed`] — and, unlike DVC,
/// left untouched, never deleted. Without `force` nothing is changed at all if a workspace
/// file whose content is not in the cache would be overwritten or deleted. Everything is
/// decided before anything changes.
pub fn checkout_all(
    repo: &Repo,
    outs: &[Tracked],
    opts: CheckoutOptions,
    progress: &dyn Progress,
) -> Result<CheckoutReport> {
    let force = opts.force;
    let _lock = super::lock::RepoLock::acquire(&repo.dvc_dir, super::add::LOCK_WAIT)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let links = repo.link_types(&config)?;
    let state = repo.state();
    // Folders mean many questions: list the cache once. A few files: ask for each.
    let known = if outs
        .iter()
        .any(|t| t.out.md5.as_deref().is_some_and(|m| m.ends_with(".dir")))
    {
        cache.listing()
    } else {
        cache.unlisted()
    };
    let in_cache = |o: &Oid| known.has(o);
    let mut ops: Vec<Op> = Vec::new();
    let mut unsaved: Vec<String> = Vec::new();
    let mut report = CheckoutReport::default();
    let mut empty_dirs: Vec<PathBuf> = Vec::new();
    // Folders files will be written into, each checked once to stay inside the repository
    // (a folder in the workspace may be a symlink leading out of it).
    let inside = Inside::new(&repo.root);
    let mut checked: HashSet<PathBuf> = HashSet::new();

    for t in outs {
        let Some(md5) = t.out.md5.clone() else {
            continue;
        };
        if !t.out.cache {
            continue;
        }
        let kind = t.out.hash;
        let oid = Oid::new(md5, kind);
        let mut plan = Plan::default();
        let is_dir = oid.is_dir();
        let empty_dir = oid_is_empty_dir(&oid);
        let existed = std::fs::symlink_metadata(&t.path).is_ok();
        if oid.is_dir() {
            let unsafe_path = |why, member: &str| Error::UnsafePath {
                file: inside.shown(&t.dvc_path),
                path: format!("{}{member}", t.out.path),
                why,
            };
            // The folder itself is written into: it must not lead out of the repository.
            inside
                .check_parents(&t.path, true)
                .map_err(|why| unsafe_path(why, ""))?;
            if !cache.contains(&oid) {
                plan.missing.push(oid.md5.clone());
            } else {
                let entries: Vec<_> = cache
                    .read_manifest(&oid)?
                    .into_iter()
                    .filter(|e| t.covers(&e.relpath))
                    .collect();
                if entries.is_empty() && t.only.is_none() {
                    empty_dirs.push(t.path.clone());
                }
                let mut current: BTreeMap<String, PathBuf> = BTreeMap::new();
                if t.path.is_dir() {
                    for (rel, abs, _) in workspace::walk(&t.path)? {
                        if t.covers(&rel) {
                            current.insert(rel, abs);
                        }
                    }
                } else if existed {
                    // A file where the folder should be.
                    plan_replace(&t.path, kind, &cache, &state, force, &mut plan, progress)?;
                }
                for e in &entries {
                    let dest = t.path.join(&e.relpath);
                    if let Some(parent) = dest.parent().filter(|p| *p != t.path)
                        && !checked.contains(parent)
                    {
                        inside
                            .check_parents(parent, true)
                            .map_err(|why| unsafe_path(why, &format!("/{}", e.relpath)))?;
                        checked.insert(parent.to_path_buf());
                    }
                    let want = Oid::new(e.md5.clone(), kind);
                    let mut modified = false;
                    if let Some(abs) = current.remove(&e.relpath) {
                        let meta = std::fs::metadata(&abs).map_err(Error::io("stat", &abs))?;
                        let have = ws_md5(&abs, &(&meta).into(), kind, &state, progress)?;
                        if have == e.md5 {
                            if opts.relink {
                                plan.ops.push(Op::Write {
                                    oid: want,
                                    dest,
                                    isexec: false,
                                    occupied: true,
                                });
                            }
                            continue;
                        }
                        if !force && !in_cache(&Oid::new(have, kind)) {
                            plan.unsaved.push(display(repo, &abs));
                        }
                        modified = true;
                    }
                    if !in_cache(&want) {
                        plan.missing.push(want.md5.clone());
                        continue;
                    }
                    plan.ops.push(Op::Write {
                        oid: want,
                        dest,
                        isexec: false,
                        occupied: existed,
                    });
                    plan.changes = true;
                    if modified {
                        plan.stats.modified += 1;
                    } else {
                        plan.stats.added += 1;
                    }
                }
                // Files in the folder that the manifest does not list.
                for (_, abs) in current {
                    let meta = std::fs::metadata(&abs).map_err(Error::io("stat", &abs))?;
                    let have = ws_md5(&abs, &(&meta).into(), kind, &state, progress)?;
                    if !force && !in_cache(&Oid::new(have, kind)) {
                        plan.unsaved.push(display(repo, &abs));
                    }
                    plan.ops.push(Op::Remove(abs));
                    plan.changes = true;
                    plan.stats.deleted += 1;
                }
            }
        } else {
            let mut occupied_by_file = false;
            if let Ok(meta) = std::fs::metadata(&t.path) {
                if meta.is_dir() {
                    // A folder where the file should be (a branch switch): replaced when all
                    // its files are saved in the cache, as DVC does.
                    if !force {
                        for (_, abs, stat) in workspace::walk(&t.path)? {
                            let have = ws_md5(&abs, &stat, kind, &state, progress)?;
                            if !in_cache(&Oid::new(have, kind)) {
                                plan.unsaved.push(display(repo, &abs));
                            }
                        }
                    }
                    plan.ops.push(Op::Remove(t.path.clone()));
                } else {
                    occupied_by_file = true;
                    let have = ws_md5(&t.path, &(&meta).into(), kind, &state, progress)?;
                    if have == oid.md5 {
                        // Same content; DVC still gives back a recorded execute bit.
                        // Not through a link: that would change the cache object itself.
                        use std::os::unix::fs::{MetadataExt, PermissionsExt};
                        let wants_bit = t.out.isexec && meta.permissions().mode() & 0o100 == 0;
                        let plain = || {
                            std::fs::symlink_metadata(&t.path)
                                .is_ok_and(|m| m.is_file() && m.nlink() == 1)
                        };
                        if opts.relink && cache.contains(&oid) {
                            plan.ops.push(Op::Write {
                                oid: oid.clone(),
                                dest: t.path.clone(),
                                isexec: t.out.isexec,
                                occupied: true,
                            });
                            plan.changes = wants_bit;
                        } else if wants_bit && plain() {
                            plan.ops.push(Op::Chmod(t.path.clone()));
                            plan.changes = true;
                        }
                        let changes = plan.changes;
                        if changes {
                            plan.stats.modified += 1;
                        }
                        merge(&mut ops, &mut unsaved, &mut report, plan);
                        if changes {
                            report.changed.push(Changed {
                                path: t.display(repo),
                                change: Change::Modified,
                                is_dir,
                            });
                        }
                        continue;
                    }
                    if !force && !in_cache(&Oid::new(have, kind)) {
                        plan.unsaved.push(display(repo, &t.path));
                    }
                }
            }
            if !cache.contains(&oid) {
                plan.missing.push(oid.md5.clone());
            } else {
                plan.ops.push(Op::Write {
                    oid,
                    dest: t.path.clone(),
                    isexec: t.out.isexec,
                    occupied: existed,
                });
                plan.changes = true;
                if occupied_by_file {
                    plan.stats.modified += 1;
                } else {
                    plan.stats.added += 1;
                }
            }
        }
        if !plan.missing.is_empty() {
            // Nothing of this output is touched; its unsaved files stay as they are.
            report.failed.push(t.path.clone());
            report.missing.append(&mut plan.missing);
            continue;
        }
        let changes = plan.changes || (!existed && empty_dir);
        merge(&mut ops, &mut unsaved, &mut report, plan);
        if changes {
            report.changed.push(Changed {
                path: t.display(repo),
                change: if existed {
                    Change::Modified
                } else {
                    Change::Added
                },
                is_dir,
            });
        }
    }
    if !unsaved.is_empty() {
        return Err(Error::UnsavedChanges { paths: unsaved });
    }
    report.missing.sort();
    report.missing.dedup();
    progress.begin("checkout", Some(ops.len() as u64));
    // Removals first, deepest first, so a file may become a folder and the other way round.
    let mut removals: Vec<&PathBuf> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Remove(p) => Some(p),
            Op::Write { .. } | Op::Chmod(_) => None,
        })
        .collect();
    removals.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in removals {
        let r = match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
            Ok(_) => std::fs::remove_file(p),
            Err(e) => Err(e),
        };
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", p)(e)),
        }
        progress.advance(1);
    }
    for op in &ops {
        if let Op::Chmod(p) = op {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(p)
                .map_err(Error::io("stat", p))?
                .permissions()
                .mode();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode | 0o100))
                .map_err(Error::io("set permissions of", p))?;
            progress.advance(1);
        }
    }
    ops.par_iter().try_for_each(|op| -> Result<()> {
        let Op::Write {
            oid,
            dest,
            isexec,
            occupied,
        } = op
        else {
            return Ok(());
        };
        if *occupied
            && let Ok(m) = std::fs::symlink_metadata(dest)
            && m.is_dir()
        {
            std::fs::remove_dir_all(dest).map_err(Error::io("remove", dest))?;
        }
        let written = cache.checkout_file(oid, dest, &links, *isexec)?;
        if oid.kind() == HashKind::Md5
            && let Some(meta) = written
        {
            state.set(dest, &(&meta).into(), &oid.md5);
        }
        progress.advance(1);
        Ok(())
    })?;
    progress.end();
    for d in empty_dirs {
        std::fs::create_dir_all(&d).map_err(Error::io("create folder", &d))?;
    }
    state.save();
    Ok(report)
}

/// Adds an output's plan to the whole checkout's.
fn merge(ops: &mut Vec<Op>, unsaved: &mut Vec<String>, report: &mut CheckoutReport, plan: Plan) {
    ops.extend(plan.ops);
    unsaved.extend(plan.unsaved);
    report.stats.added += plan.stats.added;
    report.stats.modified += plan.stats.modified;
    report.stats.deleted += plan.stats.deleted;
}

fn oid_is_empty_dir(oid: &Oid) -> bool {
    oid.md5 == "d751713988987e9331980363e24189ce.dir"
}

fn display(repo: &Repo, p: &Path) -> String {
    p.strip_prefix(&repo.root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

fn ws_md5(
    path: &Path,
    meta: &super::state::FileStat,
    kind: HashKind,
    state: &State,
    progress: &dyn Progress,
) -> Result<String> {
    match kind {
        HashKind::Md5 => workspace::file_md5(path, meta, state, progress),
        HashKind::Md5Dos2Unix => super::hash::md5_file(path, kind, &|_| {}),
    }
}

/// A file standing where a folder output goes: replace it if its content is saved.
fn plan_replace(
    path: &Path,
    kind: HashKind,
    cache: &Odb,
    state: &State,
    force: bool,
    plan: &mut Plan,
    progress: &dyn Progress,
) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(Error::io("stat", path))?;
    let have = ws_md5(path, &(&meta).into(), kind, state, progress)?;
    if !force && !cache.contains(&Oid::new(have, kind)) {
        plan.unsaved.push(path.display().to_string());
    }
    plan.ops.push(Op::Remove(path.to_path_buf()));
    Ok(())
}
