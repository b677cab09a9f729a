//! Turns parsed MLflow filters and order_by clauses into SQL over MLflow's tables, with the same
//! semantics as MLflow's SQLAlchemy store: metric filters use `latest_metrics` and never match a
//! NaN except with `!=`; missing values sort last; ties break on `start_time DESC, run_uuid`.

use rusqlite::types::Value as SqlValue;

use crate::track::filter::{self, FilterError};
use crate::track::filter::{Clause, Comparator, Entity, OrderBy, Value};
use crate::track::{Error, Result, ViewType};

pub(super) fn push_stage_filter(sql: &mut String, column: &str, view: ViewType) {
    let stages: Vec<String> = view.stages().iter().map(|s| format!("'{s}'")).collect();
    sql.push_str(&format!(" AND {column} IN ({})", stages.join(",")));
}

fn sql_value(v: &Value) -> SqlValue {
    match v {
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => SqlValue::Integer(*n as i64),
        Value::Number(n) => SqlValue::Real(*n),
        Value::Str(s) => SqlValue::Text(s.clone()),
        Value::List(_) | Value::None => SqlValue::Null,
    }
}

/// `<column> <op> ?` for a scalar comparator (LIKE is case-sensitive: the connection sets
/// `case_sensitive_like` as MLflow does; ILIKE lowers both sides as SQLAlchemy does on SQLite).
pub(super) fn comparison(column: &str, c: &Clause, args: &mut Vec<SqlValue>) -> String {
    match (&c.comparator, &c.value) {
        (Comparator::ILike, v) => {
            args.push(sql_value(v));
            format!("lower({column}) LIKE lower(?)")
        }
        (Comparator::In | Comparator::NotIn, Value::List(items)) => {
            let marks = vec!["?"; items.len()].join(",");
            args.extend(items.iter().map(|s| SqlValue::Text(s.clone())));
            let not = if c.comparator == Comparator::NotIn {
                "NOT "
            } else {
                ""
            };
            format!("{column} {not}IN ({marks})")
        }
        (op, v) => {
            args.push(sql_value(v));
            format!("{column} {} ?", op.as_str())
        }
    }
}

/// A filter on a key/value child table (`params`, `tags`, `latest_metrics`, `experiment_tags`).
fn child_exists(
    table: &str,
    id_col: &str,
    outer: &str,
    c: &Clause,
    args: &mut Vec<SqlValue>,
) -> String {
    args.push(SqlValue::Text(c.key.clone()));
    let base = format!("SELECT 1 FROM {table} f WHERE f.{id_col} = {outer} AND f.key = ?");
    match c.comparator {
        Comparator::IsNull => format!("NOT EXISTS ({base})"),
        Comparator::IsNotNull => format!("EXISTS ({base})"),
        _ => {
            let cmp = comparison("f.value", c, args);
            let cmp = if table == "latest_metrics" {
                if c.comparator == Comparator::Ne {
                    format!("({cmp} OR f.is_nan = 1)")
                } else {
                    format!("{cmp} AND f.is_nan = 0")
                }
            } else {
                cmp
            };
            format!("EXISTS ({base} AND {cmp})")
        }
    }
}

/// A `datasets.name|digest|context` filter, as MLflow's SQLAlchemy store joins `datasets` to the
/// run through `inputs` (the context is the input's `mlflow.data.context` tag).
fn dataset_exists(c: &Clause, args: &mut Vec<SqlValue>) -> String {
    let base = "SELECT 1 FROM datasets d JOIN inputs i ON i.source_id = d.dataset_uuid";
    match c.key.as_str() {
        "context" => {
            let cmp = comparison("t.value", c, args);
            format!(
                "EXISTS ({base} JOIN input_tags t ON t.input_uuid = i.input_uuid \
                 AND t.name = 'mlflow.data.context' AND {cmp} WHERE i.destination_id = r.run_uuid)"
            )
        }
        "name" | "digest" => {
            let cmp = comparison(&format!("d.{}", c.key), c, args);
            format!("EXISTS ({base} WHERE i.destination_id = r.run_uuid AND {cmp})")
        }
        // the filter parser admits only the three keys above
        _ => "0".into(),
    }
}

/// Adds one experiment/registry clause: `name` on `name_col`, `tags.*` on `tag_table`.
pub(super) fn push_entity_clause(
    sql: &mut String,
    args: &mut Vec<SqlValue>,
    c: &Clause,
    name_col: &str,
    tag_table: &str,
    outer_id: &str,
    tag_id_col: &str,
) {
    let cond = match c.entity {
        Entity::Tag => child_exists(tag_table, tag_id_col, outer_id, c, args),
        _ => comparison(name_col, c, args),
    };
    sql.push_str(" AND ");
    sql.push_str(&cond);
}

fn run_column(key: &str) -> &'static str {
    match key {
        "run_id" => "r.run_uuid",
        "run_name" => "r.name",
        "user_id" => "r.user_id",
        "status" => "r.status",
        "artifact_uri" => "r.artifact_uri",
        "start_time" => "r.start_time",
        "end_time" => "r.end_time",
        _ => "r.experiment_id",
    }
}

/// The runs/search query: returns the `RunInfo` columns, and its positional arguments.
pub(super) fn runs_query(
    experiment_ids: &[i64],
    view: ViewType,
    clauses: &[Clause],
    order: &[OrderBy],
    limit: usize,
    offset: usize,
) -> (String, Vec<SqlValue>) {
    let mut join_args: Vec<SqlValue> = Vec::new();
    let mut where_args: Vec<SqlValue> = Vec::new();
    let mut joins = String::new();
    let mut order_sql: Vec<String> = Vec::new();
    for (i, o) in order.iter().enumerate() {
        let dir = if o.ascending { "" } else { " DESC" };
        let alias = format!("o{i}");
        let table = match o.entity {
            Entity::Metric => "latest_metrics",
            Entity::Param => "params",
            Entity::Tag => "tags",
            _ => {
                let col = run_column(&o.key);
                order_sql.push(format!("CASE WHEN {col} IS NULL THEN 1 ELSE 0 END"));
                order_sql.push(format!("{col}{dir}"));
                continue;
            }
        };
        joins.push_str(&format!(
            " LEFT JOIN {table} {alias} ON {alias}.run_uuid = r.run_uuid AND {alias}.key = ?"
        ));
        join_args.push(SqlValue::Text(o.key.clone()));
        if o.entity == Entity::Metric {
            order_sql.push(format!(
                "CASE WHEN {alias}.is_nan = 1 THEN 1 WHEN {alias}.value IS NULL THEN 2 ELSE 0 END"
            ));
        } else {
            order_sql.push(format!("CASE WHEN {alias}.value IS NULL THEN 1 ELSE 0 END"));
        }
        order_sql.push(format!("{alias}.value{dir}"));
    }
    if !order
        .iter()
        .any(|o| o.entity == Entity::Attribute && o.key == "start_time")
    {
        order_sql.push("r.start_time DESC".into());
    }
    order_sql.push("r.run_uuid".into());

    let mut sql = format!(
        "SELECT r.run_uuid, r.name, r.experiment_id, r.user_id, r.status, r.start_time, r.end_time, r.artifact_uri, \
         r.lifecycle_stage FROM runs r{joins} WHERE "
    );
    if experiment_ids.is_empty() {
        sql.push('0');
    } else {
        sql.push_str(&format!(
            "r.experiment_id IN ({})",
            vec!["?"; experiment_ids.len()].join(",")
        ));
        where_args.extend(experiment_ids.iter().map(|i| SqlValue::Integer(*i)));
    }
    push_stage_filter(&mut sql, "r.lifecycle_stage", view);
    for c in clauses {
        let cond = match c.entity {
            Entity::Metric => child_exists(
                "latest_metrics",
                "run_uuid",
                "r.run_uuid",
                c,
                &mut where_args,
            ),
            Entity::Param => child_exists("params", "run_uuid", "r.run_uuid", c, &mut where_args),
            Entity::Tag => child_exists("tags", "run_uuid", "r.run_uuid", c, &mut where_args),
            Entity::Dataset => dataset_exists(c, &mut where_args),
            _ if c.key == "run_name" => {
                // As MLflow: the run name is matched on the `mlflow.runName` tag.
                let tag = Clause {
                    entity: Entity::Tag,
                    key: "mlflow.runName".into(),
                    comparator: c.comparator,
                    value: c.value.clone(),
                };
                child_exists("tags", "run_uuid", "r.run_uuid", &tag, &mut where_args)
            }
            _ => comparison(run_column(&c.key), c, &mut where_args),
        };
        sql.push_str(" AND ");
        sql.push_str(&cond);
    }
    sql.push_str(" ORDER BY ");
    sql.push_str(&order_sql.join(", "));
    sql.push_str(" LIMIT ? OFFSET ?");
    where_args.push(SqlValue::Integer(limit as i64));
    where_args.push(SqlValue::Integer(offset as i64));
    join_args.extend(where_args);
    (sql, join_args)
}

/// MLflow's `search_experiments` rules over the shared filter grammar, as SQL conditions on
/// `experiments e`: `name` (= != LIKE ILIKE), `experiment_id` (= != IN NOT IN, quoted ids),
/// `creation_time` and `last_update_time` (compared with whole numbers), and `tags.<key>`
/// (= != LIKE ILIKE, IS NULL, IS NOT NULL).
pub(super) fn experiment_conditions(filter_text: &str, args: &mut Vec<SqlValue>) -> Result<String> {
    let err = |reason: String| {
        Error::Filter(FilterError::Syntax {
            filter: filter_text.to_string(),
            reason,
        })
    };
    let mut sql = String::new();
    for c in filter::parse_filter(filter_text)? {
        let cond = match (c.entity, c.key.as_str()) {
            (Entity::Tag, _) => {
                let ok = match c.comparator {
                    Comparator::IsNull | Comparator::IsNotNull => true,
                    Comparator::Eq | Comparator::Ne | Comparator::Like | Comparator::ILike => {
                        matches!(c.value, Value::Str(_))
                    }
                    _ => false,
                };
                if !ok {
                    return Err(err(format!(
                        "tag `{}` is compared with = != LIKE ILIKE and a quoted string, or IS NULL / IS NOT NULL",
                        c.key
                    )));
                }
                child_exists(
                    "experiment_tags",
                    "experiment_id",
                    "e.experiment_id",
                    &c,
                    args,
                )
            }
            (Entity::Attribute, "name") => {
                let ok = matches!(
                    c.comparator,
                    Comparator::Eq | Comparator::Ne | Comparator::Like | Comparator::ILike
                ) && matches!(c.value, Value::Str(_));
                if !ok {
                    return Err(err(
                        "`name` is compared with = != LIKE ILIKE and a quoted string".into(),
                    ));
                }
                comparison("e.name", &c, args)
            }
            (Entity::Attribute, "experiment_id") => {
                let id = |s: &str| {
                    s.trim()
                        .parse::<i64>()
                        .map_err(|_| err(format!("experiment ids are integers, `{s}` is not one")))
                };
                match (c.comparator, &c.value) {
                    (Comparator::Eq | Comparator::Ne, Value::Str(s)) => {
                        args.push(SqlValue::Integer(id(s)?));
                        format!("e.experiment_id {} ?", c.comparator.as_str())
                    }
                    (Comparator::In | Comparator::NotIn, Value::List(items)) => {
                        for s in items {
                            args.push(SqlValue::Integer(id(s)?));
                        }
                        format!(
                            "e.experiment_id {} ({})",
                            c.comparator.as_str(),
                            vec!["?"; items.len()].join(",")
                        )
                    }
                    _ => {
                        return Err(err(
                            "`experiment_id` is compared with = != and a quoted id, or IN / NOT IN and a list"
                                .into(),
                        ));
                    }
                }
            }
            (Entity::Attribute, key @ ("creation_time" | "last_update_time")) => {
                let numeric = matches!(
                    c.comparator,
                    Comparator::Eq
                        | Comparator::Ne
                        | Comparator::Lt
                        | Comparator::Le
                        | Comparator::Gt
                        | Comparator::Ge
                );
                let n = match &c.value {
                    Value::Number(n) if n.fract() == 0.0 => Some(*n as i64),
                    Value::Str(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                match (numeric, n) {
                    (true, Some(n)) => {
                        args.push(SqlValue::Integer(n));
                        format!("e.{key} {} ?", c.comparator.as_str())
                    }
                    _ => {
                        return Err(err(format!(
                            "`{key}` is compared with = != < <= > >= and whole milliseconds"
                        )));
                    }
                }
            }
            (Entity::Attribute, key) => {
                return Err(err(format!(
                    "invalid attribute `{key}`; experiments are searched by name, experiment_id, \
                     creation_time, last_update_time and tags.<key>"
                )));
            }
            _ => {
                return Err(err(
                    "experiments are searched by attributes and tags.<key> only".into(),
                ));
            }
        };
        sql.push_str(" AND ");
        sql.push_str(&cond);
    }
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset_clause(key: &str, comparator: Comparator, value: Value) -> Clause {
        Clause {
            entity: Entity::Dataset,
            key: key.into(),
            comparator,
            value,
        }
    }

    #[test]
    fn dataset_filters_join_inputs_as_mlflow_does() {
        let mut args = Vec::new();
        let name = dataset_exists(
            &dataset_clause("name", Comparator::Eq, Value::Str("wine".into())),
            &mut args,
        );
        assert!(name.contains("i.source_id = d.dataset_uuid"), "{name}");
        assert!(name.contains("d.name = ?"), "{name}");
        let context = dataset_exists(
            &dataset_clause(
                "context",
                Comparator::In,
                Value::List(vec!["training".into(), "eval".into()]),
            ),
            &mut args,
        );
        assert!(
            context.contains("t.name = 'mlflow.data.context'"),
            "{context}"
        );
        assert!(context.contains("t.value IN (?,?)"), "{context}");
        assert_eq!(args.len(), 3);
    }
}
