//! MLflow 3's entities beside runs: the datasets a run used (`mlflow.log_input`, the `inputs`,
//! `input_tags` and `datasets` tables) and logged models (`logged_models`), read and written as
//! MLflow's client writes them, so `runs show` lists them and MLflow's own UI shows a vintner
//! run's Datasets and Logged models.

use serde::{Deserialize, Serialize};

use super::{Param, Tag};

/// The input tag MLflow puts the dataset's role in (`training`, `eval`, …).
pub const DATASET_CONTEXT_TAG: &str = "mlflow.data.context";

/// A dataset as MLflow records it: identified by name and digest within an experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    /// JSON describing where the data came from (`{"uri": …}`, `{"url": …}`).
    pub source: String,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

/// One dataset a run used, with the input's tags (its context among them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInput {
    pub dataset: Dataset,
    pub tags: Vec<Tag>,
}

impl DatasetInput {
    /// The dataset's role in the run (`mlflow.data.context`), if recorded.
    pub fn context(&self) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == DATASET_CONTEXT_TAG)
            .map(|t| t.value.as_str())
    }
}

/// A model logged by MLflow 3 (`mlflow.<flavor>.log_model`), with its own artifact location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedModel {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    /// `PENDING`, `READY`, `FAILED` or `UNSPECIFIED`.
    pub status: String,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub tags: Vec<Tag>,
    pub params: Vec<Param>,
}

/// What [`crate::track::Tracker::create_logged_model`] records (MLflow's `create_logged_model`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLoggedModel {
    pub experiment_id: String,
    pub name: String,
    pub source_run_id: Option<String>,
    pub model_type: Option<String>,
    pub tags: Vec<Tag>,
    pub params: Vec<Param>,
}

/// The logged model tag listing the registered versions made from it, as MLflow's
/// `register_model` sets it: a JSON list of `{"name": …, "version": "…"}`.
pub const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

/// [`MODEL_VERSIONS_TAG`]'s value with `name` version `version` added (once), keeping what
/// `existing` lists; a value that is not such a list is replaced.
pub fn with_model_version(existing: Option<&str>, name: &str, version: u64) -> String {
    let entry = serde_json::json!({"name": name, "version": version.to_string()});
    let mut list: Vec<serde_json::Value> = existing
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default();
    if !list.contains(&entry) {
        list.push(entry);
    }
    serde_json::Value::Array(list).to_string()
}

/// MLflow's `LoggedModelStatus` as the integer the SQL store keeps.
pub fn logged_model_status_code(ready: bool) -> i64 {
    if ready { 2 } else { 3 }
}

/// MLflow's `LoggedModelStatus` from the integer the SQL store keeps.
pub fn logged_model_status(code: i64) -> &'static str {
    match code {
        1 => "PENDING",
        2 => "READY",
        3 => "FAILED",
        _ => "UNSPECIFIED",
    }
}

/// MLflow's `LoggedModelStatus` from the REST enum name (`LOGGED_MODEL_READY`, …).
pub fn logged_model_status_from_wire(name: &str) -> &'static str {
    match name {
        "LOGGED_MODEL_PENDING" => "PENDING",
        "LOGGED_MODEL_READY" => "READY",
        "LOGGED_MODEL_UPLOAD_FAILED" => "FAILED",
        _ => "UNSPECIFIED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_match_mlflow() {
        assert_eq!(logged_model_status(2), "READY");
        assert_eq!(logged_model_status(logged_model_status_code(true)), "READY");
        assert_eq!(
            logged_model_status(logged_model_status_code(false)),
            "FAILED"
        );
        assert_eq!(logged_model_status(3), "FAILED");
        assert_eq!(logged_model_status(0), "UNSPECIFIED");
        assert_eq!(logged_model_status_from_wire("LOGGED_MODEL_READY"), "READY");
    }

    #[test]
    fn model_versions_tag_appends_once_and_repairs_junk() {
        let one = with_model_version(None, "wine", 1);
        assert_eq!(one, r#"[{"name":"wine","version":"1"}]"#);
        let two = with_model_version(Some(&one), "wine", 2);
        assert_eq!(with_model_version(Some(&two), "wine", 2), two);
        assert_eq!(two.matches("\"name\"").count(), 2);
        assert_eq!(with_model_version(Some("not json"), "wine", 1), one);
    }
}
