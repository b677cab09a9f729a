//! Differential tests of run, experiment and registry management: each command runs through
//! `vintner` on an embedded `mlflow.db` and its effect is read back by MLflow's own Python client
//! (one process per test), MLflow's changes are read back by `vintner`, and the same commands run
//! against a real `mlflow server`, checked by the MLflow client through that server.

use std::path::Path;

use serde_json::{Value, json};
use vintner::track::sqlite::SqliteStore;
use vintner::track::{NewModelVersion, NewRun, Tag, Tracker, now_ms, validate};

use crate::common::{Sandbox, stderr};
use crate::track::{rest, run_python, server, sqlite_uri, vintner_json};

/// Runs `vintner <args> --tracking-uri <uri>`, which must succeed; returns its stderr.
fn ok(sb: &Sandbox, cwd: &Path, uri: &str, args: &[&str]) -> String {
    let out = sb
        .vintner(cwd)
        .args(args)
        .args(["--tracking-uri", uri])
        .assert();
    let err = stderr(&out);
    assert!(
        out.get_output().status.success(),
        "vintner {args:?} failed:\n{err}"
    );
    err
}

/// Runs `vintner <args> --tracking-uri <uri>`, which must fail as a user error (exit 1);
/// returns its stderr.
fn refused(sb: &Sandbox, cwd: &Path, uri: &str, args: &[&str]) -> String {
    let out = sb
        .vintner(cwd)
        .args(args)
        .args(["--tracking-uri", uri])
        .assert()
        .code(1);
    stderr(&out)
}

/// `vintner <args> --json --tracking-uri <uri>`.
fn json_of(sb: &Sandbox, cwd: &Path, uri: &str, args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--tracking-uri", uri]);
    vintner_json(sb, cwd, &all)
}

fn new_run(t: &dyn Tracker, experiment_id: &str, name: &str) -> String {
    t.create_run(&NewRun {
        experiment_id: experiment_id.into(),
        run_name: Some(name.into()),
        ..Default::default()
    })
    .unwrap()
    .info
    .run_id
}

fn new_version(t: &dyn Tracker, name: &str, run_id: &str) -> u64 {
    let run = t.get_run(run_id).unwrap();
    t.create_model_version(&NewModelVersion {
        name: name.into(),
        source: format!("{}/model", run.info.artifact_uri),
        run_id: Some(run_id.into()),
        ..Default::default()
    })
    .unwrap()
    .version
}

/// The set a `--json` listing holds, by `key` of each element of `field`.
fn ids(v: &Value, field: &str, key: &str) -> Vec<String> {
    let mut out: Vec<String> = v[field]
        .as_array()
        .unwrap_or_else(|| panic!("no `{field}` in {v}"))
        .iter()
        .map(|e| match &e[key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    out.sort();
    out
}

const PY_RUNS: &str = r#"
import sys, json
from mlflow import MlflowClient
from mlflow.entities import ViewType
c = MlflowClient(sys.argv[1])
out = {"runs": {}}
for rid in sys.argv[3:]:
    r = c.get_run(rid)
    out["runs"][rid] = {"name": r.info.run_name, "status": r.info.status, "end_time": r.info.end_time,
                        "stage": r.info.lifecycle_stage, "tags": r.data.tags}
out["deleted"] = sorted(r.info.run_id for r in c.search_runs([sys.argv[2]], run_view_type=ViewType.DELETED_ONLY))
print(json.dumps(out))
"#;

#[test]
fn runs_managed_by_vintner_are_what_mlflow_sees() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let db = repo.join("mlflow.db");
    let store = SqliteStore::open(&db).unwrap();
    let exp = store.create_experiment("lifecycle", None, &[]).unwrap();
    let e = exp.experiment_id.as_str();
    let (a, b, c) = (
        new_run(&store, e, "crashed"),
        new_run(&store, e, "doomed"),
        new_run(&store, e, "back"),
    );
    store
        .log_batch(
            &a,
            &[],
            &[],
            &[Tag::new("note", "x"), Tag::new("keep", "y")],
        )
        .unwrap();
    drop(store);
    let uri = sqlite_uri(&db);
    let long = "é".repeat(9000);

    let before = now_ms();
    ok(
        &sb,
        &repo,
        &uri,
        &["runs", "tag", "set", &a, "owner", "alice"],
    );
    ok(&sb, &repo, &uri, &["runs", "tag", "set", &a, "long", &long]);
    ok(&sb, &repo, &uri, &["runs", "tag", "delete", &a, "note"]);
    ok(&sb, &repo, &uri, &["runs", "rename", &a, "recovered"]);
    let shown = json_of(&sb, &repo, &uri, &["runs", "set-status", &a, "failed"]);
    assert_eq!(shown["run"]["info"]["status"], "FAILED", "{shown}");
    let after = now_ms();
    ok(&sb, &repo, &uri, &["runs", "delete", &b]);
    ok(&sb, &repo, &uri, &["runs", "delete", &c]);
    ok(&sb, &repo, &uri, &["runs", "restore", &c]);

    // refused as MLflow refuses, and nothing changes
    let err = refused(&sb, &repo, &uri, &["runs", "tag", "delete", &a, "nope"]);
    assert!(err.contains("`nope`") && err.contains("not found"), "{err}");
    let err = refused(&sb, &repo, &uri, &["runs", "tag", "set", &b, "k", "v"]);
    assert!(err.contains("vintner runs restore"), "{err}");
    let err = refused(
        &sb,
        &repo,
        &uri,
        &["runs", "tag", "set", &a, "bad;key", "v"],
    );
    assert!(err.contains("not allowed"), "{err}");
    let err = refused(&sb, &repo, &uri, &["runs", "rename", &a, " "]);
    assert!(err.contains("hint:"), "{err}");
    sb.vintner(&repo)
        .args(["runs", "set-status", &a, "RUNNING", "--tracking-uri", &uri])
        .assert()
        .code(2);
    let err = refused(&sb, &repo, &uri, &["runs", "delete", "0123456789abcdef"]);
    assert!(err.contains("not found"), "{err}");

    let (v, _) = run_python(&sb, &repo, PY_RUNS, &[&uri, e, &a, &b, &c]);
    let ra = &v["runs"][&a];
    assert_eq!(ra["name"], "recovered");
    assert_eq!(ra["tags"]["mlflow.runName"], "recovered");
    assert_eq!(ra["status"], "FAILED");
    let end = ra["end_time"].as_i64().unwrap();
    assert!((before..=after).contains(&end), "end time {end}");
    assert_eq!(ra["tags"]["owner"], "alice");
    assert_eq!(ra["tags"]["keep"], "y");
    assert!(ra["tags"].get("note").is_none(), "{ra}");
    assert_eq!(
        ra["tags"]["long"].as_str().unwrap().chars().count(),
        validate::MAX_TAG_VALUE_LEN
    );
    assert_eq!(ra["stage"], "active");
    assert_eq!(v["runs"][&b]["stage"], "deleted");
    assert_eq!(v["runs"][&c]["stage"], "active");
    assert_eq!(v["deleted"], json!([b]));
}

const PY_MLFLOW_CHANGES: &str = r#"
import sys, json
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
e = c.create_experiment("py-exp", tags={"team": "ml"})
c.create_experiment("other", tags={"team": "data"})
kept = c.create_run(e, run_name="kept").info.run_id
gone = c.create_run(e, run_name="gone").info.run_id
c.delete_run(gone)
c.set_tag(kept, "reviewed", "yes")
c.rename_experiment(e, "py-renamed")
c.set_experiment_tag(e, "stage", "prod")
c.create_registered_model("wine")
for i in range(3):
    c.create_model_version("wine", source=f"s3://bucket/model-{i}", run_id=kept)
c.set_registered_model_alias("wine", "champion", "3")
c.transition_model_version_stage("wine", "2", "Production")
c.delete_model_version("wine", "3")
c.update_registered_model("wine", description="the wine model")
c.update_model_version("wine", "1", description="first")
c.set_model_version_tag("wine", "1", "validated", "yes")
print(json.dumps({"exp": e, "kept": kept, "gone": gone}))
"#;

#[test]
fn changes_mlflow_makes_are_what_vintner_shows() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let db = repo.join("mlflow.db");
    let uri = sqlite_uri(&db);
    let (v, _) = run_python(&sb, &repo, PY_MLFLOW_CHANGES, &[&uri]);
    let (kept, gone) = (v["kept"].as_str().unwrap(), v["gone"].as_str().unwrap());

    let run = json_of(&sb, &repo, &uri, &["runs", "show", gone]);
    assert_eq!(run["run"]["info"]["lifecycle_stage"], "deleted");
    let run = json_of(&sb, &repo, &uri, &["runs", "show", kept]);
    assert!(
        run["run"]["data"]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!({"key": "reviewed", "value": "yes"}))
    );

    let exps = json_of(
        &sb,
        &repo,
        &uri,
        &["experiments", "list", "--filter", "tags.team = 'ml'"],
    );
    assert_eq!(ids(&exps, "experiments", "name"), ["py-renamed"]);
    let tags = &exps["experiments"][0]["tags"];
    assert!(
        tags.as_array()
            .unwrap()
            .contains(&json!({"key": "stage", "value": "prod"})),
        "{tags}"
    );
    let out = sb
        .vintner(&repo)
        .args(["experiments", "list", "--tracking-uri", &uri])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stage=prod, team=ml"), "{text}");

    // the version MLflow deleted is gone everywhere; the stage of a version is shown
    let show = json_of(&sb, &repo, &uri, &["models", "show", "wine"]);
    assert_eq!(ids(&show, "model_versions", "version"), ["1", "2"]);
    assert_eq!(show["registered_model"]["description"], "the wine model");
    assert_eq!(show["registered_model"]["aliases"], json!([]));
    let v2 = &show["model_versions"][0];
    assert_eq!(
        (v2["version"].as_u64(), &v2["current_stage"]),
        (Some(2), &json!("Production"))
    );
    let v1 = &show["model_versions"][1];
    assert_eq!(v1["description"], "first");
    let out = sb
        .vintner(&repo)
        .args(["models", "show", "wine", "--tracking-uri", &uri])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Production") && !text.contains("REDACTED"),
        "{text}"
    );
    let out = sb
        .vintner(&repo)
        .args(["models", "list", "--tracking-uri", &uri])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text.lines().find(|l| l.starts_with("wine")).unwrap();
    assert_eq!(row.split_whitespace().nth(1), Some("2"), "{text}");
    let listed = json_of(&sb, &repo, &uri, &["models", "versions", "wine"]);
    assert_eq!(ids(&listed, "model_versions", "version"), ["1", "2"]);
    let latest = json_of(&sb, &repo, &uri, &["models", "show", "models:/wine@latest"]);
    assert_eq!(ids(&latest, "model_versions", "version"), ["2"]);

    let err = refused(
        &sb,
        &repo,
        &uri,
        &["models", "alias", "set", "wine", "resurrect", "3"],
    );
    assert!(err.contains("not found"), "{err}");
    let err = refused(&sb, &repo, &uri, &["models", "show", "models:/wine/3"]);
    assert!(err.contains("not found"), "{err}");
}

const PY_EXPERIMENTS: &str = r#"
import sys, json
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
c = MlflowClient(sys.argv[1])
ids = json.loads(sys.argv[2])
out = {"experiments": {}, "runs": {}, "filters": {}}
for i in ids["experiments"]:
    e = c.get_experiment(i)
    out["experiments"][i] = {"name": e.name, "stage": e.lifecycle_stage, "tags": e.tags}
for r in ids["runs"]:
    out["runs"][r] = c.get_run(r).info.lifecycle_stage
for f in ids["filters"]:
    try:
        out["filters"][f] = sorted(e.experiment_id for e in c.search_experiments(view_type=ViewType.ALL, filter_string=f))
    except MlflowException as ex:
        out["filters"][f] = "error"
print(json.dumps(out))
"#;

#[test]
fn experiments_managed_by_vintner_are_what_mlflow_sees() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let db = repo.join("mlflow.db");
    let store = SqliteStore::open(&db).unwrap();
    let one = store
        .create_experiment("exp-one", None, &[Tag::new("team", "ml")])
        .unwrap()
        .experiment_id;
    let two = store
        .create_experiment("exp-two", None, &[Tag::new("team", "data")])
        .unwrap()
        .experiment_id;
    let three = store
        .create_experiment("exp-three", None, &[])
        .unwrap()
        .experiment_id;
    let r2 = new_run(&store, &two, "in-two");
    let r3 = new_run(&store, &three, "in-three");
    store.delete_run(&r3).unwrap();
    drop(store);
    let uri = sqlite_uri(&db);

    ok(
        &sb,
        &repo,
        &uri,
        &["experiments", "tag", "set", "exp-one", "stage", "prod"],
    );
    ok(
        &sb,
        &repo,
        &uri,
        &["experiments", "tag", "delete", &two, "team"],
    );
    ok(
        &sb,
        &repo,
        &uri,
        &["experiments", "rename", "exp-one", "exp-renamed"],
    );
    ok(&sb, &repo, &uri, &["experiments", "delete", "exp-two"]);
    ok(&sb, &repo, &uri, &["experiments", "delete", "exp-three"]);
    // as MLflow: restoring an experiment restores every run in it
    ok(&sb, &repo, &uri, &["experiments", "restore", &three]);

    let err = refused(
        &sb,
        &repo,
        &uri,
        &["experiments", "rename", "exp-renamed", "exp-three"],
    );
    assert!(err.contains("already exists"), "{err}");
    let err = refused(
        &sb,
        &repo,
        &uri,
        &["experiments", "tag", "set", "exp-two", "k", "v"],
    );
    assert!(err.contains("vintner experiments restore"), "{err}");
    let err = refused(
        &sb,
        &repo,
        &uri,
        &["experiments", "tag", "delete", "exp-renamed", "nope"],
    );
    assert!(err.contains("not found"), "{err}");
    let err = refused(&sb, &repo, &uri, &["experiments", "restore", "exp-renamed"]);
    assert!(err.contains("not deleted"), "{err}");
    let err = refused(&sb, &repo, &uri, &["experiments", "delete", "no-such"]);
    assert!(err.contains("experiments list"), "{err}");

    let filters: Vec<String> = [
        "name = 'exp-renamed'",
        "name LIKE 'exp-%'",
        "name ILIKE 'EXP-R%'",
        "name != 'Default'",
        "tags.stage = 'prod'",
        "tags.team IS NULL",
        "tags.team IS NOT NULL",
        "tags.team LIKE 'm%' and name LIKE '%renamed'",
        "tags.team ILIKE 'ML'",
        "creation_time > 0",
        "last_update_time >= 0 and name != 'exp-three'",
        "params.a = 'x'",
        "name IN ('exp-renamed')",
        "creation_time > 'abc'",
        "creation_time > 1.5",
        "experiment_id < '2'",
        "experiment_id = 1",
        "foo = 'x'",
        "tags.team > 'a'",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("experiment_id IN ('0', '{three}')"),
        format!("experiment_id = '{one}'"),
        format!("experiment_id != '{one}' and name LIKE 'exp%'"),
    ])
    .collect();
    let mut vintner_answers = serde_json::Map::new();
    for f in &filters {
        let out = sb
            .vintner(&repo)
            .args(["experiments", "list", "--all", "--json", "--filter", f])
            .args(["--tracking-uri", &uri])
            .output()
            .unwrap();
        let answer = if out.status.success() {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            json!(ids(&v, "experiments", "experiment_id"))
        } else {
            assert_eq!(out.status.code(), Some(1), "{f}");
            json!("error")
        };
        vintner_answers.insert(f.clone(), answer);
    }

    let arg = json!({"experiments": [one, two, three], "runs": [r2, r3], "filters": filters});
    let (v, _) = run_python(&sb, &repo, PY_EXPERIMENTS, &[&uri, &arg.to_string()]);
    let e1 = &v["experiments"][&one];
    assert_eq!(e1["name"], "exp-renamed");
    assert_eq!(e1["tags"], json!({"team": "ml", "stage": "prod"}));
    assert_eq!(v["experiments"][&two]["stage"], "deleted");
    assert_eq!(v["experiments"][&two]["tags"], json!({}));
    assert_eq!(v["experiments"][&three]["stage"], "active");
    assert_eq!(v["runs"][&r2], "deleted");
    assert_eq!(v["runs"][&r3], "active");
    for f in &filters {
        assert_eq!(
            vintner_answers[f], v["filters"][f],
            "filter {f:?}: vintner (left) and MLflow (right) differ"
        );
    }
}

const PY_REGISTRY: &str = r#"
import sys, json
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
c = MlflowClient(sys.argv[1])
filters = json.loads(sys.argv[2])
m = c.get_registered_model("wine")
out = {"description": m.description, "tags": m.tags, "aliases": m.aliases, "versions": {}, "filters": {}}
for v in c.search_model_versions("name = 'wine'"):
    out["versions"][v.version] = {"description": v.description, "tags": v.tags}
for what, call in [("v3", lambda: c.get_model_version("wine", "3")), ("gone", lambda: c.get_registered_model("gone"))]:
    try:
        call()
        out[what] = "found"
    except MlflowException as e:
        out[what] = e.error_code
for f in filters:
    try:
        out["filters"][f] = sorted(f"{v.name}/{v.version}" for v in c.search_model_versions(f))
    except MlflowException:
        out["filters"][f] = "error"
print(json.dumps(out))
"#;

#[test]
fn registry_managed_by_vintner_is_what_mlflow_sees() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let db = repo.join("mlflow.db");
    let store = SqliteStore::open(&db).unwrap();
    let e = store
        .get_or_create_experiment("models")
        .unwrap()
        .experiment_id;
    let run = new_run(&store, &e, "trained");
    let other = new_run(&store, &e, "other");
    for name in ["wine", "beer", "gone"] {
        store.create_registered_model(name, &[], None).unwrap();
    }
    for _ in 0..3 {
        new_version(&store, "wine", &run);
    }
    new_version(&store, "beer", &other);
    new_version(&store, "gone", &other);
    store
        .set_registered_model_alias("wine", "champion", 3)
        .unwrap();
    store
        .set_registered_model_alias("wine", "stable", 1)
        .unwrap();
    drop(store);
    let uri = sqlite_uri(&db);

    ok(
        &sb,
        &repo,
        &uri,
        &["models", "describe", "wine", "Red and white"],
    );
    ok(
        &sb,
        &repo,
        &uri,
        &["models", "describe", "models:/wine/1", "first"],
    );
    ok(
        &sb,
        &repo,
        &uri,
        &["models", "describe", "wine@stable", "the first, stable"],
    );
    let shown = json_of(
        &sb,
        &repo,
        &uri,
        &["models", "describe", "wine", "--version", "2", "second"],
    );
    assert_eq!(shown["model_version"]["description"], "second");
    ok(
        &sb,
        &repo,
        &uri,
        &["models", "tag", "set", "wine", "owner", "alice"],
    );
    ok(
        &sb,
        &repo,
        &uri,
        &[
            "models",
            "tag",
            "set",
            "wine",
            "--version",
            "2",
            "validated",
            "yes",
        ],
    );
    ok(
        &sb,
        &repo,
        &uri,
        &["models", "tag", "set", "models:/wine/1", "drop", "me"],
    );
    ok(
        &sb,
        &repo,
        &uri,
        &["models", "tag", "delete", "models:/wine/1", "drop"],
    );
    // as MLflow: deleting a tag that is not there is not an error
    ok(
        &sb,
        &repo,
        &uri,
        &["models", "tag", "delete", "wine", "nope"],
    );
    ok(
        &sb,
        &repo,
        &uri,
        &["models", "versions", "delete", "wine", "3"],
    );
    ok(&sb, &repo, &uri, &["models", "delete", "gone"]);

    let err = refused(
        &sb,
        &repo,
        &uri,
        &["models", "alias", "set", "wine", "back", "3"],
    );
    assert!(err.contains("not found"), "{err}");
    let err = refused(
        &sb,
        &repo,
        &uri,
        &["models", "describe", "wine", "--version", "3", "x"],
    );
    assert!(err.contains("not found"), "{err}");
    let err = refused(
        &sb,
        &repo,
        &uri,
        &[
            "models",
            "describe",
            "models:/wine/1",
            "--version",
            "2",
            "x",
        ],
    );
    assert!(err.contains("hint:"), "{err}");
    let err = refused(&sb, &repo, &uri, &["models", "delete", "models:/wine/1"]);
    assert!(err.contains("models versions delete"), "{err}");
    let err = refused(
        &sb,
        &repo,
        &uri,
        &["models", "show", "models:/wine/Production"],
    );
    assert!(err.contains("alias"), "{err}");
    let err = refused(
        &sb,
        &repo,
        &uri,
        &["models", "versions", "wine", "--filter", "metrics.x > 1"],
    );
    assert!(err.contains("invalid filter"), "{err}");

    let filters: Vec<String> = [
        "name = 'wine'",
        "name IN ('wine', 'beer')",
        "name NOT IN ('wine')",
        "name ILIKE 'WINE'",
        "version_number > 1",
        "version_number = 2 and name = 'wine'",
        "version_number <= '1'",
        "tags.validated = 'yes'",
        "tags.validated != 'yes'",
        "source_path LIKE '%model%'",
        "version_number > 'x'",
        "version_number > 1.5",
        "source_path IN ('a')",
        "metrics.x > 1",
        "tags.x > 'a'",
        "run_id > 'a'",
        "name = 1",
        "creation_timestamp > 0",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("run_id = '{run}'"),
        format!("run_id IN ('{run}', '{other}') and name != 'beer'"),
    ])
    .collect();
    let mut vintner_answers = serde_json::Map::new();
    for f in &filters {
        let out = sb
            .vintner(&repo)
            .args(["models", "versions", "--json", "--filter", f])
            .args(["--tracking-uri", &uri])
            .output()
            .unwrap();
        let answer = if out.status.success() {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let mut got: Vec<String> = v["model_versions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| format!("{}/{}", m["name"].as_str().unwrap(), m["version"]))
                .collect();
            got.sort();
            json!(got)
        } else {
            assert_eq!(out.status.code(), Some(1), "{f}");
            json!("error")
        };
        vintner_answers.insert(f.clone(), answer);
    }

    let (v, _) = run_python(
        &sb,
        &repo,
        PY_REGISTRY,
        &[&uri, &json!(filters).to_string()],
    );
    assert_eq!(v["description"], "Red and white");
    assert_eq!(v["tags"], json!({"owner": "alice"}));
    assert_eq!(v["aliases"]["stable"].to_string().trim_matches('"'), "1");
    assert_eq!(v["versions"]["1"]["description"], "the first, stable");
    assert_eq!(v["versions"]["1"]["tags"], json!({}));
    assert_eq!(v["versions"]["2"]["description"], "second");
    assert_eq!(v["versions"]["2"]["tags"], json!({"validated": "yes"}));
    assert!(v["versions"].get("3").is_none(), "{v}");
    assert_eq!(v["v3"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(v["gone"], "RESOURCE_DOES_NOT_EXIST");
    for f in &filters {
        assert_eq!(
            vintner_answers[f], v["filters"][f],
            "filter {f:?}: vintner (left) and MLflow (right) differ"
        );
    }
}

const PY_REST: &str = r#"
import sys, json
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
c = MlflowClient(sys.argv[1])
a = json.loads(sys.argv[2])
out = {"runs": {}}
for r in a["runs"]:
    run = c.get_run(r)
    out["runs"][r] = {"name": run.info.run_name, "status": run.info.status, "end_time": run.info.end_time,
                      "stage": run.info.lifecycle_stage, "tags": run.data.tags}
e = c.get_experiment(a["exp"])
out["exp"] = {"name": e.name, "stage": e.lifecycle_stage, "tags": e.tags}
m = c.get_registered_model(a["model"])
out["model"] = {"description": m.description, "tags": m.tags, "aliases": m.aliases}
out["versions"] = {v.version: {"description": v.description, "tags": v.tags}
                   for v in c.search_model_versions(f"name = '{a['model']}'")}
try:
    c.get_model_version(a["model"], "2")
    out["v2"] = "found"
except MlflowException as ex:
    out["v2"] = ex.error_code
print(json.dumps(out))
"#;

#[test]
fn management_over_rest_is_what_mlflow_sees_through_the_server() {
    let s = server();
    let t = rest(&s.url);
    let suffix = &validate::new_run_id()[..8];
    let (exp_name, model) = (format!("manage-{suffix}"), format!("manage-model-{suffix}"));
    let e = t
        .create_experiment(&exp_name, None, &[])
        .unwrap()
        .experiment_id;
    let (a, b) = (new_run(&t, &e, "crashed"), new_run(&t, &e, "doomed"));
    t.log_batch(&a, &[], &[], &[Tag::new("note", "x")]).unwrap();
    t.create_registered_model(&model, &[], None).unwrap();
    new_version(&t, &model, &a);
    new_version(&t, &model, &a);
    t.set_registered_model_alias(&model, "champion", 2).unwrap();

    let sb = Sandbox::new();
    let cwd = sb.mkdir("work");
    let uri = s.url.as_str();
    let before = now_ms();
    ok(
        &sb,
        &cwd,
        uri,
        &["runs", "tag", "set", &a, "owner", "alice"],
    );
    ok(&sb, &cwd, uri, &["runs", "tag", "delete", &a, "note"]);
    ok(&sb, &cwd, uri, &["runs", "rename", &a, "recovered"]);
    ok(&sb, &cwd, uri, &["runs", "set-status", &a, "KILLED"]);
    let after = now_ms();
    ok(
        &sb,
        &cwd,
        uri,
        &["experiments", "tag", "set", &exp_name, "stage", "prod"],
    );
    let renamed = format!("{exp_name}-renamed");
    ok(
        &sb,
        &cwd,
        uri,
        &["experiments", "rename", &exp_name, &renamed],
    );
    ok(&sb, &cwd, uri, &["experiments", "delete", &renamed]);
    ok(&sb, &cwd, uri, &["experiments", "restore", &renamed]);
    let listed = json_of(
        &sb,
        &cwd,
        uri,
        &[
            "experiments",
            "list",
            "--filter",
            &format!("tags.stage = 'prod' and name = '{renamed}'"),
        ],
    );
    assert_eq!(ids(&listed, "experiments", "experiment_id"), [e.as_str()]);
    ok(&sb, &cwd, uri, &["models", "describe", &model, "served"]);
    ok(
        &sb,
        &cwd,
        uri,
        &["models", "describe", &format!("models:/{model}/1"), "first"],
    );
    ok(
        &sb,
        &cwd,
        uri,
        &[
            "models",
            "tag",
            "set",
            &model,
            "--version",
            "1",
            "validated",
            "yes",
        ],
    );
    ok(
        &sb,
        &cwd,
        uri,
        &["models", "tag", "set", &model, "owner", "alice"],
    );
    ok(
        &sb,
        &cwd,
        uri,
        &["models", "versions", "delete", &format!("{model}@champion")],
    );
    let listed = json_of(&sb, &cwd, uri, &["models", "versions", &model]);
    assert_eq!(ids(&listed, "model_versions", "version"), ["1"]);
    // after the experiment's restore, which brings back every run in it
    ok(&sb, &cwd, uri, &["runs", "delete", &b]);
    ok(&sb, &cwd, uri, &["runs", "restore", &b]);
    ok(&sb, &cwd, uri, &["runs", "delete", &b]);
    let err = refused(&sb, &cwd, uri, &["runs", "tag", "set", &b, "k", "v"]);
    assert!(err.contains("active"), "{err}");
    let err = refused(&sb, &cwd, uri, &["runs", "tag", "delete", &a, "nope"]);
    assert!(
        err.contains("tag `nope`") && err.contains("not found"),
        "{err}"
    );
    let err = refused(
        &sb,
        &cwd,
        uri,
        &["experiments", "tag", "delete", &renamed, "nope"],
    );
    assert!(
        err.contains("tag `nope`") && err.contains("not found"),
        "{err}"
    );

    let arg = json!({"runs": [a, b], "exp": e, "model": model});
    let (v, _) = run_python(&sb, &cwd, PY_REST, &[uri, &arg.to_string()]);
    let ra = &v["runs"][&a];
    assert_eq!(ra["name"], "recovered");
    assert_eq!(ra["status"], "KILLED");
    let end = ra["end_time"].as_i64().unwrap();
    assert!((before..=after).contains(&end), "end time {end}");
    assert_eq!(ra["tags"]["owner"], "alice");
    assert!(ra["tags"].get("note").is_none(), "{ra}");
    assert_eq!(v["runs"][&b]["stage"], "deleted");
    assert_eq!(v["exp"]["name"], renamed.as_str());
    assert_eq!(v["exp"]["stage"], "active");
    assert_eq!(v["exp"]["tags"]["stage"], "prod");
    assert_eq!(v["model"]["description"], "served");
    assert_eq!(v["model"]["tags"], json!({"owner": "alice"}));
    assert_eq!(v["model"]["aliases"], json!({}));
    assert_eq!(v["versions"]["1"]["description"], "first");
    assert_eq!(v["versions"]["1"]["tags"], json!({"validated": "yes"}));
    assert_eq!(v["v2"], "RESOURCE_DOES_NOT_EXIST");
}

#[test]
fn management_commands_never_create_a_store() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let db = repo.join("mlflow.db");
    let uri = sqlite_uri(&db);
    for args in [
        &["runs", "delete", "abc"][..],
        &["experiments", "tag", "set", "x", "k", "v"],
        &["models", "describe", "wine", "text"],
    ] {
        let err = refused(&sb, &repo, &uri, args);
        assert!(err.contains("no tracking store"), "{args:?}: {err}");
        assert!(!db.exists(), "{args:?} created {}", db.display());
    }
}
