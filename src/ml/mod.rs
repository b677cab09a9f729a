//! Tabular regression for the workflow: datasets from CSV, models, metrics, cross-validation and
//! the model bundle. Knows nothing of `data` (versioning) or `track` (experiment tracking); reports
//! progress through [`crate::progress::Progress`] and never prints.
//!
//! ```text
//! Dataset::load(files, options) ─► ModelSpec::parse(family, params) ─► spec.fit_dataset(..) ─► Model
//!                                  cross_validate(spec, dataset, cv, progress) ─► CvReport
//! bundle::save(dir, model, meta) / bundle::load(dir) ─► (Model, BundleMeta)
//! ```

pub mod bundle;
pub mod dataset;
pub mod eval;
pub mod forest;
pub mod gbm;
pub mod input;
pub mod linear;
pub mod metrics;
pub mod mlp;
pub mod model;
pub mod rng;
pub mod split;
pub mod tree;

pub use bundle::{BundleError, BundleMeta};
pub use dataset::{Dataset, DatasetError, DatasetOptions, Imputation, Matrix, Schema};
pub use eval::{
    CvOptions, CvReport, EvalError, FoldReport, Table, check_folds, cross_validate,
    fold_assignments,
};
pub use metrics::Metrics;
pub use model::{Family, History, Model, ModelError, ModelSpec};
pub use split::{
    CvScheme, SchemeSpec, SplitError, parse_scheme, read_folds_file, write_folds_file,
};

/// Any error of the `ml` layer, for callers that do not need to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Split(#[from] SplitError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Input(#[from] input::InputError),
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
}

impl From<EvalError> for Error {
    fn from(e: EvalError) -> Self {
        match e {
            EvalError::Split(s) => Error::Split(s),
            EvalError::Model(m) => Error::Model(m),
            EvalError::Interrupted(i) => Error::Interrupted(i),
        }
    }
}

impl Error {
    /// What the user can do about it, if anything specific.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Dataset(e) => e.hint(),
            Error::Model(e) => e.hint(),
            Error::Split(SplitError::UnknownScheme(_)) => {
                Some("use grouped, kfold, holdout, column:<name> or file:<path>".into())
            }
            Error::Split(_) => None,
            Error::Bundle(e) => e.hint(),
            Error::Input(e) => e.hint(),
            Error::Interrupted(_) => None,
        }
    }
}

#[cfg(test)]
mod tests;
