//! `vintner gc --tracking`: permanently removes deleted runs and experiments from the embedded
//! store, and the runs' artifacts in local folders, choosing and checking them exactly as
//! `mlflow gc` does (`--older-than`, `--run-ids`, `--experiment-ids`). It needs the backend store
//! itself, so it only works on an `mlflow.db`, never through a tracking server.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use super::sqlite::SqliteStore;
use super::{Error, Result, SearchExperiments, SearchRuns, Tracker, ViewType, artifacts, now_ms};

/// What to collect; `None` means "every deleted one", as in `mlflow gc`.
#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// `--older-than` as given (e.g. `30d`, `1d2h3m4s`).
    pub older_than: Option<String>,
    pub run_ids: Option<Vec<String>>,
    pub experiment_ids: Option<Vec<String>>,
}

/// One run to remove, with where its artifacts are.
#[derive(Debug, Clone, Serialize)]
pub struct DoomedRun {
    pub run_id: String,
    pub artifact_uri: String,
}

/// What a collection would remove.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcPlan {
    pub runs: Vec<DoomedRun>,
    pub experiments: Vec<String>,
}

impl GcPlan {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.experiments.is_empty()
    }
}

/// Artifacts that were not removed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct LeftArtifacts {
    pub run_id: String,
    pub artifact_uri: String,
    pub reason: String,
}

/// What a collection removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    pub runs: Vec<String>,
    pub experiments: Vec<String>,
    pub artifact_folders_removed: Vec<PathBuf>,
    pub artifacts_left: Vec<LeftArtifacts>,
}

/// `--older-than` in milliseconds: `#d#h#m#s`, each part optional and possibly fractional
/// (MLflow's pattern).
pub fn parse_older_than(s: &str) -> Result<i64> {
    let bad = || {
        Error::invalid(
            "--older-than",
            s,
            "use #d#h#m#s, e.g. `8h`, `2d8h5m20s` or `1.5d`",
        )
    };
    let mut rest = s;
    let mut total = 0.0_f64;
    let mut any = false;
    for (unit, ms) in [
        ('d', 86_400_000.0),
        ('h', 3_600_000.0),
        ('m', 60_000.0),
        ('s', 1000.0),
    ] {
        let digits = rest
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
            .count();
        if digits > 0 && rest[digits..].starts_with(unit) {
            let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
            total += n * ms;
            rest = &rest[digits + 1..];
            any = true;
        }
    }
    if !rest.is_empty() || !any {
        return Err(bad());
    }
    Ok(total as i64)
}

/// Chooses and checks what to remove, as `mlflow gc`: named runs must be deleted (and old
/// enough with `--older-than`); without `--experiment-ids` every deleted experiment (old enough)
/// goes, with its deleted runs.
pub fn plan(store: &SqliteStore, opts: &GcOptions) -> Result<GcPlan> {
    let older_than = opts
        .older_than
        .as_deref()
        .map(parse_older_than)
        .transpose()?;
    let delta = older_than.unwrap_or(0);
    let deleted_old_enough: BTreeSet<String> = store.deleted_run_ids(delta)?.into_iter().collect();
    let mut run_ids: Vec<String> = match &opts.run_ids {
        Some(ids) => ids.clone(),
        None => deleted_old_enough.iter().cloned().collect(),
    };
    let threshold = now_ms() - delta;
    let experiments: Vec<String> = match &opts.experiment_ids {
        Some(ids) => {
            let mut exps = Vec::new();
            for id in ids {
                exps.push(store.get_experiment(id)?);
            }
            let active: Vec<&str> = exps
                .iter()
                .filter(|e| e.lifecycle_stage != "deleted")
                .map(|e| e.experiment_id.as_str())
                .collect();
            if !active.is_empty() {
                return Err(Error::invalid(
                    "--experiment-ids",
                    active.join(","),
                    "only experiments in the deleted lifecycle stage can be removed permanently",
                ));
            }
            if let Some(limit) = &opts.older_than {
                let young: Vec<&str> = exps
                    .iter()
                    .filter(|e| e.last_update_time.is_none_or(|t| t >= threshold))
                    .map(|e| e.experiment_id.as_str())
                    .collect();
                if !young.is_empty() {
                    return Err(Error::invalid(
                        "--experiment-ids",
                        young.join(","),
                        format!("only experiments deleted more than {limit} ago can be removed"),
                    ));
                }
            }
            ids.clone()
        }
        None => {
            let mut q = SearchExperiments {
                view: ViewType::DeletedOnly,
                ..Default::default()
            };
            let mut out = Vec::new();
            loop {
                let page = store.search_experiments(&q)?;
                out.extend(
                    page.experiments
                        .into_iter()
                        .filter(|e| {
                            older_than.is_none()
                                || e.last_update_time.is_some_and(|t| t < threshold)
                        })
                        .map(|e| e.experiment_id),
                );
                match page.next_page_token {
                    Some(t) => q.page_token = Some(t),
                    None => break,
                }
            }
            out
        }
    };
    if !experiments.is_empty() {
        let mut q = SearchRuns {
            experiment_ids: experiments.clone(),
            view: ViewType::DeletedOnly,
            ..Default::default()
        };
        loop {
            let page = store.search_runs(&q)?;
            run_ids.extend(page.runs.into_iter().map(|r| r.info.run_id));
            match page.next_page_token {
                Some(t) => q.page_token = Some(t),
                None => break,
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut runs = Vec::new();
    for id in run_ids {
        if !seen.insert(id.clone()) {
            continue;
        }
        let run = store.get_run(&id)?;
        if run.info.lifecycle_stage != "deleted" {
            return Err(Error::invalid(
                "--run-ids",
                id,
                "only runs in the deleted lifecycle stage can be removed permanently",
            ));
        }
        if let Some(limit) = &opts.older_than
            && !deleted_old_enough.contains(&id)
        {
            return Err(Error::invalid(
                "--run-ids",
                id,
                format!("only runs deleted more than {limit} ago can be removed"),
            ));
        }
        runs.push(DoomedRun {
            run_id: id,
            artifact_uri: run.info.artifact_uri,
        });
    }
    Ok(GcPlan { runs, experiments })
}

/// Removes what `plan` chose: each run's local artifact folder, then the run, then the
/// experiments. Artifacts elsewhere (S3, a server's proxy) are reported, not touched.
pub fn execute(store: &SqliteStore, plan: &GcPlan) -> Result<GcReport> {
    let mut report = GcReport::default();
    for run in &plan.runs {
        match remove_local_artifacts(run)? {
            Removal::Removed(dir) => report.artifact_folders_removed.push(dir),
            Removal::Nothing => {}
            Removal::Left(reason) => report.artifacts_left.push(LeftArtifacts {
                run_id: run.run_id.clone(),
                artifact_uri: run.artifact_uri.clone(),
                reason,
            }),
        }
        store.hard_delete_run(&run.run_id)?;
        report.runs.push(run.run_id.clone());
    }
    for id in &plan.experiments {
        store.hard_delete_experiment(id)?;
        report.experiments.push(id.clone());
    }
    Ok(report)
}

enum Removal {
    Removed(PathBuf),
    Nothing,
    Left(String),
}

/// Removes a run's artifact folder when it is a local folder of that run (a path component is the
/// run id, as in MLflow's `<experiment location>/<run id>/artifacts`); anything else is left.
fn remove_local_artifacts(run: &DoomedRun) -> Result<Removal> {
    if run.artifact_uri.is_empty() {
        return Ok(Removal::Nothing);
    }
    let dir = match artifacts::Location::parse(&run.artifact_uri) {
        Ok(artifacts::Location::Local(dir)) => dir,
        Ok(_) => {
            return Ok(Removal::Left(
                "not a local folder; remove it with the store's own tools".into(),
            ));
        }
        Err(_) => {
            return Ok(Removal::Left(
                "not an artifact location vintner reads".into(),
            ));
        }
    };
    if !dir
        .components()
        .any(|c| c.as_os_str() == run.run_id.as_str())
    {
        return Ok(Removal::Left(
            "the folder is not the run's own (no path component is its id)".into(),
        ));
    }
    match std::fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Removal::Nothing),
        Err(source) => {
            return Err(Error::Io {
                path: dir,
                action: "looking at a deleted run's artifacts",
                source,
            });
        }
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&dir),
        Ok(_) => std::fs::remove_file(&dir),
    }
    .map_err(|source| Error::Io {
        path: dir.clone(),
        action: "removing a deleted run's artifacts",
        source,
    })?;
    Ok(Removal::Removed(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_than_reads_mlflows_format() {
        assert_eq!(parse_older_than("1d").unwrap(), 86_400_000);
        assert_eq!(
            parse_older_than("1d2h3m4s").unwrap(),
            86_400_000 + 2 * 3_600_000 + 3 * 60_000 + 4000
        );
        assert_eq!(parse_older_than("1.5h").unwrap(), 5_400_000);
        assert_eq!(parse_older_than("30s").unwrap(), 30_000);
        for bad in ["", "1x", "h", "2h1d", "1d ", "-1d"] {
            assert!(parse_older_than(bad).is_err(), "{bad:?}");
        }
    }
}
