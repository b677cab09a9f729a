//! The embedded store behaves as MLflow's own SQL store: a corpus of filter strings and
//! order_by clauses is run by the real MLflow 3.17.2 client and by vintner on the same
//! `mlflow.db` (and over REST against a real `mlflow server` on it); every answer must be the
//! same run set, or both must refuse. Also what MLflow's registry hides (soft-deleted versions).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vintner::track::rest::{RestConfig, RestTracker};
use vintner::track::sqlite::SqliteStore;
use vintner::track::{SearchRuns, Tracker, ViewType};

use crate::common::Sandbox;
use crate::peers;

/// Runs `script` with MLflow's Python and returns the JSON on its last stdout line.
fn python(sb: &Sandbox, cwd: &Path, script: &str, args: &[&str]) -> Value {
    let file = cwd.join("parity-script.py");
    std::fs::write(&file, script).unwrap();
    let out = peers::mlflow_python(sb, cwd)
        .arg(&file)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed:\n{stderr}\n{stdout}");
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("no JSON ({e}):\n{stdout}\n{stderr}"))
}

/// Seven runs written by MLflow's client: params, metrics (one NaN), tags with quotes inside,
/// every status, a deleted run, dataset inputs with contexts.
const SEED: &str = r#"
import json, math, sys, warnings
warnings.filterwarnings("ignore")
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
c = MlflowClient(tracking_uri=sys.argv[1])
exp = c.create_experiment("parity")
ids = []
def run(i, name, params, metrics, tags, status, datasets=()):
    r = c.create_run(exp, start_time=1_700_000_000_000 + 1000 * i, run_name=name)
    rid = r.info.run_id
    c.log_batch(rid, metrics=[Metric(k, v, 1_700_000_000_000, 0) for k, v in metrics.items()],
                params=[Param(k, v) for k, v in params.items()],
                tags=[RunTag(k, v) for k, v in tags.items()])
    if datasets:
        c.log_inputs(rid, datasets=[DatasetInput(Dataset(name=n, digest=d, source_type="local",
            source="data.csv"), tags=[InputTag(key="mlflow.data.context", value=ctx)])
            for n, d, ctx in datasets])
    if status != "RUNNING":
        c.set_terminated(rid, status, end_time=1_700_000_500_000 + 1000 * i)
    ids.append(rid)
    return rid
run(0, "mlp-1", {"model": "mlp", "lr": "0.01", "a b": "x", "my-param": "1"},
    {"rmse": 0.5, "mae": 0.3, "val loss": 1.5}, {"team": "red", "t": "o''brien"}, "FINISHED",
    [("wine", "d1", "train"), ("wine-red", "d2", "eval")])
run(1, "enet-1", {"model": "enet", "lr": "0.1"}, {"rmse": 0.7, "mae": math.nan},
    {"team": "blue", "t": "o\\'brien"}, "FAILED", [("wine-red", "d2", "train")])
run(2, "MLP-2", {"model": "MLP", "lr": "1e-3"}, {"rmse": 1.0, "val loss": -2.0},
    {"t": "o'brien \\\"q\\\""}, "RUNNING")
run(3, "trees", {"model": "trees"}, {"rmse": math.nan}, {"team": "red"}, "KILLED")
gone = run(4, "deleted", {"model": "mlp"}, {"rmse": 0.2}, {}, "FINISHED", [("wine", "d1", "train")])
c.delete_run(gone)
run(5, "bare", {}, {}, {}, "FINISHED")
run(6, "Run_x%", {"model": "m%l_p"}, {"rmse": 3e3}, {"team": "RED"}, "SCHEDULED")
print(json.dumps({"experiment": exp, "runs": ids}))
"#;

/// Answers every query of the corpus with `MlflowClient.search_runs`, in one process.
const EVALUATE: &str = r#"
import json, sys, warnings
warnings.filterwarnings("ignore")
from mlflow import MlflowClient
from mlflow.entities import ViewType
c = MlflowClient(tracking_uri=sys.argv[1])
out = []
for q in json.load(open(sys.argv[3])):
    try:
        runs = c.search_runs([sys.argv[2]], filter_string=q["filter"], run_view_type=ViewType.ALL,
                             max_results=1000, order_by=q["order_by"] or None)
        out.append([r.info.run_id for r in runs])
    except Exception as e:
        out.append({"error": str(e)[:200]})
print(json.dumps(out))
"#;

#[derive(Debug, Clone, serde::Serialize)]
struct Query {
    filter: String,
    order_by: Vec<String>,
}

/// Filters built systematically (each key kind × each comparator × value kinds), the
/// malformed ones users write, and order_by clauses.
fn corpus(runs: &[String]) -> Vec<Query> {
    let keys: &[(&str, &str)] = &[
        ("metrics.rmse", "num"),
        ("metric.mae", "num"),
        ("metrics.`val loss`", "num"),
        ("metrics.\"val loss\"", "num"),
        ("params.model", "str"),
        ("param.lr", "str"),
        ("params.`a b`", "str"),
        ("params.\"my-param\"", "str"),
        ("params.my-param", "str"),
        ("tags.team", "str"),
        ("tag.t", "str"),
        ("tags.`mlflow.runName`", "str"),
        ("run_name", "str"),
        ("attributes.status", "str"),
        ("attr.user_id", "str"),
        ("run_id", "id"),
        ("artifact_uri", "str"),
        ("start_time", "num"),
        ("attribute.created", "num"),
        ("end_time", "num"),
        ("`Run name`", "str"),
        ("datasets.name", "str"),
        ("dataset.digest", "str"),
        ("datasets.context", "str"),
    ];
    let comparators = [
        "=", "!=", "<", "<=", ">", ">=", "LIKE", "ilike", "IN", "NOT IN", "==", "<>",
    ];
    let id = &runs[0];
    let mut out: Vec<String> = Vec::new();
    for (key, kind) in keys {
        let (natural, other) = match *kind {
            "num" => ("0.7", "'1'"),
            "id" => (id.as_str(), "1"),
            _ => ("'mlp'", "1"),
        };
        let natural = if *kind == "id" {
            format!("'{natural}'")
        } else if key.contains("status") {
            "'FINISHED'".into()
        } else if key.contains("time") || key.contains("created") {
            "1700000002000".into()
        } else if key.starts_with("datasets.name") {
            "'wine-red'".into()
        } else if key.contains("digest") {
            "'d1'".into()
        } else if key.contains("context") {
            "'train'".into()
        } else if key.contains("team") {
            "'red'".into()
        } else if key.contains("runName") || key.contains("un name") || *key == "run_name" {
            "'mlp-1'".into()
        } else {
            natural.to_string()
        };
        for cmp in comparators {
            let value = match cmp {
                "IN" | "NOT IN" => format!("({natural}, 'enet')"),
                "LIKE" | "ilike" if *kind == "str" || *kind == "id" => "'%E%'".into(),
                _ => natural.clone(),
            };
            out.push(format!("{key} {cmp} {value}"));
        }
        out.push(format!("{key} = {other}"));
        out.push(format!("{key} IS NULL"));
        out.push(format!("{key} is not null"));
    }
    out.extend(
        [
            "params.model = 'mlp' and",
            "and metrics.rmse < 1",
            "params.model = 'mlp' and and metrics.rmse < 1",
            "metrics.rmse < 1 metrics.mae < 1",
            "metrics.rmse < 1 AND params.lr = '0.01' AND tags.team = 'red'",
            "metrics.rmse<1and params.model='mlp'",
            "metrics.rmse < +1",
            "metrics.rmse < -1",
            "metrics.rmse >= 1e3",
            "metrics.rmse > .5",
            "metrics.rmse = 1.",
            "metrics.rmse < 1 or metrics.mae < 1",
            "metrics.rmse < '1'",
            "metrics.rmse < 0x10",
            "metrics.rmse <",
            "tags.`` = 'x'",
            "tags.\"\" = 'x'",
            "params. = 'x'",
            "tags.t = 'o''brien'",
            "tags.t = 'o\\'brien'",
            "tags.t = \"o'brien \\\"q\\\"\"",
            "tags.t LIKE '%brien%'",
            "tags.t = 'unterminated",
            "params.model = mlp",
            "params.model = 'mlp'::'x'",
            "params.model NOT LIKE 'mlp'",
            "params.model RLIKE 'mlp'",
            "params.model LIKE 'm\\%l\\_p'",
            "params.model LIKE 'M%'",
            "params.model ILIKE 'M%'",
            "params.model IN ('mlp')",
            "params.created = 'x'",
            "run_id IN ('a',)",
            "run_id IN ()",
            "run_id IN ('a' 'b')",
            "run_id IN (('x', 'y'))",
            "run_id IN (1, 2)",
            "status IN ('FINISHED')",
            "run_id = ('a')",
            "(metrics.rmse < 1)",
            "metrics.rmse < 1;",
            "metrics.rmse < 1; metrics.mae < 1",
            "metrics.rmse = 1 = 2",
            "foo.bar = 'x'",
            "nope = 'x'",
            "datasets.name IS NULL",
            "datasets.size = 'x'",
            "datasets.name IN ('wine', 'x')",
            "datasets.name NOT IN ('wine')",
            "datasets.context = 'eval' and datasets.name = 'wine-red'",
            "status = 'RUNNING' and end_time IS NULL",
            "status = 'SCHEDULED'",
            "metrics.rmse != 1000",
            "metrics.mae != 0.3",
            "metrics.rmse > 0 AND metrics.rmse < 1",
            "attributes.run_id NOT IN ('x', 'y')",
            "tags.team = 'red' -- comment",
            "   ",
            "",
        ]
        .map(String::from),
    );
    let mut queries: Vec<Query> = out
        .into_iter()
        .map(|filter| Query {
            filter,
            order_by: Vec::new(),
        })
        .collect();
    for order in [
        "metrics.rmse",
        "metrics.rmse DESC",
        "metrics.`val loss` asc",
        "params.model",
        "tags.team DESC",
        "start_time",
        "attr.created DESC",
        "run_name",
        "status DESC",
        "experiment_id",
        "datasets.name",
        "metrics.rmse sideways",
        " metrics.rmse",
        "metrics.rmse DESC NULLS LAST",
        "params.model \"desc\"",
    ] {
        queries.push(Query {
            filter: String::new(),
            order_by: vec![order.into()],
        });
    }
    queries.push(Query {
        filter: String::new(),
        order_by: vec!["metrics.rmse".into(), "metric.rmse DESC".into()],
    });
    queries
}

/// What MLflow answered: `None` for a refusal, else the run ids (in order).
fn mlflow_answers(v: &Value) -> Vec<Option<Vec<String>>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a.as_array().map(|ids| {
                ids.iter()
                    .map(|i| i.as_str().unwrap().to_string())
                    .collect()
            })
        })
        .collect()
}

/// Compares vintner with MLflow on every query; returns the mismatches, described.
fn compare(
    tracker: &dyn Tracker,
    experiment: &str,
    queries: &[Query],
    expected: &[Option<Vec<String>>],
) -> (usize, usize, Vec<String>) {
    let (mut accepted, mut refused, mut wrong) = (0, 0, Vec::new());
    for (q, want) in queries.iter().zip(expected) {
        let got = tracker
            .search_runs(&SearchRuns {
                experiment_ids: vec![experiment.into()],
                filter: Some(q.filter.clone()),
                order_by: q.order_by.clone(),
                max_results: 1000,
                page_token: None,
                view: ViewType::All,
            })
            .map(|p| {
                p.runs
                    .into_iter()
                    .map(|r| r.info.run_id)
                    .collect::<Vec<_>>()
            });
        let same = match (&got, want) {
            (Err(_), None) => {
                refused += 1;
                true
            }
            (Ok(g), Some(w)) if !q.order_by.is_empty() => {
                accepted += 1;
                g == w
            }
            (Ok(g), Some(w)) => {
                accepted += 1;
                g.iter().collect::<BTreeSet<_>>() == w.iter().collect::<BTreeSet<_>>()
            }
            _ => false,
        };
        if !same {
            wrong.push(format!(
                "{:?} order_by {:?}: MLflow {:?}, vintner {:?}",
                q.filter,
                q.order_by,
                want,
                got.map_err(|e| e.to_string())
            ));
        }
    }
    (accepted, refused, wrong)
}

struct Seeded {
    _sb: Sandbox,
    dir: PathBuf,
    db: PathBuf,
    experiment: String,
    queries: Vec<Query>,
    expected: Vec<Option<Vec<String>>>,
}

/// One store seeded by MLflow and the corpus answered by MLflow on it.
fn seeded() -> Seeded {
    let sb = Sandbox::new();
    let dir = sb.mkdir("store");
    let db = dir.join("mlflow.db");
    let uri = format!("sqlite:///{}", db.display());
    let seed = python(&sb, &dir, SEED, &[&uri]);
    let experiment = seed["experiment"].as_str().unwrap().to_string();
    let runs: Vec<String> = seed["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let queries = corpus(&runs);
    let corpus_file = dir.join("corpus.json");
    std::fs::write(&corpus_file, serde_json::to_vec(&queries).unwrap()).unwrap();
    let answers = python(
        &sb,
        &dir,
        EVALUATE,
        &[&uri, &experiment, &corpus_file.to_string_lossy()],
    );
    let expected = mlflow_answers(&answers);
    assert_eq!(expected.len(), queries.len());
    Seeded {
        _sb: sb,
        dir,
        db,
        experiment,
        queries,
        expected,
    }
}

#[test]
fn embedded_search_runs_answers_every_filter_as_mlflow() {
    let s = seeded();
    let filters = s.queries.iter().filter(|q| q.order_by.is_empty()).count();
    assert!(filters >= 200, "the corpus has only {filters} filters");
    let store = SqliteStore::open(&s.db).unwrap();
    let (accepted, refused, wrong) = compare(&store, &s.experiment, &s.queries, &s.expected);
    eprintln!(
        "embedded: {} queries ({filters} filters), {accepted} answered alike, {refused} refused by both",
        s.queries.len()
    );
    assert!(
        accepted > 80 && refused > 80,
        "the corpus must exercise both sides"
    );
    assert!(
        wrong.is_empty(),
        "{} of {} queries differ from MLflow:\n{}",
        wrong.len(),
        s.queries.len(),
        wrong.join("\n")
    );
}

#[test]
fn rest_search_runs_answers_every_filter_as_mlflow() {
    let s = seeded();
    let server_dir = tempfile::Builder::new()
        .prefix("vintner-parity-server-")
        .tempdir()
        .unwrap()
        .keep();
    let db = server_dir.join("server.db");
    std::fs::copy(&s.db, &db).unwrap();
    let (url, _watchdog) = peers::start_mlflow_server(
        &server_dir,
        &[
            "--backend-store-uri",
            &format!("sqlite:///{}", db.display()),
            "--workers",
            "1",
        ],
    );
    let mut cfg = RestConfig::from_env(&url, &|_| None).unwrap();
    cfg.max_retries = 3;
    cfg.backoff_factor = 0.2;
    let rest = RestTracker::connect(cfg).unwrap();
    let (accepted, refused, wrong) = compare(&rest, &s.experiment, &s.queries, &s.expected);
    eprintln!(
        "REST: {} queries, {accepted} answered alike, {refused} refused by both",
        s.queries.len()
    );
    let _ = &s.dir;
    assert!(
        wrong.is_empty(),
        "{} of {} queries differ from MLflow over REST:\n{}",
        wrong.len(),
        s.queries.len(),
        wrong.join("\n")
    );
}

/// Three versions registered by MLflow, the third deleted with MLflow's `delete_model_version`
/// (a soft delete: the row stays with stage `Deleted_Internal`).
const SOFT_DELETE: &str = r#"
import json, sys, warnings
warnings.filterwarnings("ignore")
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1], registry_uri=sys.argv[1])
c.create_registered_model("wine-model")
for i in range(3):
    c.create_model_version("wine-model", f"file:///models/v{i + 1}")
c.set_registered_model_alias("wine-model", "champion", "2")
c.delete_model_version("wine-model", "3")
print(json.dumps({"versions": sorted(int(v.version) for v in c.search_model_versions("name = 'wine-model'"))}))
"#;

const RESOLVE_ALIASES: &str = r#"
import json, sys, warnings
warnings.filterwarnings("ignore")
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1], registry_uri=sys.argv[1])
out = {}
for alias in ["champion", "resurrect"]:
    try:
        out[alias] = int(c.get_model_version_by_alias("wine-model", alias).version)
    except Exception as e:
        out[alias] = None
print(json.dumps(out))
"#;

#[test]
fn model_versions_deleted_by_mlflow_are_invisible_and_cannot_take_an_alias() {
    let sb = Sandbox::new();
    let dir = sb.mkdir("store");
    let db = dir.join("mlflow.db");
    let uri = format!("sqlite:///{}", db.display());
    let seen = python(&sb, &dir, SOFT_DELETE, &[&uri]);
    assert_eq!(seen["versions"], serde_json::json!([1, 2]));
    let vintner_json = |args: &[&str]| -> Value {
        let out = sb
            .vintner(&dir)
            .args(args)
            .args(["--tracking-uri", &uri, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "vintner {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let shown = vintner_json(&["models", "show", "wine-model"]);
    let versions: Vec<u64> = shown["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![2, 1], "{shown}");
    let text = sb
        .vintner(&dir)
        .args(["models", "list", "--tracking-uri", &uri])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let row = text.lines().find(|l| l.contains("wine-model")).unwrap();
    assert!(
        row.split_whitespace().any(|w| w == "2") && !row.split_whitespace().any(|w| w == "3"),
        "the latest live version is 2: {text}"
    );
    let store = SqliteStore::open(&db).unwrap();
    assert!(store.get_model_version("wine-model", 3).is_err());
    let out = sb
        .vintner(&dir)
        .args([
            "models",
            "alias",
            "set",
            "wine-model",
            "resurrect",
            "3",
            "--tracking-uri",
            &uri,
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "an alias was set on a deleted version"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("version 3"), "{stderr}");
    let aliases = python(&sb, &dir, RESOLVE_ALIASES, &[&uri]);
    assert_eq!(
        aliases,
        serde_json::json!({"champion": 2, "resurrect": null})
    );
}

/// `runs list`/`runs show` as an MLflow user expects: page sizes within MLflow's bounds, `-e 1`
/// the experiment with id 1, deleted runs marked, no end time for a running run, tag values
/// that cannot drive the terminal.
#[test]
fn runs_commands_follow_mlflow_limits_and_print_safely() {
    use vintner::track::{NewRun, Tag};
    let sb = Sandbox::new();
    let dir = sb.mkdir("store");
    let db = dir.join("mlflow.db");
    let uri = format!("sqlite:///{}", db.display());
    let store = SqliteStore::open(&db).unwrap();
    let first = store
        .create_experiment("first", None, &[])
        .unwrap()
        .experiment_id;
    let named_one = store
        .create_experiment("1", None, &[])
        .unwrap()
        .experiment_id;
    assert_eq!(first, "1");
    assert_ne!(named_one, "1");
    let new_run = |exp: &str, name: &str, tags: Vec<Tag>| {
        store
            .create_run(&NewRun {
                experiment_id: exp.into(),
                run_name: Some(name.into()),
                start_time: None,
                user_id: None,
                tags,
            })
            .unwrap()
            .info
            .run_id
    };
    let in_first = new_run(
        &first,
        "in-first",
        vec![Tag::new("note", "\u{1b}[2J\u{1b}]0;pwned\u{7}")],
    );
    let in_named = new_run(&named_one, "in-named-one", vec![]);
    let gone = new_run(&first, "gone", vec![]);
    store.delete_run(&gone).unwrap();
    drop(store);
    let vintner = |args: &[&str]| {
        sb.vintner(&dir)
            .args(args)
            .args(["--tracking-uri", &uri])
            .output()
            .unwrap()
    };
    for bad in ["0", "60000", "50001"] {
        let out = vintner(&["runs", "list", "--max-results", bad]);
        assert!(!out.status.success(), "--max-results {bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--max-results") && err.contains("50000"),
            "{err}"
        );
    }
    assert!(
        vintner(&["runs", "list", "--max-results", "50000"])
            .status
            .success()
    );
    // -e 1: the experiment whose id is 1, not the one named "1"
    let out = vintner(&["runs", "list", "-e", "1", "--json"]);
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = page["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["info"]["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![in_first.as_str()], "{page}");
    assert!(!ids.contains(&in_named.as_str()));
    // --all marks the deleted run
    let out = vintner(&["runs", "list", "-e", "first", "--all"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text.lines().find(|l| l.contains(&gone)).unwrap();
    assert!(row.contains("deleted"), "{text}");
    let row = text.lines().find(|l| l.contains(&in_first)).unwrap();
    assert!(!row.contains("deleted"), "{text}");
    // a running run has no end; escapes in a tag are shown, not obeyed
    let out = vintner(&["runs", "show", &in_first]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RUNNING"), "{text}");
    assert!(!text.contains("ended"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("\\u{1b}[2J"), "{text}");
    // `databricks` is Databricks, not a folder of MLflow's file store
    let out = sb
        .vintner(&dir)
        .args(["runs", "list", "--tracking-uri", "databricks"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && !err.contains("file store"),
        "{err}"
    );
}
