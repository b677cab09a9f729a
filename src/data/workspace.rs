//! The workspace side of versioning: walking a tracked folder as DVC sees it (`.dvcignore`
//! applied, file symlinks followed, folder symlinks skipped), hashing files in parallel with the
//! state cache, and building the `.dir` manifest of a folder.

use std::fs::Metadata;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::hash::{self, HashKind};
use super::manifest::{self, Entry};
use super::odb::{Odb, Oid};
use super::state::State;
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
const ALWAYS_IGNORED: [&str; 3] = [".git", ".hg", ".dvc"];

/// The files of `dir` as DVC sees them: `(relpath, path, metadata)` sorted by relpath.
pub fn walk(dir: &Path) -> Result<Vec<(String, PathBuf, Metadata)>> {
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .hidden(false)
        .parents(true)
        .add_custom_ignore_filename(".dvcignore")
        .follow_links(false)
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            // DVC's default ignores: `.git` (a folder, or the file of a submodule or worktree),
            // `.hg/` and `.dvc/`.
            let name = e.file_name();
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            !(name == ".git" || (is_dir && ALWAYS_IGNORED.iter().any(|n| name == *n)))
        })
        .build();
    // Walk by directory entry types only, then stat the files in parallel.
    let mut found: Vec<(PathBuf, bool)> = Vec::new();
    for entry in walker {
        let entry = entry.map_err(|e| Error::Io {
            action: "walk",
            path: dir.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let Some(ft) = entry.file_type() else {
            continue;
        };
        if ft.is_file() || ft.is_symlink() {
            found.push((entry.into_path(), ft.is_symlink()));
        }
    }
    let mut files: Vec<(String, PathBuf, Metadata)> = found
        .into_par_iter()
        .filter_map(|(path, is_link)| {
            let meta = match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => m,
                Ok(_) => return None,
                Err(_) if is_link => return Some(Err(Error::BrokenSymlink(path))),
                Err(e) => return Some(Err(Error::io("stat", &path)(e))),
            };
            let rel = match path.strip_prefix(dir) {
                Ok(r) => r.to_string_lossy().into_owned(),
                Err(_) => {
                    return Some(Err(Error::OutsideRepo {
                        path: path.clone(),
                        root: dir.to_path_buf(),
                    }));
                }
            };
            Some(Ok((rel, path, meta)))
        })
        .collect::<Result<_>>()?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// The md5 of one file, from the state cache when it is unchanged.
pub fn file_md5(
    path: &Path,
    meta: &Metadata,
    state: &State,
    progress: &dyn Progress,
) -> Result<String> {
    if let Some(md5) = state.get(path, meta) {
        progress.advance(meta.len());
        return Ok(md5);
    }
    let md5 = hash::md5_file(path, HashKind::Md5, &|n| progress.advance(n))?;
    state.set(path, meta, &md5);
    Ok(md5)
}

fn is_exec(meta: &Metadata) -> bool {
    meta.permissions().mode() & 0o111 != 0
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
        progress.begin("hashing", Some(meta.len()));
        let md5 = hash_one(path, &meta, state, store, progress)?;
        progress.end();
        return Ok(Some(Hashed {
            md5,
            size: meta.len(),
            nfiles: None,
            isexec: is_exec(&meta),
            files: Vec::new(),
            manifest: None,
        }));
    }
    let listed = walk(path)?;
    if store.is_some()
        && let Some((_, p, _)) = listed
            .iter()
            .find(|(rel, _, _)| rel.rsplit('/').next() == Some(".dvcignore"))
    {
        // DVC refuses this too: the ignore rules would travel inside the data.
        return Err(Error::DvcignoreInOutput(p.clone()));
    }
    let total: u64 = listed.iter().map(|(_, _, m)| m.len()).sum();
    progress.begin("hashing", Some(total));
    let files: Vec<WsFile> = listed
        .into_par_iter()
        .map(|(rel, abs, meta)| {
            let md5 = hash_one(&abs, &meta, state, store, progress)?;
            Ok(WsFile {
                rel,
                abs,
                md5,
                size: meta.len(),
            })
        })
        .collect::<Result<_>>()?;
    progress.end();
    Ok(Some(folder(files)))
}

fn hash_one(
    path: &Path,
    meta: &Metadata,
    state: &State,
    store: Option<&Odb>,
    progress: &dyn Progress,
) -> Result<String> {
    let Some(odb) = store else {
        return file_md5(path, meta, state, progress);
    };
    if let Some(md5) = state.get(path, meta)
        && odb.contains(&Oid::new(md5.clone(), HashKind::Md5))
    {
        progress.advance(meta.len());
        return Ok(md5);
    }
    let (oid, n) = odb.ingest(path)?;
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
            isexec: is_exec(&meta),
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
                size: meta.len(),
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
