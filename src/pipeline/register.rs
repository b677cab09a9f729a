//! `register`: pick the best run of the experiment that meets the threshold (or a given run, or
//! one a person picks), check that its model bytes really are in the data remote, then create
//! the registered model if needed, a version pointing at those bytes, and move the alias. The
//! model bytes stay in the data remote; the registry holds metadata. Idempotent per run.

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

#[derive(Debug, Clone)]
pub struct RegisterOptions {
    pub experiment: String,
    pub model_name: String,
    pub alias: String,
    pub metric: String,
    /// A run qualifies when its metric is at most this (errors: lower is better).
    pub threshold: f64,
    pub pick: Pick,
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
    pub source: String,
    /// False when the run already had a version (it was reused).
    pub created: bool,
}

/// Finished runs of the experiment ordered by `metric` (ascending).
pub fn candidate_runs(tracker: &dyn Tracker, experiment: &str, metric: &str) -> Result<Vec<Run>> {
    let Some(exp) = tracker.get_experiment_by_name(experiment)? else {
        return Err(Error::NoExperiment(experiment.to_string()));
    };
    let mut runs = Vec::new();
    let mut token = None;
    loop {
        let page = tracker.search_runs(&SearchRuns {
            experiment_ids: vec![exp.experiment_id.clone()],
            filter: Some("attributes.status = 'FINISHED'".into()),
            order_by: vec![format!("metrics.`{metric}` ASC")],
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

/// Checks that the model a run recorded is whole in its data remote (verified manifest, every
/// file present). Returns the model reference.
pub fn check_model_in_remote(repo: &Repo, run: &Run) -> Result<ModelRef> {
    let model = ModelRef::from_tags(&run.data.tags).ok_or_else(|| Error::NoModel {
        run: run.info.run_id.clone(),
    })?;
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
            let runs = candidate_runs(tracker, &opts.experiment, &opts.metric)?;
            let best = runs
                .iter()
                .filter_map(|r| metric_of(r, &opts.metric).map(|v| (r, v)))
                .find(|(_, v)| v.is_finite());
            match best {
                Some((r, v)) if v <= opts.threshold => r.clone(),
                Some((_, v)) => {
                    return Err(Error::NothingQualifies {
                        experiment: opts.experiment.clone(),
                        metric: opts.metric.clone(),
                        threshold: opts.threshold,
                        best: Some(v),
                    });
                }
                None => {
                    return Err(Error::NothingQualifies {
                        experiment: opts.experiment.clone(),
                        metric: opts.metric.clone(),
                        threshold: opts.threshold,
                        best: None,
                    });
                }
            }
        }
    };
    let model = check_model_in_remote(repo, &run)?;
    let value = metric_of(&run, &opts.metric);
    tracker.get_or_create_registered_model(&opts.model_name)?;

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
            ];
            if let Some(v) = value {
                tags.push(Tag::new(
                    format!("vintner.metric.{}", opts.metric),
                    v.to_string(),
                ));
            }
            let v = tracker.create_model_version(&NewModelVersion {
                name: opts.model_name.clone(),
                source: model.source(),
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
    tracker.set_registered_model_alias(&opts.model_name, &opts.alias, version)?;
    Ok(Registered {
        name: opts.model_name.clone(),
        version,
        alias: opts.alias.clone(),
        run_id: run.info.run_id.clone(),
        metric: opts.metric.clone(),
        value,
        source: model.source(),
        created,
    })
}
