//! The remaining DVC verbs (`check-ignore`, `data status`, `ls`, `get`, `import`, `update`,
//! `destroy`, `install`, `doctor`) side by side with the real `dvc` on identical repositories:
//! the same exit code, the same files byte for byte and the same `--json`; after every vintner
//! command, `dvc status` and `dvc checkout` must still work in its repository.

use std::path::{Path, PathBuf};

use crate::common::{Sandbox, git, read, snapshot, stderr, write};
use crate::peers;

/// Two identical repositories, `theirs` for `dvc` and `ours` for `vintner`: a file, a folder
/// with a subfolder and an executable script, versioned by `dvc add` and committed to git,
/// with a `.dvcignore` in the root and one in `data/`.
fn twins(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let theirs = sb.mkdir("theirs");
    let ours = sb.mkdir("ours");
    for root in [&theirs, &ours] {
        make_repo(sb, root);
    }
    (theirs, ours)
}

fn make_repo(sb: &Sandbox, root: &Path) {
    git(root, &["init", "--quiet"]);
    peers::dvc(sb, root).args(["init", "-q"]).assert().success();
    write(&root.join("data/a.txt"), b"a\n");
    write(&root.join("data/dir/b.txt"), b"b\n");
    write(&root.join("data/dir/sub/c.txt"), b"c\n");
    write(&root.join("top.csv"), b"x,y\n1,2\n");
    write(&root.join("src/run.sh"), b"#!/bin/sh\n");
    set_exec(&root.join("src/run.sh"));
    let mut ignore = read(&root.join(".dvcignore"));
    ignore.extend_from_slice(b"*.tmp\nlogs/\n!keep.tmp\n");
    write(&root.join(".dvcignore"), &ignore);
    write(&root.join("data/.dvcignore"), b"# scratch\n*.bak\n");
    peers::dvc(sb, root)
        .args(["add", "-q", "data/a.txt", "data/dir", "top.csv"])
        .assert()
        .success();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "data"]);
}

fn set_exec(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every file of a repository except `.git` and DVC's own scratch files (`.dvc/tmp`: state,
/// locks, btime).
fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    snapshot(root, false)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(".dvc/tmp"))
        .collect()
}

/// The two repositories hold the same files, byte for byte.
fn same_files(theirs: &Path, ours: &Path) {
    let (a, b) = (files(theirs), files(ours));
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "dvc's files (left) and vintner's");
    for ((path, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(
            String::from_utf8_lossy(x),
            String::from_utf8_lossy(y),
            "{path} differs from what dvc wrote"
        );
    }
}

/// `dvc status` and `dvc checkout` still work in a repository vintner worked in.
fn dvc_still_works(sb: &Sandbox, root: &Path) {
    peers::dvc(sb, root).arg("status").assert().success();
    peers::dvc(sb, root).arg("checkout").assert().success();
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

/// Runs the same arguments with both tools (each in its own repository, or `theirs`'s and
/// `ours`'s folder `dir`), checks the exit codes are `code`, and returns both stdouts.
fn both(sb: &Sandbox, theirs: &Path, ours: &Path, args: &[&str], code: i32) -> (String, String) {
    let t = peers::dvc(sb, theirs)
        .args(args)
        .write_stdin("")
        .assert()
        .code(code);
    let o = sb
        .vintner(ours)
        .args(args)
        .write_stdin("")
        .assert()
        .code(code);
    (stdout(&t), stdout(&o))
}

/// Parses JSON output, with lists that DVC fills in no fixed order sorted.
fn json(text: &str) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"));
    if let Some(list) = v.get_mut("unchanged").and_then(|u| u.as_array_mut()) {
        list.sort_by_key(|x| x.to_string());
    }
    v
}

#[test]
fn check_ignore_names_the_same_patterns_and_exits_like_dvc() {
    let sb = Sandbox::new();
    let (theirs, ours) = twins(&sb);
    for root in [&theirs, &ours] {
        write(&root.join("a.tmp"), b"t");
        write(&root.join("keep.tmp"), b"k");
        write(&root.join("logs/x.log"), b"x");
        write(&root.join("data/old.bak"), b"o");
    }
    let targets = [
        "a.tmp",
        "keep.tmp",
        "logs/x.log",
        "logs",
        "data/old.bak",
        "data/a.txt",
        ".dvc/config",
        "no/such/file.tmp",
    ];
    for flags in [&["-d", "-n"][..], &["-d"], &[]] {
        // Each target alone: the same line and the same exit code (1: nothing matched).
        for t in targets {
            let args: Vec<&str> = ["check-ignore"]
                .iter()
                .chain(flags)
                .chain(std::iter::once(&t))
                .copied()
                .collect();
            let code = peers::dvc(&sb, &theirs)
                .args(&args)
                .output()
                .unwrap()
                .status
                .code()
                .unwrap();
            let (a, b) = both(&sb, &theirs, &ours, &args, code);
            assert_eq!(a, b, "{args:?}");
        }
    }
    // Several targets, and paths on stdin up to the first empty line.
    let (a, b) = both(
        &sb,
        &theirs,
        &ours,
        &["check-ignore", "-d", "a.tmp", "data/a.txt", "logs/x.log"],
        0,
    );
    assert_eq!(a, b);
    assert_eq!(
        b,
        ".dvcignore:4:*.tmp\ta.tmp\n.dvcignore:5:logs/\tlogs/x.log\n"
    );
    for root in [&theirs, &ours] {
        let input = "data/a.txt\na.tmp\n\nlogs\n";
        let t = peers::dvc(&sb, root)
            .args(["check-ignore", "--stdin"])
            .write_stdin(input)
            .assert()
            .success();
        let o = sb
            .vintner(root)
            .args(["check-ignore", "--stdin"])
            .write_stdin(input)
            .assert()
            .success();
        assert_eq!(stdout(&t), stdout(&o));
        assert_eq!(stdout(&o), "a.tmp\n");
    }
    same_files(&theirs, &ours);
    dvc_still_works(&sb, &ours);
    // No target at all: both refuse.
    peers::dvc(&sb, &theirs)
        .arg("check-ignore")
        .assert()
        .failure();
    let out = sb.vintner(&ours).arg("check-ignore").assert().code(1);
    assert!(stderr(&out).contains("--stdin"), "{}", stderr(&out));
}

#[test]
fn data_status_reports_what_dvc_reports() {
    let sb = Sandbox::new();
    let (theirs, ours) = twins(&sb);
    let status = |args: &[&str], code: i32| {
        let mut all = vec!["data", "status"];
        all.extend_from_slice(args);
        both(&sb, &theirs, &ours, &all, code)
    };
    let (a, b) = status(&[], 0);
    assert_eq!(a, b);
    assert_eq!(b, "No changes.\n");
    let (a, b) = status(&["--json", "--unchanged", "--granular"], 0);
    assert_eq!(json(&a), json(&b));

    // Changes in the workspace, one `.dvc` file changed since the commit, one object lost.
    for root in [&theirs, &ours] {
        write(&root.join("data/dir/b.txt"), b"b, edited\n");
        write(&root.join("data/dir/new.txt"), b"new\n");
        std::fs::remove_file(root.join("data/dir/sub/c.txt")).unwrap();
        write(&root.join("top.csv"), b"x,y\n3,4\n");
        peers::dvc(&sb, root)
            .args(["add", "-q", "top.csv"])
            .assert()
            .success();
        write(&root.join("top.csv"), b"x,y\n5,6\n");
        write(&root.join("fresh.txt"), b"fresh\n");
        peers::dvc(&sb, root)
            .args(["add", "-q", "fresh.txt"])
            .assert()
            .success();
        let lost = root.join(".dvc/cache/files/md5/a0/0afb7c433b1a8fab592af77ed20eef");
        assert!(lost.is_file(), "the object of `fresh.txt` is in the cache");
        std::fs::remove_file(lost).unwrap();
    }
    for args in [
        &["--json"][..],
        &["--json", "--granular"],
        &["--json", "--granular", "--unchanged"],
        &["--json", "--unchanged"],
        &["--json", "data/dir"],
        &["--json", "--granular", "data/dir/b.txt"],
    ] {
        let (a, b) = status(args, 0);
        assert_eq!(json(&a), json(&b), "{args:?}");
    }
    let (_, b) = status(&["--json", "--granular"], 0);
    assert_eq!(
        json(&b),
        serde_json::json!({
            "not_in_cache": ["fresh.txt"],
            "committed": {"modified": ["top.csv"], "added": ["fresh.txt"]},
            "uncommitted": {
                "modified": ["top.csv", "data/dir/", "data/dir/b.txt"],
                "added": ["data/dir/new.txt"],
                "deleted": ["data/dir/sub/c.txt"],
            },
        })
    );
    // The text is DVC's, with this tool's commands in the hints.
    let (a, b) = status(&["--granular"], 0);
    assert_eq!(a.replace("\"dvc ", "\"vintner "), b);

    // A renamed output is reported as a rename.
    for root in [&theirs, &ours] {
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "more"]);
        peers::dvc(&sb, root)
            .args(["move", "data/a.txt", "data/renamed.txt"])
            .assert()
            .success();
    }
    let (a, b) = status(&["--json"], 0);
    assert_eq!(json(&a), json(&b));
    assert!(b.contains("\"renamed\""), "{b}");
    same_files(&theirs, &ours);
    peers::dvc(&sb, &ours).arg("status").assert().success();
}

#[test]
fn ls_lists_files_and_outputs_like_dvc() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    make_repo(&sb, &repo);
    // A second commit, so that `--rev` has something to show.
    write(&repo.join("data/a.txt"), b"a, second\n");
    peers::dvc(&sb, &repo)
        .args(["add", "-q", "data/a.txt"])
        .assert()
        .success();
    git(&repo, &["commit", "-qam", "second"]);
    let url = format!("file://{}", repo.display());
    let cases: Vec<Vec<&str>> = vec![
        vec!["repo"],
        vec!["repo", "-R"],
        vec!["repo", "--dvc-only"],
        vec!["repo", "-R", "--dvc-only"],
        vec!["repo", "data"],
        vec!["repo", "data/dir"],
        vec!["repo", "data/dir/b.txt"],
        vec!["repo", "src"],
        vec!["repo", "--rev", "HEAD~1"],
        vec!["repo", "-R", "--rev", "HEAD~1"],
        vec!["repo", "-R", "--dvc-only", "--rev", "HEAD~1"],
        vec!["repo", "data", "--rev", "HEAD~1"],
        vec![url.as_str(), "data"],
    ];
    for case in cases {
        let mut args = vec!["ls"];
        args.extend(&case);
        let (a, b) = both(&sb, sb.path(), sb.path(), &args, 0);
        assert_eq!(a, b, "{args:?}");
        args.push("--json");
        let (a, b) = both(&sb, sb.path(), sb.path(), &args, 0);
        assert_eq!(json(&a), json(&b), "{args:?}");
    }
    let (_, b) = both(
        &sb,
        sb.path(),
        sb.path(),
        &["ls", "repo", "-R", "--json"],
        0,
    );
    let listed = json(&b);
    let script = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "src/run.sh")
        .unwrap();
    assert_eq!(script["isexec"], true);
    assert_eq!(script["isout"], false);
    // A path that is not there: both fail with 1.
    let out = sb
        .vintner(sb.path())
        .args(["ls", "repo", "nope"])
        .assert()
        .code(1);
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    peers::dvc(&sb, sb.path())
        .args(["ls", "repo", "nope"])
        .assert()
        .code(1);
    dvc_still_works(&sb, &repo);
}

/// A source repository with two commits (`data/a.txt` changes between them) and two empty
/// twin repositories to get and import into.
fn source_and_twins(sb: &Sandbox) -> (PathBuf, PathBuf, PathBuf) {
    let source = sb.mkdir("source");
    make_repo(sb, &source);
    write(&source.join("data/a.txt"), b"a, second\n");
    peers::dvc(sb, &source)
        .args(["add", "-q", "data/a.txt"])
        .assert()
        .success();
    git(&source, &["commit", "-qam", "second"]);
    let theirs = sb.mkdir("theirs");
    let ours = sb.mkdir("ours");
    for root in [&theirs, &ours] {
        git(root, &["init", "--quiet"]);
        peers::dvc(sb, root).args(["init", "-q"]).assert().success();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "init"]);
    }
    (source, theirs, ours)
}

#[test]
fn get_copies_outputs_and_git_files_like_dvc() {
    let sb = Sandbox::new();
    let (_source, theirs, ours) = source_and_twins(&sb);
    for args in [
        &["get", "../source", "data/a.txt"][..],
        &["get", "../source", "data/dir", "-o", "got"],
        &["get", "../source", "data/dir/sub/c.txt"],
        &["get", "../source", "src"],
        &[
            "get",
            "../source",
            "top.csv",
            "--rev",
            "HEAD~1",
            "-o",
            "old/top.csv",
        ],
        &[
            "get",
            "../source",
            "data/a.txt",
            "--rev",
            "HEAD~1",
            "-o",
            "a-first.txt",
        ],
    ] {
        both(&sb, &theirs, &ours, args, 0);
    }
    same_files(&theirs, &ours);
    assert_eq!(read(&ours.join("a-first.txt")), b"a\n");
    assert_eq!(read(&ours.join("got/sub/c.txt")), b"c\n");
    // An existing destination is refused, and left as it was.
    both(&sb, &theirs, &ours, &["get", "../source", "data/a.txt"], 1);
    let out = sb
        .vintner(&ours)
        .args(["get", "../source", "nope"])
        .assert()
        .code(1);
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    same_files(&theirs, &ours);
    dvc_still_works(&sb, &ours);
}

#[test]
fn import_and_update_write_what_dvc_writes() {
    let sb = Sandbox::new();
    let (source, theirs, ours) = source_and_twins(&sb);
    for args in [
        &["import", "../source", "data/dir", "-o", "imported"][..],
        &[
            "import",
            "../source",
            "data/a.txt",
            "--rev",
            "HEAD~1",
            "-o",
            "a1.txt",
        ],
        &["import", "../source", "src/run.sh"],
        &["import", "../source", "data/dir/sub/c.txt"],
    ] {
        both(&sb, &theirs, &ours, args, 0);
        same_files(&theirs, &ours);
        dvc_still_works(&sb, &ours);
    }
    let dvc_file = String::from_utf8(read(&ours.join("a1.txt.dvc"))).unwrap();
    assert!(
        dvc_file.starts_with("md5: ") && dvc_file.contains("frozen: true\ndeps:\n- path: data/a.txt\n  repo:\n    url: ../source\n    rev: HEAD~1\n    rev_lock: "),
        "{dvc_file}"
    );
    for root in [&theirs, &ours] {
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "imports"]);
    }
    // Nothing new upstream: nothing changes.
    let (a, b) = both(&sb, &theirs, &ours, &["update", "imported.dvc"], 0);
    assert_eq!(a, b);
    // A new commit upstream: update follows it; `--rev` pins another revision.
    write(&source.join("data/dir/more.txt"), b"more\n");
    peers::dvc(&sb, &source)
        .args(["add", "-q", "data/dir"])
        .assert()
        .success();
    git(&source, &["commit", "-qam", "third"]);
    both(
        &sb,
        &theirs,
        &ours,
        &["update", "imported.dvc", "a1.txt.dvc"],
        0,
    );
    same_files(&theirs, &ours);
    assert_eq!(read(&ours.join("imported/more.txt")), b"more\n");
    both(
        &sb,
        &theirs,
        &ours,
        &["update", "run.sh.dvc", "--rev", "HEAD"],
        0,
    );
    same_files(&theirs, &ours);
    dvc_still_works(&sb, &ours);
    // A `.dvc` file that is not an import is refused, and nothing changes.
    let before = files(&ours);
    write(&ours.join("plain.txt"), b"p\n");
    peers::dvc(&sb, &ours)
        .args(["add", "-q", "plain.txt"])
        .assert()
        .success();
    let before_plain = files(&ours);
    let out = sb
        .vintner(&ours)
        .args(["update", "plain.txt.dvc"])
        .assert()
        .code(1);
    assert!(stderr(&out).contains("plain.txt.dvc"), "{}", stderr(&out));
    assert_eq!(files(&ours), before_plain);
    assert_ne!(before, before_plain);
}

#[test]
fn destroy_keeps_the_data_and_install_writes_dvcs_hooks() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let (theirs, ours) = twins(&sb);
    for root in [&theirs, &ours] {
        peers::dvc(&sb, root)
            .args(["config", "cache.type", "symlink"])
            .assert()
            .success();
        peers::dvc(&sb, root)
            .args(["checkout", "--relink", "-q"])
            .assert()
            .success();
    }
    // Without a terminal to confirm on, both refuse and nothing changes.
    let before = files(&ours);
    both(&sb, &theirs, &ours, &["destroy"], 1);
    assert_eq!(files(&ours), before);
    both(&sb, &theirs, &ours, &["destroy", "-f"], 0);
    same_files(&theirs, &ours);
    assert!(!ours.join(".dvc").exists() && !ours.join(".dvcignore").exists());
    let link = std::fs::symlink_metadata(ours.join("data/dir/sub/c.txt")).unwrap();
    assert!(link.is_file(), "a symlink into the cache became a file");
    assert_eq!(read(&ours.join("data/dir/sub/c.txt")), b"c\n");

    let (theirs, ours) = (sb.mkdir("hooks-theirs"), sb.mkdir("hooks-ours"));
    for root in [&theirs, &ours] {
        git(root, &["init", "--quiet"]);
        peers::dvc(&sb, root)
            .args(["init", "-q"])
            .assert()
            .success();
    }
    both(&sb, &theirs, &ours, &["install"], 0);
    for hook in ["post-checkout", "pre-commit", "pre-push"] {
        let (a, b) = (
            theirs.join(".git/hooks").join(hook),
            ours.join(".git/hooks").join(hook),
        );
        assert_eq!(read(&a), read(&b), "{hook}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&a), mode(&b), "{hook}");
    }
    let config = |root: &Path| git(root, &["config", "--local", "--get-regexp", "^merge"]);
    assert_eq!(config(&theirs), config(&ours));
    // Hooks that exist are not overwritten.
    let out = sb.vintner(&ours).arg("install").assert().code(1);
    assert!(stderr(&out).contains("post-checkout"), "{}", stderr(&out));
    same_files(&theirs, &ours);
    dvc_still_works(&sb, &ours);
}
