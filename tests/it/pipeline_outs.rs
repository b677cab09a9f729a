//! Pipeline stage outputs (`dvc.yaml` + `dvc.lock`) in the data verbs, against the real `dvc`
//! on the same repository: the pipeline is made with `dvc stage add` and `dvc repro`, then
//! `status` must give DVC's verdicts, `pull` in a fresh clone DVC's bytes, each tool must pull
//! what the other pushed, `checkout` must restore deleted stage outputs and `gc` keep them.

use std::path::{Path, PathBuf};

use crate::common::{Sandbox, git, read, write};
use crate::peers;

/// `dvc` in `cwd`, which must succeed; returns its stdout.
fn dvc_ok(sb: &Sandbox, cwd: &Path, args: &[&str]) -> String {
    let out = peers::dvc(sb, cwd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "dvc {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `vintner` in `cwd`, which must succeed; returns its stdout.
fn vintner_ok(sb: &Sandbox, cwd: &Path, args: &[&str]) -> String {
    let out = sb.vintner(cwd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "vintner {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A git + DVC repository at `repo/` with the default remote `remote/` and two pipelines made
/// and run by the real `dvc`: `prep` (a folder output), `train` (a file output and a
/// `cache: false` metrics file) in `dvc.yaml`, and `make` in `sub/dvc.yaml`; committed.
fn pipeline(sb: &Sandbox) -> PathBuf {
    let repo = sb.mkdir("repo");
    let remote = sb.mkdir("remote");
    git(&repo, &["init", "-q", "-b", "master"]);
    dvc_ok(sb, &repo, &["init", "-q"]);
    dvc_ok(
        sb,
        &repo,
        &["remote", "add", "-d", "r", remote.to_str().unwrap()],
    );
    write(&repo.join("in.txt"), b"hello\n");
    dvc_ok(
        sb,
        &repo,
        &[
            "stage",
            "add",
            "-n",
            "prep",
            "-d",
            "in.txt",
            "-o",
            "data/prep",
            "mkdir -p data/prep && cp in.txt data/prep/a.txt && printf 'b\\n' > data/prep/b.txt",
        ],
    );
    dvc_ok(
        sb,
        &repo,
        &[
            "stage",
            "add",
            "-n",
            "train",
            "-d",
            "data/prep",
            "-o",
            "model.bin",
            "-M",
            "metrics.json",
            "cat data/prep/a.txt data/prep/b.txt > model.bin && printf '{\"acc\": 1}\\n' > metrics.json",
        ],
    );
    let sub = sb.mkdir("repo/sub");
    dvc_ok(
        sb,
        &sub,
        &[
            "stage",
            "add",
            "-n",
            "make",
            "-o",
            "out.txt",
            "printf 'sub\\n' > out.txt",
        ],
    );
    dvc_ok(sb, &repo, &["repro", "-q"]);
    dvc_ok(sb, &sub, &["repro", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "pipeline"]);
    repo
}

/// The stage outputs whose bytes the tools move, relative to the repository.
const OUTPUTS: [&str; 4] = [
    "data/prep/a.txt",
    "data/prep/b.txt",
    "model.bin",
    "sub/out.txt",
];

/// `status --json` of both tools in `cwd`, parsed, for the same targets.
fn both_status(
    sb: &Sandbox,
    cwd: &Path,
    targets: &[&str],
) -> (serde_json::Value, serde_json::Value) {
    let mut args = vec!["status", "--json"];
    args.extend(targets);
    let d = dvc_ok(sb, cwd, &args);
    let v = vintner_ok(sb, cwd, &args);
    let parse = |s: &str| -> serde_json::Value {
        serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
    };
    (parse(&d), parse(&v))
}

#[test]
fn status_gives_dvcs_verdicts_on_stage_outputs() {
    let sb = Sandbox::new();
    let repo = pipeline(&sb);
    let (d, v) = both_status(&sb, &repo, &[]);
    assert_eq!(d, serde_json::json!({}));
    assert_eq!(v, d);

    // Outputs changed, deleted (one `cache: false`), a sub-pipeline's output gone, a command
    // edited: every verdict, for every way of naming them.
    write(&repo.join("model.bin"), b"changed\n");
    std::fs::remove_file(repo.join("metrics.json")).unwrap();
    std::fs::remove_file(repo.join("sub/out.txt")).unwrap();
    let yaml = String::from_utf8(read(&repo.join("dvc.yaml"))).unwrap();
    write(
        &repo.join("dvc.yaml"),
        yaml.replace("cp in.txt", "cp  in.txt").as_bytes(),
    );
    for targets in [
        &[][..],
        &["train"],
        &["dvc.yaml"],
        &["dvc.yaml:prep"],
        &["sub/dvc.yaml"],
        &["sub/dvc.yaml:make"],
        &["model.bin"],
        &["data/prep/a.txt"],
    ] {
        let (d, v) = both_status(&sb, &repo, targets);
        assert_ne!(d, serde_json::json!({}), "{targets:?}");
        assert_eq!(v, d, "status {targets:?}");
    }
    let (d, v) = both_status(&sb, &repo.join("sub"), &[]);
    assert_eq!(v, d, "status from the sub-pipeline's folder");
    // `diff` against HEAD sees the stage outputs too (a new file in an output folder
    // included, the `cache: false` metrics left out), as `dvc diff` does.
    write(&repo.join("data/prep/c.txt"), b"c\n");
    let diff = |out: String| serde_json::from_str::<serde_json::Value>(out.trim()).unwrap();
    let d = diff(dvc_ok(&sb, &repo, &["diff", "--json"]));
    let v = diff(vintner_ok(&sb, &repo, &["diff", "--json"]));
    assert_eq!(v, d, "diff");
    assert!(v.to_string().contains("model.bin"), "{v}");
    std::fs::remove_file(repo.join("data/prep/c.txt")).unwrap();
    let text = vintner_ok(&sb, &repo, &["status"]);
    assert!(
        text.contains("train:\n\tchanged outs:\n\t\tmodified:           model.bin\n")
            && text.contains("prep:\n\tchanged command\n"),
        "{text}"
    );

    // Outputs whose objects left the cache are `not in cache`, as DVC says.
    git(&repo, &["checkout", "-q", "--", "dvc.yaml"]);
    dvc_ok(&sb, &repo, &["checkout", "-q", "-f"]);
    let cache = repo.join(".dvc/cache/files/md5");
    std::fs::remove_dir_all(&cache).unwrap();
    let (d, v) = both_status(&sb, &repo, &[]);
    assert_eq!(v, d, "status with an empty cache");
    assert!(v.to_string().contains("not in cache"), "{v}");

    // Names DVC refuses, refused.
    for (target, says) in [
        ("dvc.lock", "did you mean `dvc.yaml`?"),
        ("dvc.yaml:nope", "does not have a stage named `nope`"),
    ] {
        let out = sb.vintner(&repo).args(["status", target]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "status {target}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "status {target}: {err}");
    }
}

#[test]
fn either_tool_pulls_the_stage_outputs_the_other_pushed() {
    let sb = Sandbox::new();
    let repo = pipeline(&sb);

    // dvc pushes, vintner pulls in a fresh clone: DVC's bytes.
    dvc_ok(&sb, &repo, &["push", "-q"]);
    let clone = sb.path().join("clone");
    git(sb.path(), &["clone", "-q", repo.to_str().unwrap(), "clone"]);
    let (d, v) = both_status(&sb, &clone, &[]);
    assert_eq!(v, d, "status of a fresh clone");
    // `status -c` in the fresh clone: the folder's manifest, only on the remote, is read
    // from there (and kept, as DVC keeps it), so only its files are `deleted`.
    let json = |s: String| serde_json::from_str::<serde_json::Value>(s.trim()).unwrap();
    let v = json(vintner_ok(&sb, &clone, &["status", "-c", "--json"]));
    let d = json(dvc_ok(&sb, &clone, &["status", "-c", "--json"]));
    assert_eq!(v, d, "status -c of a fresh clone");
    assert!(v.get("data/prep/a.txt").is_some(), "{v}");
    vintner_ok(&sb, &clone, &["pull"]);
    for out in OUTPUTS {
        assert_eq!(read(&clone.join(out)), read(&repo.join(out)), "{out}");
    }
    let (d, v) = both_status(&sb, &clone, &[]);
    assert_eq!((d, v), (serde_json::json!({}), serde_json::json!({})));

    // vintner pushes (to a second remote), dvc pulls in another clone.
    let far = sb.mkdir("far");
    dvc_ok(&sb, &repo, &["remote", "add", "far", far.to_str().unwrap()]);
    let cloud = |tool: &str| {
        let args = ["status", "-c", "-r", "far", "--json"];
        let s = if tool == "dvc" {
            dvc_ok(&sb, &repo, &args)
        } else {
            vintner_ok(&sb, &repo, &args)
        };
        serde_json::from_str::<serde_json::Value>(s.trim()).unwrap()
    };
    assert_eq!(cloud("vintner"), cloud("dvc"), "status -c before the push");
    assert_ne!(cloud("vintner"), serde_json::json!({}));
    vintner_ok(&sb, &repo, &["push", "-r", "far"]);
    assert_eq!(
        cloud("dvc"),
        serde_json::json!({}),
        "dvc sees it all pushed"
    );
    assert_eq!(cloud("vintner"), serde_json::json!({}));
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "far remote"]);
    let other = sb.path().join("other");
    git(sb.path(), &["clone", "-q", repo.to_str().unwrap(), "other"]);
    dvc_ok(&sb, &other, &["pull", "-q", "-r", "far"]);
    for out in OUTPUTS {
        assert_eq!(read(&other.join(out)), read(&repo.join(out)), "{out}");
    }

    // Targets as DVC takes them: one stage, a stage of another `dvc.yaml`, a file inside a
    // stage's output folder.
    let third = sb.path().join("third");
    git(sb.path(), &["clone", "-q", repo.to_str().unwrap(), "third"]);
    vintner_ok(&sb, &third, &["pull", "train"]);
    assert!(third.join("model.bin").is_file() && !third.join("data/prep").exists());
    vintner_ok(
        &sb,
        &third,
        &["pull", "sub/dvc.yaml:make", "data/prep/b.txt"],
    );
    assert_eq!(read(&third.join("sub/out.txt")), b"sub\n");
    assert!(third.join("data/prep/b.txt").is_file() && !third.join("data/prep/a.txt").exists());
}

#[test]
fn checkout_restores_deleted_stage_outputs_and_gc_keeps_them() {
    let sb = Sandbox::new();
    let repo = pipeline(&sb);
    let before: Vec<Vec<u8>> = OUTPUTS.iter().map(|o| read(&repo.join(o))).collect();
    std::fs::remove_dir_all(repo.join("data/prep")).unwrap();
    std::fs::remove_file(repo.join("model.bin")).unwrap();
    std::fs::remove_file(repo.join("sub/out.txt")).unwrap();
    vintner_ok(&sb, &repo, &["checkout"]);
    let after: Vec<Vec<u8>> = OUTPUTS.iter().map(|o| read(&repo.join(o))).collect();
    assert_eq!(after, before);

    // Only what a target names comes back.
    std::fs::remove_file(repo.join("model.bin")).unwrap();
    std::fs::remove_file(repo.join("sub/out.txt")).unwrap();
    vintner_ok(&sb, &repo, &["checkout", "dvc.yaml:train"]);
    assert!(repo.join("model.bin").is_file() && !repo.join("sub/out.txt").exists());
    vintner_ok(&sb, &repo, &["checkout", "sub/dvc.yaml"]);
    assert_eq!(read(&repo.join("sub/out.txt")), b"sub\n");

    // An object nothing references goes; every stage output's objects stay.
    write(&repo.join("old.txt"), b"an old version\n");
    vintner_ok(&sb, &repo, &["add", "old.txt"]);
    std::fs::remove_file(repo.join("old.txt.dvc")).unwrap();
    // The same gc by the real `dvc` on a copy: both keep exactly the same objects.
    let copy = sb.path().join("copy");
    let cp = std::process::Command::new("cp")
        .args(["-a", repo.to_str().unwrap(), copy.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(cp.success());
    let cache = repo.join(".dvc/cache/files/md5");
    let all = files_under(&cache);
    vintner_ok(&sb, &repo, &["gc", "-w", "-f"]);
    dvc_ok(&sb, &copy, &["gc", "-w", "-f", "-q"]);
    let kept = files_under(&cache);
    assert_eq!(kept, files_under(&copy.join(".dvc/cache/files/md5")));
    assert!(kept.len() < all.len(), "the old file's object is gone");
    let (d, v) = both_status(&sb, &repo, &[]);
    assert_eq!((d, v), (serde_json::json!({}), serde_json::json!({})));
}

/// The files under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                found.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}
