//! MLflow 3's run inputs (`inputs`, `input_tags`, `datasets`) and logged models
//! (`logged_models` with their tags and params) in the embedded store, read and written the way
//! MLflow's SQLAlchemy store reads and writes them.

use rusqlite::{OptionalExtension, params_from_iter};

use super::{Ctx, SqliteStore};
use crate::track::entities::{logged_model_status, logged_model_status_code};
use crate::track::{
    Dataset, DatasetInput, Error, LoggedModel, NewLoggedModel, Param, Result, Tag, validate,
};

/// MLflow's limits on a dataset input (`_validate_dataset_inputs`), checked before writing.
fn check_input(d: &DatasetInput) -> Result<()> {
    let too_long = |what: &'static str, value: &str, max: usize| {
        if value.chars().count() > max {
            Err(Error::Invalid {
                what,
                value: value.chars().take(80).collect(),
                reason: format!("longer than MLflow's {max} characters"),
            })
        } else {
            Ok(())
        }
    };
    too_long("dataset name", &d.dataset.name, 500)?;
    too_long("dataset digest", &d.dataset.digest, 36)?;
    too_long("dataset source type", &d.dataset.source_type, 36)?;
    too_long("dataset source", &d.dataset.source, 65_535)?;
    too_long(
        "dataset profile",
        d.dataset.profile.as_deref().unwrap_or(""),
        16_384,
    )?;
    for t in &d.tags {
        too_long("dataset input tag key", &t.key, 255)?;
        too_long("dataset input tag value", &t.value, 500)?;
    }
    Ok(())
}

/// MLflow's `log_inputs` for datasets: the first of each (name, digest), a `datasets` row reused
/// when the experiment has it, an input edge (with its tags) only when the run has none yet.
pub(super) fn log_inputs(s: &SqliteStore, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
    const ACTION: &str = "logging the run's dataset inputs";
    inputs.iter().try_for_each(check_input)?;
    let mut unique: Vec<&DatasetInput> = Vec::new();
    for d in inputs {
        if !unique
            .iter()
            .any(|u| u.dataset.name == d.dataset.name && u.dataset.digest == d.dataset.digest)
        {
            unique.push(d);
        }
    }
    s.write(ACTION, |tx| {
        let run = s.active_run(tx, run_id)?;
        let experiment: i64 = super::parse_experiment_id(&run.experiment_id)?;
        for d in unique {
            let ds = &d.dataset;
            let existing: Option<String> = tx
                .query_row(
                    "SELECT dataset_uuid FROM datasets \
                     WHERE experiment_id = ?1 AND name = ?2 AND digest = ?3",
                    rusqlite::params![experiment, ds.name, ds.digest],
                    |r| r.get(0),
                )
                .optional()
                .ctx(&s.path, ACTION)?;
            let dataset_uuid = match existing {
                Some(uuid) => uuid,
                None => {
                    let uuid = validate::new_run_id();
                    tx.execute(
                        "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, \
                         dataset_source_type, dataset_source, dataset_schema, dataset_profile) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        rusqlite::params![
                            uuid,
                            experiment,
                            ds.name,
                            ds.digest,
                            ds.source_type,
                            ds.source,
                            ds.schema,
                            ds.profile
                        ],
                    )
                    .ctx(&s.path, ACTION)?;
                    uuid
                }
            };
            let linked: bool = tx
                .query_row(
                    "SELECT 1 FROM inputs WHERE source_type = 'DATASET' AND source_id = ?1 \
                     AND destination_type = 'RUN' AND destination_id = ?2",
                    [&dataset_uuid, run_id],
                    |_| Ok(()),
                )
                .optional()
                .ctx(&s.path, ACTION)?
                .is_some();
            if linked {
                continue;
            }
            let input_uuid = validate::new_run_id();
            tx.execute(
                "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, \
                 destination_id) VALUES (?1, 'DATASET', ?2, 'RUN', ?3)",
                [&input_uuid, &dataset_uuid, run_id],
            )
            .ctx(&s.path, ACTION)?;
            for t in &d.tags {
                tx.execute(
                    "INSERT OR REPLACE INTO input_tags (input_uuid, name, value) \
                     VALUES (?1, ?2, ?3)",
                    [&input_uuid, &t.key, &t.value],
                )
                .ctx(&s.path, ACTION)?;
            }
        }
        Ok(())
    })
}

/// MLflow's `log_outputs`: an edge `RUN_OUTPUT` run → `MODEL_OUTPUT` model per model.
pub(super) fn log_outputs(
    s: &SqliteStore,
    run_id: &str,
    model_ids: &[String],
    step: i64,
) -> Result<()> {
    const ACTION: &str = "logging the run's model outputs";
    s.write(ACTION, |tx| {
        s.active_run(tx, run_id)?;
        for id in model_ids {
            tx.execute(
                "INSERT OR IGNORE INTO inputs (input_uuid, source_type, source_id, \
                 destination_type, destination_id, step) \
                 VALUES (?1, 'RUN_OUTPUT', ?2, 'MODEL_OUTPUT', ?3, ?4)",
                rusqlite::params![validate::new_run_id(), run_id, id, step],
            )
            .ctx(&s.path, ACTION)?;
        }
        Ok(())
    })
}

/// MLflow's `create_logged_model`: id `m-<32 hex>`, `PENDING`, artifacts under the experiment's
/// location at `models/<id>/artifacts`.
pub(super) fn create_logged_model(s: &SqliteStore, new: &NewLoggedModel) -> Result<LoggedModel> {
    const ACTION: &str = "creating a logged model";
    let experiment = crate::track::Tracker::get_experiment(s, &new.experiment_id)?;
    if experiment.lifecycle_stage != "active" {
        return Err(Error::Invalid {
            what: "experiment",
            value: new.experiment_id.clone(),
            reason: "it is deleted; restore it before logging a model to it".into(),
        });
    }
    let exp_id = super::parse_experiment_id(&new.experiment_id)?;
    let model_id = format!("m-{}", validate::new_run_id());
    let artifact_location = format!(
        "{}/models/{model_id}/artifacts",
        experiment.artifact_location.trim_end_matches('/')
    );
    let now = crate::track::now_ms();
    s.write(ACTION, |tx| {
        tx.execute(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
             creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, \
             model_type, source_run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1, 'active', ?6, ?7)",
            rusqlite::params![
                model_id,
                exp_id,
                new.name,
                artifact_location,
                now,
                new.model_type,
                new.source_run_id
            ],
        )
        .ctx(&s.path, ACTION)?;
        for p in &new.params {
            tx.execute(
                "INSERT OR REPLACE INTO logged_model_params (model_id, experiment_id, param_key, \
                 param_value) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![model_id, exp_id, p.key, p.value],
            )
            .ctx(&s.path, ACTION)?;
        }
        for t in &new.tags {
            tx.execute(
                "INSERT OR REPLACE INTO logged_model_tags (model_id, experiment_id, tag_key, \
                 tag_value) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![model_id, exp_id, t.key, t.value],
            )
            .ctx(&s.path, ACTION)?;
        }
        Ok(())
    })?;
    logged_model(s, &model_id)
}

/// The experiment of a live logged model, or [`Error::NotFound`].
fn live_model_experiment(
    s: &SqliteStore,
    tx: &rusqlite::Connection,
    model_id: &str,
) -> Result<i64> {
    tx.query_row(
        "SELECT experiment_id FROM logged_models \
         WHERE model_id = ?1 AND coalesce(lifecycle_stage, 'active') != 'deleted'",
        [model_id],
        |r| r.get(0),
    )
    .optional()
    .ctx(&s.path, "reading a logged model")?
    .ok_or_else(|| Error::not_found("logged model", model_id))
}

/// MLflow's `finalize_logged_model`.
pub(super) fn finalize_logged_model(s: &SqliteStore, model_id: &str, ready: bool) -> Result<()> {
    const ACTION: &str = "finalizing a logged model";
    s.write(ACTION, |tx| {
        live_model_experiment(s, tx, model_id)?;
        tx.execute(
            "UPDATE logged_models SET status = ?1, last_updated_timestamp_ms = ?2 \
             WHERE model_id = ?3",
            rusqlite::params![
                logged_model_status_code(ready),
                crate::track::now_ms(),
                model_id
            ],
        )
        .ctx(&s.path, ACTION)?;
        Ok(())
    })
}

/// MLflow's `set_logged_model_tags` (a key already set is replaced).
pub(super) fn set_logged_model_tags(s: &SqliteStore, model_id: &str, tags: &[Tag]) -> Result<()> {
    const ACTION: &str = "tagging a logged model";
    s.write(ACTION, |tx| {
        let exp = live_model_experiment(s, tx, model_id)?;
        for t in tags {
            tx.execute(
                "INSERT OR REPLACE INTO logged_model_tags (model_id, experiment_id, tag_key, \
                 tag_value) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![model_id, exp, t.key, t.value],
            )
            .ctx(&s.path, ACTION)?;
        }
        Ok(())
    })
}

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
