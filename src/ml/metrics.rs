//! Regression metrics for integer-graded targets (wine quality): MAE, RMSE, R², accuracy of the
//! rounded prediction and accuracy within a tolerance (Cortez et al. 2009). Pure functions.

use serde::{Deserialize, Serialize};

/// Every metric vintner reports for a set of predictions. Accuracies are fractions in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    pub mae: f64,
    pub rmse: f64,
    pub r2: f64,
    /// `round(prediction) == truth` (ties to even, as numpy's `rint`).
    pub acc_round: f64,
    /// `|prediction - truth| <= 0.25`.
    pub acc_025: f64,
    /// `|prediction - truth| <= 0.5`.
    pub acc_05: f64,
    /// `|prediction - truth| <= 1.0`.
    pub acc_10: f64,
}

/// Names of the metrics in the order of [`Metrics::values`]; also the keys logged to a tracker.
pub const METRIC_NAMES: [&str; 7] = [
    "mae",
    "rmse",
    "r2",
    "acc_round",
    "acc_025",
    "acc_05",
    "acc_10",
];

impl Metrics {
    /// Computes all metrics. `truth` and `pred` must have the same, non-zero length.
    pub fn compute(truth: &[f64], pred: &[f64]) -> Self {
        assert_eq!(
            truth.len(),
            pred.len(),
            "truth and predictions differ in length"
        );
        Self {
            mae: mae(truth, pred),
            rmse: rmse(truth, pred),
            r2: r2(truth, pred),
            acc_round: accuracy_rounded(truth, pred),
            acc_025: accuracy_within(truth, pred, 0.25),
            acc_05: accuracy_within(truth, pred, 0.5),
            acc_10: accuracy_within(truth, pred, 1.0),
        }
    }

    pub fn values(&self) -> [f64; 7] {
        [
            self.mae,
            self.rmse,
            self.r2,
            self.acc_round,
            self.acc_025,
            self.acc_05,
            self.acc_10,
        ]
    }

    pub fn from_values(v: [f64; 7]) -> Self {
        Self {
            mae: v[0],
            rmse: v[1],
            r2: v[2],
            acc_round: v[3],
            acc_025: v[4],
            acc_05: v[5],
            acc_10: v[6],
        }
    }

    /// Mean and sample standard deviation (ddof = 1, 0 for a single item) of each metric.
    pub fn mean_std(items: &[Metrics]) -> (Metrics, Metrics) {
        let mut mean = [0.0; 7];
        let mut std = [0.0; 7];
        for k in 0..7 {
            let col: Vec<f64> = items.iter().map(|m| m.values()[k]).collect();
            let (m, s) = mean_std(&col);
            mean[k] = m;
            std[k] = s;
        }
        (Metrics::from_values(mean), Metrics::from_values(std))
    }
}

/// Mean and sample standard deviation (ddof = 1; 0 when fewer than two values).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

pub fn mae(truth: &[f64], pred: &[f64]) -> f64 {
    truth
        .iter()
        .zip(pred)
        .map(|(t, p)| (t - p).abs())
        .sum::<f64>()
        / truth.len() as f64
}

pub fn rmse(truth: &[f64], pred: &[f64]) -> f64 {
    (truth
        .iter()
        .zip(pred)
        .map(|(t, p)| (t - p).powi(2))
        .sum::<f64>()
        / truth.len() as f64)
        .sqrt()
}

/// Coefficient of determination, as scikit-learn: `1 - SS_res / SS_tot`; 1.0 for a perfect fit
/// of a constant target, 0.0 for an imperfect fit of a constant target.
pub fn r2(truth: &[f64], pred: &[f64]) -> f64 {
    let n = truth.len() as f64;
    let mean = truth.iter().sum::<f64>() / n;
    let ss_tot: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let ss_res: f64 = truth.iter().zip(pred).map(|(t, p)| (t - p).powi(2)).sum();
    if ss_tot == 0.0 {
        return if ss_res == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - ss_res / ss_tot
}

pub fn accuracy_rounded(truth: &[f64], pred: &[f64]) -> f64 {
    let hits = truth
        .iter()
        .zip(pred)
        .filter(|(t, p)| p.round_ties_even() == **t)
        .count();
    hits as f64 / truth.len() as f64
}

pub fn accuracy_within(truth: &[f64], pred: &[f64], tolerance: f64) -> f64 {
    let hits = truth
        .iter()
        .zip(pred)
        .filter(|(t, p)| (*t - *p).abs() <= tolerance)
        .count();
    hits as f64 / truth.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn hand_computed_values() {
        // errors: -0.5, 0.25, 1.0, 0.0
        let truth = [5.0, 6.0, 7.0, 4.0];
        let pred = [5.5, 5.75, 6.0, 4.0];
        let m = Metrics::compute(&truth, &pred);
        close(m.mae, (0.5 + 0.25 + 1.0 + 0.0) / 4.0);
        close(m.rmse, ((0.25 + 0.0625 + 1.0 + 0.0) / 4.0f64).sqrt());
        // mean 5.5, ss_tot = 0.25+0.25+2.25+2.25 = 5, ss_res = 1.3125
        close(m.r2, 1.0 - 1.3125 / 5.0);
        // rint: 5.5 -> 6 (even), 5.75 -> 6, 6.0 -> 6, 4 -> 4 => hits: 6==6, 4==4
        close(m.acc_round, 0.5);
        close(m.acc_025, 0.5);
        close(m.acc_05, 0.75);
        close(m.acc_10, 1.0);
    }

    #[test]
    fn rounding_is_ties_to_even_like_numpy() {
        close(accuracy_rounded(&[4.0, 6.0], &[4.5, 6.5]), 1.0);
        close(accuracy_rounded(&[5.0], &[4.5]), 0.0);
    }

    #[test]
    fn r2_of_constant_target() {
        close(r2(&[3.0, 3.0], &[3.0, 3.0]), 1.0);
        close(r2(&[3.0, 3.0], &[3.0, 4.0]), 0.0);
    }

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        close(m, 2.5);
        close(s, (5.0f64 / 3.0).sqrt());
        assert_eq!(mean_std(&[2.0]), (2.0, 0.0));
    }
}
