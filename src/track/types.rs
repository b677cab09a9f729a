//! The values the `Tracker` trait takes and returns, shaped like MLflow's entities.
//!
//! These are also the stable `--json` contract of the tracking commands: add fields, never rename.

use serde::{Deserialize, Serialize};

/// A key/value tag (runs, experiments, registered models, model versions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub key: String,
    pub value: String,
}

impl Param {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Param {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// One metric point. `value` may be NaN or ±Inf; stores keep them the way MLflow does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub key: String,
    #[serde(with = "mlflow_f64")]
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub step: i64,
}

impl Metric {
    pub fn new(key: impl Into<String>, value: f64, timestamp: i64, step: i64) -> Self {
        Metric {
            key: key.into(),
            value,
            timestamp,
            step,
        }
    }
}

/// The run states MLflow knows, stored as these strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        Some(match s.to_ascii_uppercase().as_str() {
            "RUNNING" => RunStatus::Running,
            "SCHEDULED" => RunStatus::Scheduled,
            "FINISHED" => RunStatus::Finished,
            "FAILED" => RunStatus::Failed,
            "KILLED" => RunStatus::Killed,
            _ => return None,
        })
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: String,
    pub creation_time: Option<i64>,
    pub last_update_time: Option<i64>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    pub run_name: String,
    pub experiment_id: String,
    pub user_id: String,
    pub status: RunStatus,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: String,
}

/// A run's data: the latest value of each metric, its params and its tags, each sorted by key.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunData {
    pub metrics: Vec<Metric>,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
}

impl RunData {
    pub fn metric(&self, key: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.key == key)
    }
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub info: RunInfo,
    pub data: RunData,
}

/// What `create_run` needs. `start_time` defaults to now.
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    pub experiment_id: String,
    pub run_name: Option<String>,
    pub start_time: Option<i64>,
    /// MLflow's `user_id` column; the `mlflow.user` tag is separate (see [`crate::track::git`]).
    pub user_id: Option<String>,
    pub tags: Vec<Tag>,
}

impl NewRun {
    /// The run's name and user as MLflow settles them: the name from the argument or the
    /// `mlflow.runName` tag (they must agree), else a generated one, added as a tag when missing;
    /// the user from `user_id`, else the `mlflow.user` tag.
    pub fn settle_name_and_user(
        new: &NewRun,
        tags: &mut Vec<Tag>,
    ) -> crate::track::Result<(String, String)> {
        use crate::track::git;
        let name_tag = tags
            .iter()
            .find(|t| t.key == git::RUN_NAME)
            .map(|t| t.value.clone());
        if let (Some(a), Some(b)) = (new.run_name.as_deref(), name_tag.as_deref())
            && a != b
        {
            return Err(crate::track::Error::invalid(
                "run name",
                a,
                format!("the `mlflow.runName` tag says `{b}`; give one name or make them equal"),
            ));
        }
        let run_name = new
            .run_name
            .clone()
            .or(name_tag.clone())
            .unwrap_or_else(crate::track::names::generate_run_name);
        if name_tag.is_none() {
            tags.push(Tag::new(git::RUN_NAME, run_name.clone()));
        }
        let user_id = new
            .user_id
            .clone()
            .or_else(|| {
                tags.iter()
                    .find(|t| t.key == git::USER)
                    .map(|t| t.value.clone())
            })
            .unwrap_or_default();
        Ok((run_name, user_id))
    }
}

#[derive(Debug, Clone, Default)]
pub struct RunUpdate {
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}

/// Which lifecycle stages a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

impl ViewType {
    pub fn stages(self) -> &'static [&'static str] {
        match self {
            ViewType::ActiveOnly => &["active"],
            ViewType::DeletedOnly => &["deleted"],
            ViewType::All => &["active", "deleted"],
        }
    }
    pub fn as_mlflow(self) -> &'static str {
        match self {
            ViewType::ActiveOnly => "ACTIVE_ONLY",
            ViewType::DeletedOnly => "DELETED_ONLY",
            ViewType::All => "ALL",
        }
    }
}

/// `runs/search`: MLflow's filter grammar and order_by clauses, paged.
#[derive(Debug, Clone)]
pub struct SearchRuns {
    pub experiment_ids: Vec<String>,
    pub filter: Option<String>,
    pub order_by: Vec<String>,
    pub max_results: usize,
    pub page_token: Option<String>,
    pub view: ViewType,
}

impl Default for SearchRuns {
    fn default() -> Self {
        SearchRuns {
            experiment_ids: Vec::new(),
            filter: None,
            order_by: Vec::new(),
            max_results: 1000,
            page_token: None,
            view: ViewType::ActiveOnly,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunsPage {
    pub runs: Vec<Run>,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SearchExperiments {
    /// Only `name` comparisons (`name = 'x'`, `name LIKE 'x%'`) and `tags.k = 'v'`.
    pub filter: Option<String>,
    pub max_results: usize,
    pub page_token: Option<String>,
    pub view: ViewType,
}

impl Default for SearchExperiments {
    fn default() -> Self {
        SearchExperiments {
            filter: None,
            max_results: 1000,
            page_token: None,
            view: ViewType::ActiveOnly,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentsPage {
    pub experiments: Vec<Experiment>,
    pub next_page_token: Option<String>,
}

/// A file or folder under a run's artifact root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Relative to the run's artifact root, `/`-separated.
    pub path: String,
    pub is_dir: bool,
    pub file_size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub alias: String,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModel {
    pub name: String,
    pub creation_timestamp: Option<i64>,
    pub last_updated_timestamp: Option<i64>,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
    pub aliases: Vec<Alias>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: u64,
    pub creation_timestamp: Option<i64>,
    pub last_updated_timestamp: Option<i64>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub run_id: Option<String>,
    pub status: String,
    pub current_stage: String,
    pub tags: Vec<Tag>,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewModelVersion {
    pub name: String,
    /// Where the model's files are, e.g. a run's `…/artifacts/model`.
    pub source: String,
    pub run_id: Option<String>,
    pub tags: Vec<Tag>,
    pub description: Option<String>,
}

/// `registered-models/search` and `model-versions/search`.
#[derive(Debug, Clone)]
pub struct SearchModels {
    /// `name = 'x'`, `name LIKE 'x%'`, `tags.k = 'v'`; for versions also `run_id = '…'`,
    /// `run_id IN ('a','b')`, `source_path = '…'`.
    pub filter: Option<String>,
    pub max_results: usize,
    pub page_token: Option<String>,
}

impl Default for SearchModels {
    fn default() -> Self {
        SearchModels {
            filter: None,
            max_results: 1000,
            page_token: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModelsPage {
    pub registered_models: Vec<RegisteredModel>,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionsPage {
    pub model_versions: Vec<ModelVersion>,
    pub next_page_token: Option<String>,
}

/// Serializes metric values the way MLflow's JSON does: finite numbers as numbers, NaN and ±Inf
/// as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (JSON has no literal for them).
pub mod mlflow_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v.is_infinite() {
            s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            s.serialize_f64(*v)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(f64),
        Str(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match NumOrStr::deserialize(d)? {
            NumOrStr::Num(n) => Ok(n),
            NumOrStr::Str(s) => parse(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("not a metric value: {s:?}"))),
        }
    }

    /// Parses `NaN`, `Infinity`, `-Infinity`, `inf` and decimal numbers.
    pub fn parse(s: &str) -> Option<f64> {
        match s.trim() {
            "NaN" | "nan" => Some(f64::NAN),
            "Infinity" | "inf" | "+Infinity" => Some(f64::INFINITY),
            "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        }
    }
}
