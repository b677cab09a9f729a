//! `vintner.toml`: the project's settings with their defaults, and the commented template that
//! `vintner init` writes. Precedence (resolved by the CLI): flag > environment > this file >
//! `.dvc/config` for remotes > built-in defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file name, at the repository root.
pub const FILE_NAME: &str = "vintner.toml";

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Invalid settings in `{}`: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("`{}` sets `{key}` to `{}`, which {why}", path.display(), value.display())]
    UnsafePath {
        path: PathBuf,
        key: &'static str,
        value: PathBuf,
        why: crate::data::paths::Escape,
    },
    #[error("Invalid environment variable {var}: {message}")]
    Env { var: &'static str, message: String },
}

impl Error {
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Invalid { .. } => Some(format!(
                "compare it with the commented template: `vintner init` in an empty folder writes a fresh `{FILE_NAME}`"
            )),
            Error::UnsafePath { key, .. } => Some(format!(
                "set `{key}` to a path inside the repository, relative to its root; nothing was \
                 read or written"
            )),
            Error::Read { .. } => None,
            Error::Env { var, .. } => Some(format!(
                "fix {var} (for example `sqlite:///mlflow.db` or `http://host:5000`) or unset it"
            )),
        }
    }
}

/// Everything `vintner.toml` can say; missing tables and keys take the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub data: DataSettings,
    pub model: ModelSettings,
    pub cv: CvSettings,
    pub tracking: TrackingSettings,
    pub registry: RegistrySettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSettings {
    /// CSV files to train on, relative to the repository root.
    pub paths: Vec<PathBuf>,
    /// The column to predict.
    pub target: String,
    /// Field separator; `None` detects it from the header line.
    pub separator: Option<String>,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self {
            paths: vec![PathBuf::from("data/winequality-white.csv")],
            target: "quality".into(),
            separator: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// Model family (`extra-trees`, `random-forest`, `gbm`, `mlp`, `elastic-net`, …).
    pub family: String,
    /// Where `train` writes the model bundle, relative to the repository root.
    pub output: PathBuf,
    /// Hyperparameters of the family; `-P key=value` overrides them.
    pub params: BTreeMap<String, toml::Value>,
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            family: "extra-trees".into(),
            output: PathBuf::from("models/wine-quality"),
            params: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CvSettings {
    /// `grouped` (identical feature rows share a fold), `kfold`, or `column:<name>`.
    pub scheme: String,
    pub folds: usize,
    pub repeats: usize,
    pub seed: u64,
}

impl Default for CvSettings {
    fn default() -> Self {
        Self {
            scheme: "grouped".into(),
            folds: 5,
            repeats: 1,
            seed: 42,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackingSettings {
    /// `http(s)://…` for an MLflow server, `sqlite:///path`; unset means `sqlite:///mlflow.db`
    /// at the repository root. `MLFLOW_TRACKING_URI` overrides it.
    pub uri: Option<String>,
    pub experiment: String,
}

impl Default for TrackingSettings {
    fn default() -> Self {
        Self {
            uri: None,
            experiment: "wine-quality".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrySettings {
    pub model_name: String,
    pub alias: String,
    /// The metric that ranks runs.
    pub metric: String,
    /// A run qualifies for registration only when its metric is at most this (at least, when
    /// higher is better).
    pub threshold: f64,
    /// `lower` or `higher` is better; unset: known for vintner's metrics (errors lower, r2 and
    /// accuracies higher), required for others.
    pub direction: Option<String>,
    /// For runs made by `vintner run`: the output (path relative to the repository root) that
    /// `register` puts in the registry; unset: the run's only output.
    pub output: Option<String>,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            model_name: "wine-quality".into(),
            alias: "champion".into(),
            metric: "rmse".into(),
            threshold: 0.80,
            direction: None,
            output: None,
        }
    }
}

impl Settings {
    /// Reads `vintner.toml` under `root`; a missing file gives the defaults. Its paths must
    /// stay inside the repository (see [`Settings::check_paths`]).
    pub fn load_file(root: &Path) -> Result<Settings, Error> {
        let path = root.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(source) => return Err(Error::Read { path, source }),
        };
        let settings = Self::parse(&text, &path)?;
        settings.check_paths(root, &path)?;
        Ok(settings)
    }

    /// Refuses `data.paths` and `model.output` that would lead outside the repository at
    /// `root` (absolute, `..`, through a symlink, into `.git/` or `.dvc/`): a cloned project's
    /// settings are someone else's data. `file` names the settings file in the error.
    pub fn check_paths(&self, root: &Path, file: &Path) -> Result<(), Error> {
        let root = crate::data::fsutil::normalize(root);
        let inside = crate::data::paths::Inside::new(&root);
        let named = self
            .data
            .paths
            .iter()
            .map(|p| ("data.paths", p))
            .chain(std::iter::once(("model.output", &self.model.output)));
        for (key, value) in named {
            inside
                .resolve(&root, value)
                .map_err(|why| Error::UnsafePath {
                    path: file.to_path_buf(),
                    key,
                    value: value.clone(),
                    why,
                })?;
        }
        Ok(())
    }

    /// Parses settings text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Settings, Error> {
        toml::from_str(text).map_err(|e| Error::Invalid {
            path: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })
    }
}

/// `VINTNER_TRACKING_URI`: the tracking store, over `[tracking] uri` (a relative `sqlite:///`
/// path is relative to the repository root, as in the file). `MLFLOW_TRACKING_URI` still wins
/// over it, so that vintner and MLflow's own clients in one shell use the same store.
pub const ENV_TRACKING_URI: &str = "VINTNER_TRACKING_URI";
/// `VINTNER_EXPERIMENT`: the experiment runs go to, over `[tracking] experiment`.
pub const ENV_EXPERIMENT: &str = "VINTNER_EXPERIMENT";

impl Settings {
    /// Reads `vintner.toml` under `root` (a missing file gives the defaults), then applies the
    /// `VINTNER_*` environment over it: flag > environment > this file > defaults.
    pub fn load(root: &Path) -> Result<Settings, Error> {
        let mut settings = Self::load_file(root)?;
        settings.apply_env(root, &|k| std::env::var(k).ok())?;
        Ok(settings)
    }

    /// Applies the `VINTNER_*` variables `env` returns (empty ones are unset) over these settings.
    pub fn apply_env(
        &mut self,
        root: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), Error> {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        if let Some(uri) = get(ENV_TRACKING_URI) {
            use crate::track::uri::{ENV_TRACKING_URI as MLFLOW, TrackingUri, UriSource};
            TrackingUri::parse(&uri, UriSource::Config, root).map_err(|e| Error::Env {
                var: ENV_TRACKING_URI,
                message: e.to_string(),
            })?;
            match get(MLFLOW) {
                Some(m) if m.trim() != uri.trim() => tracing::warn!(
                    "{ENV_TRACKING_URI} is ignored: {MLFLOW} is set and wins (unset one of them)"
                ),
                _ => tracing::debug!("tracking.uri from {ENV_TRACKING_URI}"),
            }
            self.tracking.uri = Some(uri.trim().to_string());
        }
        if let Some(experiment) = get(ENV_EXPERIMENT) {
            tracing::debug!("tracking.experiment from {ENV_EXPERIMENT}");
            self.tracking.experiment = experiment.trim().to_string();
        }
        Ok(())
    }
}

/// The commented `vintner.toml` that `vintner init` writes; it parses to [`Settings::default`]
/// plus the default model's hyperparameters.
pub const TEMPLATE: &str = r#"# vintner project settings.
# Precedence: command-line flags > environment > this file > .dvc/config (data remotes)
#             > built-in defaults. Environment: MLFLOW_TRACKING_URI, then VINTNER_TRACKING_URI
#             (tracking uri), VINTNER_EXPERIMENT (tracking experiment), AWS_* (S3 remotes).

[data]
# CSV files to train on, versioned with `vintner add`. Several files are stacked, with a
# one-hot column per source file (e.g. red + white wine).
paths = ["data/winequality-white.csv"]
# The column to predict.
target = "quality"
# Field separator; leave it out to detect it from the header (";" for the UCI files).
# separator = ";"

[model]
# extra-trees | random-forest | gbm | mlp | elastic-net | blend
# ExtraTrees with max_features = 0.5: on grouped CV it scores about as well as scikit-learn's
# ExtraTreesRegressor with the same hyperparameters, for less CPU (see bench/models.sh).
family = "extra-trees"
# Where `vintner train` writes the model bundle (then versioned and pushed like data).
output = "models/wine-quality"

[model.params]
# Hyperparameters of the family; override any with `vintner train -P key=value`.
n_estimators = 500
max_features = 0.5

[cv]
# grouped: identical feature rows share a fold (the honest number on this data);
# kfold: plain shuffled k-fold.
scheme = "grouped"
folds = 5
repeats = 1
seed = 42

[tracking]
# MLflow tracking server (http://host:5000) or sqlite:///path; unset: ./mlflow.db (embedded).
# uri = "http://127.0.0.1:5000"
experiment = "wine-quality"

[registry]
model_name = "wine-quality"
alias = "champion"
# A run is registered only if its cross-validated metric is at most the threshold (at least,
# for a metric where higher is better: r2, acc_*). For a metric vintner does not know, say
# which way is better: direction = "lower" or "higher".
metric = "rmse"
threshold = 0.80
# For runs of your own code (`vintner run -o models/model.pkl -- python train.py`): the output
# that is the model; unset, a run's only output.
# output = "models/model.pkl"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_to_defaults_plus_params() {
        let s = Settings::parse(TEMPLATE, Path::new(FILE_NAME)).unwrap();
        let mut expected = Settings::default();
        expected
            .model
            .params
            .insert("n_estimators".into(), toml::Value::Integer(500));
        expected
            .model
            .params
            .insert("max_features".into(), toml::Value::Float(0.5));
        assert_eq!(s, expected);
    }

    #[test]
    fn paths_outside_the_repository_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (text, key, value, why) in [
            (
                "[model]\noutput = \"../x\"\n",
                "model.output",
                "../x",
                "leads outside",
            ),
            (
                "[data]\npaths = [\"data/a.csv\", \"/etc/passwd\"]\n",
                "data.paths",
                "/etc/passwd",
                "is absolute",
            ),
            (
                "[model]\noutput = \".git/hooks\"\n",
                "model.output",
                ".git/hooks",
                "is inside `.git/`",
            ),
        ] {
            std::fs::write(root.join(FILE_NAME), text).unwrap();
            let err = Settings::load(root).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("sets `{key}` to `{value}`, which {why}")),
                "{msg}"
            );
            assert!(msg.contains(FILE_NAME), "{msg}");
            assert!(err.hint().unwrap().contains(key));
        }
        std::fs::write(root.join(FILE_NAME), "[model]\noutput = \"models/../m\"\n").unwrap();
        assert_eq!(
            Settings::load(root).unwrap().model.output,
            PathBuf::from("models/../m")
        );
    }

    #[test]
    fn environment_overrides_the_file_and_empty_means_unset() {
        let file = "[tracking]\nuri = \"sqlite:///from-file.db\"\nexperiment = \"file\"\n";
        let root = Path::new("/project");
        let with = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let mut s = Settings::parse(file, Path::new(FILE_NAME)).unwrap();
            s.apply_env(root, &|k| {
                vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
            .map(|()| s)
        };
        let s = with(&[]).unwrap();
        assert_eq!(s.tracking.uri.as_deref(), Some("sqlite:///from-file.db"));
        assert_eq!(s.tracking.experiment, "file");
        let s = with(&[
            (ENV_TRACKING_URI, "http://127.0.0.1:5000"),
            (ENV_EXPERIMENT, "ci"),
        ])
        .unwrap();
        assert_eq!(s.tracking.uri.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(s.tracking.experiment, "ci");
        let s = with(&[(ENV_TRACKING_URI, " "), (ENV_EXPERIMENT, "")]).unwrap();
        assert_eq!(s.tracking.uri.as_deref(), Some("sqlite:///from-file.db"));
        assert_eq!(s.tracking.experiment, "file");
        // MLFLOW_TRACKING_URI, read when the store is opened, wins over VINTNER_TRACKING_URI.
        use crate::track::{TrackingUri, UriSource};
        let s = with(&[(ENV_TRACKING_URI, "http://vintner:5000")]).unwrap();
        let mlflow = |k: &str| (k == "MLFLOW_TRACKING_URI").then(|| "http://mlflow:5000".into());
        let uri = TrackingUri::resolve(None, s.tracking.uri.as_deref(), root, root, &mlflow);
        assert_eq!(
            uri.unwrap(),
            TrackingUri::Http {
                url: "http://mlflow:5000".into(),
                source: UriSource::Env
            }
        );
        let uri = TrackingUri::resolve(None, s.tracking.uri.as_deref(), root, root, &|_| None);
        assert_eq!(uri.unwrap().to_string(), "http://vintner:5000");
        let err = with(&[(ENV_TRACKING_URI, "postgresql://db/mlflow")]).unwrap_err();
        assert!(err.to_string().contains(ENV_TRACKING_URI), "{err}");
        assert!(err.hint().unwrap().contains("unset it"));
    }

    #[test]
    fn unknown_key_is_an_error_naming_the_file() {
        let err =
            Settings::parse("[data]\ntarjet = \"x\"\n", Path::new("vintner.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("Invalid settings in `vintner.toml`"),
            "{msg}"
        );
        assert!(msg.contains("tarjet"), "{msg}");
    }
}
