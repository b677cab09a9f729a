//! The workspace side of versioning: walking a tracked folder as DVC sees it (`.dvcignore`
//! applied, file symlinks followed, folder symlinks skipped), hashing files in parallel with the
//! state cache, and building the `.dir` manifest of a folder.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::hash::{self, HashKind};
use super::manifest::{self, Entry};
use super::odb::{Listing, Odb, Oid};
use super::state::{FileStat, State};
use super::{Error, Result};
use crate::progress::Progress;

/// One regular file of a tracked folder (or a tracked file itself, with `rel` empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsFile {
    /// `/`-separated path relative to the output.
    pub rel: String,
    pub abs: PathBuf,
    pub md5: String,
    pub size: u64,
}

/// The hashes of an output as it is in the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// File md5, or manifest md5 + `.dir`.
    pub md5: String,
    pub size: u64,
    /// For folders: the number of files.
    pub nfiles: Option<u64>,
    pub isexec: bool,
    /// For folders: every file, sorted as in the manifest.
    pub files: Vec<WsFile>,
    /// For folders: the manifest bytes.
    pub manifest: Option<Vec<u8>>,
}

impl Hashed {
    pub fn oid(&self) -> Oid {
        Oid::new(self.md5.clone(), HashKind::Md5)
    }
}

/// Folder names DVC never looks into.
pub(super) const ALWAYS_IGNORED: [&str; 3] = [".git", ".hg", ".dvc"];

/// The files of `dir` as DVC sees them: `(relpath, path, stat)` sorted by relpath.
///
/// Folders are read in parallel, and each file is stat-ed relative to its folder (one path
/// component to resolve, not the whole path). `.dvcignore` files apply from the repository root
/// (the nearest folder above with a `.dvc/`) down, deeper rules winning, as in git.
pub fn walk(dir: &Path) -> Result<Vec<(String, PathBuf, FileStat)>> {
    let mut rules = Vec::new();
    let ancestors: Vec<&Path> = dir.ancestors().skip(1).collect();
    if let Some(root) = ancestors.iter().position(|a| a.join(".dvc").is_dir()) {
        for folder in ancestors[..=root].iter().rev() {
            if let Some(m) = dvcignore_in(folder)? {
                rules.push(m);
            }
        }
    }
    let mut files = visit(dir, "", &std::sync::Arc::new(rules))?;
    files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// `.dvcignore` matchers in force in a folder, shallowest first.
type Rules = std::sync::Arc<Vec<ignore::gitignore::Gitignore>>;

/// The rules of `folder/.dvcignore`, if it has one.
pub(super) fn dvcignore_in(folder: &Path) -> Result<Option<ignore::gitignore::Gitignore>> {
    let file = folder.join(".dvcignore");
    if !file.is_file() {
        return Ok(None);
    }
    let mut builder = ignore::gitignore::GitignoreBuilder::new(folder);
    if let Some(e) = builder.add(&file) {
        return Err(Error::io("read", &file)(std::io::Error::other(
            e.to_string(),
        )));
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| Error::io("read", &file)(std::io::Error::other(e.to_string())))
}

/// Whether `rules` exclude `path` (the deepest rule that matches decides).
pub(super) fn ignored(rules: &[ignore::gitignore::Gitignore], path: &Path, is_dir: bool) -> bool {
    for m in rules.iter().rev() {
        match m.matched(path, is_dir) {
            ignore::Match::None => {}
            ignore::Match::Ignore(_) => return true,
            ignore::Match::Whitelist(_) => return false,
        }
    }
    false
}

/// The rule that excludes `path` (inside the repository at `root`), as DVC names it for an
/// explicit target: `.dvcignore:<line>:<pattern>` (the file relative to the root). A path is
/// excluded by a rule on itself or on any folder it is in, the deepest `.dvcignore` winning.
pub fn ignored_by(root: &Path, path: &Path, is_dir: bool) -> Result<Option<String>> {
    let Ok(rel) = path.strip_prefix(root) else {
        return Ok(None);
    };
    let mut rules = Vec::new();
    let mut here = root.to_path_buf();
    rules.extend(dvcignore_in(&here)?);
    let parts: Vec<_> = rel.components().collect();
    for (i, part) in parts.iter().enumerate() {
        here.push(part.as_os_str());
        let last = i + 1 == parts.len();
        if let Some(glob) = matched_rule(&rules, &here, if last { is_dir } else { true }) {
            return Ok(Some(describe_rule(root, &glob)));
        }
        if !last {
            rules.extend(dvcignore_in(&here)?);
        }
    }
    Ok(None)
}

/// The rule of `rules` that excludes `path`, if one does (the deepest that matches decides).
fn matched_rule(
    rules: &[ignore::gitignore::Gitignore],
    path: &Path,
    is_dir: bool,
) -> Option<ignore::gitignore::Glob> {
    for m in rules.iter().rev() {
        match m.matched(path, is_dir) {
            ignore::Match::None => {}
            ignore::Match::Ignore(g) => return Some(g.clone()),
            ignore::Match::Whitelist(_) => return None,
        }
    }
    None
}

/// `.dvcignore:4:*.tmp`: the file (relative to `root`), the line and the pattern of a rule.
fn describe_rule(root: &Path, glob: &ignore::gitignore::Glob) -> String {
    let pattern = glob.original();
    let Some(file) = glob.from() else {
        return pattern.to_string();
    };
    let line = std::fs::read_to_string(file)
        .ok()
        .and_then(|text| {
            text.lines()
                .enumerate()
                .filter(|(_, l)| l.trim_end() == pattern)
                .map(|(i, _)| i + 1)
                .last()
        })
        .map(|n| format!(":{n}"))
        .unwrap_or_default();
    let shown = file.strip_prefix(root).unwrap_or(file);
    format!("{}{line}:{pattern}", shown.display())
}

/// The first symlinked folder on the way from `root` down to `path` (`path` itself when it is
/// a symlink to a folder): DVC refuses to add anything through one.
pub fn symlinked_folder(root: &Path, path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix(root).ok()?;
    let mut here = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for (i, part) in parts.iter().enumerate() {
        here.push(part.as_os_str());
        let is_link = std::fs::symlink_metadata(&here).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            continue;
        }
        let last = i + 1 == parts.len();
        if !last || here.is_dir() {
            return Some(here);
        }
    }
    None
}

/// The files below `dir` (relpaths prefixed with `prefix`), unsorted.
fn visit(dir: &Path, prefix: &str, rules: &Rules) -> Result<Vec<(String, PathBuf, FileStat)>> {
    use std::ffi::OsString;
    let mut names: Vec<(OsString, bool)> = Vec::new();
    let mut folders: Vec<OsString> = Vec::new();
    let mut has_rules = false;
    for entry in std::fs::read_dir(dir).map_err(Error::io("read folder", dir))? {
        let entry = entry.map_err(Error::io("read folder", dir))?;
        let name = entry.file_name();
        let ft = entry.file_type().map_err(Error::io("stat", entry.path()))?;
        // DVC's default ignores: `.git` (a folder, or the file of a submodule or worktree),
        // `.hg/` and `.dvc/`.
        if name == ".git" || (ft.is_dir() && ALWAYS_IGNORED.iter().any(|n| name == *n)) {
            continue;
        }
        has_rules |= name == ".dvcignore";
        if ft.is_dir() {
            folders.push(name);
        } else if ft.is_file() || ft.is_symlink() {
            names.push((name, ft.is_symlink()));
        }
    }
    let rules = if has_rules {
        let mut more = rules.as_ref().clone();
        more.extend(dvcignore_in(dir)?);
        std::sync::Arc::new(more)
    } else {
        rules.clone()
    };
    if !rules.is_empty() {
        names.retain(|(n, _)| !ignored(&rules, &dir.join(n), false));
        folders.retain(|n| !ignored(&rules, &dir.join(n), true));
    }
    use rustix::fs::{AtFlags, Mode, OFlags};
    // A folder opened only to stat its entries needs no read permission on Linux (`O_PATH`).
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    const DIR_FLAGS: OFlags = OFlags::PATH;
    #[cfg(not(all(target_os = "linux", not(feature = "portable"))))]
    const DIR_FLAGS: OFlags = OFlags::RDONLY;
    let fd = if names.is_empty() {
        None
    } else {
        Some(
            rustix::fs::open(
                dir,
                DIR_FLAGS | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| Error::io("open", dir)(e.into()))?,
        )
    };
    let stat_all = |batch: &[(OsString, bool)]| -> Result<Vec<(String, PathBuf, FileStat)>> {
        let Some(fd) = fd.as_ref() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(batch.len());
        for (name, is_link) in batch {
            let st = match rustix::fs::statat(fd, name.as_os_str(), AtFlags::empty()) {
                Ok(st) => st,
                Err(_) if *is_link => return Err(Error::BrokenSymlink(dir.join(name))),
                Err(e) => return Err(Error::io("stat", dir.join(name))(e.into())),
            };
            if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile
            {
                continue;
            }
            let rel = format!("{prefix}{}", name.to_string_lossy());
            out.push((rel, dir.join(name), FileStat::from(&st)));
        }
        Ok(out)
    };
    /// Files stat-ed per task.
    const BATCH: usize = 512;
    let mut out = if names.len() > BATCH {
        names
            .par_chunks(BATCH)
            .map(stat_all)
            .collect::<Result<Vec<_>>>()?
            .concat()
    } else {
        stat_all(&names)?
    };
    // The folder's descriptor is closed before going deeper.
    drop(fd);
    let nested = folders
        .par_iter()
        .map(|n| {
            let sub = format!("{prefix}{}/", n.to_string_lossy());
            visit(&dir.join(n), &sub, &rules)
        })
        .collect::<Result<Vec<_>>>()?;
    for n in nested {
        out.extend(n);
    }
    Ok(out)
}

/// The md5 of one file, from the state cache when it is unchanged.
pub fn file_md5(
    path: &Path,
    meta: &FileStat,
    state: &State,
    progress: &dyn Progress,
) -> Result<String> {
    if let Some(md5) = state.get(path, meta) {
        progress.advance(meta.size);
        return Ok(md5);
    }
    let md5 = hash::md5_file(path, HashKind::Md5, &|n| progress.advance(n))?;
    state.set(path, meta, &md5);
    Ok(md5)
}

/// Hashes the file or folder at `path`; `None` when it does not exist. With `store`, every file
/// is also copied into that object store (hashing and copying in one read).
pub fn hash_output(
    path: &Path,
    state: &State,
    store: Option<&Odb>,
    progress: &dyn Progress,
) -> Result<Option<Hashed>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(Error::BrokenSymlink(path.to_path_buf()));
            }
            return Ok(None);
        }
        Err(e) => return Err(Error::io("stat", path)(e)),
    };
    if meta.is_file() {
        let listing = store.map(Odb::unlisted);
        let store = store.zip(listing.as_ref());
        let stat = FileStat::from(&meta);
        progress.begin("hashing", Some(meta.len()));
        let md5 = hash_one(path, &stat, state, store, progress)?;
        progress.end();
        return Ok(Some(Hashed {
            md5,
            size: meta.len(),
            nfiles: None,
            isexec: stat.is_exec(),
            files: Vec::new(),
            manifest: None,
        }));
    }
    let listed = walk(path)?;
    // Many files to look up: the store is listed once; a few: asked for each.
    let listing = store.map(|odb| odb.known_for(listed.len()));
    let store = store.zip(listing.as_ref());
    if store.is_some()
        && let Some((_, p, _)) = listed
            .iter()
            .find(|(rel, _, _)| rel.rsplit('/').next() == Some(".dvcignore"))
    {
        // DVC refuses this too: the ignore rules would travel inside the data.
        return Err(Error::DvcignoreInOutput(p.clone()));
    }
    let total: u64 = listed.iter().map(|(_, _, m)| m.size).sum();
    progress.begin("hashing", Some(total));
    let files: Vec<WsFile> = listed
        .into_par_iter()
        .map(|(rel, abs, meta)| {
            let md5 = hash_one(&abs, &meta, state, store, progress)?;
            Ok(WsFile {
                rel,
                abs,
                md5,
                size: meta.size,
            })
        })
        .collect::<Result<_>>()?;
    progress.end();
    Ok(Some(folder(files)))
}

fn hash_one(
    path: &Path,
    meta: &FileStat,
    state: &State,
    store: Option<(&Odb, &Listing)>,
    progress: &dyn Progress,
) -> Result<String> {
    let Some((odb, known)) = store else {
        return file_md5(path, meta, state, progress);
    };
    if let Some(md5) = state.get(path, meta)
        && known.has(&Oid::new(md5.clone(), HashKind::Md5))
    {
        progress.advance(meta.size);
        return Ok(md5);
    }
    let (oid, n) = odb.ingest(path, meta.size, known)?;
    progress.advance(n);
    state.set(path, meta, &oid.md5);
    Ok(oid.md5)
}

/// Hashes an output the DVC 2 way (`md5-dos2unix`), for legacy `.dvc` files. No state cache:
/// the state remembers raw md5s only.
pub fn hash_output_legacy(path: &Path) -> Result<Option<Hashed>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("stat", path)(e)),
    };
    if meta.is_file() {
        let md5 = hash::md5_file(path, HashKind::Md5Dos2Unix, &|_| {})?;
        return Ok(Some(Hashed {
            md5,
            size: meta.len(),
            nfiles: None,
            isexec: FileStat::from(&meta).is_exec(),
            files: Vec::new(),
            manifest: None,
        }));
    }
    let files: Vec<WsFile> = walk(path)?
        .into_par_iter()
        .map(|(rel, abs, meta)| {
            let md5 = hash::md5_file(&abs, HashKind::Md5Dos2Unix, &|_| {})?;
            Ok(WsFile {
                rel,
                abs,
                md5,
                size: meta.size,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Some(folder(files)))
}

/// The hashes of a folder from its files (sorted as in the manifest).
fn folder(files: Vec<WsFile>) -> Hashed {
    let entries: Vec<Entry> = files
        .iter()
        .map(|f| Entry {
            relpath: f.rel.clone(),
            md5: f.md5.clone(),
        })
        .collect();
    let bytes = manifest::to_bytes(&entries);
    Hashed {
        md5: manifest::dir_md5(&bytes),
        size: files.iter().map(|f| f.size).sum(),
        nfiles: Some(files.len() as u64),
        isexec: false,
        files,
        manifest: Some(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_applies_dvcignore_from_the_repo_root_down_deeper_rules_winning() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        let write = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        // Rules above the repository root do not apply.
        std::fs::write(dir.path().join(".dvcignore"), "*.csv\n").unwrap();
        std::fs::create_dir_all(root.join(".dvc")).unwrap();
        write(".dvcignore", "*.tmp\nskipped/\n");
        write("data/a.csv", "a");
        write("data/b.tmp", "b");
        write("data/skipped/c.csv", "c");
        write("data/.git", "gitdir: elsewhere");
        write("data/.dvc/x", "x");
        write("data/sub/.dvcignore", "!keep.tmp\n");
        write("data/sub/keep.tmp", "k");
        write("data/sub/drop.tmp", "d");
        let rels: Vec<String> = walk(&root.join("data"))
            .unwrap()
            .into_iter()
            .map(|(rel, _, _)| rel)
            .collect();
        assert_eq!(rels, vec!["a.csv", "sub/.dvcignore", "sub/keep.tmp"]);
    }
}
