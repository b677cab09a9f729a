//! `reproduce`: fetch a run's exact data version by md5, retrain with the recorded family,
//! hyperparameters, CV protocol and seed, and compare the metrics — the lineage check neither DVC
//! nor MLflow gives on its own. Training is deterministic, so they must match. Ctrl-C or SIGTERM
//! stops the folds ([`crate::interrupt`]); nothing is recorded either way.

use std::collections::BTreeMap;

use serde::Serialize;

use super::infer::fetch_training_data;
use super::{Error, Result};
use crate::data::repo::Repo;
use crate::ml::{self, CvOptions, Dataset, DatasetOptions, ModelSpec};
use crate::progress::Progress;
use crate::track::Tracker;

/// One metric, recorded and recomputed.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    pub metric: String,
    pub recorded: f64,
    pub reproduced: f64,
    pub matches: bool,
}

/// The outcome of a reproduction.
#[derive(Debug, Clone, Serialize)]
pub struct Reproduction {
    pub run_id: String,
    pub family: String,
    pub data: Vec<String>,
    pub metrics: Vec<Compared>,
    pub all_match: bool,
}

/// Relative tolerance for "the same metric" (they are computed identically; this only absorbs
/// the text round trip of logged values).
const TOLERANCE: f64 = 1e-9;

/// Reproduces `run_id`; see the module documentation.
pub fn reproduce(
    repo: &Repo,
    tracker: &dyn Tracker,
    run_id: &str,
    progress: &dyn Progress,
) -> Result<Reproduction> {
    let run = tracker.get_run(run_id)?;
    let params: BTreeMap<String, String> = run
        .data
        .params
        .iter()
        .map(|p| (p.key.clone(), p.value.clone()))
        .collect();
    let get = |k: &str| {
        params
            .get(k)
            .cloned()
            .ok_or_else(|| Error::NotReproducible {
                run: run_id.to_string(),
                missing: k.to_string(),
            })
    };
    let family = get("model.family")?;
    let hyper: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| {
            !k.starts_with("cv.") && !k.starts_with("data.") && k.as_str() != "model.family"
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let spec = ModelSpec::parse(&family, &hyper).map_err(ml::Error::from)?;
    let scheme = match get("cv.scheme")?.as_str() {
        "kfold" => ml::CvScheme::KFold,
        _ => ml::CvScheme::Grouped,
    };
    let parse = |k: &str| -> Result<u64> {
        get(k)?.parse::<u64>().map_err(|_| Error::NotReproducible {
            run: run_id.to_string(),
            missing: format!("{k} (not a number)"),
        })
    };
    let cv = CvOptions {
        scheme,
        folds: parse("cv.folds")? as usize,
        repeats: parse("cv.repeats")? as usize,
        seed: parse("cv.seed")?,
    };
    let files = fetch_training_data(repo, &run, progress)?;
    crate::interrupt::check()?;
    let mut opts = DatasetOptions::new(get("data.target")?);
    opts.separator = None;
    let dataset = Dataset::load(&files, &opts).map_err(ml::Error::from)?;
    let report = ml::cross_validate(&spec, &dataset, &cv, progress).map_err(|e| {
        match crate::interrupt::requested() {
            Some(interrupted) => Error::Interrupted(interrupted),
            None => ml::Error::from(e).into(),
        }
    })?;
    let mut metrics = Vec::new();
    for (name, value) in super::train::named(&report.mean) {
        if let Some(m) = run.data.metrics.iter().find(|m| m.key == name) {
            let scale = m.value.abs().max(1.0);
            metrics.push(Compared {
                metric: name.to_string(),
                recorded: m.value,
                reproduced: value,
                matches: (m.value - value).abs() <= TOLERANCE * scale
                    || (m.value.is_nan() && value.is_nan()),
            });
        }
    }
    let all_match = !metrics.is_empty() && metrics.iter().all(|c| c.matches);
    Ok(Reproduction {
        run_id: run_id.to_string(),
        family,
        data: files.iter().map(|p| p.display().to_string()).collect(),
        metrics,
        all_match,
    })
}
