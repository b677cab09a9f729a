//! The model registry half of the embedded store: registered models, versions (status READY,
//! stage `None`), aliases and tags, in MLflow's registry tables (workspace `default`).

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Ctx, SqliteStore, WORKSPACE, search};
use crate::track::filter::{self, Clause, Comparator, Entity, Value};
use crate::track::{
    Alias, Error, ModelVersion, ModelVersionsPage, NewModelVersion, RegisteredModel,
    RegisteredModelsPage, Result, SearchModels, Tag, now_ms, validate,
};

/// The stage MLflow's SQL store gives a deleted model version; such a version is hidden from
/// every read.
pub(super) const DELETED_STAGE: &str = "Deleted_Internal";
/// The tag that marks a registered model as a prompt; searches leave prompts out, as MLflow's do.
const IS_PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
/// Longest registry tag value MLflow accepts.
const MAX_REGISTRY_TAG_VALUE_LEN: usize = 100_000;
/// The most versions one search may return (MLflow's `SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD`).
const MAX_VERSIONS_PER_PAGE: usize = 200_000;

fn model_exists(s: &SqliteStore, tx: &Connection, name: &str) -> Result<bool> {
    tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM registered_models WHERE workspace = ?1 AND name = ?2)",
        params![WORKSPACE, name],
        |r| r.get(0),
    )
    .ctx(&s.path, "reading a registered model")
}

fn require_model(s: &SqliteStore, tx: &Connection, name: &str) -> Result<()> {
    if model_exists(s, tx, name)? {
        Ok(())
    } else {
        Err(Error::not_found("registered model", name))
    }
}

fn read_model(s: &SqliteStore, tx: &Connection, name: &str) -> Result<RegisteredModel> {
    let row = tx
        .query_row(
            "SELECT name, creation_time, last_updated_time, description FROM registered_models WHERE workspace = ?1 AND name = ?2",
            params![WORKSPACE, name],
            |r| {
                Ok(RegisteredModel {
                    name: r.get(0)?,
                    creation_timestamp: r.get(1)?,
                    last_updated_timestamp: r.get(2)?,
                    description: r.get::<_, Option<String>>(3)?.filter(|d| !d.is_empty()),
                    tags: Vec::new(),
                    aliases: Vec::new(),
                })
            },
        )
        .optional()
        .ctx(&s.path, "reading a registered model")?;
    let mut m = row.ok_or_else(|| Error::not_found("registered model", name))?;
    let mut stmt = tx
        .prepare_cached("SELECT key, value FROM registered_model_tags WHERE workspace = ?1 AND name = ?2 ORDER BY key")
        .ctx(&s.path, "reading model tags")?;
    m.tags = stmt
        .query_map(params![WORKSPACE, name], |r| {
            Ok(Tag::new(
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })
        .ctx(&s.path, "reading model tags")?
        .collect::<rusqlite::Result<_>>()
        .ctx(&s.path, "reading model tags")?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT alias, version FROM registered_model_aliases WHERE workspace = ?1 AND name = ?2 ORDER BY alias",
        )
        .ctx(&s.path, "reading aliases")?;
    m.aliases = stmt
        .query_map(params![WORKSPACE, name], |r| {
            Ok(Alias {
                alias: r.get(0)?,
                version: r.get::<_, i64>(1)? as u64,
            })
        })
        .ctx(&s.path, "reading aliases")?
        .collect::<rusqlite::Result<_>>()
        .ctx(&s.path, "reading aliases")?;
    Ok(m)
}

fn read_version(
    s: &SqliteStore,
    tx: &Connection,
    name: &str,
    version: u64,
) -> Result<ModelVersion> {
    let row = tx
        .query_row(
            "SELECT name, version, creation_time, last_updated_time, description, source, run_id, status, current_stage \
             FROM model_versions WHERE workspace = ?1 AND name = ?2 AND version = ?3 AND current_stage != ?4",
            params![WORKSPACE, name, version as i64, DELETED_STAGE],
            |r| {
                Ok(ModelVersion {
                    name: r.get(0)?,
                    version: r.get::<_, i64>(1)? as u64,
                    creation_timestamp: r.get(2)?,
                    last_updated_timestamp: r.get(3)?,
                    description: r.get::<_, Option<String>>(4)?.filter(|d| !d.is_empty()),
                    source: r.get(5)?,
                    run_id: r.get(6)?,
                    status: r.get::<_, Option<String>>(7)?.unwrap_or_else(|| "READY".into()),
                    current_stage: r.get::<_, Option<String>>(8)?.unwrap_or_else(|| "None".into()),
                    tags: Vec::new(),
                    aliases: Vec::new(),
                })
            },
        )
        .optional()
        .ctx(&s.path, "reading a model version")?;
    let mut v =
        row.ok_or_else(|| Error::not_found("model version", format!("{name} version {version}")))?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT key, value FROM model_version_tags WHERE workspace = ?1 AND name = ?2 AND version = ?3 ORDER BY key",
        )
        .ctx(&s.path, "reading model version tags")?;
    v.tags = stmt
        .query_map(params![WORKSPACE, name, version as i64], |r| {
            Ok(Tag::new(
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })
        .ctx(&s.path, "reading model version tags")?
        .collect::<rusqlite::Result<_>>()
        .ctx(&s.path, "reading model version tags")?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT alias FROM registered_model_aliases WHERE workspace = ?1 AND name = ?2 AND version = ?3 ORDER BY alias",
        )
        .ctx(&s.path, "reading aliases")?;
    v.aliases = stmt
        .query_map(params![WORKSPACE, name, version as i64], |r| r.get(0))
        .ctx(&s.path, "reading aliases")?
        .collect::<rusqlite::Result<_>>()
        .ctx(&s.path, "reading aliases")?;
    Ok(v)
}

pub(super) fn delete_registered_model(s: &SqliteStore, name: &str) -> Result<()> {
    s.write("deleting a registered model", |tx| {
        require_model(s, tx, name)?;
        for table in [
            "model_version_tags",
            "registered_model_aliases",
            "registered_model_tags",
            "model_versions",
            "registered_models",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE workspace = ?1 AND name = ?2"),
                params![WORKSPACE, name],
            )
            .ctx(&s.path, "deleting a registered model")?;
        }
        Ok(())
    })
}

pub(super) fn create_registered_model(
    s: &SqliteStore,
    name: &str,
    tags: &[Tag],
    description: Option<&str>,
) -> Result<RegisteredModel> {
    validate::model_name(name)?;
    for t in tags {
        validate::key("model tag key", &t.key)?;
    }
    s.write("registering a model", |tx| {
        if model_exists(s, tx, name)? {
            return Err(Error::AlreadyExists {
                kind: "registered model",
                id: name.to_string(),
            });
        }
        let now = now_ms();
        tx.execute(
            "INSERT INTO registered_models (name, creation_time, last_updated_time, description, workspace) VALUES (?1, ?2, ?2, ?3, ?4)",
            params![name, now, description, WORKSPACE],
        )
        .ctx(&s.path, "registering a model")?;
        for t in tags {
            tx.execute(
                "INSERT OR REPLACE INTO registered_model_tags (key, value, name, workspace) VALUES (?1, ?2, ?3, ?4)",
                params![t.key, t.value, name, WORKSPACE],
            )
            .ctx(&s.path, "tagging a registered model")?;
        }
        read_model(s, tx, name)
    })
}

pub(super) fn get_registered_model(s: &SqliteStore, name: &str) -> Result<RegisteredModel> {
    s.read("reading a registered model", |tx| read_model(s, tx, name))
}

/// The SQL condition for one registered-model clause (`name`, `tags.*`).
fn model_clause(c: &Clause, args: &mut Vec<SqlValue>) -> String {
    let mut sql = String::new();
    search::push_entity_clause(
        &mut sql,
        args,
        c,
        "m.name",
        "registered_model_tags",
        "m.name",
        "name",
    );
    sql
}

pub(super) fn search_registered_models(
    s: &SqliteStore,
    q: &SearchModels,
) -> Result<RegisteredModelsPage> {
    let offset = filter::decode_page_token(q.page_token.as_deref()).map_err(Error::PageToken)?;
    let clauses = match q.filter.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => filter::parse_registry_filter(f, &filter::REGISTERED_MODELS)?,
        None => Vec::new(),
    };
    s.read("searching registered models", |tx| {
        let mut sql =
            String::from("SELECT m.name FROM registered_models m WHERE m.workspace = 'default'");
        let mut args = Vec::new();
        for c in &clauses {
            sql.push_str(&model_clause(c, &mut args));
        }
        sql.push_str(" ORDER BY m.name ASC LIMIT ? OFFSET ?");
        args.push(SqlValue::Integer(q.max_results as i64 + 1));
        args.push(SqlValue::Integer(offset as i64));
        let names: Vec<String> = tx
            .prepare(&sql)
            .ctx(&s.path, "searching registered models")?
            .query_map(rusqlite::params_from_iter(args), |r| r.get(0))
            .ctx(&s.path, "searching registered models")?
            .collect::<rusqlite::Result<_>>()
            .ctx(&s.path, "searching registered models")?;
        let more = names.len() > q.max_results;
        let mut models = Vec::new();
        for n in names.iter().take(q.max_results) {
            models.push(read_model(s, tx, n)?);
        }
        Ok(RegisteredModelsPage {
            registered_models: models,
            next_page_token: more.then(|| filter::encode_page_token(offset + q.max_results)),
        })
    })
}

pub(super) fn create_model_version(s: &SqliteStore, new: &NewModelVersion) -> Result<ModelVersion> {
    validate::model_name(&new.name)?;
    for t in &new.tags {
        validate::key("model version tag key", &t.key)?;
    }
    s.write("creating a model version", |tx| {
        require_model(s, tx, &new.name)?;
        let now = now_ms();
        tx.execute(
            "UPDATE registered_models SET last_updated_time = ?1 WHERE workspace = ?2 AND name = ?3",
            params![now, WORKSPACE, new.name],
        )
        .ctx(&s.path, "creating a model version")?;
        let max: Option<i64> = tx
            .query_row(
                "SELECT max(version) FROM model_versions WHERE workspace = ?1 AND name = ?2",
                params![WORKSPACE, new.name],
                |r| r.get(0),
            )
            .ctx(&s.path, "creating a model version")?;
        let version = max.unwrap_or(0) + 1;
        tx.execute(
            "INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, current_stage, \
             source, run_id, status, status_message, run_link, storage_location, workspace) \
             VALUES (?1, ?2, ?3, ?3, ?4, NULL, 'None', ?5, ?6, 'READY', NULL, NULL, ?5, ?7)",
            params![new.name, version, now, new.description, new.source, new.run_id, WORKSPACE],
        )
        .ctx(&s.path, "creating a model version")?;
        for t in &new.tags {
            tx.execute(
                "INSERT OR REPLACE INTO model_version_tags (key, value, name, version, workspace) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.key, t.value, new.name, version, WORKSPACE],
            )
            .ctx(&s.path, "tagging a model version")?;
        }
        read_version(s, tx, &new.name, version as u64)
    })
}

pub(super) fn get_model_version(s: &SqliteStore, name: &str, version: u64) -> Result<ModelVersion> {
    s.read("reading a model version", |tx| {
        read_version(s, tx, name, version)
    })
}

/// MLflow's `search_model_versions` rules over the shared filter grammar: attributes `name`,
/// `run_id` (both also with `IN`/`NOT IN`), `source_path`, `version_number` (numbers), and
/// `tags.<key>` with `= != LIKE ILIKE`. Returns the SQL conditions on `model_versions v`.
fn version_conditions(filter_text: &str, args: &mut Vec<SqlValue>) -> Result<String> {
    let err = |reason: String| {
        Error::Filter(filter::FilterError::Syntax {
            filter: filter_text.to_string(),
            reason,
        })
    };
    let clauses = filter::parse_filter(filter_text)?;
    let mut querying_prompts = None;
    for c in &clauses {
        match c.entity {
            Entity::Tag => {
                let ok = matches!(
                    c.comparator,
                    Comparator::Eq | Comparator::Ne | Comparator::Like | Comparator::ILike
                ) && matches!(c.value, Value::Str(_));
                if !ok {
                    return Err(err(format!(
                        "tag `{}` is compared with = != LIKE ILIKE and a quoted string",
                        c.key
                    )));
                }
                if c.key == IS_PROMPT_TAG
                    && querying_prompts.is_none()
                    && let Value::Str(v) = &c.value
                {
                    let v = v.to_lowercase();
                    querying_prompts = Some(
                        (c.comparator == Comparator::Eq && v == "true")
                            || (c.comparator == Comparator::Ne && v == "false"),
                    );
                }
            }
            Entity::Attribute if c.key == "version_number" => {
                let numeric = matches!(
                    c.comparator,
                    Comparator::Eq
                        | Comparator::Ne
                        | Comparator::Lt
                        | Comparator::Le
                        | Comparator::Gt
                        | Comparator::Ge
                );
                let whole = match &c.value {
                    Value::Number(n) => n.fract() == 0.0,
                    Value::Str(s) => s.trim().parse::<i64>().is_ok(),
                    _ => false,
                };
                if !numeric || !whole {
                    return Err(err(
                        "`version_number` is compared with = != < <= > >= and a whole number"
                            .into(),
                    ));
                }
            }
            Entity::Attribute if ["name", "run_id", "source_path"].contains(&c.key.as_str()) => {
                let ok = match (&c.comparator, &c.value) {
                    (
                        Comparator::Eq | Comparator::Ne | Comparator::Like | Comparator::ILike,
                        Value::Str(_),
                    ) => true,
                    (Comparator::In | Comparator::NotIn, Value::List(_)) => c.key != "source_path",
                    _ => false,
                };
                if !ok {
                    return Err(err(format!(
                        "`{}` is compared with = != LIKE ILIKE and a quoted string{}",
                        c.key,
                        if c.key == "source_path" {
                            ""
                        } else {
                            ", or IN / NOT IN and a list"
                        }
                    )));
                }
            }
            Entity::Attribute => {
                return Err(err(format!(
                    "invalid attribute `{}`; model versions are searched by name, version_number, \
                     run_id, source_path and tags.<key>",
                    c.key
                )));
            }
            _ => {
                return Err(err(
                    "model versions are searched by name, version_number, run_id, source_path \
                     and tags.<key>"
                        .into(),
                ));
            }
        }
    }
    let querying_prompts = querying_prompts.unwrap_or(false);
    let mut sql = String::new();
    for c in &clauses {
        match (c.entity, c.key.as_str()) {
            // Without a prompt query, MLflow drops the prompt tag's clauses and leaves prompts out.
            (Entity::Tag, IS_PROMPT_TAG) if !querying_prompts => {}
            (Entity::Tag, _) => {
                args.push(SqlValue::Text(c.key.clone()));
                let cmp = search::comparison("t.value", c, args);
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM model_version_tags t WHERE t.workspace = v.workspace \
                     AND t.name = v.name AND t.version = v.version AND t.key = ? AND {cmp})"
                ));
            }
            (_, "version_number") => {
                let n = match &c.value {
                    Value::Number(n) => *n as i64,
                    Value::Str(s) => s.trim().parse().unwrap_or_default(),
                    _ => 0,
                };
                args.push(SqlValue::Integer(n));
                sql.push_str(&format!(" AND v.version {} ?", c.comparator.as_str()));
            }
            (_, key) => {
                let column = match key {
                    "run_id" => "v.run_id",
                    "source_path" => "v.source",
                    _ => "v.name",
                };
                sql.push_str(" AND ");
                sql.push_str(&search::comparison(column, c, args));
            }
        }
    }
    if !querying_prompts {
        args.push(SqlValue::Text(IS_PROMPT_TAG.into()));
        sql.push_str(
            " AND NOT EXISTS (SELECT 1 FROM model_version_tags p WHERE p.workspace = v.workspace \
             AND p.name = v.name AND p.key = ? AND p.value = 'true')",
        );
    }
    Ok(sql)
}

pub(super) fn search_model_versions(
    s: &SqliteStore,
    q: &SearchModels,
) -> Result<ModelVersionsPage> {
    if q.max_results < 1 || q.max_results > MAX_VERSIONS_PER_PAGE {
        return Err(Error::invalid(
            "max_results",
            q.max_results.to_string(),
            format!("it must be between 1 and {MAX_VERSIONS_PER_PAGE}"),
        ));
    }
    let offset = filter::decode_page_token(q.page_token.as_deref()).map_err(Error::PageToken)?;
    let mut args = vec![SqlValue::Text(DELETED_STAGE.into())];
    let conditions = version_conditions(q.filter.as_deref().unwrap_or(""), &mut args)?;
    s.read("searching model versions", |tx| {
        // MLflow's default order: last updated first, then name, then the newest version.
        let sql = format!(
            "SELECT v.name, v.version FROM model_versions v WHERE v.workspace = 'default' \
             AND v.current_stage != ?{conditions} \
             ORDER BY v.last_updated_time DESC, v.name ASC, v.version DESC LIMIT ? OFFSET ?"
        );
        args.push(SqlValue::Integer(q.max_results as i64 + 1));
        args.push(SqlValue::Integer(offset as i64));
        let keys: Vec<(String, i64)> = tx
            .prepare(&sql)
            .ctx(&s.path, "searching model versions")?
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .ctx(&s.path, "searching model versions")?
            .collect::<rusqlite::Result<_>>()
            .ctx(&s.path, "searching model versions")?;
        let more = keys.len() > q.max_results;
        let mut versions = Vec::new();
        for (n, v) in keys.iter().take(q.max_results) {
            versions.push(read_version(s, tx, n, *v as u64)?);
        }
        Ok(ModelVersionsPage {
            model_versions: versions,
            next_page_token: more.then(|| filter::encode_page_token(offset + q.max_results)),
        })
    })
}

pub(super) fn set_alias(s: &SqliteStore, name: &str, alias: &str, version: u64) -> Result<()> {
    validate::alias(alias)?;
    s.write("setting an alias", |tx| {
        read_version(s, tx, name, version)?;
        tx.execute(
            "INSERT OR REPLACE INTO registered_model_aliases (alias, version, name, workspace) VALUES (?1, ?2, ?3, ?4)",
            params![alias, version as i64, name, WORKSPACE],
        )
        .ctx(&s.path, "setting an alias")?;
        Ok(())
    })
}

pub(super) fn delete_alias(s: &SqliteStore, name: &str, alias: &str) -> Result<()> {
    s.write("deleting an alias", |tx| {
        require_model(s, tx, name)?;
        tx.execute(
            "DELETE FROM registered_model_aliases WHERE workspace = ?1 AND name = ?2 AND alias = ?3",
            params![WORKSPACE, name, alias],
        )
        .ctx(&s.path, "deleting an alias")?;
        Ok(())
    })
}

pub(super) fn get_by_alias(s: &SqliteStore, name: &str, alias: &str) -> Result<ModelVersion> {
    s.read("resolving an alias", |tx| {
        require_model(s, tx, name)?;
        let version: Option<i64> = if alias.eq_ignore_ascii_case("latest") {
            tx.query_row(
                "SELECT max(version) FROM model_versions WHERE workspace = ?1 AND name = ?2 AND current_stage != ?3",
                params![WORKSPACE, name, DELETED_STAGE],
                |r| r.get(0),
            )
            .ctx(&s.path, "resolving an alias")?
        } else {
            tx.query_row(
                "SELECT version FROM registered_model_aliases WHERE workspace = ?1 AND name = ?2 AND alias = ?3",
                params![WORKSPACE, name, alias],
                |r| r.get(0),
            )
            .optional()
            .ctx(&s.path, "resolving an alias")?
        };
        let version = version.ok_or_else(|| Error::not_found("alias", format!("{name}@{alias}")))?;
        read_version(s, tx, name, version as u64)
    })
}

/// MLflow's rules for a registered model or model version tag: a valid key, a value of at most
/// 100,000 characters (refused, not cut).
fn registry_tag(what: &'static str, tag: &Tag) -> Result<()> {
    validate::key(what, &tag.key)?;
    if tag.value.chars().count() > MAX_REGISTRY_TAG_VALUE_LEN {
        return Err(Error::invalid(
            what,
            &tag.key,
            format!("its value is longer than {MAX_REGISTRY_TAG_VALUE_LEN} characters"),
        ));
    }
    Ok(())
}

pub(super) fn set_model_tag(s: &SqliteStore, name: &str, tag: &Tag) -> Result<()> {
    validate::model_name(name)?;
    registry_tag("model tag key", tag)?;
    s.write("tagging a registered model", |tx| {
        require_model(s, tx, name)?;
        tx.execute(
            "INSERT OR REPLACE INTO registered_model_tags (key, value, name, workspace) VALUES (?1, ?2, ?3, ?4)",
            params![tag.key, tag.value, name, WORKSPACE],
        )
        .ctx(&s.path, "tagging a registered model")?;
        Ok(())
    })
}

pub(super) fn set_version_tag(s: &SqliteStore, name: &str, version: u64, tag: &Tag) -> Result<()> {
    validate::model_name(name)?;
    registry_tag("model version tag key", tag)?;
    s.write("tagging a model version", |tx| {
        read_version(s, tx, name, version)?;
        tx.execute(
            "INSERT OR REPLACE INTO model_version_tags (key, value, name, version, workspace) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![tag.key, tag.value, name, version as i64, WORKSPACE],
        )
        .ctx(&s.path, "tagging a model version")?;
        Ok(())
    })
}

pub(super) fn delete_model_version(s: &SqliteStore, name: &str, version: u64) -> Result<()> {
    validate::model_name(name)?;
    s.write("deleting a model version", |tx| {
        read_version(s, tx, name, version)?;
        let now = now_ms();
        tx.execute(
            "UPDATE registered_models SET last_updated_time = ?1 WHERE workspace = ?2 AND name = ?3",
            params![now, WORKSPACE, name],
        )
        .ctx(&s.path, "deleting a model version")?;
        tx.execute(
            "DELETE FROM registered_model_aliases WHERE workspace = ?1 AND name = ?2 AND version = ?3",
            params![WORKSPACE, name, version as i64],
        )
        .ctx(&s.path, "deleting a model version")?;
        // As MLflow's SQL store: the row stays (so the number is never reused), redacted and
        // hidden; its tags are kept.
        tx.execute(
            "UPDATE model_versions SET current_stage = ?1, last_updated_time = ?2, description = NULL, \
             user_id = NULL, source = 'REDACTED-SOURCE-PATH', run_id = 'REDACTED-RUN-ID', \
             run_link = 'REDACTED-RUN-LINK', status_message = NULL \
             WHERE workspace = ?3 AND name = ?4 AND version = ?5",
            params![DELETED_STAGE, now, WORKSPACE, name, version as i64],
        )
        .ctx(&s.path, "deleting a model version")?;
        Ok(())
    })
}

pub(super) fn update_model(
    s: &SqliteStore,
    name: &str,
    description: &str,
) -> Result<RegisteredModel> {
    validate::model_name(name)?;
    s.write("describing a registered model", |tx| {
        require_model(s, tx, name)?;
        tx.execute(
            "UPDATE registered_models SET description = ?1, last_updated_time = ?2 WHERE workspace = ?3 AND name = ?4",
            params![description, now_ms(), WORKSPACE, name],
        )
        .ctx(&s.path, "describing a registered model")?;
        read_model(s, tx, name)
    })
}

pub(super) fn update_version(
    s: &SqliteStore,
    name: &str,
    version: u64,
    description: &str,
) -> Result<ModelVersion> {
    validate::model_name(name)?;
    s.write("describing a model version", |tx| {
        read_version(s, tx, name, version)?;
        // MLflow updates the version's time only, not the registered model's.
        tx.execute(
            "UPDATE model_versions SET description = ?1, last_updated_time = ?2 \
             WHERE workspace = ?3 AND name = ?4 AND version = ?5",
            params![description, now_ms(), WORKSPACE, name, version as i64],
        )
        .ctx(&s.path, "describing a model version")?;
        read_version(s, tx, name, version)
    })
}

pub(super) fn delete_model_tag(s: &SqliteStore, name: &str, key: &str) -> Result<()> {
    validate::model_name(name)?;
    validate::key("model tag key", key)?;
    s.write("deleting a registered model tag", |tx| {
        require_model(s, tx, name)?;
        tx.execute(
            "DELETE FROM registered_model_tags WHERE workspace = ?1 AND name = ?2 AND key = ?3",
            params![WORKSPACE, name, key],
        )
        .ctx(&s.path, "deleting a registered model tag")?;
        Ok(())
    })
}

pub(super) fn delete_version_tag(
    s: &SqliteStore,
    name: &str,
    version: u64,
    key: &str,
) -> Result<()> {
    validate::model_name(name)?;
    validate::key("model version tag key", key)?;
    s.write("deleting a model version tag", |tx| {
        read_version(s, tx, name, version)?;
        tx.execute(
            "DELETE FROM model_version_tags WHERE workspace = ?1 AND name = ?2 AND version = ?3 AND key = ?4",
            params![WORKSPACE, name, version as i64, key],
        )
        .ctx(&s.path, "deleting a model version tag")?;
        Ok(())
    })
}
