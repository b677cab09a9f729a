//! `vintner run` and `vintner get`: a team's own Python training script (scikit-learn, from the
//! MLflow peer's venv) run as a tracked run that its own `mlflow` calls log into, its model
//! versioned, registered and got back byte for byte in a fresh clone; and the ways such a run
//! can end (a failing command, one that does not exist, a signal).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Sandbox, git, read, stderr, write};
use crate::peers;

/// Trains a scikit-learn linear model on the wine CSV, logs its own metric and param inside
/// `mlflow.start_run()` and pickles the model; exits with `$FAIL` when set.
const TRAIN_PY: &str = r#"
import csv, os, pickle, sys
import mlflow
from sklearn.linear_model import LinearRegression

with open("data/winequality-red.csv") as f:
    rows = list(csv.reader(f, delimiter=";"))
x = [[float(v) for v in r[:-1]] for r in rows[1:]]
y = [float(r[-1]) for r in rows[1:]]
model = LinearRegression().fit(x, y)
mae = sum(abs(p - t) for p, t in zip(model.predict(x), y)) / len(y)
os.makedirs("models", exist_ok=True)
with mlflow.start_run():
    mlflow.log_param("estimator", "LinearRegression")
    mlflow.log_metric("script_mae", mae)
    with open("models/model.pkl", "wb") as f:
        pickle.dump(model, f)
print("script: trained, mae", round(mae, 4))
sys.exit(int(os.environ.get("FAIL", "0")))
"#;

/// A project with the red wine data versioned and pushed to a local remote, `train.py`
/// committed; returns its folder.
fn project(sb: &Sandbox) -> PathBuf {
    let dir = sb.mkdir("proj");
    sb.vintner(&dir)
        .arg("init")
        .arg("--remote")
        .arg(sb.path().join("remote"))
        .assert()
        .success();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/winequality-red.csv");
    write(&dir.join("data/winequality-red.csv"), &read(&src));
    let toml = std::fs::read_to_string(dir.join("vintner.toml")).unwrap();
    std::fs::write(
        dir.join("vintner.toml"),
        toml.replace("winequality-white.csv", "winequality-red.csv"),
    )
    .unwrap();
    write(&dir.join("train.py"), TRAIN_PY.as_bytes());
    for args in [&["add", "data/winequality-red.csv"][..], &["push"]] {
        sb.vintner(&dir).args(args).assert().success();
    }
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "data and training code"]);
    dir
}

/// `vintner run` of `python train.py` (the MLflow venv's python) with `extra` arguments first.
fn run_script(sb: &Sandbox, dir: &Path, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = sb.vintner(dir);
    cmd.arg("run")
        .args(extra)
        .arg("--")
        .arg(peers::bin("mlflow", "python"))
        .arg("train.py")
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// Every run of the project's store as MLflow's own client reads it:
/// `[{id, status, metrics, params, tags}]`.
fn mlflow_runs(sb: &Sandbox, dir: &Path) -> Vec<Value> {
    let script = r#"
import json, mlflow
c = mlflow.MlflowClient("sqlite:///mlflow.db")
out = []
for e in c.search_experiments():
    for r in c.search_runs([e.experiment_id]):
        out.append({"id": r.info.run_id, "status": r.info.status, "experiment": e.name,
                    "metrics": r.data.metrics, "params": r.data.params, "tags": r.data.tags})
print(json.dumps(out))
"#;
    let out = peers::mlflow_python(sb, dir)
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "mlflow client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap()
}

/// Every file below `dir` (the data remote), relative.
fn files_below(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn a_python_script_run_is_one_mlflow_run_registered_and_got_byte_identical_in_a_clone() {
    let sb = Sandbox::new();
    let dir = project(&sb);
    let out = run_script(&sb, &dir, &["-o", "models/model.pkl", "--json"])
        .assert()
        .success();
    let err = stderr(&out);
    assert!(err.contains("script: trained, mae"), "{err}");
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let run_id = report["run_id"].as_str().unwrap().to_string();
    assert_eq!(report["outputs"][0]["path"], "models/model.pkl");
    let model_bytes = read(&dir.join("models/model.pkl"));
    assert!(dir.join("models/model.pkl.dvc").is_file());

    // One run, seen by MLflow's own client, with the script's metric and vintner's lineage.
    let runs = mlflow_runs(&sb, &dir);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let run = &runs[0];
    assert_eq!(run["id"], run_id.as_str());
    assert_eq!(run["status"], "FINISHED");
    assert!(
        run["metrics"]["script_mae"].as_f64().unwrap() > 0.0,
        "{run}"
    );
    assert_eq!(run["params"]["estimator"], "LinearRegression");
    let tags = &run["tags"];
    let head = git(&dir, &["rev-parse", "HEAD"]);
    assert_eq!(tags["mlflow.source.git.commit"], head.trim());
    assert_eq!(tags["vintner.git.dirty"], "false");
    assert!(
        tags["vintner.command"]
            .as_str()
            .unwrap()
            .ends_with("python train.py"),
        "{tags}"
    );
    assert_eq!(tags["vintner.command.exit_code"], "0");
    let data: Value = serde_json::from_str(tags["vintner.data"].as_str().unwrap()).unwrap();
    assert_eq!(data[0]["path"], "data/winequality-red.csv");
    assert_eq!(data[0]["md5"], "58c7b1e3ea1268fb1a171ef636ddac2c");
    let outputs: Value = serde_json::from_str(tags["vintner.outputs"].as_str().unwrap()).unwrap();
    let md5 = crate::data::md5_hex(&model_bytes);
    assert_eq!(outputs[0]["path"], "models/model.pkl");
    assert_eq!(outputs[0]["md5"], md5.as_str());
    assert_eq!(outputs[0]["remote"], "local");

    // The output is the model; registered by name.
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "model"]);
    let reg = sb
        .vintner(&dir)
        .args(["register", "--output", "models/model.pkl"])
        .args([
            "--metric",
            "script_mae",
            "--lower-is-better",
            "--threshold",
            "5",
        ])
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&reg.get_output().stdout).trim(),
        "wine-quality/1"
    );

    // A fresh clone, with no workspace model, gets the registered bytes.
    let clone = sb.path().join("clone");
    git(
        sb.path(),
        &[
            "clone",
            "-q",
            dir.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    assert!(!clone.join("models/model.pkl").exists());
    let store = format!("sqlite:///{}", dir.join("mlflow.db").display());
    sb.vintner(&clone)
        .env("MLFLOW_TRACKING_URI", &store)
        .args(["get", "wine-quality@champion", "-o", "model.pkl"])
        .assert()
        .success();
    assert_eq!(read(&clone.join("model.pkl")), model_bytes);
    // By run id (the run's only output), into its own name.
    sb.vintner(&clone)
        .env("MLFLOW_TRACKING_URI", &store)
        .args(["get", "--run", &run_id, "-o", "by-run/model.pkl"])
        .assert()
        .success();
    assert_eq!(read(&clone.join("by-run/model.pkl")), model_bytes);

    // A different file at the destination is never replaced unless asked.
    write(&clone.join("mine.pkl"), b"my own bytes");
    let out = sb
        .vintner(&clone)
        .env("MLFLOW_TRACKING_URI", &store)
        .args(["get", "wine-quality/1", "-o", "mine.pkl"])
        .assert()
        .code(1);
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(read(&clone.join("mine.pkl")), b"my own bytes");
    sb.vintner(&clone)
        .env("MLFLOW_TRACKING_URI", &store)
        .args(["get", "wine-quality/1", "-o", "mine.pkl", "--force"])
        .assert()
        .success();
    assert_eq!(read(&clone.join("mine.pkl")), model_bytes);
}

#[test]
fn a_failing_command_marks_the_run_failed_with_its_exit_code_and_versions_nothing() {
    let sb = Sandbox::new();
    let dir = project(&sb);
    let remote_before = files_below(&sb.path().join("remote"));
    let out = run_script(&sb, &dir, &["-o", "models/model.pkl"])
        .env("FAIL", "3")
        .assert()
        .code(3);
    let err = stderr(&out);
    assert!(err.contains("failed with exit code 3"), "{err}");
    assert!(err.contains("marked FAILED"), "{err}");
    let runs = mlflow_runs(&sb, &dir);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["status"], "FAILED");
    assert_eq!(runs[0]["tags"]["vintner.command.exit_code"], "3");
    assert!(runs[0]["tags"].get("vintner.outputs").is_none());
    // The script's own file stays where it wrote it, unversioned and not pushed.
    assert!(dir.join("models/model.pkl").is_file());
    assert!(!dir.join("models/model.pkl.dvc").exists());
    assert_eq!(files_below(&sb.path().join("remote")), remote_before);
}

#[test]
fn a_command_that_does_not_exist_is_refused_before_any_run() {
    let sb = Sandbox::new();
    let dir = project(&sb);
    let out = sb
        .vintner(&dir)
        .args([
            "run",
            "-o",
            "models/model.pkl",
            "--",
            "no-such-trainer",
            "--fast",
        ])
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(err.contains("Command `no-such-trainer` not found"), "{err}");
    assert!(
        err.contains("hint:") && err.contains("no run was recorded"),
        "{err}"
    );
    let listed = sb
        .vintner(&dir)
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    if listed.status.success() {
        let runs: Value = serde_json::from_slice(&listed.stdout).unwrap();
        assert_eq!(runs["runs"].as_array().map(Vec::len), Some(0), "{runs}");
    }
    // Paths outside the repository and nested outputs are refused by name, before running.
    let out = sb
        .vintner(&dir)
        .args(["run", "-o", "../elsewhere.pkl", "--", "true"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("`../elsewhere.pkl` leads outside the repository"),
        "{}",
        stderr(&out)
    );
    let out = sb
        .vintner(&dir)
        .args(["run", "-o", "models", "-o", "models/a.pkl", "--", "true"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("`models/a.pkl` is inside another output, `models`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_command_ended_by_a_signal_marks_the_run_killed() {
    let sb = Sandbox::new();
    let dir = project(&sb);
    // The command kills itself.
    sb.vintner(&dir)
        .args([
            "run",
            "-o",
            "out.txt",
            "--",
            "sh",
            "-c",
            "echo x > out.txt; kill -KILL $$",
        ])
        .assert()
        .code(128 + 9);
    let runs = mlflow_runs(&sb, &dir);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["status"], "KILLED");
    assert!(!dir.join("out.txt.dvc").exists());

    // vintner itself gets SIGTERM while the command runs: forwarded, the run KILLED.
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
    sb.isolate_std(&mut cmd);
    let child = cmd
        .current_dir(&dir)
        .args(["run", "--", "sh", "-c", "touch started; exec sleep 60"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = dir.join("started");
    for _ in 0..600 {
        if started.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(started.exists(), "the command never started");
    // SAFETY: the pid of a child this test spawned and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    let runs = mlflow_runs(&sb, &dir);
    assert_eq!(runs.len(), 2, "{runs:#?}");
    assert!(runs.iter().all(|r| r["status"] == "KILLED"), "{runs:#?}");
}

#[test]
fn registry_output_names_the_model_among_a_runs_outputs() {
    let sb = Sandbox::new();
    let dir = project(&sb);
    let out = sb
        .vintner(&dir)
        .args(["run", "-o", "models/a.bin", "-o", "models/b.bin", "--"])
        .args([
            "sh",
            "-c",
            "mkdir -p models; echo a > models/a.bin; echo b > models/b.bin",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let run_id = stdout.split_whitespace().nth(1).unwrap().to_string();
    // Two outputs and none named: which one is the model is asked, not guessed.
    let out = sb
        .vintner(&dir)
        .args(["register", "--run", &run_id])
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains("several outputs (its outputs: models/a.bin, models/b.bin)"),
        "{err}"
    );
    assert!(err.contains("registry.output"), "{err}");
    let toml = std::fs::read_to_string(dir.join("vintner.toml")).unwrap();
    std::fs::write(
        dir.join("vintner.toml"),
        toml.replace(
            "threshold = 0.80\n",
            "threshold = 0.80\noutput = \"models/b.bin\"\n",
        ),
    )
    .unwrap();
    sb.vintner(&dir)
        .args(["register", "--run", &run_id])
        .assert()
        .success();
    sb.vintner(&dir)
        .args(["get", "-o", "got.bin"])
        .assert()
        .success();
    assert_eq!(read(&dir.join("got.bin")), b"b\n");
    // Any output of the run, by its path.
    sb.vintner(&dir)
        .args([
            "get",
            "--run",
            &run_id,
            "--path",
            "models/a.bin",
            "-o",
            "a.bin",
        ])
        .assert()
        .success();
    assert_eq!(read(&dir.join("a.bin")), b"a\n");
}
