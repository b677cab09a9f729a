//! Model families behind one type: a [`ModelSpec`] (family + `key=value` hyperparameters, checked
//! and completed with defaults) fits a [`Model`] that predicts, keeps its training history, and
//! can be saved as a bundle. Every family is deterministic for a given seed.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, Matrix};
use super::forest::{Forest, ForestParams};
use super::gbm::{Gbm, GbmParams};
use super::linear::{Linear, LinearParams};
use super::mlp::{Mlp, MlpParams};
use super::rng::derive_seed;
use super::tree::{MaxFeatures, TreeParams};
use crate::progress::Progress;

/// A model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    ExtraTrees,
    RandomForest,
    Gbm,
    Mlp,
    ElasticNet,
    /// A weighted average of other families.
    Blend,
}

impl Family {
    pub const ALL: [Family; 6] = [
        Family::ExtraTrees,
        Family::RandomForest,
        Family::Gbm,
        Family::Mlp,
        Family::ElasticNet,
        Family::Blend,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::ExtraTrees => "extra-trees",
            Family::RandomForest => "random-forest",
            Family::Gbm => "gbm",
            Family::Mlp => "mlp",
            Family::ElasticNet => "elastic-net",
            Family::Blend => "blend",
        }
    }

    pub fn parse(text: &str) -> Result<Family, ModelError> {
        let t = text.trim().to_ascii_lowercase().replace('_', "-");
        Family::ALL
            .into_iter()
            .find(|f| f.name() == t)
            .ok_or_else(|| ModelError::UnknownFamily {
                family: text.to_string(),
                known: Family::ALL.map(Family::name).join(", "),
            })
    }

    /// Every hyperparameter of the family with its default value.
    pub fn defaults(self) -> &'static [(&'static str, &'static str)] {
        match self {
            // max_features 0.5 (scikit-learn's default is 1.0): better under grouped CV on the
            // wine data and half the work; see the measurements in bench/models.sh.
            Family::ExtraTrees => &[
                ("n_estimators", "500"),
                ("max_features", "0.5"),
                ("min_samples_leaf", "1"),
                ("min_samples_split", "2"),
                ("max_depth", "none"),
                ("bootstrap", "false"),
                ("max_samples", "1.0"),
                ("clip", "true"),
            ],
            Family::RandomForest => &[
                ("n_estimators", "500"),
                ("max_features", "0.33"),
                ("min_samples_leaf", "1"),
                ("min_samples_split", "2"),
                ("max_depth", "none"),
                ("bootstrap", "true"),
                ("max_samples", "1.0"),
                ("clip", "true"),
            ],
            Family::Gbm => &[
                ("n_estimators", "1000"),
                ("learning_rate", "0.02"),
                ("num_leaves", "63"),
                ("max_depth", "none"),
                ("min_child_samples", "5"),
                ("lambda", "1.0"),
                ("subsample", "0.8"),
                ("colsample", "0.7"),
                ("max_bins", "255"),
                ("clip", "true"),
            ],
            Family::Mlp => &[
                ("hidden", "64,64"),
                ("learning_rate", "0.001"),
                ("batch_size", "64"),
                ("max_epochs", "300"),
                ("patience", "20"),
                ("validation_fraction", "0.1"),
                ("weight_decay", "0.0"),
                ("clip", "true"),
            ],
            Family::ElasticNet => &[
                ("alpha", "0.5"),
                ("l1_ratio", "0.5"),
                ("standardize", "false"),
                ("max_iter", "1000"),
                ("tol", "0.0001"),
                ("clip", "false"),
            ],
            Family::Blend => &[
                ("members", "extra-trees,gbm"),
                ("weights", "equal"),
                ("clip", "true"),
            ],
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a model could not be specified, fitted or used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("Unknown model family `{family}` (known: {known})")]
    UnknownFamily { family: String, known: String },
    #[error("Unknown hyperparameter `{key}` for `{family}` (known: {known})")]
    UnknownParam {
        family: String,
        key: String,
        known: String,
    },
    #[error("Hyperparameter `{key}={value}` of `{family}` is invalid: expected {expected}")]
    BadValue {
        family: String,
        key: String,
        value: String,
        expected: String,
    },
    #[error("The model expects {expected} input columns but got {found}")]
    WrongColumnCount { expected: usize, found: usize },
    #[error("Cannot train on an empty dataset")]
    EmptyTrainingSet,
}

impl ModelError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::UnknownFamily { .. } => Some("pick one of the listed families".into()),
            Self::UnknownParam { .. } | Self::BadValue { .. } => {
                Some("fix the `-P key=value` flag or `[model.params]` in vintner.toml".into())
            }
            Self::WrongColumnCount { .. } => {
                Some("predict with the same columns the model was trained on".into())
            }
            Self::EmptyTrainingSet => None,
        }
    }
}

/// Typed hyperparameters of each family.
#[derive(Debug, Clone, PartialEq)]
enum Typed {
    Forest {
        max_features: MaxFeatures,
        params: ForestParams,
    },
    Gbm(GbmParams),
    Mlp(MlpParams),
    Linear(LinearParams),
    Blend {
        members: Vec<(f64, ModelSpec)>,
    },
}

/// A family and its complete hyperparameters (defaults filled in), validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub family: Family,
    /// Every hyperparameter as text, defaults included: what a run records.
    pub params: BTreeMap<String, String>,
    clip: bool,
    typed: Typed,
}

struct Reader<'a> {
    family: Family,
    params: &'a BTreeMap<String, String>,
}

impl Reader<'_> {
    fn bad(&self, key: &str, expected: &str) -> ModelError {
        ModelError::BadValue {
            family: self.family.name().into(),
            key: key.into(),
            value: self.params.get(key).cloned().unwrap_or_default(),
            expected: expected.into(),
        }
    }

    fn text(&self, key: &str) -> &str {
        self.params.get(key).map_or("", String::as_str)
    }

    fn usize_min(&self, key: &str, min: usize) -> Result<usize, ModelError> {
        self.text(key)
            .parse::<usize>()
            .ok()
            .filter(|v| *v >= min)
            .ok_or_else(|| self.bad(key, &format!("an integer >= {min}")))
    }

    fn usize_or_none(&self, key: &str) -> Result<usize, ModelError> {
        match self.text(key) {
            "none" | "None" | "null" => Ok(usize::MAX),
            t => t
                .parse::<usize>()
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| self.bad(key, "an integer >= 1 or `none`")),
        }
    }

    /// A finite float in `[lo, hi]` (or `(lo, hi]` when `open_lo`).
    fn float(&self, key: &str, lo: f64, hi: f64, open_lo: bool) -> Result<f64, ModelError> {
        let ok = |v: &f64| v.is_finite() && *v <= hi && if open_lo { *v > lo } else { *v >= lo };
        self.text(key)
            .parse::<f64>()
            .ok()
            .filter(ok)
            .ok_or_else(|| {
                let l = if open_lo { "(" } else { "[" };
                self.bad(key, &format!("a number in {l}{lo}, {hi}]"))
            })
    }

    fn boolean(&self, key: &str) -> Result<bool, ModelError> {
        match self.text(key) {
            "true" | "True" | "1" | "yes" => Ok(true),
            "false" | "False" | "0" | "no" => Ok(false),
            _ => Err(self.bad(key, "true or false")),
        }
    }
}

impl ModelSpec {
    /// Validates `params` (`key=value` pairs) for `family` and fills in the defaults.
    /// For `blend`, member hyperparameters are given as `<member family>.<key>`, e.g.
    /// `extra-trees.n_estimators=800`.
    pub fn parse(family: &str, params: &[(String, String)]) -> Result<ModelSpec, ModelError> {
        let family = Family::parse(family)?;
        let mut map: BTreeMap<String, String> = family
            .defaults()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut member_params: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (key, value) in params {
            let key = key.trim();
            if family == Family::Blend
                && let Some((member, inner)) = key.split_once('.')
            {
                let m = Family::parse(member)?;
                member_params
                    .entry(m.name().to_string())
                    .or_default()
                    .push((inner.to_string(), value.trim().to_string()));
                continue;
            }
            if !map.contains_key(key) {
                return Err(ModelError::UnknownParam {
                    family: family.name().into(),
                    key: key.into(),
                    known: family
                        .defaults()
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            map.insert(key.to_string(), value.trim().to_string());
        }
        let r = Reader {
            family,
            params: &map,
        };
        let clip = r.boolean("clip")?;
        let typed = match family {
            Family::ExtraTrees | Family::RandomForest => {
                let max_features = MaxFeatures::parse(r.text("max_features")).ok_or_else(|| {
                    r.bad(
                        "max_features",
                        "a fraction in (0, 1], a count >= 1, `sqrt` or `log2`",
                    )
                })?;
                Typed::Forest {
                    max_features,
                    params: ForestParams {
                        n_estimators: r.usize_min("n_estimators", 1)?,
                        tree: TreeParams {
                            random_splits: family == Family::ExtraTrees,
                            max_features: 0,
                            min_samples_leaf: r.usize_min("min_samples_leaf", 1)?,
                            min_samples_split: r.usize_min("min_samples_split", 2)?,
                            max_depth: r.usize_or_none("max_depth")?,
                        },
                        bootstrap: r.boolean("bootstrap")?,
                        max_samples: r.float("max_samples", 0.0, 1.0, true)?,
                    },
                }
            }
            Family::Gbm => Typed::Gbm(GbmParams {
                n_estimators: r.usize_min("n_estimators", 1)?,
                learning_rate: r.float("learning_rate", 0.0, 1.0, true)?,
                num_leaves: r.usize_min("num_leaves", 2)?,
                max_depth: r.usize_or_none("max_depth")?,
                min_child_samples: r.usize_min("min_child_samples", 1)?,
                lambda: r.float("lambda", 0.0, 1e6, false)?,
                subsample: r.float("subsample", 0.0, 1.0, true)?,
                colsample: r.float("colsample", 0.0, 1.0, true)?,
                max_bins: {
                    let b = r.usize_min("max_bins", 2)?;
                    if b > 255 {
                        return Err(r.bad("max_bins", "an integer in [2, 255]"));
                    }
                    b
                },
            }),
            Family::Mlp => {
                let hidden: Option<Vec<usize>> = r
                    .text("hidden")
                    .split(',')
                    .map(|s| s.trim().parse::<usize>().ok().filter(|v| *v > 0))
                    .collect();
                Typed::Mlp(MlpParams {
                    hidden: hidden.ok_or_else(|| {
                        r.bad("hidden", "comma-separated layer sizes such as `64,64`")
                    })?,
                    learning_rate: r.float("learning_rate", 0.0, 10.0, true)?,
                    batch_size: r.usize_min("batch_size", 1)?,
                    max_epochs: r.usize_min("max_epochs", 1)?,
                    patience: r.usize_min("patience", 1)?,
                    validation_fraction: r.float("validation_fraction", 0.0, 0.5, false)?,
                    weight_decay: r.float("weight_decay", 0.0, 1e3, false)?,
                })
            }
            Family::ElasticNet => Typed::Linear(LinearParams {
                alpha: r.float("alpha", 0.0, 1e12, false)?,
                l1_ratio: r.float("l1_ratio", 0.0, 1.0, false)?,
                standardize: r.boolean("standardize")?,
                max_iter: r.usize_min("max_iter", 1)?,
                tol: r.float("tol", 0.0, 1.0, false)?,
            }),
            Family::Blend => {
                let names: Vec<&str> = r.text("members").split(',').map(str::trim).collect();
                let mut families = Vec::new();
                for name in &names {
                    let f = Family::parse(name)?;
                    if f == Family::Blend || families.contains(&f) {
                        return Err(r.bad(
                            "members",
                            "distinct non-blend families, e.g. `extra-trees,gbm`",
                        ));
                    }
                    families.push(f);
                }
                for m in member_params.keys() {
                    if !families.iter().any(|f| f.name() == m) {
                        return Err(ModelError::UnknownParam {
                            family: "blend".into(),
                            key: format!("{m}.*"),
                            known: format!("hyperparameters of the members {}", r.text("members")),
                        });
                    }
                }
                let weights: Vec<f64> = match r.text("weights") {
                    "equal" => vec![1.0 / families.len() as f64; families.len()],
                    t => {
                        let w: Option<Vec<f64>> = t
                            .split(',')
                            .map(|s| {
                                s.trim()
                                    .parse::<f64>()
                                    .ok()
                                    .filter(|v| v.is_finite() && *v >= 0.0)
                            })
                            .collect();
                        match w {
                            Some(w) if w.len() == families.len() && w.iter().sum::<f64>() > 0.0 => {
                                let s: f64 = w.iter().sum();
                                w.iter().map(|v| v / s).collect()
                            }
                            _ => {
                                return Err(r.bad(
                                    "weights",
                                    "`equal` or one non-negative number per member",
                                ));
                            }
                        }
                    }
                };
                let mut members = Vec::new();
                for (f, w) in families.iter().zip(weights) {
                    let given = member_params.remove(f.name()).unwrap_or_default();
                    let spec = ModelSpec::parse(f.name(), &given)?;
                    for (k, v) in &spec.params {
                        map.insert(format!("{}.{k}", f.name()), v.clone());
                    }
                    members.push((w, spec));
                }
                Typed::Blend { members }
            }
        };
        Ok(ModelSpec {
            family,
            params: map,
            clip,
            typed,
        })
    }

    /// Rebuilds a spec from recorded hyperparameters (as in [`ModelSpec::params`]).
    pub fn from_params(
        family: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<ModelSpec, ModelError> {
        let fam = Family::parse(family)?;
        // blend member keys come back as `<member>.<key>`, which `parse` accepts
        let pairs: Vec<(String, String)> =
            params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        ModelSpec::parse(fam.name(), &pairs)
    }

    /// Fits on the whole dataset.
    pub fn fit_dataset(
        &self,
        data: &Dataset,
        seed: u64,
        progress: &dyn Progress,
    ) -> Result<Model, ModelError> {
        self.fit(&data.x, &data.y, &data.feature_names, seed, progress)
    }

    /// Fits on `x` (rows × features) and `y`.
    pub fn fit(
        &self,
        x: &Matrix,
        y: &[f64],
        feature_names: &[String],
        seed: u64,
        progress: &dyn Progress,
    ) -> Result<Model, ModelError> {
        Ok(self.fit_with(x, y, feature_names, seed, progress, None)?.0)
    }

    /// Whether [`ModelSpec::fit_predict`] predicts while it fits (forests).
    pub fn predicts_while_fitting(&self) -> bool {
        matches!(self.typed, Typed::Forest { .. })
    }

    /// Fits on `x` and `y` and predicts `test`: the same model and predictions as `fit` then
    /// `predict`, but a forest predicts with each tree as soon as it is built (see
    /// [`Forest::fit_predict`]).
    pub fn fit_predict(
        &self,
        x: &Matrix,
        y: &[f64],
        feature_names: &[String],
        seed: u64,
        progress: &dyn Progress,
        test: &Matrix,
    ) -> Result<(Model, Vec<f64>), ModelError> {
        if test.cols() != x.cols() {
            return Err(ModelError::WrongColumnCount {
                expected: x.cols(),
                found: test.cols(),
            });
        }
        let (model, early) = self.fit_with(x, y, feature_names, seed, progress, Some(test))?;
        let predictions = match early {
            Some(mut p) => {
                model.clip_all(&mut p);
                p
            }
            None => model.predict(test)?,
        };
        Ok((model, predictions))
    }

    /// Fits, and for a forest also predicts `test` before clipping.
    fn fit_with(
        &self,
        x: &Matrix,
        y: &[f64],
        feature_names: &[String],
        seed: u64,
        progress: &dyn Progress,
        test: Option<&Matrix>,
    ) -> Result<(Model, Option<Vec<f64>>), ModelError> {
        if x.rows() == 0 || x.rows() != y.len() {
            return Err(ModelError::EmptyTrainingSet);
        }
        let mut history = BTreeMap::new();
        let mut early = None;
        let fitted = match &self.typed {
            Typed::Forest {
                max_features,
                params,
            } => {
                let mut p = *params;
                p.tree.max_features = max_features.resolve(x.cols());
                match test {
                    Some(test) => {
                        let (forest, predictions) =
                            Forest::fit_predict(x, y, &p, seed, progress, test);
                        early = Some(predictions);
                        Fitted::Forest(forest)
                    }
                    None => Fitted::Forest(Forest::fit(x, y, &p, seed, progress)),
                }
            }
            Typed::Gbm(p) => {
                let (m, h) = Gbm::fit(x, y, p, seed, progress);
                history.insert("train_rmse".to_string(), h);
                Fitted::Gbm(m)
            }
            Typed::Mlp(p) => {
                let (m, (train, val)) = Mlp::fit(x, y, p, seed, progress);
                history.insert("train_loss".to_string(), train);
                history.insert("val_loss".to_string(), val);
                Fitted::Mlp(m)
            }
            Typed::Linear(p) => {
                let m = Linear::fit(x, y, p);
                history.insert("iterations".to_string(), vec![(0, m.iterations as f64)]);
                Fitted::Linear(m)
            }
            Typed::Blend { members } => {
                let mut fitted = Vec::new();
                for (i, (w, spec)) in members.iter().enumerate() {
                    let m = spec.fit(
                        x,
                        y,
                        feature_names,
                        derive_seed(seed, 1000 + i as u64),
                        progress,
                    )?;
                    for (k, v) in &m.history {
                        history.insert(format!("{}.{k}", spec.family.name()), v.clone());
                    }
                    fitted.push((*w, m));
                }
                Fitted::Blend(fitted)
            }
        };
        let (lo, hi) = y
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let model = Model {
            spec: self.clone(),
            feature_names: feature_names.to_vec(),
            clip: self.clip.then_some((lo, hi)),
            fitted,
            history,
        };
        Ok((model, early))
    }
}

/// The fitted parameters of each family.
#[derive(Debug, Clone, PartialEq)]
pub enum Fitted {
    Forest(Forest),
    Gbm(Gbm),
    Mlp(Mlp),
    Linear(Linear),
    /// Members with their weights (summing to 1).
    Blend(Vec<(f64, Model)>),
}

/// Training history: named series of `(step, value)` (per tree, epoch or iteration).
pub type History = BTreeMap<String, Vec<(u64, f64)>>;

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub spec: ModelSpec,
    /// Input columns, in order.
    pub feature_names: Vec<String>,
    /// Predictions are clipped to this range (the training target's min and max) if set.
    pub clip: Option<(f64, f64)>,
    pub fitted: Fitted,
    pub history: History,
}

impl Model {
    pub fn family(&self) -> Family {
        self.spec.family
    }

    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// Predictions for every row of `x` (columns in [`Model::feature_names`] order).
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        if x.cols() != self.n_features() {
            return Err(ModelError::WrongColumnCount {
                expected: self.n_features(),
                found: x.cols(),
            });
        }
        let mut out = match &self.fitted {
            Fitted::Forest(m) => m.predict(x),
            Fitted::Gbm(m) => m.predict(x),
            Fitted::Mlp(m) => m.predict(x),
            Fitted::Linear(m) => m.predict(x),
            Fitted::Blend(members) => {
                let mut acc = vec![0.0; x.rows()];
                for (w, m) in members {
                    for (a, p) in acc.iter_mut().zip(m.predict(x)?) {
                        *a += w * p;
                    }
                }
                acc
            }
        };
        self.clip_all(&mut out);
        Ok(out)
    }

    /// Clamps predictions to the training target's range when the model clips.
    fn clip_all(&self, predictions: &mut [f64]) {
        if let Some((lo, hi)) = self.clip {
            for v in predictions {
                *v = v.clamp(lo, hi);
            }
        }
    }

    /// Predictions for rows given as vectors.
    pub fn predict_rows(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>, ModelError> {
        let x = Matrix::from_rows(rows).ok_or(ModelError::WrongColumnCount {
            expected: self.n_features(),
            found: rows
                .iter()
                .map(Vec::len)
                .find(|l| *l != self.n_features())
                .unwrap_or(0),
        })?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        self.predict(&x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_filled_and_values_checked() {
        let s = ModelSpec::parse("extra-trees", &kv(&[("n_estimators", "50")])).unwrap();
        assert_eq!(s.params["n_estimators"], "50");
        assert_eq!(s.params["max_features"], "0.5");
        let err = ModelSpec::parse("extra-trees", &kv(&[("n_trees", "5")])).unwrap_err();
        assert!(
            err.to_string().contains("Unknown hyperparameter `n_trees`"),
            "{err}"
        );
        let err = ModelSpec::parse("gbm", &kv(&[("learning_rate", "-1")])).unwrap_err();
        assert!(matches!(err, ModelError::BadValue { .. }), "{err}");
        assert!(ModelSpec::parse("svm", &[]).is_err());
        assert!(
            ModelSpec::parse(
                "ExtraTrees".replace("ExtraTrees", "extra_trees").as_str(),
                &[]
            )
            .is_ok()
        );
    }

    #[test]
    fn blend_members_and_weights() {
        let s = ModelSpec::parse(
            "blend",
            &kv(&[
                ("members", "extra-trees,elastic-net"),
                ("weights", "3,1"),
                ("extra-trees.n_estimators", "7"),
            ]),
        )
        .unwrap();
        assert_eq!(s.params["extra-trees.n_estimators"], "7");
        assert_eq!(s.params["elastic-net.alpha"], "0.5");
        let again = ModelSpec::from_params("blend", &s.params).unwrap();
        assert_eq!(again, s);
        assert!(ModelSpec::parse("blend", &kv(&[("gbm.n_estimators", "7")])).is_ok());
        assert!(ModelSpec::parse("blend", &kv(&[("mlp.hidden", "7")])).is_err());
        assert!(ModelSpec::parse("blend", &kv(&[("weights", "1")])).is_err());
    }
}
