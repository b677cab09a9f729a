//! Untrusted clones: a cloned repository is someone else's data. Every path its `.dvc` files,
//! `dvc.lock` files, `.dir` manifests and `vintner.toml` name must stay inside it; a hostile one
//! is refused with an error naming the file and the path, and nothing is written outside the
//! clone or inside its `.git/`. And which `.dvc` files count at all: collected exactly as DVC
//! collects them (git-ignored files and folders, `.dvcignore`, output folders skipped).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Sandbox, git, stderr, write};
use crate::peers;

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(bytes))
}

const FILE: &[u8] = b"x,y\n1,2\n";

/// `origin`: a repository with one file and one folder pushed to `remote`, committed.
fn origin(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let repo = sb.mkdir("origin");
    let remote = sb.path().join("remote");
    sb.vintner(&repo)
        .args(["init", "--remote"])
        .arg(&remote)
        .assert()
        .success();
    write(&repo.join("data/file.csv"), FILE);
    write(&repo.join("data/dir/a.txt"), b"a\n");
    write(&repo.join("data/dir/b.txt"), b"b\n");
    sb.vintner(&repo)
        .args(["add", "data/file.csv", "data/dir"])
        .assert()
        .success();
    sb.vintner(&repo).arg("push").assert().success();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "data"]);
    (repo, remote)
}

/// Puts a `.dir` manifest with these `(md5, relpath)` members into the remote under the md5
/// of its bytes, so that only a path check can stop it; returns its id.
fn plant_manifest(remote: &Path, members: &[(&str, &str)]) -> String {
    let items: Vec<String> = members
        .iter()
        .map(|(md5, rel)| format!("{{\"md5\": \"{md5}\", \"relpath\": \"{rel}\"}}"))
        .collect();
    let bytes = format!("[{}]", items.join(", "));
    let id = md5_hex(bytes.as_bytes());
    write(
        &remote
            .join("files/md5")
            .join(&id[..2])
            .join(format!("{}.dir", &id[2..])),
        bytes.as_bytes(),
    );
    id
}

fn dvc_file(md5: &str, path: &str) -> String {
    format!("outs:\n- md5: {md5}\n  size: 8\n  hash: md5\n  path: {path}\n")
}

fn symlink(target: &str, link: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// Every file and symlink below `top` (relative path → bytes or link target), leaving out the
/// work tree of `clone` but keeping its `.git/`.
fn snapshot(top: &Path, clone: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(top)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_type().is_dir())
        .filter(|e| !e.path().starts_with(clone) || e.path().starts_with(clone.join(".git")))
        .map(|e| {
            let shown = e
                .path()
                .strip_prefix(top)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let body = if e.file_type().is_symlink() {
                std::fs::read_link(e.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
                    .into_bytes()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            (shown, body)
        })
        .collect();
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// One hostile input: what is planted in a fresh clone, which commands must refuse it, and
/// what their error must name.
struct Hostile {
    what: &'static str,
    plant: Box<dyn Fn(&Path)>,
    commands: &'static [&'static [&'static str]],
    names: Vec<String>,
}

const ALL: &[&[&str]] = &[
    &["status"],
    &["fetch"],
    &["pull"],
    &["checkout"],
    &["gc", "-w", "--force"],
];
const WRITERS: &[&[&str]] = &[&["pull"], &["checkout", "--force"]];
const GC: &[&[&str]] = &[&["gc", "-w", "--force"]];

#[test]
fn hostile_clones_are_refused_and_nothing_is_written_outside() {
    let sb = Sandbox::new();
    let (origin, remote) = origin(&sb);
    let file_md5 = md5_hex(FILE);
    let a_md5 = md5_hex(b"a\n");
    let outer = sb.mkdir("outer");
    // Where symlinks in hostile clones point: an existing folder outside every clone, so that
    // only the check stops a write there.
    sb.mkdir("outer/elsewhere");
    let abs_target = sb.path().join("abs-target.txt");
    let planted = plant_manifest(&remote, &[(&a_md5, "planted.txt")]);
    let through_sub = plant_manifest(&remote, &[(&a_md5, "sub/planted-below.txt")]);
    let climbing = plant_manifest(&remote, &[(&a_md5, "../../escaped.txt")]);

    let (fm, abs) = (file_md5.clone(), abs_target.clone());
    let mut cases: Vec<Hostile> = vec![
        Hostile {
            what: "`.dvc` out climbing out with `..`",
            plant: {
                let m = fm.clone();
                Box::new(move |c| {
                    write(
                        &c.join("x.txt.dvc"),
                        dvc_file(&m, "../../outside.txt").as_bytes(),
                    )
                })
            },
            commands: ALL,
            names: vec!["x.txt.dvc".into(), "../../outside.txt".into()],
        },
        Hostile {
            what: "`.dvc` out with an absolute path",
            plant: {
                let (m, a) = (fm.clone(), abs.clone());
                Box::new(move |c| {
                    write(
                        &c.join("abs.dvc"),
                        dvc_file(&m, &a.to_string_lossy()).as_bytes(),
                    )
                })
            },
            commands: ALL,
            names: vec!["abs.dvc".into(), abs_target.to_string_lossy().into_owned()],
        },
        Hostile {
            what: "`.dvc` out below a symlinked folder leading outside",
            plant: {
                let m = fm.clone();
                Box::new(move |c| {
                    symlink("../elsewhere", &c.join("link"));
                    write(
                        &c.join("via-link.dvc"),
                        dvc_file(&m, "link/x.txt").as_bytes(),
                    );
                })
            },
            commands: ALL,
            names: vec![
                "via-link.dvc".into(),
                "link/x.txt".into(),
                "symlink `link`".into(),
            ],
        },
        Hostile {
            what: "`.dvc` out that is a git hook",
            plant: {
                let m = fm.clone();
                Box::new(move |c| {
                    write(
                        &c.join("hook.dvc"),
                        dvc_file(&m, ".git/hooks/post-checkout").as_bytes(),
                    )
                })
            },
            commands: ALL,
            names: vec!["hook.dvc".into(), ".git/hooks/post-checkout".into()],
        },
        Hostile {
            what: "`.dvc` out that is DVC's config",
            plant: {
                let m = fm.clone();
                Box::new(move |c| {
                    write(&c.join("conf.dvc"), dvc_file(&m, ".dvc/config").as_bytes())
                })
            },
            commands: ALL,
            names: vec!["conf.dvc".into(), ".dvc/config".into()],
        },
        Hostile {
            what: "`.dvc` out in a subfolder climbing out through `..`",
            plant: {
                let m = fm.clone();
                Box::new(move |c| {
                    write(
                        &c.join("deep/er/up.dvc"),
                        dvc_file(&m, "../../../up.txt").as_bytes(),
                    )
                })
            },
            commands: ALL,
            names: vec!["deep/er/up.dvc".into(), "../../../up.txt".into()],
        },
        Hostile {
            what: "`dvc.lock` out climbing out with `..`",
            plant: {
                let m = fm.clone();
                Box::new(move |c| {
                    write(
                        &c.join("pipe/dvc.lock"),
                        format!(
                            "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs:\n    - path: \
                             ../../lock-out.txt\n      hash: md5\n      md5: {m}\n      size: 8\n"
                        )
                        .as_bytes(),
                    )
                })
            },
            commands: GC,
            names: vec!["pipe/dvc.lock".into(), "../../lock-out.txt".into()],
        },
        Hostile {
            what: "`dvc.lock` out with an absolute path",
            plant: Box::new(move |c| {
                write(
                    &c.join("dvc.lock"),
                    b"schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs:\n    - path: /etc/x\n",
                )
            }),
            commands: GC,
            names: vec!["dvc.lock".into(), "/etc/x".into()],
        },
        Hostile {
            what: "`dvc.lock` out inside `.git/`",
            plant: Box::new(move |c| {
                write(
                    &c.join("dvc.lock"),
                    b"schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs:\n    - path: .git/config\n",
                )
            }),
            commands: GC,
            names: vec!["dvc.lock".into(), ".git/config".into()],
        },
        Hostile {
            what: "`.dir` output folder that is a symlink leading outside",
            plant: {
                let p = planted.clone();
                Box::new(move |c| {
                    symlink("../../elsewhere", &c.join("data/evil"));
                    write(
                        &c.join("data/evil.dvc"),
                        dvc_file(&format!("{p}.dir"), "evil").as_bytes(),
                    );
                })
            },
            commands: WRITERS,
            names: vec![
                "data/evil.dvc".into(),
                "`evil`".into(),
                "symlink `data/evil`".into(),
            ],
        },
        Hostile {
            what: "`.dir` member below a symlinked subfolder leading outside",
            plant: {
                let p = through_sub.clone();
                Box::new(move |c| {
                    symlink("../../../elsewhere", &c.join("data/evil/sub"));
                    write(
                        &c.join("data/evil.dvc"),
                        dvc_file(&format!("{p}.dir"), "evil").as_bytes(),
                    );
                })
            },
            commands: WRITERS,
            names: vec![
                "data/evil.dvc".into(),
                "evil/sub/planted-below.txt".into(),
                "symlink `data/evil/sub`".into(),
            ],
        },
        Hostile {
            what: "`.dir` member climbing out with `..`",
            plant: {
                let p = climbing.clone();
                Box::new(move |c| {
                    write(
                        &c.join("data/evil.dvc"),
                        dvc_file(&format!("{p}.dir"), "evil").as_bytes(),
                    )
                })
            },
            commands: WRITERS,
            names: vec!["../../escaped.txt".into(), "escapes the folder".into()],
        },
    ];
    const TRAIN: &[&[&str]] = &[&["train"]];
    cases.push(Hostile {
        what: "`vintner.toml` model.output climbing out",
        plant: Box::new(|c| {
            let t = std::fs::read_to_string(c.join("vintner.toml")).unwrap();
            let t = t.replace("output = \"models/wine-quality\"", "output = \"../x\"");
            std::fs::write(c.join("vintner.toml"), t).unwrap();
        }),
        commands: TRAIN,
        names: vec!["vintner.toml".into(), "model.output".into(), "../x".into()],
    });
    cases.push(Hostile {
        what: "`vintner.toml` data.paths absolute",
        plant: Box::new(|c| {
            let t = std::fs::read_to_string(c.join("vintner.toml")).unwrap();
            let t = t.replace(
                "paths = [\"data/winequality-white.csv\"]",
                "paths = [\"/etc/passwd\"]",
            );
            std::fs::write(c.join("vintner.toml"), t).unwrap();
        }),
        commands: TRAIN,
        names: vec![
            "vintner.toml".into(),
            "data.paths".into(),
            "/etc/passwd".into(),
        ],
    });

    let mut tried = 0;
    for (i, case) in cases.iter().enumerate() {
        let name = format!("clone-{i}");
        git(&outer, &["clone", "-q", &origin.to_string_lossy(), &name]);
        let clone = outer.join(&name);
        // Every object is at hand, so that only the path checks stand between a command and
        // a write.
        copy_tree(&remote.join("files"), &clone.join(".dvc/cache/files"));
        (case.plant)(&clone);
        git(&clone, &["add", "-A"]);
        git(&clone, &["commit", "-qm", "hostile"]);
        for args in case.commands {
            let before = snapshot(sb.path(), &clone);
            let out = sb.vintner(&clone).args(*args).assert().code(1);
            let err = stderr(&out);
            for needle in &case.names {
                assert!(
                    err.contains(needle.as_str()),
                    "{} / {args:?}: no `{needle}` in\n{err}",
                    case.what
                );
            }
            assert!(err.contains("hint:"), "{} / {args:?}: {err}", case.what);
            let after = snapshot(sb.path(), &clone);
            assert!(
                before == after,
                "{} / {args:?} wrote outside the clone or into .git: {:?}",
                case.what,
                after
                    .iter()
                    .filter(|f| !before.contains(f))
                    .map(|f| &f.0)
                    .collect::<Vec<_>>()
            );
            tried += 1;
        }
    }
    // Every hostile input was tried by every command that reads it.
    assert_eq!(cases.len(), 14);
    assert_eq!(tried, 6 * 5 + 3 + 3 * 2 + 2);
    assert!(!sb.path().join("outside.txt").exists());
    assert!(!abs_target.exists());
}

/// The outputs `dvc status --json` reports, as a set of `(dvc file, output path)`.
fn status_outputs(v: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (file, changes) in v.as_object().expect("status is an object") {
        for change in changes.as_array().expect("a list of changes") {
            if let Some(outs) = change.get("changed outs").and_then(Value::as_object) {
                for path in outs.keys() {
                    found.insert((file.clone(), path.clone()));
                }
            }
        }
    }
    found
}

/// The same layout in a repository vintner set up and one DVC set up: `.dvc` files in a
/// git-ignored folder, in a folder git ignores with a pattern, a git-ignored `.dvc` file, a
/// `.dvcignore`d folder, a nested normal folder, a `.dvc` file inside an output folder (the
/// output of a `.dvc` file elsewhere), and a nested DVC repository. Every recorded object is
/// missing, so each collected output shows up in `status`.
#[test]
fn dvc_files_are_collected_exactly_as_dvc_collects_them() {
    let sb = Sandbox::new();
    let ours = sb.mkdir("ours");
    let theirs = sb.mkdir("theirs");
    sb.vintner(&ours)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    git(&theirs, &["init", "--quiet"]);
    peers::dvc(&sb, &theirs).arg("init").assert().success();
    let md5 = |n: u32| md5_hex(n.to_string().as_bytes());
    for root in [&ours, &theirs] {
        let out = |rel: &str, n: u32, path: &str| {
            write(&root.join(rel), dvc_file(&md5(n), path).as_bytes())
        };
        let mut gi = std::fs::read_to_string(root.join(".gitignore")).unwrap_or_default();
        gi.push_str("/mlruns\nscratch-*/\n*.skip.dvc\n");
        std::fs::write(root.join(".gitignore"), gi).unwrap();
        let mut di = std::fs::read_to_string(root.join(".dvcignore")).unwrap();
        di.push_str("private/\n");
        std::fs::write(root.join(".dvcignore"), di).unwrap();
        out("top.dvc", 1, "top.csv");
        out(
            "mlruns/1/abc/artifacts/model/wine-quality.dvc",
            2,
            "wine-quality",
        );
        out("scratch-1/s.dvc", 3, "s.csv");
        out("old.skip.dvc", 4, "old.csv");
        out("private/p.dvc", 5, "p.csv");
        out("a/b/c/nested.dvc", 6, "nested.csv");
        // A folder output declared from above, holding a `.dvc` file of its own.
        write(
            &root.join("a/outs.dvc"),
            dvc_file(&format!("{}.dir", md5(7)), "b/held").as_bytes(),
        );
        out("a/b/held/inner.dvc", 8, "inner.csv");
        // An un-ignoring rule below an ignored folder does not bring it back, as in git.
        write(&root.join("mlruns/.gitignore"), b"!*.dvc\n");
        // A nested DVC repository is its own.
        std::fs::create_dir_all(root.join("sub/.dvc")).unwrap();
        out("sub/own.dvc", 9, "own.csv");
        // Whitelisted again below a pattern-ignored folder's sibling.
        write(&root.join("keep/.gitignore"), b"*.dvc\n!kept.dvc\n");
        out("keep/kept.dvc", 10, "kept.csv");
        out("keep/dropped.dvc", 11, "dropped.csv");
    }
    let theirs_json: Value = {
        let out = peers::dvc(&sb, &theirs)
            .args(["status", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "dvc status: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let ours_json: Value = {
        let out = sb
            .vintner(&ours)
            .args(["status", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "vintner status: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let theirs_set = status_outputs(&theirs_json);
    let ours_set = status_outputs(&ours_json);
    let expected: BTreeSet<(String, String)> = [
        ("top.dvc", "top.csv"),
        ("a/b/c/nested.dvc", "a/b/c/nested.csv"),
        ("a/outs.dvc", "a/b/held"),
        ("keep/kept.dvc", "keep/kept.csv"),
    ]
    .iter()
    .map(|(f, p)| (f.to_string(), p.to_string()))
    .collect();
    assert_eq!(theirs_set, expected, "what DVC collects: {theirs_json}");
    assert_eq!(
        ours_set, theirs_set,
        "vintner: {ours_json}\nDVC: {theirs_json}"
    );
}

/// Two trainings leave a copy of the model's `.dvc` file in each run's artifacts under the
/// git-ignored `mlruns/`; those are not outputs, so `status` is clean and `checkout` writes
/// nothing there.
#[test]
fn run_artifact_copies_of_dvc_files_are_not_outputs() {
    let sb = Sandbox::new();
    let dir = sb.mkdir("proj");
    sb.vintner(&dir)
        .args(["init", "--remote"])
        .arg(sb.path().join("remote"))
        .assert()
        .success();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/winequality-red.csv");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::copy(&src, dir.join("data/winequality-red.csv")).unwrap();
    let toml = std::fs::read_to_string(dir.join("vintner.toml"))
        .unwrap()
        .replace("winequality-white.csv", "winequality-red.csv")
        .replace("n_estimators = 500", "n_estimators = 10")
        .replace("folds = 5", "folds = 2");
    std::fs::write(dir.join("vintner.toml"), toml).unwrap();
    sb.vintner(&dir)
        .args(["add", "data/winequality-red.csv"])
        .assert()
        .success();
    for _ in 0..2 {
        sb.vintner(&dir).arg("train").assert().success();
    }
    let copies: Vec<PathBuf> = walkdir::WalkDir::new(dir.join("mlruns"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "dvc"))
        .map(|e| e.into_path())
        .collect();
    assert_eq!(
        copies.len(),
        2,
        "each run keeps the model's .dvc file: {copies:?}"
    );
    let out = sb
        .vintner(&dir)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!({}), "status lists run artifacts: {v}");
    let before = crate::common::snapshot(&dir.join("mlruns"), false);
    sb.vintner(&dir).arg("checkout").assert().success();
    assert_eq!(before, crate::common::snapshot(&dir.join("mlruns"), false));
}
