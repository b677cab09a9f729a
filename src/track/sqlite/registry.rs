//! The model registry half of the embedded store: registered models, versions (status READY,
//! stage `None`), aliases and tags, in MLflow's registry tables (workspace `default`).

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Ctx, SqliteStore, WORKSPACE, search};
use crate::track::filter::{self, Clause, Entity};
use crate::track::{
    Alias, Error, ModelVersion, ModelVersionsPage, NewModelVersion, RegisteredModel,
    RegisteredModelsPage, Result, SearchModels, Tag, now_ms, validate,
};

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
                    description: r.get(3)?,
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

/// MLflow's `delete_model_version` keeps the row with stage `Deleted_Internal`; such a version
/// is invisible to every read, as in MLflow's SQL store.
const LIVE_VERSION: &str = "current_stage != 'Deleted_Internal'";

fn read_version(
    s: &SqliteStore,
    tx: &Connection,
    name: &str,
    version: u64,
) -> Result<ModelVersion> {
    let row = tx
        .query_row(
            &format!(
                "SELECT name, version, creation_time, last_updated_time, description, source, run_id, status, \
                 current_stage FROM model_versions WHERE workspace = ?1 AND name = ?2 AND version = ?3 AND {LIVE_VERSION}"
            ),
            params![WORKSPACE, name, version as i64],
            |r| {
                Ok(ModelVersion {
                    name: r.get(0)?,
                    version: r.get::<_, i64>(1)? as u64,
                    creation_timestamp: r.get(2)?,
                    last_updated_timestamp: r.get(3)?,
                    description: r.get(4)?,
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

/// The SQL condition for one registry clause.
fn registry_clause(c: &Clause, args: &mut Vec<SqlValue>, versions: bool) -> String {
    let mut sql = String::new();
    let (tag_table, outer, tag_id) = if versions {
        ("model_version_tags", "", "")
    } else {
        ("registered_model_tags", "m.name", "name")
    };
    if versions && c.entity == Entity::Tag {
        // Version tags are keyed by (name, version); write the EXISTS by hand.
        args.push(SqlValue::Text(c.key.clone()));
        let mut inner = Vec::new();
        let cmp = match (&c.comparator, &c.value) {
            (filter::Comparator::ILike, filter::Value::Str(v)) => {
                inner.push(SqlValue::Text(v.clone()));
                "lower(t.value) LIKE lower(?)".to_string()
            }
            (op, filter::Value::Str(v)) => {
                inner.push(SqlValue::Text(v.clone()));
                format!("t.value {} ?", op.as_str())
            }
            _ => "1".to_string(),
        };
        args.extend(inner);
        return format!(
            " AND EXISTS (SELECT 1 FROM model_version_tags t WHERE t.workspace = v.workspace AND t.name = v.name \
             AND t.version = v.version AND t.key = ? AND {cmp})"
        );
    }
    let column = match c.key.as_str() {
        "run_id" => "v.run_id",
        "source_path" => "v.source",
        _ if versions => "v.name",
        _ => "m.name",
    };
    search::push_entity_clause(&mut sql, args, c, column, tag_table, outer, tag_id);
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
            sql.push_str(&registry_clause(c, &mut args, false));
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

pub(super) fn search_model_versions(
    s: &SqliteStore,
    q: &SearchModels,
) -> Result<ModelVersionsPage> {
    let offset = filter::decode_page_token(q.page_token.as_deref()).map_err(Error::PageToken)?;
    let clauses = match q.filter.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => filter::parse_registry_filter(f, &filter::MODEL_VERSIONS)?,
        None => Vec::new(),
    };
    s.read("searching model versions", |tx| {
        let mut sql = String::from(
            "SELECT v.name, v.version FROM model_versions v WHERE v.workspace = 'default'",
        );
        sql.push_str(&format!(" AND v.{LIVE_VERSION}"));
        let mut args = Vec::new();
        for c in &clauses {
            sql.push_str(&registry_clause(c, &mut args, true));
        }
        sql.push_str(" ORDER BY v.name ASC, v.version DESC LIMIT ? OFFSET ?");
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
                &format!(
                    "SELECT max(version) FROM model_versions WHERE workspace = ?1 AND name = ?2 AND {LIVE_VERSION}"
                ),
                params![WORKSPACE, name],
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

pub(super) fn set_model_tag(s: &SqliteStore, name: &str, tag: &Tag) -> Result<()> {
    validate::key("model tag key", &tag.key)?;
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
    validate::key("model version tag key", &tag.key)?;
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
