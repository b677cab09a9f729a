//! `diff [rev]`: data changes between the outputs recorded at a git revision and the workspace,
//! file by file inside tracked folders (when the old manifest is in the cache), as `dvc diff`.

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

/// One changed path (folders end with `/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub path: String,
}

/// `dvc diff --json`'s shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    pub added: Vec<Entry>,
    pub deleted: Vec<Entry>,
    pub modified: Vec<Entry>,
    pub renamed: Vec<Entry>,
    #[serde(rename = "not in cache")]
    pub not_in_cache: Vec<Entry>,
}

/// path → md5 of every output and of every file in tracked folders.
type Snapshot = BTreeMap<String, String>;

fn expand(
    snapshot: &mut Snapshot,
    name: &str,
    md5: &str,
    cache: &super::odb::Odb,
    kind: super::hash::HashKind,
) -> Result<()> {
    let oid = Oid::new(md5, kind);
    if oid.is_dir() {
        snapshot.insert(format!("{name}/"), md5.to_string());
        if cache.contains(&oid) {
            for e in cache.read_manifest(&oid)? {
                snapshot.insert(format!("{name}/{}", e.relpath), e.md5);
            }
        }
    } else {
        snapshot.insert(name.to_string(), md5.to_string());
    }
    Ok(())
}

/// Compares the outputs at `rev` (default `HEAD`) with the workspace.
pub fn diff(repo: &Repo, rev: Option<&str>, progress: &dyn Progress) -> Result<DiffReport> {
    let rev = rev.unwrap_or("HEAD");
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let state = repo.state();
    let mut old = Snapshot::new();
    let commit = match git::rev_parse(&repo.root, rev) {
        Ok(c) => Some(c),
        // A repository without commits has nothing to compare with; a bad name is an error.
        Err(_) if rev == "HEAD" => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(commit) = commit {
        for path in git::ls_tree(&repo.root, &commit)? {
            if !path.ends_with(".dvc") {
                continue;
            }
            let text = git::show(&repo.root, &commit, &path)?;
            let abs = repo.root.join(&path);
            let Ok(file) = DvcFile::parse(&text, &abs) else {
                continue;
            };
            for out in &file.outs {
                let Some(md5) = &out.md5 else { continue };
                let name = rel(repo, &file.out_path(out));
                expand(&mut old, &name, md5, &cache, out.hash)?;
            }
        }
    }
    let mut new = Snapshot::new();
    for t in index::collect(repo, &[], &repo.root)? {
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
    state.save();
    let mut report = DiffReport::default();
    for (path, md5) in &new {
        match old.get(path) {
            None => report.added.push(Entry { path: path.clone() }),
            Some(m) if m != md5 => report.modified.push(Entry { path: path.clone() }),
            _ => {}
        }
    }
    for path in old.keys() {
        if !new.contains_key(path) {
            report.deleted.push(Entry { path: path.clone() });
        }
    }
    Ok(report)
}

fn rel(repo: &Repo, p: &Path) -> String {
    p.strip_prefix(&repo.root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}
