//! In-crate tests of the embedded store: MLflow's semantics without MLflow (the compatibility
//! tests that run the real MLflow are in tests/it/track.rs).

use super::*;
use crate::track::{Alias, SearchRuns, ViewType};

struct Tmp(PathBuf);
impl Drop for Tmp {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn store() -> (Tmp, SqliteStore) {
    let dir = std::env::temp_dir().join(format!("vintner-sqlite-{}", validate::new_run_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = SqliteStore::open(&dir.join("mlflow.db")).unwrap();
    (Tmp(dir), s)
}

fn run_in(s: &SqliteStore, exp: &str, name: &str) -> Run {
    let e = s.get_or_create_experiment(exp).unwrap();
    s.create_run(&NewRun {
        experiment_id: e.experiment_id,
        run_name: Some(name.into()),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn new_db_has_mlflow_schema_revision_and_default_experiment() {
    let (_t, s) = store();
    let conn = s.lock();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type='table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 65);
    let rev: String = conn
        .query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rev, HEAD_REVISION);
    drop(conn);
    let d = s.get_experiment("0").unwrap();
    assert_eq!(d.name, "Default");
    assert!(
        d.artifact_location.ends_with("/mlruns/0"),
        "{}",
        d.artifact_location
    );
    // reopening is idempotent
    let again = SqliteStore::open(s.path()).unwrap();
    assert_eq!(
        again
            .search_experiments(&Default::default())
            .unwrap()
            .experiments
            .len(),
        1
    );
}

#[test]
fn experiments_get_sequential_ids_and_artifact_locations() {
    let (_t, s) = store();
    let e = s
        .create_experiment("wine", None, &[Tag::new("team", "ml")])
        .unwrap();
    assert_eq!(e.experiment_id, "1");
    assert!(e.artifact_location.ends_with("/mlruns/1"));
    assert_eq!(e.tags, vec![Tag::new("team", "ml")]);
    assert!(matches!(
        s.create_experiment("wine", None, &[]),
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(
        s.get_or_create_experiment("wine").unwrap().experiment_id,
        "1"
    );
    assert_eq!(
        s.get_or_create_experiment("beer").unwrap().experiment_id,
        "2"
    );
    assert!(s.get_experiment_by_name("nope").unwrap().is_none());
    let page = s
        .search_experiments(&SearchExperiments {
            filter: Some("name LIKE 'w%'".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.experiments.len(), 1);
}

#[test]
fn runs_get_generated_names_tags_and_artifact_uri() {
    let (_t, s) = store();
    let r = s
        .create_run(&NewRun {
            experiment_id: "0".into(),
            tags: vec![Tag::new("mlflow.user", "alice")],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.info.run_id.len(), 32);
    assert_eq!(r.info.run_name.split('-').count(), 3, "{}", r.info.run_name);
    assert_eq!(r.data.tag("mlflow.runName"), Some(r.info.run_name.as_str()));
    assert_eq!(r.info.user_id, "alice");
    assert_eq!(r.info.status, RunStatus::Running);
    assert!(
        r.info
            .artifact_uri
            .ends_with(&format!("/mlruns/0/{}/artifacts", r.info.run_id))
    );
    // a name given twice must agree
    assert!(
        s.create_run(&NewRun {
            experiment_id: "0".into(),
            run_name: Some("a".into()),
            tags: vec![Tag::new("mlflow.runName", "b")],
            ..Default::default()
        })
        .is_err()
    );
    let info = s
        .update_run(
            &r.info.run_id,
            &RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(42),
                run_name: Some("renamed".into()),
            },
        )
        .unwrap();
    assert_eq!(
        (info.status, info.end_time, info.run_name.as_str()),
        (RunStatus::Finished, Some(42), "renamed")
    );
    assert_eq!(
        s.get_run(&r.info.run_id)
            .unwrap()
            .data
            .tag("mlflow.runName"),
        Some("renamed")
    );
}

#[test]
fn params_are_immutable() {
    let (_t, s) = store();
    let r = run_in(&s, "e", "r");
    let id = &r.info.run_id;
    s.log_batch(id, &[], &[Param::new("lr", "0.01")], &[])
        .unwrap();
    // same value again is fine
    s.log_batch(id, &[], &[Param::new("lr", "0.01")], &[])
        .unwrap();
    let e = s
        .log_batch(id, &[], &[Param::new("lr", "0.02")], &[])
        .unwrap_err();
    match &e {
        Error::ParamChanged { key, old, new, .. } => {
            assert_eq!(
                (key.as_str(), old.as_str(), new.as_str()),
                ("lr", "0.01", "0.02")
            )
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("immutable") && e.hint().is_some());
    // the failed batch wrote nothing (one transaction)
    let bad = s.log_batch(
        id,
        &[Metric::new("m", 1.0, 1, 0)],
        &[Param::new("alpha", "1"), Param::new("lr", "9")],
        &[],
    );
    assert!(bad.is_err());
    let run = s.get_run(id).unwrap();
    assert_eq!(run.data.params, vec![Param::new("lr", "0.01")]);
    assert!(run.data.metrics.is_empty());
    // two values for one key in one batch
    assert!(
        s.log_batch(id, &[], &[Param::new("x", "1"), Param::new("x", "2")], &[])
            .is_err()
    );
    // long values are truncated like MLflow does
    s.log_batch(id, &[], &[Param::new("long", "x".repeat(7000))], &[])
        .unwrap();
    assert_eq!(
        s.get_run(id).unwrap().data.param("long").map(str::len),
        Some(6000)
    );
}

#[test]
fn nan_and_inf_are_stored_like_mlflow() {
    let (_t, s) = store();
    let r = run_in(&s, "e", "r");
    let id = &r.info.run_id;
    s.log_batch(
        id,
        &[
            Metric::new("n", f64::NAN, 1, 0),
            Metric::new("p", f64::INFINITY, 1, 0),
            Metric::new("m", f64::NEG_INFINITY, 1, 0),
        ],
        &[],
        &[],
    )
    .unwrap();
    let rows: Vec<(String, f64, bool)> = s
        .lock()
        .prepare("SELECT key, value, is_nan FROM metrics ORDER BY key")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        rows,
        vec![
            ("m".into(), -1.7976931348623157e308, false),
            ("n".into(), 0.0, true),
            ("p".into(), 1.7976931348623157e308, false)
        ]
    );
    let run = s.get_run(id).unwrap();
    assert!(run.data.metric("n").unwrap().value.is_nan());
    assert_eq!(run.data.metric("p").unwrap().value, f64::MAX);
    assert!(s.get_metric_history(id, "n").unwrap()[0].value.is_nan());
}

#[test]
fn latest_metrics_follow_mlflow_ordering() {
    let (_t, s) = store();
    let r = run_in(&s, "e", "r");
    let id = &r.info.run_id;
    let latest = |k: &str| s.get_run(id).unwrap().data.metric(k).cloned().unwrap();
    // higher step wins even with an older timestamp
    s.log_batch(
        id,
        &[Metric::new("a", 1.0, 100, 5), Metric::new("a", 2.0, 50, 6)],
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(latest("a"), Metric::new("a", 2.0, 50, 6));
    // a lower step later does not replace it
    s.log_batch(id, &[Metric::new("a", 3.0, 999, 1)], &[], &[])
        .unwrap();
    assert_eq!(latest("a").value, 2.0);
    // same step: newer timestamp wins; same step and timestamp: larger value wins
    s.log_batch(id, &[Metric::new("a", 0.5, 60, 6)], &[], &[])
        .unwrap();
    assert_eq!(latest("a"), Metric::new("a", 0.5, 60, 6));
    s.log_batch(
        id,
        &[Metric::new("a", 0.7, 60, 6), Metric::new("a", 0.6, 60, 6)],
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(latest("a").value, 0.7);
    // NaN compares as its stored 0: it does not replace 0.7 at the same (step, timestamp)
    s.log_batch(id, &[Metric::new("a", f64::NAN, 60, 6)], &[], &[])
        .unwrap();
    assert_eq!(latest("a").value, 0.7);
    // but a NaN at a later step becomes the latest
    s.log_batch(id, &[Metric::new("a", f64::NAN, 60, 7)], &[], &[])
        .unwrap();
    assert!(latest("a").value.is_nan());
    // exact duplicates are stored once; history is ordered by timestamp, step, value
    s.log_batch(
        id,
        &[Metric::new("b", 1.0, 1, 0), Metric::new("b", 1.0, 1, 0)],
        &[],
        &[],
    )
    .unwrap();
    s.log_batch(id, &[Metric::new("b", 1.0, 1, 0)], &[], &[])
        .unwrap();
    assert_eq!(s.get_metric_history(id, "b").unwrap().len(), 1);
    assert_eq!(s.get_metric_history(id, "a").unwrap().len(), 8);
}

#[test]
fn deleted_runs_refuse_writes_and_leave_searches() {
    let (_t, s) = store();
    let r = run_in(&s, "e", "r");
    s.delete_run(&r.info.run_id).unwrap();
    assert!(matches!(
        s.log_batch(&r.info.run_id, &[Metric::new("a", 1.0, 1, 0)], &[], &[]),
        Err(Error::RunNotActive { .. })
    ));
    let q = SearchRuns {
        experiment_ids: vec![r.info.experiment_id.clone()],
        ..Default::default()
    };
    assert!(s.search_runs(&q).unwrap().runs.is_empty());
    let all = s
        .search_runs(&SearchRuns {
            view: ViewType::All,
            ..q
        })
        .unwrap();
    assert_eq!(all.runs.len(), 1);
    assert!(matches!(s.get_run("0123"), Err(Error::NotFound { .. })));
}

fn seed(s: &SqliteStore) -> String {
    let e = s.create_experiment("search", None, &[]).unwrap();
    for (i, (lr, rmse)) in [
        ("0.01", 0.5),
        ("0.01", 0.8),
        ("0.1", 0.3),
        ("0.1", f64::NAN),
    ]
    .iter()
    .enumerate()
    {
        let r = s
            .create_run(&NewRun {
                experiment_id: e.experiment_id.clone(),
                run_name: Some(format!("r-{i}")),
                start_time: Some(1000 + i as i64),
                ..Default::default()
            })
            .unwrap();
        s.log_batch(
            &r.info.run_id,
            &[Metric::new("rmse", *rmse, 1, 0)],
            &[Param::new("lr", *lr)],
            &[Tag::new("stage", if i % 2 == 0 { "Dev" } else { "prod" })],
        )
        .unwrap();
    }
    // a run without metrics or params
    s.create_run(&NewRun {
        experiment_id: e.experiment_id.clone(),
        run_name: Some("empty".into()),
        start_time: Some(999),
        ..Default::default()
    })
    .unwrap();
    e.experiment_id
}

fn names(s: &SqliteStore, exp: &str, filter: &str, order: &[&str]) -> Vec<String> {
    s.search_runs(&SearchRuns {
        experiment_ids: vec![exp.into()],
        filter: Some(filter.into()),
        order_by: order.iter().map(|o| o.to_string()).collect(),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{filter}: {e}"))
    .runs
    .into_iter()
    .map(|r| r.info.run_name)
    .collect()
}

#[test]
fn search_runs_filters_like_mlflow() {
    let (_t, s) = store();
    let e = seed(&s);
    assert_eq!(
        names(&s, &e, "metrics.rmse < 1 and params.lr = '0.01'", &[]),
        ["r-1", "r-0"]
    );
    assert_eq!(
        names(&s, &e, "metrics.rmse > 0", &["metrics.rmse ASC"]),
        ["r-2", "r-0", "r-1"]
    );
    // NaN never matches a comparison but always matches !=
    assert_eq!(
        names(&s, &e, "metrics.rmse != 0.5", &["attributes.run_name"]),
        ["r-1", "r-2", "r-3"]
    );
    assert_eq!(names(&s, &e, "metrics.rmse = 0", &[]), Vec::<String>::new());
    assert_eq!(
        names(
            &s,
            &e,
            "attributes.run_name LIKE 'r-%' and tags.mlflow.runName != 'r-0'",
            &["start_time ASC"]
        ),
        ["r-1", "r-2", "r-3"]
    );
    // LIKE is case-sensitive, ILIKE is not
    assert_eq!(
        names(&s, &e, "tags.stage LIKE 'dev'", &[]),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&s, &e, "tags.stage ILIKE 'dev'", &["start_time"]),
        ["r-0", "r-2"]
    );
    assert_eq!(names(&s, &e, "params.lr IS NULL", &[]), ["empty"]);
    assert_eq!(
        names(
            &s,
            &e,
            "params.lr IS NOT NULL and params.lr != '0.1'",
            &["start_time"]
        ),
        ["r-0", "r-1"]
    );
    assert_eq!(
        names(&s, &e, "attributes.start_time >= 1002", &[]),
        ["r-3", "r-2"]
    );
    assert_eq!(
        names(
            &s,
            &e,
            "attributes.status = 'RUNNING' and run_name ILIKE 'E%'",
            &[]
        ),
        ["empty"]
    );
    let first = s
        .search_runs(&SearchRuns {
            experiment_ids: vec![e.clone()],
            ..Default::default()
        })
        .unwrap()
        .runs;
    let id = first[0].info.run_id.clone();
    assert_eq!(
        names(&s, &e, &format!("attributes.run_id IN ('{id}', 'x')"), &[]).len(),
        1
    );
    assert!(matches!(
        s.search_runs(&SearchRuns {
            experiment_ids: vec![e],
            filter: Some("metrics.rmse <<< 1".into()),
            ..Default::default()
        }),
        Err(Error::Filter(_))
    ));
}

#[test]
fn search_runs_orders_nan_and_missing_last_and_pages() {
    let (_t, s) = store();
    let e = seed(&s);
    assert_eq!(
        names(&s, &e, "", &["metrics.rmse ASC"]),
        ["r-2", "r-0", "r-1", "r-3", "empty"]
    );
    assert_eq!(
        names(&s, &e, "", &["metrics.rmse DESC"]),
        ["r-1", "r-0", "r-2", "r-3", "empty"]
    );
    // default order: start_time DESC
    assert_eq!(
        names(&s, &e, "", &[]),
        ["r-3", "r-2", "r-1", "r-0", "empty"]
    );
    assert_eq!(
        names(&s, &e, "", &["params.lr DESC", "start_time ASC"]),
        ["r-2", "r-3", "r-0", "r-1", "empty"]
    );
    let mut token = None;
    let mut seen = Vec::new();
    loop {
        let page = s
            .search_runs(&SearchRuns {
                experiment_ids: vec![e.clone()],
                max_results: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .unwrap();
        seen.extend(page.runs.into_iter().map(|r| r.info.run_name));
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["r-3", "r-2", "r-1", "r-0", "empty"]);
}

#[test]
fn registry_versions_aliases_and_tags() {
    let (_t, s) = store();
    let r = run_in(&s, "e", "r");
    let m = s
        .create_registered_model("wine", &[Tag::new("task", "regression")], Some("d"))
        .unwrap();
    assert_eq!(m.tags, vec![Tag::new("task", "regression")]);
    assert!(matches!(
        s.create_registered_model("wine", &[], None),
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(
        s.get_or_create_registered_model("wine").unwrap().name,
        "wine"
    );
    let new = |src: &str| NewModelVersion {
        name: "wine".into(),
        source: src.into(),
        run_id: Some(r.info.run_id.clone()),
        tags: vec![Tag::new("validated", "true")],
        description: None,
    };
    let v1 = s.create_model_version(&new("a/model")).unwrap();
    let v2 = s.create_model_version(&new("b/model")).unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(
        (v1.status.as_str(), v1.current_stage.as_str()),
        ("READY", "None")
    );
    s.set_registered_model_alias("wine", "champion", 1).unwrap();
    assert_eq!(
        s.get_model_version_by_alias("wine", "champion")
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        s.get_model_version_by_alias("wine", "latest")
            .unwrap()
            .version,
        2
    );
    s.set_registered_model_alias("wine", "champion", 2).unwrap();
    let got = s.get_model_version("wine", 2).unwrap();
    assert_eq!(got.aliases, vec!["champion".to_string()]);
    assert_eq!(
        s.get_registered_model("wine").unwrap().aliases,
        vec![Alias {
            alias: "champion".into(),
            version: 2
        }]
    );
    assert!(s.set_registered_model_alias("wine", "x", 9).is_err());
    assert!(s.set_registered_model_alias("wine", "latest", 1).is_err());
    s.delete_registered_model_alias("wine", "champion").unwrap();
    assert!(matches!(
        s.get_model_version_by_alias("wine", "champion"),
        Err(Error::NotFound { .. })
    ));
    s.set_model_version_tag("wine", 1, &Tag::new("k", "v"))
        .unwrap();
    s.set_registered_model_tag("wine", &Tag::new("owner", "me"))
        .unwrap();
    let found = s
        .search_model_versions(&SearchModels {
            filter: Some(format!("run_id = '{}'", r.info.run_id)),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        found
            .model_versions
            .iter()
            .map(|v| v.version)
            .collect::<Vec<_>>(),
        vec![2, 1]
    );
    let found = s
        .search_model_versions(&SearchModels {
            filter: Some("name = 'wine' and tags.k = 'v'".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.model_versions.len(), 1);
    let models = s
        .search_registered_models(&SearchModels {
            filter: Some("name LIKE 'wi%'".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(models.registered_models.len(), 1);
    assert!(matches!(
        s.get_registered_model("nope"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn artifacts_are_copied_under_the_run() {
    let (t, s) = store();
    let r = run_in(&s, "e", "r");
    let f = t.0.join("notes.txt");
    std::fs::write(&f, "hello").unwrap();
    s.log_artifact(&r.info.run_id, &f, Some("docs")).unwrap();
    let root = s.list_artifacts(&r.info.run_id, None).unwrap();
    assert_eq!(
        root,
        vec![FileInfo {
            path: "docs".into(),
            is_dir: true,
            file_size: None
        }]
    );
    let docs = s.list_artifacts(&r.info.run_id, Some("docs")).unwrap();
    assert_eq!(
        docs,
        vec![FileInfo {
            path: "docs/notes.txt".into(),
            is_dir: false,
            file_size: Some(5)
        }]
    );
    let on_disk = t.0.join(format!(
        "mlruns/1/{}/artifacts/docs/notes.txt",
        r.info.run_id
    ));
    assert_eq!(std::fs::read_to_string(on_disk).unwrap(), "hello");
    assert!(s.log_artifact(&r.info.run_id, &f, Some("../x")).is_err());
}

#[test]
fn concurrent_writers_wait_instead_of_failing() {
    let (t, s) = store();
    let r = run_in(&s, "e", "r");
    let path = t.0.join("mlflow.db");
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let path = path.clone();
            let id = r.info.run_id.clone();
            std::thread::spawn(move || {
                // each thread its own connection, like separate processes
                let s = SqliteStore::open(&path).unwrap();
                for i in 0..50 {
                    let m: Vec<Metric> = (0..20)
                        .map(|j| Metric::new(format!("w{w}"), j as f64, i, j))
                        .collect();
                    s.log_batch(&id, &m, &[Param::new(format!("p{w}-{i}"), "1")], &[])
                        .unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let run = s.get_run(&r.info.run_id).unwrap();
    assert_eq!(run.data.params.len(), 200);
    assert_eq!(
        s.get_metric_history(&r.info.run_id, "w3").unwrap().len(),
        1000
    );
}

#[test]
fn revisions_are_checked() {
    let (t, s) = store();
    let path = s.path().to_path_buf();
    drop(s);
    let set = |rev: &str| {
        let c = Connection::open(&path).unwrap();
        c.execute("UPDATE alembic_version SET version_num = ?1", [rev])
            .unwrap();
    };
    set("75868b020152");
    let e = SqliteStore::open(&path)
        .err()
        .expect("old revision accepted");
    assert!(matches!(e, Error::SchemaTooOld { .. }), "{e}");
    assert!(e.hint().unwrap().contains("mlflow db upgrade"));
    // as MLflow: an unknown (newer) revision, two heads and an empty table are refused
    set("ffffffffffff");
    let e = SqliteStore::open(&path)
        .err()
        .expect("unknown revision accepted");
    assert!(matches!(e, Error::SchemaRevision { .. }), "{e}");
    assert!(e.to_string().contains("ffffffffffff"), "{e}");
    let c = Connection::open(&path).unwrap();
    c.execute_batch(&format!(
        "DELETE FROM alembic_version; INSERT INTO alembic_version VALUES ('{HEAD_REVISION}'), ('ffffffffffff');"
    ))
    .unwrap();
    let e = SqliteStore::open(&path).err().expect("two heads accepted");
    assert!(e.to_string().contains("2 heads"), "{e}");
    c.execute_batch("DELETE FROM alembic_version;").unwrap();
    let e = SqliteStore::open(&path)
        .err()
        .expect("no revision accepted");
    assert!(
        e.to_string().contains("alembic_version table is empty"),
        "{e}"
    );
    assert!(!matches!(e, Error::NotMlflowDb { .. }), "{e}");
    drop(c);
    // a SQLite file that is not MLflow's
    let other = t.0.join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE x (a INTEGER);")
        .unwrap();
    assert!(matches!(
        SqliteStore::open(&other),
        Err(Error::NotMlflowDb { .. })
    ));
}

#[test]
fn soft_deleted_versions_are_hidden_keep_their_number_and_refuse_aliases() {
    let (_t, s) = store();
    let run = run_in(&s, "e", "r");
    s.create_registered_model("wine", &[], None).unwrap();
    for _ in 0..3 {
        s.create_model_version(&NewModelVersion {
            name: "wine".into(),
            source: "s3://b/m".into(),
            run_id: Some(run.info.run_id.clone()),
            ..Default::default()
        })
        .unwrap();
    }
    s.set_registered_model_alias("wine", "champion", 3).unwrap();
    s.set_model_version_tag("wine", 3, &Tag::new("k", "v"))
        .unwrap();
    s.delete_model_version("wine", 3).unwrap();

    let listed = s.search_model_versions(&SearchModels::default()).unwrap();
    let numbers: Vec<u64> = listed.model_versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [2, 1]);
    assert!(matches!(
        s.get_model_version("wine", 3),
        Err(Error::NotFound { .. })
    ));
    assert!(s.get_registered_model("wine").unwrap().aliases.is_empty());
    assert!(s.set_registered_model_alias("wine", "back", 3).is_err());
    assert!(
        s.set_model_version_tag("wine", 3, &Tag::new("k", "w"))
            .is_err()
    );
    assert!(s.delete_model_version("wine", 3).is_err());
    assert_eq!(
        s.get_model_version_by_alias("wine", "latest")
            .unwrap()
            .version,
        2
    );
    // the row stays, redacted, with its tags, as MLflow's SQL store leaves it
    let (stage, source, run_id): (String, String, String) = s
        .lock()
        .query_row(
            "SELECT current_stage, source, run_id FROM model_versions WHERE name = 'wine' AND version = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (stage.as_str(), source.as_str(), run_id.as_str()),
        (
            "Deleted_Internal",
            "REDACTED-SOURCE-PATH",
            "REDACTED-RUN-ID"
        )
    );
    // and its number is never reused
    let next = s
        .create_model_version(&NewModelVersion {
            name: "wine".into(),
            source: "s3://b/m".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(next.version, 4);
}

#[test]
fn deleting_an_experiment_deletes_its_runs_and_restoring_brings_all_back() {
    let (_t, s) = store();
    let a = run_in(&s, "e", "a");
    let b = run_in(&s, "e", "b");
    let id = a.info.experiment_id.clone();
    s.delete_run(&b.info.run_id).unwrap();
    s.delete_experiment(&id).unwrap();
    assert_eq!(
        s.get_run(&a.info.run_id).unwrap().info.lifecycle_stage,
        "deleted"
    );
    assert!(s.delete_experiment(&id).is_err());
    assert!(s.rename_experiment(&id, "f").is_err());
    assert!(s.set_experiment_tag(&id, &Tag::new("k", "v")).is_err());
    s.restore_experiment(&id).unwrap();
    for r in [&a, &b] {
        assert_eq!(
            s.get_run(&r.info.run_id).unwrap().info.lifecycle_stage,
            "active"
        );
    }
    assert!(s.restore_experiment(&id).is_err());
    s.get_or_create_experiment("taken").unwrap();
    assert!(matches!(
        s.rename_experiment(&id, "taken"),
        Err(Error::AlreadyExists { .. })
    ));
    s.rename_experiment(&id, "renamed").unwrap();
    assert_eq!(s.get_experiment(&id).unwrap().name, "renamed");
}

#[test]
fn dataset_inputs_are_read_and_filtered_as_mlflow_stores_them() {
    use crate::track::filter::{Clause, Comparator, Entity, Value};
    let (_t, s) = store();
    let a = run_in(&s, "ds", "a");
    let b = run_in(&s, "ds", "b");
    let exp: i64 = a.info.experiment_id.parse().unwrap();
    s.lock()
        .execute_batch(&format!(
            "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, \
             dataset_source) VALUES ('d1', {exp}, 'wine', 'abc', 'local', '{{\"uri\": \"w.csv\"}}');
             INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) \
             VALUES ('i1', 'DATASET', 'd1', 'RUN', '{}');
             INSERT INTO input_tags (input_uuid, name, value) \
             VALUES ('i1', 'mlflow.data.context', 'training');",
            a.info.run_id
        ))
        .unwrap();
    let inputs = s.get_run_inputs(&a.info.run_id).unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].dataset.name, "wine");
    assert_eq!(inputs[0].context(), Some("training"));
    assert!(s.get_run_inputs(&b.info.run_id).unwrap().is_empty());
    assert!(matches!(
        s.get_run_inputs("nope"),
        Err(Error::NotFound { .. })
    ));

    let clause = |key: &str, comparator, value: &str| Clause {
        entity: Entity::Dataset,
        key: key.into(),
        comparator,
        value: Value::Str(value.into()),
    };
    for (c, expected) in [
        (clause("name", Comparator::Eq, "wine"), vec![&a]),
        (clause("context", Comparator::Eq, "training"), vec![&a]),
        (clause("context", Comparator::Like, "train%"), vec![&a]),
        (clause("digest", Comparator::Ne, "abc"), vec![]),
        (clause("name", Comparator::Eq, "other"), vec![]),
    ] {
        let (sql, args) = search::runs_query(
            &[exp],
            ViewType::ActiveOnly,
            std::slice::from_ref(&c),
            &[],
            100,
            0,
        );
        let conn = s.lock();
        let got: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map(rusqlite::params_from_iter(args), |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let want: Vec<String> = expected.iter().map(|r| r.info.run_id.clone()).collect();
        assert_eq!(got, want, "{c:?}");
    }
}

#[test]
fn hard_deletes_remove_a_run_or_an_experiment_with_everything_under_it() {
    let (_t, s) = store();
    let keep = run_in(&s, "keep", "k");
    let gone = run_in(&s, "gone", "g");
    for r in [&keep, &gone] {
        s.log_batch(
            &r.info.run_id,
            &[Metric {
                key: "m".into(),
                value: 1.0,
                timestamp: 1,
                step: 0,
            }],
            &[Param::new("p", "1")],
            &[Tag::new("t", "1")],
        )
        .unwrap();
    }
    let count = |table: &str, run: &str| -> i64 {
        s.lock()
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE run_uuid = ?1"),
                [run],
                |r| r.get(0),
            )
            .unwrap()
    };
    s.hard_delete_run(&keep.info.run_id).unwrap();
    assert!(matches!(
        s.get_run(&keep.info.run_id),
        Err(Error::NotFound { .. })
    ));
    for table in ["metrics", "latest_metrics", "params", "tags"] {
        assert_eq!(count(table, &keep.info.run_id), 0, "{table}");
        assert!(count(table, &gone.info.run_id) > 0, "{table}");
    }
    s.hard_delete_experiment(&gone.info.experiment_id).unwrap();
    assert!(matches!(
        s.get_run(&gone.info.run_id),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        s.get_experiment(&gone.info.experiment_id),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(count("tags", &gone.info.run_id), 0);
    assert!(s.get_experiment(&keep.info.experiment_id).is_ok());
}

#[test]
fn log_inputs_keeps_a_dataset_once_per_experiment_and_an_input_once_per_run() {
    use crate::track::{Dataset, DatasetInput};
    let (_t, s) = store();
    let a = run_in(&s, "ds", "a");
    let b = run_in(&s, "ds", "b");
    let input = |digest: &str| DatasetInput {
        dataset: Dataset {
            name: "data/wine.csv".into(),
            digest: digest.into(),
            source_type: "dvc".into(),
            source: r#"{"path": "data/wine.csv"}"#.into(),
            schema: None,
            profile: Some(r#"{"num_rows": 3}"#.into()),
        },
        tags: vec![Tag::new("mlflow.data.context", "training")],
    };
    let same = [input("abc"), input("abc")];
    s.log_inputs(&a.info.run_id, &same).unwrap();
    s.log_inputs(&a.info.run_id, &same).unwrap();
    s.log_inputs(&b.info.run_id, &[input("abc"), input("def")])
        .unwrap();
    let count = |sql: &str| -> i64 { s.lock().query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM datasets"), 2);
    assert_eq!(count("SELECT count(*) FROM inputs"), 3);
    assert_eq!(count("SELECT count(*) FROM input_tags"), 3);
    let seen = s.get_run_inputs(&a.info.run_id).unwrap();
    assert_eq!(seen, vec![input("abc")]);
    assert_eq!(s.get_run_inputs(&b.info.run_id).unwrap().len(), 2);
    // MLflow's limits, checked before anything is written.
    let long = input(&"f".repeat(37));
    assert!(matches!(
        s.log_inputs(&a.info.run_id, &[long]),
        Err(Error::Invalid { .. })
    ));
    s.delete_run(&b.info.run_id).unwrap();
    assert!(matches!(
        s.log_inputs(&b.info.run_id, &[input("x")]),
        Err(Error::RunNotActive { .. })
    ));
}

#[test]
fn logged_models_are_created_pending_finalized_tagged_and_linked_as_outputs() {
    use crate::track::NewLoggedModel;
    let (_t, s) = store();
    let run = run_in(&s, "lm", "a");
    let exp = s.get_experiment(&run.info.experiment_id).unwrap();
    let m = s
        .create_logged_model(&NewLoggedModel {
            experiment_id: exp.experiment_id.clone(),
            name: "model".into(),
            source_run_id: Some(run.info.run_id.clone()),
            model_type: Some("extra-trees".into()),
            tags: vec![Tag::new("vintner.model.md5", "abc.dir")],
            params: vec![Param::new("n_estimators", "30")],
        })
        .unwrap();
    assert!(
        m.model_id.starts_with("m-") && m.model_id.len() == 34,
        "{m:?}"
    );
    assert_eq!(m.status, "PENDING");
    assert_eq!(
        m.artifact_location,
        format!("{}/models/{}/artifacts", exp.artifact_location, m.model_id)
    );
    assert_eq!(m.params, vec![Param::new("n_estimators", "30")]);
    s.log_outputs(&run.info.run_id, std::slice::from_ref(&m.model_id), 0)
        .unwrap();
    s.log_outputs(&run.info.run_id, std::slice::from_ref(&m.model_id), 0)
        .unwrap();
    s.finalize_logged_model(&m.model_id, true).unwrap();
    s.set_logged_model_tags(&m.model_id, &[Tag::new("mlflow.modelVersions", "[]")])
        .unwrap();
    let found = s
        .search_logged_models(
            std::slice::from_ref(&exp.experiment_id),
            Some(&run.info.run_id),
        )
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].status, "READY");
    assert_eq!(found[0].tags.len(), 2);
    let outputs: i64 = s
        .lock()
        .query_row(
            "SELECT count(*) FROM inputs WHERE source_type = 'RUN_OUTPUT' AND source_id = ?1 \
             AND destination_type = 'MODEL_OUTPUT' AND destination_id = ?2",
            [&run.info.run_id, &m.model_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(outputs, 1);
    assert!(matches!(
        s.finalize_logged_model("m-nope", true),
        Err(Error::NotFound { .. })
    ));
}
