//! Another DVC repository that `ls`, `get` and `import` read from, named by a local path or a
//! `file://` URL: its outputs and its files as they are in its workspace (a path without
//! `--rev`), or as a git revision records them (a URL is read at its `HEAD`, as DVC clones
//! it), and its objects, taken from its cache or else its default remote (as DVC does for a
//! local repository). It is only ever read, never written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::dvcfile::{DvcFile, Out};
use super::fsutil::normalize;
use super::odb::{Odb, Oid};
use super::paths::Inside;
use super::remote::{self, LocalRemote, Remote};
use super::repo::Repo;
use super::{Error, Result, index, workspace};
use crate::git;
use crate::progress::Progress;

/// Why another repository could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    #[error("`{url}` is not a local repository: only local paths and `file://` URLs are supported")]
    NotLocal { url: String },
    #[error("`{}` is not a git or DVC repository", .0.display())]
    NotARepo(PathBuf),
    #[error("Unknown revision `{rev}` in `{}`", root.display())]
    UnknownRev { rev: String, root: PathBuf },
    #[error("`{path}` does not exist in `{url}`")]
    NoSuchPath { path: String, url: String },
    #[error(transparent)]
    Data(#[from] Error),
}

impl ExternalError {
    /// The fix to suggest to a person.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ExternalError::NotLocal { .. } => {
                "clone it first (`git clone <url>`) and give the clone's path".into()
            }
            ExternalError::NotARepo(_) => "give the path of the repository's top folder".into(),
            ExternalError::UnknownRev { root, .. } => format!(
                "list its branches and tags with `git -C {} show-ref`",
                root.display()
            ),
            ExternalError::NoSuchPath { url, .. } => {
                format!("see what it holds with `vintner ls {url}`")
            }
            ExternalError::Data(e) => return e.hint(),
        })
    }
}

/// One output of the other repository.
#[derive(Debug, Clone)]
pub struct ExtOut {
    /// The output's path from the repository root, `/`-separated.
    pub key: String,
    pub out: Out,
}

/// A file or folder of the other repository as git or its workspace has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsEntry {
    pub is_dir: bool,
    pub size: u64,
    pub isexec: bool,
}

/// A repository to read from, in its workspace or at a commit.
#[derive(Debug, Clone)]
pub struct ExternalRepo {
    /// The URL as given.
    pub url: String,
    pub root: PathBuf,
    /// The commit read, or `None` for the workspace.
    pub commit: Option<String>,
}

impl ExternalRepo {
    /// Opens the repository `url` (a path relative to `cwd`, or `file://…`) at `rev`.
    pub fn open(
        url: &str,
        rev: Option<&str>,
        cwd: &Path,
    ) -> std::result::Result<ExternalRepo, ExternalError> {
        let path = match url.strip_prefix("file://") {
            Some(p) => PathBuf::from(p),
            None if url.contains("://") || url.starts_with("git@") => {
                return Err(ExternalError::NotLocal { url: url.into() });
            }
            None => PathBuf::from(url),
        };
        let root = normalize(&cwd.join(path));
        if !root.join(".dvc").is_dir() && !root.join(".git").exists() {
            return Err(ExternalError::NotARepo(root));
        }
        // A URL is cloned by DVC, so it means the default branch, never the workspace.
        let rev = rev.or(url.starts_with("file://").then_some("HEAD"));
        let commit = match rev {
            Some(rev) => {
                Some(
                    git::rev_parse(&root, rev).map_err(|_| ExternalError::UnknownRev {
                        rev: rev.into(),
                        root: root.clone(),
                    })?,
                )
            }
            None => None,
        };
        Ok(ExternalRepo {
            url: url.to_string(),
            root,
            commit,
        })
    }

    /// The commit the workspace is at (`None` before the first commit or outside git).
    pub fn head(&self) -> Option<String> {
        git::rev_parse(&self.root, "HEAD").ok()
    }

    /// Its outputs, from its `.dvc` files; each path is checked to stay inside it.
    pub fn outputs(&self) -> Result<Vec<ExtOut>> {
        let repo = Repo::at(&self.root);
        let files: Vec<DvcFile> = match &self.commit {
            None if self.root.join(".dvc").is_dir() => index::walk(&repo)?.dvc,
            None => Vec::new(),
            Some(commit) => {
                let inside = Inside::new(&self.root);
                let mut files = Vec::new();
                for path in git::ls_tree(&self.root, commit)? {
                    if !path.ends_with(".dvc") || path.starts_with(".dvc/") {
                        continue;
                    }
                    let text = git::show(&self.root, commit, &path)?;
                    let file = DvcFile::parse(&text, &self.root.join(&path))?;
                    for out in &file.outs {
                        inside
                            .resolve(file.dir(), Path::new(&out.path))
                            .map_err(|why| Error::UnsafePath {
                                file: PathBuf::from(&path),
                                path: out.path.clone(),
                                why,
                            })?;
                    }
                    files.push(file);
                }
                files
            }
        };
        Ok(files
            .iter()
            .flat_map(|f| {
                f.outs.iter().map(|o| ExtOut {
                    key: f
                        .out_path(o)
                        .strip_prefix(&self.root)
                        .unwrap_or(Path::new(""))
                        .to_string_lossy()
                        .into_owned(),
                    out: o.clone(),
                })
            })
            .collect())
    }

    /// Its files and folders (`.dvcignore` applied, `.git` and `.dvc` left out), by path.
    pub fn files(&self) -> Result<BTreeMap<String, FsEntry>> {
        let mut out = BTreeMap::new();
        match &self.commit {
            Some(commit) => {
                for e in git::ls_tree_long(&self.root, commit)? {
                    if e.path == ".dvc" || e.path.starts_with(".dvc/") {
                        continue;
                    }
                    out.insert(
                        e.path,
                        FsEntry {
                            is_dir: e.is_dir,
                            size: e.size.unwrap_or(0),
                            isexec: e.mode == "100755",
                        },
                    );
                }
            }
            None => {
                for (rel, abs, stat) in workspace::walk(&self.root)? {
                    let _ = abs;
                    let mut parent = Path::new(&rel).parent();
                    while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
                        let key = p.to_string_lossy().into_owned();
                        if out.contains_key(&key) {
                            break;
                        }
                        let size = std::fs::metadata(self.root.join(p))
                            .map(|m| m.len())
                            .unwrap_or(0);
                        out.insert(
                            key,
                            FsEntry {
                                is_dir: true,
                                size,
                                isexec: false,
                            },
                        );
                        parent = p.parent();
                    }
                    out.insert(
                        rel,
                        FsEntry {
                            is_dir: false,
                            size: stat.size,
                            isexec: stat.is_exec(),
                        },
                    );
                }
            }
        }
        Ok(out)
    }

    /// The bytes of a file git (or, for the workspace, the folder) holds.
    pub fn read_file(&self, rel: &str) -> Result<Vec<u8>> {
        match &self.commit {
            Some(commit) => Ok(git::show_bytes(&self.root, commit, rel)?),
            None => {
                let path = self.root.join(rel);
                std::fs::read(&path).map_err(Error::io("read", path))
            }
        }
    }

    /// Its cache.
    pub fn cache(&self) -> Result<Odb> {
        let repo = Repo::at(&self.root);
        Ok(repo.cache(&repo.config()?))
    }

    /// A folder's manifest entries: from its cache, else its default remote (not stored).
    pub fn manifest(&self, oid: &Oid) -> Result<Option<Vec<super::manifest::Entry>>> {
        let cache = self.cache()?;
        if cache.contains(oid) {
            return cache.read_manifest(oid).map(Some);
        }
        let Ok(remote) = self.default_remote() else {
            return Ok(None);
        };
        match remote.read_verified(oid) {
            Ok(bytes) => super::manifest::parse(&bytes)
                .map(Some)
                .map_err(|e| Error::BadManifest {
                    oid: oid.rel_path(),
                    location: remote.describe(),
                    message: e.to_string(),
                }),
            Err(Error::MissingFromRemote { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Puts object `oid` (and, for a folder, its files) into `into`: from this repository's
    /// cache, and what that lacks from its default remote, everything verified.
    pub fn fetch_into(&self, oid: &Oid, into: &Odb, progress: &dyn Progress) -> Result<()> {
        let own = self.cache()?;
        let upstream = LocalRemote::new("upstream cache", &own.root.to_string_lossy());
        match super::transfer::fetch_object(into, &upstream, oid, None, progress) {
            Ok(_) => return Ok(()),
            Err(Error::MissingFromRemote { .. }) => {}
            Err(e) => return Err(e),
        }
        let remote = self.default_remote().map_err(|_| Error::MissingFromCache {
            missing: vec![oid.rel_path()],
        })?;
        super::transfer::fetch_object(into, remote.as_ref(), oid, None, progress).map(drop)
    }

    fn default_remote(&self) -> Result<Box<dyn Remote>> {
        let repo = Repo::at(&self.root);
        remote::open(&repo.config()?, None)
    }
}

/// Where the bytes of one file to get or import come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file git (or the workspace) holds, by its path from the repository root.
    Git(String),
    /// An object of the repository's cache or remote.
    Object(Oid),
}

/// One file below the path asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// `/`-separated path below the path asked for; empty when that path is this file.
    pub rel: String,
    pub source: Source,
    pub isexec: bool,
}

impl ExternalRepo {
    /// Every file `path` (from the repository root) stands for: an output, a file or folder
    /// inside one, or a file or folder git holds (its outputs included, `.dvc` files left out,
    /// as DVC leaves them out).
    pub fn items(&self, path: &str) -> std::result::Result<Vec<Item>, ExternalError> {
        let path = path.trim_matches('/').to_string();
        let outs = self.outputs()?;
        let under =
            |key: &str, p: &str| p.is_empty() || key == p || key.starts_with(&format!("{p}/"));
        // The path is an output or inside one.
        if let Some(o) = outs.iter().find(|o| under(&path, &o.key)) {
            let sub = path[o.key.len()..].trim_start_matches('/');
            let items = self.out_items(o, sub)?;
            if items.is_empty() {
                return Err(self.no_such(&path));
            }
            return Ok(items);
        }
        let files = self.files()?;
        let is_dvc_file =
            |name: &str| name.ends_with(".dvc") || name == "dvc.yaml" || name == "dvc.lock";
        if let Some(f) = files.get(&path).filter(|f| !f.is_dir) {
            return Ok(vec![Item {
                rel: String::new(),
                source: Source::Git(path),
                isexec: f.isexec,
            }]);
        }
        let mut items = Vec::new();
        for o in outs.iter().filter(|o| under(&o.key, &path)) {
            let prefix = o.key[path.len()..].trim_start_matches('/');
            for mut item in self.out_items(o, "")? {
                item.rel = if item.rel.is_empty() {
                    prefix.to_string()
                } else {
                    format!("{prefix}/{}", item.rel)
                };
                items.push(item);
            }
        }
        for (key, f) in &files {
            let name = key.rsplit('/').next().unwrap_or(key);
            if f.is_dir
                || !under(key, &path)
                || is_dvc_file(name)
                || outs.iter().any(|o| under(key, &o.key))
            {
                continue;
            }
            let rel = key[path.len()..].trim_start_matches('/').to_string();
            items.push(Item {
                rel,
                source: Source::Git(key.clone()),
                isexec: f.isexec,
            });
        }
        if items.is_empty() && !files.get(&path).is_some_and(|f| f.is_dir) {
            return Err(self.no_such(&path));
        }
        items.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(items)
    }

    /// The files of output `o` below `sub` (all when empty).
    fn out_items(&self, o: &ExtOut, sub: &str) -> Result<Vec<Item>> {
        let Some(md5) = o.out.md5.clone() else {
            return Ok(Vec::new());
        };
        let oid = Oid::new(md5, o.out.hash);
        if !oid.is_dir() {
            return Ok(if sub.is_empty() {
                vec![Item {
                    rel: String::new(),
                    source: Source::Object(oid),
                    isexec: o.out.isexec,
                }]
            } else {
                Vec::new()
            });
        }
        let entries = self
            .manifest(&oid)?
            .ok_or_else(|| Error::MissingFromCache {
                missing: vec![format!("{} ({})", o.key, oid.rel_path())],
            })?;
        Ok(entries
            .into_iter()
            .filter_map(|e| {
                let rel = if sub.is_empty() {
                    e.relpath
                } else if e.relpath == sub {
                    String::new()
                } else {
                    e.relpath.strip_prefix(&format!("{sub}/"))?.to_string()
                };
                Some(Item {
                    rel,
                    source: Source::Object(Oid::new(e.md5, o.out.hash)),
                    isexec: false,
                })
            })
            .collect())
    }

    fn no_such(&self, path: &str) -> ExternalError {
        ExternalError::NoSuchPath {
            path: path.to_string(),
            url: self.url.clone(),
        }
    }
}
