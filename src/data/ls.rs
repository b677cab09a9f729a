//! `ls`: what another (or this) repository holds — its git files and its DVC outputs merged into
//! one tree, as `dvc ls` lists it — with each entry's `isout`, `isdir`, `isexec`, `size` and
//! `md5` as `dvc ls --json` reports them.

use std::collections::BTreeMap;

use serde::Serialize;

use super::external::{ExternalError, ExternalRepo, FsEntry};
use super::odb::Oid;

/// One listed path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LsEntry {
    pub isout: bool,
    pub isdir: bool,
    pub isexec: bool,
    pub size: Option<u64>,
    pub md5: Option<String>,
    /// Relative to the listed folder (a file's own name when a file is listed).
    pub path: String,
}

/// What the `.dvc` files say of a path.
#[derive(Debug, Clone, Default)]
struct DvcInfo {
    is_dir: bool,
    size: Option<u64>,
    md5: Option<String>,
}

/// Lists `path` (a folder or file of the repository, `/`-separated; the root when empty):
/// its children, or with `recursive` every file below it; with `dvc_only`, only what the
/// `.dvc` files record.
pub fn ls(
    ext: &ExternalRepo,
    path: &str,
    recursive: bool,
    dvc_only: bool,
) -> std::result::Result<Vec<LsEntry>, ExternalError> {
    let outs = ext.outputs()?;
    let mut dvc: BTreeMap<String, DvcInfo> = BTreeMap::new();
    let mut out_keys: Vec<Vec<&str>> = Vec::new();
    for o in &outs {
        out_keys.push(o.key.split('/').collect());
        add_parents(&mut dvc, &o.key);
        dvc.insert(
            o.key.clone(),
            DvcInfo {
                is_dir: o.out.is_dir(),
                size: o.out.size,
                md5: o.out.md5.clone(),
            },
        );
        if let Some(md5) = o.out.md5.as_deref().filter(|m| m.ends_with(".dir"))
            && let Some(entries) = ext.manifest(&Oid::new(md5, o.out.hash))?
        {
            for e in entries {
                let key = format!("{}/{}", o.key, e.relpath);
                add_parents(&mut dvc, &key);
                dvc.insert(
                    key,
                    DvcInfo {
                        is_dir: false,
                        size: None,
                        md5: Some(e.md5),
                    },
                );
            }
        }
    }
    let fs: BTreeMap<String, FsEntry> = if dvc_only {
        BTreeMap::new()
    } else {
        ext.files()?
    };
    let target = path.trim_matches('/').to_string();
    let is_out = |key: &str| {
        let parts: Vec<&str> = key.split('/').collect();
        out_keys.iter().any(|o| parts.starts_with(o))
    };
    let entry = |key: &str, shown: String| -> Option<LsEntry> {
        let f = fs.get(key);
        let mut d = dvc.get(key);
        if let (Some(f), Some(di)) = (f, d)
            && f.is_dir != di.is_dir
        {
            d = None;
        }
        if f.is_none() && d.is_none() {
            return None;
        }
        Some(LsEntry {
            isout: d.is_some() && is_out(key),
            isdir: f
                .map(|f| f.is_dir)
                .unwrap_or_else(|| d.is_some_and(|d| d.is_dir)),
            isexec: f.is_some_and(|f| !f.is_dir && f.isexec),
            size: match f {
                Some(f) => Some(f.size),
                None => d.and_then(|d| d.size),
            },
            md5: d.and_then(|d| d.md5.clone()),
            path: shown,
        })
    };
    let not_found = || ExternalError::NoSuchPath {
        path: path.to_string(),
        url: ext.url.clone(),
    };
    if !target.is_empty() {
        let is_dir = match (fs.get(&target), dvc.get(&target)) {
            (Some(f), _) => f.is_dir,
            (None, Some(d)) => d.is_dir,
            (None, None) => return Err(not_found()),
        };
        if !is_dir {
            let name = target.rsplit('/').next().unwrap_or(&target).to_string();
            return Ok(entry(&target, name).into_iter().collect());
        }
    }
    let prefix = if target.is_empty() {
        String::new()
    } else {
        format!("{target}/")
    };
    let mut keys: Vec<&String> = fs.keys().chain(dvc.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut listed = Vec::new();
    for key in keys {
        let Some(rel) = key.strip_prefix(&prefix) else {
            continue;
        };
        if rel.is_empty() || (!recursive && rel.contains('/')) {
            continue;
        }
        if let Some(e) = entry(key, rel.to_string())
            && (!recursive || !e.isdir)
        {
            listed.push(e);
        }
    }
    listed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(listed)
}

/// Records the folders above `key` as folders the `.dvc` files know.
fn add_parents(dvc: &mut BTreeMap<String, DvcInfo>, key: &str) {
    let mut at = key;
    while let Some((parent, _)) = at.rsplit_once('/') {
        dvc.entry(parent.to_string()).or_insert(DvcInfo {
            is_dir: true,
            ..DvcInfo::default()
        });
        at = parent;
    }
}
