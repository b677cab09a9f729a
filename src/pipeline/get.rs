//! `get`: the exact, verified bytes of a registered model, or of any output of a tracked run,
//! copied where a person asks — for code that predicts in its own language
//! (`vintner get wine@champion -o model.pt && python predict.py`). The bytes come through the
//! same verified fetch as `infer`'s; the destination is written atomically and a different file
//! already there is never replaced unless asked.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::infer::{self, ModelChoice, Repair};
use super::lineage::{self, DataRef, ModelRef};
use super::{Error, Result};
use crate::data::fsutil::temp_path;
use crate::data::repo::Repo;
use crate::progress::Progress;
use crate::track::Tracker;

/// What to get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetChoice {
    /// A registered model (`name@alias`, `name/version`, `models:/…`).
    Model(ModelChoice),
    /// An output of a run: the one at `path`, else its model or only output.
    Run { id: String, path: Option<String> },
}

/// Finds the recorded bytes: `(label, run id, reference)`.
pub fn resolve(tracker: &dyn Tracker, choice: &GetChoice) -> Result<(String, String, ModelRef)> {
    match choice {
        GetChoice::Model(m) => {
            let r = infer::resolve(tracker, m)?;
            Ok((r.label, r.run_id.unwrap_or_default(), r.model))
        }
        GetChoice::Run { id, path } => {
            let run = tracker.get_run(id)?;
            let found = match path {
                Some(p) => super::run::model_of(&run, Some(p)).or_else(|e| {
                    // Any recorded file of the run: its training data or dependencies too.
                    data_of(&run, p).ok_or(e)
                }),
                None => super::run::model_of(&run, None),
            }?;
            Ok((format!("run {id}"), id.clone(), found))
        }
    }
}

/// A dependency (or training data file) the run recorded at `path`, with its remote.
fn data_of(run: &crate::track::Run, path: &str) -> Option<ModelRef> {
    let wanted = path.trim_start_matches("./").trim_end_matches('/');
    let refs: Vec<DataRef> = run
        .data
        .tags
        .iter()
        .find(|t| t.key == lineage::DATA)
        .and_then(|t| serde_json::from_str(&t.value).ok())?;
    let d = refs.into_iter().find(|d| d.path == wanted)?;
    Some(ModelRef {
        path: d.path,
        md5: d.md5,
        remote: d.remote.unwrap_or_default(),
        remote_url: String::new(),
    })
}

/// What `get` did.
#[derive(Debug, Clone, Serialize)]
pub struct Got {
    /// `name@alias`, `name/3` or `run <id>`.
    pub source: String,
    pub run_id: String,
    /// The output's path in the repository that produced it.
    pub path: String,
    pub md5: String,
    pub remote: String,
    /// Where the bytes are now.
    pub destination: PathBuf,
    /// False when the destination already held exactly these bytes.
    pub written: bool,
    /// Damaged files found in the cache or the unpacked copies, and put right.
    pub repaired: Vec<Repair>,
}

/// Fetches `model` (verified) and copies it to `dest`. A destination that already holds other
/// bytes is refused, unless `force` and it is a file (replaced atomically).
pub fn get(
    repo: &Repo,
    label: &str,
    run_id: &str,
    model: &ModelRef,
    dest: &Path,
    force: bool,
    progress: &dyn Progress,
) -> Result<Got> {
    let mut model = model.clone();
    if model.remote.is_empty() && model.remote_url.is_empty() {
        // A dependency recorded without a remote: the repository's default one.
        let config = repo.config()?;
        model.remote = config
            .default_remote()
            .map(str::to_string)
            .ok_or(crate::data::Error::NoRemote)?;
    }
    let (fetched, repaired) = infer::fetch_model(repo, &model, progress)?;
    let got = |written| Got {
        source: label.to_string(),
        run_id: run_id.to_string(),
        path: model.path.clone(),
        md5: model.md5.clone(),
        remote: model.remote.clone(),
        destination: dest.to_path_buf(),
        written,
        repaired: repaired.clone(),
    };
    let io = crate::data::Error::io;
    if let Ok(meta) = std::fs::symlink_metadata(dest) {
        let state = repo.state();
        let same = crate::data::workspace::hash_output(dest, &state, None, progress)
            .ok()
            .flatten()
            .is_some_and(|h| h.md5 == model.md5);
        if same {
            return Ok(got(false));
        }
        if !(force && meta.is_file()) {
            return Err(Error::DestinationExists {
                path: dest.to_string_lossy().into_owned(),
                what: format!("{label} (`{}`, md5 {})", model.path, model.md5),
            });
        }
    }
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io("create folder", parent))?;
    }
    let tmp = temp_path(dest);
    let copied = copy_tree(&fetched, &tmp).and_then(|()| {
        std::fs::rename(&tmp, dest)
            .map_err(io("rename into", dest))
            .map_err(Error::from)
    });
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(got(true))
}

/// Copies a file or a folder's files into new, writable files at `to`.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    use crate::data::Error as E;
    fn copy_file(src: &Path, dst: &Path) -> Result<()> {
        let io = crate::data::Error::io;
        let mut r = std::fs::File::open(src).map_err(io("read", src))?;
        let mut w = std::fs::File::create(dst).map_err(io("write", dst))?;
        std::io::copy(&mut r, &mut w).map_err(io("write", dst))?;
        w.sync_all().map_err(io("write", dst))?;
        Ok(())
    }
    if !from.is_dir() {
        return copy_file(from, to);
    }
    for entry in walkdir::WalkDir::new(from).follow_links(false) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(from).to_path_buf();
            crate::data::Error::io("read folder", &path)(std::io::Error::other(e.to_string()))
        })?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let dst = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dst).map_err(E::io("create folder", &dst))?;
        } else {
            copy_file(entry.path(), &dst)?;
        }
    }
    Ok(())
}
