//! The embedded tracking store: an `mlflow.db` SQLite file in MLflow's own schema (alembic head
//! `dc11669786a5`, all 65 tables), so `mlflow ui`/`mlflow server` open what vintner writes and
//! vintner reads what MLflow's Python client writes.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction; the connection waits up to 20 s for a
//! concurrent writer (MLflow's own `busy_timeout`) instead of failing with "database is locked".
//! Artifacts go to local folders, where MLflow puts them for this store (`mlruns/<exp>/<run>/artifacts`).

mod entities;
mod gc;
mod registry;
mod search;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::track::{
    DatasetInput, Error, Experiment, ExperimentsPage, FileInfo, LoggedModel, Metric, ModelVersion,
    ModelVersionsPage, NewLoggedModel, NewModelVersion, NewRun, Param, RegisteredModel,
    RegisteredModelsPage, Result, Run, RunData, RunInfo, RunStatus, RunUpdate, RunsPage,
    SearchExperiments, SearchModels, SearchRuns, Tag, Tracker, artifacts, filter, git, now_ms,
    validate,
};

/// The alembic revision of MLflow 3.17.2, the schema vintner creates.
pub const HEAD_REVISION: &str = "dc11669786a5";

/// MLflow's complete SQLite schema at [`HEAD_REVISION`], as MLflow itself creates it.
const SCHEMA: &str = include_str!("schema.sql");

/// Every alembic revision up to [`HEAD_REVISION`]: a DB at one of these (but not the head) is older.
const KNOWN_REVISIONS: &[&str] = &[
    "0584bdc529eb",
    "0a8213491aaa",
    "0c779009ac13",
    "17e22815139b",
    "181f10493468",
    "1971f2d9a75b",
    "1a0cddfcaa16",
    "1b5f0d9ad7c1",
    "1bd49d398cd23",
    "27a6a02d2cf1",
    "2b4d017a5e9b",
    "2c33131f4dae",
    "2d6e25af4d3e",
    "3500859a5d39",
    "39d1c3be5f05",
    "3da73c924c2f",
    "400f98739977",
    "4465047574b1",
    "451aebb31d03",
    "534353b11cbc",
    "5b0e9adcef9c",
    "5d2d30f0abce",
    "6953534de441",
    "6f8d9c3b2a1e",
    "71994744cf8e",
    "728d730b5ebd",
    "75868b020152",
    "76601a5f987d",
    "770bee3ae1dd",
    "7ac759974ad8",
    "7d34483879f0",
    "7f2a7d5fae7d",
    "84291f40a231",
    "867495a8f9d4",
    "89d3d66ed43f",
    "89d4b8295536",
    "90e64c465722",
    "97727af70f4d",
    "a1b2c3d4e5f6",
    "a5b4c3d2e1f0",
    "a8b9c0d1e2f3",
    "a8c4a736bde6",
    "acf3f17fdcc7",
    "ae8bbe7743c9",
    "b7c8d9e0f1a2",
    "b7e2c1a4d9f3",
    "b7e4c1a90f23",
    "bd07f7e963c5",
    "bda7b8c39065",
    "bf29a5ff90ea",
    "c1d2e3f4a5b6",
    "c3d6457b6d8a",
    "c3d9e7f1a2b4",
    "c48cb773bb87",
    "c8d9e0f1a2b3",
    "c9d4e5f6a7b8",
    "cbc13b556ace",
    "cc1f77228345",
    "cfd24bdc0731",
    "d0e1f2a3b4c5",
    "d3e4f5a6b7c8",
    "da6fb0208061",
    "dc11669786a5",
    "de4033877273",
    "df50e92ffc5e",
    "e1f2a3b4c5d6",
    "f5a4f2784254",
];

/// Longest experiment tag value MLflow accepts (it refuses longer ones rather than cutting them).
const MAX_EXPERIMENT_TAG_VALUE_LEN: usize = 20_000;
/// MLflow's single-tenant workspace.
const WORKSPACE: &str = "default";
/// MLflow's busy timeout for SQLite.
const BUSY_TIMEOUT: Duration = Duration::from_secs(20);

/// An `mlflow.db` opened by vintner.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    uri: String,
    artifact_root: PathBuf,
}

/// Adds the file and the action to SQLite errors.
trait Ctx<T> {
    fn ctx(self, path: &Path, action: &'static str) -> Result<T>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, path: &Path, action: &'static str) -> Result<T> {
        self.map_err(|source| Error::Sqlite {
            path: path.to_path_buf(),
            action,
            source,
        })
    }
}

/// How many tables a database has, and whether one is alembic's `alembic_version`.
fn has_tables(c: &Connection) -> rusqlite::Result<(i64, bool)> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    let alembic: i64 = c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'",
        [],
        |r| r.get(0),
    )?;
    Ok((n, alembic > 0))
}

impl SqliteStore {
    /// Opens `path`, creating MLflow's schema and the Default experiment in a new or empty file.
    /// Artifacts of new experiments go under `mlruns/` beside the file.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                path: parent.to_path_buf(),
                action: "creating the folder of the tracking database",
                source,
            })?;
        }
        let conn = Connection::open(&path).ctx(&path, "opening the database")?;
        let store = Self::with_connection(conn, path)?;
        store.initialize()?;
        Ok(store)
    }

    /// Opens an existing `path` for reading only: nothing is created or written, not even the
    /// file. A missing file, or one without tables, is [`Error::NoStore`].
    pub fn open_existing(path: &Path) -> Result<SqliteStore> {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Err(source) = std::fs::metadata(&path) {
            return Err(if source.kind() == std::io::ErrorKind::NotFound {
                Error::NoStore {
                    path,
                    empty_file: false,
                }
            } else {
                Error::Io {
                    path,
                    action: "looking for the tracking database",
                    source,
                }
            });
        }
        // Read-write without CREATE: the file is never created, a write-protected one is read,
        // and a store in WAL mode can still be read; `query_only` refuses every write.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).ctx(&path, "opening the database")?;
        conn.execute_batch("PRAGMA query_only = ON;")
            .ctx(&path, "configuring the connection")?;
        let store = Self::with_connection(conn, path)?;
        let (tables, alembic) = store.tables()?;
        if tables == 0 {
            return Err(Error::NoStore {
                path: store.path,
                empty_file: true,
            });
        }
        if !alembic {
            return Err(Error::NotMlflowDb { path: store.path });
        }
        store.check_revision()?;
        Ok(store)
    }

    fn with_connection(conn: Connection, path: PathBuf) -> Result<SqliteStore> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .ctx(&path, "setting the busy timeout")?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON;")
            .ctx(&path, "configuring the connection")?;
        let artifact_root = path
            .parent()
            .map(|p| p.join("mlruns"))
            .unwrap_or_else(|| PathBuf::from("mlruns"));
        Ok(SqliteStore {
            uri: format!("sqlite:///{}", path.display()),
            conn: Mutex::new(conn),
            path,
            artifact_root,
        })
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable (transactions roll back on drop).
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction (takes the write lock up front, so the busy
    /// timeout applies and no deadlock between two upgrading readers is possible).
    fn write<T>(
        &self,
        action: &'static str,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.transaction(TransactionBehavior::Immediate, action, f)
    }

    /// Runs `f` in one read transaction, so multi-query reads see one snapshot.
    fn read<T>(
        &self,
        action: &'static str,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.transaction(TransactionBehavior::Deferred, action, f)
    }

    fn transaction<T>(
        &self,
        behavior: TransactionBehavior,
        action: &'static str,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(behavior)
            .ctx(&self.path, action)?;
        let out = f(&tx)?;
        tx.commit().ctx(&self.path, action)?;
        Ok(out)
    }

    /// How many tables the file has, and whether one is alembic's `alembic_version`.
    fn tables(&self) -> Result<(i64, bool)> {
        has_tables(&self.lock()).ctx(&self.path, "reading the schema")
    }

    fn initialize(&self) -> Result<()> {
        let (n, alembic) = self.tables()?;
        if n == 0 {
            self.write("creating MLflow's schema", |tx| {
                // Another process may have created it since we looked.
                let (n, _) = has_tables(tx).ctx(&self.path, "reading the schema")?;
                if n == 0 {
                    tx.execute_batch(SCHEMA)
                        .ctx(&self.path, "creating MLflow's schema")?;
                    tx.execute(
                        "INSERT INTO alembic_version (version_num) VALUES (?1)",
                        [HEAD_REVISION],
                    )
                    .ctx(&self.path, "recording the schema revision")?;
                }
                Ok(())
            })?;
        } else if !alembic {
            return Err(Error::NotMlflowDb {
                path: self.path.clone(),
            });
        } else {
            self.check_revision()?;
        }
        self.ensure_default_experiment()
    }

    /// Accepts exactly MLflow 3.17.2's head revision, as MLflow's own store does: it refuses an
    /// empty `alembic_version`, two heads, and any other revision (older or newer).
    fn check_revision(&self) -> Result<()> {
        let conn = self.lock();
        let revisions: Vec<String> = conn
            .prepare("SELECT version_num FROM alembic_version")
            .and_then(|mut stmt| {
                stmt.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .ctx(&self.path, "reading the schema revision")?;
        let revision = match revisions.as_slice() {
            [] => {
                return Err(Error::SchemaRevision {
                    path: self.path.clone(),
                    detail: "its alembic_version table is empty, so its schema revision is unknown"
                        .into(),
                });
            }
            [one] => one.clone(),
            many => {
                return Err(Error::SchemaRevision {
                    path: self.path.clone(),
                    detail: format!(
                        "its alembic_version table holds {} heads ({}); MLflow accepts exactly one",
                        many.len(),
                        many.join(", ")
                    ),
                });
            }
        };
        if revision == HEAD_REVISION {
            return Ok(());
        }
        if KNOWN_REVISIONS.contains(&revision.as_str()) {
            return Err(Error::SchemaTooOld {
                path: self.path.clone(),
                revision,
                expected: HEAD_REVISION,
            });
        }
        Err(Error::SchemaRevision {
            path: self.path.clone(),
            detail: format!(
                "it is at schema revision {revision}, which MLflow 3.17.2 (the schema vintner writes) does not know; a newer MLflow wrote it"
            ),
        })
    }

    /// MLflow expects experiment 0, `Default`, and creates it when it opens a store without it.
    fn ensure_default_experiment(&self) -> Result<()> {
        let exists: bool = self
            .lock()
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM experiments WHERE experiment_id = 0)",
                [],
                |r| r.get(0),
            )
            .ctx(&self.path, "reading the Default experiment")?;
        if exists {
            return Ok(());
        }
        let location = self.default_artifact_location("0");
        self.write("creating the Default experiment", |tx| {
            let now = now_ms();
            tx.execute(
                "INSERT OR IGNORE INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time, workspace) \
                 VALUES (0, 'Default', ?1, 'active', ?2, ?2, ?3)",
                params![location, now, WORKSPACE],
            )
            .ctx(&self.path, "creating the Default experiment")?;
            Ok(())
        })
    }

    /// `<db folder>/mlruns/<id>` as a plain absolute path, as MLflow writes it for this store.
    fn default_artifact_location(&self, experiment_id: &str) -> String {
        self.artifact_root
            .join(experiment_id)
            .to_string_lossy()
            .into_owned()
    }

    // ---- row readers -------------------------------------------------------------------------

    fn experiment_tags(&self, tx: &Connection, id: i64) -> Result<Vec<Tag>> {
        let mut stmt = tx
            .prepare_cached(
                "SELECT key, value FROM experiment_tags WHERE experiment_id = ?1 ORDER BY key",
            )
            .ctx(&self.path, "reading experiment tags")?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(Tag::new(
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                ))
            })
            .ctx(&self.path, "reading experiment tags")?;
        rows.collect::<rusqlite::Result<_>>()
            .ctx(&self.path, "reading experiment tags")
    }

    fn experiment_where(
        &self,
        tx: &Connection,
        where_sql: &str,
        p: &dyn rusqlite::ToSql,
    ) -> Result<Option<Experiment>> {
        let sql = format!(
            "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time \
             FROM experiments WHERE {where_sql}"
        );
        let row = tx
            .query_row(&sql, [p], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            })
            .optional()
            .ctx(&self.path, "reading an experiment")?;
        let Some((id, name, loc, stage, created, updated)) = row else {
            return Ok(None);
        };
        Ok(Some(Experiment {
            experiment_id: id.to_string(),
            name,
            artifact_location: loc.unwrap_or_default(),
            lifecycle_stage: stage.unwrap_or_else(|| "active".into()),
            creation_time: created,
            last_update_time: updated,
            tags: self.experiment_tags(tx, id)?,
        }))
    }

    /// The experiment `id`, which must be in `stage` (`active` or `deleted`), as MLflow's
    /// `_get_experiment(view_type)` finds it.
    fn experiment_in_stage(
        &self,
        tx: &Connection,
        id: i64,
        shown: &str,
        stage: &str,
        already_deleted_is_done: bool,
    ) -> Result<Experiment> {
        let exp = self
            .experiment_where(tx, "experiment_id = ?1", &id)?
            .ok_or_else(|| Error::not_found("experiment", shown))?;
        if exp.lifecycle_stage != stage {
            let reason = if stage == "active" && already_deleted_is_done {
                "it is already deleted".to_string()
            } else if stage == "active" {
                format!(
                    "it is deleted; restore it first with `vintner experiments restore {}`",
                    exp.experiment_id
                )
            } else {
                "it is not deleted, so there is nothing to restore".to_string()
            };
            return Err(Error::invalid("experiment", exp.name, reason));
        }
        Ok(exp)
    }

    /// MLflow's `_mark_run_deleted`: the run is soft-deleted and the assessments it produced
    /// (found by their `mlflow.assessment.sourceRunId` metadata) are removed.
    fn mark_run_deleted(&self, tx: &Connection, run_id: &str) -> Result<()> {
        tx.execute(
            "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ?1 WHERE run_uuid = ?2",
            params![now_ms(), run_id],
        )
        .ctx(&self.path, "deleting a run")?;
        tx.execute(
            "DELETE FROM assessments WHERE instr(assessment_metadata, ?1) > 0",
            [format!("\"mlflow.assessment.sourceRunId\": \"{run_id}\"")],
        )
        .ctx(&self.path, "deleting a run's assessments")?;
        Ok(())
    }

    fn run_info(&self, tx: &Connection, run_id: &str) -> Result<RunInfo> {
        let mut stmt = tx
            .prepare_cached(
                "SELECT run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage \
                 FROM runs WHERE run_uuid = ?1",
            )
            .ctx(&self.path, "reading a run")?;
        stmt.query_row([run_id], run_info_from_row)
            .optional()
            .ctx(&self.path, "reading a run")?
            .ok_or_else(|| Error::not_found("run", run_id))
    }

    fn active_run(&self, tx: &Connection, run_id: &str) -> Result<RunInfo> {
        let info = self.run_info(tx, run_id)?;
        if info.lifecycle_stage != "active" {
            return Err(Error::RunNotActive {
                run_id: run_id.to_string(),
            });
        }
        Ok(info)
    }

    /// Loads data for many runs with one query per table.
    fn runs_data(&self, tx: &Connection, infos: Vec<RunInfo>) -> Result<Vec<Run>> {
        if infos.is_empty() {
            return Ok(Vec::new());
        }
        let mut data: std::collections::HashMap<String, RunData> = infos
            .iter()
            .map(|i| (i.run_id.clone(), RunData::default()))
            .collect();
        for chunk in infos.chunks(500) {
            let ids: Vec<&str> = chunk.iter().map(|i| i.run_id.as_str()).collect();
            let placeholders = vec!["?"; ids.len()].join(",");
            let p = rusqlite::params_from_iter(ids.iter());
            let sql = format!(
                "SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid IN ({placeholders}) ORDER BY run_uuid, key"
            );
            let mut stmt = tx.prepare(&sql).ctx(&self.path, "reading metrics")?;
            let mut rows = stmt.query(p).ctx(&self.path, "reading metrics")?;
            while let Some(r) = rows.next().ctx(&self.path, "reading metrics")? {
                let id: String = r.get(0).ctx(&self.path, "reading metrics")?;
                let m = metric_from_row(r, 1).ctx(&self.path, "reading metrics")?;
                if let Some(d) = data.get_mut(&id) {
                    d.metrics.push(m);
                }
            }
            for (table, is_param) in [("params", true), ("tags", false)] {
                let sql = format!(
                    "SELECT run_uuid, key, value FROM {table} WHERE run_uuid IN ({placeholders}) ORDER BY run_uuid, key"
                );
                let mut stmt = tx
                    .prepare(&sql)
                    .ctx(&self.path, "reading params and tags")?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(ids.iter()))
                    .ctx(&self.path, "reading params and tags")?;
                while let Some(r) = rows.next().ctx(&self.path, "reading params and tags")? {
                    let id: String = r.get(0).ctx(&self.path, "reading params and tags")?;
                    let key: String = r.get(1).ctx(&self.path, "reading params and tags")?;
                    let value: Option<String> =
                        r.get(2).ctx(&self.path, "reading params and tags")?;
                    if let Some(d) = data.get_mut(&id) {
                        if is_param {
                            d.params.push(Param::new(key, value.unwrap_or_default()));
                        } else {
                            d.tags.push(Tag::new(key, value.unwrap_or_default()));
                        }
                    }
                }
            }
        }
        Ok(infos
            .into_iter()
            .map(|info| {
                let data = data.remove(&info.run_id).unwrap_or_default();
                Run { info, data }
            })
            .collect())
    }

    fn artifact_location(&self, run_id: &str) -> Result<artifacts::Location> {
        let info = self.read("reading a run", |tx| self.run_info(tx, run_id))?;
        artifacts::Location::parse(&info.artifact_uri)
    }
}

fn run_info_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunInfo> {
    let status: Option<String> = r.get(4)?;
    Ok(RunInfo {
        run_id: r.get(0)?,
        run_name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        experiment_id: r
            .get::<_, Option<i64>>(2)?
            .map(|i| i.to_string())
            .unwrap_or_default(),
        user_id: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        status: status
            .as_deref()
            .and_then(RunStatus::parse)
            .unwrap_or(RunStatus::Running),
        start_time: r.get(5)?,
        end_time: r.get(6)?,
        artifact_uri: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
        lifecycle_stage: r
            .get::<_, Option<String>>(8)?
            .unwrap_or_else(|| "active".into()),
    })
}

/// Reads `key, value, timestamp, step, is_nan` starting at column `at`.
fn metric_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Metric> {
    let value: f64 = r.get(at + 1)?;
    let is_nan: bool = r.get::<_, Option<bool>>(at + 4)?.unwrap_or(false);
    Ok(Metric {
        key: r.get(at)?,
        value: validate::restore_metric(value, is_nan),
        timestamp: r.get::<_, Option<i64>>(at + 2)?.unwrap_or(0),
        step: r.get::<_, Option<i64>>(at + 3)?.unwrap_or(0),
    })
}

/// `append_to_uri_path` for the local paths and `file:` URIs this store uses.
fn append_path(base: &str, parts: &[&str]) -> String {
    let mut s = base.trim_end_matches('/').to_string();
    for p in parts {
        let p = p.trim_matches('/');
        if !p.is_empty() {
            s.push('/');
            s.push_str(p);
        }
    }
    s
}

fn parse_experiment_id(id: &str) -> Result<i64> {
    id.trim().parse().map_err(|_| {
        Error::invalid(
            "experiment id",
            id,
            "experiment ids of the SQLite store are integers",
        )
    })
}

impl Tracker for SqliteStore {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<Experiment> {
        validate::experiment_name(name)?;
        for t in tags {
            validate::key("experiment tag key", &t.key)?;
        }
        // As MLflow's `resolve_uri_if_local`: a relative local path becomes absolute.
        let artifact_location = artifact_location.map(|loc| {
            let has_scheme = loc.contains("://") || loc.starts_with("file:");
            if has_scheme || Path::new(loc).is_absolute() {
                loc.to_string()
            } else {
                std::path::absolute(loc)
                    .map_or_else(|_| loc.to_string(), |p| p.to_string_lossy().into_owned())
            }
        });
        let artifact_location = artifact_location.as_deref();
        let id = self.write("creating an experiment", |tx| {
            let taken: bool = tx
                .query_row("SELECT EXISTS(SELECT 1 FROM experiments WHERE workspace = ?1 AND name = ?2)", params![WORKSPACE, name], |r| r.get(0))
                .ctx(&self.path, "creating an experiment")?;
            if taken {
                return Err(Error::AlreadyExists { kind: "experiment", id: name.to_string() });
            }
            let now = now_ms();
            tx.execute(
                "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time, workspace) \
                 VALUES (?1, ?2, 'active', ?3, ?3, ?4)",
                params![name, artifact_location, now, WORKSPACE],
            )
            .ctx(&self.path, "creating an experiment")?;
            let id = tx.last_insert_rowid();
            if artifact_location.is_none() {
                tx.execute(
                    "UPDATE experiments SET artifact_location = ?1 WHERE experiment_id = ?2",
                    params![self.default_artifact_location(&id.to_string()), id],
                )
                .ctx(&self.path, "creating an experiment")?;
            }
            for t in tags {
                tx.execute(
                    "INSERT OR REPLACE INTO experiment_tags (key, value, experiment_id) VALUES (?1, ?2, ?3)",
                    params![t.key, t.value, id],
                )
                .ctx(&self.path, "tagging an experiment")?;
            }
            Ok(id)
        })?;
        self.get_experiment(&id.to_string())
    }

    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let id = parse_experiment_id(experiment_id)?;
        self.read("reading an experiment", |tx| {
            self.experiment_where(tx, "experiment_id = ?1", &id)
        })?
        .ok_or_else(|| Error::not_found("experiment", experiment_id))
    }

    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        self.read("reading an experiment", |tx| {
            self.experiment_where(
                tx,
                &format!("workspace = '{WORKSPACE}' AND name = ?1"),
                &name,
            )
        })
    }

    fn search_experiments(&self, query: &SearchExperiments) -> Result<ExperimentsPage> {
        let offset =
            filter::decode_page_token(query.page_token.as_deref()).map_err(Error::PageToken)?;
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut sql =
            String::from("SELECT e.experiment_id FROM experiments e WHERE e.workspace = 'default'");
        search::push_stage_filter(&mut sql, "e.lifecycle_stage", query.view);
        sql.push_str(&search::experiment_conditions(
            query.filter.as_deref().unwrap_or(""),
            &mut args,
        )?);
        self.read("searching experiments", |tx| {
            sql.push_str(" ORDER BY e.creation_time DESC, e.experiment_id ASC LIMIT ?");
            args.push((query.max_results as i64 + 1).into());
            sql.push_str(" OFFSET ?");
            args.push((offset as i64).into());
            let mut stmt = tx.prepare(&sql).ctx(&self.path, "searching experiments")?;
            let ids: Vec<i64> = stmt
                .query_map(rusqlite::params_from_iter(args), |r| r.get(0))
                .ctx(&self.path, "searching experiments")?
                .collect::<rusqlite::Result<_>>()
                .ctx(&self.path, "searching experiments")?;
            let more = ids.len() > query.max_results;
            let mut experiments = Vec::new();
            for id in ids.into_iter().take(query.max_results) {
                if let Some(e) = self.experiment_where(tx, "experiment_id = ?1", &id)? {
                    experiments.push(e);
                }
            }
            Ok(ExperimentsPage {
                experiments,
                next_page_token: more
                    .then(|| filter::encode_page_token(offset + query.max_results)),
            })
        })
    }

    fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        let id = parse_experiment_id(experiment_id)?;
        self.write("deleting an experiment", |tx| {
            self.experiment_in_stage(tx, id, experiment_id, "active", true)?;
            tx.execute(
                "UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = ?1 WHERE experiment_id = ?2",
                params![now_ms(), id],
            )
            .ctx(&self.path, "deleting an experiment")?;
            let runs: Vec<String> = tx
                .prepare("SELECT run_uuid FROM runs WHERE experiment_id = ?1")
                .ctx(&self.path, "deleting an experiment")?
                .query_map([id], |r| r.get(0))
                .ctx(&self.path, "deleting an experiment")?
                .collect::<rusqlite::Result<_>>()
                .ctx(&self.path, "deleting an experiment")?;
            for run in runs {
                self.mark_run_deleted(tx, &run)?;
            }
            Ok(())
        })
    }

    fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        let id = parse_experiment_id(experiment_id)?;
        self.write("restoring an experiment", |tx| {
            self.experiment_in_stage(tx, id, experiment_id, "deleted", false)?;
            tx.execute(
                "UPDATE experiments SET lifecycle_stage = 'active', last_update_time = ?1 WHERE experiment_id = ?2",
                params![now_ms(), id],
            )
            .ctx(&self.path, "restoring an experiment")?;
            // As MLflow: every run of the experiment comes back, also one deleted before it.
            tx.execute(
                "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = ?1",
                [id],
            )
            .ctx(&self.path, "restoring an experiment")?;
            Ok(())
        })
    }

    fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        validate::experiment_name(new_name)?;
        let id = parse_experiment_id(experiment_id)?;
        self.write("renaming an experiment", |tx| {
            self.experiment_in_stage(tx, id, experiment_id, "active", false)?;
            let taken: bool = tx
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM experiments WHERE workspace = ?1 AND name = ?2 AND experiment_id != ?3)",
                    params![WORKSPACE, new_name, id],
                    |r| r.get(0),
                )
                .ctx(&self.path, "renaming an experiment")?;
            if taken {
                return Err(Error::AlreadyExists {
                    kind: "experiment",
                    id: new_name.to_string(),
                });
            }
            tx.execute(
                "UPDATE experiments SET name = ?1, last_update_time = ?2 WHERE experiment_id = ?3",
                params![new_name, now_ms(), id],
            )
            .ctx(&self.path, "renaming an experiment")?;
            Ok(())
        })
    }

    fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()> {
        validate::key("experiment tag key", &tag.key)?;
        if tag.value.chars().count() > MAX_EXPERIMENT_TAG_VALUE_LEN {
            return Err(Error::invalid(
                "experiment tag value",
                validate::truncate(&tag.value, 100),
                format!("longer than {MAX_EXPERIMENT_TAG_VALUE_LEN} characters"),
            ));
        }
        let id = parse_experiment_id(experiment_id)?;
        self.write("tagging an experiment", |tx| {
            self.experiment_in_stage(tx, id, experiment_id, "active", false)?;
            tx.execute(
                "INSERT OR REPLACE INTO experiment_tags (key, value, experiment_id) VALUES (?1, ?2, ?3)",
                params![tag.key, tag.value, id],
            )
            .ctx(&self.path, "tagging an experiment")?;
            Ok(())
        })
    }

    fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        let id = parse_experiment_id(experiment_id)?;
        self.write("deleting an experiment tag", |tx| {
            self.experiment_in_stage(tx, id, experiment_id, "active", false)?;
            let n = tx
                .execute(
                    "DELETE FROM experiment_tags WHERE experiment_id = ?1 AND key = ?2",
                    params![id, key],
                )
                .ctx(&self.path, "deleting an experiment tag")?;
            if n == 0 {
                return Err(Error::not_found(
                    "tag",
                    format!("{key}` of experiment `{experiment_id}"),
                ));
            }
            Ok(())
        })
    }

    fn create_run(&self, new: &NewRun) -> Result<Run> {
        let exp = self.get_experiment(&new.experiment_id)?;
        if exp.lifecycle_stage != "active" {
            return Err(Error::invalid(
                "experiment",
                &exp.name,
                format!(
                    "it is deleted; restore it with `vintner experiments restore {}` or use another experiment",
                    exp.experiment_id
                ),
            ));
        }
        let mut tags: Vec<Tag> = Vec::with_capacity(new.tags.len() + 1);
        for t in &new.tags {
            validate::key("tag key", &t.key)?;
            tags.push(Tag::new(
                t.key.clone(),
                validate::truncate(&t.value, validate::MAX_TAG_VALUE_LEN),
            ));
        }
        let (run_name, user_id) = NewRun::settle_name_and_user(new, &mut tags)?;
        let run_id = validate::new_run_id();
        let artifact_uri = append_path(&exp.artifact_location, &[&run_id, "artifacts"]);
        let start_time = new.start_time.unwrap_or_else(now_ms);
        let exp_id = parse_experiment_id(&exp.experiment_id)?;
        self.write("creating a run", |tx| {
            tx.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, \
                 end_time, source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time) \
                 VALUES (?1, ?2, 'UNKNOWN', '', '', ?3, 'RUNNING', ?4, NULL, '', 'active', ?5, ?6, NULL)",
                params![run_id, run_name, user_id, start_time, artifact_uri, exp_id],
            )
            .ctx(&self.path, "creating a run")?;
            let mut stmt = tx
                .prepare_cached("INSERT OR REPLACE INTO tags (key, value, run_uuid) VALUES (?1, ?2, ?3)")
                .ctx(&self.path, "tagging a run")?;
            for t in &tags {
                stmt.execute(params![t.key, t.value, run_id]).ctx(&self.path, "tagging a run")?;
            }
            Ok(())
        })?;
        self.get_run(&run_id)
    }

    fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo> {
        self.write("updating a run", |tx| {
            self.active_run(tx, run_id)?;
            if let Some(s) = update.status {
                tx.execute(
                    "UPDATE runs SET status = ?1 WHERE run_uuid = ?2",
                    params![s.as_str(), run_id],
                )
                .ctx(&self.path, "updating a run")?;
            }
            if let Some(t) = update.end_time {
                tx.execute(
                    "UPDATE runs SET end_time = ?1 WHERE run_uuid = ?2",
                    params![t, run_id],
                )
                .ctx(&self.path, "updating a run")?;
            }
            if let Some(n) = update.run_name.as_deref().filter(|n| !n.is_empty()) {
                set_run_name(tx, &self.path, run_id, n)?;
            }
            self.run_info(tx, run_id)
        })
    }

    fn delete_run(&self, run_id: &str) -> Result<()> {
        self.write("deleting a run", |tx| {
            self.run_info(tx, run_id)?;
            self.mark_run_deleted(tx, run_id)
        })
    }

    fn restore_run(&self, run_id: &str) -> Result<()> {
        self.write("restoring a run", |tx| {
            self.run_info(tx, run_id)?;
            tx.execute(
                "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = ?1",
                [run_id],
            )
            .ctx(&self.path, "restoring a run")?;
            Ok(())
        })
    }

    fn set_tag(&self, run_id: &str, tag: &Tag) -> Result<()> {
        validate::key("tag key", &tag.key)?;
        let value = validate::truncate(&tag.value, validate::MAX_TAG_VALUE_LEN);
        self.write("tagging a run", |tx| {
            self.active_run(tx, run_id)?;
            if tag.key == git::RUN_NAME {
                set_run_name(tx, &self.path, run_id, value)
            } else {
                tx.execute(
                    "INSERT OR REPLACE INTO tags (key, value, run_uuid) VALUES (?1, ?2, ?3)",
                    params![tag.key, value, run_id],
                )
                .ctx(&self.path, "tagging a run")?;
                Ok(())
            }
        })
    }

    fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.write("deleting a run tag", |tx| {
            self.active_run(tx, run_id)?;
            let n = tx
                .execute(
                    "DELETE FROM tags WHERE run_uuid = ?1 AND key = ?2",
                    params![run_id, key],
                )
                .ctx(&self.path, "deleting a run tag")?;
            if n == 0 {
                return Err(Error::not_found("tag", format!("{key}` of run `{run_id}")));
            }
            Ok(())
        })
    }

    fn get_run(&self, run_id: &str) -> Result<Run> {
        self.read("reading a run", |tx| {
            let info = self.run_info(tx, run_id)?;
            Ok(self.runs_data(tx, vec![info])?.remove(0))
        })
    }

    fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params_in: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        // Validate everything before touching the database, like MLflow.
        for m in metrics {
            validate::key("metric key", &m.key)?;
        }
        let mut params: Vec<Param> = Vec::with_capacity(params_in.len());
        for p in params_in {
            validate::key("param key", &p.key)?;
            let value = validate::truncate(&p.value, validate::MAX_PARAM_VALUE_LEN);
            match params.iter().find(|q| q.key == p.key) {
                Some(q) if q.value != value => {
                    return Err(Error::invalid(
                        "params",
                        &p.key,
                        format!(
                            "the batch logs this key twice with different values (`{}` and `{value}`)",
                            q.value
                        ),
                    ));
                }
                Some(_) => {}
                None => params.push(Param::new(p.key.clone(), value)),
            }
        }
        for t in tags {
            validate::key("tag key", &t.key)?;
        }
        self.write("logging to a run", |tx| {
            self.active_run(tx, run_id)?;
            log_params(tx, &self.path, run_id, &params)?;
            log_metrics(tx, &self.path, run_id, metrics)?;
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO tags (key, value, run_uuid) VALUES (?1, ?2, ?3)",
                )
                .ctx(&self.path, "tagging a run")?;
            for t in tags {
                let value = validate::truncate(&t.value, validate::MAX_TAG_VALUE_LEN);
                if t.key == git::RUN_NAME {
                    set_run_name(tx, &self.path, run_id, value)?;
                } else {
                    stmt.execute(params![t.key, value, run_id])
                        .ctx(&self.path, "tagging a run")?;
                }
            }
            Ok(())
        })
    }

    fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        self.read("reading a metric history", |tx| {
            self.run_info(tx, run_id)?;
            let mut stmt = tx
                .prepare_cached(
                    "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ?1 AND key = ?2 \
                     ORDER BY timestamp, step, value",
                )
                .ctx(&self.path, "reading a metric history")?;
            let rows = stmt
                .query_map(params![run_id, key], |r| metric_from_row(r, 0))
                .ctx(&self.path, "reading a metric history")?;
            rows.collect::<rusqlite::Result<_>>().ctx(&self.path, "reading a metric history")
        })
    }

    fn search_runs(&self, query: &SearchRuns) -> Result<RunsPage> {
        validate::max_results(query.max_results)?;
        // As MLflow: an empty filter matches everything, a blank one is refused.
        let clauses = match query.filter.as_deref().filter(|f| !f.is_empty()) {
            Some(f) => filter::parse_run_filter(f)?,
            None => Vec::new(),
        };
        let order = filter::parse_order_by_list(&query.order_by)?;
        let offset =
            filter::decode_page_token(query.page_token.as_deref()).map_err(Error::PageToken)?;
        let mut exp_ids = Vec::with_capacity(query.experiment_ids.len());
        for e in &query.experiment_ids {
            exp_ids.push(parse_experiment_id(e)?);
        }
        let (sql, args) = search::runs_query(
            &exp_ids,
            query.view,
            &clauses,
            &order,
            query.max_results + 1,
            offset,
        );
        self.read("searching runs", |tx| {
            let mut stmt = tx.prepare(&sql).ctx(&self.path, "searching runs")?;
            let mut infos: Vec<RunInfo> = stmt
                .query_map(rusqlite::params_from_iter(args), run_info_from_row)
                .ctx(&self.path, "searching runs")?
                .collect::<rusqlite::Result<_>>()
                .ctx(&self.path, "searching runs")?;
            let more = infos.len() > query.max_results;
            infos.truncate(query.max_results);
            Ok(RunsPage {
                runs: self.runs_data(tx, infos)?,
                next_page_token: more
                    .then(|| filter::encode_page_token(offset + query.max_results)),
            })
        })
    }

    fn log_artifact(
        &self,
        run_id: &str,
        local_file: &Path,
        artifact_path: Option<&str>,
    ) -> Result<()> {
        let parts = artifacts::clean_path(artifact_path)?;
        match self.artifact_location(run_id)? {
            artifacts::Location::Local(root) => artifacts::put_local(&root, &parts, local_file),
            artifacts::Location::S3 { bucket, prefix } => {
                artifacts::put_s3(&bucket, &prefix, &parts, local_file)
            }
            artifacts::Location::Proxy(_) => Err(Error::RemoteArtifacts {
                location: self
                    .read("reading a run", |tx| self.run_info(tx, run_id))?
                    .artifact_uri,
            }),
        }
    }

    fn list_artifacts(&self, run_id: &str, path: Option<&str>) -> Result<Vec<FileInfo>> {
        let info = self.read("reading a run", |tx| self.run_info(tx, run_id))?;
        artifacts::list_direct(&info.artifact_uri, path)
    }

    fn list_artifacts_at(&self, root_uri: &str, path: Option<&str>) -> Result<Vec<FileInfo>> {
        artifacts::list_direct(root_uri, path)
    }

    fn download_artifact_at(&self, root_uri: &str, path: &str, dest: &Path) -> Result<()> {
        artifacts::get_direct(root_uri, path, dest)
    }

    fn get_model_version_download_uri(&self, name: &str, version: u64) -> Result<String> {
        entities::model_version_download_uri(self, name, version)
    }

    fn get_run_inputs(&self, run_id: &str) -> Result<Vec<DatasetInput>> {
        entities::run_inputs(self, run_id)
    }

    fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<()> {
        entities::log_inputs(self, run_id, datasets)
    }

    fn log_outputs(&self, run_id: &str, model_ids: &[String], step: i64) -> Result<()> {
        entities::log_outputs(self, run_id, model_ids, step)
    }

    fn create_logged_model(&self, new: &NewLoggedModel) -> Result<LoggedModel> {
        entities::create_logged_model(self, new)
    }

    fn finalize_logged_model(&self, model_id: &str, ready: bool) -> Result<()> {
        entities::finalize_logged_model(self, model_id, ready)
    }

    fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        entities::set_logged_model_tags(self, model_id, tags)
    }

    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        entities::logged_model(self, model_id)
    }

    fn search_logged_models(
        &self,
        experiment_ids: &[String],
        source_run_id: Option<&str>,
    ) -> Result<Vec<LoggedModel>> {
        entities::search_logged_models(self, experiment_ids, source_run_id)
    }

    fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        registry::create_registered_model(self, name, tags, description)
    }
    fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        registry::get_registered_model(self, name)
    }
    fn delete_registered_model(&self, name: &str) -> Result<()> {
        registry::delete_registered_model(self, name)
    }
    fn search_registered_models(&self, query: &SearchModels) -> Result<RegisteredModelsPage> {
        registry::search_registered_models(self, query)
    }
    fn create_model_version(&self, new: &NewModelVersion) -> Result<ModelVersion> {
        registry::create_model_version(self, new)
    }
    fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion> {
        registry::get_model_version(self, name, version)
    }
    fn search_model_versions(&self, query: &SearchModels) -> Result<ModelVersionsPage> {
        registry::search_model_versions(self, query)
    }
    fn set_registered_model_alias(&self, name: &str, alias: &str, version: u64) -> Result<()> {
        registry::set_alias(self, name, alias, version)
    }
    fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        registry::delete_alias(self, name, alias)
    }
    fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        registry::get_by_alias(self, name, alias)
    }
    fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()> {
        registry::set_model_tag(self, name, tag)
    }
    fn set_model_version_tag(&self, name: &str, version: u64, tag: &Tag) -> Result<()> {
        registry::set_version_tag(self, name, version, tag)
    }
    fn delete_model_version(&self, name: &str, version: u64) -> Result<()> {
        registry::delete_model_version(self, name, version)
    }
    fn update_registered_model(&self, name: &str, description: &str) -> Result<RegisteredModel> {
        registry::update_model(self, name, description)
    }
    fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<ModelVersion> {
        registry::update_version(self, name, version, description)
    }
    fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        registry::delete_model_tag(self, name, key)
    }
    fn delete_model_version_tag(&self, name: &str, version: u64, key: &str) -> Result<()> {
        registry::delete_version_tag(self, name, version, key)
    }
}

fn set_run_name(tx: &Connection, path: &Path, run_id: &str, name: &str) -> Result<()> {
    tx.execute(
        "UPDATE runs SET name = ?1 WHERE run_uuid = ?2",
        params![name, run_id],
    )
    .ctx(path, "renaming a run")?;
    tx.execute(
        "INSERT OR REPLACE INTO tags (key, value, run_uuid) VALUES (?1, ?2, ?3)",
        params![git::RUN_NAME, name, run_id],
    )
    .ctx(path, "renaming a run")?;
    Ok(())
}

/// Inserts new params; a key already logged with another value is [`Error::ParamChanged`].
fn log_params(tx: &Connection, path: &Path, run_id: &str, params_in: &[Param]) -> Result<()> {
    if params_in.is_empty() {
        return Ok(());
    }
    let mut get = tx
        .prepare_cached("SELECT value FROM params WHERE run_uuid = ?1 AND key = ?2")
        .ctx(path, "logging params")?;
    let mut put = tx
        .prepare_cached("INSERT INTO params (key, value, run_uuid) VALUES (?1, ?2, ?3)")
        .ctx(path, "logging params")?;
    for p in params_in {
        let old: Option<String> = get
            .query_row(params![run_id, p.key], |r| r.get(0))
            .optional()
            .ctx(path, "logging params")?;
        match old {
            Some(old) if old == p.value => {}
            Some(old) => {
                return Err(Error::ParamChanged {
                    run_id: run_id.to_string(),
                    key: p.key.clone(),
                    old,
                    new: p.value.clone(),
                });
            }
            None => {
                put.execute(params![p.key, p.value, run_id])
                    .ctx(path, "logging params")?;
            }
        }
    }
    Ok(())
}

/// Inserts metric points (exact duplicates are ignored, as MLflow's primary key makes them) and
/// keeps `latest_metrics` the way MLflow does: per key, the point with the greatest
/// `(step, timestamp, value)`, replacing the stored one only when strictly greater.
fn log_metrics(tx: &Connection, path: &Path, run_id: &str, metrics: &[Metric]) -> Result<()> {
    if metrics.is_empty() {
        return Ok(());
    }
    let mut put = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .ctx(path, "logging metrics")?;
    // key -> (step, timestamp, stored value, is_nan)
    let mut newest: std::collections::BTreeMap<&str, (i64, i64, f64, bool)> =
        std::collections::BTreeMap::new();
    for m in metrics {
        let (is_nan, value) = validate::sanitize_metric(m.value);
        put.execute(params![m.key, value, m.timestamp, run_id, m.step, is_nan])
            .ctx(path, "logging metrics")?;
        let cand = (m.step, m.timestamp, value, is_nan);
        match newest.get_mut(m.key.as_str()) {
            Some(cur) if newer(&cand, cur) => *cur = cand,
            Some(_) => {}
            None => {
                newest.insert(&m.key, cand);
            }
        }
    }
    let mut get = tx
        .prepare_cached("SELECT step, timestamp, value, is_nan FROM latest_metrics WHERE run_uuid = ?1 AND key = ?2")
        .ctx(path, "updating latest metrics")?;
    let mut upsert = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .ctx(path, "updating latest metrics")?;
    for (key, cand) in newest {
        let cur: Option<(i64, i64, f64, bool)> = get
            .query_row(params![run_id, key], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    r.get(2)?,
                    r.get::<_, Option<bool>>(3)?.unwrap_or(false),
                ))
            })
            .optional()
            .ctx(path, "updating latest metrics")?;
        if cur.is_none_or(|c| newer(&cand, &c)) {
            upsert
                .execute(params![key, cand.2, cand.1, cand.0, cand.3, run_id])
                .ctx(path, "updating latest metrics")?;
        }
    }
    Ok(())
}

/// MLflow's `_compare_metrics`: `(step, timestamp, value)` strictly greater (values as stored,
/// so NaN compares as 0).
fn newer(a: &(i64, i64, f64, bool), b: &(i64, i64, f64, bool)) -> bool {
    (a.0, a.1)
        .cmp(&(b.0, b.1))
        .then(a.2.partial_cmp(&b.2).unwrap_or(std::cmp::Ordering::Equal))
        == std::cmp::Ordering::Greater
}

#[cfg(test)]
mod tests;
