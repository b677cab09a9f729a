//! The workflow steps `train`, `register`, `infer` and `reproduce`, and the tracked runs of
//! users' own commands (`run`, `get`), composed from `data`, `track` and `ml`. The only layer
//! that knows all three; it still never prints.

pub mod get;
pub mod infer;
pub mod lineage;
pub mod register;
pub mod reproduce;
pub mod run;
pub mod train;

/// What can go wrong in the workflow, beyond the layers' own errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Data(#[from] crate::data::Error),
    #[error(transparent)]
    Track(#[from] crate::track::Error),
    #[error(transparent)]
    Ml(#[from] crate::ml::Error),
    #[error("Invalid setting {0}")]
    BadSetting(String),
    #[error("Training data `{path}` is not versioned (no `{path}.dvc`)")]
    Unversioned { path: String },
    #[error("Training data `{path}` differs from its `.dvc` file ({state})")]
    DataChanged { path: String, state: String },
    #[error("The model folder `{path}` holds changes that are not versioned")]
    ModelDirUnsaved { path: String },
    #[error("No experiment named `{0}`")]
    NoExperiment(String),
    #[error(
        "No finished run of experiment `{experiment}` has {metric} {comparison} {threshold}{}",
        best.map(|b| format!(" (best: {b:.4})")).unwrap_or_else(|| format!(" (no run has logged `{metric}`)"))
    )]
    NothingQualifies {
        experiment: String,
        metric: String,
        comparison: &'static str,
        threshold: f64,
        best: Option<f64>,
    },
    #[error("vintner does not know whether a higher or a lower `{0}` is better")]
    UnknownDirection(String),
    #[error("Run `{run}` records no model (no `vintner.model.*` tags)")]
    NoModel { run: String },
    #[error("Run `{run}` records no training data (no `vintner.data` tag)")]
    NoData { run: String },
    #[error("The model of `{run}` (`{object}`) is not whole in {remote}")]
    ModelNotInRemote {
        run: String,
        object: String,
        remote: String,
    },
    #[error("No model versioned by git: `{path}` {detail}")]
    NoVersionedModel { path: String, detail: String },
    #[error("Registered model `{name}` has no alias `{alias}`")]
    NoSuchAlias { name: String, alias: String },
    #[error("`{0}` is not a model reference (use name@alias, name/version or models:/name@alias)")]
    BadModelRef(String),
    #[error("Run `{run}` cannot be reproduced: it lacks `{missing}`")]
    NotReproducible { run: String, missing: String },
    #[error(
        "Training data `{path}` changed while it was read: its `.dvc` file records md5 {recorded}, the bytes loaded have md5 {loaded}"
    )]
    DataChangedWhileRead {
        path: String,
        recorded: String,
        loaded: String,
    },
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
    #[error("Command `{program}` not found")]
    CommandNotFound { program: String },
    #[error("Failed to start `{program}`")]
    CommandStart {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed with exit code {code}; run `{run}` is marked FAILED")]
    CommandFailed {
        command: String,
        code: i32,
        run: String,
    },
    #[error("`{command}` was killed by signal {signal}; run `{run}` is marked KILLED")]
    CommandKilled {
        command: String,
        signal: i32,
        run: String,
    },
    #[error("Dependency `{path}` does not exist and is not versioned (no `{path}.dvc`)")]
    MissingDependency { path: String },
    #[error(
        "`{command}` exited 0 but did not write the output `{path}`; run `{run}` is marked FAILED"
    )]
    MissingOutput {
        command: String,
        path: String,
        run: String,
    },
    #[error("The {what} `{path}` {why}")]
    BadPath {
        what: &'static str,
        path: String,
        why: crate::data::paths::Escape,
    },
    #[error("Output `{inner}` is inside another output, `{outer}`")]
    NestedOutputs { outer: String, inner: String },
    #[error("Run `{run}` has no output `{output}`{}", list_outputs(outputs))]
    NoSuchOutput {
        run: String,
        output: String,
        outputs: Vec<String>,
    },
    #[error(
        "Run `{run}` has several outputs{}; which one is meant?",
        list_outputs(outputs)
    )]
    OutputNotNamed { run: String, outputs: Vec<String> },
    #[error("`{path}` already exists and holds other bytes than {what}")]
    DestinationExists { path: String, what: String },
}

/// ` (its outputs: a, b)` for a message, or nothing.
fn list_outputs(outputs: &[String]) -> String {
    if outputs.is_empty() {
        " (it records no outputs)".into()
    } else {
        format!(" (its outputs: {})", outputs.join(", "))
    }
}

impl Error {
    /// The fix to suggest to a person.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Data(e) => return e.hint(),
            Error::Track(e) => return e.hint(),
            Error::Ml(e) => return e.hint(),
            Error::BadSetting(_) => format!("fix it in `{}`", crate::settings::FILE_NAME),
            Error::Unversioned { path } => format!("version it first: `vintner add {path}` (or pass --allow-unversioned-data)"),
            Error::DataChanged { path, .. } => format!(
                "version the new content with `vintner add {path}`, restore it with `vintner checkout {path}`, or pass --allow-unversioned-data"
            ),
            Error::ModelDirUnsaved { path } => format!("save it with `vintner add {path}` or move it away, then train again"),
            Error::NoExperiment(_) => "train first: `vintner train`".into(),
            Error::UnknownDirection(_) => "pass --higher-is-better or --lower-is-better, or set registry.direction = \"higher\" or \"lower\" in vintner.toml".into(),
            Error::NothingQualifies { .. } => "raise the threshold (--threshold), train a better model, or pick a run with --run".into(),
            Error::NoModel { .. } => "register a run made by `vintner train`".into(),
            Error::NoData { .. } => "pass the data with --input".into(),
            Error::ModelNotInRemote { .. } => {
                "push the model again from the machine that trained it (`vintner push`), or train again".into()
            }
            Error::NoVersionedModel { .. } => "train and commit the model (`vintner train`, then `git add` its `.dvc` file), or point \
                MLFLOW_TRACKING_URI (or --tracking-uri) at the team's tracking server"
                .into(),
            Error::NoSuchAlias { name, .. } => format!("see the versions with `vintner models show {name}`, then `vintner register`"),
            Error::BadModelRef(_) => "for example `wine-quality@champion`, `wine-quality/3` or `models:/wine-quality@champion`".into(),
            Error::NotReproducible { .. } => "only runs recorded by `vintner train` can be reproduced".into(),
            Error::DataChangedWhileRead { path, .. } => format!(
                "something wrote to `{path}` during training: stop it, check the file with `vintner status`, then train again"
            ),
            Error::Interrupted(_) => return None,
            Error::CommandNotFound { .. } => "check the spelling and PATH; to run a shell command line, write \
                `vintner run -- sh -c '…'`; no run was recorded"
                .into(),
            Error::CommandStart { .. } => "check that the program is executable; the run is marked FAILED".into(),
            Error::CommandFailed { .. } => {
                "nothing was versioned; fix the command (its output is above) and run it again".into()
            }
            Error::CommandKilled { .. } => "nothing was versioned; run it again".into(),
            Error::MissingDependency { path } => format!(
                "create it, or pass the right path with -d; a versioned file (`vintner add {path}` and `vintner push`) is pulled when missing"
            ),
            Error::MissingOutput { path, .. } => format!(
                "nothing was versioned; make the command write `{path}`, or fix the -o path"
            ),
            Error::BadPath { what, .. } => format!(
                "give {what} as a path inside the repository (relative to the current folder); nothing was run"
            ),
            Error::NestedOutputs { outer, .. } => format!(
                "name only `{outer}`, or only the paths inside it; nothing was run"
            ),
            Error::NoSuchOutput { .. } | Error::OutputNotNamed { .. } => {
                "name one of the run's outputs: `--output <path>` for register (or registry.output in vintner.toml), \
                 `--path <path>` for get"
                    .into()
            }
            Error::DestinationExists { .. } => {
                "choose another place with -o, or pass --force to replace a file; nothing was written".into()
            }
        })
    }
}

/// Result alias for the workflow.
pub type Result<T, E = Error> = std::result::Result<T, E>;
