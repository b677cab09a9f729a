//! Permanent deletion for `vintner gc --tracking`, as MLflow's `_hard_delete_run` and
//! `_hard_delete_experiment` do it: a run with its metrics, params and tags; an experiment with
//! everything that belongs to it (runs, tags, logged models, traces, datasets, rollups). Rows that
//! point at a deleted row without `ON DELETE CASCADE` are removed first, found from the schema's
//! own foreign keys, so this keeps working as MLflow adds tables.

use rusqlite::Connection;

use super::{Ctx, SqliteStore};
use crate::track::{Result, now_ms};

/// Tables MLflow clears by experiment id although they have no foreign key to `experiments`.
const EXPERIMENT_ROLLUPS: &[&str] = &[
    "sql_trace_rollup_rebuild_queue",
    "sql_trace_metric_daily_rollups",
    "sql_span_cost_daily_rollups",
    "sql_assessment_daily_rollups",
];

/// How deep foreign keys are followed (MLflow's schema needs 3).
const MAX_DEPTH: usize = 8;

/// One foreign key: `child(from…)` references `parent(to…)`.
struct ForeignKey {
    child: String,
    from: Vec<String>,
    to: Vec<String>,
    on_delete: String,
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn foreign_keys_to(tx: &Connection, parent: &str) -> rusqlite::Result<Vec<ForeignKey>> {
    let tables: Vec<String> = tx
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out: Vec<ForeignKey> = Vec::new();
    for child in tables {
        let mut stmt = tx.prepare(&format!("PRAGMA foreign_key_list({})", quote(&child)))?;
        let rows: Vec<(i64, String, String, Option<String>, String)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(6)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut by_id: Vec<(i64, ForeignKey)> = Vec::new();
        for (id, table, from, to, on_delete) in rows {
            if !table.eq_ignore_ascii_case(parent) {
                continue;
            }
            let to = to.unwrap_or_else(|| from.clone());
            match by_id.iter_mut().find(|(i, _)| *i == id) {
                Some((_, fk)) => {
                    fk.from.push(from);
                    fk.to.push(to);
                }
                None => by_id.push((
                    id,
                    ForeignKey {
                        child: child.clone(),
                        from: vec![from],
                        to: vec![to],
                        on_delete,
                    },
                )),
            }
        }
        out.extend(by_id.into_iter().map(|(_, fk)| fk));
    }
    Ok(out)
}

/// Deletes the rows of `table` matching `cond` (SQL over its columns, with `?1` bound to `arg`),
/// after the rows of other tables that reference them (except `SET NULL` references, which
/// SQLite itself clears).
fn delete_cascading(
    tx: &Connection,
    table: &str,
    cond: &str,
    arg: &str,
    depth: usize,
) -> rusqlite::Result<usize> {
    if depth < MAX_DEPTH {
        for fk in foreign_keys_to(tx, table)? {
            if fk.on_delete.eq_ignore_ascii_case("SET NULL")
                || fk.on_delete.eq_ignore_ascii_case("SET DEFAULT")
                || fk.child.eq_ignore_ascii_case(table)
            {
                continue;
            }
            let cols = |c: &[String]| c.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
            let child_cond = format!(
                "({}) IN (SELECT {} FROM {} WHERE {cond})",
                cols(&fk.from),
                cols(&fk.to),
                quote(table)
            );
            delete_cascading(tx, &fk.child, &child_cond, arg, depth + 1)?;
        }
    }
    tx.execute(&format!("DELETE FROM {} WHERE {cond}", quote(table)), [arg])
}

fn table_exists(tx: &Connection, table: &str) -> rusqlite::Result<bool> {
    tx.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

impl SqliteStore {
    /// The ids of deleted runs deleted at least `older_than_ms` ago (MLflow's
    /// `_get_deleted_runs`: a run without a deletion time never qualifies).
    pub fn deleted_run_ids(&self, older_than_ms: i64) -> Result<Vec<String>> {
        const ACTION: &str = "finding deleted runs";
        let threshold = now_ms() - older_than_ms;
        self.read(ACTION, |tx| {
            tx.prepare(
                "SELECT run_uuid FROM runs WHERE lifecycle_stage = 'deleted' AND deleted_time <= ?1 \
                 ORDER BY run_uuid",
            )
            .ctx(&self.path, ACTION)?
            .query_map([threshold], |r| r.get(0))
            .ctx(&self.path, ACTION)?
            .collect::<rusqlite::Result<_>>()
            .ctx(&self.path, ACTION)
        })
    }

    /// Permanently deletes a run and its metrics, params and tags.
    pub fn hard_delete_run(&self, run_id: &str) -> Result<()> {
        const ACTION: &str = "permanently deleting a run";
        self.write(ACTION, |tx| {
            self.run_info(tx, run_id)?;
            delete_cascading(tx, "runs", "run_uuid = ?1", run_id, 0).ctx(&self.path, ACTION)?;
            Ok(())
        })
    }

    /// Permanently deletes an experiment with everything that belongs to it.
    pub fn hard_delete_experiment(&self, experiment_id: &str) -> Result<()> {
        const ACTION: &str = "permanently deleting an experiment";
        let id = super::parse_experiment_id(experiment_id)?.to_string();
        self.write(ACTION, |tx| {
            for table in EXPERIMENT_ROLLUPS {
                if table_exists(tx, table).ctx(&self.path, ACTION)? {
                    tx.execute(
                        &format!("DELETE FROM {} WHERE experiment_id = ?1", quote(table)),
                        [&id],
                    )
                    .ctx(&self.path, ACTION)?;
                }
            }
            let n = delete_cascading(tx, "experiments", "experiment_id = ?1", &id, 0)
                .ctx(&self.path, ACTION)?;
            if n == 0 {
                return Err(crate::track::Error::not_found("experiment", experiment_id));
            }
            Ok(())
        })
    }
}
