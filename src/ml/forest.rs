//! Tree ensembles averaged over many trees: ExtraTrees (random thresholds, all rows) and random
//! forests (best thresholds, bootstrap rows). Trees are built in parallel with rayon, each from
//! its own derived seed, so the result does not depend on the number of threads.

use rayon::prelude::*;

use super::dataset::Matrix;
use super::rng::{Rng, derive_seed};
use super::tree::{PackedRows, Tree, TreeParams, build_tree};
use crate::progress::Progress;

/// Settings of a forest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForestParams {
    pub n_estimators: usize,
    pub tree: TreeParams,
    /// Draw each tree's rows with replacement.
    pub bootstrap: bool,
    /// Rows per bootstrap sample as a fraction of the training rows.
    pub max_samples: f64,
}

/// A fitted forest: the prediction is the mean of its trees.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    pub n_features: usize,
    pub trees: Vec<Tree>,
    /// The trees split on inputs rounded to `f32`, as scikit-learn's do (the builder then moves
    /// half the bytes); predictions round the inputs the same way. Forests saved before this
    /// existed, and data beyond the range of `f32`, split on `f64`.
    pub f32_inputs: bool,
}

impl Forest {
    pub fn fit(
        x: &Matrix,
        y: &[f64],
        params: &ForestParams,
        seed: u64,
        progress: &dyn Progress,
    ) -> Forest {
        Self::fit_with(x, y, params, seed, progress, None).0
    }

    /// Fits, and predicts `test` with each tree while it is still in cache (500 trees are
    /// tens of megabytes, so predicting afterwards streams them all from memory again). The
    /// predictions are exactly those of [`Forest::predict`]. Large test sets are predicted
    /// afterwards, so the trees' predictions need at most 32 MB.
    pub fn fit_predict(
        x: &Matrix,
        y: &[f64],
        params: &ForestParams,
        seed: u64,
        progress: &dyn Progress,
        test: &Matrix,
    ) -> (Forest, Vec<f64>) {
        if test.rows().saturating_mul(params.n_estimators) > 1 << 22 {
            let forest = Self::fit(x, y, params, seed, progress);
            let predictions = forest.predict(test);
            return (forest, predictions);
        }
        let (forest, predictions) = Self::fit_with(x, y, params, seed, progress, Some(test));
        (forest, predictions.unwrap_or_default())
    }

    fn fit_with(
        x: &Matrix,
        y: &[f64],
        params: &ForestParams,
        seed: u64,
        progress: &dyn Progress,
        test: Option<&Matrix>,
    ) -> (Forest, Option<Vec<f64>>) {
        let mut columns = x.columns();
        let f32_inputs = columns.iter().flatten().all(|v| (*v as f32).is_finite());
        if f32_inputs {
            for v in columns.iter_mut().flatten() {
                *v = to_f32(*v);
            }
        }
        let test = test.map(|t| split_inputs(f32_inputs, t));
        let n = x.rows();
        let packed = params
            .tree
            .random_splits
            .then(|| PackedRows::new(&columns, y))
            .flatten();
        progress.begin("trees", Some(params.n_estimators as u64));
        // After an interrupt (`crate::interrupt`) no further tree is started: the forest comes
        // back short and the caller, which polls `interrupt::check`, discards it.
        let (trees, by_tree): (Vec<Tree>, Vec<Vec<f64>>) = (0..params.n_estimators)
            .into_par_iter()
            .map(|t| {
                if crate::interrupt::requested().is_some() {
                    return None;
                }
                let mut rng = Rng::new(derive_seed(seed, t as u64));
                let samples: Vec<u32> = if params.bootstrap {
                    let m = ((params.max_samples * n as f64).round() as usize).max(1);
                    (0..m).map(|_| rng.below(n) as u32).collect()
                } else {
                    (0..n as u32).collect()
                };
                let tree = build_tree(
                    &columns,
                    y,
                    packed.as_ref(),
                    samples,
                    &params.tree,
                    &mut rng,
                );
                let mut predicted = Vec::new();
                if let Some(test) = &test {
                    predicted = vec![0.0; test.rows()];
                    tree.predict_add(test, 0, &mut predicted);
                }
                progress.advance(1);
                Some((tree, predicted))
            })
            .while_some()
            .unzip();
        progress.end();
        // Each row adds its trees in order, from zero, as `predict` does.
        let predictions = test.map(|test| {
            let mut out = vec![0.0; test.rows()];
            for p in &by_tree {
                for (acc, v) in out.iter_mut().zip(p) {
                    *acc += v;
                }
            }
            let k = by_tree.len() as f64;
            for acc in &mut out {
                *acc /= k;
            }
            out
        });
        let forest = Forest {
            n_features: x.cols(),
            trees,
            f32_inputs,
        };
        (forest, predictions)
    }

    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        let x = &*split_inputs(self.f32_inputs, x);
        let k = self.trees.len() as f64;
        let mut out = vec![0.0; x.rows()];
        // Blocks of rows, each tree over the whole block while it is in cache; every row still
        // sums its trees in order, so the result depends on neither the thread count nor the
        // block size. Every block streams all the trees through the cache once, so blocks are
        // as large as keeps two per thread (and a block's rows in the core's own cache).
        let per_thread = x.rows().div_ceil(2 * rayon::current_num_threads());
        let block_rows = per_thread.clamp(256, 4096);
        out.par_chunks_mut(block_rows)
            .enumerate()
            .for_each(|(b, block)| {
                let start = b * block_rows;
                for t in &self.trees {
                    t.predict_add(x, start, block);
                }
                for acc in block.iter_mut() {
                    *acc /= k;
                }
            });
        out
    }

    /// Number of nodes over all trees.
    pub fn node_count(&self) -> usize {
        self.trees.iter().map(Tree::len).sum()
    }
}

/// `v` rounded to the nearest `f32`, the precision forests with `f32_inputs` split on.
fn to_f32(v: f64) -> f64 {
    f64::from(v as f32)
}

/// The inputs as a forest's trees compare them: rounded to `f32` when it splits on `f32`.
fn split_inputs(f32_inputs: bool, x: &Matrix) -> std::borrow::Cow<'_, Matrix> {
    if f32_inputs {
        std::borrow::Cow::Owned(x.map(to_f32))
    } else {
        std::borrow::Cow::Borrowed(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    /// ExtraTrees grown to full depth, one sample per leaf at least.
    fn extra_trees(n_estimators: usize, max_features: usize, bootstrap: bool) -> ForestParams {
        ForestParams {
            n_estimators,
            tree: TreeParams {
                random_splits: true,
                max_features,
                min_samples_leaf: 1,
                min_samples_split: 2,
                max_depth: usize::MAX,
            },
            bootstrap,
            max_samples: 1.0,
        }
    }

    #[test]
    fn same_seed_same_forest() {
        let rows: Vec<Vec<f64>> = (0..200)
            .map(|i| vec![(i % 17) as f64, (i % 5) as f64 * 0.3, (i as f64).sin()])
            .collect();
        let x = Matrix::from_rows(&rows).unwrap();
        let y: Vec<f64> = rows.iter().map(|r| r[0] * 0.2 + r[2]).collect();
        let params = extra_trees(20, 3, true);
        let a = Forest::fit(&x, &y, &params, 9, &Silent);
        let b = Forest::fit(&x, &y, &params, 9, &Silent);
        assert_eq!(a, b);
        let c = Forest::fit(&x, &y, &params, 10, &Silent);
        assert_ne!(a.predict(&x), c.predict(&x));
    }

    /// Forests split on inputs rounded to `f32` (as scikit-learn's trees) and round what they
    /// predict on the same way; data beyond the range of `f32` keeps `f64`.
    #[test]
    fn forests_split_on_f32_inputs_unless_the_data_is_out_of_range() {
        let rows: Vec<Vec<f64>> = (0..300)
            .map(|i| vec![i as f64 * 0.1 + 1e-9, ((i * 7) % 13) as f64 / 3.0])
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| (r[0] / 10.0).floor() + r[1]).collect();
        let params = extra_trees(8, 2, false);
        let x = Matrix::from_rows(&rows).unwrap();
        let f = Forest::fit(&x, &y, &params, 3, &Silent);
        assert!(f.f32_inputs);
        let rounded = x.map(|v| f64::from(v as f32));
        assert_eq!(f.predict(&x), f.predict(&rounded));
        // A value just above a root threshold that rounds (as `f32`) to at most it goes left.
        let (tree, root) = f
            .trees
            .iter()
            .enumerate()
            .map(|(i, t)| (i, t.nodes[0]))
            .find(|(_, n)| {
                let v = n.value.next_up();
                n.feature >= 0 && f64::from(v as f32) <= n.value
            })
            .expect("a root threshold nearer the f32 below it");
        let mut probe = rows[0].clone();
        probe[root.feature as usize] = root.value.next_up();
        let probe_rounded: Vec<f64> = probe.iter().map(|v| f64::from(*v as f32)).collect();
        let by_tree: Vec<f64> = f
            .trees
            .iter()
            .map(|t| t.predict_row(&probe_rounded))
            .collect();
        let mean = by_tree.iter().sum::<f64>() / by_tree.len() as f64;
        assert_ne!(
            by_tree[tree],
            f.trees[tree].predict_row(&probe),
            "the probe should change sides"
        );
        let got = f.predict(&Matrix::from_rows(&[probe]).unwrap())[0];
        assert!((got - mean).abs() < 1e-12, "{got} != {mean}");

        let mut huge = rows.clone();
        huge[0][1] = 1e300;
        let f = Forest::fit(&Matrix::from_rows(&huge).unwrap(), &y, &params, 3, &Silent);
        assert!(!f.f32_inputs);
        assert!(f.predict(&x).iter().all(|p| p.is_finite()));
    }

    /// Predicting with each tree as it is built gives `predict`'s predictions, bit for bit,
    /// also for test sets too large to keep every tree's predictions (predicted afterwards).
    #[test]
    fn fit_predict_predicts_as_predict() {
        let rows: Vec<Vec<f64>> = (0..400)
            .map(|i| {
                vec![
                    (i % 23) as f64 * 0.3,
                    ((i * 7) % 13) as f64 / 3.0,
                    (i as f64).cos(),
                ]
            })
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| r[0] * 0.7 + r[1] - r[2]).collect();
        let x = Matrix::from_rows(&rows).unwrap();
        for (n_estimators, test_rows) in [(30, 1000), (20, (1 << 22) / 20 + 1)] {
            let params = extra_trees(n_estimators, 2, true);
            let test_data: Vec<f64> = (0..test_rows * 3)
                .map(|i| ((i * 37) % 101) as f64 / 9.0 - 2.0)
                .collect();
            let test = Matrix::new(test_rows, 3, test_data).unwrap();
            let (forest, predictions) = Forest::fit_predict(&x, &y, &params, 5, &Silent, &test);
            assert_eq!(forest, Forest::fit(&x, &y, &params, 5, &Silent));
            assert_eq!(predictions, forest.predict(&test));
        }
    }
}
