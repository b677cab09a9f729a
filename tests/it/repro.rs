//! `vintner repro` and `vintner dag` against the real `dvc` on the same pipeline: the same
//! stages run, `dvc.lock` and `.gitignore` come out byte for byte as DVC writes them, each tool
//! finds the other's result up to date, a parameter change reruns only the stage that reads
//! it, a failing command leaves `dvc.lock` as it was, and a cycle is refused.

use std::path::{Path, PathBuf};

use crate::common::{Sandbox, git, read, write};
use crate::peers;

fn dvc_ok(sb: &Sandbox, cwd: &Path, args: &[&str]) -> (String, String) {
    let out = peers::dvc(sb, cwd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "dvc {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs vintner, which must succeed; returns (stdout, stderr).
fn vintner_ok(sb: &Sandbox, cwd: &Path, args: &[&str]) -> (String, String) {
    let out = sb.vintner(cwd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "vintner {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const DVC_YAML: &str = r#"vars:
  - n: 3
    shards: [a, b, a]
stages:
  prep:
    cmd: mkdir -p out && for i in $(seq 1 ${n}); do echo $i > out/f$i.txt; done
    deps:
      - data/in.txt
    outs:
      - out
  train:
    cmd:
      - cat out/f1.txt data/in.txt > model.txt
      - echo ${train.epochs} >> model.txt
      - touch cachefree.txt && echo p >> p.txt
      - >-
        echo '{"acc": 0.5, "nested": {"f1": 2}}' > m.json
    deps:
      - out
      - src/train.sh
    params:
      - lr
      - train.epochs
      - other.json:
        - a
      - conf.toml:
    outs:
      - model.txt
      - cachefree.txt:
          cache: false
      - p.txt:
          persist: true
    metrics:
      - m.json:
          cache: false
  ev:
    foreach: ${shards}
    do:
      cmd: echo ${item} ${lr} > ev_${item}.txt
      wdir: sub
      deps:
        - ../model.txt
      outs:
        - ev_${item}.txt
  always:
    cmd: date +%N > stamp.txt
    always_changed: true
    outs:
      - stamp.txt:
          cache: false
"#;

/// A git + DVC repository at `rel` with the shared pipeline and its inputs, committed.
fn fixture(sb: &Sandbox, rel: &str) -> PathBuf {
    let repo = sb.mkdir(rel);
    git(&repo, &["init", "-q", "-b", "master"]);
    dvc_ok(sb, &repo, &["init", "-q"]);
    write(&repo.join("data/in.txt"), b"hello\n");
    write(&repo.join("src/train.sh"), b"echo train\n");
    write(
        &repo.join("params.yaml"),
        b"lr: 0.001\ntrain:\n  epochs: 3\n  layers: [1, 2]\nseed: 7\n",
    );
    write(
        &repo.join("other.json"),
        b"{\"b\": 2, \"a\": {\"y\": 1.5, \"x\": [1, 2]}}\n",
    );
    write(&repo.join("conf.toml"), b"depth = 4\nname = \"deep\"\n");
    std::fs::create_dir_all(repo.join("sub")).unwrap();
    write(&repo.join("sub/.keep"), b"");
    write(&repo.join("dvc.yaml"), DVC_YAML.as_bytes());
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "pipeline"]);
    repo
}

/// The stages a repro ran, from its messages (the same words for both tools).
fn ran(stderr_and_stdout: &str) -> Vec<String> {
    stderr_and_stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Running stage '"))
        .map(|l| l.trim_end_matches("':").to_string())
        .collect()
}

/// `dvc.lock` without the `always` stage's output hash, which is a timestamp.
fn lock_of(repo: &Path) -> String {
    let text = String::from_utf8(read(&repo.join("dvc.lock"))).unwrap();
    let mut out = String::new();
    let mut in_always = false;
    for l in text.lines() {
        if l.starts_with("  ") && !l.starts_with("   ") {
            in_always = l == "  always:";
        }
        if in_always && (l.contains("md5:") || l.contains("size:")) {
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[test]
fn repro_runs_the_stages_dvc_runs_and_writes_its_dvc_lock_bytes() {
    let sb = Sandbox::new();
    let by_dvc = fixture(&sb, "dvc");
    let by_vintner = fixture(&sb, "vintner");
    let (out, err) = dvc_ok(&sb, &by_dvc, &["repro"]);
    let dvc_ran = ran(&format!("{out}{err}"));
    let (out, err) = vintner_ok(&sb, &by_vintner, &["repro"]);
    let vintner_ran = ran(&format!("{out}{err}"));
    assert_eq!(
        vintner_ran,
        ["prep", "train", "ev@a", "ev@b", "always"],
        "{err}"
    );
    assert_eq!(vintner_ran, dvc_ran);
    assert_eq!(lock_of(&by_vintner), lock_of(&by_dvc));
    for f in [
        ".gitignore",
        "sub/.gitignore",
        "model.txt",
        "sub/ev_b.txt",
        "out/f3.txt",
    ] {
        assert_eq!(read(&by_vintner.join(f)), read(&by_dvc.join(f)), "{f}");
    }
    // Each tool finds the other's result up to date (but `always`, which is always changed).
    let (out, _) = dvc_ok(&sb, &by_vintner, &["status"]);
    assert_eq!(out.trim(), "always:\n\talways changed", "{out}");
    let (out, err) = vintner_ok(&sb, &by_dvc, &["status"]);
    assert_eq!(out.trim(), "always:\n\talways changed", "{out}{err}");
    let (out, err) = vintner_ok(&sb, &by_dvc, &["repro"]);
    assert_eq!(ran(&format!("{out}{err}")), ["always"], "{err}");
    assert!(
        err.contains("Stage 'train' didn't change, skipping"),
        "{err}"
    );
    let (out, err) = dvc_ok(&sb, &by_vintner, &["repro"]);
    assert_eq!(ran(&format!("{out}{err}")), ["always"], "{out}{err}");
    // Locks DVC rewrote around vintner's entries and the other way round stay the same.
    assert_eq!(lock_of(&by_vintner), lock_of(&by_dvc));

    // A parameter only `train` and the `ev` stages read: DVC and vintner rerun the same ones.
    for repo in [&by_dvc, &by_vintner] {
        let p = repo.join("params.yaml");
        let text = String::from_utf8(read(&p)).unwrap();
        write(&p, text.replace("epochs: 3", "epochs: 4").as_bytes());
    }
    let (out, err) = dvc_ok(&sb, &by_dvc, &["repro"]);
    let dvc_ran = ran(&format!("{out}{err}"));
    let (out, err) = vintner_ok(&sb, &by_vintner, &["repro"]);
    let vintner_ran = ran(&format!("{out}{err}"));
    assert_eq!(vintner_ran, ["train", "ev@a", "ev@b", "always"], "{err}");
    assert_eq!(vintner_ran, dvc_ran);
    assert_eq!(lock_of(&by_vintner), lock_of(&by_dvc));
    assert_eq!(
        read(&by_vintner.join("p.txt")),
        b"p\np\n",
        "persist keeps the output"
    );

    // A parameter of `params.yaml` no stage reads reruns nothing.
    let p = by_vintner.join("params.yaml");
    let text = String::from_utf8(read(&p)).unwrap();
    write(&p, text.replace("seed: 7", "seed: 8").as_bytes());
    let (out, err) = vintner_ok(&sb, &by_vintner, &["repro", "train"]);
    assert!(ran(&format!("{out}{err}")).is_empty(), "{err}");

    // `--dry` runs nothing; `-f -s` runs exactly the named stage.
    write(&by_vintner.join("data/in.txt"), b"changed\n");
    let before = read(&by_vintner.join("dvc.lock"));
    let (_, err) = vintner_ok(&sb, &by_vintner, &["repro", "--dry", "train"]);
    assert_eq!(ran(&err), ["prep"], "{err}");
    assert_eq!(read(&by_vintner.join("dvc.lock")), before);
    let (_, err) = vintner_ok(&sb, &by_vintner, &["repro", "-f", "-s", "ev@a"]);
    assert_eq!(ran(&err), ["ev@a"], "{err}");
}

#[test]
fn dag_prints_dvc_dag_dot_and_mermaid() {
    let sb = Sandbox::new();
    let repo = fixture(&sb, "repo");
    for flag in ["--dot", "--mermaid"] {
        let (theirs, _) = dvc_ok(&sb, &repo, &["dag", flag]);
        let (ours, _) = vintner_ok(&sb, &repo, &["dag", flag]);
        assert_eq!(ours, theirs, "{flag}");
    }
    let (theirs, _) = dvc_ok(&sb, &repo, &["dag", "--dot", "train"]);
    let (ours, _) = vintner_ok(&sb, &repo, &["dag", "--dot", "train"]);
    assert_eq!(ours, theirs);
}

#[test]
fn a_failing_command_leaves_dvc_lock_untouched() {
    let sb = Sandbox::new();
    let repo = fixture(&sb, "repo");
    vintner_ok(&sb, &repo, &["repro"]);
    let before = read(&repo.join("dvc.lock"));
    let yaml = DVC_YAML.replace(
        "      - echo ${train.epochs} >> model.txt",
        "      - echo ${train.epochs} >> model.txt && exit 3",
    );
    write(&repo.join("dvc.yaml"), yaml.as_bytes());
    let out = sb.vintner(&repo).args(["repro", "train"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Failed to reproduce stage `train`") && err.contains("exit code 3"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert_eq!(read(&repo.join("dvc.lock")), before);
}

#[test]
fn bad_pipelines_are_refused_with_the_file_and_line() {
    let sb = Sandbox::new();
    let repo = fixture(&sb, "repo");
    let refused = |yaml: &str| -> String {
        write(&repo.join("dvc.yaml"), yaml.as_bytes());
        let out = sb.vintner(&repo).arg("repro").output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(!repo.join("dvc.lock").exists());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused(
        "stages:\n  a:\n    cmd: cp b.txt a.txt\n    deps: [b.txt]\n    outs: [a.txt]\n  \
         b:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n",
    );
    assert!(err.contains("`dvc.yaml` has a cycle: a -> b -> a"), "{err}");
    let err = refused("stages:\n  a:\n    cmd: x\n    deps: [nowhere.txt]\n    outs: [a.txt]\n");
    assert!(
        err.contains("`dvc.yaml` line 2: the dependency `nowhere.txt` of stage `a` does not exist"),
        "{err}"
    );
    let err =
        refused("stages:\n  a:\n    cmd: x\n    outs: [d]\n  b:\n    cmd: y\n    outs: [d/x]\n");
    assert!(
        err.contains("line 5") && err.contains("inside the output `d`"),
        "{err}"
    );
    let err = refused("stages:\n  a:\n    cmd: touch x\n    wdir: ..\n");
    assert!(err.contains("`..`, which leads outside"), "{err}");
    assert!(!sb.path().join("x").exists());
    let err = refused("stages:\n  a:\n    matrix:\n      x: [1, 2]\n    cmd: echo ${item.x}\n");
    assert!(
        err.contains("line 2: `matrix`") && err.contains("not supported"),
        "{err}"
    );
}

#[test]
fn repro_track_records_one_run_per_stage_under_one_pipeline_run() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    git(&repo, &["init", "-q", "-b", "master"]);
    dvc_ok(&sb, &repo, &["init", "-q"]);
    write(&repo.join("params.yaml"), b"lr: 0.25\ndepth: 3\n");
    write(
        &repo.join("dvc.yaml"),
        b"stages:\n  prep:\n    cmd: echo data > data.txt\n    outs:\n    - data.txt\n  \
          train:\n    cmd:\n    - echo \"$MLFLOW_RUN_ID\" > run_id.txt\n    - >-\n      \
          echo '{\"acc\": 0.75, \"loss\": {\"val\": 0.5}}' > metrics.json\n    deps:\n    - data.txt\n    \
          params:\n    - lr\n    outs:\n    - run_id.txt:\n        cache: false\n    metrics:\n    \
          - metrics.json:\n        cache: false\n",
    );
    let (_, err) = vintner_ok(&sb, &repo, &["repro", "--track"]);
    let parent = err
        .lines()
        .find_map(|l| l.strip_prefix("Pipeline run: "))
        .unwrap_or_else(|| panic!("no pipeline run in {err}"))
        .to_string();
    let (out, _) = vintner_ok(&sb, &repo, &["runs", "list", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{out}");
    let tag = |r: &serde_json::Value, k: &str| -> Option<String> {
        r["data"]["tags"]
            .as_array()?
            .iter()
            .find(|t| t["key"] == k)
            .map(|t| t["value"].as_str().unwrap().to_string())
    };
    let by_name = |n: &str| {
        runs.iter()
            .find(|r| r["info"]["run_name"] == n)
            .unwrap_or_else(|| panic!("no run {n} in {out}"))
    };
    assert_eq!(by_name("repro")["info"]["run_id"], parent.as_str());
    assert_eq!(by_name("repro")["info"]["status"], "FINISHED");
    let train = by_name("train");
    assert_eq!(
        tag(train, "mlflow.parentRunId").as_deref(),
        Some(parent.as_str())
    );
    assert_eq!(
        tag(by_name("prep"), "mlflow.parentRunId").as_deref(),
        Some(parent.as_str())
    );
    assert_eq!(train["info"]["status"], "FINISHED");
    // The stage's command ran inside its own run.
    let run_id = String::from_utf8(read(&repo.join("run_id.txt"))).unwrap();
    assert_eq!(train["info"]["run_id"], run_id.trim());
    assert_eq!(train["data"]["params"][0]["key"], "lr");
    assert_eq!(train["data"]["params"][0]["value"], "0.25");
    let metrics: Vec<(String, f64)> = train["data"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["key"].as_str().unwrap().to_string(),
                m["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        metrics,
        [("acc".to_string(), 0.75), ("loss.val".to_string(), 0.5)]
    );
    let data = tag(train, "vintner.data").unwrap();
    assert!(
        data.contains("\"path\":\"data.txt\"") && data.contains("\"md5\":\""),
        "{data}"
    );
    assert!(
        tag(train, "vintner.stage.outs")
            .unwrap()
            .contains("metrics.json")
    );
    // Nothing changed: nothing runs, and no new run is recorded but the pipeline's.
    vintner_ok(&sb, &repo, &["repro", "--track"]);
    let (out, _) = vintner_ok(&sb, &repo, &["runs", "list", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 4, "{out}");
    // A failing stage leaves its run and the pipeline's FAILED.
    let text = String::from_utf8(read(&repo.join("dvc.yaml"))).unwrap();
    write(
        &repo.join("dvc.yaml"),
        text.replace("> run_id.txt", "> run_id.txt && exit 4")
            .as_bytes(),
    );
    let out = sb
        .vintner(&repo)
        .args(["repro", "--track"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (out, _) = vintner_ok(&sb, &repo, &["runs", "list", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 6, "{out}");
    let failed: Vec<&str> = runs
        .iter()
        .filter(|r| r["info"]["status"] == "FAILED")
        .map(|r| r["info"]["run_name"].as_str().unwrap())
        .collect();
    assert_eq!(failed.len(), 2, "{out}");
    assert!(
        failed.contains(&"repro") && failed.contains(&"train"),
        "{out}"
    );
}

#[test]
fn an_output_holding_pipeline_files_is_refused_before_anything_is_removed() {
    let sb = Sandbox::new();
    let repo = fixture(&sb, "repo");
    let sub = repo.join("pipe");
    write(&sub.join("src.txt"), b"mine\n");
    write(
        &sub.join("dvc.yaml"),
        b"stages:\n  s:\n    cmd: echo made > made.txt\n    outs:\n      - .\n",
    );
    let out = peers::dvc(&sb, &sub).arg("repro").output().unwrap();
    let theirs = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && theirs.contains("is within an output"),
        "{theirs}"
    );
    let out = sb.vintner(&sub).arg("repro").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the output `.` of stage `s` is or contains `pipe/dvc.yaml`")
            && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(read(&sub.join("src.txt")), b"mine\n");
    assert!(sub.join("dvc.yaml").is_file() && !sub.join("made.txt").exists());
    // A folder holding a `.dvc` file is refused too.
    write(&repo.join("raw/x.dvc"), b"outs:\n- md5: 0\n  path: x\n");
    write(
        &sub.join("dvc.yaml"),
        b"stages:\n  s:\n    cmd: echo made > made.txt\n    outs:\n      - ../raw\n",
    );
    let out = sb.vintner(&sub).arg("repro").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("contains `raw/x.dvc`"), "{err}");
    assert!(repo.join("raw/x.dvc").is_file());
}

#[test]
fn a_stage_with_only_a_command_runs_on_every_repro_as_dvc() {
    let sb = Sandbox::new();
    let by_dvc = fixture(&sb, "dvc");
    let by_vintner = fixture(&sb, "vintner");
    let yaml = format!(
        "{DVC_YAML}  hook:\n    cmd: echo hook >> hook.log\n  still:\n    cmd: echo s >> s.log\n    \
         frozen: true\n"
    );
    for repo in [&by_dvc, &by_vintner] {
        write(&repo.join("dvc.yaml"), yaml.as_bytes());
    }
    for _ in 0..2 {
        let (out, err) = dvc_ok(&sb, &by_dvc, &["repro", "hook", "still"]);
        let theirs = ran(&format!("{out}{err}"));
        let (out, err) = vintner_ok(&sb, &by_vintner, &["repro", "hook", "still"]);
        let ours = ran(&format!("{out}{err}"));
        assert_eq!(ours, theirs, "{err}");
        assert!(ours.contains(&"hook".to_string()), "{err}");
    }
    assert_eq!(read(&by_vintner.join("hook.log")), b"hook\nhook\n");
}

#[test]
fn a_parameters_file_another_stage_makes_orders_the_stages_as_dvc() {
    let sb = Sandbox::new();
    let yaml = "stages:\n  use:\n    cmd: cat made.toml > used.txt\n    params:\n      - made.toml:\n          \
                - k\n    outs:\n      - used.txt\n  mk:\n    cmd: printf 'k = 1' > made.toml\n    outs:\n      \
                - made.toml:\n          cache: false\n";
    let mut orders = Vec::new();
    for name in ["dvc", "vintner"] {
        let repo = sb.mkdir(name);
        git(&repo, &["init", "-q", "-b", "master"]);
        dvc_ok(&sb, &repo, &["init", "-q"]);
        write(&repo.join("dvc.yaml"), yaml.as_bytes());
        let (out, err) = if name == "dvc" {
            dvc_ok(&sb, &repo, &["repro"])
        } else {
            vintner_ok(&sb, &repo, &["repro"])
        };
        orders.push(ran(&format!("{out}{err}")));
        assert_eq!(read(&repo.join("used.txt")), b"k = 1");
    }
    assert_eq!(orders[0], ["mk", "use"]);
    assert_eq!(orders[1], orders[0]);
    // A parameter missing from its file stops the stage before its command runs.
    let repo = sb.path().join("vintner");
    write(
        &repo.join("dvc.yaml"),
        yaml.replace("          - k\n", "          - nokey\n")
            .replace("cat made.toml", "touch ran.txt && cat made.toml")
            .as_bytes(),
    );
    let out = sb.vintner(&repo).args(["repro", "use"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`nokey` is missing from `made.toml`"), "{err}");
    assert!(!repo.join("ran.txt").exists(), "{err}");
}

#[test]
fn a_persisted_output_linked_to_the_cache_is_unprotected_before_its_command() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    git(&repo, &["init", "-q", "-b", "master"]);
    dvc_ok(&sb, &repo, &["init", "-q"]);
    dvc_ok(&sb, &repo, &["config", "cache.type", "symlink"]);
    write(
        &repo.join("dvc.yaml"),
        b"stages:\n  grow:\n    cmd: echo p >> p.txt\n    always_changed: true\n    outs:\n      \
          - p.txt:\n          persist: true\n",
    );
    vintner_ok(&sb, &repo, &["repro"]);
    let object = repo.join(".dvc/cache/files/md5/9d/7bf075372908f55e2d945c39e0a613");
    assert_eq!(read(&object), b"p\n");
    vintner_ok(&sb, &repo, &["repro"]);
    assert_eq!(read(&repo.join("p.txt")), b"p\np\n");
    assert_eq!(
        read(&object),
        b"p\n",
        "the cached object was written through the link"
    );
}

#[test]
fn fish_gets_no_config_and_a_set_dvc_root_is_kept_as_dvc() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    // A stand-in `fish` 3.7.1 that notes its flags and runs the command with `sh`.
    let fish = sb.path().join("bin/fish");
    write(
        &fish,
        b"#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'fish, version 3.7.1'; exit 0; fi\n\
          flags=\"\"\nwhile [ \"$1\" != -c ]; do flags=\"$flags $1\"; shift; done\n\
          echo \"$flags\" > flags.txt\nexec /bin/sh \"$@\"\n",
    );
    std::fs::set_permissions(&fish, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut seen = Vec::new();
    for name in ["dvc", "vintner"] {
        let repo = sb.mkdir(name);
        git(&repo, &["init", "-q", "-b", "master"]);
        dvc_ok(&sb, &repo, &["init", "-q"]);
        write(
            &repo.join("dvc.yaml"),
            b"stages:\n  s:\n    cmd: echo \"$DVC_ROOT\" > root.txt\n    outs:\n      - root.txt\n",
        );
        let mut cmd = if name == "dvc" {
            peers::dvc(&sb, &repo)
        } else {
            sb.vintner(&repo)
        };
        let out = cmd
            .arg("repro")
            .env("SHELL", &fish)
            .env("DVC_ROOT", "kept")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        seen.push((read(&repo.join("flags.txt")), read(&repo.join("root.txt"))));
    }
    assert_eq!(seen[1], seen[0]);
    assert_eq!(seen[1], (b" --no-config\n".to_vec(), b"kept\n".to_vec()));
}

/// Runs `dvc repro` and `vintner repro` on the same `dvc.yaml` and files; returns both
/// `dvc.lock` texts (DVC's first).
fn both_locks(sb: &Sandbox, tag: &str, yaml: &str, files: &[(&str, &str)]) -> (String, String) {
    let mut locks = Vec::new();
    for tool in ["dvc", "vintner"] {
        let repo = sb.mkdir(&format!("{tag}-{tool}"));
        git(&repo, &["init", "-q", "-b", "master"]);
        dvc_ok(sb, &repo, &["init", "-q"]);
        for (f, text) in files {
            write(&repo.join(f), text.as_bytes());
        }
        write(&repo.join("dvc.yaml"), yaml.as_bytes());
        if tool == "dvc" {
            dvc_ok(sb, &repo, &["repro"]);
        } else {
            vintner_ok(sb, &repo, &["repro"]);
        }
        locks.push(String::from_utf8(read(&repo.join("dvc.lock"))).unwrap());
    }
    let vintner = locks.pop().unwrap();
    (locks.pop().unwrap(), vintner)
}

#[test]
fn vars_mappings_merge_and_a_file_listed_twice_loads_once_as_dvc() {
    let sb = Sandbox::new();
    let yaml = "vars:\n  - train:\n      lr: 1\n  - train:\n      bs: 2\n  - extra.yaml\n  - extra.yaml\n\
                stages:\n  s:\n    cmd: echo ${train.lr} ${train.bs} ${e.f} > o.txt\n    outs:\n      - o.txt\n";
    let (theirs, ours) = both_locks(&sb, "vars", yaml, &[("extra.yaml", "e:\n  f: 3\n")]);
    assert!(ours.contains("cmd: echo 1 2 3 > o.txt"), "{ours}");
    assert_eq!(ours, theirs);
}

#[test]
fn a_number_in_a_key_indexes_a_list_as_dvc() {
    let sb = Sandbox::new();
    let yaml = "stages:\n  s:\n    cmd: echo ${layers.1} ${layers[0]} > o.txt\n    params:\n      \
                - layers.1\n    outs:\n      - o.txt\n";
    let (theirs, ours) = both_locks(&sb, "keys", yaml, &[("params.yaml", "layers: [8, 16]\n")]);
    assert!(
        ours.contains("layers.1: 16") && ours.contains("echo 16 8"),
        "{ours}"
    );
    assert_eq!(ours, theirs);
    // `m[0]` is no parameters key to DVC.
    let repo = sb.path().join("keys-vintner");
    write(
        &repo.join("dvc.yaml"),
        yaml.replace("- layers.1", "- layers[0]").as_bytes(),
    );
    let out = sb.vintner(&repo).arg("repro").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`layers[0]` is missing from `params.yaml`"),
        "{err}"
    );
}

#[test]
fn plain_numbers_with_underscores_or_a_leading_zero_are_numbers_as_dvc() {
    let sb = Sandbox::new();
    let yaml = "vars:\n  - k: 0_7\nstages:\n  s:\n    cmd: echo ${n} ${m} ${k} > o.txt\n    params:\n      \
                - n\n      - m\n    outs:\n      - o.txt\n";
    let (theirs, ours) = both_locks(&sb, "nums", yaml, &[("params.yaml", "n: 10_000\nm: 017\n")]);
    assert!(
        ours.contains("n: 10000") && ours.contains("echo 10000 17 7"),
        "{ours}"
    );
    assert_eq!(ours, theirs);
}

#[test]
fn a_stage_whose_outputs_alone_changed_restores_them_from_the_cache_as_dvc() {
    let sb = Sandbox::new();
    let by_dvc = fixture(&sb, "dvc");
    let by_vintner = fixture(&sb, "vintner");
    dvc_ok(&sb, &by_dvc, &["repro"]);
    vintner_ok(&sb, &by_vintner, &["repro"]);
    let mut seen = Vec::new();
    for repo in [&by_dvc, &by_vintner] {
        std::fs::remove_file(repo.join("out/f2.txt")).unwrap();
        write(&repo.join("out/f1.txt"), b"edited\n");
        let (out, err) = if repo == &by_dvc {
            dvc_ok(&sb, repo, &["repro", "train"])
        } else {
            vintner_ok(&sb, repo, &["repro", "train"])
        };
        let text = format!("{out}{err}");
        assert!(
            text.contains("Stage 'prep' is cached - skipping run, checking out outputs"),
            "{text}"
        );
        seen.push(ran(&text));
        assert_eq!(read(&repo.join("out/f1.txt")), b"1\n");
        assert_eq!(read(&repo.join("out/f2.txt")), b"2\n");
    }
    assert_eq!(seen[1], seen[0]);
    assert!(seen[1].is_empty(), "{:?}", seen[1]);
    assert_eq!(lock_of(&by_vintner), lock_of(&by_dvc));
}

#[test]
fn repro_track_pushes_each_stage_s_cached_outputs_so_register_takes_them() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    git(&repo, &["init", "-q", "-b", "master"]);
    dvc_ok(&sb, &repo, &["init", "-q"]);
    let store = sb.mkdir("store");
    dvc_ok(
        &sb,
        &repo,
        &["remote", "add", "-d", "store", store.to_str().unwrap()],
    );
    write(&repo.join("params.yaml"), b"lr: 0.25\n");
    write(
        &repo.join("dvc.yaml"),
        b"stages:\n  train:\n    cmd:\n    - echo weights > model.bin\n    - >-\n      \
          echo '{\"acc\": 0.75}' > metrics.json\n    params:\n    - lr\n    outs:\n    \
          - model.bin\n    metrics:\n    - metrics.json:\n        cache: false\n",
    );
    vintner_ok(&sb, &repo, &["repro", "--track"]);
    let md5 = crate::data::md5_hex(b"weights\n");
    assert!(
        store
            .join(format!("files/md5/{}/{}", &md5[..2], &md5[2..]))
            .is_file(),
        "model.bin was not pushed"
    );
    let (out, _) = vintner_ok(&sb, &repo, &["runs", "list", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let train = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["info"]["run_name"] == "train")
        .unwrap_or_else(|| panic!("no train run in {out}"));
    let run_id = train["info"]["run_id"].as_str().unwrap().to_string();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "trained"]);
    let (out, err) = vintner_ok(
        &sb,
        &repo,
        &[
            "register",
            "--run",
            &run_id,
            "--name",
            "m",
            "--output",
            "model.bin",
            "--metric",
            "acc",
            "--higher-is-better",
        ],
    );
    assert_eq!(out.trim(), "m/1", "{err}");
}

#[test]
fn repro_reads_the_working_folder_s_dvc_yaml_and_refuses_targets_of_several_files() {
    let sb = Sandbox::new();
    let repo = fixture(&sb, "repo");
    // A folder without `dvc.yaml`: DVC does not fall back to the root's, nor does vintner.
    let sub = repo.join("sub");
    let out = peers::dvc(&sb, &sub).arg("repro").output().unwrap();
    assert!(!out.status.success());
    let out = sb.vintner(&sub).arg("repro").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("dvc.yaml") && err.contains("hint:"), "{err}");
    assert!(!repo.join("dvc.lock").exists() && !repo.join("out").exists());
    // Stages of two pipeline files in one call are refused by name, before anything runs.
    write(
        &repo.join("pipe/dvc.yaml"),
        b"stages:\n  s:\n    cmd: echo s > s.txt\n    outs:\n      - s.txt\n",
    );
    let out = sb
        .vintner(&repo)
        .args(["repro", "pipe/dvc.yaml:s", "prep"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("several pipeline files: `pipe/dvc.yaml`, `dvc.yaml`"),
        "{err}"
    );
    assert!(!repo.join("pipe/s.txt").exists() && !repo.join("out").exists());
    // `dag` shows the root's pipeline from a folder without one.
    let (ours, _) = vintner_ok(&sb, &sub, &["dag", "--dot"]);
    assert!(ours.contains("\"prep\""), "{ours}");
}

#[test]
fn a_dependency_a_changed_stage_of_another_dvc_yaml_makes_is_refused() {
    let sb = Sandbox::new();
    let repo = fixture(&sb, "repo");
    write(
        &repo.join("pipe/dvc.yaml"),
        b"stages:\n  s:\n    cmd: echo s > s.txt\n    outs:\n      - s.txt\n",
    );
    let yaml = format!(
        "{DVC_YAML}  use:\n    cmd: cat pipe/s.txt > used.txt\n    deps:\n      - pipe/s.txt\n    \
         outs:\n      - used.txt\n"
    );
    write(&repo.join("dvc.yaml"), yaml.as_bytes());
    let out = sb.vintner(&repo).args(["repro", "use"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "stage `use` depends on `pipe/s.txt`, which stage `s` of `pipe/dvc.yaml` makes"
        ) && err.contains("vintner repro pipe/dvc.yaml"),
        "{err}"
    );
    assert!(!repo.join("used.txt").exists());
    // Once that pipeline is reproduced, this one runs, as DVC would.
    vintner_ok(&sb, &repo, &["repro", "pipe/dvc.yaml"]);
    let (out, err) = vintner_ok(&sb, &repo, &["repro", "use"]);
    assert_eq!(ran(&format!("{out}{err}")), ["use"], "{err}");
    assert_eq!(read(&repo.join("used.txt")), b"s\n");
}
