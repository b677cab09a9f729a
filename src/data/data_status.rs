//! `data status`: DVC's git-like view of the data — what the `.dvc` files changed since the
//! last commit (`committed`), what the workspace changed since the `.dvc` files
//! (`uncommitted`), what the cache lacks and what is unchanged — with DVC's rules for folders
//! (`--granular` looks inside them), renames and objects the cache lacks, so that its `--json`
//! is the one `dvc data status --json` prints.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::ser::SerializeMap;

use super::dvcfile::DvcFile;
use super::fsutil::normalize;
use super::hash::HashKind;
use super::index::{self, Tracked};
use super::odb::{Odb, Oid};
use super::paths::Inside;
use super::repo::Repo;
use super::{Error, Result};
use crate::git;
use crate::progress::Progress;

/// One changed path, or a rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Item {
    Path(String),
    Renamed { old: String, new: String },
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Path(p) => f.write_str(p),
            Item::Renamed { old, new } => write!(f, "{old} -> {new}"),
        }
    }
}

/// Changes by kind (`modified`, `added`, `deleted`, `renamed`, `unknown`), the kinds in the
/// order DVC first meets them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes(pub Vec<(&'static str, Vec<Item>)>);

impl Changes {
    fn push(&mut self, kind: &'static str, item: Item) {
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, items)) => items.push(item),
            None => self.0.push((kind, vec![item])),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|(_, items)| items.is_empty())
    }
}

impl Serialize for Changes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (kind, items) in &self.0 {
            map.serialize_entry(kind, items)?;
        }
        map.end()
    }
}

/// What `data status` found; empty parts are left out of the JSON, as DVC leaves them out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DataStatus {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_in_cache: Vec<String>,
    #[serde(skip_serializing_if = "Changes::is_empty")]
    pub committed: Changes,
    #[serde(skip_serializing_if = "Changes::is_empty")]
    pub uncommitted: Changes,
    /// Only filled when asked for (`--unchanged`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchanged: Vec<String>,
    /// Git has uncommitted changes to tracked files.
    #[serde(skip)]
    pub git_dirty: bool,
    /// The git repository has no commit yet.
    #[serde(skip)]
    pub git_empty: bool,
}

/// What one side of a comparison holds for a path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    md5: Option<String>,
    is_dir: bool,
    /// Whether its object belongs in the cache (`cache: true`).
    cached: bool,
    kind: HashKind,
}

/// One side: outputs by key (path parts from the root), and with `--granular` the files of
/// folder outputs (`None` when the folder's manifest is not at hand: its files are unknown).
#[derive(Debug, Default)]
struct Side {
    outs: BTreeMap<Vec<String>, Node>,
    files: BTreeMap<Vec<String>, Option<BTreeMap<Vec<String>, Node>>>,
}

/// One difference between two sides.
#[derive(Debug, Clone)]
struct Change {
    kind: &'static str,
    key: Vec<String>,
    old: Option<(Vec<String>, Node)>,
    new: Option<(Vec<String>, Node)>,
}

/// Compares HEAD, the `.dvc` files and the workspace for the outputs `targets` name (relative
/// to `cwd`; all when none), as `dvc data status` does.
pub fn data_status(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    granular: bool,
    unchanged: bool,
    progress: &dyn Progress,
) -> Result<DataStatus> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let state = repo.state();
    let mut filters: Vec<Vec<String>> = Vec::new();
    for t in targets {
        let abs = normalize(&cwd.join(t));
        let rel = abs
            .strip_prefix(&repo.root)
            .map_err(|_| Error::OutsideRepo {
                path: abs.clone(),
                root: repo.root.clone(),
            })?;
        filters.push(parts(rel));
    }
    let wanted = |key: &[String]| {
        filters.is_empty()
            || filters
                .iter()
                .any(|f| key.starts_with(f) || f.starts_with(key))
    };

    // The `.dvc` files as they are, and the workspace.
    let tracked: Vec<Tracked> = index::collect(repo, &[], &repo.root)?
        .into_iter()
        .filter(|t| wanted(&key_of(repo, &t.path)))
        .collect();
    let mut recorded = Side::default();
    let mut workspace = Side::default();
    for t in &tracked {
        let key = key_of(repo, &t.path);
        let node = Node {
            md5: t.out.md5.clone(),
            is_dir: t.out.is_dir(),
            cached: t.out.cache,
            kind: t.out.hash,
        };
        if granular && node.is_dir {
            recorded
                .files
                .insert(key.clone(), manifest_files(&cache, &node)?);
        }
        recorded.outs.insert(key.clone(), node);
        if let Some(h) = super::status::hash_workspace(t, &state, progress)? {
            let is_dir = h.manifest.is_some();
            if granular && is_dir {
                let files = h
                    .files
                    .iter()
                    .map(|f| {
                        let node = Node {
                            md5: Some(f.md5.clone()),
                            is_dir: false,
                            cached: t.out.cache,
                            kind: t.out.hash,
                        };
                        (parts(Path::new(&f.rel)), node)
                    })
                    .collect();
                workspace.files.insert(key.clone(), Some(files));
            }
            let node = Node {
                md5: Some(h.md5),
                is_dir,
                cached: t.out.cache,
                kind: t.out.hash,
            };
            workspace.outs.insert(key, node);
        }
    }
    state.save();

    let filter_changes = |changes: Vec<Change>| -> Vec<Change> {
        changes
            .into_iter()
            .filter(|c| filters.is_empty() || filters.iter().any(|f| c.key.starts_with(f)))
            .collect()
    };
    let uncommitted = filter_changes(diff(&recorded, &workspace, granular));
    let mut status = DataStatus::default();
    let mut seen_missing: HashSet<Oid> = HashSet::new();
    for c in &uncommitted {
        if let Some((key, node)) = &c.old
            && node.cached
            && let Some(md5) = &node.md5
        {
            let oid = Oid::new(md5.clone(), node.kind);
            if seen_missing.contains(&oid) || !cache.contains(&oid) {
                seen_missing.insert(oid);
                status.not_in_cache.push(shown(key, node.is_dir));
            }
        }
    }
    let (uncommitted_changes, mut same) = collect(&uncommitted);
    status.uncommitted = uncommitted_changes;

    // The `.dvc` files at HEAD, when there is a git repository.
    if let Some(top) = git::toplevel(&repo.root)? {
        let lineage = git::lineage(&repo.root);
        status.git_empty = lineage.commit.is_none();
        status.git_dirty = lineage.dirty;
        let head = match &lineage.commit {
            Some(commit) => recorded_at(repo, &top, commit, &cache, granular, &wanted)?,
            None => Side::default(),
        };
        let committed = filter_changes(diff(&head, &recorded, granular));
        let (committed_changes, same_committed) = collect(&committed);
        status.committed = committed_changes;
        let keep: HashSet<String> = same_committed.into_iter().collect();
        same.retain(|p| keep.contains(p));
    }
    if unchanged {
        status.unchanged = same;
    }
    Ok(status)
}

/// The files a folder's manifest lists, or `None` when the cache lacks it.
fn manifest_files(cache: &Odb, node: &Node) -> Result<Option<BTreeMap<Vec<String>, Node>>> {
    let Some(md5) = &node.md5 else {
        return Ok(Some(BTreeMap::new()));
    };
    let oid = Oid::new(md5.clone(), node.kind);
    if !cache.contains(&oid) {
        return Ok(None);
    }
    Ok(Some(
        cache
            .read_manifest(&oid)?
            .into_iter()
            .map(|e| {
                let node = Node {
                    md5: Some(e.md5),
                    is_dir: false,
                    cached: node.cached,
                    kind: node.kind,
                };
                (parts(Path::new(&e.relpath)), node)
            })
            .collect(),
    ))
}

/// The outputs the `.dvc` files of `commit` record (those `wanted`).
fn recorded_at(
    repo: &Repo,
    top: &Path,
    commit: &str,
    cache: &Odb,
    granular: bool,
    wanted: &dyn Fn(&[String]) -> bool,
) -> Result<Side> {
    let top = std::fs::canonicalize(top).unwrap_or_else(|_| top.to_path_buf());
    let root = std::fs::canonicalize(&repo.root).unwrap_or_else(|_| repo.root.clone());
    let prefix = root
        .strip_prefix(&top)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let inside = Inside::new(&repo.root);
    let mut side = Side::default();
    for path in git::ls_tree(&repo.root, commit)? {
        let Ok(rel) = Path::new(&path).strip_prefix(&prefix) else {
            continue;
        };
        if rel.extension().is_none_or(|x| x != "dvc") || rel.starts_with(".dvc") {
            continue;
        }
        let text = git::show(&repo.root, commit, &path)?;
        let abs = repo.root.join(rel);
        // A `.dvc` file that does not parse at that commit records nothing DVC could read.
        let Ok(file) = DvcFile::parse(&text, &abs) else {
            continue;
        };
        for out in &file.outs {
            inside
                .resolve(file.dir(), Path::new(&out.path))
                .map_err(|why| Error::UnsafePath {
                    file: rel.to_path_buf(),
                    path: out.path.clone(),
                    why,
                })?;
            let key = key_of(repo, &file.out_path(out));
            if !wanted(&key) {
                continue;
            }
            let node = Node {
                md5: out.md5.clone(),
                is_dir: out.is_dir(),
                cached: out.cache,
                kind: out.hash,
            };
            if granular && node.is_dir {
                side.files
                    .insert(key.clone(), manifest_files(cache, &node)?);
            }
            side.outs.insert(key, node);
        }
    }
    Ok(side)
}

/// DVC's comparison by hash: outputs, and with `granular` the files of folders; then added and
/// deleted paths with the same hash paired into renames. Changes come in DVC's order: the
/// others level by level, then additions and renames by path, then the remaining deletions.
fn diff(old: &Side, new: &Side, granular: bool) -> Vec<Change> {
    let mut changes: Vec<Change> = Vec::new();
    let keys: BTreeSet<&Vec<String>> = old.outs.keys().chain(new.outs.keys()).collect();
    for key in keys {
        let (o, n) = (old.outs.get(key), new.outs.get(key));
        if let Some(c) = compare(key, o, n) {
            changes.push(c);
        }
        let is_dir = o.is_some_and(|x| x.is_dir) || n.is_some_and(|x| x.is_dir);
        if !granular || !is_dir {
            continue;
        }
        let empty = BTreeMap::new();
        let old_files = old.files.get(key).cloned().unwrap_or(Some(empty.clone()));
        let new_files = new.files.get(key).cloned().unwrap_or(Some(empty));
        let (Some(old_files), Some(new_files)) = (old_files.as_ref(), new_files.as_ref()) else {
            // A manifest is not at hand: the files on the new side are unknown.
            for (rel, node) in new_files.iter().flatten() {
                let k = [key.clone(), rel.clone()].concat();
                changes.push(Change {
                    kind: "unknown",
                    key: k.clone(),
                    old: None,
                    new: Some((k, node.clone())),
                });
            }
            continue;
        };
        let files: BTreeSet<&Vec<String>> = old_files.keys().chain(new_files.keys()).collect();
        for rel in files {
            let k = [key.clone(), rel.clone()].concat();
            if let Some(c) = compare(&k, old_files.get(rel), new_files.get(rel)) {
                changes.push(c);
            }
        }
    }
    // The others level by level (DVC walks breadth first).
    let (mut added, mut deleted, mut rest): (Vec<Change>, Vec<Change>, Vec<Change>) =
        (Vec::new(), Vec::new(), Vec::new());
    for c in changes {
        match c.kind {
            "added" => added.push(c),
            "deleted" => deleted.push(c),
            _ => rest.push(c),
        }
    }
    rest.sort_by(|a, b| (a.key.len(), &a.key).cmp(&(b.key.len(), &b.key)));
    added.sort_by(|a, b| a.key.cmp(&b.key));
    deleted.sort_by(|a, b| a.key.cmp(&b.key));
    // Deletions by hash, in order of first appearance; each takes the first by path.
    let mut by_hash: Vec<(Option<String>, std::collections::VecDeque<Change>)> = Vec::new();
    for d in deleted {
        let h = d.old.as_ref().and_then(|(_, n)| n.md5.clone());
        match by_hash.iter_mut().find(|(k, _)| *k == h) {
            Some((_, q)) => q.push_front(d),
            None => by_hash.push((h, std::collections::VecDeque::from([d]))),
        }
    }
    let mut out = rest;
    for a in added {
        let h = a.new.as_ref().and_then(|(_, n)| n.md5.clone());
        let pair = h.as_ref().and_then(|h| {
            by_hash
                .iter_mut()
                .find(|(k, _)| k.as_ref() == Some(h))
                .and_then(|(_, q)| q.pop_back())
        });
        match pair {
            Some(d) => out.push(Change {
                kind: "renamed",
                key: a.key.clone(),
                old: d.old,
                new: a.new,
            }),
            None => out.push(a),
        }
    }
    out.extend(by_hash.into_iter().flat_map(|(_, q)| q));
    out
}

/// How one path differs, by hash only; `None` when neither side has a hash.
fn compare(key: &[String], old: Option<&Node>, new: Option<&Node>) -> Option<Change> {
    let old_md5 = old.and_then(|n| n.md5.as_ref());
    let new_md5 = new.and_then(|n| n.md5.as_ref());
    let kind = match (old_md5, new_md5) {
        (None, None) => return None,
        (None, Some(_)) => "added",
        (Some(_), None) => "deleted",
        (Some(a), Some(b)) if a != b => "modified",
        _ => "unchanged",
    };
    Some(Change {
        kind,
        key: key.to_vec(),
        old: old.map(|n| (key.to_vec(), n.clone())),
        new: new.map(|n| (key.to_vec(), n.clone())),
    })
}

/// The changes grouped by kind, and the unchanged paths apart.
fn collect(changes: &[Change]) -> (Changes, Vec<String>) {
    let mut grouped = Changes::default();
    let mut same = Vec::new();
    for c in changes {
        let is_dir = match (&c.new, &c.old) {
            (Some((_, n)), _) => n.is_dir,
            (None, Some((_, o))) => o.is_dir,
            (None, None) => false,
        };
        match (c.kind, &c.old, &c.new) {
            ("renamed", Some((ok, on)), Some((nk, nn))) => grouped.push(
                "renamed",
                Item::Renamed {
                    old: shown(ok, on.is_dir),
                    new: shown(nk, nn.is_dir),
                },
            ),
            ("unchanged", ..) => same.push(shown(&c.key, is_dir)),
            (kind, ..) => grouped.push(kind, Item::Path(shown(&c.key, is_dir))),
        }
    }
    (grouped, same)
}

/// A key as DVC shows it: `/`-joined, a folder with a trailing `/`.
fn shown(key: &[String], is_dir: bool) -> String {
    let mut s = key.join("/");
    if is_dir {
        s.push('/');
    }
    s
}

fn parts(rel: &Path) -> Vec<String> {
    rel.iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect()
}

fn key_of(repo: &Repo, path: &Path) -> Vec<String> {
    parts(path.strip_prefix(&repo.root).unwrap_or(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(md5: &str) -> Node {
        Node {
            md5: Some(md5.into()),
            is_dir: false,
            cached: true,
            kind: HashKind::Md5,
        }
    }

    fn side(entries: &[(&str, &str)]) -> Side {
        let mut s = Side::default();
        for (k, m) in entries {
            s.outs.insert(parts(Path::new(k)), node(m));
        }
        s
    }

    #[test]
    fn renames_pair_added_and_deleted_paths_with_the_same_hash() {
        let old = side(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "9")]);
        let new = side(&[("a", "1"), ("b", "5"), ("e", "3"), ("f", "8")]);
        let (changes, same) = collect(&diff(&old, &new, false));
        assert_eq!(same, vec!["a".to_string()]);
        let json = serde_json::to_string(&changes).unwrap();
        assert_eq!(
            json,
            r#"{"modified":["b"],"renamed":[{"old":"c","new":"e"}],"added":["f"],"deleted":["d"]}"#
        );
    }
}
