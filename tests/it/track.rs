//! Tracking compatibility with the real MLflow 3.17.2: vintner's `mlflow.db` read (and written) by
//! MLflow's Python client and served by `mlflow server` without migration; a `mlflow.db` written
//! by MLflow read by vintner; and vintner's REST client against a real tracking server.
//!
//! One `mlflow server` per test-binary run (it takes 30–100 s to start here), on a free port, on a
//! database vintner created; a watchdog stops it when this process exits.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use vintner::track::git::SystemTags;
use vintner::track::rest::{RestConfig, RestTracker};
use vintner::track::sqlite::{HEAD_REVISION, SqliteStore};
use vintner::track::{
    self, Error, Metric, NewModelVersion, NewRun, Param, RunStatus, RunUpdate, SearchModels,
    SearchRuns, Tag, Tracker,
};

use crate::common::Sandbox;
use crate::peers;

/// Log lines MLflow prints when it creates or migrates tables: they must never appear.
const MIGRATION_MARKERS: &[&str] = &[
    "Creating initial MLflow database tables",
    "Updating database tables",
    "out-of-date database schema",
    "Running upgrade",
];

fn assert_no_migration(what: &str, log: &str) {
    for m in MIGRATION_MARKERS {
        assert!(
            !log.contains(m),
            "{what} migrated the database ({m:?}):\n{log}"
        );
    }
}

fn alembic_revision(db: &Path) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
        .unwrap()
}

pub(crate) fn run_python(sb: &Sandbox, cwd: &Path, script: &str, args: &[&str]) -> (Value, String) {
    let file = cwd.join(format!("script-{}.py", track::validate::new_run_id()));
    std::fs::write(&file, script).unwrap();
    let out = peers::mlflow_python(sb, cwd)
        .arg(&file)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "python failed:\n{stderr}\n{stdout}");
    let last = stdout.lines().last().unwrap_or("");
    let v = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("no JSON from python ({e}):\n{stdout}\n{stderr}"));
    (v, stderr)
}

pub(crate) fn vintner_json(sb: &Sandbox, cwd: &Path, args: &[&str]) -> Value {
    let out = sb.vintner(cwd).args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "vintner {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) fn sqlite_uri(db: &Path) -> String {
    format!("sqlite:///{}", db.display())
}

/// Writes a representative run and registry entries; returns the run id.
fn write_sample(t: &dyn Tracker, experiment: &str, repo: &Path) -> String {
    let exp = t.get_or_create_experiment(experiment).unwrap();
    let mut system = SystemTags::gather(repo, "vintner train");
    system.user = Some("alice".into());
    let run = t
        .create_run(&NewRun {
            experiment_id: exp.experiment_id.clone(),
            run_name: Some("enet-1".into()),
            tags: system.to_tags(),
            ..Default::default()
        })
        .unwrap();
    let id = run.info.run_id.clone();
    let base = track::now_ms();
    let mut metrics: Vec<Metric> = (0..5)
        .map(|s| Metric::new("rmse", 1.0 - s as f64 * 0.1, base + s, s))
        .collect();
    metrics.push(Metric::new("mae", 0.25, base, 0));
    metrics.push(Metric::new("weird", f64::NAN, base, 0));
    metrics.push(Metric::new("huge", f64::INFINITY, base, 0));
    t.log_batch(
        &id,
        &metrics,
        &[Param::new("alpha", "0.5"), Param::new("l1_ratio", "0.1")],
        &[Tag::new("data.md5", "3a9f")],
    )
    .unwrap();
    t.update_run(
        &id,
        &RunUpdate {
            status: Some(RunStatus::Finished),
            end_time: Some(base + 10),
            run_name: None,
        },
    )
    .unwrap();
    let source = format!("{}/model", run.info.artifact_uri);
    t.get_or_create_registered_model("wine-enet").unwrap();
    t.set_registered_model_tag("wine-enet", &Tag::new("task", "regression"))
        .unwrap();
    for _ in 0..2 {
        t.create_model_version(&NewModelVersion {
            name: "wine-enet".into(),
            source: source.clone(),
            run_id: Some(id.clone()),
            tags: vec![Tag::new("validated", "true")],
            description: Some("first".into()),
        })
        .unwrap();
    }
    t.set_registered_model_alias("wine-enet", "champion", 1)
        .unwrap();
    id
}

// ---------------------------------------------------------------------------------------------
// (1) vintner writes mlflow.db → MLflow's Python client reads (and writes) it, no migration

const PY_READ: &str = r#"
import json, math, sys
import mlflow
from mlflow import MlflowClient
uri, run_id = sys.argv[1], sys.argv[2]
c = MlflowClient(tracking_uri=uri)
exps = {e.name: e.experiment_id for e in c.search_experiments()}
r = c.get_run(run_id)
fix = lambda v: "NaN" if isinstance(v, float) and math.isnan(v) else v
hist = [(m.step, m.value, m.timestamp) for m in c.get_metric_history(run_id, "rmse")]
found = c.search_runs([r.info.experiment_id], "metrics.rmse < 0.7 and params.alpha = '0.5'", order_by=["metrics.rmse ASC"])
rm = c.get_registered_model("wine-enet")
mv = c.get_model_version_by_alias("wine-enet", "champion")
versions = c.search_model_versions("name = 'wine-enet'")
arts = [f.path for f in c.list_artifacts(run_id)]
# MLflow can write to the same file too
new = c.create_run(r.info.experiment_id, run_name="from-python")
c.log_metric(new.info.run_id, "py_metric", 3.5, step=2)
c.log_metric(run_id, "py_metric", 7.0)
print(json.dumps({
  "experiments": exps,
  "name": r.info.run_name, "status": r.info.status, "user": r.info.user_id,
  "params": r.data.params, "metrics": {k: fix(v) for k, v in r.data.metrics.items()}, "tags": r.data.tags,
  "history": hist, "found": [x.info.run_id for x in found],
  "model_tags": rm.tags, "aliases": {a: v for a, v in rm.aliases.items()},
  "alias_version": mv.version, "alias_source": mv.source, "alias_run": mv.run_id, "alias_status": mv.status,
  "version_tags": mv.tags, "versions": sorted(int(v.version) for v in versions),
  "artifacts": arts, "py_run": new.info.run_id,
}))
"#;

#[test]
fn mlflow_python_client_reads_the_db_vintner_writes_without_migration() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&repo)
        .status()
        .unwrap();
    // The CLI with no URI anywhere creates mlflow.db at the repository root.
    sb.vintner(&repo)
        .args(["experiments", "create", "wine-quality"])
        .assert()
        .success();
    let db = repo.join("mlflow.db");
    assert!(db.is_file(), "no mlflow.db at the repository root");
    let store = SqliteStore::open(&db).unwrap();
    let run_id = write_sample(&store, "wine-quality", &repo);
    let note = repo.join("notes.txt");
    std::fs::write(&note, "hello").unwrap();
    store.log_artifact(&run_id, &note, Some("docs")).unwrap();
    drop(store);

    let (v, stderr) = run_python(&sb, &repo, PY_READ, &[&sqlite_uri(&db), &run_id]);
    assert_no_migration("MlflowClient", &stderr);
    assert_eq!(alembic_revision(&db), HEAD_REVISION);

    assert_eq!(v["experiments"]["Default"], "0");
    assert_eq!(v["experiments"]["wine-quality"], "1");
    assert_eq!(v["name"], "enet-1");
    assert_eq!(v["status"], "FINISHED");
    assert_eq!(v["user"], "alice");
    assert_eq!(
        v["params"],
        serde_json::json!({"alpha": "0.5", "l1_ratio": "0.1"})
    );
    let m = &v["metrics"];
    assert!(
        (m["rmse"].as_f64().unwrap() - 0.6).abs() < 1e-12,
        "latest rmse is the step-4 value: {m}"
    );
    assert_eq!(m["mae"], 0.25);
    assert_eq!(m["weird"], "NaN");
    assert_eq!(m["huge"], 1.7976931348623157e308);
    let hist = v["history"].as_array().unwrap();
    assert_eq!(hist.len(), 5);
    assert_eq!(
        hist.iter()
            .map(|h| h[0].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    let tags = &v["tags"];
    assert_eq!(tags["mlflow.runName"], "enet-1");
    assert_eq!(tags["mlflow.user"], "alice");
    assert_eq!(tags["mlflow.source.name"], "vintner train");
    assert_eq!(tags["mlflow.source.type"], "LOCAL");
    assert_eq!(tags["data.md5"], "3a9f");
    assert_eq!(v["found"], serde_json::json!([run_id]));
    assert_eq!(v["model_tags"]["task"], "regression");
    assert_eq!(v["aliases"]["champion"], 1);
    assert_eq!(v["alias_version"], 1);
    assert_eq!(v["alias_run"], run_id.as_str());
    assert_eq!(v["alias_status"], "READY");
    assert!(
        v["alias_source"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{run_id}/artifacts/model"))
    );
    assert_eq!(v["version_tags"]["validated"], "true");
    assert_eq!(v["versions"], serde_json::json!([1, 2]));
    assert_eq!(v["artifacts"], serde_json::json!(["docs"]));

    // What Python wrote is visible to vintner.
    let py_run = v["py_run"].as_str().unwrap();
    let shown = vintner_json(&sb, &repo, &["runs", "show", py_run]);
    assert_eq!(shown["run"]["info"]["run_name"], "from-python");
    assert_eq!(shown["metric_history"]["py_metric"][0]["step"], 2);
    let shown = vintner_json(&sb, &repo, &["runs", "show", &run_id]);
    assert_eq!(shown["metric_history"]["rmse"].as_array().unwrap().len(), 5);
    assert_eq!(shown["metric_history"]["py_metric"][0]["value"], 7.0);
}

// ---------------------------------------------------------------------------------------------
// (2) MLflow's Python client writes mlflow.db → vintner reads it

const PY_WRITE: &str = r#"
import json, sys, time
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
c = MlflowClient(tracking_uri=sys.argv[1])
exp = c.create_experiment("py-exp", tags={"owner": "py"})
ids = []
for i, (lr, rmse) in enumerate([("0.01", 0.45), ("0.1", 0.9)]):
    r = c.create_run(exp, run_name=f"py-run-{i}", tags={"team": "ml"})
    now = int(time.time() * 1000)
    c.log_batch(r.info.run_id,
        metrics=[Metric("rmse", rmse + 0.1 * (4 - s), now + s, s) for s in range(5)] + [Metric("nan_metric", float("nan"), now, 0)],
        params=[Param("lr", lr), Param("model", "enet")], tags=[RunTag("stage", "dev")])
    c.set_terminated(r.info.run_id, "FINISHED")
    ids.append(r.info.run_id)
c.create_registered_model("py-model", tags={"task": "regression"}, description="from python")
for rid in ids:
    c.create_model_version("py-model", c.get_run(rid).info.artifact_uri + "/model", run_id=rid, tags={"k": "v"})
c.set_registered_model_alias("py-model", "champion", "2")
print(json.dumps({"experiment_id": exp, "runs": ids}))
"#;

#[test]
fn vintner_reads_the_db_mlflow_python_writes() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let db = repo.join("mlflow.db");
    let (v, _) = run_python(&sb, &repo, PY_WRITE, &[&sqlite_uri(&db)]);
    let ids: Vec<String> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();

    // experiments list (default URI: mlflow.db in the folder)
    let exps = vintner_json(&sb, &repo, &["experiments", "list"]);
    let names: Vec<&str> = exps["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"py-exp") && names.contains(&"Default"),
        "{names:?}"
    );
    let py_exp = exps["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "py-exp")
        .unwrap();
    assert!(
        py_exp["tags"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"key": "owner", "value": "py"})),
        "{py_exp}"
    );

    // runs list with MLflow's filter grammar and order_by
    let listed = vintner_json(
        &sb,
        &repo,
        &[
            "runs",
            "list",
            "--experiment",
            "py-exp",
            "--filter",
            "metrics.rmse < 0.5 and params.model = 'enet'",
        ],
    );
    let runs = listed["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["info"]["run_id"], ids[0].as_str());
    let ordered = vintner_json(
        &sb,
        &repo,
        &[
            "runs",
            "list",
            "-e",
            "py-exp",
            "--order-by",
            "metrics.rmse DESC",
        ],
    );
    let order: Vec<&str> = ordered["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["info"]["run_name"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["py-run-1", "py-run-0"]);

    // runs show: params, latest metrics (NaN), tags, history with steps
    let shown = vintner_json(&sb, &repo, &["runs", "show", &ids[0]]);
    let run = &shown["run"];
    assert_eq!(run["info"]["status"], "FINISHED");
    assert_eq!(run["info"]["run_name"], "py-run-0");
    assert_eq!(
        run["data"]["params"],
        serde_json::json!([{"key": "lr", "value": "0.01"}, {"key": "model", "value": "enet"}])
    );
    let metrics = run["data"]["metrics"].as_array().unwrap();
    let get = |k: &str| metrics.iter().find(|m| m["key"] == k).unwrap().clone();
    assert_eq!(get("nan_metric")["value"], "NaN");
    assert!((get("rmse")["value"].as_f64().unwrap() - 0.45).abs() < 1e-12);
    assert_eq!(get("rmse")["step"], 4);
    let hist = shown["metric_history"]["rmse"].as_array().unwrap();
    assert_eq!(
        hist.iter()
            .map(|m| m["step"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    let tags = run["data"]["tags"].as_array().unwrap();
    assert!(tags.contains(&serde_json::json!({"key": "team", "value": "ml"})));
    assert!(tags.contains(&serde_json::json!({"key": "mlflow.runName", "value": "py-run-0"})));

    // the human output has the chart
    let text = sb
        .vintner(&repo)
        .args(["runs", "show", &ids[0]])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("History") && text.contains('█'), "{text}");
    let cmp = sb
        .vintner(&repo)
        .args(["runs", "compare", &ids[0], &ids[1]])
        .output()
        .unwrap();
    let cmp = String::from_utf8(cmp.stdout).unwrap();
    assert!(
        cmp.contains("* params.lr") && cmp.contains("  params.model"),
        "{cmp}"
    );

    // registry: versions, alias, tags; then move the alias with vintner and read it back
    let model = vintner_json(&sb, &repo, &["models", "show", "py-model"]);
    assert_eq!(model["registered_model"]["description"], "from python");
    assert_eq!(
        model["registered_model"]["aliases"],
        serde_json::json!([{"alias": "champion", "version": 2}])
    );
    let versions = model["model_versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 2);
    assert_eq!(versions[0]["aliases"], serde_json::json!(["champion"]));
    assert_eq!(versions[0]["status"], "READY");
    assert_eq!(versions[1]["run_id"], ids[0].as_str());
    sb.vintner(&repo)
        .args(["models", "alias", "set", "py-model", "champion", "1"])
        .assert()
        .success();
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(
        store
            .get_model_version_by_alias("py-model", "champion")
            .unwrap()
            .version,
        1
    );
    let listed = vintner_json(&sb, &repo, &["models", "list"]);
    assert_eq!(listed["registered_models"][0]["name"], "py-model");
    sb.vintner(&repo)
        .args(["models", "alias", "delete", "py-model", "champion"])
        .assert()
        .success();
    assert!(matches!(
        store.get_model_version_by_alias("py-model", "champion"),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(alembic_revision(&db), HEAD_REVISION);
}

// ---------------------------------------------------------------------------------------------
// (3) one real `mlflow server`, started on a database vintner created

pub(crate) struct Server {
    pub(crate) url: String,
    db: PathBuf,
    log: PathBuf,
    /// The run vintner wrote into the database before the server started.
    seeded_run: String,
    /// Outlives the tests on purpose: it stops the server once this process has exited.
    _watchdog: std::process::Child,
}

pub(crate) fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("vintner-mlflow-server-")
            .tempdir()
            .unwrap()
            .keep();
        let db = dir.join("server.db");
        // vintner creates the database and writes to it before MLflow ever sees it
        let store = SqliteStore::open(&db).unwrap();
        let seeded_run = write_sample(&store, "seeded", &dir);
        drop(store);
        let log = dir.join("server.log");
        let artifacts = dir.join("mlartifacts");
        let (url, watchdog) = peers::start_mlflow_server(
            &dir,
            &[
                "--backend-store-uri",
                &format!("sqlite:///{}", db.display()),
                "--artifacts-destination",
                &artifacts.to_string_lossy(),
                "--workers",
                "1",
            ],
        );
        Server {
            url,
            db,
            log,
            seeded_run,
            _watchdog: watchdog,
        }
    })
}

pub(crate) fn rest(url: &str) -> RestTracker {
    let mut cfg = RestConfig::from_env(url, &|_| None).unwrap();
    cfg.max_retries = 3;
    cfg.backoff_factor = 0.2;
    RestTracker::connect(cfg).unwrap()
}

#[test]
fn mlflow_server_serves_a_vintner_db_without_migration() {
    let s = server();
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert_no_migration("mlflow server", &log);
    assert_eq!(alembic_revision(&s.db), HEAD_REVISION);
    // What vintner wrote before the server started is served back over REST.
    let t = rest(&s.url);
    let run = t.get_run(&s.seeded_run).unwrap();
    assert_eq!(run.info.run_name, "enet-1");
    assert_eq!(run.data.param("alpha"), Some("0.5"));
    assert!(run.data.metric("weird").unwrap().value.is_nan());
    assert_eq!(
        t.get_metric_history(&s.seeded_run, "rmse").unwrap().len(),
        5
    );
    let mv = t
        .get_model_version_by_alias("wine-enet", "champion")
        .unwrap();
    assert_eq!(
        (mv.version, mv.run_id.as_deref()),
        (1, Some(s.seeded_run.as_str()))
    );
    assert_eq!(
        t.get_registered_model("wine-enet").unwrap().tags,
        vec![Tag::new("task", "regression")]
    );
}

#[test]
fn rest_client_full_cycle_against_a_real_mlflow_server() {
    let s = server();
    let t = rest(&s.url);
    let exp = t.get_or_create_experiment("rest-cycle").unwrap();
    assert_eq!(
        t.get_or_create_experiment("rest-cycle")
            .unwrap()
            .experiment_id,
        exp.experiment_id
    );
    assert!(matches!(
        t.create_experiment("rest-cycle", None, &[]),
        Err(Error::AlreadyExists { .. })
    ));
    assert!(
        t.get_experiment_by_name("no-such-experiment")
            .unwrap()
            .is_none()
    );

    let sys = SystemTags {
        user: Some("bob".into()),
        source_name: Some("vintner train".into()),
        source_type: Some("LOCAL".into()),
        ..Default::default()
    };
    let run = t
        .create_run(&NewRun {
            experiment_id: exp.experiment_id.clone(),
            tags: sys.to_tags(),
            ..Default::default()
        })
        .unwrap();
    let id = run.info.run_id.clone();
    assert_eq!(
        run.info.run_name.split('-').count(),
        3,
        "generated name {}",
        run.info.run_name
    );
    assert_eq!(
        run.data.tag("mlflow.runName"),
        Some(run.info.run_name.as_str())
    );

    // 2500 points + 150 params + 20 tags: chunked to the server's limits
    let base = track::now_ms();
    let mut metrics: Vec<Metric> = (0..2500)
        .map(|i| Metric::new("loss", 1.0 / (i + 1) as f64, base + i, i))
        .collect();
    metrics.push(Metric::new("nan", f64::NAN, base, 0));
    metrics.push(Metric::new("inf", f64::INFINITY, base, 0));
    let params: Vec<Param> = (0..150)
        .map(|i| Param::new(format!("p{i:03}"), i.to_string()))
        .collect();
    let tags: Vec<Tag> = (0..20).map(|i| Tag::new(format!("t{i}"), "x")).collect();
    t.log_batch(&id, &metrics, &params, &tags).unwrap();
    assert_eq!(t.get_metric_history(&id, "loss").unwrap().len(), 2500);
    let got = t.get_run(&id).unwrap();
    assert_eq!(got.data.params.len(), 150);
    assert_eq!(got.data.metric("loss").unwrap().step, 2499);
    assert!(got.data.metric("nan").unwrap().value.is_nan());
    assert_eq!(got.data.metric("inf").unwrap().value, f64::MAX);

    // params are immutable on the server too
    let e = t
        .log_batch(&id, &[], &[Param::new("p000", "changed")], &[])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("Changing param values is not allowed"),
        "{e}"
    );
    assert!(matches!(
        t.get_run("00000000000000000000000000000000"),
        Err(Error::NotFound { .. })
    ));

    let info = t
        .update_run(
            &id,
            &RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(base + 99),
                run_name: Some("renamed".into()),
            },
        )
        .unwrap();
    assert_eq!(
        (info.status, info.end_time, info.run_name.as_str()),
        (RunStatus::Finished, Some(base + 99), "renamed")
    );

    // a second run, then search with filter, order and paging
    let other = t
        .create_run(&NewRun {
            experiment_id: exp.experiment_id.clone(),
            run_name: Some("other".into()),
            ..Default::default()
        })
        .unwrap();
    t.log_batch(
        &other.info.run_id,
        &[Metric::new("loss", 5.0, base, 0)],
        &[Param::new("p000", "0")],
        &[],
    )
    .unwrap();
    let found = t
        .search_runs(&SearchRuns {
            experiment_ids: vec![exp.experiment_id.clone()],
            filter: Some(
                "metrics.loss < 1 and params.p000 = '0' and attributes.run_name = 'renamed'".into(),
            ),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        found
            .runs
            .iter()
            .map(|r| r.info.run_id.as_str())
            .collect::<Vec<_>>(),
        vec![id.as_str()]
    );
    let page = t
        .search_runs(&SearchRuns {
            experiment_ids: vec![exp.experiment_id.clone()],
            order_by: vec!["metrics.loss DESC".into()],
            max_results: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.runs[0].info.run_id, other.info.run_id);
    let page2 = t
        .search_runs(&SearchRuns {
            experiment_ids: vec![exp.experiment_id.clone()],
            order_by: vec!["metrics.loss DESC".into()],
            max_results: 1,
            page_token: page.next_page_token.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page2.runs[0].info.run_id, id);

    // artifacts through the server's proxy
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("hello.txt");
    std::fs::write(&f, "hello artifacts").unwrap();
    t.log_artifact(&id, &f, Some("notes")).unwrap();
    let files = t.list_artifacts(&id, Some("notes")).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0].path.as_str(), files[0].file_size),
        ("notes/hello.txt", Some(15))
    );

    // registry with aliases and tags
    let m = t
        .create_registered_model("rest-model", &[Tag::new("task", "regression")], Some("d"))
        .unwrap();
    assert_eq!(m.description.as_deref(), Some("d"));
    assert!(matches!(
        t.create_registered_model("rest-model", &[], None),
        Err(Error::AlreadyExists { .. })
    ));
    let v1 = t
        .create_model_version(&NewModelVersion {
            name: "rest-model".into(),
            source: format!("{}/model", run.info.artifact_uri),
            run_id: Some(id.clone()),
            tags: vec![Tag::new("validated", "true")],
            description: Some("first".into()),
        })
        .unwrap();
    let v2 = t
        .create_model_version(&NewModelVersion {
            name: "rest-model".into(),
            source: format!("{}/model2", run.info.artifact_uri),
            run_id: Some(id.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (v1.version, v2.version, v1.status.as_str()),
        (1, 2, "READY")
    );
    t.set_registered_model_alias("rest-model", "champion", 1)
        .unwrap();
    t.set_model_version_tag("rest-model", 2, &Tag::new("k", "v"))
        .unwrap();
    t.set_registered_model_tag("rest-model", &Tag::new("owner", "me"))
        .unwrap();
    let by_alias = t
        .get_model_version_by_alias("rest-model", "champion")
        .unwrap();
    assert_eq!(
        (by_alias.version, by_alias.aliases.clone()),
        (1, vec!["champion".to_string()])
    );
    assert_eq!(
        t.get_model_version("rest-model", 2).unwrap().tags,
        vec![Tag::new("k", "v")]
    );
    let vs = t
        .search_model_versions(&SearchModels {
            filter: Some(format!("run_id = '{id}'")),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        vs.model_versions
            .iter()
            .map(|v| v.version)
            .collect::<Vec<_>>(),
        vec![2, 1]
    );
    let ms = t
        .search_registered_models(&SearchModels {
            filter: Some("name LIKE 'rest-%'".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(ms.registered_models.len(), 1);
    assert_eq!(ms.registered_models[0].tags.len(), 2);

    // the CLI against the server: through the flag and through MLFLOW_TRACKING_URI
    let sb = Sandbox::new();
    let cwd = sb.mkdir("work");
    sb.vintner(&cwd)
        .args([
            "models",
            "alias",
            "set",
            "rest-model",
            "champion",
            "2",
            "--tracking-uri",
            &s.url,
        ])
        .assert()
        .success();
    assert_eq!(
        t.get_model_version_by_alias("rest-model", "champion")
            .unwrap()
            .version,
        2
    );
    let out = sb
        .vintner(&cwd)
        .env("MLFLOW_TRACKING_URI", &s.url)
        .args([
            "runs",
            "list",
            "--experiment",
            "rest-cycle",
            "--order-by",
            "metrics.loss ASC",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"][0]["info"]["run_id"], id.as_str());
    assert!(
        !cwd.join("mlflow.db").exists(),
        "the REST commands must not create a local store"
    );
    let shown = vintner_json(
        &sb,
        &cwd,
        &["models", "show", "rest-model", "--tracking-uri", &s.url],
    );
    assert_eq!(
        shown["model_versions"][0]["aliases"],
        serde_json::json!(["champion"])
    );
    sb.vintner(&cwd)
        .args([
            "models",
            "alias",
            "delete",
            "rest-model",
            "champion",
            "--tracking-uri",
            &s.url,
        ])
        .assert()
        .success();
    assert!(matches!(
        t.get_model_version_by_alias("rest-model", "champion"),
        Err(Error::NotFound { .. })
    ));
    t.delete_run(&other.info.run_id).unwrap();
    assert_eq!(
        t.get_run(&other.info.run_id).unwrap().info.lifecycle_stage,
        "deleted"
    );
}

// ---------------------------------------------------------------------------------------------
// no peers needed

#[test]
fn file_store_uris_are_refused_with_the_migration_hint() {
    let sb = Sandbox::new();
    let cwd = sb.mkdir("w");
    for (flag, env) in [(Some("file:///tmp/mlruns"), None), (None, Some("./mlruns"))] {
        let mut cmd = sb.vintner(&cwd);
        cmd.args(["runs", "list"]);
        if let Some(f) = flag {
            cmd.args(["--tracking-uri", f]);
        }
        if let Some(e) = env {
            cmd.env("MLFLOW_TRACKING_URI", e);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("maintenance mode") && err.contains("mlflow migrate-filestore"),
            "{err}"
        );
    }
    assert!(!cwd.join("mlflow.db").exists());
}

#[test]
fn concurrent_vintner_processes_share_one_db_without_lock_errors() {
    let sb = Sandbox::new();
    let cwd = sb.mkdir("w");
    let children: Vec<_> = (0..6)
        .map(|i| {
            let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
            sb.isolate_std(&mut c);
            c.current_dir(&cwd)
                .args(["experiments", "create", &format!("exp-{i}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v = vintner_json(&sb, &cwd, &["experiments", "list"]);
    assert_eq!(v["experiments"].as_array().unwrap().len(), 7);
}
