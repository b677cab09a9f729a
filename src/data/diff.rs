//! `diff [a_rev] [b_rev]`: data changes between the outputs recorded at a git revision and the
//! workspace (or a second revision), file by file inside tracked folders (when the old manifest is in the cache), with renames and
//! objects missing from the cache, as `dvc diff` reports them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::Result;
use super::dvcfile::DvcFile;
use super::index;
use super::odb::Oid;
use super::repo::Repo;
use crate::git;
use crate::progress::Progress;

/// A path or hash, or an old/new pair of them (renames, modifications).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Field {
    One(String),
    Two { old: String, new: String },
}

impl Field {
    /// The path shown (and sorted by): the old one of a pair.
    fn key(&self) -> &str {
        match self {
            Field::One(p) => p,
            Field::Two { old, .. } => old,
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Field::One(p) => f.write_str(p),
            Field::Two { old, new } => write!(f, "{old} -> {new}"),
        }
    }
}

/// One changed path (folders end with `/`) and its hash (`--show-hash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub path: Field,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<Field>,
}

/// `dvc diff --json`'s shape, in its key order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    pub added: Vec<Entry>,
    pub deleted: Vec<Entry>,
    pub modified: Vec<Entry>,
    pub renamed: Vec<Entry>,
    /// Recorded objects the cache lacks (`None` once hidden with `--hide-missing`).
    #[serde(rename = "not in cache", skip_serializing_if = "Option::is_none")]
    pub not_in_cache: Option<Vec<Entry>>,
}

impl DiffReport {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.deleted.is_empty()
            && self.modified.is_empty()
            && self.renamed.is_empty()
            && self.not_in_cache.as_ref().is_none_or(Vec::is_empty)
    }

    /// Keeps only the entries at or below the given paths (relative to the repository root,
    /// `/`-separated), as `dvc diff --targets` does; a pair is kept when either side is.
    pub fn only(mut self, targets: &[String]) -> DiffReport {
        let under = |p: &str| {
            let p = p.trim_end_matches('/');
            targets.iter().any(|t| {
                let t = t.trim_end_matches('/');
                t == "." || p == t || p.strip_prefix(t).is_some_and(|r| r.starts_with('/'))
            })
        };
        let keep = |e: &Entry| match &e.path {
            Field::One(p) => under(p),
            Field::Two { old, new } => under(old) || under(new),
        };
        for list in [
            &mut self.added,
            &mut self.deleted,
            &mut self.modified,
            &mut self.renamed,
        ] {
            list.retain(keep);
        }
        if let Some(list) = self.not_in_cache.as_mut() {
            list.retain(keep);
        }
        self
    }

    /// Drops the hashes (`dvc diff` shows them only with `--show-hash`).
    pub fn without_hashes(mut self) -> DiffReport {
        for list in [
            &mut self.added,
            &mut self.deleted,
            &mut self.modified,
            &mut self.renamed,
        ] {
            list.iter_mut().for_each(|e| e.hash = None);
        }
        if let Some(list) = self.not_in_cache.as_mut() {
            list.iter_mut().for_each(|e| e.hash = None);
        }
        self
    }
}

/// path → md5 of every output and of every file in tracked folders.
type Snapshot = BTreeMap<String, String>;

/// Adds an output (and, when its manifest is in the cache, its files) to `snapshot`. Returns
/// false for a folder whose manifest the cache lacks: its files are unknown.
fn expand(
    snapshot: &mut Snapshot,
    name: &str,
    md5: &str,
    cache: &super::odb::Odb,
    kind: super::hash::HashKind,
) -> Result<bool> {
    let oid = Oid::new(md5, kind);
    if !oid.is_dir() {
        snapshot.insert(name.to_string(), md5.to_string());
        return Ok(true);
    }
    snapshot.insert(format!("{name}/"), md5.to_string());
    if !cache.contains(&oid) {
        return Ok(false);
    }
    for e in cache.read_manifest(&oid)? {
        snapshot.insert(format!("{name}/{}", e.relpath), e.md5);
    }
    Ok(true)
}

/// Compares the outputs at `rev` (default `HEAD`) with the workspace.
pub fn diff(
    repo: &Repo,
    rev: Option<&str>,
    to_rev: Option<&str>,
    progress: &dyn Progress,
) -> Result<DiffReport> {
    let rev = rev.unwrap_or("HEAD");
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let state = repo.state();
    let mut old = Snapshot::new();
    // Folders whose recorded manifest is not in the cache: their files are unknown on both
    // sides, so they are reported neither as added nor as deleted (as DVC does).
    let mut unknown: Vec<String> = Vec::new();
    let commit = match git::rev_parse(&repo.root, rev) {
        Ok(c) => c,
        // A repository without commits has nothing to compare with (DVC prints `{}`).
        Err(_) if rev == "HEAD" => {
            return Ok(DiffReport {
                not_in_cache: Some(Vec::new()),
                ..DiffReport::default()
            });
        }
        Err(e) => return Err(e.into()),
    };
    unknown.extend(snapshot_at(repo, &commit, &cache, &mut old)?);
    let mut new = Snapshot::new();
    if let Some(to) = to_rev {
        // Two revisions: both sides from git; the cache check is the workspace's business.
        let to_commit = git::rev_parse(&repo.root, to)?;
        unknown.extend(snapshot_at(repo, &to_commit, &cache, &mut new)?);
    } else {
        for t in index::collect_outputs(repo, &[], &repo.root)? {
            if !t.out.cache {
                continue;
            }
            let name = t.display(repo);
            if let Some(h) = super::status::hash_workspace(&t, &state, progress)? {
                if let Some(bytes) = &h.manifest {
                    new.insert(format!("{name}/"), h.md5.clone());
                    for e in super::manifest::parse(bytes).unwrap_or_default() {
                        new.insert(format!("{name}/{}", e.relpath), e.md5);
                    }
                } else {
                    new.insert(name, h.md5);
                }
            }
        }
    }
    state.save();
    let is_unknown = |p: &str| unknown.iter().any(|u| p.starts_with(u.as_str()) && p != u);
    let one = |s: &str| Field::One(s.to_string());
    let mut report = DiffReport::default();
    let mut added: Vec<(&String, &String)> = Vec::new();
    for (path, md5) in &new {
        if is_unknown(path) {
            continue;
        }
        match old.get(path) {
            None => added.push((path, md5)),
            Some(m) if m != md5 => report.modified.push(Entry {
                path: one(path),
                hash: Some(Field::Two {
                    old: m.clone(),
                    new: md5.clone(),
                }),
            }),
            _ => {}
        }
    }
    // Renames as DVC pairs them: each added path (in path order) takes the first deleted path
    // (in path order) with the same hash.
    let mut deleted: BTreeMap<&String, std::collections::VecDeque<&String>> = BTreeMap::new();
    for (path, md5) in &old {
        if !new.contains_key(path) && !is_unknown(path) {
            deleted.entry(md5).or_default().push_back(path);
        }
    }
    for (path, md5) in added {
        match deleted.get_mut(md5).and_then(|q| q.pop_front()) {
            Some(was) => report.renamed.push(Entry {
                path: Field::Two {
                    old: was.clone(),
                    new: path.clone(),
                },
                hash: Some(one(md5)),
            }),
            None => report.added.push(Entry {
                path: one(path),
                hash: Some(one(md5)),
            }),
        }
    }
    for (md5, paths) in deleted {
        for p in paths {
            report.deleted.push(Entry {
                path: one(p),
                hash: Some(one(md5)),
            });
        }
    }
    // Every recorded object (changed or not) that the cache lacks, in either layout; with two
    // revisions DVC leaves the cache check out.
    report.not_in_cache = to_rev.is_none().then(|| {
        let known = cache.known_for(old.len());
        old.iter()
            .filter(|(_, md5)| {
                !known.has(&Oid::new((*md5).clone(), super::hash::HashKind::Md5))
                    && !cache.contains(&Oid::new(
                        (*md5).clone(),
                        super::hash::HashKind::Md5Dos2Unix,
                    ))
            })
            .map(|(path, md5)| Entry {
                path: one(path),
                hash: Some(one(md5)),
            })
            .collect()
    });
    for list in [
        &mut report.added,
        &mut report.deleted,
        &mut report.modified,
        &mut report.renamed,
    ] {
        list.sort_by(|a, b| a.path.key().cmp(b.path.key()));
    }
    if let Some(list) = report.not_in_cache.as_mut() {
        list.sort_by(|a, b| a.path.key().cmp(b.path.key()));
    }
    Ok(report)
}

/// Fills `snapshot` with the outputs recorded by the `.dvc` files of `commit`; returns the
/// folders whose manifest the cache lacks.
fn snapshot_at(
    repo: &Repo,
    commit: &str,
    cache: &super::odb::Odb,
    snapshot: &mut Snapshot,
) -> Result<Vec<String>> {
    let mut unknown = Vec::new();
    for path in git::ls_tree(&repo.root, commit)? {
        if !path.ends_with(".dvc") {
            continue;
        }
        let text = git::show(&repo.root, commit, &path)?;
        let abs = repo.root.join(&path);
        let Ok(file) = DvcFile::parse(&text, &abs) else {
            continue;
        };
        for out in &file.outs {
            let Some(md5) = &out.md5 else { continue };
            let name = rel(repo, &file.out_path(out));
            if !expand(snapshot, &name, md5, cache, out.hash)? {
                unknown.push(format!("{name}/"));
            }
        }
    }
    // As DVC, `cache: false` outputs are not data to compare.
    for t in index::stage_outs_at(repo, commit)? {
        let Some(md5) = t.out.md5.as_ref().filter(|_| t.out.cache) else {
            continue;
        };
        let name = rel(repo, &t.path);
        if !expand(snapshot, &name, md5, cache, t.out.hash)? {
            unknown.push(format!("{name}/"));
        }
    }
    Ok(unknown)
}

fn rel(repo: &Repo, p: &Path) -> String {
    p.strip_prefix(&repo.root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}
