//! A clone as a teammate gets it: no tracking store (git ignores `mlflow.db`), only the commits
//! and the data remote. Read-only commands must not invent an empty store, `infer` falls back to
//! the model git versions, and nothing unpacked or cached earlier is used without checking it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Sandbox, git, stderr};

/// A project with the red wine data and a small forest trained, versioned, pushed to a local
/// remote, committed and registered as `wine-quality@champion`; runs go to `tracking_uri`
/// (`[tracking] uri`) when given, else to `mlflow.db`.
fn trained(sb: &Sandbox, tracking_uri: Option<&str>) -> (PathBuf, String) {
    let remote = sb.path().join("remote");
    let dir = crate::workflow::project_with(sb, "proj", Some(&remote), &|toml| {
        let toml = toml.replace("n_estimators = 30", "n_estimators = 20");
        match tracking_uri {
            Some(uri) => toml.replace(
                "# uri = \"http://127.0.0.1:5000\"",
                &format!("uri = \"{uri}\""),
            ),
            None => toml,
        }
    });
    sb.vintner(&dir).arg("push").assert().success();
    let t = json_of(sb, &dir, &["train", "--json"]);
    sb.vintner(&dir).arg("register").assert().success();
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "data and model"]);
    (dir, t["run_id"].as_str().unwrap().to_string())
}

fn json_of(sb: &Sandbox, cwd: &Path, args: &[&str]) -> Value {
    let out = sb.vintner(cwd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "vintner {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("vintner {args:?}: {e}"))
}

/// `infer … --format json`: the parsed output and stderr.
fn infer(sb: &Sandbox, cwd: &Path, args: &[&str]) -> (Value, String) {
    let out = sb
        .vintner(cwd)
        .arg("infer")
        .args(args)
        .args(["--format", "json"])
        .assert()
        .success();
    (
        serde_json::from_slice(&out.get_output().stdout).unwrap(),
        stderr(&out),
    )
}

/// Multiplies every F64 tensor of a `model.safetensors` by 1.5 in place: a file that still
/// loads and predicts, wrongly. Makes a read-only file writable first.
fn scale_weights(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut scaled = 0;
    for (name, t) in header.as_object().unwrap() {
        if name == "__metadata__" || t["dtype"] != "F64" {
            continue;
        }
        let start = 8 + n + t["data_offsets"][0].as_u64().unwrap() as usize;
        let end = 8 + n + t["data_offsets"][1].as_u64().unwrap() as usize;
        for chunk in bytes[start..end].chunks_exact_mut(8) {
            let v = f64::from_le_bytes(chunk.try_into().unwrap()) * 1.5;
            chunk.copy_from_slice(&v.to_le_bytes());
            scaled += 1;
        }
    }
    assert!(scaled > 0, "no F64 tensor in {}", path.display());
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn read_only_commands_never_create_a_tracking_store() {
    let sb = Sandbox::new();
    let dir = sb.mkdir("proj");
    sb.vintner(&dir)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    let db = dir.join("mlflow.db");
    for args in [
        &["runs", "list"][..],
        &["runs", "show", "0123456789abcdef0123456789abcdef"],
        &["experiments", "list"],
        &["models", "list"],
        &["models", "show", "wine-quality"],
        &["reproduce", "0123456789abcdef0123456789abcdef"],
    ] {
        let out = sb.vintner(&dir).args(args).assert().code(1);
        let err = stderr(&out);
        assert!(
            err.contains("no tracking store at") && err.contains("mlflow.db"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("(the default: no --tracking-uri, MLFLOW_TRACKING_URI"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("hint:") && err.contains("MLFLOW_TRACKING_URI=http://"),
            "{args:?}: {err}"
        );
        assert!(!db.exists(), "{args:?} created {}", db.display());
    }
    // An empty file is not a store either, and stays as it is.
    std::fs::write(&db, b"").unwrap();
    let out = sb.vintner(&dir).args(["runs", "list"]).assert().code(1);
    assert!(
        stderr(&out).contains("the file is empty"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
    std::fs::remove_file(&db).unwrap();
    // A command that records creates it, as before.
    sb.vintner(&dir)
        .args(["experiments", "create", "wine"])
        .assert()
        .success();
    assert!(db.is_file());
    let listed = json_of(&sb, &dir, &["experiments", "list", "--json"]);
    assert_eq!(listed["experiments"].as_array().unwrap().len(), 2);
}

#[test]
fn a_clone_without_a_store_infers_with_the_model_git_versions() {
    let sb = Sandbox::new();
    let (proj, run_id) = trained(&sb, None);
    let (p, err) = infer(&sb, &proj, &[]);
    assert_eq!(p["model"], "wine-quality@champion");
    assert_eq!(p["in_sample"], true, "{p}");
    let run = json_of(&sb, &proj, &["runs", "show", &run_id, "--json"]);
    let recorded_rmse = run["run"]["data"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "rmse")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert_eq!(p["cv_metrics"]["rmse"].as_f64(), Some(recorded_rmse), "{p}");
    assert!(p["cv_metrics"]["mae"].is_f64(), "{p}");
    assert!(
        err.contains("in-sample fit on the model's own training rows (not its quality)"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "cross-validated (the figures to trust): rmse {recorded_rmse:.4} ± "
        )),
        "{err}"
    );

    git(sb.path(), &["clone", "-q", "proj", "clone"]);
    let clone = sb.path().join("clone");
    assert!(!clone.join("mlflow.db").exists() && !clone.join("models/wine-quality").exists());
    let dvc = std::fs::read_to_string(clone.join("models/wine-quality.dvc")).unwrap();
    let md5 = p["model_md5"].as_str().unwrap();
    assert!(dvc.contains(md5), "{dvc}");
    let (c, err) = infer(&sb, &clone, &[]);
    assert!(
        err.contains(&format!(
            "no tracking store here (`mlflow.db` does not exist); using the model git versions: \
             models/wine-quality.dvc at HEAD (md5 {md5})"
        )),
        "{err}"
    );
    assert_eq!(
        c["predictions"], p["predictions"],
        "same bytes, same predictions"
    );
    assert_eq!(c["run_id"], run_id.as_str(), "the bundle names its run");
    assert_eq!(c["in_sample"], true);
    assert!(c.get("cv_metrics").is_none(), "{c}");
    assert!(err.contains("in-sample fit"), "{err}");
    let training = proj.join("data/winequality-red.csv");
    let (c2, _) = infer(&sb, &clone, &["--input", training.to_str().unwrap()]);
    assert_eq!(c2["predictions"], p["predictions"]);
    assert_eq!(c2["in_sample"], true, "the training file itself, by md5");
    assert!(!clone.join("mlflow.db").exists());

    // A model named by the registry or a run needs the store the runs were recorded in.
    for args in [
        &["infer", "--model", "wine-quality@champion"][..],
        &["infer", "--run", &run_id],
    ] {
        let out = sb.vintner(&clone).args(args).assert().code(1);
        let err = stderr(&out);
        assert!(
            err.contains("needs the model registry, and there is no tracking store here"),
            "{err}"
        );
        assert!(
            err.contains("the registry lives where the runs were recorded")
                && err.contains("MLFLOW_TRACKING_URI=http://"),
            "{err}"
        );
        assert!(!clone.join("mlflow.db").exists());
    }
    // Pointing at the store (here the original's file) resolves the registry again.
    let db = format!("sqlite:///{}", proj.join("mlflow.db").display());
    let out = sb
        .vintner(&clone)
        .env("MLFLOW_TRACKING_URI", &db)
        .args([
            "infer",
            "--model",
            "wine-quality@champion",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let viaenv: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(viaenv["predictions"], p["predictions"]);
    assert!(!stderr(&out).contains("no tracking store"));
}

#[test]
fn damaged_unpacked_model_or_cache_object_is_fetched_again_not_used() {
    let sb = Sandbox::new();
    let (proj, _) = trained(&sb, None);
    let input = ["--input", "data/winequality-red.csv"];
    let (p, err) = infer(&sb, &proj, &input);
    assert_eq!(p["repaired"], serde_json::json!([]), "{p}");
    assert!(!err.contains("repaired"), "{err}");
    let md5 = p["model_md5"].as_str().unwrap();
    let hex = md5.trim_end_matches(".dir");
    let unpacked = proj.join(".dvc/tmp/vintner/models").join(hex);
    assert!(unpacked.join("model.safetensors").is_file());

    // The unpacked copy.
    scale_weights(&unpacked.join("model.safetensors"));
    let (q, err) = infer(&sb, &proj, &input);
    assert_eq!(q["predictions"], p["predictions"], "{err}");
    let shown = format!(".dvc/tmp/vintner/models/{hex}/model.safetensors");
    assert!(
        err.contains(&format!("warning: repaired: `{shown}` had md5 "))
            && err.contains("unpacked again from the cache"),
        "{err}"
    );
    assert_eq!(q["repaired"][0]["object"], shown.as_str());
    let (_, err) = infer(&sb, &proj, &input);
    assert!(!err.contains("repaired"), "fixed for good: {err}");

    // The cache object, with no unpacked copy to hide it.
    let cache = proj.join(".dvc/cache/files/md5");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(cache.join(&hex[..2]).join(&md5[2..])).unwrap())
            .unwrap();
    let member = manifest
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["relpath"] == "model.safetensors")
        .unwrap()["md5"]
        .as_str()
        .unwrap()
        .to_string();
    let object = cache.join(&member[..2]).join(&member[2..]);
    scale_weights(&object);
    std::fs::remove_dir_all(&unpacked).unwrap();
    let (r, err) = infer(&sb, &proj, &input);
    assert_eq!(r["predictions"], p["predictions"], "{err}");
    let rel = format!("files/md5/{}/{}", &member[..2], &member[2..]);
    assert!(
        err.contains(&format!("warning: repaired: `{rel}` had md5 "))
            && err.contains("fetched again from"),
        "{err}"
    );
    assert_eq!(r["repaired"][0]["object"], rel.as_str());
    assert_eq!(
        crate::data::md5_hex(&std::fs::read(&object).unwrap()),
        member,
        "the cache holds the right bytes again"
    );
}

#[test]
fn gc_drops_unpacked_copies_of_models_no_longer_referenced() {
    let sb = Sandbox::new();
    // A store outside the project: the runs' artifacts (copies of each model's `.dvc` file)
    // would otherwise keep every model referenced.
    let (proj, first_run) = trained(&sb, Some("sqlite:///../store/mlflow.db"));
    let (first, _) = infer(&sb, &proj, &["--run", &first_run]);
    let second = json_of(&sb, &proj, &["train", "-P", "n_estimators=21", "--json"]);
    let (now, _) = infer(&sb, &proj, &["--run", second["run_id"].as_str().unwrap()]);
    let models = proj.join(".dvc/tmp/vintner/models");
    let folder = |p: &Value| models.join(p["model_md5"].as_str().unwrap().trim_end_matches(".dir"));
    assert_ne!(folder(&first), folder(&now));
    assert!(folder(&first).is_dir() && folder(&now).is_dir());
    let data_copies = std::fs::read_dir(proj.join(".dvc/tmp/vintner/data"))
        .unwrap()
        .count();
    assert_eq!(data_copies, 1);
    // Something that is not an unpacked copy stays.
    std::fs::write(models.join("notes.txt"), b"mine").unwrap();

    let dry = sb
        .vintner(&proj)
        .args(["gc", "-w", "--dry"])
        .assert()
        .success();
    assert!(
        stderr(&dry).contains("and 1 unpacked model or data copies from .dvc/tmp/vintner"),
        "{}",
        stderr(&dry)
    );
    assert!(folder(&first).is_dir(), "a dry run removes nothing");
    let out = sb
        .vintner(&proj)
        .args(["gc", "-w", "--force", "--json"])
        .assert()
        .success();
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let gone = format!(
        "models/{}",
        first["model_md5"]
            .as_str()
            .unwrap()
            .trim_end_matches(".dir")
    );
    assert_eq!(report["unpacked_removed"], serde_json::json!([gone]));
    assert!(!folder(&first).exists());
    assert!(
        folder(&now).is_dir(),
        "the model the workspace references stays"
    );
    assert!(models.join("notes.txt").is_file());
    assert_eq!(
        std::fs::read_dir(proj.join(".dvc/tmp/vintner/data"))
            .unwrap()
            .count(),
        1,
        "the versioned training data stays"
    );
    let (again, _) = infer(&sb, &proj, &["--run", second["run_id"].as_str().unwrap()]);
    assert_eq!(again["predictions"], now["predictions"]);
}
