//! Cross-validation: fits a [`ModelSpec`] on every training fold, scores the test fold, and
//! returns per-fold metrics, their mean and standard deviation, timings and training histories
//! in a serialisable [`CvReport`]; plus the table data the CLI prints. Never prints.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::metrics::{METRIC_NAMES, Metrics};
use super::model::{History, ModelError, ModelSpec};
use super::rng::derive_seed;
use super::split::{CvScheme, SplitError, assign, folds_from_assignments};
use crate::progress::Progress;

/// How to cross-validate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvOptions {
    pub scheme: CvScheme,
    /// k of k-fold (ignored for given folds and holdout).
    pub folds: usize,
    pub repeats: usize,
    /// Seeds the split (per repeat) and the models (per fold).
    pub seed: u64,
}

impl Default for CvOptions {
    fn default() -> Self {
        Self {
            scheme: CvScheme::Grouped,
            folds: 5,
            repeats: 1,
            seed: 0,
        }
    }
}

/// Why cross-validation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Split(#[from] SplitError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
}

/// The outcome on one test fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldReport {
    pub repeat: usize,
    pub fold: usize,
    pub n_train: usize,
    pub n_test: usize,
    pub metrics: Metrics,
    /// Wall-clock seconds to fit (for forests, predicting the fold's rows with each tree as it
    /// is built included).
    pub fit_seconds: f64,
    /// CPU seconds of the whole process (all threads) while fitting (as `fit_seconds`; in
    /// `train`, also the final model being saved beside the folds); `None` where unavailable.
    pub fit_cpu_seconds: Option<f64>,
    /// Wall-clock seconds to predict the fold after the fit; 0 for forests, which predict it
    /// while they fit.
    pub predict_seconds: f64,
    /// Training history of this fold's model (per tree/epoch/iteration).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub history: History,
}

/// Cross-validation results (the `--json` contract of `vintner evaluate`: fields are only added).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    pub family: String,
    pub params: BTreeMap<String, String>,
    pub options: CvOptions,
    pub n_rows: usize,
    pub folds: Vec<FoldReport>,
    pub mean: Metrics,
    pub std: Metrics,
    pub mean_fit_seconds: f64,
    pub mean_fit_cpu_seconds: Option<f64>,
    /// Out-of-fold predictions, per fold: (row index, prediction). Not serialised.
    #[serde(skip)]
    pub predictions: Vec<Vec<(usize, f64)>>,
}

/// A table ready to print: a header and rows of cells (numbers already formatted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// CPU seconds used by this process so far (user + system, all threads), from `/proc/self/stat`.
#[cfg(all(target_os = "linux", not(feature = "portable")))]
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the `)` that closes the command name; utime and stime are fields 14 and 15
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU seconds used by this process so far (user + system, all threads), from `getrusage`.
#[cfg(not(all(target_os = "linux", not(feature = "portable"))))]
pub fn process_cpu_seconds() -> Option<f64> {
    // SAFETY: `getrusage` only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0).then_some(usage)
    }?;
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// Fold number per row for each repeat, as the evaluation will use them (for export, so another
/// tool can run on identical folds). Given folds come from `data.folds` when the scheme is
/// `Given` with no assignments.
pub fn fold_assignments(
    data: &Dataset,
    options: &CvOptions,
) -> Result<Vec<Vec<usize>>, SplitError> {
    let scheme = match (&options.scheme, &data.folds) {
        (CvScheme::Given { assignments }, Some(col)) if assignments.is_empty() => CvScheme::Given {
            assignments: vec![col.clone()],
        },
        (s, _) => s.clone(),
    };
    assign(
        &data.x,
        &scheme,
        options.folds,
        options.repeats,
        options.seed,
    )
}

/// Checks that `options` can split `data` into folds (what [`cross_validate`] does first), so
/// a caller can refuse before any long work.
pub fn check_folds(data: &Dataset, options: &CvOptions) -> Result<(), EvalError> {
    let assignments = fold_assignments(data, options)?;
    let holdout = matches!(options.scheme, CvScheme::Holdout { .. });
    folds_from_assignments(&assignments, holdout)?;
    Ok(())
}

/// Cross-validates `spec` on `data`.
pub fn cross_validate(
    spec: &ModelSpec,
    data: &Dataset,
    options: &CvOptions,
    progress: &dyn Progress,
) -> Result<CvReport, EvalError> {
    let assignments = fold_assignments(data, options)?;
    let holdout = matches!(options.scheme, CvScheme::Holdout { .. });
    let folds = folds_from_assignments(&assignments, holdout)?;
    let mut reports = Vec::new();
    let mut predictions = Vec::new();
    let total = folds.len();
    for (k, fold) in folds.iter().enumerate() {
        crate::interrupt::check()?;
        let (x_train, y_train) = data.subset(&fold.train);
        let (x_test, y_test) = data.subset(&fold.test);
        let seed = derive_seed(
            options.seed,
            ((fold.repeat as u64) << 16) | fold.index as u64,
        );
        let cpu0 = process_cpu_seconds();
        let t0 = Instant::now();
        // A forest predicts the fold with each tree as it is built (see `Forest::fit_predict`),
        // inside `fit_seconds`; other models predict after the fit.
        let (model, pred, fit_seconds, cpu1, predict_seconds) = if spec.predicts_while_fitting() {
            let (model, pred) = spec.fit_predict(
                &x_train,
                &y_train,
                &data.feature_names,
                seed,
                progress,
                &x_test,
            )?;
            let fit_seconds = t0.elapsed().as_secs_f64();
            (model, pred, fit_seconds, process_cpu_seconds(), 0.0)
        } else {
            let model = spec.fit(&x_train, &y_train, &data.feature_names, seed, progress)?;
            let fit_seconds = t0.elapsed().as_secs_f64();
            let cpu1 = process_cpu_seconds();
            let t1 = Instant::now();
            let pred = model.predict(&x_test)?;
            let predict_seconds = t1.elapsed().as_secs_f64();
            (model, pred, fit_seconds, cpu1, predict_seconds)
        };
        // An interrupted fit stops early; its model is not worth scoring.
        crate::interrupt::check()?;
        let fit_cpu_seconds = match (cpu0, cpu1) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        let metrics = Metrics::compute(&y_test, &pred);
        progress.note(&format!(
            "fold {}/{} rmse {:.4} ({:.1} s)",
            k + 1,
            total,
            metrics.rmse,
            fit_seconds
        ));
        predictions.push(fold.test.iter().copied().zip(pred).collect());
        reports.push(FoldReport {
            repeat: fold.repeat,
            fold: fold.index,
            n_train: fold.train.len(),
            n_test: fold.test.len(),
            metrics,
            fit_seconds,
            fit_cpu_seconds,
            predict_seconds,
            history: model.history,
        });
    }
    let all: Vec<Metrics> = reports.iter().map(|r| r.metrics).collect();
    let (mean, std) = Metrics::mean_std(&all);
    let n = reports.len().max(1) as f64;
    let cpu: Option<Vec<f64>> = reports.iter().map(|r| r.fit_cpu_seconds).collect();
    Ok(CvReport {
        family: spec.family.name().to_string(),
        params: spec.params.clone(),
        options: options.clone(),
        n_rows: data.len(),
        mean,
        std,
        mean_fit_seconds: reports.iter().map(|r| r.fit_seconds).sum::<f64>() / n,
        mean_fit_cpu_seconds: cpu.map(|c| c.iter().sum::<f64>() / n),
        folds: reports,
        predictions,
    })
}

impl CvReport {
    /// Per-fold rows, then `mean` and `std`: repeat, fold, rows, MAE, RMSE, R², accuracies (%),
    /// fit seconds (wall and CPU).
    pub fn fold_table(&self) -> Table {
        let mut header = vec!["repeat".to_string(), "fold".into(), "test rows".into()];
        header.extend(METRIC_NAMES.iter().map(|m| match *m {
            "acc_round" | "acc_025" | "acc_05" | "acc_10" => format!("{m} %"),
            other => other.to_string(),
        }));
        header.push("fit s".into());
        header.push("fit cpu s".into());
        let cells = |m: &Metrics| -> Vec<String> {
            m.values()
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if i >= 3 {
                        format!("{:.1}", v * 100.0)
                    } else {
                        format!("{v:.4}")
                    }
                })
                .collect()
        };
        let mut rows = Vec::new();
        for f in &self.folds {
            let mut row = vec![
                f.repeat.to_string(),
                f.fold.to_string(),
                f.n_test.to_string(),
            ];
            row.extend(cells(&f.metrics));
            row.push(format!("{:.2}", f.fit_seconds));
            row.push(f.fit_cpu_seconds.map_or("-".into(), |c| format!("{c:.2}")));
            rows.push(row);
        }
        let mut mean = vec!["mean".to_string(), String::new(), String::new()];
        mean.extend(cells(&self.mean));
        mean.push(format!("{:.2}", self.mean_fit_seconds));
        mean.push(
            self.mean_fit_cpu_seconds
                .map_or("-".into(), |c| format!("{c:.2}")),
        );
        rows.push(mean);
        let mut std = vec!["std".to_string(), String::new(), String::new()];
        std.extend(cells(&self.std));
        std.push(String::new());
        std.push(String::new());
        rows.push(std);
        Table { header, rows }
    }
}

impl Table {
    /// Plain aligned text (numbers right-aligned), for callers without their own table printer.
    pub fn to_text(&self) -> String {
        let ncol = self.header.len();
        let mut width = vec![0; ncol];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (j, c) in row.iter().enumerate().take(ncol) {
                width[j] = width[j].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let line: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(j, c)| format!("{c:>w$}", w = width[j]))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}
