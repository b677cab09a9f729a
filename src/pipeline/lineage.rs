//! The tags a run carries so that any model can be traced and reproduced from its run id alone:
//! MLflow's system tags, and vintner's data/model locations and hashes. One place for the names.

use serde::{Deserialize, Serialize};

pub use crate::track::git::RUN_NAME;

/// vintner's own tags.
pub const VERSION: &str = "vintner.version";
pub const GIT_DIRTY: &str = "vintner.git.dirty";
/// JSON list of [`DataRef`].
pub const DATA: &str = "vintner.data";
pub const DATA_PATH: &str = "vintner.data.path";
pub const DATA_MD5: &str = "vintner.data.md5";
pub const DATA_REMOTE: &str = "vintner.data.remote";
pub const UNVERSIONED_DATA: &str = "vintner.data.unversioned";
pub const MODEL_PATH: &str = "vintner.model.path";
pub const MODEL_MD5: &str = "vintner.model.md5";
pub const MODEL_REMOTE: &str = "vintner.model.remote";
pub const MODEL_REMOTE_URL: &str = "vintner.model.remote_url";
/// On a registry version: the model object's location in the data remote.
pub const MODEL_LOCATION: &str = "vintner.model.location";
pub const MODEL_FAMILY: &str = "vintner.model.family";
pub const SCHEMA: &str = "vintner.schema";
pub const SEED: &str = "vintner.seed";
/// The registry version tags that say where the model bytes live.
pub const VERSION_TAGS: [&str; 4] = [MODEL_PATH, MODEL_MD5, MODEL_REMOTE, MODEL_REMOTE_URL];

/// One training data file as versioned: where it is in the repository and its md5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRef {
    pub path: String,
    pub md5: String,
    pub size: u64,
    /// The data remote it is pushed to (name), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

/// The model bytes a run produced: folder, id in the cache and the remote holding them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelRef {
    pub path: String,
    pub md5: String,
    pub remote: String,
    pub remote_url: String,
}

impl ModelRef {
    /// Reads the model location from run or model-version tags.
    pub fn from_tags(tags: &[crate::track::Tag]) -> Option<ModelRef> {
        let get = |k: &str| tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
        Some(ModelRef {
            path: get(MODEL_PATH)?,
            md5: get(MODEL_MD5)?,
            remote: get(MODEL_REMOTE).unwrap_or_default(),
            remote_url: get(MODEL_REMOTE_URL).unwrap_or_default(),
        })
    }

    /// The object's location in the remote, as a URL-like string (a model version's `source`).
    pub fn source(&self) -> String {
        let oid = crate::data::odb::Oid::new(self.md5.clone(), crate::data::hash::HashKind::Md5);
        format!(
            "{}/{}",
            self.remote_url.trim_end_matches('/'),
            oid.rel_path()
        )
    }
}

/// Where the whole dataset schema goes when it does not fit in the `vintner.schema` tag.
pub const SCHEMA_ARTIFACT: &str = "vintner/schema.json";

/// The `vintner.schema` tag for `schema`. A schema too large for a tag (a CSV with hundreds of
/// columns) is logged whole as the run artifact `vintner/schema.json`, and the tag keeps a valid
/// JSON summary that names it; a tag is never cut into invalid JSON.
pub fn schema_tag(
    tracker: &dyn crate::track::Tracker,
    run_id: &str,
    schema: &crate::ml::dataset::Schema,
) -> crate::track::Result<crate::track::Tag> {
    use crate::track::{Error, validate};
    let fact = serde_json::to_value(schema).unwrap_or_default();
    let summary = serde_json::json!({
        "rows": schema.rows,
        "columns": schema.columns.len(),
        "target": schema.columns.last().map(|c| c.name.as_str()),
        "files": schema.files.len(),
    });
    let split = validate::structured_tag(&fact, summary, SCHEMA_ARTIFACT);
    if let Some((path, bytes)) = split.artifact {
        let dir = std::env::temp_dir().join(format!("vintner-schema-{}", validate::new_run_id()));
        let io = |source| Error::Io {
            path: dir.clone(),
            action: "writing the schema artifact",
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let file = dir.join(path.rsplit('/').next().unwrap_or("schema.json"));
        let written = std::fs::write(&file, bytes).map_err(io);
        let logged = written.and_then(|()| {
            tracker.log_artifact(run_id, &file, path.rsplit_once('/').map(|(d, _)| d))
        });
        // the folder is ours alone (a fresh random name), so removing it loses nothing
        let _ = std::fs::remove_dir_all(&dir);
        logged?;
    }
    Ok(crate::track::Tag::new(SCHEMA, split.tag))
}

/// The registered-model tag that records when `alias` last moved, as `<version>@<epoch ms>`:
/// MLflow keeps no time for aliases, and people ask which version is `champion` since when.
pub fn alias_since_tag(alias: &str) -> String {
    format!("vintner.alias_since.{alias}")
}

/// Points `alias` of model `name` at `version` and, when it moves, records the time in
/// [`alias_since_tag`]. An alias already on `version` keeps its time.
pub fn move_alias(
    tracker: &dyn crate::track::Tracker,
    name: &str,
    alias: &str,
    version: u64,
) -> crate::track::Result<()> {
    let before = tracker
        .get_registered_model(name)?
        .aliases
        .iter()
        .find(|a| a.alias == alias)
        .map(|a| a.version);
    tracker.set_registered_model_alias(name, alias, version)?;
    if before != Some(version) {
        let tag = crate::track::Tag::new(
            alias_since_tag(alias),
            format!("{version}@{}", crate::track::now_ms()),
        );
        tracker.set_registered_model_tag(name, &tag)?;
    }
    Ok(())
}

/// Since when (epoch ms) `alias` has pointed at its current version, when vintner moved it
/// there; `None` when it was moved by another tool (the tag names another version) or never.
pub fn alias_since(model: &crate::track::RegisteredModel, alias: &str) -> Option<i64> {
    let current = model.aliases.iter().find(|a| a.alias == alias)?.version;
    let key = alias_since_tag(alias);
    let value = &model.tags.iter().find(|t| t.key == key)?.value;
    let (version, ms) = value.split_once('@')?;
    (version.parse::<u64>().ok()? == current).then_some(())?;
    ms.parse().ok()
}
