//! `train`: make sure the training data is exactly the versioned data (pulling it if missing),
//! cross-validate, fit on all data, write the model bundle, version and push it like data, and
//! record the run — params, metrics with per-fold values and training history, and lineage tags,
//! the data as MLflow dataset inputs and the model as an MLflow 3 logged model (so MLflow's own
//! UI shows both).
//! A failure after the run is created marks it FAILED, an interruption (Ctrl-C, SIGTERM: see
//! [`crate::interrupt`]) marks it KILLED; it is never left RUNNING, and in both cases the workspace
//! is left as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lineage::{self, DataRef, ModelRef};
use super::{Error, Result};
use crate::data::add::LOCK_WAIT;
use crate::data::index;
use crate::data::lock::RepoLock;
use crate::data::repo::Repo;
use crate::data::state::FileStat;
use crate::data::status::{self, OutState};
use crate::data::transfer::{self, TransferOptions};
use crate::data::workspace;
use crate::ml::{self, CvOptions, CvReport, Dataset, DatasetOptions, ModelSpec};
use crate::progress::Progress;
use crate::settings::Settings;
use crate::track::{
    self, Dataset as TrackedDataset, DatasetInput, Metric, NewLoggedModel, NewRun, Param,
    RunStatus, RunUpdate, Tag, Tracker,
};

/// What the command line adds to the settings.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Model family instead of the configured one.
    pub family: Option<String>,
    /// `key=value` hyperparameters overriding the configured ones.
    pub params: Vec<(String, String)>,
    pub experiment: Option<String>,
    pub run_name: Option<String>,
    /// Train on data that differs from its `.dvc` file (recorded as a tag).
    pub allow_unversioned_data: bool,
    /// Data remote for the model (default: the repository's default remote).
    pub remote: Option<String>,
}

/// What `train` did.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub run_id: String,
    pub run_name: String,
    pub experiment_id: String,
    pub experiment: String,
    pub tracking_uri: String,
    pub family: String,
    pub params: BTreeMap<String, String>,
    pub cv: CvReport,
    pub data: Vec<DataRef>,
    pub model: ModelRef,
    /// The model's `.dvc` file, relative to the repository root.
    pub model_dvc_file: String,
    /// What to `git add` so the run's lineage is committed.
    pub git_add: Vec<String>,
}

/// Merges configured hyperparameters with `-P` overrides, as text.
pub fn merged_params(settings: &Settings, overrides: &[(String, String)]) -> Vec<(String, String)> {
    let mut params: BTreeMap<String, String> = settings
        .model
        .params
        .iter()
        .map(|(k, v)| {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    for (k, v) in overrides {
        params.insert(k.clone(), v.clone());
    }
    params.into_iter().collect()
}

/// The CV protocol from the settings.
pub fn cv_options(settings: &Settings) -> Result<CvOptions> {
    let scheme = match settings.cv.scheme.as_str() {
        "grouped" => ml::CvScheme::Grouped,
        "kfold" => ml::CvScheme::KFold,
        other => {
            return Err(Error::BadSetting(format!(
                "cv.scheme `{other}` (grouped or kfold)"
            )));
        }
    };
    Ok(CvOptions {
        scheme,
        folds: settings.cv.folds,
        repeats: settings.cv.repeats,
        seed: settings.cv.seed,
    })
}

/// How the CSV files are read.
pub fn dataset_options(settings: &Settings) -> Result<DatasetOptions> {
    let mut opts = DatasetOptions::new(settings.data.target.clone());
    opts.separator = match settings.data.separator.as_deref() {
        None => None,
        Some(s) if s.len() == 1 => Some(s.as_bytes()[0]),
        Some("\\t") | Some("tab") => Some(b'\t'),
        Some(other) => {
            return Err(Error::BadSetting(format!(
                "data.separator `{other}` (one character)"
            )));
        }
    };
    Ok(opts)
}

/// Makes sure every data file is the versioned one: pulls missing files, refuses modified
/// ones (unless `allow`). Returns the data references and whether unversioned data was allowed in.
pub fn ensure_data(
    repo: &Repo,
    paths: &[PathBuf],
    allow: bool,
    progress: &dyn Progress,
) -> Result<(Vec<DataRef>, bool)> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let state = repo.state();
    let mut refs = Vec::new();
    let mut unversioned = false;
    for rel in paths {
        let abs = repo.root.join(rel);
        let mut dvc = abs.clone().into_os_string();
        dvc.push(".dvc");
        let dvc = PathBuf::from(dvc);
        let shown = rel.to_string_lossy().into_owned();
        if !dvc.is_file() {
            if !allow {
                return Err(Error::Unversioned { path: shown });
            }
            let h = crate::data::workspace::hash_output(&abs, &state, None, progress)?
                .ok_or_else(|| crate::data::Error::Missing(abs.clone()))?;
            unversioned = true;
            refs.push(DataRef {
                path: shown,
                md5: h.md5,
                size: h.size,
                remote: None,
            });
            continue;
        }
        let tracked = index::collect(repo, std::slice::from_ref(&dvc), &repo.root)?;
        let Some(t) = tracked.into_iter().next() else {
            return Err(Error::Unversioned { path: shown });
        };
        match status::out_state(&t, &cache, &std::sync::OnceLock::new(), &state, progress)? {
            None => {}
            Some(OutState::Deleted) | Some(OutState::NotInCache) => {
                let outs = vec![t.clone()];
                transfer::fetch_outs(repo, &cache, &outs, &TransferOptions::default(), progress)?;
                crate::data::checkout::checkout_outs(repo, &outs, false, progress)?;
            }
            Some(OutState::Modified) if allow => unversioned = true,
            Some(s) => {
                return Err(Error::DataChanged {
                    path: shown,
                    state: s.label().to_string(),
                });
            }
        }
        let remote = t
            .out
            .remote
            .clone()
            .or_else(|| config.default_remote().map(str::to_string));
        refs.push(DataRef {
            path: shown,
            md5: t.out.md5.clone().unwrap_or_default(),
            size: t.out.size.unwrap_or(0),
            remote,
        });
    }
    state.save();
    Ok((refs, unversioned))
}

/// Checks that the bytes `Dataset::load` read are the ones `ensure_data` checked: the md5 the
/// loader computed of each file must be the md5 its `.dvc` file records (something may have
/// written to the file in between). Data let in unversioned is recorded with the md5 of what was
/// read instead, since that is what the model learned from.
fn loaded_as_checked(
    mut data: Vec<DataRef>,
    loaded: &[ml::dataset::SourceFile],
    unversioned: bool,
) -> Result<Vec<DataRef>> {
    for (d, file) in data.iter_mut().zip(loaded) {
        if d.md5 == file.md5 || d.md5.ends_with(".dir") {
            continue;
        }
        if !unversioned {
            return Err(Error::DataChangedWhileRead {
                path: d.path.clone(),
                recorded: d.md5.clone(),
                loaded: file.md5.clone(),
            });
        }
        d.md5 = file.md5.clone();
    }
    Ok(data)
}

/// The system tags MLflow's Python client sets, plus vintner's lineage tags.
fn start_tags(git: &crate::git::Lineage, run_name: Option<&str>) -> Vec<Tag> {
    let mut tags = crate::track::git::SystemTags::from_lineage(git, "vintner train").to_tags();
    tags.push(Tag::new(lineage::VERSION, env!("CARGO_PKG_VERSION")));
    tags.push(Tag::new(lineage::GIT_DIRTY, git.dirty.to_string()));
    if let Some(n) = run_name {
        tags.push(Tag::new(lineage::RUN_NAME, n));
    }
    tags
}

/// The user name, as MLflow records it.
pub fn user() -> String {
    crate::track::git::user_name().unwrap_or_else(|| "unknown".into())
}

/// Trains, versions and records; see the module documentation.
pub fn train(
    repo: &Repo,
    settings: &Settings,
    tracker: &dyn Tracker,
    opts: &TrainOptions,
    progress: &dyn Progress,
) -> Result<TrainReport> {
    let family = opts
        .family
        .clone()
        .unwrap_or_else(|| settings.model.family.clone());
    let spec = ModelSpec::parse(&family, &merged_params(settings, &opts.params))
        .map_err(ml::Error::from)?;
    // Git is asked (in other processes) while the data is checked and loaded.
    let root = repo.root.clone();
    let lineage = std::thread::spawn(move || crate::git::lineage(&root));
    let cv = cv_options(settings)?;
    let ds_opts = dataset_options(settings)?;
    // The model's remote must exist before anything is trained or recorded.
    let config = repo.config()?;
    let remote_name = opts
        .remote
        .clone()
        .or_else(|| config.default_remote().map(str::to_string))
        .ok_or(crate::data::Error::NoRemote)?;
    let target = ModelTarget {
        remote_url: config.remote(&remote_name)?.url,
        remote: remote_name,
    };
    let (data, unversioned) = ensure_data(
        repo,
        &settings.data.paths,
        opts.allow_unversioned_data,
        progress,
    )?;
    let abs: Vec<PathBuf> = settings
        .data
        .paths
        .iter()
        .map(|p| repo.root.join(p))
        .collect();
    let mut dataset = Dataset::load(&abs, &ds_opts).map_err(ml::Error::from)?;
    for (f, rel) in dataset.schema.files.iter_mut().zip(&settings.data.paths) {
        f.path = rel.to_string_lossy().into_owned();
    }
    let data = loaded_as_checked(data, &dataset.schema.files, unversioned)?;
    crate::interrupt::check()?;

    let experiment_name = opts
        .experiment
        .clone()
        .unwrap_or_else(|| settings.tracking.experiment.clone());
    let experiment = tracker.get_or_create_experiment(&experiment_name)?;
    let run = tracker.create_run(&NewRun {
        experiment_id: experiment.experiment_id.clone(),
        run_name: opts.run_name.clone(),
        start_time: Some(track::now_ms()),
        user_id: Some(user()),
        tags: start_tags(
            &lineage.join().unwrap_or_default(),
            opts.run_name.as_deref(),
        ),
    })?;
    let run_id = run.info.run_id.clone();
    let close = |status: RunStatus| {
        tracker.update_run(
            &run_id,
            &RunUpdate {
                status: Some(status),
                end_time: Some(track::now_ms()),
                run_name: None,
            },
        )
    };
    // A panic is a bug, but the run must still not stay RUNNING.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        record(
            repo,
            settings,
            tracker,
            &target,
            &spec,
            &cv,
            &dataset,
            &data,
            unversioned,
            &run_id,
            progress,
        )
    }))
    .unwrap_or_else(|panic| {
        let _ = close(RunStatus::Failed);
        std::panic::resume_unwind(panic)
    });
    // Whatever failed once an interrupt was requested failed because of it (a fold cut short,
    // a forest left incomplete): the run was stopped from outside.
    let outcome = match (outcome, crate::interrupt::requested()) {
        (Err(_), Some(interrupted)) => Err(Error::Interrupted(interrupted)),
        (outcome, _) => outcome,
    };
    let ended = close(match &outcome {
        Ok(_) => RunStatus::Finished,
        Err(Error::Interrupted(_)) => RunStatus::Killed,
        Err(_) => RunStatus::Failed,
    });
    let (cv_report, model, model_dvc_file, git_add) = outcome?;
    ended?;
    Ok(TrainReport {
        run_id,
        run_name: run.info.run_name,
        experiment_id: experiment.experiment_id,
        experiment: experiment.name,
        tracking_uri: tracker.uri().to_string(),
        family: spec.family.name().to_string(),
        params: spec.params.clone(),
        cv: cv_report,
        data,
        model,
        model_dvc_file,
        git_add,
    })
}

type Recorded = (CvReport, ModelRef, String, Vec<String>);

/// Where the model goes.
struct ModelTarget {
    remote: String,
    remote_url: String,
}

/// Everything between creating the run and closing it.
#[allow(clippy::too_many_arguments)]
fn record(
    repo: &Repo,
    settings: &Settings,
    tracker: &dyn Tracker,
    target: &ModelTarget,
    spec: &ModelSpec,
    cv: &CvOptions,
    dataset: &Dataset,
    data: &[DataRef],
    unversioned: bool,
    run_id: &str,
    progress: &dyn Progress,
) -> Result<Recorded> {
    // Every hyperparameter and the CV protocol, before the (long) work starts.
    let mut params: Vec<Param> = spec.params.iter().map(|(k, v)| Param::new(k, v)).collect();
    params.push(Param::new("model.family", spec.family.name()));
    params.push(Param::new("cv.scheme", &settings.cv.scheme));
    params.push(Param::new("cv.folds", cv.folds.to_string()));
    params.push(Param::new("cv.repeats", cv.repeats.to_string()));
    params.push(Param::new("cv.seed", cv.seed.to_string()));
    params.push(Param::new("data.target", &settings.data.target));
    params.push(Param::new(
        "data.paths",
        data.iter()
            .map(|d| d.path.as_str())
            .collect::<Vec<_>>()
            .join(","),
    ));
    let mut tags = vec![
        Tag::new(
            lineage::DATA,
            serde_json::to_string(data).unwrap_or_default(),
        ),
        // Whole when it fits a tag; else a valid summary, the whole schema a run artifact.
        lineage::schema_tag(tracker, run_id, &dataset.schema)?,
        Tag::new(lineage::SEED, cv.seed.to_string()),
        Tag::new(lineage::MODEL_FAMILY, spec.family.name()),
    ];
    if let Some(first) = data.first() {
        tags.push(Tag::new(lineage::DATA_PATH, &first.path));
        tags.push(Tag::new(lineage::DATA_MD5, &first.md5));
        if let Some(r) = &first.remote {
            tags.push(Tag::new(lineage::DATA_REMOTE, r));
        }
    }
    if unversioned {
        tags.push(Tag::new(lineage::UNVERSIONED_DATA, "true"));
    }
    tracker.log_batch(run_id, &[], &params, &tags)?;
    newer_mlflow_only(tracker.log_inputs(run_id, &dataset_inputs(data, &dataset.schema)))?;

    // Cheap refusals first: folds that cannot be made, a model folder that is not saved.
    ml::check_folds(dataset, cv).map_err(ml::Error::from)?;
    let out_rel = settings.model.output.clone();
    let out_abs = repo.root.join(&out_rel);
    guard_model_dir(repo, &out_abs, progress)?;
    let model = spec
        .fit_dataset(dataset, cv.seed, progress)
        .map_err(ml::Error::from)?;
    // An interrupted fit comes back incomplete: never stage it.
    crate::interrupt::check()?;
    // The final model does not depend on the cross-validation, so its bundle is written to a
    // staging folder and hashed into the cache (disk and md5, mostly one core) while the folds
    // train on every core. The workspace changes only once the cross-validation succeeded.
    let staging = Staging::new(repo, &out_abs);
    let (report, staged) = std::thread::scope(|s| {
        let staged = s.spawn(|| stage_model(repo, &staging.path, &model, dataset, run_id));
        let report = ml::cross_validate(spec, dataset, cv, progress);
        let staged = staged
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (report, staged)
    });
    let report = report.map_err(ml::Error::from)?;
    let staged = staged?;
    crate::interrupt::check()?;
    // From here the workspace holds the new bundle; `placed` puts the previous one back unless
    // the run is recorded to the end.
    let (added, placed) = place_model(repo, &staging.path, &out_abs, &staged)?;
    progress.note(&format!(
        "cross-validated: rmse {:.4} ± {:.4}, mae {:.4}",
        report.mean.rmse, report.std.rmse, report.mean.mae
    ));
    transfer::push(
        repo,
        &TransferOptions {
            targets: vec![out_abs.clone()],
            remote: Some(target.remote.clone()),
            jobs: None,
        },
        &repo.root,
        progress,
    )?;
    crate::interrupt::check()?;
    let model_ref = ModelRef {
        path: out_rel.to_string_lossy().into_owned(),
        md5: added.md5.clone(),
        remote: target.remote.clone(),
        remote_url: target.remote_url.clone(),
    };

    let now = track::now_ms();
    let mut metrics = Vec::new();
    for (name, value) in named(&report.mean) {
        metrics.push(Metric::new(name, value, now, 0));
    }
    for (name, value) in named(&report.std) {
        metrics.push(Metric::new(format!("{name}_std"), value, now, 0));
    }
    for (i, fold) in report.folds.iter().enumerate() {
        for (name, value) in named(&fold.metrics) {
            metrics.push(Metric::new(format!("fold_{name}"), value, now, i as i64));
        }
    }
    for (series, points) in &model.history {
        for (step, value) in points {
            metrics.push(Metric::new(
                format!("train_{series}"),
                *value,
                now,
                *step as i64,
            ));
        }
    }
    let tags = vec![
        Tag::new(lineage::MODEL_PATH, &model_ref.path),
        Tag::new(lineage::MODEL_MD5, &model_ref.md5),
        Tag::new(lineage::MODEL_REMOTE, &model_ref.remote),
        Tag::new(lineage::MODEL_REMOTE_URL, &model_ref.remote_url),
    ];
    tracker.log_batch(run_id, &metrics, &[], &tags)?;
    let dvc_abs = repo.root.join(&added.dvc_file);
    tracker.log_artifact(run_id, &dvc_abs, Some("model"))?;
    tracker.log_artifact(run_id, &out_abs.join("MLmodel"), Some("model"))?;
    newer_mlflow_only(log_model(tracker, run_id, spec, &model_ref))?;
    placed.keep();
    Ok((
        report,
        model_ref,
        added.dvc_file.clone(),
        added.git_add.clone(),
    ))
}

/// The source type of the datasets `train` records: DVC-versioned files.
pub const DVC_SOURCE_TYPE: &str = "dvc";

/// The training data as MLflow dataset inputs (context `training`): per versioned path its name,
/// digest = the DVC md5, source = the DVC path and remote (JSON), schema = MLflow column specs,
/// profile = rows and columns. Unversioned data (no md5) is not recorded.
pub fn dataset_inputs(data: &[DataRef], schema: &ml::dataset::Schema) -> Vec<DatasetInput> {
    use ml::dataset::{ColumnRole, ColumnType};
    let columns: Vec<_> = schema
        .columns
        .iter()
        .filter(|c| c.role != ColumnRole::Source)
        .collect();
    let colspec: Vec<serde_json::Value> = columns
        .iter()
        .map(|c| {
            let kind = match c.kind {
                ColumnType::Integer => "long",
                ColumnType::Double => "double",
            };
            serde_json::json!({"type": kind, "name": c.name, "required": true})
        })
        .collect();
    let schema_json = serde_json::json!({ "mlflow_colspec": colspec }).to_string();
    data.iter()
        .filter(|d| !d.md5.is_empty())
        .map(|d| {
            let under = format!("{}/", d.path.trim_end_matches('/'));
            let rows: usize = match data {
                [_] => schema.rows,
                _ => schema
                    .files
                    .iter()
                    .filter(|f| f.path == d.path || f.path.starts_with(&under))
                    .map(|f| f.rows)
                    .sum(),
            };
            let mut source = serde_json::json!({"path": d.path, "md5": d.md5});
            if let Some(r) = &d.remote {
                source["remote"] = serde_json::json!(r);
            }
            let profile = serde_json::json!({
                "num_rows": rows,
                "num_columns": columns.len(),
                "num_elements": rows * columns.len(),
            });
            DatasetInput {
                dataset: TrackedDataset {
                    name: d.path.clone(),
                    digest: d.md5.clone(),
                    source_type: DVC_SOURCE_TYPE.into(),
                    source: source.to_string(),
                    schema: Some(schema_json.clone()),
                    profile: Some(profile.to_string()),
                },
                tags: vec![Tag::new(track::entities::DATASET_CONTEXT_TAG, "training")],
            }
        })
        .collect()
}

/// Records the run's model as an MLflow 3 logged model: created with the run as its source,
/// the hyperparameters and the DVC lineage (path, md5, remote) as params and tags, linked as the
/// run's output, then marked READY.
fn log_model(
    tracker: &dyn Tracker,
    run_id: &str,
    spec: &ModelSpec,
    model: &ModelRef,
) -> track::Result<()> {
    let experiment_id = tracker.get_run(run_id)?.info.experiment_id;
    let name = Path::new(&model.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let logged = tracker.create_logged_model(&NewLoggedModel {
        experiment_id,
        name,
        source_run_id: Some(run_id.to_string()),
        model_type: Some(spec.family.name().to_string()),
        tags: vec![
            Tag::new(lineage::MODEL_PATH, &model.path),
            Tag::new(lineage::MODEL_MD5, &model.md5),
            Tag::new(lineage::MODEL_REMOTE, &model.remote),
            Tag::new(lineage::MODEL_REMOTE_URL, &model.remote_url),
        ],
        params: spec.params.iter().map(|(k, v)| Param::new(k, v)).collect(),
    })?;
    tracker.log_outputs(run_id, std::slice::from_ref(&logged.model_id), 0)?;
    tracker.finalize_logged_model(&logged.model_id, true)
}

/// An MLflow server older than 3 has no dataset or logged-model endpoints (404): the run is
/// recorded without them rather than failed.
pub(super) fn newer_mlflow_only(r: track::Result<()>) -> track::Result<()> {
    match r {
        Err(track::Error::Server {
            status: 404,
            ref error_code,
            ..
        }) if error_code == "ENDPOINT_NOT_FOUND" => Ok(()),
        Err(track::Error::BadResponse { status: 404, .. }) => Ok(()),
        other => other,
    }
}

/// Metric names with their values, as logged.
pub fn named(m: &ml::Metrics) -> Vec<(&'static str, f64)> {
    ml::metrics::METRIC_NAMES
        .iter()
        .copied()
        .zip(m.values())
        .collect()
}

/// Where a new bundle is written before it replaces the output: in `.dvc/tmp` (which git and
/// the walkers ignore, so an interrupted run leaves nothing in the workspace) when that is on
/// the output's file system, else next to the output. Removed when dropped, if still there.
struct Staging {
    path: PathBuf,
}

impl Staging {
    fn new(repo: &Repo, out_abs: &Path) -> Staging {
        use std::os::unix::fs::MetadataExt;
        let tmp = repo.dvc_dir.join("tmp");
        let _ = std::fs::create_dir_all(&tmp);
        let device = |p: &Path| std::fs::metadata(p).ok().map(|m| m.dev());
        let parent = out_abs.parent().unwrap_or(&repo.root);
        let same = device(&tmp).is_some() && device(&tmp) == device(parent);
        let path = if same {
            crate::data::fsutil::temp_path(&tmp.join("model"))
        } else {
            crate::data::fsutil::temp_path(out_abs)
        };
        Staging { path }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.path.exists() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Writes the bundle of `model` to `staging` and hashes it into the cache (objects nothing
/// refers to yet, as `gc` sees them), without drawing progress: it runs beside the
/// cross-validation, which owns the progress bar and the thread pool (the hashing gets a pool
/// of its own, so it does not wait behind the folds' trees while it holds the repository lock).
fn stage_model(
    repo: &Repo,
    staging: &Path,
    model: &ml::Model,
    dataset: &Dataset,
    run_id: &str,
) -> Result<workspace::Hashed> {
    let meta = ml::BundleMeta {
        schema: dataset.schema.clone(),
        data_md5: dataset.schema.data_md5(),
        input_example: (0..dataset.len().min(3))
            .map(|i| dataset.x.row(i).to_vec())
            .collect(),
        run_id: Some(run_id.to_string()),
        utc_time_created: String::new(),
    };
    ml::bundle::save(staging, model, &meta).map_err(ml::Error::from)?;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    // A state of its own, never saved: it would only remember the staging names.
    let state = repo.state();
    let hash = || -> Result<workspace::Hashed> {
        let _lock = RepoLock::acquire(&repo.dvc_dir, LOCK_WAIT)?;
        workspace::hash_output(staging, &state, Some(&cache), &crate::progress::Silent)?
            .ok_or_else(|| crate::data::Error::Missing(staging.to_path_buf()).into())
    };
    match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(pool) => pool.install(hash),
        Err(_) => hash(),
    }
}

/// Moves the staged bundle to `out_abs` and versions it. The previous bundle (which
/// `guard_model_dir` found saved) is moved aside first; the returned [`Placed`] puts it back, with
/// the `.dvc` file and `.gitignore` that `add` rewrites, unless the run is recorded to the end
/// (a failure here included), so a failure or an interruption leaves the workspace as it was. The
/// files keep their inodes and times through the rename, so their md5s from staging are handed
/// to `add` through the state instead of hashing them again.
fn place_model(
    repo: &Repo,
    staging: &Path,
    out_abs: &Path,
    hashed: &workspace::Hashed,
) -> Result<(crate::data::add::Added, Placed)> {
    let io = crate::data::Error::io;
    let mut dvc = out_abs.as_os_str().to_owned();
    dvc.push(".dvc");
    let parent = out_abs.parent().unwrap_or(&repo.root);
    let mut placed = Placed {
        out_abs: out_abs.to_path_buf(),
        aside: None,
        moved_in: false,
        files: [PathBuf::from(dvc), parent.join(".gitignore")]
            .into_iter()
            .map(|p| {
                let before = std::fs::read(&p).ok();
                (p, before)
            })
            .collect(),
        kept: false,
    };
    if out_abs.exists() {
        let aside = crate::data::fsutil::temp_path(out_abs);
        std::fs::rename(out_abs, &aside).map_err(io("move aside", out_abs))?;
        placed.aside = Some(aside);
    }
    std::fs::rename(staging, out_abs).map_err(io("write", out_abs))?;
    placed.moved_in = true;
    let state = repo.state();
    for f in &hashed.files {
        let path = out_abs.join(&f.rel);
        if let Ok(meta) = std::fs::metadata(&path) {
            state.set(&path, &FileStat::from(&meta), &f.md5);
        }
    }
    state.save();
    let added = crate::data::add::add(
        repo,
        &[out_abs.to_path_buf()],
        &repo.root,
        &crate::progress::Silent,
    )?
    .into_iter()
    .next()
    .ok_or_else(|| crate::data::Error::Missing(out_abs.to_path_buf()))?;
    Ok((added, placed))
}

/// A new bundle in the workspace that the run has not finished recording: dropped without
/// [`Placed::keep`], it removes the new bundle, moves the previous one back and restores the
/// files `add` wrote (removing those that did not exist before).
struct Placed {
    out_abs: PathBuf,
    /// Where the previous bundle waits.
    aside: Option<PathBuf>,
    /// Whether `out_abs` now holds the new bundle.
    moved_in: bool,
    /// The `.dvc` file and `.gitignore`, with their bytes before (`None`: absent).
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
    kept: bool,
}

impl Placed {
    /// The run is recorded: the new bundle stays and the previous one goes.
    fn keep(mut self) {
        self.kept = true;
        if let Some(aside) = &self.aside {
            let _ = std::fs::remove_dir_all(aside);
        }
    }
}

impl Drop for Placed {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        // Only the bundle this run moved in is removed; the aside copy is the user's, so it
        // only moves back.
        if self.moved_in {
            let _ = std::fs::remove_dir_all(&self.out_abs);
        }
        if let Some(aside) = &self.aside {
            let _ = std::fs::rename(aside, &self.out_abs);
        }
        for (path, before) in &self.files {
            let now = std::fs::read(path).ok();
            if now == *before {
                continue;
            }
            let _ = match before {
                Some(bytes) => crate::data::fsutil::write_atomic(path, bytes).map_err(|_| ()),
                None => std::fs::remove_file(path).map_err(|_| ()),
            };
        }
    }
}

/// Refuses to replace a model folder whose content is not saved in the cache.
fn guard_model_dir(repo: &Repo, out_abs: &Path, progress: &dyn Progress) -> Result<()> {
    if !out_abs.exists() {
        return Ok(());
    }
    let shown = out_abs
        .strip_prefix(&repo.root)
        .unwrap_or(out_abs)
        .to_string_lossy()
        .into_owned();
    let mut dvc = out_abs.as_os_str().to_owned();
    dvc.push(".dvc");
    let dvc = PathBuf::from(dvc);
    if !dvc.is_file() {
        return Err(Error::ModelDirUnsaved { path: shown });
    }
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let state = repo.state();
    let tracked = index::collect(repo, std::slice::from_ref(&dvc), &repo.root)?;
    for t in tracked {
        match status::out_state(&t, &cache, &std::sync::OnceLock::new(), &state, progress)? {
            None | Some(OutState::Deleted) => {}
            Some(_) => return Err(Error::ModelDirUnsaved { path: shown }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(md5: &str) -> Vec<DataRef> {
        vec![DataRef {
            path: "data/wine.csv".into(),
            md5: md5.into(),
            size: 10,
            remote: Some("origin".into()),
        }]
    }

    fn loaded(md5: &str) -> Vec<ml::dataset::SourceFile> {
        vec![ml::dataset::SourceFile {
            path: "data/wine.csv".into(),
            md5: md5.into(),
            rows: 1,
            separator: ";".into(),
        }]
    }

    #[test]
    fn data_that_changed_between_the_check_and_the_load_is_refused() {
        let recorded = "58c7b1e3ea1268fb1a171ef636ddac2c";
        let read = "0cc175b9c0f1b6a831c399e269772661";
        assert_eq!(
            loaded_as_checked(data(recorded), &loaded(recorded), false).unwrap(),
            data(recorded)
        );
        let err = loaded_as_checked(data(recorded), &loaded(read), false).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`data/wine.csv`") && msg.contains(recorded) && msg.contains(read),
            "{msg}"
        );
        assert!(err.hint().unwrap().contains("train again"));
        // Data let in unversioned is recorded as what was read.
        let ok = loaded_as_checked(data(recorded), &loaded(read), true).unwrap();
        assert_eq!(ok[0].md5, read);
    }
}
