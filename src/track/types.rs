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

/// Which version of a registered model a reference names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionRef {
    Version(u64),
    /// An alias; `latest` means the newest version, as in MLflow.
    Alias(String),
}

/// A registered model named the ways MLflow users write it: `models:/name@alias`,
/// `models:/name/3`, `models:/name/latest`, or without the scheme (`name@alias`, `name/3`,
/// `name`). The one parser for every command that names a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelUri {
    pub name: String,
    pub version: Option<VersionRef>,
}

/// The stages MLflow 2 used in `models:/name/<stage>` URIs.
const STAGES: &[&str] = &["none", "staging", "production", "archived"];

impl ModelUri {
    pub fn parse(text: &str) -> crate::track::Result<ModelUri> {
        let bad = |reason: &str| crate::track::Error::invalid("model reference", text, reason);
        let (body, uri) = match text.strip_prefix("models:") {
            Some(rest) => match rest.strip_prefix('/') {
                Some(r) if !r.starts_with('/') => (r, true),
                _ => {
                    return Err(bad(
                        "a model URI is `models:/<name>/<version>` or `models:/<name>@<alias>` \
                         (no host after `models:`)",
                    ));
                }
            },
            None => (text, false),
        };
        let (name, version) = if let Some((name, alias)) = body.rsplit_once('@') {
            if alias.is_empty() {
                return Err(bad("the alias after `@` is empty"));
            }
            (name, Some(VersionRef::Alias(alias.to_string())))
        } else if let Some((name, last)) = body.split_once('/') {
            if last.contains('/') {
                return Err(bad("a model name cannot contain `/`"));
            }
            let version = if let Ok(v) = last.parse::<u64>() {
                VersionRef::Version(v)
            } else if last.eq_ignore_ascii_case("latest") {
                VersionRef::Alias("latest".into())
            } else if STAGES.contains(&last.to_ascii_lowercase().as_str()) {
                return Err(bad(
                    "model stages are deprecated in MLflow; point an alias at the version \
                     (`vintner models alias set`) and use `models:/<name>@<alias>`",
                ));
            } else {
                return Err(bad(
                    "after `/` comes a version number or `latest`; use `@` for an alias",
                ));
            };
            (name, Some(version))
        } else if uri && body.is_empty() {
            return Err(bad("the model name is missing"));
        } else {
            (body, None)
        };
        if name.is_empty() {
            return Err(bad("the model name is missing"));
        }
        if name.contains(':') {
            return Err(bad("a model name cannot contain `:`"));
        }
        Ok(ModelUri {
            name: name.to_string(),
            version,
        })
    }

    /// The version it names, or an error that asks for one.
    pub fn require_version(&self) -> crate::track::Result<&VersionRef> {
        self.version.as_ref().ok_or_else(|| {
            crate::track::Error::invalid(
                "model reference",
                &self.name,
                "it names no version; write `<name>@<alias>`, `<name>/<version>` or \
                 `models:/<name>/<version>`",
            )
        })
    }

    /// Looks the named version up (an alias through the registry, `latest` included).
    pub fn model_version(
        &self,
        tracker: &dyn crate::track::Tracker,
    ) -> crate::track::Result<ModelVersion> {
        match self.require_version()? {
            VersionRef::Version(v) => tracker.get_model_version(&self.name, *v),
            VersionRef::Alias(a) => tracker.get_model_version_by_alias(&self.name, a),
        }
    }
}

impl std::fmt::Display for ModelUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.version {
            None => write!(f, "models:/{}", self.name),
            Some(VersionRef::Version(v)) => write!(f, "models:/{}/{v}", self.name),
            Some(VersionRef::Alias(a)) => write!(f, "models:/{}@{a}", self.name),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(name: &str, version: Option<VersionRef>) -> ModelUri {
        ModelUri {
            name: name.into(),
            version,
        }
    }

    #[test]
    fn model_uris_parse_every_way_mlflow_users_write_them() {
        let v = |n| Some(VersionRef::Version(n));
        let a = |s: &str| Some(VersionRef::Alias(s.into()));
        for (text, want) in [
            ("models:/wine@champion", uri("wine", a("champion"))),
            ("models:/wine/3", uri("wine", v(3))),
            ("models:/wine/latest", uri("wine", a("latest"))),
            ("models:/wine", uri("wine", None)),
            ("wine@champion", uri("wine", a("champion"))),
            ("wine/12", uri("wine", v(12))),
            ("wine", uri("wine", None)),
            ("wine quality@prod-2", uri("wine quality", a("prod-2"))),
            ("a@b@c", uri("a@b", a("c"))),
        ] {
            assert_eq!(ModelUri::parse(text).unwrap(), want, "{text}");
        }
        assert_eq!(
            ModelUri::parse("models:/wine/3").unwrap().to_string(),
            "models:/wine/3"
        );
    }

    #[test]
    fn bad_model_uris_say_what_to_write() {
        for (text, says) in [
            ("models://host/wine/1", "no host"),
            ("models:/", "missing"),
            ("models:/wine/Production", "alias"),
            ("wine/x", "version number"),
            ("wine@", "empty"),
            ("@champion", "missing"),
            ("a/b/1", "cannot contain `/`"),
            ("s3:x", "cannot contain `:`"),
        ] {
            let e = ModelUri::parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        assert!(ModelUri::parse("wine").unwrap().require_version().is_err());
    }
}
