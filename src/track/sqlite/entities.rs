//! MLflow 3's run inputs (`inputs`, `input_tags`, `datasets`) and logged models
//! (`logged_models` with their tags and params) in the embedded store, read the way MLflow's
//! SQLAlchemy store reads them.

use rusqlite::{OptionalExtension, params_from_iter};

use super::{Ctx, SqliteStore};
use crate::track::entities::logged_model_status;
use crate::track::{Dataset, DatasetInput, Error, LoggedModel, Param, Result, Tag};

fn tag_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tag> {
    Ok(Tag::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?))
}

pub(super) fn run_inputs(s: &SqliteStore, run_id: &str) -> Result<Vec<DatasetInput>> {
    const ACTION: &str = "reading the run's dataset inputs";
    s.read(ACTION, |tx| {
        s.run_info(tx, run_id)?;
        let mut stmt = tx
            .prepare(
                "SELECT i.input_uuid, d.dataset_uuid, d.name, d.digest, d.dataset_source_type, \
                 d.dataset_source, d.dataset_schema, d.dataset_profile \
                 FROM inputs i JOIN datasets d ON i.source_id = d.dataset_uuid \
                 WHERE i.destination_type = 'RUN' AND i.destination_id = ?1 ORDER BY i.rowid",
            )
            .ctx(&s.path, ACTION)?;
        let rows: Vec<(String, String, Dataset)> = stmt
            .query_map([run_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    Dataset {
                        name: r.get(2)?,
                        digest: r.get(3)?,
                        source_type: r.get(4)?,
                        source: r.get(5)?,
                        schema: r.get(6)?,
                        profile: r.get(7)?,
                    },
                ))
            })
            .ctx(&s.path, ACTION)?
            .collect::<rusqlite::Result<_>>()
            .ctx(&s.path, ACTION)?;
        let mut tags_stmt = tx
            .prepare("SELECT name, value FROM input_tags WHERE input_uuid = ?1 ORDER BY name")
            .ctx(&s.path, ACTION)?;
        let mut out: Vec<(String, DatasetInput)> = Vec::new();
        for (input_uuid, dataset_uuid, dataset) in rows {
            let tags: Vec<Tag> = tags_stmt
                .query_map([&input_uuid], tag_from_row)
                .ctx(&s.path, ACTION)?
                .collect::<rusqlite::Result<_>>()
                .ctx(&s.path, ACTION)?;
            // one entry per dataset, as MLflow's `_get_run_inputs` groups them
            match out.iter_mut().find(|(uuid, _)| *uuid == dataset_uuid) {
                Some((_, input)) => input.tags.extend(tags),
                None => out.push((dataset_uuid, DatasetInput { dataset, tags })),
            }
        }
        Ok(out.into_iter().map(|(_, i)| i).collect())
    })
}

const MODEL_COLUMNS: &str = "model_id, experiment_id, name, artifact_location, \
    creation_timestamp_ms, last_updated_timestamp_ms, status, model_type, source_run_id";

fn model_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LoggedModel> {
    Ok(LoggedModel {
        model_id: r.get(0)?,
        experiment_id: r.get::<_, i64>(1)?.to_string(),
        name: r.get(2)?,
        artifact_location: r.get(3)?,
        creation_timestamp: r.get(4)?,
        last_updated_timestamp: r.get(5)?,
        status: logged_model_status(r.get(6)?).to_string(),
        model_type: r.get(7)?,
        source_run_id: r.get(8)?,
        tags: Vec::new(),
        params: Vec::new(),
    })
}

fn with_tags_and_params(
    s: &SqliteStore,
    tx: &rusqlite::Connection,
    mut m: LoggedModel,
) -> Result<LoggedModel> {
    const ACTION: &str = "reading a logged model";
    m.tags = tx
        .prepare_cached(
            "SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = ?1 ORDER BY tag_key",
        )
        .ctx(&s.path, ACTION)?
        .query_map([&m.model_id], tag_from_row)
        .ctx(&s.path, ACTION)?
        .collect::<rusqlite::Result<_>>()
        .ctx(&s.path, ACTION)?;
    m.params = tx
        .prepare_cached(
            "SELECT param_key, param_value FROM logged_model_params WHERE model_id = ?1 \
             ORDER BY param_key",
        )
        .ctx(&s.path, ACTION)?
        .query_map([&m.model_id], |r| {
            Ok(Param::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .ctx(&s.path, ACTION)?
        .collect::<rusqlite::Result<_>>()
        .ctx(&s.path, ACTION)?;
    Ok(m)
}

/// A live logged model (MLflow's `get_logged_model` hides deleted ones).
pub(super) fn logged_model(s: &SqliteStore, model_id: &str) -> Result<LoggedModel> {
    const ACTION: &str = "reading a logged model";
    s.read(ACTION, |tx| {
        let m = tx
            .prepare_cached(&format!(
                "SELECT {MODEL_COLUMNS} FROM logged_models \
                 WHERE model_id = ?1 AND coalesce(lifecycle_stage, 'active') != 'deleted'"
            ))
            .ctx(&s.path, ACTION)?
            .query_row([model_id], model_from_row)
            .optional()
            .ctx(&s.path, ACTION)?
            .ok_or_else(|| Error::not_found("logged model", model_id))?;
        with_tags_and_params(s, tx, m)
    })
}

/// The live logged models of the experiments, newest first.
pub(super) fn search_logged_models(
    s: &SqliteStore,
    experiment_ids: &[String],
    source_run_id: Option<&str>,
) -> Result<Vec<LoggedModel>> {
    const ACTION: &str = "searching logged models";
    let ids = experiment_ids
        .iter()
        .map(|e| super::parse_experiment_id(e))
        .collect::<Result<Vec<i64>>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut args: Vec<rusqlite::types::Value> = ids.into_iter().map(Into::into).collect();
    let mut sql = format!(
        "SELECT {MODEL_COLUMNS} FROM logged_models WHERE experiment_id IN ({}) \
         AND coalesce(lifecycle_stage, 'active') != 'deleted'",
        vec!["?"; args.len()].join(",")
    );
    if let Some(run) = source_run_id {
        sql.push_str(" AND source_run_id = ?");
        args.push(run.to_string().into());
    }
    sql.push_str(" ORDER BY creation_timestamp_ms DESC, model_id");
    s.read(ACTION, |tx| {
        let models: Vec<LoggedModel> = tx
            .prepare(&sql)
            .ctx(&s.path, ACTION)?
            .query_map(params_from_iter(args.iter()), model_from_row)
            .ctx(&s.path, ACTION)?
            .collect::<rusqlite::Result<_>>()
            .ctx(&s.path, ACTION)?;
        models
            .into_iter()
            .map(|m| with_tags_and_params(s, tx, m))
            .collect()
    })
}

/// `storage_location` when MLflow set one, else `source`, of a live version.
pub(super) fn model_version_download_uri(
    s: &SqliteStore,
    name: &str,
    version: u64,
) -> Result<String> {
    const ACTION: &str = "reading a model version";
    s.read(ACTION, |tx| {
        tx.query_row(
            "SELECT storage_location, source FROM model_versions WHERE workspace = 'default' \
             AND name = ?1 AND version = ?2 AND coalesce(current_stage, '') != 'Deleted_Internal'",
            rusqlite::params![name, version as i64],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                ))
            },
        )
        .optional()
        .ctx(&s.path, ACTION)?
        .and_then(|(storage, source)| storage.filter(|l| !l.is_empty()).or(source))
        .ok_or_else(|| Error::not_found("model version", format!("{name} version {version}")))
    })
}
