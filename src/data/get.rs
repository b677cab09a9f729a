//! `get` and `import`: copy a file or folder out of another DVC repository (a local path or a
//! `file://` URL) — its outputs from that repository's cache or remote, verified, and the files
//! git holds — either as plain files (`get`, tracked by nothing), or as an output of this
//! repository whose `.dvc` file records where it came from (`import`, written as `dvc import`
//! writes it: `frozen: true`, `deps: - path, repo: {url, rev, rev_lock}`, and the stage `md5`),
//! which `update` moves to the newest revision.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_norway::Value;

use super::dvcfile::DvcFile;
use super::external::{ExternalError, ExternalRepo, Item, Source};
use super::fsutil::{normalize, temp_path, write_atomic};
use super::hash::{HashKind, md5_bytes};
use super::manifest::{self, Entry};
use super::odb::{LinkType, Odb, Oid};
use super::repo::Repo;
use super::{Error, gitignore, yaml};
use crate::progress::Progress;

/// Why `get`, `import` or `update` stopped.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    #[error("`{}` already exists", .0.display())]
    Exists(PathBuf),
    #[error("`{}` is not an import: it has no `deps` entry with a `repo`", .0.display())]
    NotAnImport(PathBuf),
    #[error("The repository `{url}` has no commit to import from")]
    NoCommit { url: String },
    #[error(transparent)]
    External(#[from] ExternalError),
}

impl From<Error> for GetError {
    fn from(e: Error) -> Self {
        GetError::External(ExternalError::Data(e))
    }
}

impl GetError {
    /// The fix to suggest to a person.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            GetError::Exists(_) => {
                "pick another name with `-o`, or pass `--force` to replace it".into()
            }
            GetError::NotAnImport(_) => "name a `.dvc` file that `vintner import` wrote".into(),
            GetError::NoCommit { .. } => "commit something in that repository first".into(),
            GetError::External(e) => return e.hint(),
        })
    }
}

/// Result alias for these verbs.
pub type Result<T, E = GetError> = std::result::Result<T, E>;

/// What `get` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Got {
    /// The file or folder written.
    pub path: PathBuf,
    pub files: usize,
}

/// Copies `path` of the repository `url` (at `rev`, else as `ExternalRepo::open` reads it) to
/// `out` (default: its name, in `cwd`). The copy appears whole or not at all; an existing
/// destination is replaced only with `force`.
pub fn get(
    url: &str,
    path: &str,
    rev: Option<&str>,
    out: Option<&Path>,
    cwd: &Path,
    force: bool,
    progress: &dyn Progress,
) -> Result<Got> {
    let ext = ExternalRepo::open(url, rev, cwd)?;
    let items = ext.items(path)?;
    let dest = destination(path, out, cwd);
    if std::fs::symlink_metadata(&dest).is_ok() && !force {
        return Err(GetError::Exists(dest));
    }
    let staging = temp_path(&dest);
    let store = staging.with_extension("objects");
    let written = materialize(&ext, &items, &staging, &store, progress);
    let _ = std::fs::remove_dir_all(&store);
    if let Err(e) = written {
        remove_any(&staging);
        return Err(e);
    }
    if std::fs::symlink_metadata(&dest).is_ok() {
        remove_any(&dest);
    }
    std::fs::rename(&staging, &dest).map_err(Error::io("rename into place", &dest))?;
    Ok(Got {
        path: dest,
        files: items.len(),
    })
}

/// Where a path goes: `out` (relative to `cwd`), or its last component in `cwd`.
fn destination(path: &str, out: Option<&Path>, cwd: &Path) -> PathBuf {
    match out {
        Some(o) => normalize(&cwd.join(o)),
        None => {
            let name = path.trim_matches('/').rsplit('/').next().unwrap_or(path);
            let name = if name.is_empty() { "." } else { name };
            normalize(&cwd.join(name))
        }
    }
}

/// Writes the items to `staging` (a file, or a folder of them), objects through the
/// scratch store `store`.
fn materialize(
    ext: &ExternalRepo,
    items: &[Item],
    staging: &Path,
    store: &Path,
    progress: &dyn Progress,
) -> Result<()> {
    let odb = Odb::new(store);
    let single = items.len() == 1 && items[0].rel.is_empty();
    if items.is_empty() {
        std::fs::create_dir_all(staging).map_err(Error::io("create folder", staging))?;
    }
    for item in items {
        let dest = if single {
            staging.to_path_buf()
        } else {
            staging.join(&item.rel)
        };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
        }
        match &item.source {
            Source::Git(rel) => write_atomic(&dest, &ext.read_file(rel)?)?,
            Source::Object(oid) => {
                ext.fetch_into(oid, &odb, progress)?;
                odb.checkout_file(oid, &dest, &[LinkType::Copy], item.isexec)?;
            }
        }
    }
    Ok(())
}

fn remove_any(path: &Path) {
    let _ = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => Ok(()),
    };
}

/// What `import` or `update` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// The `.dvc` file, relative to the repository root.
    pub dvc_file: String,
    /// The output, relative to the repository root.
    pub path: String,
    /// The path in the other repository, and that repository.
    pub source: String,
    pub url: String,
    /// The commit imported.
    pub rev_lock: String,
    /// False when `update` found nothing new.
    pub changed: bool,
    /// Files git should stage, relative to the root.
    pub git_add: Vec<String>,
}

/// Where an import comes from, as its `.dvc` file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    path: String,
    url: String,
    rev: Option<String>,
    /// `rev` comes after `rev_lock` in the file (DVC appends it there when `update --rev`
    /// adds it to an import that had none, and keeps the order it reads).
    rev_last: bool,
}

/// Imports `path` of the repository `url` (at `rev`, else its `HEAD`) as an output of `repo`
/// at `out` (default: its name, in `cwd`).
#[allow(clippy::too_many_arguments)]
pub fn import(
    repo: &Repo,
    url: &str,
    path: &str,
    rev: Option<&str>,
    out: Option<&Path>,
    cwd: &Path,
    force: bool,
    progress: &dyn Progress,
) -> Result<Imported> {
    let dest = destination(path, out, cwd);
    if !dest.starts_with(&repo.root) || dest == repo.root {
        return Err(Error::OutsideRepo {
            path: dest,
            root: repo.root.clone(),
        }
        .into());
    }
    if std::fs::symlink_metadata(&dest).is_ok() && !force {
        return Err(GetError::Exists(dest));
    }
    let mut dvc_path = dest.clone().into_os_string();
    dvc_path.push(".dvc");
    let origin = Origin {
        path: path.to_string(),
        url: url.to_string(),
        rev: rev.map(str::to_string),
        rev_last: false,
    };
    let mut done = write_import(
        repo,
        &origin,
        &PathBuf::from(dvc_path),
        &dest,
        true,
        progress,
    )?;
    let gitignore = dest
        .parent()
        .map(|p| p.join(".gitignore"))
        .unwrap_or_default();
    done.git_add.push(
        super::target::shown(repo, &gitignore)
            .to_string_lossy()
            .into_owned(),
    );
    Ok(done)
}

/// Brings each import `.dvc` file `targets` name (relative to `cwd`) to the newest commit of
/// its revision (`rev` replaces the recorded one).
pub fn update(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    rev: Option<&str>,
    progress: &dyn Progress,
) -> Result<Vec<Imported>> {
    let mut report = Vec::new();
    for t in targets {
        let file = super::target::dvc_file(repo, t, cwd).map_err(|e| match e {
            super::target::VerbError::Data(d) => GetError::from(d),
            other => GetError::from(Error::MalformedDvcFile {
                path: normalize(&cwd.join(t)),
                message: other.to_string(),
            }),
        })?;
        let mut origin = read_origin(&file.path)?;
        if let Some(r) = rev {
            origin.rev = Some(r.to_string());
        }
        let out = file
            .outs
            .first()
            .ok_or_else(|| GetError::NotAnImport(file.path.clone()))?;
        let dest = file.out_path(out);
        report.push(write_import(
            repo, &origin, &file.path, &dest, false, progress,
        )?);
    }
    Ok(report)
}

/// Reads where an import `.dvc` file says its data came from.
fn read_origin(dvc_path: &Path) -> Result<Origin> {
    let text = std::fs::read_to_string(dvc_path).map_err(Error::io("read", dvc_path))?;
    let doc: Value = serde_norway::from_str(&text).map_err(|e| Error::MalformedDvcFile {
        path: dvc_path.to_path_buf(),
        message: e.to_string(),
    })?;
    let not_import = || GetError::NotAnImport(dvc_path.to_path_buf());
    let dep = doc
        .get("deps")
        .and_then(Value::as_sequence)
        .and_then(|d| d.first())
        .ok_or_else(not_import)?;
    let repo = dep.get("repo").ok_or_else(not_import)?;
    let text_of = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let keys: Vec<&str> = repo
        .as_mapping()
        .map(|m| m.keys().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let at = |k: &str| keys.iter().position(|x| *x == k);
    Ok(Origin {
        path: text_of(dep.get("path")).ok_or_else(not_import)?,
        url: text_of(repo.get("url")).ok_or_else(not_import)?,
        rev: text_of(repo.get("rev")),
        rev_last: match (at("rev"), at("rev_lock")) {
            (Some(r), Some(l)) => r > l,
            (None, _) => true,
            (Some(_), None) => false,
        },
    })
}

/// Fetches what `origin` names at its newest commit into the cache, writes the `.dvc` file,
/// the `.gitignore` entry, and checks the output out. `fresh` is a new import; otherwise an
/// unchanged import is left as it is, and a failed checkout puts the old `.dvc` file back.
fn write_import(
    repo: &Repo,
    origin: &Origin,
    dvc_path: &Path,
    dest: &Path,
    fresh: bool,
    progress: &dyn Progress,
) -> Result<Imported> {
    // The URL is recorded as given; a relative one is read from the repository root.
    let ext = ExternalRepo::open(
        &origin.url,
        Some(origin.rev.as_deref().unwrap_or("HEAD")),
        &repo.root,
    )
    .map_err(|e| match e {
        ExternalError::UnknownRev { .. } if origin.rev.is_none() => GetError::NoCommit {
            url: origin.url.clone(),
        },
        other => other.into(),
    })?;
    let rev_lock = ext.commit.clone().unwrap_or_default();
    let items = ext.items(&origin.path)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    // Everything into this repository's cache first.
    let mut entries: Vec<Entry> = Vec::new();
    let mut size = 0u64;
    for item in &items {
        let oid = match &item.source {
            Source::Object(oid) => {
                ext.fetch_into(oid, &cache, progress)?;
                oid.clone()
            }
            Source::Git(rel) => {
                let bytes = ext.read_file(rel)?;
                let oid = Oid::new(md5_bytes(&bytes), HashKind::Md5);
                cache.add_bytes(&bytes, &oid)?;
                oid
            }
        };
        let path = cache.path(&oid);
        size += std::fs::metadata(&path)
            .map_err(Error::io("stat", &path))?
            .len();
        entries.push(Entry {
            relpath: item.rel.clone(),
            md5: oid.md5,
        });
    }
    let single = entries.len() == 1 && entries[0].relpath.is_empty();
    let (md5, nfiles) = if single {
        (entries[0].md5.clone(), None)
    } else {
        manifest::sort(&mut entries);
        let bytes = manifest::to_bytes(&entries);
        let md5 = manifest::dir_md5(&bytes);
        cache.add_bytes(&bytes, &Oid::new(md5.clone(), HashKind::Md5))?;
        (md5, Some(entries.len() as u64))
    };
    let out_name = dest
        .strip_prefix(dvc_path.parent().unwrap_or(&repo.root))
        .unwrap_or(dest)
        .to_string_lossy()
        .into_owned();
    let text = render_import(origin, &rev_lock, &md5, size, nfiles, &out_name);
    let shown = |p: &Path| super::target::shown(repo, p).to_string_lossy().into_owned();
    let mut done = Imported {
        dvc_file: shown(dvc_path),
        path: shown(dest),
        source: origin.path.clone(),
        url: origin.url.clone(),
        rev_lock,
        changed: true,
        git_add: vec![shown(dvc_path)],
    };
    let old = std::fs::read_to_string(dvc_path).ok();
    if !fresh && old.as_deref() == Some(text.as_str()) {
        done.changed = false;
        return Ok(done);
    }
    write_atomic(dvc_path, text.as_bytes())?;
    if let (Some(dir), Some(name)) = (dest.parent(), dest.file_name()) {
        gitignore::ignore(dir, &name.to_string_lossy())?;
    }
    let file = DvcFile::load(dvc_path)?;
    let outs: Vec<super::index::Tracked> = file
        .outs
        .iter()
        .map(|o| super::index::Tracked {
            dvc_path: file.path.clone(),
            path: file.out_path(o),
            out: o.clone(),
            only: None,
            stage: None,
        })
        .collect();
    if let Err(e) = super::checkout::checkout_outs(repo, &outs, fresh, progress) {
        match old {
            Some(old) => write_atomic(dvc_path, old.as_bytes())?,
            None => std::fs::remove_file(dvc_path).map_err(Error::io("remove", dvc_path))?,
        }
        return Err(e.into());
    }
    Ok(done)
}

/// The `.dvc` file of an import, byte for byte as `dvc import` writes it.
fn render_import(
    origin: &Origin,
    rev_lock: &str,
    md5: &str,
    size: u64,
    nfiles: Option<u64>,
    out_path: &str,
) -> String {
    let stage_md5 = stage_md5(origin, rev_lock, md5, out_path);
    let mut s = format!("md5: {stage_md5}\nfrozen: true\ndeps:\n");
    s.push_str(&format!("- path:{}\n", yaml::scalar(&origin.path, 7, 4)));
    s.push_str("  repo:\n");
    s.push_str(&format!("    url:{}\n", yaml::scalar(&origin.url, 8, 6)));
    let rev = origin
        .rev
        .as_ref()
        .map(|r| format!("    rev:{}\n", yaml::scalar(r, 8, 6)))
        .unwrap_or_default();
    if !origin.rev_last {
        s.push_str(&rev);
    }
    s.push_str(&format!("    rev_lock: {rev_lock}\n"));
    if origin.rev_last {
        s.push_str(&rev);
    }
    s.push_str(&format!("outs:\n- md5: {md5}\n  size: {size}\n"));
    if let Some(n) = nfiles {
        s.push_str(&format!("  nfiles: {n}\n"));
    }
    s.push_str("  hash: md5\n");
    s.push_str(&format!("  path:{}\n", yaml::scalar(out_path, 7, 4)));
    s
}

/// DVC's stage `md5`: the md5 of the stage as `json.dumps(sort_keys=True)` writes it, without
/// `frozen`, `size`, `nfiles` and `isexec`.
fn stage_md5(origin: &Origin, rev_lock: &str, md5: &str, out_path: &str) -> String {
    let s = |out: &mut String, v: &str| manifest::push_py_json_str(out, v);
    let mut j = String::from("{\"deps\": [{\"path\": ");
    s(&mut j, &origin.path);
    j.push_str(", \"repo\": {");
    if let Some(rev) = &origin.rev {
        j.push_str("\"rev\": ");
        s(&mut j, rev);
        j.push_str(", ");
    }
    j.push_str("\"rev_lock\": ");
    s(&mut j, rev_lock);
    j.push_str(", \"url\": ");
    s(&mut j, &origin.url);
    j.push_str("}}], \"outs\": [{\"hash\": \"md5\", \"md5\": ");
    s(&mut j, md5);
    j.push_str(", \"path\": ");
    s(&mut j, out_path);
    j.push_str("}]}");
    md5_bytes(j.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_file_matches_dvc_bytes() {
        let origin = Origin {
            path: "a.txt".into(),
            url: "../s".into(),
            rev: Some("HEAD~1".into()),
            rev_last: false,
        };
        let text = render_import(
            &origin,
            "9654ee2ade6bea50a6736c7446326c1d3d0662db",
            "60b725f10c9c85c70d97880dfe8191b3",
            2,
            None,
            "a1.txt",
        );
        assert_eq!(
            text,
            "md5: 4208f9757ac313840a2cfcfd1deafbee\nfrozen: true\ndeps:\n- path: a.txt\n  repo:\n    \
             url: ../s\n    rev: HEAD~1\n    rev_lock: 9654ee2ade6bea50a6736c7446326c1d3d0662db\nouts:\n\
             - md5: 60b725f10c9c85c70d97880dfe8191b3\n  size: 2\n  hash: md5\n  path: a1.txt\n"
        );
    }
}
