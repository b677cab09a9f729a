//! Parity with the real `dvc` on identical repositories: each scenario builds one repository
//! with `dvc`, copies it twice, runs a command with `dvc` in one copy and `vintner` in the other,
//! and compares what a user or a script sees — the exit code, the files written (byte for byte,
//! `.dvc/tmp` left out) and the key lines of output. After every vintner command, `dvc status`
//! and `dvc checkout` must work in the vintner copy exactly as they do in the dvc one.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{Sandbox, git, read, write};
use crate::peers;

/// Two copies of one repository and its remote: `d/` for dvc, `v/` for vintner. The remote's
/// URL is one absolute path, a symlink pointed at the remote of the copy a command runs in —
/// so `.dvc/config` is the same in both, and `dvc` reads it at other git revisions correctly
/// (it resolves a relative local remote of another revision against `/`).
struct Twin {
    sb: Sandbox,
}

/// Which of the two copies.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Dvc,
    Vintner,
}

impl Twin {
    /// A git + DVC repository at `base/repo` with the default remote `r` (`base/remote`), made
    /// by `setup` (with `dvc`), committed, then copied to `d/` and `v/`.
    fn new(setup: impl FnOnce(&Sandbox, &Path)) -> Twin {
        Twin::build(true, setup)
    }

    fn build(default_remote: bool, setup: impl FnOnce(&Sandbox, &Path)) -> Twin {
        let sb = Sandbox::new();
        let repo = sb.mkdir("base/repo");
        sb.mkdir("base/remote");
        point(&sb, &sb.path().join("base"));
        let link = sb.path().join("remote-link");
        git(&repo, &["init", "-q", "-b", "master"]);
        dvc_ok(&sb, &repo, &["init", "-q"]);
        let mut add = vec!["remote", "add"];
        if default_remote {
            add.push("-d");
        }
        add.extend(["r", link.to_str().unwrap()]);
        dvc_ok(&sb, &repo, &add);
        setup(&sb, &repo);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-qm", "base", "--allow-empty"]);
        for side in ["d", "v"] {
            cp(&sb.path().join("base"), &sb.path().join(side));
        }
        Twin { sb }
    }

    fn top(&self, side: Side) -> PathBuf {
        self.sb.path().join(match side {
            Side::Dvc => "d",
            Side::Vintner => "v",
        })
    }

    /// A path inside one copy (relative to its top: `repo/…`, `remote/…`, `clone/…`).
    fn at(&self, side: Side, rel: &str) -> PathBuf {
        self.top(side).join(rel)
    }

    /// Runs the same change in both copies.
    fn each(&self, f: impl Fn(&Path)) {
        f(&self.top(Side::Dvc));
        f(&self.top(Side::Vintner));
    }

    /// Runs `args` with `dvc` in `d/<cwd>` and with `vintner` in `v/<cwd>`, then checks that
    /// the real `dvc` reads the vintner copy as it reads its own.
    fn run(&self, cwd: &str, args: &[&str]) -> (Output, Output) {
        self.point(Side::Dvc);
        let d = peers::dvc(&self.sb, &self.at(Side::Dvc, cwd))
            .args(args)
            .output()
            .unwrap();
        self.point(Side::Vintner);
        let v = self
            .sb
            .vintner(&self.at(Side::Vintner, cwd))
            .args(args)
            .output()
            .unwrap();
        self.dvc_reads_vintner_copy(cwd);
        self.point(Side::Vintner);
        (d, v)
    }

    /// Points the remote's URL at one copy's remote.
    fn point(&self, side: Side) {
        point(&self.sb, &self.top(side));
    }

    /// `dvc status` and `dvc checkout` on throwaway copies of both sides' repository: status
    /// succeeds on the vintner copy, and both answer it as they answer the dvc copy.
    fn dvc_reads_vintner_copy(&self, cwd: &str) {
        let repo = cwd.split('/').next().unwrap();
        let mut codes = Vec::new();
        for side in [Side::Dvc, Side::Vintner] {
            let scratch = self.sb.path().join("scratch");
            let _ = std::fs::remove_dir_all(&scratch);
            cp(&self.top(side), &scratch);
            point(&self.sb, &scratch);
            let dir = scratch.join(repo);
            if !dir.join(".dvc").is_dir() {
                return;
            }
            let status = peers::dvc(&self.sb, &dir).arg("status").output().unwrap();
            let checkout = peers::dvc(&self.sb, &dir).arg("checkout").output().unwrap();
            if side == Side::Vintner {
                assert_eq!(
                    status.status.code(),
                    Some(0),
                    "`dvc status` after vintner: {}",
                    text(&status)
                );
            }
            codes.push((status.status.code(), checkout.status.code()));
        }
        assert_eq!(
            codes[0], codes[1],
            "`dvc status`/`dvc checkout` answer differently in the vintner copy"
        );
    }

    /// Both copies hold the same files with the same bytes.
    fn same_files(&self) {
        let d = files(&self.top(Side::Dvc));
        let v = files(&self.top(Side::Vintner));
        let names = |s: &[(String, Vec<u8>)]| s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&d), names(&v), "the files differ");
        assert!(d == v, "the bytes of some file differ");
    }
}

/// Points the remote's URL (`remote-link` in the sandbox) at `<top>/remote`.
fn point(sb: &Sandbox, top: &Path) {
    let link = sb.path().join("remote-link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(top.join("remote"), &link).unwrap();
}

fn dvc_ok(sb: &Sandbox, cwd: &Path, args: &[&str]) {
    let out = peers::dvc(sb, cwd).args(args).output().unwrap();
    assert!(out.status.success(), "dvc {args:?}: {}", text(&out));
}

fn cp(from: &Path, to: &Path) {
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cp -a {} {}", from.display(), to.display());
}

/// Every file below `dir` but `.git` and `.dvc/tmp` (locks, state, site caches), sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| {
            let p = e.path();
            !(e.file_name() == ".git"
                || (e.file_name() == "tmp"
                    && p.parent().and_then(Path::file_name) == Some(".dvc".as_ref())))
        })
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap();
            (rel.to_string_lossy().into_owned(), read(e.path()))
        })
        .collect();
    out.sort();
    out
}

/// stdout and stderr of a command.
fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The lines of an output as a person reads them: `WARNING:`/`ERROR:` prefixes and their
/// `failed to … -` lead-ins dropped, case and runs of whitespace ignored.
fn lines(out: &Output) -> Vec<String> {
    text(out)
        .lines()
        .map(|l| {
            let l = l.to_lowercase();
            let l = ["warning: ", "error: "]
                .iter()
                .fold(l, |l, p| l.strip_prefix(p).map(str::to_string).unwrap_or(l));
            let l = match l.split_once(" - ") {
                Some((head, rest)) if head.starts_with("failed to") => rest.to_string(),
                _ => l,
            };
            l.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// Both outputs have a line equal to `line` (as [`lines`] reads them).
fn both_say(d: &Output, v: &Output, line: &str) {
    let want = line.to_lowercase();
    for (who, out) in [("dvc", d), ("vintner", v)] {
        assert!(
            lines(out).contains(&want),
            "{who} did not say `{line}`:\n{}",
            text(out)
        );
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// The object path of `md5` below a cache or remote.
fn object(store: &Path, md5: &str) -> PathBuf {
    store.join("files/md5").join(&md5[..2]).join(&md5[2..])
}

/// The md5 a `.dvc` file records for its first output.
fn md5_of(dvc_file: &Path) -> String {
    String::from_utf8(read(dvc_file))
        .unwrap()
        .lines()
        .find_map(|l| l.trim_start_matches("- ").strip_prefix("md5: "))
        .unwrap()
        .to_string()
}

fn remove_object(store: &Path, md5: &str) {
    let p = object(store, md5);
    std::fs::remove_file(&p).unwrap_or_else(|e| panic!("remove {}: {e}", p.display()));
}

/// Item 1: one missing object no longer stops everything. `lost.txt` and the manifest of `d`
/// are in neither the cache nor the remote; `nopush.txt` is marked `push: false`.
#[test]
fn partial_failures_transfer_and_restore_the_rest_as_dvc() {
    let twin = Twin::new(|sb, repo| {
        write(&repo.join("lost.txt"), b"lost\n");
        write(&repo.join("c.txt"), b"c\n");
        write(&repo.join("d/a"), b"a\n");
        write(&repo.join("d/b"), b"b\n");
        write(&repo.join("nopush.txt"), b"never pushed\n");
        dvc_ok(
            sb,
            repo,
            &["add", "-q", "lost.txt", "d", "c.txt", "nopush.txt"],
        );
        let dvc = repo.join("nopush.txt.dvc");
        let text = String::from_utf8(read(&dvc)).unwrap();
        std::fs::write(
            &dvc,
            text.replace(
                "  path: nopush.txt\n",
                "  path: nopush.txt\n  push: false\n",
            ),
        )
        .unwrap();
        let cache = repo.join(".dvc/cache");
        remove_object(&cache, &md5_of(&repo.join("lost.txt.dvc")));
        remove_object(&cache, &md5_of(&repo.join("d.dvc")));
        write(&repo.join("fresh.txt"), b"fresh\n");
        dvc_ok(sb, repo, &["add", "-q", "fresh.txt"]);
    });
    let lost = md5_of(&twin.at(Side::Dvc, "repo/lost.txt.dvc"));
    let dir = md5_of(&twin.at(Side::Dvc, "repo/d.dvc"));

    // push: everything it has goes up, each missing object is named, exit 0.
    let (d, v) = twin.run("repo", &["push"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    both_say(&d, &v, "2 files pushed");
    both_say(&d, &v, &format!("md5: {lost}"));
    both_say(&d, &v, &format!("md5: {dir}"));
    twin.same_files();
    assert!(
        object(
            &twin.at(Side::Vintner, "remote"),
            &md5_of(&twin.at(Side::Vintner, "repo/fresh.txt.dvc"))
        )
        .exists()
    );

    // checkout: the deleted workspace files that can be restored are, the others named.
    twin.each(|top| {
        for f in ["c.txt", "fresh.txt", "lost.txt"] {
            std::fs::remove_file(top.join("repo").join(f)).unwrap();
        }
        std::fs::remove_dir_all(top.join("repo/d")).unwrap();
    });
    let (d, v) = twin.run("repo", &["checkout"]);
    assert_eq!((code(&d), code(&v)), (255, 1), "{}\n{}", text(&d), text(&v));
    both_say(&d, &v, "Checkout failed for following targets:");
    both_say(&d, &v, "d");
    both_say(&d, &v, "lost.txt");
    both_say(&d, &v, "A fresh.txt");
    twin.same_files();

    // A fresh clone: pull restores what the remote has, then fails naming the rest (the
    // `push: false` output too); fetch only warns.
    twin.each(|top| {
        git(top, &["clone", "-q", "repo", "clone"]);
    });
    let (d, v) = twin.run("clone", &["pull"]);
    assert_eq!((code(&d), code(&v)), (1, 1), "{}\n{}", text(&d), text(&v));
    both_say(&d, &v, "2 files fetched and 2 files added");
    both_say(&d, &v, "nopush.txt");
    both_say(&d, &v, "lost.txt");
    twin.same_files();
    let (d, v) = twin.run("clone", &["fetch"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    both_say(&d, &v, "Everything is up to date.");
    let (d, v) = twin.run("clone", &["pull", "--allow-missing"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    twin.same_files();
}

/// Item 4: `status -q` prints nothing and answers with its exit code.
#[test]
fn status_quiet_answers_with_its_exit_code_as_dvc() {
    let twin = Twin::new(|sb, repo| {
        write(&repo.join("a.txt"), b"a\n");
        dvc_ok(sb, repo, &["add", "-q", "a.txt"]);
    });
    let (d, v) = twin.run("repo", &["status", "-q"]);
    assert_eq!((code(&d), code(&v)), (0, 0));
    assert_eq!((text(&d), text(&v)), (String::new(), String::new()));
    twin.each(|top| write(&top.join("repo/a.txt"), b"changed\n"));
    let (d, v) = twin.run("repo", &["status", "-q"]);
    assert_eq!((code(&d), code(&v)), (1, 1));
    assert_eq!((text(&d), text(&v)), (String::new(), String::new()));
}

/// Item 5: targets inside a tracked folder work on that part of it.
#[test]
fn targets_inside_a_tracked_folder_are_granular_as_dvc() {
    let twin = Twin::new(|sb, repo| {
        write(&repo.join("data/dir/a"), b"a\n");
        write(&repo.join("data/dir/b"), b"b\n");
        write(&repo.join("data/dir/sub/c"), b"c\n");
        dvc_ok(sb, repo, &["add", "-q", "data/dir"]);
        dvc_ok(sb, repo, &["push", "-q"]);
    });
    twin.each(|top| {
        git(top, &["clone", "-q", "repo", "clone"]);
    });
    let (d, v) = twin.run("clone", &["pull", "data/dir/a"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    twin.same_files();
    assert_eq!(read(&twin.at(Side::Vintner, "clone/data/dir/a")), b"a\n");
    assert!(!twin.at(Side::Vintner, "clone/data/dir/b").exists());

    let (d, v) = twin.run("clone/data", &["status", "dir/a"]);
    assert_eq!((code(&d), code(&v)), (0, 0));
    assert_eq!(
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&d.stdout)
    );

    let (d, v) = twin.run("clone", &["fetch", "data/dir/sub"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    both_say(&d, &v, "1 file fetched");
    twin.same_files();
    let (d, v) = twin.run("clone", &["checkout", "data/dir/sub/c"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    both_say(&d, &v, "M data/dir/");
    twin.same_files();
    assert!(!twin.at(Side::Vintner, "clone/data/dir/b").exists());

    // Only the file named is restored; an unsaved edit elsewhere in the folder stays.
    twin.each(|top| write(&top.join("repo/data/dir/a"), b"edited\n"));
    twin.each(|top| std::fs::remove_file(top.join("repo/data/dir/b")).unwrap());
    let (d, v) = twin.run("repo", &["checkout", "data/dir/b"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    twin.same_files();
    assert_eq!(
        read(&twin.at(Side::Vintner, "repo/data/dir/a")),
        b"edited\n"
    );

    // Push of a part: the file goes up, and vintner holds the folder's manifest back until
    // the remote has all its files (DVC uploads it at once, and a later `dvc push` then
    // believes the folder is there; see the README).
    let fresh = Twin::new(|sb, repo| {
        write(&repo.join("data/dir/a"), b"a\n");
        write(&repo.join("data/dir/b"), b"b\n");
        dvc_ok(sb, repo, &["add", "-q", "data/dir"]);
    });
    let repo = fresh.at(Side::Vintner, "repo");
    let remote = fresh.at(Side::Vintner, "remote");
    let manifest = md5_of(&repo.join("data/dir.dvc"));
    fresh.point(Side::Vintner);
    fresh
        .sb
        .vintner(&repo)
        .args(["push", "data/dir/a"])
        .assert()
        .success()
        .stderr(predicates::str::contains("1 file pushed"));
    assert!(object(&remote, &md5_hex(b"a\n")).exists());
    assert!(!object(&remote, &md5_hex(b"b\n")).exists());
    assert!(!object(&remote, &manifest).exists());
    fresh.dvc_reads_vintner_copy("repo");
    fresh.point(Side::Vintner);
    fresh.sb.vintner(&repo).arg("push").assert().success();
    assert!(object(&remote, &md5_hex(b"b\n")).exists());
    assert!(object(&remote, &manifest).exists());
}

/// Item 6: a folder that becomes a file across a branch switch is replaced when its content is
/// in the cache, and never when it holds an unsaved change.
#[test]
fn folder_becomes_file_across_a_branch_switch_as_dvc() {
    let twin = Twin::new(|sb, repo| {
        write(&repo.join("data/x/a"), b"a\n");
        write(&repo.join("data/x/b"), b"b\n");
        dvc_ok(sb, repo, &["add", "-q", "data/x"]);
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-qm", "folder"]);
        git(repo, &["checkout", "-q", "-b", "file"]);
        std::fs::remove_dir_all(repo.join("data/x")).unwrap();
        write(&repo.join("data/x"), b"now a file\n");
        dvc_ok(sb, repo, &["add", "-q", "data/x"]);
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-qm", "file"]);
        git(repo, &["checkout", "-q", "master"]);
        dvc_ok(sb, repo, &["checkout", "-q"]);
    });
    twin.each(|top| {
        git(&top.join("repo"), &["checkout", "-q", "file"]);
    });
    let (d, v) = twin.run("repo", &["checkout"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    both_say(&d, &v, "M data/x");
    twin.same_files();
    assert_eq!(
        read(&twin.at(Side::Vintner, "repo/data/x")),
        b"now a file\n"
    );

    twin.each(|top| {
        git(&top.join("repo"), &["checkout", "-q", "master"]);
    });
    let (d, v) = twin.run("repo", &["checkout"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    twin.same_files();

    // An unsaved change inside the folder: both refuse and change nothing.
    twin.each(|top| {
        write(&top.join("repo/data/x/a"), b"unsaved\n");
        git(&top.join("repo"), &["checkout", "-q", "file"]);
    });
    let (d, v) = twin.run("repo", &["checkout"]);
    assert_eq!((code(&d), code(&v)), (255, 1), "{}\n{}", text(&d), text(&v));
    twin.same_files();
    assert_eq!(read(&twin.at(Side::Vintner, "repo/data/x/a")), b"unsaved\n");
}

/// Item 9: messages and exit codes a script or a person relies on.
#[test]
fn messages_and_exit_codes_as_dvc() {
    // A remote but no default.
    let twin = Twin::build(false, |sb, repo| {
        write(&repo.join("a.txt"), b"a\n");
        dvc_ok(sb, repo, &["add", "-q", "a.txt"]);
    });
    let (d, v) = twin.run("repo", &["push"]);
    assert_eq!((code(&d), code(&v)), (1, 1));
    for out in [&d, &v] {
        let t = text(out);
        assert!(t.contains("remote default <remote name>"), "{t}");
        assert!(
            t.contains("push -r <remote name>") || t.contains("<command> -r <remote name>"),
            "{t}"
        );
    }
    // An unknown revision.
    let (d, v) = twin.run("repo", &["diff", "nonexist"]);
    assert_eq!((code(&d), code(&v)), (1, 1));
    both_say(&d, &v, "unknown Git revision 'nonexist'");
    assert!(
        !text(&v).contains("rev-parse") && !text(&v).contains("install git"),
        "{}",
        text(&v)
    );
    // Status paths relative to the current folder.
    twin.each(|top| {
        std::fs::create_dir_all(top.join("repo/sub")).unwrap();
        write(&top.join("repo/a.txt"), b"changed\n");
    });
    let (d, v) = twin.run("repo/sub", &["status"]);
    assert_eq!((code(&d), code(&v)), (0, 0));
    assert_eq!(
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&d.stdout)
    );
    assert!(String::from_utf8_lossy(&v.stdout).contains("../a.txt"));
    // A pull with nothing to do.
    twin.each(|top| write(&top.join("repo/a.txt"), b"a\n"));
    let (d, v) = twin.run("repo", &["push", "-r", "r"]);
    assert_eq!((code(&d), code(&v)), (0, 0));
    let (d, v) = twin.run("repo", &["pull", "-r", "r"]);
    assert_eq!((code(&d), code(&v)), (0, 0));
    both_say(&d, &v, "Everything is up to date.");
    twin.same_files();

    // Nothing tracked; not a repository; a malformed config.
    let empty = Twin::new(|_, _| {});
    let (d, v) = empty.run("repo", &["status"]);
    assert_eq!((code(&d), code(&v)), (0, 0));
    assert_eq!(
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&d.stdout)
    );
    assert!(
        String::from_utf8_lossy(&v.stdout)
            .starts_with("There are no data or pipelines tracked in this project yet.")
    );
    let (d, v) = empty.run(".", &["status"]);
    assert_eq!((code(&d), code(&v)), (253, 253));
    empty.each(|top| {
        let config = top.join("repo/.dvc/config");
        let mut text = String::from_utf8(read(&config)).unwrap();
        text.push_str("[core\n");
        std::fs::write(&config, text).unwrap();
    });
    let d = peers::dvc(&empty.sb, &empty.at(Side::Dvc, "repo"))
        .arg("status")
        .output()
        .unwrap();
    let v = empty
        .sb
        .vintner(&empty.at(Side::Vintner, "repo"))
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(
        (code(&d), code(&v)),
        (251, 251),
        "{}\n{}",
        text(&d),
        text(&v)
    );
}

/// Item 6 (flags): `-a`/`-T`/`--all-commits` read other revisions' `.dvc` files through git;
/// `gc -a`, `checkout --relink`, `status -c -a`, `diff --targets`, `diff --md`.
#[test]
fn revision_flags_relink_and_diff_output_as_dvc() {
    let twin = Twin::new(|sb, repo| {
        write(&repo.join("keep.txt"), b"keep\n");
        dvc_ok(sb, repo, &["add", "-q", "keep.txt"]);
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-qm", "keep"]);
        git(repo, &["checkout", "-q", "-b", "side"]);
        write(&repo.join("side.txt"), b"only on a branch\n");
        dvc_ok(sb, repo, &["add", "-q", "side.txt"]);
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-qm", "side"]);
        git(repo, &["checkout", "-q", "master"]);
        write(&repo.join("tagged.txt"), b"only in a tag\n");
        dvc_ok(sb, repo, &["add", "-q", "tagged.txt"]);
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-qm", "tagged"]);
        git(repo, &["tag", "v1"]);
        git(repo, &["rm", "-q", "tagged.txt.dvc"]);
        git(repo, &["commit", "-qm", "untag"]);
        write(&repo.join("gone.txt"), b"only in history\n");
        dvc_ok(sb, repo, &["add", "-q", "gone.txt"]);
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-qm", "gone"]);
        git(repo, &["rm", "-q", "gone.txt.dvc"]);
        git(repo, &["commit", "-qm", "drop gone"]);
        write(&repo.join("junk.txt"), b"never committed\n");
        dvc_ok(sb, repo, &["add", "-q", "junk.txt"]);
        std::fs::remove_file(repo.join("junk.txt.dvc")).unwrap();
    });
    for args in [
        &["push", "-a"][..],
        &["push", "-T"],
        &["push", "--all-commits"],
    ] {
        let (d, v) = twin.run("repo", args);
        assert_eq!(
            (code(&d), code(&v)),
            (0, 0),
            "{args:?}: {}\n{}",
            text(&d),
            text(&v)
        );
        twin.same_files();
    }
    let (d, v) = twin.run("repo", &["status", "-c", "-a"]);
    assert_eq!((code(&d), code(&v)), (0, 0));
    assert_eq!(
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&d.stdout)
    );

    // gc keeps what the revisions asked for reference, and only that.
    let (d, v) = twin.run("repo", &["gc", "-w", "-a", "-T", "-f"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    twin.same_files();
    let cache = twin.at(Side::Vintner, "repo/.dvc/cache");
    assert!(object(&cache, &md5_hex(b"only on a branch\n")).exists());
    assert!(object(&cache, &md5_hex(b"only in a tag\n")).exists());
    assert!(!object(&cache, &md5_hex(b"only in history\n")).exists());
    assert!(!object(&cache, &md5_hex(b"never committed\n")).exists());

    // A clone fetches the other revisions' data too.
    twin.each(|top| {
        git(top, &["clone", "-q", "repo", "clone"]);
    });
    let (d, v) = twin.run("clone", &["fetch", "--all-commits"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    both_say(&d, &v, "4 files fetched");
    twin.same_files();

    let (d, v) = twin.run("repo", &["checkout", "--relink"]);
    assert_eq!((code(&d), code(&v)), (0, 0), "{}\n{}", text(&d), text(&v));
    both_say(&d, &v, "Relinked successfully");
    twin.same_files();

    twin.each(|top| {
        write(&top.join("repo/keep.txt"), b"kept, changed\n");
        write(&top.join("repo/new/n.txt"), b"new\n");
    });
    let d = peers::dvc(&twin.sb, &twin.at(Side::Dvc, "repo"))
        .args(["add", "-q", "keep.txt", "new"])
        .output()
        .unwrap();
    assert!(d.status.success(), "{}", text(&d));
    let v = peers::dvc(&twin.sb, &twin.at(Side::Vintner, "repo"))
        .args(["add", "-q", "keep.txt", "new"])
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", text(&v));
    for args in [
        &["diff", "--md"][..],
        &["diff", "--targets", "new"],
        &["diff", "--md", "--targets", "keep.txt", "--show-hash"],
        &["diff", "--md", "HEAD~1", "HEAD"],
    ] {
        let (d, v) = twin.run("repo", args);
        assert_eq!(
            (code(&d), code(&v)),
            (0, 0),
            "{args:?}: {}\n{}",
            text(&d),
            text(&v)
        );
        assert_eq!(
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&d.stdout),
            "{args:?}"
        );
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}
