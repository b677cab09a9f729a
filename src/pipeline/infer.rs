//! `infer`: resolve a model (registry alias or version, or a run) to the exact bytes its run
//! recorded, fetch them from the data remote into the cache (verified), load the bundle, check
//! the input against its signature and predict — in any clone, with no `models/` folder needed.
//! Without a tracking store, the model git versions (`<model.output>.dvc` at HEAD) is used.
//!
//! Nothing already on disk is trusted: the cache objects and the unpacked copy under
//! `.dvc/tmp/vintner/` are checked against their md5 (through the state cache, so an unchanged
//! file is not read again) and a damaged one is fetched or unpacked again, and reported.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lineage::{self, DataRef, ModelRef};
use super::register::open_model_remote;
use super::{Error, Result};
use rayon::prelude::*;

use crate::data::dvcfile::DvcFile;
use crate::data::hash::HashKind;
use crate::data::odb::{Odb, Oid};
use crate::data::repo::Repo;
use crate::data::state::{FileStat, State};
use crate::data::transfer;
use crate::data::workspace::file_md5;
use crate::ml;
use crate::progress::Progress;
use crate::track::{ModelUri, Run, Tracker, VersionRef};

/// Which model to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    Alias { name: String, alias: String },
    Version { name: String, version: u64 },
    Run(String),
}

impl ModelChoice {
    /// Parses `name@alias`, `name/version` or their `models:/…` URI forms (the registry's one
    /// parser, [`ModelUri`]).
    pub fn parse(text: &str) -> Result<ModelChoice> {
        let uri = ModelUri::parse(text).map_err(|_| Error::BadModelRef(text.to_string()))?;
        match uri.version {
            Some(VersionRef::Alias(alias)) => Ok(ModelChoice::Alias {
                name: uri.name,
                alias,
            }),
            Some(VersionRef::Version(version)) => Ok(ModelChoice::Version {
                name: uri.name,
                version,
            }),
            None => Err(Error::BadModelRef(text.to_string())),
        }
    }
}

/// A model resolved through the tracker, or from the `.dvc` file git versions.
#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    /// `name@alias`, `name/3`, `run <id>` or `models/x.dvc at HEAD`, for messages.
    pub label: String,
    pub registered: Option<(String, u64)>,
    /// The run that produced the model; `None` for a model taken from git (its bundle names
    /// the run instead).
    pub run_id: Option<String>,
    pub model: ModelRef,
    #[serde(skip)]
    pub run: Option<Run>,
}

/// Finds the model's run and its recorded bytes.
pub fn resolve(tracker: &dyn Tracker, choice: &ModelChoice) -> Result<Resolved> {
    let (label, registered, run_id, version_tags) = match choice {
        ModelChoice::Alias { name, alias } => {
            let v = tracker
                .get_model_version_by_alias(name, alias)
                .map_err(|e| match e {
                    crate::track::Error::NotFound { .. } => Error::NoSuchAlias {
                        name: name.clone(),
                        alias: alias.clone(),
                    },
                    // An MLflow server answers a missing alias with 400 INVALID_PARAMETER_VALUE.
                    crate::track::Error::Server {
                        ref error_code,
                        ref message,
                        ..
                    } if error_code == "INVALID_PARAMETER_VALUE" && message.contains("alias") => {
                        Error::NoSuchAlias {
                            name: name.clone(),
                            alias: alias.clone(),
                        }
                    }
                    other => other.into(),
                })?;
            (
                format!("{name}@{alias}"),
                Some((name.clone(), v.version)),
                v.run_id.clone(),
                v.tags,
            )
        }
        ModelChoice::Version { name, version } => {
            let v = tracker.get_model_version(name, *version)?;
            (
                format!("{name}/{version}"),
                Some((name.clone(), *version)),
                v.run_id.clone(),
                v.tags,
            )
        }
        ModelChoice::Run(id) => (format!("run {id}"), None, Some(id.clone()), Vec::new()),
    };
    let run_id = run_id.ok_or_else(|| Error::NoModel { run: label.clone() })?;
    let run = tracker.get_run(&run_id)?;
    let model = ModelRef::from_tags(&version_tags)
        .or_else(|| ModelRef::from_tags(&run.data.tags))
        .ok_or_else(|| Error::NoModel {
            run: run_id.clone(),
        })?;
    Ok(Resolved {
        label,
        registered,
        run_id: Some(run_id),
        model,
        run: Some(run),
    })
}

/// The model git versions: `<output>.dvc` as committed at HEAD (not as the workspace has it), to
/// be fetched from the data remote it names (or the default one).
pub fn versioned_model(repo: &Repo, output: &Path) -> Result<Resolved> {
    let rel = output.to_string_lossy().trim_end_matches('/').to_string();
    let dvc_rel = format!("{rel}.dvc");
    let no_model = |detail: String| Error::NoVersionedModel {
        path: dvc_rel.clone(),
        detail,
    };
    let text = crate::git::show(&repo.root, "HEAD", &format!("./{dvc_rel}")).map_err(|e| {
        no_model(match e {
            crate::git::GitError::Failed { stderr, .. } => {
                format!("is not in the commit at HEAD ({})", stderr.trim())
            }
            other => format!("could not be read from git ({other})"),
        })
    })?;
    let dvc = DvcFile::parse(&text, &repo.root.join(&dvc_rel))?;
    let [out] = dvc.outs.as_slice() else {
        return Err(no_model(format!(
            "lists {} outputs, not the one model folder",
            dvc.outs.len()
        )));
    };
    let Some(md5) = out.md5.clone() else {
        return Err(no_model("records no md5".into()));
    };
    if out.hash != HashKind::Md5 {
        return Err(no_model(
            "was written by DVC 2 (no `hash: md5`), not by `vintner train`".into(),
        ));
    }
    let config = repo.config()?;
    let remote = out
        .remote
        .clone()
        .or_else(|| config.default_remote().map(str::to_string))
        .ok_or(crate::data::Error::NoRemote)?;
    let remote_url = config.remote(&remote)?.url;
    Ok(Resolved {
        label: format!("{dvc_rel} at HEAD"),
        registered: None,
        run_id: None,
        model: ModelRef {
            path: rel,
            md5,
            remote,
            remote_url,
        },
        run: None,
    })
}

/// Something found damaged on disk and put right before use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// What was damaged: a cache object (`files/md5/…`) or a file of an unpacked copy
    /// (`.dvc/tmp/vintner/…`).
    pub object: String,
    pub expected_md5: String,
    /// The md5 of what was there (`missing` for a file that was gone, `extra` for one that does
    /// not belong).
    pub found: String,
    /// How it was put right.
    pub action: String,
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let found = match self.found.as_str() {
            "missing" => "was missing".to_string(),
            "extra" => "does not belong there".to_string(),
            md5 => format!("had md5 {md5}, not {}", self.expected_md5),
        };
        write!(f, "`{}` {found}; {}", self.object, self.action)
    }
}

/// Fetches the model's exact bytes (verified) and lays the bundle out under `.dvc/tmp`; returns
/// its folder and what had to be repaired on the way.
pub fn fetch_model(
    repo: &Repo,
    model: &ModelRef,
    progress: &dyn Progress,
) -> Result<(PathBuf, Vec<Repair>)> {
    let oid = Oid::new(model.md5.clone(), HashKind::Md5);
    let state = repo.state();
    let mut repairs = Vec::new();
    let out = fetch_and_materialize(
        repo,
        &state,
        model,
        &oid,
        "models",
        None,
        &mut repairs,
        progress,
    );
    state.save();
    Ok((out?, repairs))
}

/// Makes `oid` whole and verified in the cache (fetching what is missing or damaged), then
/// makes sure its unpacked copy under `.dvc/tmp/vintner/<kind>/<md5>` matches it.
#[allow(clippy::too_many_arguments)]
fn fetch_and_materialize(
    repo: &Repo,
    state: &State,
    holder: &ModelRef,
    oid: &Oid,
    kind: &str,
    file_name: Option<&str>,
    repairs: &mut Vec<Repair>,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    // Fetched objects are verified on the way in; a second round only follows a damaged
    // manifest, whose files could not be checked before it was replaced.
    for round in 0.. {
        let damaged = damaged_objects(&cache, state, oid, progress)?;
        if damaged.is_empty() && missing_objects(&cache, oid)? == 0 {
            break;
        }
        if round == 2 {
            let (bad, found) = damaged
                .into_iter()
                .next()
                .unwrap_or_else(|| (oid.clone(), "missing".into()));
            return Err(crate::data::Error::HashMismatch {
                what: format!("cache object `{}` after fetching it again", bad.rel_path()),
                expected: bad.hex().to_string(),
                found,
            }
            .into());
        }
        let remote = open_model_remote(repo, holder)?;
        let remote = remote.as_ref();
        if !transfer::remote_has_whole(remote, oid)? {
            return Err(Error::ModelNotInRemote {
                run: holder.path.clone(),
                object: oid.rel_path(),
                remote: remote.describe(),
            });
        }
        for (bad, found) in &damaged {
            let path = cache.path(bad);
            std::fs::remove_file(&path).map_err(crate::data::Error::io("remove", &path))?;
            repairs.push(Repair {
                object: bad.rel_path(),
                expected_md5: bad.hex().to_string(),
                found: found.clone(),
                action: format!("fetched again from {}", remote.describe()),
            });
        }
        let before: std::collections::HashSet<Oid> =
            cache_objects(&cache, oid)?.into_iter().collect();
        transfer::fetch_object(&cache, remote, oid, None, progress)?;
        for o in cache_objects(&cache, oid)? {
            if before.contains(&o) {
                continue;
            }
            let path = cache.path(&o);
            if let Ok(meta) = std::fs::metadata(&path) {
                state.set(&path, &FileStat::from(&meta), o.hex());
            }
        }
    }
    let folder = repo
        .dvc_dir
        .join("tmp")
        .join("vintner")
        .join(kind)
        .join(oid.hex());
    let dest = match file_name {
        Some(n) => folder.join(n),
        None => folder.clone(),
    };
    let expected = unpacked_files(&cache, oid, &dest)?;
    let shown = |p: &Path| {
        p.strip_prefix(&repo.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let mut stale = false;
    if std::fs::symlink_metadata(&dest).is_ok() {
        for (path, found, md5) in check_unpacked(&dest, &expected, state, progress)? {
            stale = true;
            repairs.push(Repair {
                object: shown(&path),
                expected_md5: md5,
                found,
                action: "unpacked again from the cache".into(),
            });
        }
    } else {
        stale = true;
    }
    if stale {
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(crate::data::Error::io("create folder", parent))?;
        }
        cache.materialize(oid, &dest)?;
        // A copy of objects verified above.
        for (path, md5) in &expected {
            if let Ok(meta) = std::fs::metadata(path) {
                state.set(path, &FileStat::from(&meta), md5);
            }
        }
    }
    Ok(dest)
}

/// The objects `oid` consists of that the cache holds: the object itself and, for a folder
/// whose manifest is there, every file it lists.
fn cache_objects(cache: &Odb, oid: &Oid) -> Result<Vec<Oid>> {
    let mut out = Vec::new();
    if cache.contains(oid) {
        out.push(oid.clone());
        if oid.is_dir() {
            for e in cache.read_manifest(oid)? {
                let member = Oid::new(e.md5, oid.kind());
                if cache.contains(&member) {
                    out.push(member);
                }
            }
        }
    }
    Ok(out)
}

/// How many of `oid`'s objects the cache lacks (a folder without its manifest counts once).
fn missing_objects(cache: &Odb, oid: &Oid) -> Result<usize> {
    if !cache.contains(oid) {
        return Ok(1);
    }
    if !oid.is_dir() {
        return Ok(0);
    }
    Ok(cache
        .read_manifest(oid)?
        .iter()
        .filter(|e| !cache.contains(&Oid::new(e.md5.clone(), oid.kind())))
        .count())
}

/// The cache objects of `oid` whose bytes do not match their id, with the md5 found. A damaged
/// manifest stands for the whole folder (its list of files cannot be trusted).
fn damaged_objects(
    cache: &Odb,
    state: &State,
    oid: &Oid,
    progress: &dyn Progress,
) -> Result<Vec<(Oid, String)>> {
    let mut damaged = Vec::new();
    if !cache.contains(oid) {
        return Ok(damaged);
    }
    if let Some(found) = object_mismatch(cache, state, oid, progress)? {
        damaged.push((oid.clone(), found));
        return Ok(damaged);
    }
    if oid.is_dir() {
        let members: Vec<Oid> = cache
            .read_manifest(oid)?
            .into_iter()
            .map(|e| Oid::new(e.md5, oid.kind()))
            .filter(|m| cache.contains(m))
            .collect();
        let checked: Vec<Result<Option<String>>> = members
            .par_iter()
            .map(|m| object_mismatch(cache, state, m, progress))
            .collect();
        for (m, found) in members.into_iter().zip(checked) {
            if let Some(found) = found? {
                damaged.push((m, found));
            }
        }
    }
    Ok(damaged)
}

/// `Some(found md5)` when a stored object's bytes are not what its id says.
fn object_mismatch(
    cache: &Odb,
    state: &State,
    oid: &Oid,
    progress: &dyn Progress,
) -> Result<Option<String>> {
    let path = cache.path(oid);
    let meta = std::fs::metadata(&path).map_err(crate::data::Error::io("stat", &path))?;
    let found = file_md5(&path, &FileStat::from(&meta), state, progress)?;
    Ok((found != oid.hex()).then_some(found))
}

/// Every file an unpacked copy of `oid` at `dest` must hold, with its md5.
fn unpacked_files(cache: &Odb, oid: &Oid, dest: &Path) -> Result<Vec<(PathBuf, String)>> {
    if !oid.is_dir() {
        return Ok(vec![(dest.to_path_buf(), oid.hex().to_string())]);
    }
    Ok(cache
        .read_manifest(oid)?
        .into_iter()
        .map(|e| (dest.join(&e.relpath), e.md5))
        .collect())
}

/// The files of an unpacked copy that differ from what it must hold: `(path, found, md5)`.
fn check_unpacked(
    dest: &Path,
    expected: &[(PathBuf, String)],
    state: &State,
    progress: &dyn Progress,
) -> Result<Vec<(PathBuf, String, String)>> {
    let mut wrong = Vec::new();
    let wanted: std::collections::HashSet<&Path> =
        expected.iter().map(|(p, _)| p.as_path()).collect();
    for entry in walkdir::WalkDir::new(dest).follow_links(false) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dest).to_path_buf();
            crate::data::Error::io("read folder", &path)(std::io::Error::other(e.to_string()))
        })?;
        if !entry.file_type().is_dir() && !wanted.contains(entry.path()) {
            wrong.push((entry.path().to_path_buf(), "extra".into(), String::new()));
        }
    }
    for (path, md5) in expected {
        let found = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_file() => file_md5(path, &FileStat::from(&meta), state, progress)?,
            _ => "missing".into(),
        };
        if &found != md5 {
            wrong.push((path.clone(), found, md5.clone()));
        }
    }
    Ok(wrong)
}

/// Fetches the exact training data a run recorded (by md5) and returns local copies named as
/// the originals, in order.
pub fn fetch_training_data(
    repo: &Repo,
    run: &Run,
    progress: &dyn Progress,
) -> Result<Vec<PathBuf>> {
    let model = ModelRef::from_tags(&run.data.tags);
    let mut repairs = Vec::new();
    fetch_data(
        repo,
        &run_data(run)?,
        model.as_ref(),
        &mut repairs,
        progress,
    )
}

/// The training data a run recorded.
fn run_data(run: &Run) -> Result<Vec<DataRef>> {
    run.data
        .tags
        .iter()
        .find(|t| t.key == lineage::DATA)
        .and_then(|t| serde_json::from_str(&t.value).ok())
        .ok_or_else(|| Error::NoData {
            run: run.info.run_id.clone(),
        })
}

/// The training data a bundle's schema records (the model's own account, with no run).
fn bundle_data(meta: &ml::bundle::BundleMeta) -> Vec<DataRef> {
    meta.schema
        .files
        .iter()
        .map(|f| DataRef {
            path: f.path.clone(),
            md5: f.md5.clone(),
            size: 0,
            remote: None,
        })
        .collect()
}

/// Fetches data files by md5 (from their remote, else the default one, else the model's) into
/// verified copies under `.dvc/tmp/vintner/data/<md5>/<name>`.
fn fetch_data(
    repo: &Repo,
    refs: &[DataRef],
    model: Option<&ModelRef>,
    repairs: &mut Vec<Repair>,
    progress: &dyn Progress,
) -> Result<Vec<PathBuf>> {
    let config = repo.config()?;
    let state = repo.state();
    let mut files = Vec::new();
    for r in refs {
        let remote_name = r
            .remote
            .clone()
            .or_else(|| config.default_remote().map(str::to_string))
            .unwrap_or_default();
        let remote_url = config
            .remote(&remote_name)
            .map(|rc| rc.url)
            .unwrap_or_else(|_| model.map(|m| m.remote_url.clone()).unwrap_or_default());
        let holder = ModelRef {
            path: r.path.clone(),
            md5: r.md5.clone(),
            remote: remote_name,
            remote_url,
        };
        let name = Path::new(&r.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data.csv".into());
        let oid = Oid::new(r.md5.clone(), HashKind::Md5);
        let file = fetch_and_materialize(
            repo,
            &state,
            &holder,
            &oid,
            "data",
            Some(&name),
            repairs,
            progress,
        );
        match file {
            Ok(f) => files.push(f),
            Err(e) => {
                state.save();
                return Err(e);
            }
        }
    }
    state.save();
    Ok(files)
}

/// Predictions and, when the input had the target, how good they are.
#[derive(Debug, Clone, Serialize)]
pub struct Predictions {
    pub model: String,
    /// The run that produced the model (from the tracker, or as its bundle records it).
    pub run_id: String,
    /// The model's md5 (`<md5>.dir`), as versioned.
    pub model_md5: String,
    pub input: Vec<String>,
    pub predictions: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<ml::Metrics>,
    /// Whether the input is the model's own training data: `metrics` then measure how well it
    /// fits what it saw, not how well it predicts.
    pub in_sample: bool,
    /// The run's cross-validated metrics (mean over the folds, and `_std`), the figures to
    /// trust; `None` without a tracked run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv_metrics: Option<std::collections::BTreeMap<String, f64>>,
    /// Input columns the model does not use.
    pub ignored_columns: Vec<String>,
    /// Damaged files found in the cache or the unpacked copies, and put right.
    pub repaired: Vec<Repair>,
}

/// Whether `path` holds exactly the bytes of one of the model's training files.
fn is_training_file(path: &Path, meta: &ml::bundle::BundleMeta) -> bool {
    crate::data::hash::md5_file(path, HashKind::Md5, &|_| {})
        .is_ok_and(|md5| meta.schema.files.iter().any(|f| f.md5 == md5))
}

/// The cross-validated metrics `train` logs on a run (the mean over the folds and its `_std`).
pub fn cv_metrics(run: &Run) -> Option<std::collections::BTreeMap<String, f64>> {
    let out: std::collections::BTreeMap<String, f64> = run
        .data
        .metrics
        .iter()
        .filter(|m| {
            let name = m.key.strip_suffix("_std").unwrap_or(&m.key);
            ml::metrics::METRIC_NAMES.contains(&name)
        })
        .map(|m| (m.key.clone(), m.value))
        .collect();
    (!out.is_empty()).then_some(out)
}

/// Predicts on `input` (or, without it, on the exact data version the model was trained on).
pub fn infer(
    repo: &Repo,
    resolved: &Resolved,
    input: Option<&Path>,
    separator: Option<u8>,
    progress: &dyn Progress,
) -> Result<Predictions> {
    let (bundle_dir, mut repaired) = fetch_model(repo, &resolved.model, progress)?;
    let (model, meta) = ml::bundle::load(&bundle_dir).map_err(ml::Error::from)?;
    let target = meta.schema.target().map(|c| c.name.clone());
    let inputs: Vec<PathBuf> = match (input, &resolved.run) {
        (Some(p), _) => vec![p.to_path_buf()],
        (None, Some(run)) => fetch_data(
            repo,
            &run_data(run)?,
            Some(&resolved.model),
            &mut repaired,
            progress,
        )?,
        (None, None) => fetch_data(
            repo,
            &bundle_data(&meta),
            Some(&resolved.model),
            &mut repaired,
            progress,
        )?,
    };
    let table = ml::input::read(&inputs, &model.feature_names, target.as_deref(), separator)
        .map_err(ml::Error::from)?;
    let predictions = model.predict(&table.x).map_err(ml::Error::from)?;
    let metrics = table
        .target
        .as_ref()
        .map(|y| ml::Metrics::compute(y, &predictions));
    Ok(Predictions {
        model: resolved.label.clone(),
        run_id: resolved
            .run_id
            .clone()
            .or_else(|| meta.run_id.clone())
            .unwrap_or_default(),
        model_md5: resolved.model.md5.clone(),
        input: inputs.iter().map(|p| p.display().to_string()).collect(),
        predictions,
        metrics,
        in_sample: match input {
            None => true,
            Some(p) => is_training_file(p, &meta),
        },
        cv_metrics: resolved.run.as_ref().and_then(cv_metrics),
        ignored_columns: table.ignored,
        repaired,
    })
}
