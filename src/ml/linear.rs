//! ElasticNet by coordinate descent with scikit-learn's objective
//! `1/(2n)·||y − Xw − b||² + α·ρ·||w||₁ + α·(1−ρ)/2·||w||²` (ρ = `l1_ratio`), intercept fitted,
//! raw features by default (as MLflow's wine tutorial). Small, exact, no linear-algebra crate.

use super::dataset::Matrix;

/// Settings of an ElasticNet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearParams {
    pub alpha: f64,
    pub l1_ratio: f64,
    /// Standardize features before fitting (coefficients are mapped back to raw units).
    pub standardize: bool,
    pub max_iter: usize,
    pub tol: f64,
}

/// A fitted linear model: `intercept + coef · x`.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub coef: Vec<f64>,
    pub intercept: f64,
    /// Coordinate-descent sweeps used.
    pub iterations: usize,
}

fn soft_threshold(v: f64, t: f64) -> f64 {
    if v > t {
        v - t
    } else if v < -t {
        v + t
    } else {
        0.0
    }
}

impl Linear {
    pub fn fit(x: &Matrix, y: &[f64], params: &LinearParams) -> Linear {
        let n = x.rows();
        let d = x.cols();
        let nf = n as f64;
        let mut cols = x.columns();
        let x_mean: Vec<f64> = cols.iter().map(|c| c.iter().sum::<f64>() / nf).collect();
        let mut scale = vec![1.0; d];
        for (j, c) in cols.iter_mut().enumerate() {
            for v in c.iter_mut() {
                *v -= x_mean[j];
            }
            if params.standardize {
                let sd = (c.iter().map(|v| v * v).sum::<f64>() / nf).sqrt();
                if sd > 0.0 {
                    scale[j] = sd;
                    for v in c.iter_mut() {
                        *v /= sd;
                    }
                }
            }
        }
        let y_mean = y.iter().sum::<f64>() / nf;
        let mut r: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
        let norms: Vec<f64> = cols
            .iter()
            .map(|c| c.iter().map(|v| v * v).sum::<f64>() / nf)
            .collect();
        let l1 = params.alpha * params.l1_ratio;
        let l2 = params.alpha * (1.0 - params.l1_ratio);
        let mut w = vec![0.0; d];
        let mut iterations = 0;
        for it in 0..params.max_iter.max(1) {
            iterations = it + 1;
            let mut max_change: f64 = 0.0;
            let mut max_w: f64 = 0.0;
            for j in 0..d {
                if norms[j] == 0.0 {
                    continue;
                }
                let c = &cols[j];
                let old = w[j];
                let rho: f64 =
                    c.iter().zip(&r).map(|(a, b)| a * b).sum::<f64>() / nf + norms[j] * old;
                let new = soft_threshold(rho, l1) / (norms[j] + l2);
                if new != old {
                    let delta = new - old;
                    for (ri, ci) in r.iter_mut().zip(c) {
                        *ri -= delta * ci;
                    }
                    w[j] = new;
                }
                max_change = max_change.max((new - old).abs());
                max_w = max_w.max(new.abs());
            }
            if max_w == 0.0 || max_change <= params.tol * max_w {
                break;
            }
        }
        let coef: Vec<f64> = w.iter().zip(&scale).map(|(wj, s)| wj / s).collect();
        let intercept = y_mean - coef.iter().zip(&x_mean).map(|(c, m)| c * m).sum::<f64>();
        Linear {
            coef,
            intercept,
            iterations,
        }
    }

    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        (0..x.rows())
            .map(|i| {
                self.intercept
                    + x.row(i)
                        .iter()
                        .zip(&self.coef)
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(alpha: f64, l1_ratio: f64) -> LinearParams {
        LinearParams {
            alpha,
            l1_ratio,
            standardize: false,
            max_iter: 100_000,
            tol: 1e-12,
        }
    }

    #[test]
    fn no_penalty_is_least_squares() {
        // y = 1 + 2 a - 3 b exactly
        let rows = vec![
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![2.0, 3.0],
            vec![3.0, 1.0],
            vec![4.0, 5.0],
        ];
        let y: Vec<f64> = rows.iter().map(|r| 1.0 + 2.0 * r[0] - 3.0 * r[1]).collect();
        let m = Linear::fit(&Matrix::from_rows(&rows).unwrap(), &y, &params(0.0, 0.5));
        assert!(
            (m.coef[0] - 2.0).abs() < 1e-8 && (m.coef[1] + 3.0).abs() < 1e-8,
            "{m:?}"
        );
        assert!((m.intercept - 1.0).abs() < 1e-8);
    }

    #[test]
    fn lasso_on_one_feature_matches_closed_form() {
        // one centred feature: w = S(cov, alpha) / var ; x = [-1, 0, 1], y = [0, 1, 5]
        let rows = vec![vec![-1.0], vec![0.0], vec![1.0]];
        let y = [0.0, 1.0, 5.0];
        let m = Linear::fit(&Matrix::from_rows(&rows).unwrap(), &y, &params(0.5, 1.0));
        // cov = (0*-1 + 5*1)/3 = 5/3 (y centring does not change it), var = 2/3
        let expected = (5.0 / 3.0 - 0.5) / (2.0 / 3.0);
        assert!((m.coef[0] - expected).abs() < 1e-10, "{m:?}");
        assert!((m.intercept - 2.0).abs() < 1e-10);
        // ridge part: l1_ratio 0 -> w = cov / (var + alpha)
        let m = Linear::fit(&Matrix::from_rows(&rows).unwrap(), &y, &params(0.5, 0.0));
        assert!((m.coef[0] - (5.0 / 3.0) / (2.0 / 3.0 + 0.5)).abs() < 1e-10);
        // large alpha zeroes the coefficient and predicts the mean
        let m = Linear::fit(&Matrix::from_rows(&rows).unwrap(), &y, &params(10.0, 1.0));
        assert_eq!(m.coef[0], 0.0);
    }
}
