//! `destroy`: take DVC out of a repository, as `dvc destroy` does — every output stays in the
//! workspace as a writable file of its own (links into the cache become copies first), then
//! the `.dvc` files, `dvc.yaml`/`dvc.lock`, `.dvcignore` and the `.dvc` folder (with the cache
//! inside it) are deleted. `.gitignore` entries are left as DVC leaves them.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_norway::Value;

use super::repo::Repo;
use super::{Error, Result, index};

/// What `destroy` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Destroyed {
    /// `.dvc`, `dvc.yaml` and `dvc.lock` files deleted, relative to the root.
    pub dvc_files: Vec<String>,
    /// Outputs kept in the workspace as files of their own.
    pub outputs_kept: Vec<String>,
}

/// Destroys DVC's files in `repo`; see the module documentation.
pub fn destroy(repo: &Repo) -> Result<Destroyed> {
    let found = index::walk(repo)?;
    let mut report = Destroyed::default();
    let shown = |p: &Path| {
        p.strip_prefix(&repo.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let mut outs: Vec<PathBuf> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for f in &found.dvc {
        outs.extend(f.outs.iter().filter(|o| o.cache).map(|o| f.out_path(o)));
        files.push(f.path.clone());
    }
    for lock in &found.locks {
        let dir = lock.parent().unwrap_or(&repo.root);
        outs.extend(lock_outputs(lock)?.into_iter().map(|p| dir.join(p)));
        files.push(lock.clone());
        let yaml = dir.join("dvc.yaml");
        if yaml.is_file() {
            files.push(yaml);
        }
    }
    // Every output becomes a file of its own before the cache goes.
    let inside = super::paths::Inside::new(&repo.root);
    for out in outs {
        let out = super::fsutil::normalize(&out);
        if inside.check_lexical(&out).is_err() || std::fs::metadata(&out).is_err() {
            continue;
        }
        super::unprotect::unprotect(&out)?;
        report.outputs_kept.push(shown(&out));
    }
    for f in files {
        std::fs::remove_file(&f).map_err(Error::io("remove", &f))?;
        report.dvc_files.push(shown(&f));
    }
    let dvcignore = repo.root.join(".dvcignore");
    if dvcignore.is_file() {
        std::fs::remove_file(&dvcignore).map_err(Error::io("remove", &dvcignore))?;
    }
    make_writable(&repo.dvc_dir);
    std::fs::remove_dir_all(&repo.dvc_dir).map_err(Error::io("remove", &repo.dvc_dir))?;
    Ok(report)
}

/// The output paths a `dvc.lock` records (relative to its folder).
fn lock_outputs(lock: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(lock).map_err(Error::io("read", lock))?;
    let doc: Value = serde_norway::from_str(&text).map_err(|e| Error::MalformedDvcFile {
        path: lock.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut paths = Vec::new();
    if let Some(stages) = doc.get("stages").and_then(Value::as_mapping) {
        for stage in stages.values() {
            for out in stage
                .get("outs")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                if let Some(p) = out.get("path").and_then(Value::as_str) {
                    paths.push(p.to_string());
                }
            }
        }
    }
    Ok(paths)
}

/// Cache objects are read-only; their folders must be writable for the files to go.
fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        if e.file_type().is_dir()
            && let Ok(m) = e.metadata()
            && m.permissions().mode() & 0o200 == 0
        {
            let mode = m.permissions().mode() | 0o700;
            let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode));
        }
    }
}
