//! `add`: hash files or folders into the cache and write their `.dvc` files and `.gitignore`
//! entries exactly as `dvc add` does, keeping the user's edits to an existing `.dvc` file. Also
//! DVC's variants: a path inside a tracked folder updates that folder's `.dvc` file, `-o` brings
//! data from outside the repository in, `--to-remote` sends it straight to a remote, and
//! `--no-commit` records hashes without filling the cache.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rayon::prelude::*;
use serde::Serialize;

use super::dvcfile::{self, Hashes};
use super::fsutil::normalize;
use super::hash::HashKind;
use super::index::{self, Tracked};
use super::lock::RepoLock;
use super::manifest::{self, Entry};
use super::odb::{LinkType, Odb, Oid};
use super::repo::Repo;
use super::state::State;
use super::workspace::{self, Hashed};
use super::{Error, Result, gitignore};
use crate::progress::Progress;

/// What `add` did for one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Added {
    /// The target, relative to the repository root.
    pub path: String,
    /// Its `.dvc` file (for a path inside a tracked folder, the folder's), relative to the root.
    pub dvc_file: String,
    /// The target's md5 (`<md5>.dir` for a folder; empty for a path removed from a folder).
    pub md5: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfiles: Option<u64>,
    /// False when the output was already tracked with the same content.
    pub changed: bool,
    /// Files git should stage (the `.dvc` file and the `.gitignore`), relative to the root.
    pub git_add: Vec<String>,
    /// Whether they were staged already (`core.autostage = true`).
    pub staged: bool,
}

/// How long a command waits for another process holding the repository lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// What to add, and how (`dvc add`'s flags).
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// Paths relative to the working folder.
    pub targets: Vec<PathBuf>,
    /// Hash and record, but leave the cache alone (`--no-commit`).
    pub no_commit: bool,
    /// Where in the repository the one target (from anywhere) is to go (`-o`).
    pub out: Option<PathBuf>,
    /// Send the one target straight to a remote, not to the cache or workspace.
    pub to_remote: bool,
    /// The remote for `to_remote` (default: `core.remote`).
    pub remote: Option<String>,
    /// Parallel uploads for `to_remote`.
    pub jobs: Option<usize>,
    /// With `out`: replace what is there.
    pub force: bool,
}

/// Versions each target (paths relative to `cwd`).
pub fn add(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<Vec<Added>> {
    let opts = AddOptions {
        targets: targets.to_vec(),
        ..AddOptions::default()
    };
    add_with(repo, &opts, cwd, progress)
}

/// Everything one `add` works with.
struct Ctx<'a> {
    repo: &'a Repo,
    cache: Odb,
    links: Vec<LinkType>,
    state: State,
    tracked: Vec<Tracked>,
    progress: &'a dyn Progress,
}

impl Ctx<'_> {
    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.repo.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    }
}

/// What will be done for one target, decided before anything is written.
enum Plan {
    /// A new (or re-added) output with its own `.dvc` file.
    Output(NewOut),
    /// A path inside a tracked folder: that folder's `.dvc` file is updated.
    Inside { abs: PathBuf, owner: Tracked },
}

/// Where a new output and its `.dvc` file go.
struct NewOut {
    abs: PathBuf,
    parent: PathBuf,
    name: String,
    dvc_path: PathBuf,
    /// The md5 recorded for it before.
    before: Option<String>,
}

/// Versions the targets of `opts` as `dvc add` with those flags does.
pub fn add_with(
    repo: &Repo,
    opts: &AddOptions,
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<Vec<Added>> {
    let _lock = RepoLock::acquire(&repo.dvc_dir, LOCK_WAIT)?;
    let config = repo.config()?;
    let ctx = Ctx {
        repo,
        cache: repo.cache(&config),
        links: repo.link_types(&config)?,
        state: repo.state(),
        tracked: index::collect(repo, &[], cwd)?,
        progress,
    };
    let mut report = if opts.out.is_some() || opts.to_remote {
        vec![add_from(&ctx, &config, opts, cwd)?]
    } else {
        // Every target is checked before any is added, as DVC does.
        let plans = opts
            .targets
            .iter()
            .map(|t| plan(&ctx, &normalize(&cwd.join(t)), true))
            .collect::<Result<Vec<Plan>>>()?;
        let mut report = Vec::new();
        for p in plans {
            report.push(match p {
                Plan::Output(out) => add_output(&ctx, &out, opts.no_commit)?,
                Plan::Inside { abs, owner } => add_inside(&ctx, &abs, &owner, opts.no_commit)?,
            });
        }
        report
    };
    ctx.state.save();
    if config.autostage() {
        stage_in_git(repo, &mut report)?;
    }
    Ok(report)
}

/// `git add`s the files the report names (`core.autostage`), as DVC does.
fn stage_in_git(repo: &Repo, report: &mut [Added]) -> Result<()> {
    if crate::git::toplevel(&repo.root)?.is_none() {
        return Ok(());
    }
    let mut files: Vec<String> = Vec::new();
    for a in report.iter() {
        for f in &a.git_add {
            if !files.contains(f) && repo.root.join(f).exists() {
                files.push(f.clone());
            }
        }
    }
    if !files.is_empty() {
        crate::git::add(&repo.root, &files)?;
    }
    for a in report.iter_mut() {
        a.staged = true;
    }
    Ok(())
}

/// Decides what adding the path `abs` means, refusing what DVC refuses. `must_exist` is false
/// for the destination of `-o`.
fn plan(ctx: &Ctx, abs: &Path, must_exist: bool) -> Result<Plan> {
    let repo = ctx.repo;
    if !abs.starts_with(&repo.root) || abs == repo.root {
        return Err(Error::OutsideRepo {
            path: abs.to_path_buf(),
            root: repo.root.clone(),
        });
    }
    let cannot = |reason: String| Error::CannotAdd {
        path: abs.to_path_buf(),
        reason,
    };
    let exists = std::fs::symlink_metadata(abs).is_ok();
    if must_exist && !exists {
        return Err(Error::Missing(abs.to_path_buf()));
    }
    if let Some(link) = workspace::symlinked_folder(&repo.root, abs) {
        return Err(Error::SymlinkedFolder {
            path: abs.to_path_buf(),
            link,
        });
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
    if let Some(rule) = workspace::ignored_by(&repo.root, abs, abs.is_dir())? {
        return Err(Error::Ignored {
            path: abs.to_path_buf(),
            rule,
        });
    }
    if let Some(owner) = ctx
        .tracked
        .iter()
        .find(|t| abs.starts_with(&t.path) && abs != t.path)
    {
        if !owner.out.is_dir() || !must_exist {
            return Err(Error::AlreadyTracked {
                path: abs.to_path_buf(),
                by: owner.dvc_path.clone(),
            });
        }
        return Ok(Plan::Inside {
            abs: abs.to_path_buf(),
            owner: owner.clone(),
        });
    }
    if let Some(inner) = ctx
        .tracked
        .iter()
        .find(|t| t.path.starts_with(abs) && t.path != abs)
    {
        return Err(cannot(format!(
            "it overlaps the output `{}` of `{}`",
            inner.display(repo),
            inner.dvc_display(repo)
        )));
    }
    let (parent, name) = match (abs.parent(), abs.file_name()) {
        (Some(p), Some(n)) => (p.to_path_buf(), n.to_string_lossy().into_owned()),
        _ => return Err(Error::Missing(abs.to_path_buf())),
    };
    let dvc_path = parent.join(format!("{name}.dvc"));
    if let Some(other) = ctx
        .tracked
        .iter()
        .find(|t| t.path == abs && t.dvc_path != dvc_path)
    {
        return Err(cannot(format!(
            "it is already tracked by `{}`",
            other.dvc_display(repo)
        )));
    }
    if exists && crate::git::is_tracked(&repo.root, abs) {
        return Err(cannot(
            "git already tracks it; run `git rm -r --cached` on it first".into(),
        ));
    }
    let before = ctx
        .tracked
        .iter()
        .find(|t| t.path == abs && t.dvc_path == dvc_path)
        .and_then(|t| t.out.md5.clone());
    Ok(Plan::Output(NewOut {
        abs: abs.to_path_buf(),
        parent,
        name,
        dvc_path,
        before,
    }))
}

/// Refuses a folder that holds `.dvc` files: they describe outputs of their own, and taking
/// them in as data would hide those outputs from DVC.
fn refuse_dvc_files_inside(abs: &Path, hashed: &Hashed) -> Result<()> {
    match hashed.files.iter().find(|f| f.rel.ends_with(".dvc")) {
        Some(f) => Err(Error::CannotAdd {
            path: abs.to_path_buf(),
            reason: format!(
                "it holds the DVC file `{}`; add the folder's other paths one by one, or move \
                 that file out first",
                f.abs.display()
            ),
        }),
        None => Ok(()),
    }
}

fn hashes_of(h: &Hashed) -> Hashes {
    Hashes {
        md5: h.md5.clone(),
        size: h.size,
        nfiles: h.nfiles,
        isexec: h.isexec,
    }
}

/// Adds one new (or re-added) output.
fn add_output(ctx: &Ctx, out: &NewOut, no_commit: bool) -> Result<Added> {
    let store = (!no_commit).then_some(&ctx.cache);
    let hashed = workspace::hash_output(&out.abs, &ctx.state, store, ctx.progress)?
        .ok_or_else(|| Error::Missing(out.abs.clone()))?;
    refuse_dvc_files_inside(&out.abs, &hashed)?;
    if let (Some(bytes), false) = (&hashed.manifest, no_commit) {
        ctx.cache.add_bytes(bytes, &hashed.oid())?;
    }
    dvcfile::write(&out.dvc_path, &out.name, &hashes_of(&hashed))?;
    gitignore::ignore(&out.parent, &out.name)?;
    if !no_commit {
        relink(&ctx.cache, &hashed, &out.abs, &ctx.links)?;
    }
    Ok(Added {
        path: ctx.rel(&out.abs),
        dvc_file: ctx.rel(&out.dvc_path),
        changed: out.before.as_deref() != Some(hashed.md5.as_str()),
        md5: hashed.md5,
        size: hashed.size,
        nfiles: hashed.nfiles,
        git_add: vec![
            ctx.rel(&out.dvc_path),
            ctx.rel(&out.parent.join(".gitignore")),
        ],
        staged: false,
    })
}

/// Adds (or, when it is gone, removes) the path `abs` inside the tracked folder `owner`, as
/// DVC's granular add does: only that path's entries of the folder's manifest change, and the
/// folder's `size` is kept only when it is still known (DVC's rule).
fn add_inside(ctx: &Ctx, abs: &Path, owner: &Tracked, no_commit: bool) -> Result<Added> {
    let repo = ctx.repo;
    let cannot = |reason: String| Error::CannotAdd {
        path: abs.to_path_buf(),
        reason,
    };
    if owner.out.hash != HashKind::Md5 {
        return Err(cannot(format!(
            "it is inside `{}`, which is tracked the DVC 2 way (md5-dos2unix); add the whole folder",
            owner.display(repo)
        )));
    }
    if ctx
        .tracked
        .iter()
        .filter(|t| t.dvc_path == owner.dvc_path)
        .count()
        > 1
    {
        return Err(cannot(format!(
            "`{}` has several outputs; add the whole folder `{}`",
            owner.dvc_display(repo),
            owner.display(repo)
        )));
    }
    let mut entries: Vec<Entry> = match &owner.out.md5 {
        Some(md5) => {
            let oid = Oid::new(md5.clone(), HashKind::Md5);
            if !ctx.cache.contains(&oid) {
                return Err(Error::MissingFromCache {
                    missing: vec![format!("{} ({})", owner.display(repo), oid.rel_path())],
                });
            }
            ctx.cache.read_manifest(&oid)?
        }
        None => Vec::new(),
    };
    let rel = abs
        .strip_prefix(&owner.path)
        .unwrap_or(abs)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let under = format!("{rel}/");
    let before = entries.len();
    entries.retain(|e| e.relpath != rel && !e.relpath.starts_with(&under));
    let append_only = entries.len() == before;
    let store = (!no_commit).then_some(&ctx.cache);
    let hashed = if std::fs::symlink_metadata(abs).is_ok() {
        let h = workspace::hash_output(abs, &ctx.state, store, ctx.progress)?
            .ok_or_else(|| Error::Missing(abs.to_path_buf()))?;
        refuse_dvc_files_inside(abs, &h)?;
        if let (Some(bytes), false) = (&h.manifest, no_commit) {
            // DVC stores the sub-folder's own manifest too.
            ctx.cache.add_bytes(bytes, &h.oid())?;
        }
        if h.manifest.is_some() {
            entries.extend(h.files.iter().map(|f| Entry {
                relpath: format!("{under}{}", f.rel),
                md5: f.md5.clone(),
            }));
        } else {
            entries.push(Entry {
                relpath: rel.clone(),
                md5: h.md5.clone(),
            });
        }
        Some(h)
    } else if append_only {
        return Err(Error::Missing(abs.to_path_buf()));
    } else {
        None
    };
    manifest::sort(&mut entries);
    let bytes = manifest::to_bytes(&entries);
    let md5 = manifest::dir_md5(&bytes);
    let old_size = owner.out.size.filter(|s| *s > 0);
    let size = match (&hashed, old_size) {
        (None, _) => None,
        (Some(h), Some(old)) if append_only => Some(old + h.size),
        _ if owner.out.md5.as_deref() == Some(md5.as_str()) => owner.out.size,
        _ => None,
    };
    if !no_commit {
        ctx.cache
            .add_bytes(&bytes, &Oid::new(md5.clone(), HashKind::Md5))?;
    }
    let folder = Hashes {
        md5: md5.clone(),
        size: size.unwrap_or(0),
        nfiles: Some(entries.len() as u64),
        isexec: false,
    };
    if size.is_some() {
        dvcfile::write(&owner.dvc_path, &owner.out.path, &folder)?;
    } else {
        dvcfile::write_without_size(&owner.dvc_path, &owner.out.path, &folder)?;
    }
    if let (Some(h), false) = (&hashed, no_commit) {
        relink(&ctx.cache, h, abs, &ctx.links)?;
    }
    Ok(Added {
        path: ctx.rel(abs),
        dvc_file: ctx.rel(&owner.dvc_path),
        changed: owner.out.md5.as_deref() != Some(md5.as_str()),
        md5: hashed.as_ref().map(|h| h.md5.clone()).unwrap_or_default(),
        size: hashed.as_ref().map_or(0, |h| h.size),
        nfiles: hashed.as_ref().and_then(|h| h.nfiles),
        git_add: vec![ctx.rel(&owner.dvc_path)],
        staged: false,
    })
}

/// `-o` and `--to-remote`: the one target may be anywhere; it is hashed where it is and either
/// stored in the cache and checked out at the destination in the repository, or uploaded
/// straight to the remote (nothing in the cache or workspace, as DVC).
fn add_from(
    ctx: &Ctx,
    config: &super::config::Config,
    opts: &AddOptions,
    cwd: &Path,
) -> Result<Added> {
    let [target] = opts.targets.as_slice() else {
        return Err(Error::CannotAdd {
            path: cwd.to_path_buf(),
            reason: "`-o` and `--to-remote` take exactly one target".into(),
        });
    };
    let source = normalize(&cwd.join(target));
    if std::fs::symlink_metadata(&source).is_err() {
        return Err(Error::Missing(source));
    }
    // DVC's `resolve_output`: the source's name, inside `-o` when that is a folder.
    let name = source
        .file_name()
        .map(PathBuf::from)
        .ok_or_else(|| Error::Missing(source.clone()))?;
    let dest = match &opts.out {
        None => name,
        Some(o) if cwd.join(o).is_dir() => o.join(name),
        Some(o) => o.clone(),
    };
    let dest = normalize(&cwd.join(dest));
    if std::fs::symlink_metadata(&dest).is_ok() && !opts.force {
        return Err(Error::OutExists(dest));
    }
    let out = match plan(ctx, &dest, false)? {
        Plan::Output(out) => out,
        Plan::Inside { abs, owner } => {
            return Err(Error::AlreadyTracked {
                path: abs,
                by: owner.dvc_path,
            });
        }
    };
    if opts.to_remote {
        return to_remote(ctx, config, opts, &source, &out);
    }
    let hashed = workspace::hash_output(&source, &ctx.state, Some(&ctx.cache), ctx.progress)?
        .ok_or_else(|| Error::Missing(source.clone()))?;
    refuse_dvc_files_inside(&source, &hashed)?;
    if let Some(bytes) = &hashed.manifest {
        ctx.cache.add_bytes(bytes, &hashed.oid())?;
    }
    if std::fs::symlink_metadata(&out.abs).is_ok() {
        // `--force`: what stood there goes into the cache first, so nothing is lost.
        workspace::hash_output(&out.abs, &ctx.state, Some(&ctx.cache), ctx.progress)?;
        let removed = if out.abs.is_dir() {
            std::fs::remove_dir_all(&out.abs)
        } else {
            std::fs::remove_file(&out.abs)
        };
        removed.map_err(Error::io("replace", &out.abs))?;
    }
    if hashed.manifest.is_none() {
        ctx.cache
            .checkout_file(&hashed.oid(), &out.abs, &ctx.links, hashed.isexec)?;
    } else {
        std::fs::create_dir_all(&out.abs).map_err(Error::io("create folder", &out.abs))?;
        hashed.files.par_iter().try_for_each(|f| {
            let oid = Oid::new(f.md5.clone(), HashKind::Md5);
            ctx.cache
                .checkout_file(&oid, &out.abs.join(&f.rel), &ctx.links, false)
                .map(drop)
        })?;
    }
    dvcfile::write(&out.dvc_path, &out.name, &hashes_of(&hashed))?;
    gitignore::ignore(&out.parent, &out.name)?;
    Ok(Added {
        path: ctx.rel(&out.abs),
        dvc_file: ctx.rel(&out.dvc_path),
        changed: out.before.as_deref() != Some(hashed.md5.as_str()),
        md5: hashed.md5,
        size: hashed.size,
        nfiles: hashed.nfiles,
        git_add: vec![
            ctx.rel(&out.dvc_path),
            ctx.rel(&out.parent.join(".gitignore")),
        ],
        staged: false,
    })
}

/// Uploads `source` to the remote (files first, a folder's `.dir` last) and writes the `.dvc`
/// file for `out`; the cache and the workspace are left alone.
fn to_remote(
    ctx: &Ctx,
    config: &super::config::Config,
    opts: &AddOptions,
    source: &Path,
    out: &NewOut,
) -> Result<Added> {
    let remote = super::remote::open(config, opts.remote.as_deref())?;
    let hashed = workspace::hash_output(source, &ctx.state, None, ctx.progress)?
        .ok_or_else(|| Error::Missing(source.to_path_buf()))?;
    refuse_dvc_files_inside(source, &hashed)?;
    let files: Vec<(Oid, PathBuf)> = if hashed.manifest.is_none() {
        vec![(hashed.oid(), source.to_path_buf())]
    } else {
        hashed
            .files
            .iter()
            .map(|f| (Oid::new(f.md5.clone(), HashKind::Md5), f.abs.clone()))
            .collect()
    };
    let oids: Vec<Oid> = files.iter().map(|(o, _)| o.clone()).collect();
    let todo = remote.missing(&oids)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(16).max(1))
        .build()
        .map_err(|e| Error::Remote {
            remote: remote.name().to_string(),
            message: format!("cannot start upload threads: {e}"),
        })?;
    ctx.progress.begin("uploading", Some(todo.len() as u64));
    let result = pool.install(|| {
        files
            .par_iter()
            .filter(|(o, _)| todo.contains(o))
            .try_for_each(|(oid, path)| {
                let r = remote.put(path, oid);
                ctx.progress.advance(1);
                r
            })
    });
    ctx.progress.end();
    result?;
    if let Some(bytes) = &hashed.manifest {
        let oid = hashed.oid();
        if !remote.contains(&oid)? {
            let tmp_dir = ctx.repo.dvc_dir.join("tmp");
            std::fs::create_dir_all(&tmp_dir).map_err(Error::io("create folder", &tmp_dir))?;
            let tmp = tmp_dir.join(format!("{}.dir", oid.hex()));
            super::fsutil::write_atomic(&tmp, bytes)?;
            let put = remote.put(&tmp, &oid);
            let _ = std::fs::remove_file(&tmp);
            put?;
        }
    }
    dvcfile::write(&out.dvc_path, &out.name, &hashes_of(&hashed))?;
    Ok(Added {
        path: ctx.rel(&out.abs),
        dvc_file: ctx.rel(&out.dvc_path),
        changed: out.before.as_deref() != Some(hashed.md5.as_str()),
        md5: hashed.md5,
        size: hashed.size,
        nfiles: hashed.nfiles,
        git_add: vec![ctx.rel(&out.dvc_path)],
        staged: false,
    })
}

/// Expands a shell-style pattern (`*`, `?`, `[…]`, `**` for any depth) relative to `cwd` as
/// Python's `glob(recursive=True)` does for `dvc add --glob`: names starting with `.` match
/// only a pattern part starting with `.`. The matches are sorted.
pub fn glob(cwd: &Path, pattern: &str) -> Vec<PathBuf> {
    let absolute = pattern.starts_with('/');
    let mut found: Vec<PathBuf> = vec![if absolute {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for base in &found {
            let dir = cwd.join(base);
            if *part == "**" {
                next.push(base.clone());
                for sub in walk_dirs(&dir) {
                    next.push(base.join(sub));
                }
                if last {
                    // `**` at the end also matches the files in those folders.
                    for d in next.clone() {
                        for n in list(&cwd.join(&d), false) {
                            let p = d.join(&n);
                            if !cwd.join(&p).is_dir() {
                                next.push(p);
                            }
                        }
                    }
                }
            } else if !part.contains(['*', '?', '[']) {
                let p = base.join(part);
                if std::fs::symlink_metadata(cwd.join(&p)).is_ok() {
                    next.push(p);
                }
            } else {
                for n in list(&dir, part.starts_with('.')) {
                    if fnmatch(part, &n) {
                        next.push(base.join(n));
                    }
                }
            }
        }
        found = next;
    }
    let mut out: Vec<PathBuf> = found
        .into_iter()
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The names in `dir`; hidden ones only with `hidden`.
fn list(dir: &Path, hidden: bool) -> Vec<String> {
    std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .into_iter()
    .flatten()
    .flatten()
    .map(|e| e.file_name().to_string_lossy().into_owned())
    .filter(|n| hidden || !n.starts_with('.'))
    .collect()
}

/// Every folder below `dir` (not hidden), relative to it.
fn walk_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for n in list(dir, false) {
        let p = dir.join(&n);
        if p.is_dir() {
            out.push(PathBuf::from(&n));
            out.extend(walk_dirs(&p).into_iter().map(|s| Path::new(&n).join(s)));
        }
    }
    out
}

/// Python's `fnmatch`: `*`, `?`, `[seq]`, `[!seq]` over one name.
fn fnmatch(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|k| go(&p[1..], &n[k..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('[') => {
                let Some(close) = p.iter().skip(2).position(|c| *c == ']').map(|i| i + 2) else {
                    return n.first() == Some(&'[') && go(&p[1..], &n[1..]);
                };
                let Some(c) = n.first() else { return false };
                let set = &p[1..close];
                let (negate, set) = match set.first() {
                    Some('!') => (true, &set[1..]),
                    _ => (false, set),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= *c && *c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == *c;
                        i += 1;
                    }
                }
                hit != negate && go(&p[close + 1..], &n[1..])
            }
            Some(ch) => n.first() == Some(ch) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

/// With `cache.type` hardlink or symlink first, replace workspace files by links to the cache
/// (as DVC does after add); with reflink/copy the workspace copy stays as it is.
pub fn relink(cache: &Odb, hashed: &Hashed, abs: &Path, links: &[LinkType]) -> Result<()> {
    if !matches!(links.first(), Some(LinkType::Hardlink | LinkType::Symlink)) {
        return Ok(());
    }
    if hashed.manifest.is_none() {
        return cache
            .checkout_file(&hashed.oid(), abs, links, hashed.isexec)
            .map(drop);
    }
    for f in &hashed.files {
        let oid = Oid::new(f.md5.clone(), HashKind::Md5);
        cache.checkout_file(&oid, &f.abs, links, false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_follows_python() {
        assert!(fnmatch("*.csv", "a.csv"));
        assert!(!fnmatch("*.csv", "a.csvx"));
        assert!(fnmatch("[ab]?.t*", "b1.txt"));
        assert!(!fnmatch("[!ab]*", "abc"));
        assert!(fnmatch("[a-c]x", "bx"));
    }

    #[test]
    fn glob_skips_hidden_names_and_recurses_with_double_star() {
        let dir = tempfile::tempdir().unwrap();
        for p in ["g/a.csv", "g/b.csv", "g/c.txt", "g/.h.csv", "g/s/d.csv"] {
            let p = dir.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let rel = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter().map(|p| p.to_string_lossy().into_owned()).collect()
        };
        assert_eq!(rel(glob(dir.path(), "g/*.csv")), ["g/a.csv", "g/b.csv"]);
        assert_eq!(
            rel(glob(dir.path(), "g/**/*.csv")),
            ["g/a.csv", "g/b.csv", "g/s/d.csv"]
        );
        assert!(glob(dir.path(), "g/*.none").is_empty());
    }
}
