//! `add`, `remote` and `.dvc` validation side by side with the real `dvc`: each scenario runs
//! `dvc` in one repository and `vintner` in an identical one, and compares the exit codes, the
//! files written (byte for byte, DVC's and vintner's scratch files aside) and the meaning of the
//! messages; after every vintner command, `dvc status` and `dvc checkout` must still work there.

use std::path::{Path, PathBuf};

use crate::common::{Sandbox, git, write};
use crate::peers;

/// One command's outcome.
struct Ran {
    code: i32,
    /// stdout and stderr together.
    text: String,
}

/// Two identical repositories: `dvc` works in one, `vintner` in the other.
struct Pair {
    sb: Sandbox,
    theirs: PathBuf,
    ours: PathBuf,
}

impl Pair {
    /// Both repositories made by `git init` + `dvc init`, each with a local remote
    /// `../remote` (so the configs are identical) and its own global/system config folders.
    fn new(with_remote: bool) -> Pair {
        let sb = Sandbox::new();
        let theirs = sb.mkdir("theirs/repo");
        let ours = sb.mkdir("ours/repo");
        let pair = Pair { sb, theirs, ours };
        for root in [&pair.theirs, &pair.ours] {
            git(root, &["init", "-q"]);
            pair.dvc_in(root, &["init", "-q"]);
            if with_remote {
                pair.dvc_in(root, &["remote", "add", "-d", "store", "../remote"]);
            }
        }
        pair
    }

    /// The same change to both working trees.
    fn both(&self, change: impl Fn(&Path)) {
        change(&self.theirs);
        change(&self.ours);
    }

    fn env(&self, root: &Path, cmd: &mut assert_cmd::Command) {
        let side = root.parent().expect("a side folder");
        cmd.env("DVC_GLOBAL_CONFIG_DIR", side.join("global"))
            .env("DVC_SYSTEM_CONFIG_DIR", side.join("system"));
    }

    fn dvc_in(&self, root: &Path, args: &[&str]) -> Ran {
        let mut cmd = peers::dvc(&self.sb, root);
        self.env(root, &mut cmd);
        run(cmd.args(args))
    }

    /// `dvc args…` in their repository and `vintner args…` in ours; the exit codes must match.
    fn run(&self, args: &[&str]) -> (Ran, Ran) {
        let dvc = self.dvc_in(&self.theirs, args);
        let mut cmd = self.sb.vintner(&self.ours);
        self.env(&self.ours, &mut cmd);
        let ours = run(cmd.args(args));
        assert_eq!(
            dvc.code, ours.code,
            "{args:?}: exit codes differ\n--- dvc:\n{}\n--- vintner:\n{}",
            dvc.text, ours.text
        );
        self.status_ok(args);
        (dvc, ours)
    }

    /// [`Pair::run`], both refusing with a message that says `meaning` (each in its words).
    fn refused(&self, args: &[&str], code: i32, meaning: &[&str]) {
        let (dvc, ours) = self.run(args);
        assert_eq!(dvc.code, code, "{args:?}: {}", dvc.text);
        for m in meaning {
            let m = m.to_lowercase();
            assert!(
                dvc.text.to_lowercase().contains(&m),
                "dvc {args:?}: {}",
                dvc.text
            );
            assert!(
                ours.text.to_lowercase().contains(&m),
                "vintner {args:?} does not say {m:?}:\n{}",
                ours.text
            );
        }
    }

    /// `dvc status` after every vintner command: it works in our repository as in theirs.
    fn status_ok(&self, after: &[&str]) {
        self.dvc_works(after, &[&["status"]]);
    }

    /// `dvc status` and `dvc checkout` work in our repository as in theirs (the files are
    /// compared first: a checkout changes them).
    fn healthy(&self, extra: &[&str]) {
        self.same_files(extra);
        self.dvc_works(&[], &[&["status"], &["checkout"]]);
        self.same_files(extra);
    }

    fn dvc_works(&self, after: &[&str], checks: &[&[&str]]) {
        for check in checks {
            let theirs = self.dvc_in(&self.theirs, check);
            let ours = self.dvc_in(&self.ours, check);
            assert_eq!(
                (theirs.code, ours.code),
                (theirs.code, theirs.code),
                "`dvc {check:?}` after {after:?}\n--- in dvc's repository:\n{}\n--- in vintner's:\n{}",
                theirs.text,
                ours.text
            );
            if *check == ["status"] {
                assert_eq!(ours.code, 0, "dvc status after {after:?}: {}", ours.text);
            }
        }
    }

    /// Every file of both repositories (and of `extra` folders beside them) is the same.
    fn same_files(&self, extra: &[&str]) {
        let mut roots = vec![PathBuf::from("repo")];
        roots.extend(extra.iter().map(PathBuf::from));
        for r in roots {
            let theirs = files(&self.theirs.parent().unwrap().join(&r));
            let ours = files(&self.ours.parent().unwrap().join(&r));
            let names = |v: &[(String, Vec<u8>)]| -> Vec<String> {
                v.iter().map(|(n, _)| n.clone()).collect()
            };
            assert_eq!(names(&theirs), names(&ours), "files of {}", r.display());
            for ((name, a), (_, b)) in theirs.iter().zip(&ours) {
                assert!(
                    a == b,
                    "{}/{name} differs:\n--- dvc:\n{}\n--- vintner:\n{}",
                    r.display(),
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(b)
                );
            }
        }
    }
}

fn run(cmd: &mut assert_cmd::Command) -> Ran {
    let out = cmd.output().expect("run a command");
    Ran {
        code: out.status.code().unwrap_or(-1),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The files below `dir` (relative path, bytes), sorted, without `.git`, the scratch folder
/// `.dvc/tmp` and the temporary files DVC leaves in a cache or remote.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    if !dir.exists() {
        return Vec::new();
    }
    let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| {
            let rel = e.path().strip_prefix(dir).unwrap();
            !(rel.starts_with(".git") || rel.starts_with(".dvc/tmp"))
        })
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            let n = e.file_name().to_string_lossy();
            !(n.starts_with('.') && n.ends_with(".tmp"))
        })
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap();
            (
                rel.to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn add_refuses_dvcignored_targets_and_never_swallows_dvc_files() {
    let p = Pair::new(false);
    p.both(|r| {
        write(&r.join("a.tmp"), b"a\n");
        write(&r.join("logs/x.log"), b"x\n");
        write(&r.join("b.txt"), b"b\n");
        write(&r.join("keep/k.log"), b"k\n");
        write(&r.join("keep/more.log"), b"m\n");
        let mut ignore = std::fs::read_to_string(r.join(".dvcignore")).unwrap();
        ignore.push_str("*.tmp\nlogs/\n");
        std::fs::write(r.join(".dvcignore"), ignore).unwrap();
    });
    p.refused(&["add", "a.tmp"], 1, &["ignored by", ".dvcignore", "*.tmp"]);
    p.refused(&["add", "logs/x.log"], 1, &["ignored by", "logs/"]);
    // Nothing is added when one target is refused.
    p.refused(&["add", "b.txt", "a.tmp"], 1, &["ignored by"]);
    p.refused(&["add", "logs"], 1, &["ignored by"]);
    p.healthy(&[]);
    p.run(&["add", "b.txt", "keep/k.log"]);
    p.healthy(&[]);
    // The folder holds an output with its own `.dvc` file: both refuse to take it in.
    p.refused(&["add", "keep"], 1, &["keep/k.log"]);
    p.healthy(&[]);
    assert!(!p.ours.join("keep.dvc").exists());
}

#[test]
fn remote_options_and_values_are_validated_as_dvc_schema() {
    let p = Pair::new(true);
    p.run(&["remote", "add", "s3r", "s3://bucket/path"]);
    for bad in [
        &["bogus_option", "1"][..],
        &["jobs", "notanumber"],
        &["verify", "maybe"],
        &["jobs", "0"],
        // S3 options on a local remote, and a local one on S3.
        &["region", "eu-west-1"],
        &["type", "hardlink,nope"],
    ] {
        let mut args = vec!["remote", "modify", "store"];
        args.extend(bad);
        p.refused(&args, 251, &[]);
    }
    p.refused(&["remote", "modify", "s3r", "shared", "group"], 251, &[]);
    p.refused(&["remote", "modify", "s3r", "use_ssl", "nah"], 251, &[]);
    p.refused(
        &["remote", "modify", "nosuch", "jobs", "2"],
        251,
        &["nosuch"],
    );
    p.healthy(&[]);
    for good in [
        &["store", "jobs", "4"][..],
        &["store", "verify", "True"],
        &["store", "shared", "group"],
        &["store", "type", "hardlink, copy"],
        &["s3r", "region", "eu-west-1"],
        &["s3r", "connect_timeout", "30"],
    ] {
        let mut args = vec!["remote", "modify"];
        args.extend(good);
        p.run(&args);
    }
    p.run(&["remote", "modify", "--unset", "store", "verify"]);
    p.healthy(&[]);
    // The messages name what is wrong as DVC does.
    p.refused(
        &["remote", "modify", "store", "bogus_option", "1"],
        251,
        &["extra keys not allowed", "bogus_option"],
    );
    p.refused(
        &["remote", "modify", "store", "jobs", "x"],
        251,
        &["expected int", "jobs"],
    );
    p.refused(
        &["remote", "modify", "store", "verify", "maybe"],
        251,
        &["expected true or false"],
    );
    p.refused(
        &["remote", "add", "odd", "foo://host/x"],
        251,
        &["unsupported url type foo://"],
    );
}

#[test]
fn remote_add_force_levels_rename_and_default_unset_as_dvc() {
    let p = Pair::new(true);
    p.refused(&["remote", "add", "store", "../elsewhere"], 251, &["store"]);
    p.run(&["remote", "modify", "store", "jobs", "3"]);
    p.run(&["remote", "add", "-f", "store", "../elsewhere"]);
    p.run(&["remote", "add", "--local", "mine", "../mine"]);
    p.run(&["remote", "add", "--global", "team", "/srv/team"]);
    p.run(&["remote", "add", "--system", "site", "/srv/site"]);
    p.run(&["remote", "add", "--project", "Upper", "../upper"]);
    p.healthy(&["global", "system"]);
    // DVC renames a remote only at the level that defines it.
    p.refused(&["remote", "rename", "mine", "yours"], 251, &["mine"]);
    p.run(&["remote", "rename", "--local", "mine", "yours"]);
    p.refused(&["remote", "rename", "store", "team"], 251, &["team"]);
    p.run(&["remote", "rename", "store", "main"]);
    p.run(&["remote", "default", "--local", "yours"]);
    p.run(&["remote", "default", "--unset"]);
    p.run(&["remote", "default", "--unset", "--local"]);
    p.refused(&["remote", "default", "nosuch"], 251, &[]);
    p.healthy(&["global", "system"]);
}

#[test]
fn add_inside_a_tracked_folder_updates_that_folders_dvc_file() {
    let p = Pair::new(false);
    p.both(|r| {
        write(&r.join("data/a"), b"1\n");
        write(&r.join("data/sub/b"), b"2\n");
    });
    p.run(&["add", "data"]);
    p.both(|r| write(&r.join("data/sub/new.txt"), b"new\n"));
    p.run(&["add", "data/sub/new.txt"]);
    p.healthy(&[]);
    // Only the named path changes in the folder's manifest, and DVC's size rule holds.
    p.both(|r| {
        write(&r.join("data/a"), b"changed\n");
        write(&r.join("data/sub/new2.txt"), b"new2\n");
    });
    p.run(&["add", "data/sub/new2.txt"]);
    p.same_files(&[]);
    // With `data/a` put back, the folder is as recorded and a checkout has nothing to undo.
    p.both(|r| write(&r.join("data/a"), b"1\n"));
    p.healthy(&[]);
    p.both(|r| std::fs::remove_file(r.join("data/sub/b")).unwrap());
    p.run(&["add", "data/sub"]);
    p.healthy(&[]);
    let dvc = std::fs::read_to_string(p.ours.join("data.dvc")).unwrap();
    assert!(!dvc.contains("size:"), "{dvc}");
    p.refused(&["add", "data/sub/gone"], 1, &["data/sub/gone"]);
    p.run(&["add", "data"]);
    p.healthy(&[]);
}

#[test]
fn autostage_stages_with_git_and_a_shared_cache_is_group_writable() {
    use std::os::unix::fs::PermissionsExt;
    let p = Pair::new(false);
    p.both(|r| {
        let mut config = std::fs::read_to_string(r.join(".dvc/config")).unwrap();
        config.push_str("[core]\n    autostage = true\n[cache]\n    shared = group\n");
        std::fs::write(r.join(".dvc/config"), config).unwrap();
        write(&r.join("d/a"), b"a\n");
        write(&r.join("d/s/b"), b"b\n");
        write(&r.join("c.txt"), b"c\n");
    });
    p.run(&["add", "d", "c.txt"]);
    p.healthy(&[]);
    let staged = |r: &Path| git(r, &["diff", "--cached", "--name-only"]);
    assert_eq!(staged(&p.theirs), staged(&p.ours));
    assert!(staged(&p.ours).contains("d.dvc"), "{}", staged(&p.ours));
    let modes = |r: &Path| -> Vec<(String, u32)> {
        let cache = r.join(".dvc/cache");
        let mut v: Vec<(String, u32)> = walkdir::WalkDir::new(&cache)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))
            .map(|e| {
                let mode = e.metadata().unwrap().permissions().mode() & 0o7777;
                let rel = e.path().strip_prefix(&cache).unwrap();
                (rel.to_string_lossy().into_owned(), mode)
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(modes(&p.theirs), modes(&p.ours));
    assert!(modes(&p.ours).contains(&("files/md5".into(), 0o2775)));
}

#[test]
fn symlinked_folders_and_unknown_dvc_keys_are_refused_as_dvc() {
    let p = Pair::new(false);
    p.both(|r| {
        write(&r.join("real/r"), b"r\n");
        std::os::unix::fs::symlink("real", r.join("linkdir")).unwrap();
        write(&r.join("a.txt"), b"a\n");
    });
    p.refused(&["add", "linkdir"], 1, &["symlink"]);
    p.refused(&["add", "linkdir/r"], 1, &["symlink"]);
    p.run(&["add", "a.txt"]);
    p.healthy(&[]);
    p.both(|r| {
        let mut text = std::fs::read_to_string(r.join("a.txt.dvc")).unwrap();
        text.push_str("bogus: 1\n");
        std::fs::write(r.join("a.txt.dvc"), text).unwrap();
    });
    let mut cmd = p.sb.vintner(&p.ours);
    let ours = run(cmd.args(["add", "a.txt"]));
    let theirs = p.dvc_in(&p.theirs, &["add", "a.txt"]);
    assert_eq!(
        (ours.code, theirs.code),
        (1, 1),
        "{}\n{}",
        ours.text,
        theirs.text
    );
    assert!(theirs.text.contains("bogus"), "{}", theirs.text);
    assert!(
        ours.text.contains("bogus") && ours.text.contains("a.txt.dvc"),
        "{}",
        ours.text
    );
    // The refused file is left as it was (dvc status fails on it in both repositories).
    p.same_files(&[]);
}

#[test]
fn add_flags_glob_out_to_remote_and_no_commit_as_dvc() {
    let p = Pair::new(true);
    let ext = p.sb.mkdir("ext");
    write(&ext.join("e.csv"), b"external\n");
    write(&ext.join("edir/one"), b"1\n");
    write(&ext.join("edir/two"), b"2\n");
    let e_csv = ext.join("e.csv");
    let e_csv = e_csv.to_str().unwrap();
    let edir = ext.join("edir");
    let edir = edir.to_str().unwrap();
    p.both(|r| {
        write(&r.join("data/e.csv"), b"e\n");
        write(&r.join("g/a.csv"), b"1\n");
        write(&r.join("g/b.csv"), b"2\n");
        write(&r.join("g/c.txt"), b"3\n");
        write(&r.join("nc.txt"), b"n\n");
    });
    p.run(&["add", "-o", "data/copied.csv", e_csv]);
    p.refused(&["add", "-o", "data", e_csv], 1, &["data/e.csv", "exists"]);
    p.run(&["add", "-o", "data/edir", edir]);
    p.healthy(&["remote"]);
    p.run(&["add", "--to-remote", e_csv]);
    p.run(&["add", "--to-remote", "-o", "data/rdir", edir]);
    p.healthy(&["remote"]);
    p.run(&["add", "--no-commit", "nc.txt"]);
    p.healthy(&["remote"]);
    p.run(&["add", "--glob", "g/*.csv"]);
    p.healthy(&["remote"]);
    p.refused(&["add", "--glob", "g/*.none"], 1, &["g/*.none"]);
    p.refused(
        &["add", "--glob", "-o", "x", "g/c.txt"],
        1,
        &["--glob option can't be used with --out"],
    );
    p.refused(
        &["add", "-r", "store", "g/c.txt"],
        1,
        &["--remote can't be used without --to-remote"],
    );
    p.healthy(&["remote"]);
}
