//! `infer`: resolve a model (registry alias or version, or a run) to the exact bytes its run
//! recorded, fetch them from the data remote into the cache (verified), load the bundle, check
//! the input against its signature and predict — in any clone, with no `models/` folder needed.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lineage::{self, DataRef, ModelRef};
use super::register::open_model_remote;
use super::{Error, Result};
use crate::data::hash::HashKind;
use crate::data::odb::Oid;
use crate::data::repo::Repo;
use crate::data::transfer;
use crate::ml;
use crate::progress::Progress;
use crate::track::{Run, Tracker};

/// Which model to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    Alias { name: String, alias: String },
    Version { name: String, version: u64 },
    Run(String),
}

impl ModelChoice {
    /// Parses `name@alias` or `name/version`.
    pub fn parse(text: &str) -> Result<ModelChoice> {
        if let Some((name, alias)) = text.rsplit_once('@')
            && !name.is_empty()
            && !alias.is_empty()
        {
            return Ok(ModelChoice::Alias {
                name: name.into(),
                alias: alias.into(),
            });
        }
        if let Some((name, version)) = text.rsplit_once('/')
            && let Ok(v) = version.parse::<u64>()
            && !name.is_empty()
        {
            return Ok(ModelChoice::Version {
                name: name.into(),
                version: v,
            });
        }
        Err(Error::BadModelRef(text.to_string()))
    }
}

/// A model resolved through the tracker.
#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    /// `name@alias`, `name/3` or `run <id>`, for messages.
    pub label: String,
    pub registered: Option<(String, u64)>,
    pub run_id: String,
    pub model: ModelRef,
    #[serde(skip)]
    pub run: Run,
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
        run_id,
        model,
        run,
    })
}

/// Fetches the model's exact bytes (verified) and lays the bundle out under `.dvc/tmp`; returns
/// its folder.
pub fn fetch_model(repo: &Repo, model: &ModelRef, progress: &dyn Progress) -> Result<PathBuf> {
    let oid = Oid::new(model.md5.clone(), HashKind::Md5);
    fetch_and_materialize(repo, model, &oid, "models", None, progress)
}

fn fetch_and_materialize(
    repo: &Repo,
    model: &ModelRef,
    oid: &Oid,
    kind: &str,
    file_name: Option<&str>,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let remote = open_model_remote(repo, model)?;
    let missing = !cache.contains(oid)
        || (oid.is_dir()
            && cache
                .read_manifest(oid)?
                .iter()
                .any(|e| !cache.contains(&Oid::new(e.md5.clone(), oid.kind()))));
    if missing {
        if !transfer::remote_has_whole(remote.as_ref(), oid)? {
            return Err(Error::ModelNotInRemote {
                run: model.path.clone(),
                object: oid.rel_path(),
                remote: remote.describe(),
            });
        }
        transfer::fetch_object(&cache, remote.as_ref(), oid, None, progress)?;
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
    if !dest.exists() {
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(crate::data::Error::io("create folder", parent))?;
        }
        cache.materialize(oid, &dest)?;
    }
    Ok(dest)
}

/// Fetches the exact training data a run recorded (by md5) and returns local copies named as
/// the originals, in order.
pub fn fetch_training_data(
    repo: &Repo,
    run: &Run,
    progress: &dyn Progress,
) -> Result<Vec<PathBuf>> {
    let refs: Vec<DataRef> = run
        .data
        .tags
        .iter()
        .find(|t| t.key == lineage::DATA)
        .and_then(|t| serde_json::from_str(&t.value).ok())
        .ok_or_else(|| Error::NoData {
            run: run.info.run_id.clone(),
        })?;
    let model = ModelRef::from_tags(&run.data.tags);
    let config = repo.config()?;
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
            .unwrap_or_else(|_| {
                model
                    .as_ref()
                    .map(|m| m.remote_url.clone())
                    .unwrap_or_default()
            });
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
        files.push(fetch_and_materialize(
            repo,
            &holder,
            &oid,
            "data",
            Some(&name),
            progress,
        )?);
    }
    Ok(files)
}

/// Predictions and, when the input had the target, how good they are.
#[derive(Debug, Clone, Serialize)]
pub struct Predictions {
    pub model: String,
    pub run_id: String,
    pub input: Vec<String>,
    pub predictions: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<ml::Metrics>,
    /// Input columns the model does not use.
    pub ignored_columns: Vec<String>,
}

/// Predicts on `input` (or, without it, on the exact data version the model was trained on).
pub fn infer(
    repo: &Repo,
    resolved: &Resolved,
    input: Option<&Path>,
    separator: Option<u8>,
    progress: &dyn Progress,
) -> Result<Predictions> {
    let bundle_dir = fetch_model(repo, &resolved.model, progress)?;
    let (model, meta) = ml::bundle::load(&bundle_dir).map_err(ml::Error::from)?;
    let target = meta.schema.target().map(|c| c.name.clone());
    let inputs: Vec<PathBuf> = match input {
        Some(p) => vec![p.to_path_buf()],
        None => fetch_training_data(repo, &resolved.run, progress)?,
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
        run_id: resolved.run_id.clone(),
        input: inputs.iter().map(|p| p.display().to_string()).collect(),
        predictions,
        metrics,
        ignored_columns: table.ignored,
    })
}
