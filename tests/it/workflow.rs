//! The whole workflow, end to end on embedded defaults (local remote + `mlflow.db`) from a fresh
//! project; then the real MLflow client and the real DVC check what vintner left behind. The
//! team setups (a real `mlflow server`, S3) are in `team`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Sandbox, git, snapshot, stderr as stderr_of};
use crate::peers;

/// A project with the red wine data versioned and pushed, tuned for fast tests.
pub(crate) fn project(sb: &Sandbox, name: &str, remote: Option<&Path>) -> PathBuf {
    project_with(sb, name, remote, &|toml| toml)
}

/// [`project`], with `tune` applied to its `vintner.toml` (red wine, 30 trees, 3 folds) before
/// the data is added and committed.
pub(crate) fn project_with(
    sb: &Sandbox,
    name: &str,
    remote: Option<&Path>,
    tune: &dyn Fn(String) -> String,
) -> PathBuf {
    let dir = sb.mkdir(name);
    let mut init = sb.vintner(&dir);
    init.arg("init");
    match remote {
        Some(r) => init.arg("--remote").arg(r),
        None => init.arg("--no-remote"),
    };
    init.assert().success();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/winequality-red.csv");
    std::fs::copy(&src, dir.join("data/winequality-red.csv")).unwrap();
    let toml = std::fs::read_to_string(dir.join("vintner.toml")).unwrap();
    let toml = toml
        .replace(
            "paths = [\"data/winequality-white.csv\"]",
            "paths = [\"data/winequality-red.csv\"]",
        )
        .replace("n_estimators = 500", "n_estimators = 30")
        .replace("folds = 5", "folds = 3");
    std::fs::write(dir.join("vintner.toml"), tune(toml)).unwrap();
    sb.vintner(&dir)
        .args(["add", "data/winequality-red.csv"])
        .assert()
        .success();
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "data"]);
    dir
}

fn json(sb: &Sandbox, cwd: &Path, args: &[&str]) -> Value {
    let out = sb.vintner(cwd).args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "vintner {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("vintner {args:?}: {e}"))
}

fn train(sb: &Sandbox, dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["train"];
    args.extend_from_slice(extra);
    json(sb, dir, &args)
}

#[test]
fn embedded_workflow_from_a_fresh_project_to_mlflow_and_dvc() {
    let sb = Sandbox::new();
    let remote = sb.path().join("remote");
    let proj = project(&sb, "proj", Some(&remote));
    sb.vintner(&proj).arg("push").assert().success();

    // train: the run, the model versioned and pushed, lineage recorded.
    let t = train(&sb, &proj, &["--run-name", "first"]);
    let run_id = t["run_id"].as_str().unwrap().to_string();
    let model_md5 = t["model"]["md5"].as_str().unwrap().to_string();

    assert!(model_md5.ends_with(".dir"), "{t}");
    assert_eq!(t["model"]["path"], "models/wine-quality");
    assert_eq!(t["cv"]["folds"].as_array().unwrap().len(), 3);
    let rmse = t["cv"]["mean"]["rmse"].as_f64().unwrap();
    assert!((0.55..0.75).contains(&rmse), "rmse {rmse}");
    let remote_obj = remote
        .join("files/md5")
        .join(&model_md5[..2])
        .join(&model_md5[2..]);
    assert!(remote_obj.is_file(), "model manifest pushed to the remote");
    git(&proj, &["add", "-A"]);
    git(&proj, &["commit", "-qm", "model"]);

    // register: one version per run, alias moved.
    let r = json(&sb, &proj, &["register"]);
    assert_eq!(r["version"], 1);
    assert_eq!(r["created"], true);
    assert_eq!(r["run_id"], run_id.as_str());
    let again = json(&sb, &proj, &["register"]);
    assert_eq!(again["version"], 1);
    assert_eq!(again["created"], false);

    // infer: on a CSV with the target (scored), and on the exact training data (no --input).
    let out = sb
        .vintner(&proj)
        .args([
            "infer",
            "--input",
            "data/winequality-red.csv",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let p: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(p["predictions"].as_array().unwrap().len(), 1599);
    assert!(
        p["metrics"]["rmse"].as_f64().unwrap() < 0.5,
        "in-sample rmse {p}"
    );
    let out = sb
        .vintner(&proj)
        .args(["infer", "--output", "pred.csv"])
        .assert()
        .success();
    assert!(
        stderr_of(&out).contains("wine-quality@champion"),
        "{}",
        stderr_of(&out)
    );
    let csv = std::fs::read_to_string(proj.join("pred.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1600);
    assert_eq!(csv.lines().next(), Some("prediction"));

    // reproduce: same data by md5, same params and seed, same metrics.
    let rep = json(&sb, &proj, &["reproduce", &run_id]);
    assert_eq!(rep["all_match"], true, "{rep}");

    // The real MLflow client sees the run, its history and the registered version.
    let script = r#"
import json, sys, mlflow
c = mlflow.MlflowClient(tracking_uri=sys.argv[1])
run = c.get_run(sys.argv[2])
hist = c.get_metric_history(sys.argv[2], "fold_rmse")
mv = c.get_model_version_by_alias("wine-quality", "champion")
import os, tempfile
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_registry_uri(sys.argv[1])
got = mlflow.artifacts.download_artifacts(artifact_uri="models:/wine-quality@champion", dst_path=tempfile.mkdtemp())
files = sorted(os.listdir(got))
dvc_text = open(os.path.join(got, "wine-quality.dvc")).read() if "wine-quality.dvc" in files else ""
print(json.dumps({"files": files, "dvc": dvc_text, "location": mv.tags.get("vintner.model.location"),"status": run.info.status, "name": run.info.run_name,
  "n_estimators": run.data.params.get("n_estimators"), "rmse": run.data.metrics.get("rmse"),
  "commit": run.data.tags.get("mlflow.source.git.commit"), "model_md5": run.data.tags.get("vintner.model.md5"),
  "steps": sorted(m.step for m in hist), "version": mv.version, "run_id": mv.run_id, "source": mv.source}))
"#;
    let db = format!("sqlite:///{}", proj.join("mlflow.db").display());
    std::fs::write(sb.path().join("check.py"), script).unwrap();
    let out = peers::mlflow_python(&sb, sb.path())
        .arg("check.py")
        .args([db.as_str(), run_id.as_str()])
        .assert()
        .success();
    let seen: Value = serde_json::from_str(
        String::from_utf8_lossy(&out.get_output().stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(seen["status"], "FINISHED");
    assert_eq!(seen["name"], "first");
    assert_eq!(seen["n_estimators"], "30");
    assert!((seen["rmse"].as_f64().unwrap() - rmse).abs() < 1e-12);
    assert_eq!(seen["steps"], serde_json::json!([0, 1, 2]));
    assert_eq!(seen["model_md5"], model_md5.as_str());
    assert_eq!(seen["version"].to_string().trim_matches('"'), "1");
    assert_eq!(seen["run_id"], run_id.as_str());
    // The version's source is the run's logged model, which MLflow's own client downloads:
    // the MLmodel and the `.dvc` that names the exact bytes in the data remote.
    assert_eq!(seen["source"], format!("runs:/{run_id}/model"), "{seen}");
    // (MLflow adds its own `registered_model_meta` to what it downloads.)
    let files = seen["files"].as_array().unwrap();
    for f in ["MLmodel", "wine-quality.dvc"] {
        assert!(files.iter().any(|x| x == f), "{f} not downloaded: {seen}");
    }
    assert!(
        seen["dvc"].as_str().unwrap().contains(model_md5.as_str()),
        "{seen}"
    );
    assert!(
        seen["location"]
            .as_str()
            .unwrap()
            .ends_with(&model_md5[2..]),
        "{seen}"
    );
    assert!(seen["commit"].as_str().is_some_and(|c| c.len() == 40));

    // The real DVC pulls the model in another clone.
    git(sb.path(), &["clone", "-q", "proj", "dvcclone"]);
    let dvcclone = sb.path().join("dvcclone");
    peers::dvc(&sb, &dvcclone)
        .args(["pull", "models/wine-quality.dvc"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(dvcclone.join("models/wine-quality/MLmodel")).unwrap(),
        std::fs::read(proj.join("models/wine-quality/MLmodel")).unwrap()
    );
    peers::dvc(&sb, &proj)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");

    // A fresh clone with no models/ folder infers with only the store and the remote.
    git(sb.path(), &["clone", "-q", "proj", "fresh"]);
    let fresh = sb.path().join("fresh");
    assert!(!fresh.join("models/wine-quality").exists());
    let out = sb
        .vintner(&fresh)
        .env("MLFLOW_TRACKING_URI", &db)
        .args(["infer", "--model", "wine-quality/1", "--format", "json"])
        .assert()
        .success();
    let p2: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        p2["predictions"], p["predictions"],
        "same bytes, same predictions"
    );
}

#[test]
fn bad_inputs_are_clear_errors_and_change_nothing() {
    let sb = Sandbox::new();
    // No data remote: train stops before recording a run.
    let bare = project(&sb, "bare", None);
    let out = sb.vintner(&bare).arg("train").assert().code(1);
    assert!(
        stderr_of(&out).contains("No data remote is configured"),
        "{}",
        stderr_of(&out)
    );
    let runs = json(&sb, &bare, &["runs", "list"]);
    assert_eq!(
        runs["runs"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "{runs}"
    );
    assert!(!bare.join("models").exists());

    let remote = sb.path().join("remote");
    let proj = project(&sb, "proj", Some(&remote));
    sb.vintner(&proj).arg("push").assert().success();

    // Data modified but not added.
    let data = proj.join("data/winequality-red.csv");
    let original = std::fs::read(&data).unwrap();
    let mut changed = original.clone();
    changed.extend_from_slice(b"7.4;0.7;0;1.9;0.076;11;34;0.9978;3.51;0.56;9.4;5\n");
    std::fs::write(&data, &changed).unwrap();
    let out = sb.vintner(&proj).arg("train").assert().code(1);
    let err = stderr_of(&out);
    assert!(err.contains("differs from its `.dvc` file"), "{err}");
    assert!(
        err.contains("vintner add data/winequality-red.csv"),
        "{err}"
    );
    std::fs::write(&data, &original).unwrap();

    // Missing data file: pulled (verified) from the remote, then trained on.
    std::fs::remove_file(&data).unwrap();
    let t = train(&sb, &proj, &[]);
    assert_eq!(std::fs::read(&data).unwrap(), original);
    let model_md5 = t["model"]["md5"].as_str().unwrap().to_string();

    // Folds that cannot be made: refused before any fit, the model folder and its `.dvc`
    // untouched, and the run marked FAILED.
    let settings = std::fs::read_to_string(proj.join("vintner.toml")).unwrap();
    let impossible = settings.replace("folds = 3", "folds = 100000");
    assert_ne!(impossible, settings);
    std::fs::write(proj.join("vintner.toml"), &impossible).unwrap();
    let models_before = snapshot(&proj.join("models"), true);
    let out = sb.vintner(&proj).arg("train").assert().code(1);
    assert!(
        stderr_of(&out).contains("100000 folds need at least 100000 groups"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(snapshot(&proj.join("models"), true), models_before);
    let runs = json(&sb, &proj, &["runs", "list"]);
    let statuses: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["info"]["status"].as_str())
        .collect();
    assert!(statuses.contains(&"FAILED"), "{runs}");
    std::fs::write(proj.join("vintner.toml"), &settings).unwrap();

    // Versioning the new model fails after the cross-validation (git tracks a file of the
    // output): the previous bundle is put back and no staging folder is left.
    git(&proj, &["add", "-f", "models/wine-quality/MLmodel"]);
    let out = sb.vintner(&proj).arg("train").assert().code(1);
    assert!(
        stderr_of(&out).contains("git already tracks it"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(snapshot(&proj.join("models"), true), models_before);
    let leftovers: Vec<String> = std::fs::read_dir(proj.join(".dvc/tmp"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("vintner.tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    git(
        &proj,
        &["rm", "-q", "--cached", "models/wine-quality/MLmodel"],
    );

    // Registry alias missing.
    let out = sb
        .vintner(&proj)
        .args(["infer", "--model", "wine-quality@nope"])
        .assert()
        .code(1);
    assert!(
        stderr_of(&out).contains("has no alias `nope`"),
        "{}",
        stderr_of(&out)
    );

    // Nothing meets the threshold: exit 1 with the best value and the threshold.
    let out = sb
        .vintner(&proj)
        .args(["register", "--threshold", "0.1"])
        .assert()
        .code(1);
    let err = stderr_of(&out);
    assert!(err.contains("<= 0.1") && err.contains("best: 0."), "{err}");

    // Model object deleted from the remote: register refuses and registers nothing.
    let manifest = remote
        .join("files/md5")
        .join(&model_md5[..2])
        .join(&model_md5[2..]);
    let entries: Vec<Value> = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let member = entries[0]["md5"].as_str().unwrap().to_string();
    let member_path = remote
        .join("files/md5")
        .join(&member[..2])
        .join(&member[2..]);
    std::fs::remove_file(&member_path).unwrap();
    let out = sb.vintner(&proj).arg("register").assert().code(1);
    assert!(
        stderr_of(&out).contains("is not whole in remote `local`"),
        "{}",
        stderr_of(&out)
    );
    let models = json(&sb, &proj, &["models", "list"]);
    let registered = models["registered_models"].as_array().unwrap_or_else(|| {
        panic!("`models list --json` has no `registered_models` list: {models}")
    });
    assert!(registered.is_empty(), "{models}");

    // Input CSV with a missing column.
    std::fs::write(proj.join("bad.csv"), "\"alcohol\";\"pH\"\n9.4;3.51\n").unwrap();
    let run_id = t["run_id"].as_str().unwrap();
    let out = sb
        .vintner(&proj)
        .args(["infer", "--run", run_id, "--input", "bad.csv"])
        .assert()
        .code(1);
    let err = stderr_of(&out);
    assert!(
        err.contains("lacks columns the model needs") && err.contains("fixed acidity"),
        "{err}"
    );
}
