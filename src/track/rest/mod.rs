//! The REST backend: an MLflow tracking server (`http(s)://…`) through its `/api/2.0/mlflow/` API,
//! with MLflow's auth, TLS and retry settings ([`http`]) and log-batch chunked to the server's
//! limits (1000 metrics, 100 params, 100 tags per request).

mod http;
#[cfg(test)]
mod tests;

use std::path::Path;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

pub use http::{Auth, RestConfig};

use crate::track::{
    Alias, Dataset, DatasetInput, Error, Experiment, ExperimentsPage, FileInfo, LoggedModel,
    Metric, ModelVersion, ModelVersionsPage, NewLoggedModel, NewModelVersion, NewRun, Param,
    RegisteredModel, RegisteredModelsPage, Result, Run, RunData, RunInfo, RunStatus, RunUpdate,
    RunsPage, SearchExperiments, SearchModels, SearchRuns, Tag, Tracker, artifacts, entities,
    now_ms, types, validate,
};

/// Per-request limits of `runs/log-batch`.
pub const MAX_METRICS_PER_BATCH: usize = 1000;
pub const MAX_PARAMS_PER_BATCH: usize = 100;
pub const MAX_TAGS_PER_BATCH: usize = 100;
/// How many metric-only log-batch requests are in flight at once. Measured against
/// `mlflow server` 3.17.2 (SQLite, 1 worker): 4 in flight were no faster than 1, because the server
/// serializes them, and concurrent writes to one run's `latest_metrics` can deadlock on MySQL
/// (mlflow#4353); so 1 until a server shows a gain.
pub const CONCURRENT_BATCHES: usize = 1;
/// Page size of `metrics/get-history`, as MLflow's client uses.
const HISTORY_PAGE: usize = 25000;

/// A client of an MLflow tracking server.
pub struct RestTracker {
    http: http::Http,
}

/// An MLflow error body: `{"error_code": …, "message": …}`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    message: String,
}

impl RestTracker {
    /// The tracker behind the `Tracker` trait object `open` returns.
    pub fn boxed(config: RestConfig) -> Result<Box<dyn Tracker>> {
        Ok(Box::new(RestTracker::connect(config)?))
    }

    pub fn connect(config: RestConfig) -> Result<RestTracker> {
        Ok(RestTracker {
            http: http::Http::new(config)?,
        })
    }

    fn api(&self, endpoint: &str) -> String {
        format!("{}/api/2.0/mlflow/{endpoint}", self.http.config.base_url)
    }

    /// Calls an endpoint and decodes the JSON answer, mapping MLflow's errors.
    fn call(
        &self,
        method: Method,
        endpoint: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let url = self.api(endpoint);
        let resp = self.http.send(
            method,
            &url,
            query,
            body.map_or(http::Body::None, http::Body::Json),
        )?;
        decode(endpoint, &self.http.config, resp)
    }

    fn get(&self, endpoint: &str, query: &[(&str, String)]) -> Result<Value> {
        self.call(Method::GET, endpoint, query, None)
    }

    fn post(&self, endpoint: &str, body: Value) -> Result<Value> {
        self.call(Method::POST, endpoint, &[], Some(&body))
    }

    /// Posts `extra` plus the experiment id to an experiments endpoint; a missing (or, for
    /// `delete`/`restore`, wrong-stage) experiment is [`Error::NotFound`].
    fn experiment_call(&self, endpoint: &str, experiment_id: &str, mut extra: Value) -> Result<()> {
        extra["experiment_id"] = json!(experiment_id);
        not_found(self.post(endpoint, extra), "experiment", experiment_id)?;
        Ok(())
    }

    fn batch_request(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> http::Request {
        let metrics: Vec<Value> = metrics
            .iter()
            .map(|m| json!({"key": m.key, "value": wire_f64(m.value), "timestamp": m.timestamp, "step": m.step}))
            .collect();
        http::Request {
            method: Method::POST,
            url: self.api("runs/log-batch"),
            query: Vec::new(),
            body: http::OwnedBody::Json(
                json!({"run_id": run_id, "run_uuid": run_id, "metrics": metrics, "params": params, "tags": tags}),
            ),
        }
    }
}

/// Turns a response into JSON or into the matching error.
fn decode(endpoint: &str, cfg: &RestConfig, resp: http::Response) -> Result<Value> {
    let status = resp.status.as_u16();
    if resp.status.is_success() {
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(json!({}));
        }
        return serde_json::from_slice(&resp.body).map_err(|e| Error::BadResponse {
            endpoint: endpoint.to_string(),
            status,
            detail: format!("invalid JSON: {e}"),
        });
    }
    if status == 401 || status == 403 {
        return Err(Error::Auth {
            url: cfg.base_url.clone(),
            status,
            sent_credentials: cfg.auth != Auth::None,
        });
    }
    match serde_json::from_slice::<ErrorBody>(&resp.body) {
        Ok(e) if !e.error_code.is_empty() => Err(Error::Server {
            endpoint: endpoint.to_string(),
            status,
            error_code: e.error_code,
            message: e.message,
        }),
        _ => {
            let text = String::from_utf8_lossy(&resp.body);
            let snippet: String = text.chars().take(200).collect();
            Err(Error::BadResponse {
                endpoint: endpoint.to_string(),
                status,
                detail: if status == 404 {
                    format!(
                        "no such endpoint; is {} an MLflow tracking server (2.x or 3.x)?",
                        cfg.base_url
                    )
                } else {
                    snippet
                },
            })
        }
    }
}

/// Maps MLflow's "does not exist" answers to [`Error::NotFound`].
fn not_found<T>(r: Result<T>, kind: &'static str, id: &str) -> Result<T> {
    match r {
        Err(Error::Server { error_code, .. }) if error_code == "RESOURCE_DOES_NOT_EXIST" => {
            Err(Error::not_found(kind, id))
        }
        other => other,
    }
}

/// Maps MLflow's RESOURCE_DOES_NOT_EXIST on a tag deletion to [`Error::NotFound`] for the tag
/// ("No tag with name: …") or for its owner, as the embedded store reports them.
fn missing_tag<T>(r: Result<T>, key: &str, (kind, id): (&'static str, &str)) -> Result<T> {
    match r {
        Err(Error::Server {
            error_code,
            message,
            ..
        }) if error_code == "RESOURCE_DOES_NOT_EXIST" => Err(if message.starts_with("No tag") {
            Error::not_found("tag", format!("{key}` of {kind} `{id}"))
        } else {
            Error::not_found(kind, id)
        }),
        other => other,
    }
}

fn already_exists<T>(r: Result<T>, kind: &'static str, id: &str) -> Result<T> {
    match r {
        Err(Error::Server { error_code, .. }) if error_code == "RESOURCE_ALREADY_EXISTS" => {
            Err(Error::AlreadyExists {
                kind,
                id: id.to_string(),
            })
        }
        other => other,
    }
}

/// MLflow's JSON for a metric value: a number, or "NaN"/"Infinity"/"-Infinity".
fn wire_f64(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(v)
    }
}

fn field<T: for<'de> Deserialize<'de>>(endpoint: &str, v: &Value, key: &str) -> Result<T> {
    let inner = v.get(key).cloned().unwrap_or(Value::Null);
    serde_json::from_value(inner).map_err(|e| Error::BadResponse {
        endpoint: endpoint.to_string(),
        status: 200,
        detail: format!("unexpected `{key}`: {e}"),
    })
}

fn next_token(v: &Value) -> Option<String> {
    v.get("next_page_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

// ---- wire types (proto JSON: unset fields are omitted, int64 may be numbers or strings) ------

fn de_i64_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        I(i64),
        S(String),
    }
    Ok(match Option::<N>::deserialize(d)? {
        None => None,
        Some(N::I(i)) => Some(i),
        Some(N::S(s)) => s.parse().ok(),
    })
}

fn de_u64<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    Ok(de_i64_opt(d)?.unwrap_or(0).max(0) as u64)
}

#[derive(Deserialize)]
struct WTag {
    key: String,
    #[serde(default)]
    value: String,
}

fn tags(v: Vec<WTag>) -> Vec<Tag> {
    let mut t: Vec<Tag> = v.into_iter().map(|t| Tag::new(t.key, t.value)).collect();
    t.sort_by(|a, b| a.key.cmp(&b.key));
    t
}

#[derive(Deserialize)]
struct WExperiment {
    experiment_id: String,
    name: String,
    #[serde(default)]
    artifact_location: String,
    #[serde(default)]
    lifecycle_stage: String,
    #[serde(default, deserialize_with = "de_i64_opt")]
    creation_time: Option<i64>,
    #[serde(default, deserialize_with = "de_i64_opt")]
    last_update_time: Option<i64>,
    #[serde(default)]
    tags: Vec<WTag>,
}

impl From<WExperiment> for Experiment {
    fn from(w: WExperiment) -> Self {
        Experiment {
            experiment_id: w.experiment_id,
            name: w.name,
            artifact_location: w.artifact_location,
            lifecycle_stage: if w.lifecycle_stage.is_empty() {
                "active".into()
            } else {
                w.lifecycle_stage
            },
            creation_time: w.creation_time,
            last_update_time: w.last_update_time,
            tags: tags(w.tags),
        }
    }
}

#[derive(Deserialize)]
struct WMetric {
    key: String,
    #[serde(default, with = "types::mlflow_f64")]
    value: f64,
    #[serde(default, deserialize_with = "de_i64_opt")]
    timestamp: Option<i64>,
    #[serde(default, deserialize_with = "de_i64_opt")]
    step: Option<i64>,
}

impl From<WMetric> for Metric {
    fn from(w: WMetric) -> Self {
        Metric::new(
            w.key,
            w.value,
            w.timestamp.unwrap_or(0),
            w.step.unwrap_or(0),
        )
    }
}

#[derive(Deserialize)]
struct WRunInfo {
    #[serde(default)]
    run_id: String,
    #[serde(default)]
    run_uuid: String,
    #[serde(default)]
    run_name: String,
    #[serde(default)]
    experiment_id: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    status: String,
    #[serde(default, deserialize_with = "de_i64_opt")]
    start_time: Option<i64>,
    #[serde(default, deserialize_with = "de_i64_opt")]
    end_time: Option<i64>,
    #[serde(default)]
    artifact_uri: String,
    #[serde(default)]
    lifecycle_stage: String,
}

impl From<WRunInfo> for RunInfo {
    fn from(w: WRunInfo) -> Self {
        RunInfo {
            run_id: if w.run_id.is_empty() {
                w.run_uuid
            } else {
                w.run_id
            },
            run_name: w.run_name,
            experiment_id: w.experiment_id,
            user_id: w.user_id,
            status: RunStatus::parse(&w.status).unwrap_or(RunStatus::Running),
            start_time: w.start_time,
            end_time: w.end_time,
            artifact_uri: w.artifact_uri,
            lifecycle_stage: if w.lifecycle_stage.is_empty() {
                "active".into()
            } else {
                w.lifecycle_stage
            },
        }
    }
}

#[derive(Deserialize, Default)]
struct WRunData {
    #[serde(default)]
    metrics: Vec<WMetric>,
    #[serde(default)]
    params: Vec<WTag>,
    #[serde(default)]
    tags: Vec<WTag>,
}

#[derive(Deserialize)]
struct WRun {
    info: WRunInfo,
    #[serde(default)]
    data: WRunData,
}

impl From<WRun> for Run {
    fn from(w: WRun) -> Self {
        let mut metrics: Vec<Metric> = w.data.metrics.into_iter().map(Metric::from).collect();
        metrics.sort_by(|a, b| a.key.cmp(&b.key));
        let mut params: Vec<Param> = w
            .data
            .params
            .into_iter()
            .map(|p| Param::new(p.key, p.value))
            .collect();
        params.sort_by(|a, b| a.key.cmp(&b.key));
        Run {
            info: w.info.into(),
            data: RunData {
                metrics,
                params,
                tags: tags(w.data.tags),
            },
        }
    }
}

#[derive(Deserialize)]
struct WAlias {
    alias: String,
    #[serde(deserialize_with = "de_u64")]
    version: u64,
}

#[derive(Deserialize)]
struct WRegisteredModel {
    name: String,
    #[serde(default, deserialize_with = "de_i64_opt")]
    creation_timestamp: Option<i64>,
    #[serde(default, deserialize_with = "de_i64_opt")]
    last_updated_timestamp: Option<i64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<WTag>,
    #[serde(default)]
    aliases: Vec<WAlias>,
}

impl From<WRegisteredModel> for RegisteredModel {
    fn from(w: WRegisteredModel) -> Self {
        let mut aliases: Vec<Alias> = w
            .aliases
            .into_iter()
            .map(|a| Alias {
                alias: a.alias,
                version: a.version,
            })
            .collect();
        aliases.sort_by(|a, b| a.alias.cmp(&b.alias));
        RegisteredModel {
            name: w.name,
            creation_timestamp: w.creation_timestamp,
            last_updated_timestamp: w.last_updated_timestamp,
            description: w.description.filter(|d| !d.is_empty()),
            tags: tags(w.tags),
            aliases,
        }
    }
}

#[derive(Deserialize)]
struct WModelVersion {
    name: String,
    #[serde(deserialize_with = "de_u64")]
    version: u64,
    #[serde(default, deserialize_with = "de_i64_opt")]
    creation_timestamp: Option<i64>,
    #[serde(default, deserialize_with = "de_i64_opt")]
    last_updated_timestamp: Option<i64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    current_stage: String,
    #[serde(default)]
    tags: Vec<WTag>,
    #[serde(default)]
    aliases: Vec<String>,
}

impl From<WModelVersion> for ModelVersion {
    fn from(w: WModelVersion) -> Self {
        let mut aliases = w.aliases;
        aliases.sort();
        ModelVersion {
            name: w.name,
            version: w.version,
            creation_timestamp: w.creation_timestamp,
            last_updated_timestamp: w.last_updated_timestamp,
            description: w.description.filter(|d| !d.is_empty()),
            source: w.source,
            run_id: w.run_id.filter(|r| !r.is_empty()),
            status: if w.status.is_empty() {
                "READY".into()
            } else {
                w.status
            },
            current_stage: if w.current_stage.is_empty() {
                "None".into()
            } else {
                w.current_stage
            },
            tags: tags(w.tags),
            aliases,
        }
    }
}

#[derive(Deserialize)]
struct WFile {
    path: String,
    #[serde(default)]
    is_dir: bool,
    #[serde(default, deserialize_with = "de_i64_opt")]
    file_size: Option<i64>,
}

impl RestTracker {
    /// After a create-run was sent again (the first answer was lost on the way back), the server
    /// may hold the same run twice: the same client-chosen name and start time. The others are
    /// deleted, so no twin is left RUNNING forever; a failure here only leaves the twin.
    fn delete_twins(&self, run: &Run, run_name: &str, start_time: i64) {
        let filter = format!(
            "attributes.run_name = '{}' AND attributes.start_time = {start_time}",
            run_name.replace('\'', "''")
        );
        let page = self.search_runs(&SearchRuns {
            experiment_ids: vec![run.info.experiment_id.clone()],
            filter: Some(filter),
            order_by: Vec::new(),
            max_results: 100,
            page_token: None,
            view: types::ViewType::ActiveOnly,
        });
        for twin in page.map(|p| p.runs).unwrap_or_default() {
            if twin.info.run_id != run.info.run_id && twin.info.user_id == run.info.user_id {
                tracing::debug!(
                    "deleting run {}, a twin of {}",
                    twin.info.run_id,
                    run.info.run_id
                );
                let _ = self.delete_run(&twin.info.run_id);
            }
        }
    }
}

#[derive(Deserialize)]
struct WDataset {
    name: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    source_type: String,
    #[serde(default)]
    source: String,
    schema: Option<String>,
    profile: Option<String>,
}

#[derive(Deserialize)]
struct WDatasetInput {
    #[serde(default)]
    tags: Vec<WTag>,
    dataset: WDataset,
}

impl From<WDatasetInput> for DatasetInput {
    fn from(w: WDatasetInput) -> Self {
        DatasetInput {
            dataset: Dataset {
                name: w.dataset.name,
                digest: w.dataset.digest,
                source_type: w.dataset.source_type,
                source: w.dataset.source,
                schema: w.dataset.schema,
                profile: w.dataset.profile,
            },
            tags: tags(w.tags),
        }
    }
}

#[derive(Deserialize)]
struct WLoggedModelInfo {
    model_id: String,
    #[serde(default)]
    experiment_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    artifact_uri: String,
    #[serde(default, deserialize_with = "de_i64_opt")]
    creation_timestamp_ms: Option<i64>,
    #[serde(default, deserialize_with = "de_i64_opt")]
    last_updated_timestamp_ms: Option<i64>,
    #[serde(default)]
    status: String,
    model_type: Option<String>,
    source_run_id: Option<String>,
    #[serde(default)]
    tags: Vec<WTag>,
}

#[derive(Deserialize, Default)]
struct WLoggedModelData {
    #[serde(default)]
    params: Vec<WTag>,
}

#[derive(Deserialize)]
struct WLoggedModel {
    info: WLoggedModelInfo,
    #[serde(default)]
    data: WLoggedModelData,
}

impl From<WLoggedModel> for LoggedModel {
    fn from(w: WLoggedModel) -> Self {
        let i = w.info;
        let mut params: Vec<Param> = w
            .data
            .params
            .into_iter()
            .map(|p| Param::new(p.key, p.value))
            .collect();
        params.sort_by(|a, b| a.key.cmp(&b.key));
        LoggedModel {
            model_id: i.model_id,
            experiment_id: i.experiment_id,
            name: i.name,
            artifact_location: i.artifact_uri,
            creation_timestamp: i.creation_timestamp_ms.unwrap_or(0),
            last_updated_timestamp: i.last_updated_timestamp_ms.unwrap_or(0),
            status: entities::logged_model_status_from_wire(&i.status).to_string(),
            model_type: i.model_type,
            source_run_id: i.source_run_id,
            tags: tags(i.tags),
            params,
        }
    }
}

impl Tracker for RestTracker {
    fn uri(&self) -> &str {
        &self.http.config.base_url
    }

    fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<Experiment> {
        validate::experiment_name(name)?;
        let mut body = json!({"name": name, "tags": tags});
        if let Some(loc) = artifact_location {
            body["artifact_location"] = json!(loc);
        }
        let v = already_exists(self.post("experiments/create", body), "experiment", name)?;
        let id: String = field("experiments/create", &v, "experiment_id")?;
        self.get_experiment(&id)
    }

    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let v = not_found(
            self.get(
                "experiments/get",
                &[("experiment_id", experiment_id.to_string())],
            ),
            "experiment",
            experiment_id,
        )?;
        Ok(field::<WExperiment>("experiments/get", &v, "experiment")?.into())
    }

    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        match not_found(
            self.get(
                "experiments/get-by-name",
                &[("experiment_name", name.to_string())],
            ),
            "experiment",
            name,
        ) {
            Ok(v) => Ok(Some(
                field::<WExperiment>("experiments/get-by-name", &v, "experiment")?.into(),
            )),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn search_experiments(&self, q: &SearchExperiments) -> Result<ExperimentsPage> {
        let mut body = json!({"max_results": q.max_results, "view_type": q.view.as_mlflow()});
        if let Some(f) = q.filter.as_deref().filter(|f| !f.is_empty()) {
            body["filter"] = json!(f);
        }
        if let Some(t) = &q.page_token {
            body["page_token"] = json!(t);
        }
        let v = self.post("experiments/search", body)?;
        let exps: Option<Vec<WExperiment>> = field("experiments/search", &v, "experiments")?;
        Ok(ExperimentsPage {
            experiments: exps
                .unwrap_or_default()
                .into_iter()
                .map(Experiment::from)
                .collect(),
            next_page_token: next_token(&v),
        })
    }

    fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.experiment_call("experiments/delete", experiment_id, json!({}))
    }

    fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.experiment_call("experiments/restore", experiment_id, json!({}))
    }

    fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        validate::experiment_name(new_name)?;
        already_exists(
            self.experiment_call(
                "experiments/update",
                experiment_id,
                json!({ "new_name": new_name }),
            ),
            "experiment",
            new_name,
        )
    }

    fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()> {
        validate::key("experiment tag key", &tag.key)?;
        self.experiment_call(
            "experiments/set-experiment-tag",
            experiment_id,
            json!({"key": tag.key, "value": tag.value}),
        )
    }

    fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        let body = json!({"experiment_id": experiment_id, "key": key});
        missing_tag(
            self.post("experiments/delete-experiment-tag", body),
            key,
            ("experiment", experiment_id),
        )?;
        Ok(())
    }

    fn create_run(&self, new: &NewRun) -> Result<Run> {
        let mut tags: Vec<Tag> = new.tags.clone();
        // Like MLflow's Python client: name the run on the client side and send the tag too.
        let (run_name, user_id) = NewRun::settle_name_and_user(new, &mut tags)?;
        let start_time = new.start_time.unwrap_or_else(now_ms);
        let body = json!({
            "experiment_id": new.experiment_id,
            "user_id": user_id,
            "run_name": run_name,
            "start_time": start_time,
            "tags": tags,
        });
        let resp = self.http.send(
            Method::POST,
            &self.api("runs/create"),
            &[],
            http::Body::Json(&body),
        )?;
        let resent = resp.resent;
        let v = not_found(
            decode("runs/create", &self.http.config, resp),
            "experiment",
            &new.experiment_id,
        )?;
        let run: Run = field::<WRun>("runs/create", &v, "run")?.into();
        if resent {
            self.delete_twins(&run, &run_name, start_time);
        }
        Ok(run)
    }

    fn update_run(&self, run_id: &str, u: &RunUpdate) -> Result<RunInfo> {
        let mut body = json!({"run_id": run_id, "run_uuid": run_id});
        if let Some(s) = u.status {
            body["status"] = json!(s.as_str());
        }
        if let Some(t) = u.end_time {
            body["end_time"] = json!(t);
        }
        if let Some(n) = &u.run_name {
            body["run_name"] = json!(n);
        }
        let v = not_found(self.post("runs/update", body), "run", run_id)?;
        Ok(field::<WRunInfo>("runs/update", &v, "run_info")?.into())
    }

    fn delete_run(&self, run_id: &str) -> Result<()> {
        not_found(
            self.post("runs/delete", json!({"run_id": run_id})),
            "run",
            run_id,
        )?;
        Ok(())
    }

    fn restore_run(&self, run_id: &str) -> Result<()> {
        not_found(
            self.post("runs/restore", json!({ "run_id": run_id })),
            "run",
            run_id,
        )?;
        Ok(())
    }

    fn set_tag(&self, run_id: &str, tag: &Tag) -> Result<()> {
        validate::key("tag key", &tag.key)?;
        let value = validate::truncate(&tag.value, validate::MAX_TAG_VALUE_LEN);
        not_found(
            self.post(
                "runs/set-tag",
                json!({"run_id": run_id, "run_uuid": run_id, "key": tag.key, "value": value}),
            ),
            "run",
            run_id,
        )?;
        Ok(())
    }

    fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        missing_tag(
            self.post("runs/delete-tag", json!({"run_id": run_id, "key": key})),
            key,
            ("run", run_id),
        )?;
        Ok(())
    }

    fn get_run(&self, run_id: &str) -> Result<Run> {
        let v = not_found(
            self.get(
                "runs/get",
                &[
                    ("run_id", run_id.to_string()),
                    ("run_uuid", run_id.to_string()),
                ],
            ),
            "run",
            run_id,
        )?;
        Ok(field::<WRun>("runs/get", &v, "run")?.into())
    }

    fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        for m in metrics {
            validate::key("metric key", &m.key)?;
        }
        for p in params {
            validate::key("param key", &p.key)?;
        }
        for t in tags {
            validate::key("tag key", &t.key)?;
        }
        // Nothing is dropped in silence: a request that fails after the retries names the run
        // and what it does not hold.
        let unrecorded = |e: Error, m: usize, p: usize, t: usize| match e {
            e @ (Error::Connect { .. }
            | Error::BadResponse { .. }
            | Error::Server { status: 500.., .. }) => Error::Unrecorded {
                run_id: run_id.to_string(),
                server: self.http.config.base_url.clone(),
                missing: format!("{m} metric values, {p} params and {t} tags"),
                source: Box::new(e),
            },
            other => other,
        };
        // Params and tags first (with metrics filling the 1000-entity budget), one request at a
        // time, so a changed param fails before most metrics are written.
        let (mut m, mut p, mut t) = (metrics, params, tags);
        while !p.is_empty() || !t.is_empty() {
            let (np, nt) = (
                p.len().min(MAX_PARAMS_PER_BATCH),
                t.len().min(MAX_TAGS_PER_BATCH),
            );
            // at most 1000 entities per request in total
            let nm = m.len().min(MAX_METRICS_PER_BATCH - np - nt);
            let req = self.batch_request(run_id, &m[..nm], &p[..np], &t[..nt]);
            not_found(
                self.http
                    .send_all(vec![req], 1)
                    .remove(0)
                    .and_then(|resp| decode("runs/log-batch", &self.http.config, resp)),
                "run",
                run_id,
            )
            .map_err(|e| unrecorded(e, m.len(), p.len(), t.len()))?;
            (m, p, t) = (&m[nm..], &p[np..], &t[nt..]);
        }
        // Then the metric-only chunks, a few in flight: the server's latest-metric rule does not
        // depend on the order in which points arrive.
        let chunks: Vec<http::Request> = m
            .chunks(MAX_METRICS_PER_BATCH)
            .map(|c| self.batch_request(run_id, c, &[], &[]))
            .collect();
        let sizes: Vec<usize> = m.chunks(MAX_METRICS_PER_BATCH).map(<[_]>::len).collect();
        let mut first_error = None;
        let mut lost = 0;
        for (resp, n) in self
            .http
            .send_all(chunks, CONCURRENT_BATCHES)
            .into_iter()
            .zip(sizes)
        {
            let r = not_found(
                resp.and_then(|resp| decode("runs/log-batch", &self.http.config, resp)),
                "run",
                run_id,
            );
            if let Err(e) = r {
                lost += n;
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(unrecorded(e, lost, 0, 0)),
            None => Ok(()),
        }
    }

    fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![
                ("run_id", run_id.to_string()),
                ("run_uuid", run_id.to_string()),
                ("metric_key", key.to_string()),
                ("max_results", HISTORY_PAGE.to_string()),
            ];
            if let Some(t) = &token {
                q.push(("page_token", t.clone()));
            }
            let v = not_found(self.get("metrics/get-history", &q), "run", run_id)?;
            let ms: Option<Vec<WMetric>> = field("metrics/get-history", &v, "metrics")?;
            out.extend(ms.unwrap_or_default().into_iter().map(Metric::from));
            token = next_token(&v);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    fn search_runs(&self, q: &SearchRuns) -> Result<RunsPage> {
        let mut body = json!({
            "experiment_ids": q.experiment_ids,
            "run_view_type": q.view.as_mlflow(),
            "max_results": q.max_results,
            "order_by": q.order_by,
        });
        if let Some(f) = q.filter.as_deref().filter(|f| !f.is_empty()) {
            body["filter"] = json!(f);
        }
        if let Some(t) = &q.page_token {
            body["page_token"] = json!(t);
        }
        let v = self.post("runs/search", body)?;
        let runs: Option<Vec<WRun>> = field("runs/search", &v, "runs")?;
        Ok(RunsPage {
            runs: runs
                .unwrap_or_default()
                .into_iter()
                .map(Run::from)
                .collect(),
            next_page_token: next_token(&v),
        })
    }

    fn log_artifact(
        &self,
        run_id: &str,
        local_file: &Path,
        artifact_path: Option<&str>,
    ) -> Result<()> {
        // Artifacts go where the run's artifact URI says, as MLflow's client writes them.
        let parts = artifacts::clean_path(artifact_path)?;
        let uri = self.get_run(run_id)?.info.artifact_uri;
        let root = match artifacts::Location::parse(&uri)? {
            artifacts::Location::Proxy(root) => root,
            artifacts::Location::S3 { bucket, prefix } => {
                return artifacts::put_s3(&bucket, &prefix, &parts, local_file);
            }
            artifacts::Location::Local(root) => {
                return artifacts::put_local(&root, &parts, local_file);
            }
        };
        let name = artifacts::file_name(local_file)?;
        let rel = std::iter::once(root.as_str())
            .chain(parts.iter().map(String::as_str))
            .chain(std::iter::once(name))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        let bytes = std::fs::read(local_file).map_err(|source| Error::Io {
            path: local_file.to_path_buf(),
            action: "reading an artifact to upload",
            source,
        })?;
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}",
            self.http.config.base_url,
            encode_path(&rel)
        );
        let resp = self
            .http
            .send(Method::PUT, &url, &[], http::Body::Bytes(bytes))?;
        decode("mlflow-artifacts/artifacts", &self.http.config, resp)?;
        Ok(())
    }

    fn list_artifacts(&self, run_id: &str, path: Option<&str>) -> Result<Vec<FileInfo>> {
        let mut q = vec![
            ("run_id", run_id.to_string()),
            ("run_uuid", run_id.to_string()),
        ];
        if let Some(p) = path.filter(|p| !p.is_empty()) {
            q.push(("path", p.to_string()));
        }
        let v = not_found(self.get("artifacts/list", &q), "run", run_id)?;
        let files: Option<Vec<WFile>> = field("artifacts/list", &v, "files")?;
        Ok(files
            .unwrap_or_default()
            .into_iter()
            .map(|f| FileInfo {
                path: f.path,
                is_dir: f.is_dir,
                file_size: f.file_size.map(|s| s.max(0) as u64),
            })
            .collect())
    }

    fn list_artifacts_at(&self, root_uri: &str, path: Option<&str>) -> Result<Vec<FileInfo>> {
        let artifacts::Location::Proxy(root) = artifacts::Location::parse(root_uri)? else {
            return artifacts::list_direct(root_uri, path);
        };
        // as MLflow's `HttpArtifactRepository.list_artifacts`: the server answers base names
        let path = artifacts::clean_path(path)?.join("/");
        let full = [root.as_str(), path.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts",
            self.http.config.base_url
        );
        let resp = self
            .http
            .send(Method::GET, &url, &[("path", full)], http::Body::None)?;
        let v = decode("mlflow-artifacts/artifacts", &self.http.config, resp)?;
        let files: Option<Vec<WFile>> = field("mlflow-artifacts/artifacts", &v, "files")?;
        let mut out: Vec<FileInfo> = Vec::new();
        for f in files.unwrap_or_default() {
            let name = artifacts::clean_path(Some(&f.path))?.join("/");
            out.push(FileInfo {
                path: if path.is_empty() {
                    name
                } else {
                    format!("{path}/{name}")
                },
                is_dir: f.is_dir,
                file_size: f.file_size.map(|s| s.max(0) as u64),
            });
        }
        // a path that is a file lists itself; MLflow's clients treat that as "not a folder"
        let last = path.rsplit('/').next().unwrap_or_default();
        if let [only] = out.as_slice()
            && !only.is_dir
            && !path.is_empty()
            && only.path == format!("{path}/{last}")
        {
            return Ok(Vec::new());
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn download_artifact_at(&self, root_uri: &str, path: &str, dest: &Path) -> Result<()> {
        let artifacts::Location::Proxy(root) = artifacts::Location::parse(root_uri)? else {
            return artifacts::get_direct(root_uri, path, dest);
        };
        let path = artifacts::clean_path(Some(path))?.join("/");
        let full = [root.as_str(), path.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}",
            self.http.config.base_url,
            encode_path(&full)
        );
        let resp = self.http.send(Method::GET, &url, &[], http::Body::None)?;
        if !resp.status.is_success() {
            let status = resp.status.as_u16();
            let err = decode("mlflow-artifacts/artifacts", &self.http.config, resp);
            return match not_found(err, "artifact", &full) {
                Err(Error::BadResponse { .. }) if status == 404 => {
                    Err(Error::not_found("artifact", full))
                }
                Err(e) => Err(e),
                Ok(_) => Err(Error::not_found("artifact", full)),
            };
        }
        std::fs::write(dest, &resp.body).map_err(|source| Error::Io {
            path: dest.to_path_buf(),
            action: "writing a downloaded artifact",
            source,
        })
    }

    fn get_model_version_download_uri(&self, name: &str, version: u64) -> Result<String> {
        let v = not_found(
            self.get(
                "model-versions/get-download-uri",
                &[("name", name.to_string()), ("version", version.to_string())],
            ),
            "model version",
            &format!("{name} version {version}"),
        )?;
        let uri: Option<String> = field("model-versions/get-download-uri", &v, "artifact_uri")?;
        uri.ok_or_else(|| Error::BadResponse {
            endpoint: "model-versions/get-download-uri".into(),
            status: 200,
            detail: "no `artifact_uri` in the answer".into(),
        })
    }

    fn get_run_inputs(&self, run_id: &str) -> Result<Vec<DatasetInput>> {
        let v = not_found(
            self.get(
                "runs/get",
                &[
                    ("run_id", run_id.to_string()),
                    ("run_uuid", run_id.to_string()),
                ],
            ),
            "run",
            run_id,
        )?;
        let inputs = v
            .pointer("/run/inputs/dataset_inputs")
            .cloned()
            .unwrap_or(Value::Null);
        let inputs: Option<Vec<WDatasetInput>> =
            serde_json::from_value(inputs).map_err(|e| Error::BadResponse {
                endpoint: "runs/get".into(),
                status: 200,
                detail: format!("unexpected `inputs`: {e}"),
            })?;
        Ok(inputs
            .unwrap_or_default()
            .into_iter()
            .map(DatasetInput::from)
            .collect())
    }

    fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<()> {
        if datasets.is_empty() {
            return Ok(());
        }
        let datasets: Vec<Value> = datasets
            .iter()
            .map(|d| {
                let ds = &d.dataset;
                let mut dataset = json!({
                    "name": ds.name,
                    "digest": ds.digest,
                    "source_type": ds.source_type,
                    "source": ds.source,
                });
                if let Some(schema) = &ds.schema {
                    dataset["schema"] = json!(schema);
                }
                if let Some(profile) = &ds.profile {
                    dataset["profile"] = json!(profile);
                }
                json!({"tags": d.tags, "dataset": dataset})
            })
            .collect();
        not_found(
            self.post(
                "runs/log-inputs",
                json!({"run_id": run_id, "datasets": datasets}),
            ),
            "run",
            run_id,
        )?;
        Ok(())
    }

    fn log_outputs(&self, run_id: &str, model_ids: &[String], step: i64) -> Result<()> {
        if model_ids.is_empty() {
            return Ok(());
        }
        let models: Vec<Value> = model_ids
            .iter()
            .map(|id| json!({"model_id": id, "step": step}))
            .collect();
        not_found(
            self.post("runs/outputs", json!({"run_id": run_id, "models": models})),
            "run",
            run_id,
        )?;
        Ok(())
    }

    fn create_logged_model(&self, new: &NewLoggedModel) -> Result<LoggedModel> {
        let mut body = json!({
            "experiment_id": new.experiment_id,
            "name": new.name,
            "params": new.params,
            "tags": new.tags,
        });
        if let Some(run) = &new.source_run_id {
            body["source_run_id"] = json!(run);
        }
        if let Some(t) = &new.model_type {
            body["model_type"] = json!(t);
        }
        let v = not_found(
            self.post("logged-models", body),
            "experiment",
            &new.experiment_id,
        )?;
        let m: WLoggedModel = field("logged-models", &v, "model")?;
        Ok(m.into())
    }

    fn finalize_logged_model(&self, model_id: &str, ready: bool) -> Result<()> {
        let status = if ready {
            "LOGGED_MODEL_READY"
        } else {
            "LOGGED_MODEL_UPLOAD_FAILED"
        };
        let endpoint = format!("logged-models/{}", encode_path(model_id));
        let body = json!({"model_id": model_id, "status": status});
        not_found(
            self.call(Method::PATCH, &endpoint, &[], Some(&body)),
            "logged model",
            model_id,
        )?;
        Ok(())
    }

    fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        let endpoint = format!("logged-models/{}/tags", encode_path(model_id));
        let body = json!({"model_id": model_id, "tags": tags});
        not_found(
            self.call(Method::PATCH, &endpoint, &[], Some(&body)),
            "logged model",
            model_id,
        )?;
        Ok(())
    }

    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        let v = not_found(
            self.get(&format!("logged-models/{}", encode_path(model_id)), &[]),
            "logged model",
            model_id,
        )?;
        let m: WLoggedModel = field("logged-models", &v, "model")?;
        Ok(m.into())
    }

    fn search_logged_models(
        &self,
        experiment_ids: &[String],
        source_run_id: Option<&str>,
    ) -> Result<Vec<LoggedModel>> {
        if experiment_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"experiment_ids": experiment_ids, "max_results": 100});
            if let Some(run) = source_run_id {
                body["filter"] = json!(format!("source_run_id = '{}'", run.replace('\'', "''")));
            }
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            let v = self.post("logged-models/search", body)?;
            let models: Option<Vec<WLoggedModel>> = field("logged-models/search", &v, "models")?;
            out.extend(
                models
                    .unwrap_or_default()
                    .into_iter()
                    .map(LoggedModel::from),
            );
            match next_token(&v) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }

    fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        validate::model_name(name)?;
        let mut body = json!({"name": name, "tags": tags});
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        let v = already_exists(
            self.post("registered-models/create", body),
            "registered model",
            name,
        )?;
        Ok(field::<WRegisteredModel>("registered-models/create", &v, "registered_model")?.into())
    }

    fn delete_registered_model(&self, name: &str) -> Result<()> {
        not_found(
            self.call(
                Method::DELETE,
                "registered-models/delete",
                &[],
                Some(&json!({ "name": name })),
            ),
            "registered model",
            name,
        )?;
        Ok(())
    }

    fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let v = not_found(
            self.get("registered-models/get", &[("name", name.to_string())]),
            "registered model",
            name,
        )?;
        Ok(field::<WRegisteredModel>("registered-models/get", &v, "registered_model")?.into())
    }

    fn search_registered_models(&self, q: &SearchModels) -> Result<RegisteredModelsPage> {
        let v = self.get("registered-models/search", &search_query(q))?;
        let models: Option<Vec<WRegisteredModel>> =
            field("registered-models/search", &v, "registered_models")?;
        Ok(RegisteredModelsPage {
            registered_models: models
                .unwrap_or_default()
                .into_iter()
                .map(RegisteredModel::from)
                .collect(),
            next_page_token: next_token(&v),
        })
    }

    fn create_model_version(&self, new: &NewModelVersion) -> Result<ModelVersion> {
        let mut body = json!({"name": new.name, "source": new.source, "tags": new.tags});
        if let Some(r) = &new.run_id {
            body["run_id"] = json!(r);
        }
        if let Some(d) = &new.description {
            body["description"] = json!(d);
        }
        let v = not_found(
            self.post("model-versions/create", body),
            "registered model",
            &new.name,
        )?;
        Ok(field::<WModelVersion>("model-versions/create", &v, "model_version")?.into())
    }

    fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion> {
        let v = not_found(
            self.get(
                "model-versions/get",
                &[("name", name.to_string()), ("version", version.to_string())],
            ),
            "model version",
            &format!("{name} version {version}"),
        )?;
        Ok(field::<WModelVersion>("model-versions/get", &v, "model_version")?.into())
    }

    fn search_model_versions(&self, q: &SearchModels) -> Result<ModelVersionsPage> {
        let v = self.get("model-versions/search", &search_query(q))?;
        let versions: Option<Vec<WModelVersion>> =
            field("model-versions/search", &v, "model_versions")?;
        Ok(ModelVersionsPage {
            model_versions: versions
                .unwrap_or_default()
                .into_iter()
                .map(ModelVersion::from)
                .collect(),
            next_page_token: next_token(&v),
        })
    }

    fn set_registered_model_alias(&self, name: &str, alias: &str, version: u64) -> Result<()> {
        validate::alias(alias)?;
        not_found(
            self.post(
                "registered-models/alias",
                json!({"name": name, "alias": alias, "version": version.to_string()}),
            ),
            "model version",
            &format!("{name} version {version}"),
        )?;
        Ok(())
    }

    fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        not_found(
            self.call(
                Method::DELETE,
                "registered-models/alias",
                &[],
                Some(&json!({"name": name, "alias": alias})),
            ),
            "registered model",
            name,
        )?;
        Ok(())
    }

    fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        let r = self.get(
            "registered-models/alias",
            &[("name", name.to_string()), ("alias", alias.to_string())],
        );
        // MLflow answers a missing alias with 400 INVALID_PARAMETER_VALUE "... alias X not found."
        let r = match r {
            Err(Error::Server { message, .. }) if message.contains("not found") => {
                Err(Error::not_found("alias", format!("{name}@{alias}")))
            }
            other => not_found(other, "registered model", name),
        };
        Ok(field::<WModelVersion>("registered-models/alias", &r?, "model_version")?.into())
    }

    fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()> {
        not_found(
            self.post(
                "registered-models/set-tag",
                json!({"name": name, "key": tag.key, "value": tag.value}),
            ),
            "registered model",
            name,
        )?;
        Ok(())
    }

    fn set_model_version_tag(&self, name: &str, version: u64, tag: &Tag) -> Result<()> {
        not_found(
            self.post(
                "model-versions/set-tag",
                json!({"name": name, "version": version.to_string(), "key": tag.key, "value": tag.value}),
            ),
            "model version",
            &format!("{name} version {version}"),
        )?;
        Ok(())
    }

    fn delete_model_version(&self, name: &str, version: u64) -> Result<()> {
        not_found(
            self.call(
                Method::DELETE,
                "model-versions/delete",
                &[],
                Some(&json!({"name": name, "version": version.to_string()})),
            ),
            "model version",
            &format!("{name} version {version}"),
        )?;
        Ok(())
    }

    fn update_registered_model(&self, name: &str, description: &str) -> Result<RegisteredModel> {
        let v = not_found(
            self.call(
                Method::PATCH,
                "registered-models/update",
                &[],
                Some(&json!({"name": name, "description": description})),
            ),
            "registered model",
            name,
        )?;
        Ok(field::<WRegisteredModel>("registered-models/update", &v, "registered_model")?.into())
    }

    fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<ModelVersion> {
        let v = not_found(
            self.call(
                Method::PATCH,
                "model-versions/update",
                &[],
                Some(&json!({"name": name, "version": version.to_string(), "description": description})),
            ),
            "model version",
            &format!("{name} version {version}"),
        )?;
        Ok(field::<WModelVersion>("model-versions/update", &v, "model_version")?.into())
    }

    fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        not_found(
            self.call(
                Method::DELETE,
                "registered-models/delete-tag",
                &[],
                Some(&json!({"name": name, "key": key})),
            ),
            "registered model",
            name,
        )?;
        Ok(())
    }

    fn delete_model_version_tag(&self, name: &str, version: u64, key: &str) -> Result<()> {
        not_found(
            self.call(
                Method::DELETE,
                "model-versions/delete-tag",
                &[],
                Some(&json!({"name": name, "version": version.to_string(), "key": key})),
            ),
            "model version",
            &format!("{name} version {version}"),
        )?;
        Ok(())
    }
}

fn search_query(q: &SearchModels) -> Vec<(&'static str, String)> {
    let mut out = vec![("max_results", q.max_results.to_string())];
    if let Some(f) = q.filter.as_deref().filter(|f| !f.is_empty()) {
        out.push(("filter", f.to_string()));
    }
    if let Some(t) = &q.page_token {
        out.push(("page_token", t.clone()));
    }
    out
}

/// Percent-encodes each segment of a `/`-separated path.
fn encode_path(p: &str) -> String {
    p.split('/')
        .map(|seg| {
            seg.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}
