//! Experiment tracking and model registry with MLflow's data model, behind one `Tracker` trait.
//!
//! Two backends, chosen from the tracking URI exactly as MLflow chooses them:
//! `sqlite:///…` (or nothing: `mlflow.db` at the repository root) opens the embedded store, a SQLite
//! file in MLflow's own schema ([`sqlite`]); `http(s)://…` talks to an MLflow tracking server
//! ([`rest`]). This module knows nothing of `data`, `ml` or `cli`, and never prints.

pub mod artifacts;
pub mod entities;
pub mod error;
pub mod filter;
pub mod gc;
pub mod git;
pub mod names;
pub mod rest;
pub mod sqlite;
pub mod types;
pub mod uri;
pub mod validate;

use std::path::Path;

pub use entities::{Dataset, DatasetInput, LoggedModel, NewLoggedModel};
pub use error::{Error, Result};
pub use types::*;
pub use uri::{TrackingUri, UriSource};

/// The operations vintner needs from a tracking backend, with MLflow's semantics.
///
/// Every method is synchronous. The REST backend drives its own small runtime, so do not call it
/// from inside an async task (use `spawn_blocking`).
pub trait Tracker: Send + Sync {
    /// Where this tracker stores its data, for messages (`sqlite:///…/mlflow.db`, `http://…`).
    fn uri(&self) -> &str;

    // ---- experiments -------------------------------------------------------------------------
    /// Creates an experiment; fails with [`Error::AlreadyExists`] if the name is taken.
    fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<Experiment>;
    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment>;
    /// `Ok(None)` when no experiment has that name (active or deleted).
    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>>;
    fn search_experiments(&self, query: &SearchExperiments) -> Result<ExperimentsPage>;
    /// Soft-deletes an active experiment and every run in it (MLflow's `delete_experiment`).
    fn delete_experiment(&self, experiment_id: &str) -> Result<()>;
    /// Makes a deleted experiment and every run in it active again.
    fn restore_experiment(&self, experiment_id: &str) -> Result<()>;
    /// Renames an active experiment; the new name must be free.
    fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()>;
    /// Sets a tag on an active experiment (value at most 20,000 characters).
    fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()>;
    /// Deletes a tag of an active experiment; a missing key is [`Error::NotFound`].
    fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()>;

    /// Returns the experiment of that name, creating it when missing (tolerates a concurrent
    /// creator).
    fn get_or_create_experiment(&self, name: &str) -> Result<Experiment> {
        if let Some(exp) = self.get_experiment_by_name(name)? {
            return Ok(exp);
        }
        match self.create_experiment(name, None, &[]) {
            Ok(exp) => Ok(exp),
            Err(Error::AlreadyExists { .. }) => self
                .get_experiment_by_name(name)?
                .ok_or_else(|| Error::not_found("experiment", name)),
            Err(e) => Err(e),
        }
    }

    // ---- runs --------------------------------------------------------------------------------
    /// Creates a RUNNING run. Without a name (argument or `mlflow.runName` tag) one is generated
    /// like MLflow does (`adjective-noun-123`).
    fn create_run(&self, new: &NewRun) -> Result<Run>;
    fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo>;
    /// Soft delete (lifecycle_stage = deleted), as MLflow does.
    fn delete_run(&self, run_id: &str) -> Result<()>;
    /// Undoes [`Tracker::delete_run`] (lifecycle_stage = active).
    fn restore_run(&self, run_id: &str) -> Result<()>;
    /// Sets one tag on an active run, its value cut at 8000 characters as MLflow does;
    /// `mlflow.runName` renames the run.
    fn set_tag(&self, run_id: &str, tag: &Tag) -> Result<()>;
    /// Deletes a tag of an active run; a missing key is [`Error::NotFound`].
    fn delete_tag(&self, run_id: &str, key: &str) -> Result<()>;
    fn get_run(&self, run_id: &str) -> Result<Run>;
    /// Logs any number of metrics, params and tags. Params are immutable: re-logging a key with
    /// another value fails with [`Error::ParamChanged`].
    fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()>;
    fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>>;
    fn search_runs(&self, query: &SearchRuns) -> Result<RunsPage>;

    /// Copies one local file into the run's artifacts, under `artifact_path` (a relative folder).
    fn log_artifact(
        &self,
        run_id: &str,
        local_file: &Path,
        artifact_path: Option<&str>,
    ) -> Result<()>;
    /// Lists the artifacts directly under `path` (relative to the run's artifact root).
    fn list_artifacts(&self, run_id: &str, path: Option<&str>) -> Result<Vec<FileInfo>>;
    /// Lists what is directly under `path` of an artifact location (`mlflow-artifacts:`, `s3://`,
    /// a local folder), paths relative to `root_uri`, as MLflow's artifact repositories do: a
    /// proxied location through the tracking server, the others directly.
    fn list_artifacts_at(&self, root_uri: &str, path: Option<&str>) -> Result<Vec<FileInfo>>;
    /// Downloads the file `path` of an artifact location into `dest` (created or truncated).
    fn download_artifact_at(&self, root_uri: &str, path: &str, dest: &Path) -> Result<()>;
    /// Where a model version's files are: its storage location, else its source (MLflow's
    /// `get_model_version_download_uri`).
    fn get_model_version_download_uri(&self, name: &str, version: u64) -> Result<String>;
    /// The datasets the run used (MLflow 3's `run.inputs.dataset_inputs`).
    fn get_run_inputs(&self, run_id: &str) -> Result<Vec<DatasetInput>>;
    /// Records the datasets a run used (MLflow's `log_inputs`): a dataset is kept once per
    /// experiment by name and digest, and an input once per run and dataset.
    fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<()>;
    /// Records models as outputs of an active run, at `step` (MLflow's `log_outputs`).
    fn log_outputs(&self, run_id: &str, model_ids: &[String], step: i64) -> Result<()>;
    /// Creates an MLflow 3 logged model, `PENDING`, in an active experiment (MLflow's
    /// `create_logged_model`); its artifact location is `<experiment>/models/<id>/artifacts`.
    fn create_logged_model(&self, new: &NewLoggedModel) -> Result<LoggedModel>;
    /// Sets a logged model's final status: `READY`, else `FAILED`.
    fn finalize_logged_model(&self, model_id: &str, ready: bool) -> Result<()>;
    /// Sets (replaces) tags of a logged model.
    fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()>;
    /// An MLflow 3 logged model, by id (`m-…`).
    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel>;
    /// The active logged models of the experiments, only those a run logged when `source_run_id`
    /// is given.
    fn search_logged_models(
        &self,
        experiment_ids: &[String],
        source_run_id: Option<&str>,
    ) -> Result<Vec<LoggedModel>>;

    // ---- registry ----------------------------------------------------------------------------
    fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel>;
    fn get_registered_model(&self, name: &str) -> Result<RegisteredModel>;
    /// Deletes a registered model with its versions, tags and aliases (MLflow's
    /// `delete_registered_model`).
    fn delete_registered_model(&self, name: &str) -> Result<()>;
    fn search_registered_models(&self, query: &SearchModels) -> Result<RegisteredModelsPage>;

    /// Returns the registered model, creating it when missing.
    fn get_or_create_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        match self.get_registered_model(name) {
            Ok(m) => Ok(m),
            Err(Error::NotFound { .. }) => match self.create_registered_model(name, &[], None) {
                Err(Error::AlreadyExists { .. }) => self.get_registered_model(name),
                other => other,
            },
            Err(e) => Err(e),
        }
    }

    /// Creates the next version (max + 1) of an existing registered model, status READY.
    fn create_model_version(&self, new: &NewModelVersion) -> Result<ModelVersion>;
    fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion>;
    fn search_model_versions(&self, query: &SearchModels) -> Result<ModelVersionsPage>;
    fn set_registered_model_alias(&self, name: &str, alias: &str, version: u64) -> Result<()>;
    fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()>;
    fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion>;
    fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()>;
    fn set_model_version_tag(&self, name: &str, version: u64, tag: &Tag) -> Result<()>;
    /// Deletes a version the way MLflow's SQL store does: it stays as stage `Deleted_Internal`
    /// with its source and run redacted, hidden from every read, and loses its aliases.
    fn delete_model_version(&self, name: &str, version: u64) -> Result<()>;
    /// Sets a registered model's description (an empty one clears it).
    fn update_registered_model(&self, name: &str, description: &str) -> Result<RegisteredModel>;
    /// Sets a model version's description (an empty one clears it).
    fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<ModelVersion>;
    /// Deletes a registered model's tag (a missing key is not an error, as in MLflow).
    fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()>;
    /// Deletes a model version's tag (a missing key is not an error, as in MLflow).
    fn delete_model_version_tag(&self, name: &str, version: u64, key: &str) -> Result<()>;
}

/// What a command does with the tracking store, which decides whether a missing embedded store
/// may be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only: a missing (or empty) `mlflow.db` is [`Error::NoStore`], never created.
    Read,
    /// Records runs or registry entries: a missing `mlflow.db` is created with MLflow's schema.
    Write,
}

/// Opens the tracker for `flag_uri` (a `--tracking-uri` flag or a value the caller already
/// resolved), else `MLFLOW_TRACKING_URI`, else `sqlite:///<repo_root>/mlflow.db`, to record
/// into: a missing embedded store is created.
pub fn open(flag_uri: Option<&str>, repo_root: &Path) -> Result<Box<dyn Tracker>> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| repo_root.to_path_buf());
    let resolved =
        TrackingUri::resolve(flag_uri, None, repo_root, &cwd, &|k| std::env::var(k).ok())?;
    open_resolved(&resolved, Access::Write)
}

/// Opens the backend a resolved [`TrackingUri`] names; with [`Access::Read`] an embedded store
/// must already exist.
///
/// Credentials in an `http(s)://user:password@host` URI are taken out of the URL, so no message,
/// log or report built from the server's URL can show them, and sent as basic auth instead, as
/// MLflow's Python client (through `requests`) does: they then win over
/// `MLFLOW_TRACKING_USERNAME`/`_PASSWORD` and `MLFLOW_TRACKING_TOKEN`; a user name without a
/// password sends nothing.
pub fn open_resolved(uri: &TrackingUri, access: Access) -> Result<Box<dyn Tracker>> {
    match uri {
        TrackingUri::Sqlite { path, .. } => Ok(Box::new(match access {
            Access::Read => sqlite::SqliteStore::open_existing(path)?,
            Access::Write => sqlite::SqliteStore::open(path)?,
        })),
        TrackingUri::Http { url, .. } => {
            let (url, creds) = crate::redact::split_credentials(url);
            let basic = creds.and_then(|c| Some((c.user, c.password?)));
            let env = |k: &str| match (&basic, k) {
                (Some((user, _)), "MLFLOW_TRACKING_USERNAME") => Some(user.clone()),
                (Some((_, password)), "MLFLOW_TRACKING_PASSWORD") => Some(password.clone()),
                _ => std::env::var(k).ok(),
            };
            let config = rest::RestConfig::from_env(&url, &env)?;
            rest::RestTracker::boxed(config)
        }
    }
}

/// Milliseconds since the Unix epoch, as MLflow timestamps are.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
