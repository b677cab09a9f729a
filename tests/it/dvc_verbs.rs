//! The DVC verbs beyond add/push/pull, side by side with the real `dvc` on identical
//! repositories: `dvc` works in one, `vintner` in the other, and both must end with the same exit
//! code and the same files byte for byte; after every vintner command, `dvc status` and
//! `dvc checkout` must still work in its repository.

use std::path::{Path, PathBuf};

use crate::common::{Sandbox, git, read, snapshot, stderr, write};
use crate::peers;

/// Two identical repositories, `theirs` for `dvc` and `ours` for `vintner`, each with a file,
/// a folder and a top-level file versioned by `dvc add` and committed to git.
fn twins(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let theirs = sb.mkdir("theirs");
    let ours = sb.mkdir("ours");
    for root in [&theirs, &ours] {
        git(root, &["init", "--quiet"]);
        peers::dvc(sb, root).args(["init", "-q"]).assert().success();
        write(&root.join("data/a.txt"), b"a\n");
        write(&root.join("data/dir/b.txt"), b"b\n");
        write(&root.join("data/dir/sub/c.txt"), b"c\n");
        write(&root.join("top.csv"), b"x,y\n1,2\n");
        peers::dvc(sb, root)
            .args(["add", "-q", "data/a.txt", "data/dir", "top.csv"])
            .assert()
            .success();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "data"]);
    }
    (theirs, ours)
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

/// `dvc status` and `dvc checkout` still work in a repository vintner changed.
fn dvc_still_works(sb: &Sandbox, root: &Path) {
    peers::dvc(sb, root).arg("status").assert().success();
    peers::dvc(sb, root).arg("checkout").assert().success();
}

/// Runs the same arguments with both tools and checks the exit codes agree; then `dvc status`
/// must work in both repositories, and `dvc checkout` must end the same way in both (it
/// refuses in both when the workspace holds changes on purpose). Returns vintner's run.
fn both(
    sb: &Sandbox,
    theirs: &Path,
    ours: &Path,
    args: &[&str],
    code: i32,
) -> assert_cmd::assert::Assert {
    peers::dvc(sb, theirs)
        .args(args)
        .write_stdin("")
        .assert()
        .code(code);
    let out = sb
        .vintner(ours)
        .args(args)
        .write_stdin("")
        .assert()
        .code(code);
    let mut checkout_codes = Vec::new();
    for root in [theirs, ours] {
        peers::dvc(sb, root).arg("status").assert().success();
        let checkout = peers::dvc(sb, root).arg("checkout").output().unwrap();
        checkout_codes.push(checkout.status.code());
    }
    assert_eq!(
        checkout_codes[0], checkout_codes[1],
        "`dvc checkout` after `{args:?}`: dvc's repository (left), vintner's (right)"
    );
    out
}

#[test]
fn remove_untracks_like_dvc_and_outs_deletes_only_saved_data() {
    let sb = Sandbox::new();
    let (theirs, ours) = twins(&sb);
    // An output's path is not its `.dvc` file: both refuse, naming the file meant.
    let out = both(&sb, &theirs, &ours, &["remove", "data/a.txt"], 1);
    assert!(stderr(&out).contains("data/a.txt.dvc"), "{}", stderr(&out));
    same_files(&theirs, &ours);

    both(&sb, &theirs, &ours, &["remove", "data/a.txt.dvc"], 0);
    both(&sb, &theirs, &ours, &["remove", "--outs", "top.csv.dvc"], 0);
    same_files(&theirs, &ours);
    assert!(!ours.join("top.csv").exists() && !ours.join(".gitignore").exists());
    // (`dvc checkout` then deletes the untracked `data/a.txt` in both, as DVC's index says.)
    assert!(!ours.join("data/a.txt.dvc").exists());
    assert_eq!(read(&ours.join("data/.gitignore")), b"/dir\n");

    // Changed data is not deleted without --force (DVC would delete it), and nothing changes.
    write(&ours.join("data/dir/b.txt"), b"edited\n");
    let before = files(&ours);
    let out = sb
        .vintner(&ours)
        .args(["rm", "--outs", "data/dir.dvc"])
        .assert()
        .code(1);
    assert!(stderr(&out).contains("data/dir"), "{}", stderr(&out));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
    assert_eq!(files(&ours), before);
    sb.vintner(&ours)
        .args(["rm", "--outs", "--force", "data/dir.dvc"])
        .assert()
        .success();
    assert!(!ours.join("data/dir").exists() && !ours.join("data/dir.dvc").exists());
    assert!(!ours.join("data/.gitignore").exists());
    dvc_still_works(&sb, &ours);
}

#[test]
fn move_renames_output_dvc_file_and_gitignore_like_dvc() {
    let sb = Sandbox::new();
    let (theirs, ours) = twins(&sb);
    // User keys of the `.dvc` file travel with it.
    for root in [&theirs, &ours] {
        let text = String::from_utf8(read(&root.join("data/a.txt.dvc"))).unwrap();
        std::fs::write(
            root.join("data/a.txt.dvc"),
            format!("{text}  desc: the a file\nmeta:\n  owner: me\n"),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("moved")).unwrap();
        // A `.dvc` file not named after its output keeps its name; only `path` changes.
        write(&root.join("other/one.txt"), b"one\n");
        write(
            &root.join("other/custom.dvc"),
            b"outs:\n- md5: 6b5ed2ce1bd5e6ad7e5b7b0e1e2d9d0e\n  size: 4\n  hash: md5\n  path: one.txt\n",
        );
    }
    for root in [&theirs, &ours] {
        peers::dvc(&sb, root)
            .args(["commit", "-f", "-q", "other/custom.dvc"])
            .assert()
            .success();
    }
    same_files(&theirs, &ours);
    both(
        &sb,
        &theirs,
        &ours,
        &["move", "data/a.txt", "moved/z.txt"],
        0,
    );
    both(&sb, &theirs, &ours, &["move", "data/dir", "moved"], 0);
    both(
        &sb,
        &theirs,
        &ours,
        &["move", "other/one.txt", "two.txt"],
        0,
    );
    same_files(&theirs, &ours);
    let dvc_file = String::from_utf8(read(&ours.join("moved/z.txt.dvc"))).unwrap();
    assert!(
        dvc_file.contains("  path: z.txt\n  desc: the a file\nmeta:\n  owner: me\n"),
        "{dvc_file}"
    );
    assert_eq!(
        read(&ours.join("other/custom.dvc")),
        read(&theirs.join("other/custom.dvc"))
    );
    assert!(
        String::from_utf8(read(&ours.join("other/custom.dvc")))
            .unwrap()
            .contains("path: ../two.txt")
    );
    assert!(!ours.join("data/.gitignore").exists());

    // A destination that is taken is refused and nothing changes.
    let before = files(&ours);
    let out = sb
        .vintner(&ours)
        .args(["mv", "top.csv", "two.txt"])
        .assert()
        .code(1);
    assert!(stderr(&out).contains("two.txt"), "{}", stderr(&out));
    assert_eq!(files(&ours), before);
}

#[test]
fn commit_asks_without_a_terminal_and_records_changes_like_dvc() {
    let sb = Sandbox::new();
    let (theirs, ours) = twins(&sb);
    for root in [&theirs, &ours] {
        write(&root.join("data/a.txt"), b"a, edited\n");
        write(&root.join("data/dir/new.txt"), b"new\n");
        std::fs::remove_file(root.join("data/dir/b.txt")).unwrap();
    }
    // Changes need a yes, and there is nobody to ask: both refuse and write nothing.
    let out = both(&sb, &theirs, &ours, &["commit"], 1);
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    same_files(&theirs, &ours);
    both(&sb, &theirs, &ours, &["commit", "-f", "data/a.txt.dvc"], 0);
    same_files(&theirs, &ours);
    both(&sb, &theirs, &ours, &["commit", "--force"], 0);
    same_files(&theirs, &ours);
    dvc_still_works(&sb, &ours);
    peers::dvc(&sb, &ours)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");

    // Data that is only missing from the cache is stored without asking.
    for root in [&theirs, &ours] {
        let cache = root.join(".dvc/cache");
        make_writable(&cache);
        std::fs::remove_dir_all(&cache).unwrap();
    }
    both(&sb, &theirs, &ours, &["commit"], 0);
    same_files(&theirs, &ours);
}

fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        let mode = e.metadata().unwrap().permissions().mode();
        std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode | 0o200)).unwrap();
    }
}

#[test]
fn unprotect_turns_hardlinks_into_writable_copies_like_dvc() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let sb = Sandbox::new();
    let (theirs, ours) = twins(&sb);
    for root in [&theirs, &ours] {
        peers::dvc(&sb, root)
            .args(["config", "cache.type", "hardlink"])
            .assert()
            .success();
        peers::dvc(&sb, root)
            .args(["checkout", "--relink", "-q"])
            .assert()
            .success();
        assert_eq!(
            std::fs::metadata(root.join("data/dir/sub/c.txt"))
                .unwrap()
                .nlink(),
            2,
            "the workspace file is a hardlink into the cache"
        );
    }
    both(
        &sb,
        &theirs,
        &ours,
        &["unprotect", "data/dir", "top.csv"],
        0,
    );
    same_files(&theirs, &ours);
    for root in [&theirs, &ours] {
        for f in ["data/dir/b.txt", "data/dir/sub/c.txt", "top.csv"] {
            let m = std::fs::metadata(root.join(f)).unwrap();
            assert_eq!(m.nlink(), 1, "{f} is a copy of its own");
            assert_eq!(m.permissions().mode() & 0o200, 0o200, "{f} is writable");
        }
        // Still a hardlink: it was not named.
        assert_eq!(
            std::fs::metadata(root.join("data/a.txt")).unwrap().nlink(),
            2
        );
    }
    // Editing the copy leaves the cache intact.
    write(&ours.join("top.csv"), b"changed\n");
    peers::dvc(&sb, &ours)
        .args(["status", "top.csv.dvc"])
        .assert()
        .success()
        .stdout(predicates::str::contains("modified"));
    let out = sb
        .vintner(&ours)
        .args(["unprotect", "no-such-file"])
        .assert()
        .code(1);
    assert!(stderr(&out).contains("no-such-file"), "{}", stderr(&out));
}

#[test]
fn freeze_and_unfreeze_write_what_dvc_writes() {
    let sb = Sandbox::new();
    let (theirs, ours) = twins(&sb);
    both(
        &sb,
        &theirs,
        &ours,
        &["freeze", "data/a.txt.dvc", "data/dir.dvc"],
        0,
    );
    same_files(&theirs, &ours);
    assert!(
        String::from_utf8(read(&ours.join("data/dir.dvc")))
            .unwrap()
            .ends_with("  path: dir\nfrozen: true\n")
    );
    both(&sb, &theirs, &ours, &["freeze", "data/a.txt.dvc"], 0);
    both(&sb, &theirs, &ours, &["unfreeze", "data/dir.dvc"], 0);
    same_files(&theirs, &ours);
    dvc_still_works(&sb, &ours);
    // An output's path instead of its `.dvc` file: both refuse, and nothing changes.
    both(&sb, &theirs, &ours, &["freeze", "top.csv"], 1);
    same_files(&theirs, &ours);
}

#[test]
fn root_and_cache_dir_print_and_write_what_dvc_does() {
    let sb = Sandbox::new();
    let (theirs, ours) = twins(&sb);
    let stdout =
        |a: &assert_cmd::assert::Assert| String::from_utf8(a.get_output().stdout.clone()).unwrap();
    for (dir, want) in [("", ".\n"), ("data/dir/sub", "../../..\n")] {
        let out = sb.vintner(&ours.join(dir)).arg("root").assert().success();
        assert_eq!(stdout(&out), want);
        peers::dvc(&sb, &theirs.join(dir))
            .arg("root")
            .assert()
            .success()
            .stdout(want);
    }
    let shown = |root: &Path, args: &[&str]| {
        let theirs = peers::dvc(&sb, root).args(args).assert().success();
        stdout(&theirs)
    };
    assert_eq!(
        stdout(&sb.vintner(&ours).args(["cache", "dir"]).assert().success()),
        shown(&theirs, &["cache", "dir"]).replace("theirs", "ours")
    );
    // A relative folder is taken from the current folder and written relative to the config.
    // (The shared cache gets the objects first, so that `dvc checkout` finds them there.)
    let shared = sb.path().join("shared-cache");
    copy_tree(&ours.join(".dvc/cache"), &shared);
    both(
        &sb,
        &theirs.join("data/dir"),
        &ours.join("data/dir"),
        &["cache", "dir", "../../../shared-cache"],
        0,
    );
    same_files(&theirs, &ours);
    assert_eq!(
        read(&ours.join(".dvc/config")),
        b"[cache]\n    dir = ../../shared-cache\n"
    );
    let ours_shown = stdout(&sb.vintner(&ours).args(["cache", "dir"]).assert().success());
    assert_eq!(ours_shown.trim_end(), shared.to_string_lossy());
    assert_eq!(shown(&theirs, &["cache", "dir"]), ours_shown);
    let abs = shared.to_string_lossy().into_owned();
    both(&sb, &theirs, &ours, &["cache", "dir", "--local", &abs], 0);
    same_files(&theirs, &ours);
    let local = stdout(
        &sb.vintner(&ours)
            .args(["cache", "dir", "--local"])
            .assert()
            .success(),
    );
    assert_eq!(local, format!("{abs}\n"));
    assert_eq!(shown(&theirs, &["cache", "dir", "--local"]), local);
    sb.vintner(&ours)
        .args(["cache", "dir", "--unset", "--local"])
        .assert()
        .success();
    assert!(
        !String::from_utf8(read(&ours.join(".dvc/config.local")))
            .unwrap()
            .contains("dir")
    );
    dvc_still_works(&sb, &ours);
    // A level that does not set it: both fail (DVC with its config-error code).
    peers::dvc(&sb, &theirs)
        .args(["cache", "dir", "--global"])
        .assert()
        .failure();
    sb.vintner(&ours)
        .args(["cache", "dir", "--global"])
        .assert()
        .code(1);
}

/// Copies a folder's files (keeping none of their modes) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        if e.file_type().is_file() {
            let dest = to.join(e.path().strip_prefix(from).unwrap());
            write(&dest, &read(e.path()));
        }
    }
}
