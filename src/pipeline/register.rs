//! `register`: pick the best run of the experiment that meets the threshold (or a given run, or
//! one a person picks), check that its model bytes really are in the data remote, then create
//! the registered model if needed, a version whose source is the run's logged model
//! (`runs:/<run_id>/model`: its `MLmodel` and `.dvc`, which every MLflow server accepts) with
//! the data remote's path and md5 in its tags, and move the alias. The model bytes stay in the
//! data remote; the registry holds metadata. Idempotent per run; a failure leaves no registered
//! model that this call created. A run made by `vintner run` has outputs instead of a model:
//! the one named by `output` (`--output`, `registry.output`) is registered, its version's source
//! the run artifact folder holding its `.dvc` file. The run's MLflow 3 logged model, if `train`
//! recorded one, lists the version in its `mlflow.modelVersions` tag, as MLflow's
//! `register_model` does.

use serde::Serialize;

use super::lineage::{self, ModelRef};
use super::{Error, Result};
use crate::data::hash::HashKind;
use crate::data::odb::Oid;
use crate::data::repo::Repo;
use crate::data::{remote, transfer};
use crate::track::{NewModelVersion, Run, SearchModels, SearchRuns, Tag, Tracker, ViewType};

/// Which run to register.
#[derive(Debug, Clone)]
pub enum Pick {
    /// The best run by the metric that meets the threshold.
    Best,
    /// This run.
    Run(String),
}

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Lower,
    Higher,
}

impl Direction {
    /// The direction of a metric vintner knows: errors and spreads lower, fit and accuracy
    /// higher.
    pub fn known(metric: &str) -> Option<Direction> {
        let m = metric.to_ascii_lowercase();
        let base = m.strip_prefix("fold_").unwrap_or(&m);
        if base.ends_with("_std") {
            return Some(Direction::Lower);
        }
        if matches!(
            base,
            "r2" | "accuracy" | "f1" | "auc" | "roc_auc" | "precision" | "recall"
        ) || base.starts_with("acc_")
        {
            return Some(Direction::Higher);
        }
        if matches!(base, "mae" | "rmse" | "mse" | "mape" | "loss" | "log_loss")
            || base.ends_with("_loss")
            || base.ends_with("_error")
        {
            return Some(Direction::Lower);
        }
        None
    }

    /// `lower`/`higher` (also `min`/`max`), as `registry.direction` spells it.
    pub fn parse(text: &str) -> Option<Direction> {
        match text.trim().to_ascii_lowercase().as_str() {
            "lower" | "min" | "minimize" | "lower_is_better" => Some(Direction::Lower),
            "higher" | "max" | "maximize" | "higher_is_better" => Some(Direction::Higher),
            _ => None,
        }
    }

    /// The direction to rank `metric` by: the flag, else the setting, else the known one.
    pub fn resolve(
        metric: &str,
        flag: Option<Direction>,
        setting: Option<&str>,
    ) -> Result<Direction> {
        if let Some(d) = flag {
            return Ok(d);
        }
        if let Some(text) = setting {
            return Direction::parse(text).ok_or_else(|| {
                Error::BadSetting(format!("registry.direction `{text}` (lower or higher)"))
            });
        }
        Direction::known(metric).ok_or_else(|| Error::UnknownDirection(metric.to_string()))
    }

    /// Whether `value` meets `threshold`.
    pub fn meets(self, value: f64, threshold: f64) -> bool {
        match self {
            Direction::Lower => value <= threshold,
            Direction::Higher => value >= threshold,
        }
    }

    /// `<=` or `>=`.
    pub fn comparison(self) -> &'static str {
        match self {
            Direction::Lower => "<=",
            Direction::Higher => ">=",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RegisterOptions {
    pub experiment: String,
    pub model_name: String,
    pub alias: String,
    pub metric: String,
    /// Which way `metric` is better.
    pub direction: Direction,
    /// A run qualifies when its metric meets this (at most for lower-is-better).
    pub threshold: f64,
    pub pick: Pick,
    /// The output of a run made by `vintner run` that is the model (`--output`; default: its
    /// only output).
    pub output: Option<String>,
    /// `registry.output`: the same, applied only to runs that record outputs (a run of
    /// `vintner train` keeps its own model).
    pub configured_output: Option<String>,
}

/// What `register` did.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub name: String,
    pub version: u64,
    pub alias: String,
    pub run_id: String,
    pub metric: String,
    pub value: Option<f64>,
    pub direction: Direction,
    /// The version's source: the run's logged model (`runs:/<run_id>/model`).
    pub source: String,
    /// Where the model bytes are: the object in the data remote.
    pub model_location: String,
    /// False when the run already had a version (it was reused).
    pub created: bool,
}

/// Finished runs of the experiment, best `metric` first.
pub fn candidate_runs(
    tracker: &dyn Tracker,
    experiment: &str,
    metric: &str,
    direction: Direction,
) -> Result<Vec<Run>> {
    let Some(exp) = tracker.get_experiment_by_name(experiment)? else {
        return Err(Error::NoExperiment(experiment.to_string()));
    };
    let mut runs = Vec::new();
    let mut token = None;
    loop {
        let page = tracker.search_runs(&SearchRuns {
            experiment_ids: vec![exp.experiment_id.clone()],
            filter: Some("attributes.status = 'FINISHED'".into()),
            order_by: vec![format!(
                "metrics.`{metric}` {}",
                match direction {
                    Direction::Lower => "ASC",
                    Direction::Higher => "DESC",
                }
            )],
            max_results: 1000,
            page_token: token,
            view: ViewType::ActiveOnly,
        })?;
        runs.extend(page.runs);
        match page.next_page_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    Ok(runs)
}

/// The latest value of `metric` in a run.
pub fn metric_of(run: &Run, metric: &str) -> Option<f64> {
    run.data
        .metrics
        .iter()
        .find(|m| m.key == metric)
        .map(|m| m.value)
}

/// Checks that the model a run recorded (or its output named `output`) is whole in its data
/// remote (verified manifest, every file present). Returns the model reference.
pub fn check_model_in_remote(repo: &Repo, run: &Run, output: Option<&str>) -> Result<ModelRef> {
    let model = super::run::model_of(run, output)?;
    let remote = open_model_remote(repo, &model)?;
    let oid = Oid::new(model.md5.clone(), HashKind::Md5);
    if !transfer::remote_has_whole(remote.as_ref(), &oid)? {
        return Err(Error::ModelNotInRemote {
            run: run.info.run_id.clone(),
            object: oid.rel_path(),
            remote: remote.describe(),
        });
    }
    Ok(model)
}

/// The remote holding a model: by name from this repository's config, else by its recorded URL.
pub fn open_model_remote(repo: &Repo, model: &ModelRef) -> Result<Box<dyn remote::Remote>> {
    let config = repo.config()?;
    if !model.remote.is_empty()
        && let Ok(rc) = config.remote(&model.remote)
    {
        return Ok(remote::open_config(&rc)?);
    }
    for name in config.remote_names() {
        if let Ok(rc) = config.remote(&name)
            && rc.url == model.remote_url
        {
            return Ok(remote::open_config(&rc)?);
        }
    }
    let rc = crate::data::config::RemoteConfig {
        name: if model.remote.is_empty() {
            "recorded".into()
        } else {
            model.remote.clone()
        },
        url: model.remote_url.clone(),
        options: Default::default(),
    };
    Ok(remote::open_config(&rc)?)
}

/// Registers a run's model; see the module documentation.
pub fn register(repo: &Repo, tracker: &dyn Tracker, opts: &RegisterOptions) -> Result<Registered> {
    let run = match &opts.pick {
        Pick::Run(id) => tracker.get_run(id)?,
        Pick::Best => {
            let runs = candidate_runs(tracker, &opts.experiment, &opts.metric, opts.direction)?;
            // The store's order is a hint; the best is chosen here, whatever it sorted.
            let best = runs
                .iter()
                .filter_map(|r| metric_of(r, &opts.metric).map(|v| (r, v)))
                .filter(|(_, v)| v.is_finite())
                .reduce(|a, b| match opts.direction {
                    Direction::Lower if b.1 < a.1 => b,
                    Direction::Higher if b.1 > a.1 => b,
                    _ => a,
                });
            match best {
                Some((r, v)) if opts.direction.meets(v, opts.threshold) => r.clone(),
                Some((_, v)) => {
                    return Err(Error::NothingQualifies {
                        experiment: opts.experiment.clone(),
                        metric: opts.metric.clone(),
                        comparison: opts.direction.comparison(),
                        threshold: opts.threshold,
                        best: Some(v),
                    });
                }
                None => {
                    return Err(Error::NothingQualifies {
                        experiment: opts.experiment.clone(),
                        metric: opts.metric.clone(),
                        comparison: opts.direction.comparison(),
                        threshold: opts.threshold,
                        best: None,
                    });
                }
            }
        }
    };
    let output = opts.output.clone().or_else(|| {
        opts.configured_output
            .clone()
            .filter(|_| !super::run::outputs_of(&run).is_empty())
    });
    let model = check_model_in_remote(repo, &run, output.as_deref())?;
    let value = metric_of(&run, &opts.metric);
    let source = if super::run::outputs_of(&run)
        .iter()
        .any(|o| o.path == model.path && o.md5 == model.md5)
    {
        format!(
            "runs:/{}/{}",
            run.info.run_id,
            super::run::artifact_dir(&model.path)
        )
    } else {
        format!("runs:/{}/model", run.info.run_id)
    };
    let created_model = match tracker.get_registered_model(&opts.model_name) {
        Ok(_) => false,
        Err(crate::track::Error::NotFound { .. }) => {
            match tracker.create_registered_model(&opts.model_name, &[], None) {
                Ok(_) => true,
                Err(crate::track::Error::AlreadyExists { .. }) => false,
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let outcome = version_and_alias(tracker, opts, &run, &model, value, &source);
    if outcome.is_err() && created_model {
        // No half-made registered model: remove the one this call created, if still empty.
        let empty = tracker
            .search_model_versions(&SearchModels {
                filter: Some(format!("name = '{}'", opts.model_name.replace('\'', "''"))),
                max_results: 1,
                ..SearchModels::default()
            })
            .map(|p| p.model_versions.is_empty())
            .unwrap_or(false);
        if empty {
            let _ = tracker.delete_registered_model(&opts.model_name);
        }
    }
    let (version, created) = outcome?;
    super::train::newer_mlflow_only(link_logged_models(tracker, &run, &opts.model_name, version))?;
    Ok(Registered {
        name: opts.model_name.clone(),
        version,
        alias: opts.alias.clone(),
        run_id: run.info.run_id.clone(),
        metric: opts.metric.clone(),
        value,
        direction: opts.direction,
        source,
        model_location: model.source(),
        created,
    })
}

/// Adds `name` version `version` to the `mlflow.modelVersions` tag of the logged models the
/// run produced (MLflow's link from a logged model to its registered versions).
fn link_logged_models(
    tracker: &dyn Tracker,
    run: &Run,
    name: &str,
    version: u64,
) -> crate::track::Result<()> {
    use crate::track::entities::{MODEL_VERSIONS_TAG, with_model_version};
    let models = tracker.search_logged_models(
        std::slice::from_ref(&run.info.experiment_id),
        Some(&run.info.run_id),
    )?;
    for m in models {
        let existing = m
            .tags
            .iter()
            .find(|t| t.key == MODEL_VERSIONS_TAG)
            .map(|t| t.value.as_str());
        let value = with_model_version(existing, name, version);
        if existing != Some(value.as_str()) {
            tracker.set_logged_model_tags(&m.model_id, &[Tag::new(MODEL_VERSIONS_TAG, value)])?;
        }
    }
    Ok(())
}

/// Creates the run's version (or finds the one it has) and moves the alias to it.
fn version_and_alias(
    tracker: &dyn Tracker,
    opts: &RegisterOptions,
    run: &Run,
    model: &ModelRef,
    value: Option<f64>,
    source: &str,
) -> Result<(u64, bool)> {
    // Registering the same run twice reuses its version.
    let existing = tracker
        .search_model_versions(&SearchModels {
            filter: Some(format!(
                "name = '{}' AND run_id = '{}'",
                opts.model_name.replace('\'', "''"),
                run.info.run_id
            )),
            max_results: 100,
            ..SearchModels::default()
        })?
        .model_versions
        .into_iter()
        .filter(|v| v.run_id.as_deref() == Some(run.info.run_id.as_str()))
        .max_by_key(|v| v.version);
    let (version, created) = match existing {
        Some(v) => (v.version, false),
        None => {
            let mut tags: Vec<Tag> = vec![
                Tag::new(lineage::MODEL_PATH, &model.path),
                Tag::new(lineage::MODEL_MD5, &model.md5),
                Tag::new(lineage::MODEL_REMOTE, &model.remote),
                Tag::new(lineage::MODEL_REMOTE_URL, &model.remote_url),
                Tag::new(lineage::MODEL_LOCATION, model.source()),
            ];
            if let Some(v) = value {
                tags.push(Tag::new(
                    format!("vintner.metric.{}", opts.metric),
                    v.to_string(),
                ));
            }
            let v = tracker.create_model_version(&NewModelVersion {
                name: opts.model_name.clone(),
                source: source.to_string(),
                run_id: Some(run.info.run_id.clone()),
                tags,
                description: Some(format!(
                    "vintner model {} ({} = {})",
                    model.path,
                    opts.metric,
                    value
                        .map(|v| format!("{v:.4}"))
                        .unwrap_or_else(|| "n/a".into())
                )),
            })?;
            (v.version, true)
        }
    };
    super::lineage::move_alias(tracker, &opts.model_name, &opts.alias, version)?;
    Ok((version, created))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_direction_is_known_for_vintners_metrics() {
        for m in ["rmse", "mae", "rmse_std", "fold_mae", "val_loss"] {
            assert_eq!(Direction::known(m), Some(Direction::Lower), "{m}");
        }
        for m in ["r2", "acc_05", "acc_round", "fold_r2", "accuracy"] {
            assert_eq!(Direction::known(m), Some(Direction::Higher), "{m}");
        }
        assert_eq!(Direction::known("my_score"), None);
        assert!(Direction::resolve("my_score", None, None).is_err());
        assert_eq!(
            Direction::resolve("my_score", None, Some("higher")).unwrap(),
            Direction::Higher
        );
        assert_eq!(
            Direction::resolve("rmse", Some(Direction::Higher), Some("lower")).unwrap(),
            Direction::Higher
        );
        assert!(Direction::resolve("rmse", None, Some("up")).is_err());
        assert!(Direction::Higher.meets(0.387, 0.38));
        assert!(!Direction::Lower.meets(0.387, 0.38));
    }
}
