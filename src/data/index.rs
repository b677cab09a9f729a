//! Which outputs a command works on: every `.dvc` file of the repository (found by walking it as
//! DVC does), or the ones named by targets — a `.dvc` file, an output path, a folder holding
//! `.dvc` files, or a path inside a tracked folder (the granular operations of DVC) — and the
//! outputs the `.dvc` files of other git revisions record (`--all-branches`, `--all-tags`,
//! `--all-commits`). The verbs that move and compare data (`status`, `push`, `pull`, `fetch`,
//! `checkout`, `diff`, `gc`) also see the outputs of pipeline stages (`dvc.yaml` + `dvc.lock`),
//! named as DVC names them: `dvc.yaml`, `dvc.yaml:stage`, `stage`, or an output's path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::dvcfile::{DvcFile, Out};
use super::fsutil::normalize;
use super::hash::HashKind;
use super::paths::Inside;
use super::pipeline_lock::{self, LOCK_FILE, PROJECT_FILE, Stage};
use super::repo::Repo;
use super::workspace;
use super::{Error, Result};

/// One output of one `.dvc` file or pipeline stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    /// The `.dvc` file, or the `dvc.yaml` of a stage's output (absolute).
    pub dvc_path: PathBuf,
    pub out: Out,
    /// The output's absolute path.
    pub path: PathBuf,
    /// For a target inside a tracked folder: the part of the folder it names (`/`-separated,
    /// relative to the output), so that only those files are transferred or checked out.
    pub only: Option<String>,
    /// The stage whose output this is (its name in `dvc_path`); `None` for a `.dvc` file's.
    pub stage: Option<String>,
}

impl Tracked {
    /// What DVC calls the file or stage this output belongs to, seen from `cwd`: the `.dvc`
    /// file's path, or for a stage `dvc.yaml:name` (just `name` for the `dvc.yaml` in `cwd`).
    pub fn addressing(&self, cwd: &Path) -> String {
        addressing(&self.dvc_path, self.stage.as_deref(), cwd)
    }

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
    /// The stages of the `dvc.yaml` files, with what their `dvc.lock` recorded.
    pub stages: Vec<Stage>,
}

impl Found {
    /// Every output: the `.dvc` files' and, with `stages`, the pipeline stages'.
    fn outputs(&self, stages: bool) -> Vec<Tracked> {
        let mut all: Vec<Tracked> = self.dvc.iter().flat_map(outs_of).collect();
        if stages {
            all.extend(self.stages.iter().flat_map(stage_outs));
        }
        all
    }
}

/// Walks the repository as DVC's `collect_files` does: `.dvcignore` rules (and `.git`, `.hg`,
/// `.dvc` folders, and DVC repositories nested inside) are skipped, and so are `.dvc` files and
/// folders git ignores (`.gitignore` files from the git work tree's top down,
/// `.git/info/exclude`, the global excludes file — git's own rules, so a tracking store's copy
/// of a `.dvc` file under a git-ignored `mlruns/` is not an output), and folders that are the
/// outputs of the `.dvc` files and stages met before them. Each `.dvc` file and `dvc.yaml` is
/// parsed as it is met, and every output path it names is checked to stay inside the
/// repository.
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
            let is_lock = name == LOCK_FILE;
            let is_project = name == PROJECT_FILE;
            if !(is_dvc || is_lock || is_project)
                || workspace::ignored(&dvc_rules, &path, false)
                || workspace::ignored(&git_rules, &path, false)
            {
                continue;
            }
            if is_lock {
                self.found.locks.push(path);
                continue;
            }
            if is_project {
                let stages = pipeline_lock::load(&path, self.inside)?;
                for stage in &stages {
                    self.outs
                        .extend(stage.outs.iter().map(|o| stage.out_path(o)));
                }
                self.found.stages.extend(stages);
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
            stage: None,
        })
        .collect()
}

fn stage_outs(stage: &Stage) -> Vec<Tracked> {
    stage
        .outs
        .iter()
        .map(|out| Tracked {
            dvc_path: stage.dvc_yaml.clone(),
            path: stage.out_path(out),
            out: out.clone(),
            only: None,
            stage: Some(stage.name.clone()),
        })
        .collect()
}

/// The outputs of `.dvc` files named by `targets` (relative to `cwd`), or all of them when
/// there are none: what the verbs that edit `.dvc` files (`add`, `commit`, `move`) work on.
pub fn collect(repo: &Repo, targets: &[PathBuf], cwd: &Path) -> Result<Vec<Tracked>> {
    collect_in(repo, targets, cwd, false).map(|(picked, _)| picked)
}

/// The outputs of `.dvc` files and pipeline stages named by `targets` (relative to `cwd`), or
/// all of them when there are none: what `status`, `push`, `pull`, `fetch`, `checkout`, `diff`
/// and `gc` work on. Besides what [`collect`] accepts, a target can be a `dvc.yaml` (all its
/// stages), `dvc.yaml:stage` (`:stage` for the `dvc.yaml` in `cwd`), or a stage name of the
/// `dvc.yaml` in `cwd` (preferred over an output of the same name, as DVC prefers it); a
/// `foreach` stage's name stands for every stage it generates.
pub fn collect_outputs(repo: &Repo, targets: &[PathBuf], cwd: &Path) -> Result<Vec<Tracked>> {
    collect_in(repo, targets, cwd, true).map(|(picked, _)| picked)
}

/// [`collect_outputs`], and the stages the picked outputs belong to (in the walk's order), for
/// what `status` says of a stage besides its outputs.
pub fn collect_with_stages(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
) -> Result<(Vec<Tracked>, Vec<Stage>)> {
    let (picked, found) = collect_in(repo, targets, cwd, true)?;
    let stages = found
        .map(|f| {
            f.stages
                .into_iter()
                .filter(|s| {
                    picked.iter().any(|t| {
                        t.stage.as_deref() == Some(s.name.as_str()) && t.dvc_path == s.dvc_yaml
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((picked, stages))
}

/// How a target names stages, DVC's `parse_target`: `file:name` (the name holds no `/` or
/// `:`), a bare `dvc.yaml`, or a bare name that may be a stage of the `dvc.yaml` in `cwd`.
enum StageTarget {
    /// `file:name`: that stage (or group) of that file, which must exist.
    Named(PathBuf, String),
    /// A `dvc.yaml` path: all its stages.
    File(PathBuf),
    /// A bare word: a stage of `cwd/dvc.yaml` if there is one, else a path.
    Maybe(PathBuf, String),
    /// Not a stage target.
    None,
}

fn stage_target(target: &Path, cwd: &Path) -> StageTarget {
    let text = target.to_string_lossy();
    if let Some((file, name)) = text.rsplit_once(':')
        && !name.contains('/')
        && !name.contains('\\')
    {
        let file = if file.is_empty() { PROJECT_FILE } else { file };
        return StageTarget::Named(normalize(&cwd.join(file)), name.to_string());
    }
    let base = target.file_name().map(|n| n.to_string_lossy().into_owned());
    match base.as_deref() {
        Some(PROJECT_FILE) => StageTarget::File(normalize(&cwd.join(target))),
        Some(_) if !text.contains('/') && !text.ends_with(".dvc") => {
            StageTarget::Maybe(normalize(&cwd.join(PROJECT_FILE)), text.into_owned())
        }
        _ => StageTarget::None,
    }
}

/// The stages of `file` named `name` (a `foreach` group's name names every stage of it).
fn stages_named<'a>(found: &'a Found, file: &Path, name: &str) -> Vec<&'a Stage> {
    found
        .stages
        .iter()
        .filter(|s| {
            s.dvc_yaml == file
                && (s.name == name
                    || (!name.contains('@')
                        && s.name
                            .strip_prefix(name)
                            .is_some_and(|r| r.starts_with('@'))))
        })
        .collect()
}

fn collect_in(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    stages: bool,
) -> Result<(Vec<Tracked>, Option<Found>)> {
    if targets.is_empty() {
        let found = walk(repo)?;
        return Ok((found.outputs(stages), Some(found)));
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
        if stages {
            let named = stage_target(target, cwd);
            if matches!(named, StageTarget::None) {
                // Neither a stage nor a `dvc.yaml`: an output or a `.dvc` file, below.
            } else {
                let walked = match &found {
                    Some(f) => f,
                    None => found.insert(walk(repo)?),
                };
                match named {
                    StageTarget::Named(file, name) => {
                        if file.file_name().is_some_and(|n| n == LOCK_FILE) {
                            return Err(Error::NotAPipelineFile {
                                path: relative_shown(repo, &file),
                                meant: target.to_string_lossy().replacen(".lock", ".yaml", 1),
                            });
                        }
                        let hits = stages_named(walked, &file, &name);
                        if hits.is_empty() {
                            return Err(Error::NoSuchStage {
                                file: relative_shown(repo, &file),
                                name,
                            });
                        }
                        picked.extend(hits.into_iter().flat_map(stage_outs));
                        continue;
                    }
                    StageTarget::File(file) => {
                        let hits: Vec<&Stage> = walked
                            .stages
                            .iter()
                            .filter(|s| s.dvc_yaml == file)
                            .collect();
                        if !hits.is_empty() || file.is_file() {
                            picked.extend(hits.into_iter().flat_map(stage_outs));
                            continue;
                        }
                    }
                    StageTarget::Maybe(file, name) => {
                        let hits = stages_named(walked, &file, &name);
                        if !hits.is_empty() {
                            picked.extend(hits.into_iter().flat_map(stage_outs));
                            continue;
                        }
                    }
                    StageTarget::None => {}
                }
            }
            if abs.file_name().is_some_and(|n| n == LOCK_FILE) {
                return Err(Error::NotAPipelineFile {
                    path: relative_shown(repo, &abs),
                    meant: target.to_string_lossy().replacen(".lock", ".yaml", 1),
                });
            }
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
            if stages {
                for s in walked
                    .stages
                    .iter()
                    .filter(|s| s.dvc_yaml.starts_with(&abs))
                {
                    picked.extend(stage_outs(s));
                    any = true;
                }
            }
            if any {
                continue;
            }
        }
        let all = everything.get_or_insert_with(|| walked.outputs(stages));
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
    Ok((picked, found))
}

/// `path` relative to the repository root, for messages.
fn relative_shown(repo: &Repo, path: &Path) -> PathBuf {
    super::fsutil::relative_to(path, &repo.root)
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
        for t in stage_outs_at(repo, &commit)? {
            let key = (t.out.md5.clone().unwrap_or_default(), t.out.path.clone());
            if seen.insert(key) {
                found.push(t);
            }
        }
    }
    Ok(found)
}

/// The outputs of the pipeline stages of a commit (its `dvc.yaml` files and the `dvc.lock`
/// beside each), read through git. A pipeline file the commit got wrong is skipped, as DVC
/// skips what it cannot collect at a revision; a path leading outside the repository is an
/// error, as in the workspace.
pub fn stage_outs_at(repo: &Repo, commit: &str) -> Result<Vec<Tracked>> {
    let inside = Inside::new(&repo.root);
    let paths = crate::git::ls_tree(&repo.root, commit)?;
    let mut found = Vec::new();
    for path in &paths {
        let is_project = Path::new(path)
            .file_name()
            .is_some_and(|n| n == PROJECT_FILE);
        if !is_project {
            continue;
        }
        let text = crate::git::show(&repo.root, commit, &format!("./{path}"))?;
        let lock_rel = match path.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{LOCK_FILE}"),
            None => LOCK_FILE.to_string(),
        };
        let lock = if paths.contains(&lock_rel) {
            Some(crate::git::show(
                &repo.root,
                commit,
                &format!("./{lock_rel}"),
            )?)
        } else {
            None
        };
        let abs = repo.root.join(path);
        match pipeline_lock::parse(&text, lock.as_deref(), &abs, &inside) {
            Ok(stages) => found.extend(stages.iter().flat_map(stage_outs)),
            Err(Error::UnsafePath { file, path: p, why }) => {
                return Err(Error::UnsafePath {
                    file: PathBuf::from(format!(
                        "{}@{}",
                        file.display(),
                        &commit[..commit.len().min(7)]
                    )),
                    path: p,
                    why,
                });
            }
            Err(_) => continue,
        }
    }
    Ok(found)
}

/// A `.dvc` file (`stage` `None`) or a stage of a `dvc.yaml` as DVC names it to someone in
/// `cwd`: the file's path, or `dvc.yaml:name` (just `name` for the `dvc.yaml` in `cwd`).
pub fn addressing(file: &Path, stage: Option<&str>, cwd: &Path) -> String {
    let shown = shown_from(file, cwd);
    match stage {
        None => shown,
        Some(name) if shown == PROJECT_FILE => name.to_string(),
        Some(name) => format!("{shown}:{name}"),
    }
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
