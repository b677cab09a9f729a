//! Which outputs a command works on: every `.dvc` file of the repository (found by walking it as
//! DVC does), or the ones named by targets — a `.dvc` file, an output path, a folder holding
//! `.dvc` files, or a path inside a tracked folder (the granular operations of DVC) — and the
//! outputs the `.dvc` files of other git revisions record (`--all-branches`, `--all-tags`,
//! `--all-commits`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::dvcfile::{DvcFile, Out};
use super::fsutil::normalize;
use super::hash::HashKind;
use super::paths::Inside;
use super::repo::Repo;
use super::workspace;
use super::{Error, Result};

/// One output of one `.dvc` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    /// The `.dvc` file (absolute).
    pub dvc_path: PathBuf,
    pub out: Out,
    /// The output's absolute path.
    pub path: PathBuf,
    /// For a target inside a tracked folder: the part of the folder it names (`/`-separated,
    /// relative to the output), so that only those files are transferred or checked out.
    pub only: Option<String>,
}

impl Tracked {
    /// The output path relative to the repository root, `/`-separated (DVC's display form).
    pub fn display(&self, repo: &Repo) -> String {
        self.path
            .strip_prefix(&repo.root)
            .unwrap_or(&self.path)
            .to_string_lossy()
            .into_owned()
    }

    /// Whether a folder member (`relpath` inside the output) is part of what this names.
    pub fn covers(&self, relpath: &str) -> bool {
        match &self.only {
            None => true,
            Some(only) => {
                relpath == only
                    || relpath
                        .strip_prefix(only.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }

    /// The `.dvc` file relative to the repository root.
    pub fn dvc_display(&self, repo: &Repo) -> String {
        self.dvc_path
            .strip_prefix(&repo.root)
            .unwrap_or(&self.dvc_path)
            .to_string_lossy()
            .into_owned()
    }
}

/// Every `.dvc` file of the repository that DVC collects, in the order [`walk`] meets them.
pub fn dvc_files(repo: &Repo) -> Result<Vec<PathBuf>> {
    Ok(walk(repo)?.dvc.into_iter().map(|f| f.path).collect())
}

/// Every `dvc.lock` (the recorded outputs of pipelines) of the repository, found by the same
/// walk as the `.dvc` files.
pub fn lock_files(repo: &Repo) -> Result<Vec<PathBuf>> {
    Ok(walk(repo)?.locks)
}

/// What one walk of the repository found.
#[derive(Debug, Default)]
pub struct Found {
    /// The `.dvc` files, parsed, their outputs checked to stay inside the repository.
    pub dvc: Vec<DvcFile>,
    /// The `dvc.lock` files.
    pub locks: Vec<PathBuf>,
}

/// Walks the repository as DVC's `collect_files` does: `.dvcignore` rules (and `.git`, `.hg`,
/// `.dvc` folders, and DVC repositories nested inside) are skipped, and so are `.dvc` files and
/// folders git ignores (`.gitignore` files from the git work tree's top down,
/// `.git/info/exclude`, the global excludes file — git's own rules, so a tracking store's copy
/// of a `.dvc` file under a git-ignored `mlruns/` is not an output), and folders that are the
/// outputs of the `.dvc` files met before them. Each `.dvc` file is parsed as it is met, and
/// every output path it names is checked to stay inside the repository.
pub fn walk(repo: &Repo) -> Result<Found> {
    let inside = Inside::new(&repo.root);
    let git = GitIgnores::above(&repo.root);
    let mut walk = Walk {
        repo,
        inside: &inside,
        git_on: git.is_some(),
        outs: HashSet::new(),
        found: Found::default(),
    };
    let git_rules = Arc::new(git.map(|g| g.rules).unwrap_or_default());
    walk.visit(&repo.root, &Arc::new(Vec::new()), &git_rules)?;
    Ok(walk.found)
}

/// The state of one walk: the outputs met so far, and what was found.
struct Walk<'a> {
    repo: &'a Repo,
    inside: &'a Inside,
    /// Whether the repository is in a git work tree (DVC applies no git rules otherwise).
    git_on: bool,
    outs: HashSet<PathBuf>,
    found: Found,
}

impl Walk<'_> {
    fn visit(&mut self, dir: &Path, dvc_rules: &Rules, git_rules: &Rules) -> Result<()> {
        let mut files: Vec<std::ffi::OsString> = Vec::new();
        let mut folders: Vec<std::ffi::OsString> = Vec::new();
        let (mut has_dvcignore, mut has_gitignore) = (false, false);
        for entry in std::fs::read_dir(dir).map_err(Error::io("read folder", dir))? {
            let entry = entry.map_err(Error::io("read folder", dir))?;
            let name = entry.file_name();
            let ft = entry.file_type().map_err(Error::io("stat", entry.path()))?;
            if name == ".git" {
                continue;
            }
            if ft.is_dir() {
                if name == ".dvc" && dir != self.repo.root {
                    // Another DVC repository inside this one: DVC leaves it to itself.
                    return Ok(());
                }
                if !workspace::ALWAYS_IGNORED.iter().any(|n| name == *n) {
                    folders.push(name);
                }
            } else if ft.is_file() {
                has_dvcignore |= name == ".dvcignore";
                has_gitignore |= name == ".gitignore";
                files.push(name);
            }
        }
        let dvc_rules = if has_dvcignore {
            let mut more = dvc_rules.as_ref().clone();
            more.extend(workspace::dvcignore_in(dir)?);
            Arc::new(more)
        } else {
            dvc_rules.clone()
        };
        let git_rules = if has_gitignore && self.git_on {
            let mut more = git_rules.as_ref().clone();
            more.extend(gitignore_in(&dir.join(".gitignore"), dir));
            Arc::new(more)
        } else {
            git_rules.clone()
        };
        files.sort_unstable();
        folders.sort_unstable();
        for name in files {
            let path = dir.join(&name);
            let is_dvc = Path::new(&name).extension().is_some_and(|x| x == "dvc");
            let is_lock = name == "dvc.lock";
            if !(is_dvc || is_lock)
                || workspace::ignored(&dvc_rules, &path, false)
                || workspace::ignored(&git_rules, &path, false)
            {
                continue;
            }
            if is_lock {
                self.found.locks.push(path);
                continue;
            }
            let file = load_checked(self.inside, &path)?;
            self.outs.extend(file.outs.iter().map(|o| file.out_path(o)));
            self.found.dvc.push(file);
        }
        for name in folders {
            let path = dir.join(&name);
            if workspace::ignored(&dvc_rules, &path, true)
                || self.outs.contains(&path)
                || workspace::ignored(&git_rules, &path, true)
            {
                continue;
            }
            self.visit(&path, &dvc_rules, &git_rules)?;
        }
        Ok(())
    }
}

/// Ignore matchers in force in a folder, shallowest (lowest precedence) first.
type Rules = Arc<Vec<ignore::gitignore::Gitignore>>;

/// The git rules that apply above the repository's own folders.
struct GitIgnores {
    rules: Vec<ignore::gitignore::Gitignore>,
}

impl GitIgnores {
    /// Finds the git work tree holding `root` (the nearest folder with a `.git`), and reads
    /// the global excludes file, `info/exclude` and the `.gitignore` files from the work
    /// tree's top down to `root`'s parent, in git's order of precedence. `None` outside git.
    fn above(root: &Path) -> Option<GitIgnores> {
        let top = root.ancestors().find(|a| a.join(".git").exists())?;
        let mut rules = Vec::new();
        if let Some(global) = ignore::gitignore::gitconfig_excludes_path() {
            rules.extend(gitignore_in(&global, top));
        }
        if let Some(git_dir) = common_git_dir(&top.join(".git")) {
            rules.extend(gitignore_in(&git_dir.join("info").join("exclude"), top));
        }
        let mut between: Vec<&Path> = root
            .ancestors()
            .skip(1)
            .take_while(|a| a.starts_with(top))
            .collect();
        between.reverse();
        for folder in between {
            rules.extend(gitignore_in(&folder.join(".gitignore"), folder));
        }
        Some(GitIgnores { rules })
    }
}

/// The git folder whose `info/exclude` applies: `.git` itself, or for a linked work tree or a
/// submodule (a `.git` file saying `gitdir: …`), that folder's common folder.
fn common_git_dir(dot_git: &Path) -> Option<PathBuf> {
    if dot_git.is_dir() {
        return Some(dot_git.to_path_buf());
    }
    let text = std::fs::read_to_string(dot_git).ok()?;
    let git_dir = Path::new(text.strip_prefix("gitdir:")?.trim());
    let git_dir = dot_git.parent()?.join(git_dir);
    match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(common) => Some(normalize(&git_dir.join(common.trim()))),
        Err(_) => Some(git_dir),
    }
}

/// The rules of one gitignore-style file, anchored at `folder`. Like git, lines that are not
/// valid patterns are skipped, and a missing or unreadable file has no rules.
fn gitignore_in(file: &Path, folder: &Path) -> Option<ignore::gitignore::Gitignore> {
    if !file.is_file() {
        return None;
    }
    let mut builder = ignore::gitignore::GitignoreBuilder::new(folder);
    let _ = builder.add(file);
    builder.build().ok().filter(|g| !g.is_empty())
}

/// Reads a `.dvc` file and checks that each output stays inside the repository.
fn load_checked(inside: &Inside, path: &Path) -> Result<DvcFile> {
    let file = DvcFile::load(path)?;
    for out in &file.outs {
        inside
            .resolve(file.dir(), Path::new(&out.path))
            .map_err(|why| Error::UnsafePath {
                file: inside.shown(path),
                path: out.path.clone(),
                why,
            })?;
    }
    Ok(file)
}

fn outs_of(file: &DvcFile) -> Vec<Tracked> {
    file.outs
        .iter()
        .map(|out| Tracked {
            dvc_path: file.path.clone(),
            path: file.out_path(out),
            out: out.clone(),
            only: None,
        })
        .collect()
}

/// The outputs named by `targets` (relative to `cwd`), or all outputs when there are none.
pub fn collect(repo: &Repo, targets: &[PathBuf], cwd: &Path) -> Result<Vec<Tracked>> {
    if targets.is_empty() {
        return Ok(walk(repo)?.dvc.iter().flat_map(outs_of).collect());
    }
    let mut picked: Vec<Tracked> = Vec::new();
    // One walk of the repository serves every target that needs it.
    let mut found: Option<Found> = None;
    let mut everything: Option<Vec<Tracked>> = None;
    let inside = Inside::new(&repo.root);
    for target in targets {
        let abs = normalize(&cwd.join(target));
        if !abs.starts_with(&repo.root) {
            return Err(Error::OutsideRepo {
                path: abs,
                root: repo.root.clone(),
            });
        }
        let as_dvc = if abs.extension().is_some_and(|x| x == "dvc") {
            abs.clone()
        } else {
            let mut p = abs.clone().into_os_string();
            p.push(".dvc");
            PathBuf::from(p)
        };
        if as_dvc.is_file() {
            picked.extend(outs_of(&load_checked(&inside, &as_dvc)?));
            continue;
        }
        let walked = match &found {
            Some(f) => f,
            None => found.insert(walk(repo)?),
        };
        if abs.is_dir() {
            // The repository's `.dvc` files (so that the ignore rules from the root down
            // apply) that are inside the folder.
            let mut any = false;
            for f in walked.dvc.iter().filter(|f| f.path.starts_with(&abs)) {
                picked.extend(outs_of(f));
                any = true;
            }
            if any {
                continue;
            }
        }
        let all = everything.get_or_insert_with(|| walked.dvc.iter().flat_map(outs_of).collect());
        match all.iter().find(|t| t.path == abs) {
            Some(t) => picked.push(t.clone()),
            None => {
                // A path inside a tracked folder: the granular part of that output.
                let owner = all.iter().find(|t| abs.starts_with(&t.path));
                match owner {
                    Some(owner) if owner.out.is_dir() => {
                        let rel = abs.strip_prefix(&owner.path).unwrap_or(&abs);
                        let mut part = owner.clone();
                        part.only = Some(rel.to_string_lossy().into_owned());
                        picked.push(part);
                    }
                    Some(owner) => {
                        return Err(Error::AlreadyTracked {
                            path: abs,
                            by: owner.dvc_path.clone(),
                        });
                    }
                    None => return Err(Error::NotTracked(abs)),
                }
            }
        }
    }
    dedup(&mut picked);
    Ok(picked)
}

/// Drops repeated outputs (the same output named twice, or a part of an output also named
/// whole), keeping the first mention's place.
pub fn dedup(picked: &mut Vec<Tracked>) {
    let whole: HashSet<(PathBuf, String)> = picked
        .iter()
        .filter(|t| t.only.is_none())
        .map(|t| (t.dvc_path.clone(), t.out.path.clone()))
        .collect();
    let mut seen: HashSet<(PathBuf, String, Option<String>)> = HashSet::new();
    picked.retain(|t| {
        let key = (t.dvc_path.clone(), t.out.path.clone());
        if t.only.is_some() && whole.contains(&key) {
            return false;
        }
        seen.insert((key.0, key.1, t.only.clone()))
    });
}

/// Drops outputs whose objects an earlier output already names with the same remote and
/// `push` flag (the same data recorded at several revisions), keeping the first. For
/// transfers only: checkout needs every path.
pub fn dedup_objects(outs: &mut Vec<Tracked>) {
    type Key = (
        Option<String>,
        Option<String>,
        HashKind,
        Option<String>,
        bool,
    );
    let mut seen: HashSet<Key> = HashSet::new();
    outs.retain(|t| {
        seen.insert((
            t.out.md5.clone(),
            t.only.clone(),
            t.out.hash,
            t.out.remote.clone(),
            t.out.push,
        ))
    });
}

/// Which git revisions besides the workspace a command reads `.dvc` files from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revisions {
    pub all_branches: bool,
    pub all_tags: bool,
    pub all_commits: bool,
}

impl Revisions {
    pub fn any(&self) -> bool {
        self.all_branches || self.all_tags || self.all_commits
    }
}

/// The outputs the `.dvc` files of the revisions record, read through git as `dvc` reads them
/// (the commits of every branch tip, tag or commit; each commit once). Their paths are where
/// the outputs would be in the workspace; only their objects matter. Every path they name is
/// checked to stay inside the repository, as for the workspace's own `.dvc` files.
pub fn at_revisions(repo: &Repo, revs: Revisions) -> Result<Vec<Tracked>> {
    if !revs.any() {
        return Ok(Vec::new());
    }
    let commits = crate::git::commits(
        &repo.root,
        revs.all_branches,
        revs.all_tags,
        revs.all_commits,
    )?;
    let inside = Inside::new(&repo.root);
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut found = Vec::new();
    for commit in commits {
        // `ls-tree` run at the repository's root lists the paths below it, relative to it.
        for path in crate::git::ls_tree(&repo.root, &commit)? {
            if !path.ends_with(".dvc") {
                continue;
            }
            let text = crate::git::show(&repo.root, &commit, &format!("./{path}"))?;
            let abs = repo.root.join(&path);
            // A `.dvc` file an old commit got wrong is skipped, as DVC skips what it cannot
            // collect at a revision.
            let Ok(file) = DvcFile::parse(&text, &abs) else {
                continue;
            };
            for out in &file.outs {
                inside
                    .resolve(file.dir(), Path::new(&out.path))
                    .map_err(|why| Error::UnsafePath {
                        file: PathBuf::from(format!("{}@{}", path, &commit[..commit.len().min(7)])),
                        path: out.path.clone(),
                        why,
                    })?;
            }
            for t in outs_of(&file) {
                let key = (t.out.md5.clone().unwrap_or_default(), t.out.path.clone());
                if seen.insert(key) {
                    found.push(t);
                }
            }
        }
    }
    Ok(found)
}

/// `path` as DVC shows it to someone in `cwd`: relative, with `..` where it is above.
pub fn shown_from(path: &Path, cwd: &Path) -> String {
    let path = normalize(path);
    let cwd = normalize(cwd);
    let mut base = cwd.as_path();
    let mut ups = 0;
    while !path.starts_with(base) {
        match base.parent() {
            Some(p) => {
                base = p;
                ups += 1;
            }
            None => return path.to_string_lossy().into_owned(),
        }
    }
    let mut out = PathBuf::new();
    for _ in 0..ups {
        out.push("..");
    }
    out.push(path.strip_prefix(base).unwrap_or(&path));
    if out.as_os_str().is_empty() {
        return ".".into();
    }
    out.to_string_lossy().into_owned()
}
