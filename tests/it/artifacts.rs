//! Artifacts, `gc --tracking`, MLflow 3 entities and run display against the real MLflow 3.17.2:
//! MLflow's Python client logs artifacts (into an embedded store's local folders, through a real
//! `mlflow server` proxy, and to S3), datasets, nested runs and logged models; vintner lists and
//! downloads the same bytes into the same layout as `mlflow.artifacts.download_artifacts`;
//! `gc --tracking` results are checked with the MLflow client.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vintner::track::sqlite::SqliteStore;
use vintner::track::{NewRun, Tracker};

use crate::common::{Sandbox, read, snapshot, stderr, write};
use crate::peers::{self, Moto};

/// Runs a Python script with MLflow's client; its last stdout line is JSON.
fn python(sb: &Sandbox, cwd: &Path, script: &str, args: &[&str]) -> Value {
    let file = cwd.join(format!(
        "script-{}.py",
        vintner::track::validate::new_run_id()
    ));
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
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("no JSON from python ({e}):\n{stdout}\n{stderr}"))
}

fn vintner_json(sb: &Sandbox, cwd: &Path, args: &[&str]) -> Value {
    let out = sb.vintner(cwd).args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "vintner {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stdout_of(sb: &Sandbox, cwd: &Path, args: &[&str]) -> String {
    let out = sb.vintner(cwd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "vintner {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// MLflow downloads `uri` into `dst` with its own client.
const PY_DOWNLOAD: &str = r#"
import json, sys
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
out = mlflow.artifacts.download_artifacts(artifact_uri=sys.argv[2], dst_path=sys.argv[3])
print(json.dumps({"path": out}))
"#;

/// Logs a parent run with a model folder, a file, a dataset input and a logged model, a nested
/// child run, and registers the model twice (from its path and from a `runs:/` source).
const PY_LOG: &str = r#"
import json, os, sys
import mlflow
import pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("art")
os.makedirs("out/model/sub", exist_ok=True)
with open("out/model/MLmodel", "w") as f:
    f.write("flavors:\n  python_function: {}\n")
with open("out/model/sub/weights.bin", "wb") as f:
    f.write(bytes(range(256)) * 1200)
with open("out/notes.txt", "w") as f:
    f.write("größer 🍷\n")
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_metric("rmse", 0.75)
    mlflow.set_tag("team", "cellar")
    mlflow.log_artifacts("out/model", artifact_path="model")
    mlflow.log_artifact("out/notes.txt")
    ds = mlflow.data.from_pandas(pd.DataFrame({"a": [1, 2]}), name="wine-train", source="data/wine.csv")
    mlflow.log_input(ds, context="training")
    lm = mlflow.create_external_model(name="wine-lm")
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_param("alpha", "0.9")
        mlflow.log_metric("rmse", 0.8)
        mlflow.set_tag("team", "vineyard")
c = mlflow.MlflowClient()
rid = parent.info.run_id
v1 = mlflow.register_model(f"runs:/{rid}/model", "wine")
c.set_registered_model_alias("wine", "champion", v1.version)
v2 = c.create_model_version("wine", f"runs:/{rid}/model", run_id=rid)
print(json.dumps({"parent": rid, "child": child.info.run_id, "model_id": lm.model_id,
                  "experiment_id": parent.info.experiment_id,
                  "artifact_uri": parent.info.artifact_uri, "v2": v2.version}))
"#;

struct Logged {
    parent: String,
    child: String,
    model_id: String,
    artifact_uri: String,
}

fn log_with_mlflow(sb: &Sandbox, cwd: &Path, tracking_uri: &str) -> Logged {
    let v = python(sb, cwd, PY_LOG, &[tracking_uri]);
    assert_eq!(v["v2"].to_string().trim_matches('"'), "2", "{v}");
    Logged {
        parent: v["parent"].as_str().unwrap().into(),
        child: v["child"].as_str().unwrap().into(),
        model_id: v["model_id"].as_str().unwrap().into(),
        artifact_uri: v["artifact_uri"].as_str().unwrap().into(),
    }
}

/// Downloads `uri` with MLflow and with vintner into two new folders and checks that both hold
/// the same files with the same bytes; returns vintner's folder.
fn same_download_as_mlflow(
    sb: &Sandbox,
    cwd: &Path,
    tracking_uri: &str,
    uri: &str,
    name: &str,
) -> PathBuf {
    let theirs = sb.mkdir(&format!("dl-mlflow-{name}"));
    let ours = sb.path().join(format!("dl-vintner-{name}"));
    python(
        sb,
        cwd,
        PY_DOWNLOAD,
        &[tracking_uri, uri, &theirs.to_string_lossy()],
    );
    sb.vintner(cwd)
        .args(["artifacts", "download", uri, "-o"])
        .arg(&ours)
        .args(["--tracking-uri", tracking_uri])
        .assert()
        .success();
    let (a, b) = (snapshot(&theirs, false), snapshot(&ours, false));
    assert!(!a.is_empty(), "MLflow downloaded nothing for {uri}");
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>(),
        "the layout of {uri} differs from MLflow's"
    );
    for ((path, theirs), (_, ours)) in a.iter().zip(&b) {
        assert!(
            theirs == ours,
            "the bytes of {path} from {uri} differ from MLflow's:\n{}\nvs\n{}",
            String::from_utf8_lossy(theirs),
            String::from_utf8_lossy(ours)
        );
    }
    ours
}

fn file_paths(listing: &Value) -> Vec<String> {
    listing["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = f["path"].as_str().unwrap().to_string();
            if f["is_dir"] == true { p + "/" } else { p }
        })
        .collect()
}

#[test]
fn artifacts_mlflow_logged_to_an_embedded_store_download_as_mlflow_does() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let uri = format!("sqlite:///{}", repo.join("mlflow.db").display());
    let logged = log_with_mlflow(&sb, &repo, &uri);
    let run = &logged.parent;

    let root = vintner_json(
        &sb,
        &repo,
        &[
            "artifacts",
            "list",
            &format!("runs:/{run}"),
            "--tracking-uri",
            &uri,
        ],
    );
    assert_eq!(file_paths(&root), ["model/", "notes.txt"]);
    let model = vintner_json(
        &sb,
        &repo,
        &[
            "artifacts",
            "list",
            "models:/wine@champion",
            "--tracking-uri",
            &uri,
        ],
    );
    assert_eq!(file_paths(&model), ["MLmodel", "sub/"]);
    assert_eq!(model["files"][0]["file_size"], 31);

    for (u, name) in [
        (format!("runs:/{run}/model"), "run-folder"),
        (format!("runs:/{run}/notes.txt"), "run-file"),
        (
            format!("runs:/{run}/model/sub/weights.bin"),
            "run-nested-file",
        ),
        ("models:/wine@champion".to_string(), "alias"),
        ("models:/wine/2".to_string(), "runs-source"),
        ("models:/wine/latest/sub".to_string(), "latest-sub"),
        (format!("{}/model", logged.artifact_uri), "folder"),
    ] {
        same_download_as_mlflow(&sb, &repo, &uri, &u, name);
    }
    // a logged model resolves through its own artifact location (MLflow's external models have none)
    let lm = vintner_json(
        &sb,
        &repo,
        &[
            "artifacts",
            "list",
            &format!("models:/{}", logged.model_id),
            "--tracking-uri",
            &uri,
        ],
    );
    assert!(
        lm["root_uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("models/{}/artifacts", logged.model_id)),
        "{lm}"
    );

    // a download never replaces a different file without --force, and changes nothing then
    let dest = sb.path().join("again");
    let download = |force: bool| {
        let mut cmd = sb.vintner(&repo);
        cmd.args(["artifacts", "download", "models:/wine/1", "-o"])
            .arg(&dest)
            .args(["--tracking-uri", &uri]);
        if force {
            cmd.arg("--force");
        }
        cmd.assert()
    };
    download(false).success();
    let weights = dest.join("sub/weights.bin");
    let original = read(&weights);
    download(false).success(); // same bytes: nothing to do
    write(&dest.join("MLmodel"), b"edited by hand\n");
    std::fs::write(&weights, b"also edited").unwrap();
    let refused = download(false).failure().code(1);
    let err = stderr(&refused);
    assert!(err.contains("MLmodel") && err.contains("--force"), "{err}");
    assert_eq!(read(&dest.join("MLmodel")), b"edited by hand\n");
    assert_eq!(read(&weights), b"also edited", "nothing changes on refusal");
    let leftovers: Vec<_> = walkdir::WalkDir::new(&dest)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    download(true).success();
    assert_eq!(read(&weights), original);

    // bad URIs are named with the fix
    let bad = sb
        .vintner(&repo)
        .args([
            "artifacts",
            "list",
            "models:/wine/7",
            "--tracking-uri",
            &uri,
        ])
        .assert()
        .failure()
        .code(1);
    assert!(stderr(&bad).contains("models:/wine/7"), "{}", stderr(&bad));
    let proxy = sb
        .vintner(&repo)
        .args([
            "artifacts",
            "list",
            "mlflow-artifacts:/1/x",
            "--tracking-uri",
            &uri,
        ])
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&proxy).contains("MLFLOW_TRACKING_URI"),
        "{}",
        stderr(&proxy)
    );
}

#[test]
fn runs_show_lists_artifacts_dataset_inputs_and_logged_models() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let uri = format!("sqlite:///{}", repo.join("mlflow.db").display());
    let logged = log_with_mlflow(&sb, &repo, &uri);
    let shown = vintner_json(
        &sb,
        &repo,
        &["runs", "show", &logged.parent, "--tracking-uri", &uri],
    );
    let artifacts: Vec<&str> = shown["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        artifacts,
        ["model/MLmodel", "model/sub/weights.bin", "notes.txt"]
    );
    let inputs = shown["dataset_inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1, "{shown}");
    assert_eq!(inputs[0]["dataset"]["name"], "wine-train");
    assert_eq!(inputs[0]["dataset"]["source_type"], "local");
    assert!(
        inputs[0]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["key"] == "mlflow.data.context" && t["value"] == "training")
    );
    let models = shown["logged_models"].as_array().unwrap();
    assert_eq!(models.len(), 1);
    assert_eq!(models[0]["model_id"], logged.model_id.as_str());
    assert_eq!(models[0]["name"], "wine-lm");
    assert_eq!(models[0]["status"], "READY");

    let text = stdout_of(
        &sb,
        &repo,
        &["runs", "show", &logged.parent, "--tracking-uri", &uri],
    );
    for needle in [
        "Datasets",
        "wine-train",
        "training",
        "Logged models",
        "wine-lm",
        "Artifacts",
        "model/sub/weights.bin",
    ] {
        assert!(text.contains(needle), "`{needle}` missing:\n{text}");
    }
    // the child has none of these
    let child = vintner_json(
        &sb,
        &repo,
        &["runs", "show", &logged.child, "--tracking-uri", &uri],
    );
    assert_eq!(child["dataset_inputs"], serde_json::json!([]));
    assert_eq!(child["artifacts"], serde_json::json!([]));
}

#[test]
fn nested_runs_tree_compare_with_tags_and_csv() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let uri = format!("sqlite:///{}", repo.join("mlflow.db").display());
    let logged = log_with_mlflow(&sb, &repo, &uri);
    let (p, c) = (&logged.parent, &logged.child);

    let tree = stdout_of(
        &sb,
        &repo,
        &["runs", "list", "-e", "art", "--tracking-uri", &uri],
    );
    let lines: Vec<&str> = tree.lines().collect();
    assert_eq!(lines.len(), 3, "{tree}");
    assert!(
        lines[1].starts_with(p.as_str()) && lines[1].contains(" parent "),
        "{tree}"
    );
    assert!(
        lines[2].starts_with(c.as_str()) && lines[2].contains("└─ child"),
        "{tree}"
    );
    let flat = stdout_of(
        &sb,
        &repo,
        &[
            "runs",
            "list",
            "-e",
            "art",
            "--flat",
            "--tracking-uri",
            &uri,
        ],
    );
    assert!(!flat.contains('└'), "{flat}");
    assert!(
        flat.lines().nth(1).unwrap().starts_with(c.as_str()),
        "newest first:\n{flat}"
    );

    let csv_text = stdout_of(
        &sb,
        &repo,
        &[
            "runs",
            "list",
            "-e",
            "art",
            "--format",
            "csv",
            "--tracking-uri",
            &uri,
        ],
    );
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    for col in [
        "run_id",
        "experiment_id",
        "status",
        "start_time",
        "metrics.rmse",
        "params.alpha",
        "tags.team",
        "tags.mlflow.parentRunId",
    ] {
        assert!(header.iter().any(|h| h == col), "no `{col}` in {header:?}");
    }
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let child_row = rows
        .iter()
        .find(|r| &r[col("run_id")] == c.as_str())
        .unwrap();
    assert_eq!(&child_row[col("metrics.rmse")], "0.8");
    assert_eq!(&child_row[col("params.alpha")], "0.9");
    assert_eq!(&child_row[col("tags.mlflow.parentRunId")], p.as_str());

    let compare = stdout_of(
        &sb,
        &repo,
        &["runs", "compare", p, c, "--tracking-uri", &uri],
    );
    assert!(compare.contains("* tags.team"), "{compare}");
    assert!(
        compare.contains("cellar") && compare.contains("vineyard"),
        "{compare}"
    );
    assert!(
        compare.contains("* params.alpha") && compare.contains("* metrics.rmse"),
        "{compare}"
    );
    let compare_csv = stdout_of(
        &sb,
        &repo,
        &[
            "runs",
            "compare",
            p,
            c,
            "--format",
            "csv",
            "--tracking-uri",
            &uri,
        ],
    );
    let mut lines = compare_csv.lines();
    assert_eq!(lines.next().unwrap(), format!("field,{p},{c}"));
    assert!(
        compare_csv
            .lines()
            .any(|l| l == "tags.team,cellar,vineyard"),
        "{compare_csv}"
    );
    assert!(
        compare_csv.lines().any(|l| l == "params.alpha,0.5,0.9"),
        "{compare_csv}"
    );
}

#[test]
fn artifacts_through_a_real_mlflow_server_proxy_download_as_mlflow_does() {
    let server = crate::track::server();
    let sb = Sandbox::new();
    let work = sb.mkdir("work");
    let url = server.url.as_str();
    let script = PY_LOG
        .replace("\"art\"", "\"art-proxy\"")
        .replace("\"wine\"", "\"wine-proxy\"");
    let v = python(&sb, &work, &script, &[url]);
    let run = v["parent"].as_str().unwrap();
    let root = v["artifact_uri"].as_str().unwrap();
    assert!(
        root.starts_with("mlflow-artifacts:"),
        "the server proxies artifacts: {root}"
    );

    let listing = vintner_json(
        &sb,
        &work,
        &[
            "artifacts",
            "list",
            &format!("runs:/{run}/model"),
            "--tracking-uri",
            url,
        ],
    );
    assert_eq!(file_paths(&listing), ["MLmodel", "sub/"]);
    for (u, name) in [
        (format!("runs:/{run}/model"), "run-folder"),
        (format!("runs:/{run}/notes.txt"), "run-file"),
        ("models:/wine-proxy@champion".to_string(), "alias"),
        ("models:/wine-proxy/2".to_string(), "runs-source"),
        (format!("{root}/model/sub"), "proxy-uri"),
    ] {
        same_download_as_mlflow(&sb, &work, url, &u, name);
    }
    let shown = vintner_json(&sb, &work, &["runs", "show", run, "--tracking-uri", url]);
    assert_eq!(shown["artifacts"].as_array().unwrap().len(), 3, "{shown}");
    assert_eq!(shown["dataset_inputs"][0]["dataset"]["name"], "wine-train");
    assert_eq!(shown["logged_models"][0]["name"], "wine-lm");

    // gc --tracking needs the backend store itself, as `mlflow gc` does
    let refused = sb
        .vintner(&work)
        .args(["gc", "--tracking", "-f", "--tracking-uri", url])
        .assert()
        .failure()
        .code(1);
    let err = stderr(&refused);
    assert!(
        err.contains("mlflow gc") && err.contains("backend store"),
        "{err}"
    );
}

#[test]
fn s3_artifacts_are_listed_and_downloaded_directly() {
    let moto = Moto::start();
    moto.create_bucket("mlruns");
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let db = repo.join("mlflow.db");
    let store = SqliteStore::open(&db).unwrap();
    let exp = store
        .create_experiment("s3-exp", Some("s3://mlruns/exp"), &[])
        .unwrap();
    let run = store
        .create_run(&NewRun {
            experiment_id: exp.experiment_id.clone(),
            ..Default::default()
        })
        .unwrap();
    let root = run.info.artifact_uri.clone();
    assert!(root.starts_with("s3://mlruns/exp/"), "{root}");
    drop(store);
    let weights: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let key_root = root.trim_start_matches("s3://mlruns/");
    // uploaded by boto3, as MLflow's S3 artifact repository writes them
    let script = format!(
        "import boto3, sys\n\
         s3 = boto3.client('s3', endpoint_url='{ep}', aws_access_key_id='test', \
         aws_secret_access_key='test', region_name='us-east-1')\n\
         s3.put_object(Bucket='mlruns', Key='{key_root}/model/MLmodel', Body=b'flavors: {{}}\\n')\n\
         s3.put_object(Bucket='mlruns', Key='{key_root}/model/sub/weights.bin', Body=open(sys.argv[1], 'rb').read())\n",
        ep = moto.endpoint
    );
    let weights_file = sb.path().join("weights.bin");
    std::fs::write(&weights_file, &weights).unwrap();
    let out = std::process::Command::new(peers::bin("moto", "python"))
        .args(["-c", &script])
        .arg(&weights_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "upload: {out:?}");
    let s3 = |cmd: &mut assert_cmd::Command| {
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("MLFLOW_S3_ENDPOINT_URL", &moto.endpoint);
    };
    let uri = format!("sqlite:///{}", db.display());
    let mut list = sb.vintner(&repo);
    s3(&mut list);
    let out = list
        .args([
            "artifacts",
            "list",
            &format!("runs:/{}/model", run.info.run_id),
            "--json",
            "--tracking-uri",
            &uri,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(file_paths(&listing), ["MLmodel", "sub/"]);

    let dest = sb.path().join("dl");
    let mut dl = sb.vintner(&repo);
    s3(&mut dl);
    dl.args([
        "artifacts",
        "download",
        &format!("runs:/{}/model", run.info.run_id),
        "-o",
    ])
    .arg(&dest)
    .args(["--tracking-uri", &uri])
    .assert()
    .success();
    assert_eq!(read(&dest.join("model/sub/weights.bin")), weights);
    assert_eq!(read(&dest.join("model/MLmodel")), b"flavors: {}\n");
    // an s3:// URI needs no tracking store at all
    let bare = sb.mkdir("elsewhere");
    let mut direct = sb.vintner(&bare);
    s3(&mut direct);
    direct
        .args([
            "artifacts",
            "download",
            &format!("{root}/model/sub/weights.bin"),
            "-o",
            "got",
        ])
        .assert()
        .success();
    assert_eq!(read(&bare.join("got/weights.bin")), weights);
    assert!(!bare.join("mlflow.db").exists());
}

/// Creates experiments and runs with MLflow's client, deletes some, and logs an artifact to each
/// run; prints their ids.
const PY_GC_SETUP: &str = r#"
import json, os, sys
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
c = mlflow.MlflowClient()
keep_exp = c.create_experiment("keep")
gone_exp = c.create_experiment("gone")
os.makedirs("a", exist_ok=True)
with open("a/file.txt", "w") as f:
    f.write("artifact\n")
ids = {}
for name, exp in [("deleted1", keep_exp), ("active", keep_exp), ("deleted2", keep_exp), ("in_gone", gone_exp)]:
    r = c.create_run(exp, run_name=name)
    c.log_artifact(r.info.run_id, "a/file.txt")
    c.set_terminated(r.info.run_id)
    ids[name] = r.info.run_id
    ids[name + "_artifacts"] = r.info.artifact_uri
c.delete_run(ids["deleted1"])
c.delete_run(ids["deleted2"])
c.delete_experiment(gone_exp)
ids["keep_exp"] = keep_exp
ids["gone_exp"] = gone_exp
print(json.dumps(ids))
"#;

/// Which of the runs and experiments MLflow's client still finds.
const PY_GC_CHECK: &str = r#"
import json, sys
import mlflow
from mlflow.exceptions import MlflowException
mlflow.set_tracking_uri(sys.argv[1])
c = mlflow.MlflowClient()
def exists(f):
    try:
        f()
        return True
    except MlflowException:
        return False
ids = json.loads(sys.argv[2])
print(json.dumps({
    "runs": {k: exists(lambda k=k: c.get_run(ids[k])) for k in ["deleted1", "active", "deleted2", "in_gone"]},
    "experiments": {k: exists(lambda k=k: c.get_experiment(ids[k])) for k in ["keep_exp", "gone_exp"]},
}))
"#;

#[test]
fn gc_tracking_removes_deleted_runs_and_experiments_as_mlflow_gc_does() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let uri = format!("sqlite:///{}", repo.join("mlflow.db").display());
    let ids = python(&sb, &repo, PY_GC_SETUP, &[&uri]);
    let id = |k: &str| ids[k].as_str().unwrap().to_string();
    let artifacts = |k: &str| PathBuf::from(id(&format!("{k}_artifacts")));
    for k in ["deleted1", "active", "deleted2", "in_gone"] {
        assert!(artifacts(k).join("file.txt").is_file(), "{k}");
    }
    let check = || python(&sb, &repo, PY_GC_CHECK, &[&uri, &ids.to_string()]);
    let gc = || {
        let mut cmd = sb.vintner(&repo);
        cmd.args(["gc", "--tracking", "--tracking-uri", &uri]);
        cmd
    };

    // without a terminal and without --force nothing happens
    let asked = gc().assert().failure().code(1);
    assert!(stderr(&asked).contains("--force"), "{}", stderr(&asked));
    // named runs must be deleted; too young with --older-than
    let active = gc()
        .args(["-f", "--run-ids", &id("active")])
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&active).contains(&id("active")),
        "{}",
        stderr(&active)
    );
    let young = gc()
        .args(["-f", "--older-than", "1d", "--run-ids", &id("deleted1")])
        .assert()
        .failure()
        .code(1);
    assert!(stderr(&young).contains("1d"), "{}", stderr(&young));
    let bad_age = gc()
        .args(["-f", "--older-than", "yesterday"])
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&bad_age).contains("#d#h#m#s"),
        "{}",
        stderr(&bad_age)
    );
    // with --older-than everything here is too recent
    gc().args(["-f", "--older-than", "1d"]).assert().success();
    let untouched = check();
    assert_eq!(untouched["runs"]["deleted1"], true, "{untouched}");
    assert_eq!(untouched["experiments"]["gone_exp"], true, "{untouched}");

    // --dry lists and removes nothing
    let dry = stdout_of(
        &sb,
        &repo,
        &["gc", "--tracking", "--dry", "--tracking-uri", &uri],
    );
    assert!(
        dry.contains(&id("deleted1")) && dry.contains(&id("in_gone")),
        "{dry}"
    );
    assert!(!dry.contains(&id("active")), "{dry}");
    assert_eq!(check(), untouched);

    gc().arg("-f").assert().success();
    let after = check();
    assert_eq!(
        after,
        serde_json::json!({
            "runs": {"deleted1": false, "active": true, "deleted2": false, "in_gone": false},
            "experiments": {"keep_exp": true, "gone_exp": false},
        })
    );
    for k in ["deleted1", "deleted2", "in_gone"] {
        assert!(!artifacts(k).exists(), "artifacts of {k} are removed");
    }
    assert!(artifacts("active").join("file.txt").is_file());
    // the store is still MLflow's: the active run reads back whole
    let run = vintner_json(
        &sb,
        &repo,
        &["runs", "show", &id("active"), "--tracking-uri", &uri],
    );
    assert_eq!(run["run"]["info"]["run_name"], "active");
    // nothing left: a second collection is a no-op
    gc().arg("-f").assert().success();
}
