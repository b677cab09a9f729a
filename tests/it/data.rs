//! The data layer against the real DVC: what vintner writes DVC reads byte for byte and the other
//! way round, through a local remote and through S3 (a local moto server), plus the safety rules.

use std::path::{Path, PathBuf};

use crate::common::{Sandbox, git, read, snapshot, stderr, write};
use crate::peers;

/// Names that exercise quoting, escaping and folding; `(target, is folder)`.
const LONG: &str =
    "a_very_long_file_name_that_goes_on_and_on_well_past_eighty_columns_of_yaml_output_x.csv";

fn make_matrix(root: &Path) -> Vec<String> {
    let files: &[(&str, &[u8])] = &[
        ("my file.csv", b"a,b\n1,2\n"),
        ("caf\u{e9}.csv", b"cafe\n"),
        ("\u{1F600}.bin", b"\x00\x01\x02"),
        ("123", b"numbers\n"),
        ("true", b"bool\n"),
        ("#x", b"hash\n"),
        ("a: b", b"colon\n"),
        ("tab\there", b"tab\n"),
        (LONG, b"long\n"),
        ("nested/deeper/x.csv", b"nested\n"),
        ("empty.txt", b""),
        ("run.sh", b"#!/bin/sh\necho hi\n"),
        ("mixed/sp ace/f i le.txt", b"1"),
        ("mixed/caf\u{e9}.txt", b"2"),
        ("mixed/\u{65e5}\u{672c}.txt", b"3"),
        ("mixed/q\"uote", b"4"),
        ("mixed/back\\slash", b"5"),
        ("mixed/a.txt", b"6"),
        ("mixed/a-b", b"7"),
        ("mixed/a/x", b"8"),
        ("mixed/empty", b""),
        ("mixed/x.sh", b"exec in folder\n"),
    ];
    for (name, bytes) in files {
        write(&root.join(name), bytes);
    }
    use std::os::unix::fs::PermissionsExt;
    for exe in ["run.sh", "mixed/x.sh"] {
        std::fs::set_permissions(root.join(exe), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(root.join("emptydir")).unwrap();
    [
        "my file.csv",
        "caf\u{e9}.csv",
        "\u{1F600}.bin",
        "123",
        "true",
        "#x",
        "a: b",
        "tab\there",
        LONG,
        "nested/deeper/x.csv",
        "empty.txt",
        "run.sh",
        "mixed",
        "emptydir",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn vintner_add_writes_dvc_bytes_and_dvc_pulls_what_vintner_pushed() {
    let sb = Sandbox::new();
    let ours = sb.mkdir("ours");
    let theirs = sb.mkdir("theirs");
    let remote = sb.path().join("remote");
    sb.vintner(&ours)
        .args(["init", "--remote"])
        .arg(&remote)
        .assert()
        .success();
    git(&theirs, &["init", "--quiet"]);
    peers::dvc(&sb, &theirs).arg("init").assert().success();
    let targets = make_matrix(&ours);
    make_matrix(&theirs);

    sb.vintner(&ours)
        .arg("add")
        .args(&targets)
        .assert()
        .success();
    peers::dvc(&sb, &theirs)
        .arg("add")
        .args(&targets)
        .assert()
        .success();

    // The .dvc files, .gitignore files and cached manifests are the same bytes.
    let pick = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        snapshot(dir, false)
            .into_iter()
            .filter(|(p, _)| {
                p.ends_with(".dvc") || p.ends_with(".gitignore") || p.ends_with(".dir")
            })
            .filter(|(p, _)| p != ".dvc/.gitignore" && p != ".gitignore")
            .collect()
    };
    let (a, b) = (pick(&ours), pick(&theirs));
    assert_eq!(
        a.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
        b.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>()
    );
    for ((path, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(
            String::from_utf8_lossy(x),
            String::from_utf8_lossy(y),
            "{path} differs from DVC's"
        );
    }
    peers::dvc(&sb, &ours)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");

    // Push with vintner, pull with DVC in a fresh clone: identical workspace.
    sb.vintner(&ours).arg("push").assert().success();
    git(&ours, &["add", "-A"]);
    git(&ours, &["commit", "-qm", "data"]);
    let clone = sb.path().join("clone");
    git(sb.path(), &["clone", "-q", "ours", "clone"]);
    peers::dvc(&sb, &clone).arg("pull").assert().success();
    assert_eq!(snapshot(&clone, true), snapshot(&ours, true));
    assert!(clone.join("emptydir").is_dir());
    peers::dvc(&sb, &clone)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
    sb.vintner(&clone)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
    sb.vintner(&ours)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 'local' are in sync.\n");
}

#[test]
fn dvc_push_then_vintner_pull_and_checkout_behave_like_dvc() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let remote = sb.path().join("remote");
    git(&repo, &["init", "--quiet"]);
    peers::dvc(&sb, &repo).arg("init").assert().success();
    peers::dvc(&sb, &repo)
        .args(["remote", "add", "-d", "store"])
        .arg(&remote)
        .assert()
        .success();
    let targets = make_matrix(&repo);
    peers::dvc(&sb, &repo)
        .arg("add")
        .args(&targets)
        .assert()
        .success();
    peers::dvc(&sb, &repo).arg("push").assert().success();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "data"]);

    git(sb.path(), &["clone", "-q", "repo", "clone"]);
    let clone = sb.path().join("clone");
    sb.vintner(&clone).arg("pull").assert().success();
    assert_eq!(snapshot(&clone, true), snapshot(&repo, true));
    sb.vintner(&clone)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
    peers::dvc(&sb, &clone)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");

    // An unsaved edit: both refuse to overwrite it without --force and change nothing.
    write(&clone.join("mixed/a.txt"), b"edited");
    std::fs::remove_file(clone.join("empty.txt")).unwrap();
    let out = sb.vintner(&clone).arg("checkout").assert().code(1);
    assert!(stderr(&out).contains("mixed/a.txt"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(read(&clone.join("mixed/a.txt")), b"edited");
    assert!(
        !clone.join("empty.txt").exists(),
        "nothing is restored when checkout refuses"
    );
    peers::dvc(&sb, &clone).arg("checkout").assert().failure();
    let out = sb
        .vintner(&clone)
        .args(["checkout", "--force"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("M       mixed/"), "{text}");
    assert!(text.contains("A       empty.txt"), "{text}");
    assert_eq!(snapshot(&clone, true), snapshot(&repo, true));
    // `--quiet` hides those lines, as DVC's `-q` does.
    std::fs::remove_file(clone.join("empty.txt")).unwrap();
    sb.vintner(&clone)
        .args(["-q", "checkout"])
        .assert()
        .success()
        .stdout("");
    assert!(clone.join("empty.txt").exists());
    peers::dvc(&sb, &clone)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
}

#[test]
fn readd_keeps_user_keys_and_comments() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    write(&repo.join("d.csv"), b"1\n");
    sb.vintner(&repo).args(["add", "d.csv"]).assert().success();
    let dvc = repo.join("d.csv.dvc");
    let text = String::from_utf8(read(&dvc)).unwrap();
    std::fs::write(
        &dvc,
        format!("# keep me\n{text}  desc: wine data\n  remote: local\n"),
    )
    .unwrap();
    write(&repo.join("d.csv"), b"1\n2\n");
    sb.vintner(&repo).args(["add", "d.csv"]).assert().success();
    assert_eq!(
        String::from_utf8(read(&dvc)).unwrap(),
        "# keep me\nouts:\n- md5: 1c7c6fc2f1f5bd6b8ab8b4b4f3f7a0d4\n  size: 4\n  hash: md5\n  path: d.csv\n  desc: wine data\n  remote: local\n"
            .replace("1c7c6fc2f1f5bd6b8ab8b4b4f3f7a0d4", &md5_hex(b"1\n2\n"))
    );
    peers::dvc(&sb, &repo)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
}

pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(bytes))
}

/// A repository with one file and one folder pushed to a local remote, committed.
fn pushed_repo(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let repo = sb.mkdir("repo");
    let remote = sb.path().join("remote");
    sb.vintner(&repo)
        .args(["init", "--remote"])
        .arg(&remote)
        .assert()
        .success();
    write(&repo.join("data/file.csv"), b"x,y\n1,2\n");
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

fn object_path(remote: &Path, md5: &str) -> PathBuf {
    remote.join("files/md5").join(&md5[..2]).join(&md5[2..])
}

fn force_write(p: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(p, bytes).unwrap();
}

#[test]
fn tampered_remote_object_is_refused_and_workspace_untouched() {
    let sb = Sandbox::new();
    let (_repo, remote) = pushed_repo(&sb);
    force_write(
        &object_path(&remote, &md5_hex(b"x,y\n1,2\n")),
        b"EVIL!\n\n\n",
    );
    git(sb.path(), &["clone", "-q", "repo", "clone"]);
    let clone = sb.path().join("clone");
    write(&clone.join("data/file.csv"), b"x,y\n1,2\n");
    let out = sb.vintner(&clone).arg("pull").assert().code(1);
    let err = stderr(&out);
    assert!(err.contains("Checksum mismatch"), "{err}");
    assert!(
        err.contains(&format!("files/md5/{}", &md5_hex(b"x,y\n1,2\n")[..2])),
        "{err}"
    );
    assert!(err.contains("remote `local`"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    let cache_obj = object_path(&clone.join(".dvc/cache"), &md5_hex(b"x,y\n1,2\n"));
    assert!(!cache_obj.exists(), "a bad object never enters the cache");
    assert_eq!(read(&clone.join("data/file.csv")), b"x,y\n1,2\n");
}

#[test]
fn tampered_dir_manifest_is_refused() {
    let sb = Sandbox::new();
    let (repo, remote) = pushed_repo(&sb);
    let dvc = String::from_utf8(read(&repo.join("data/dir.dvc"))).unwrap();
    let dir_md5 = dvc
        .lines()
        .find_map(|l| l.strip_prefix("- md5: "))
        .unwrap()
        .trim_end_matches(".dir")
        .to_string();
    let manifest = object_path(&remote, &format!("{dir_md5}.dir"));
    force_write(
        &manifest,
        format!(
            "[{{\"md5\": \"{}\", \"relpath\": \"only.txt\"}}]",
            md5_hex(b"a\n")
        )
        .as_bytes(),
    );
    git(sb.path(), &["clone", "-q", "repo", "clone"]);
    let clone = sb.path().join("clone");
    let out = sb.vintner(&clone).arg("pull").assert().code(1);
    assert!(
        stderr(&out).contains(&format!("{}.dir", &dir_md5[2..])),
        "{}",
        stderr(&out)
    );
    assert!(!clone.join("data/dir/only.txt").exists());
}

#[test]
fn manifest_escaping_the_output_is_refused() {
    let sb = Sandbox::new();
    let (repo, remote) = pushed_repo(&sb);
    // A manifest whose id matches its content but whose entry climbs out of the folder.
    let bytes = format!(
        "[{{\"md5\": \"{}\", \"relpath\": \"../../escaped.txt\"}}]",
        md5_hex(b"a\n")
    );
    let id = md5_hex(bytes.as_bytes());
    write(
        &object_path(&remote, &format!("{id}.dir")),
        bytes.as_bytes(),
    );
    std::fs::write(
        repo.join("data/evil.dvc"),
        format!("outs:\n- md5: {id}.dir\n  size: 2\n  nfiles: 1\n  hash: md5\n  path: evil\n"),
    )
    .unwrap();
    let out = sb
        .vintner(&repo)
        .args(["pull", "data/evil.dvc"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("escapes the folder"),
        "{}",
        stderr(&out)
    );
    assert!(!sb.path().join("escaped.txt").exists());
    assert!(!repo.join("escaped.txt").exists());
}

#[test]
fn malformed_dvc_file_and_unknown_remote_are_clear_errors() {
    let sb = Sandbox::new();
    let (repo, _remote) = pushed_repo(&sb);
    std::fs::write(
        repo.join("data/bad.dvc"),
        "outs:\n- md5: nothex\n  path: x\n",
    )
    .unwrap();
    let out = sb.vintner(&repo).arg("status").assert().code(1);
    let err = stderr(&out);
    assert!(
        err.contains("Malformed `.dvc` file") && err.contains("bad.dvc"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    std::fs::remove_file(repo.join("data/bad.dvc")).unwrap();

    let out = sb
        .vintner(&repo)
        .args(["push", "-r", "nope"])
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(err.contains("Unknown data remote `nope`"), "{err}");
    assert!(err.contains("known remotes: local"), "{err}");
}

#[test]
fn gc_removes_only_unreferenced_objects_and_asks_first() {
    let sb = Sandbox::new();
    let (repo, _remote) = pushed_repo(&sb);
    write(&repo.join("data/file.csv"), b"x,y\n3,4\n");
    sb.vintner(&repo)
        .args(["add", "data/file.csv"])
        .assert()
        .success();
    let old = object_path(&repo.join(".dvc/cache"), &md5_hex(b"x,y\n1,2\n"));
    assert!(old.exists());
    // No terminal to ask on: refuses without --force and removes nothing.
    sb.vintner(&repo).args(["gc", "-w"]).assert().code(1);
    assert!(old.exists());
    sb.vintner(&repo)
        .args(["gc", "-w", "--force"])
        .assert()
        .success();
    assert!(!old.exists());
    sb.vintner(&repo)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
    peers::dvc(&sb, &repo)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
    std::fs::remove_dir_all(repo.join("data/dir")).unwrap();
    sb.vintner(&repo).arg("checkout").assert().success();
    assert_eq!(read(&repo.join("data/dir/b.txt")), b"b\n");
}

/// Pipeline outputs that the real DVC recorded in a `dvc.lock` (in a subfolder, a file and a
/// folder) are kept by `gc -w`, as `dvc gc -w` keeps them; garbage next to them goes.
#[test]
fn gc_keeps_pipeline_outputs_recorded_in_dvc_lock() {
    let sb = Sandbox::new();
    let (repo, _remote) = pushed_repo(&sb);
    let pipe = repo.join("pipe");
    std::fs::create_dir_all(&pipe).unwrap();
    peers::dvc(&sb, &pipe)
        .args([
            "stage", "add", "-n", "make", "-o", "out.txt", "-o", "outdir",
        ])
        .arg("echo hi > out.txt && mkdir -p outdir && echo z > outdir/z.txt")
        .assert()
        .success();
    peers::dvc(&sb, &pipe).arg("repro").assert().success();
    let lock = std::fs::read_to_string(pipe.join("dvc.lock")).unwrap();
    assert!(lock.contains("out.txt") && lock.contains(".dir"), "{lock}");
    let cache = repo.join(".dvc/cache");
    let out_obj = object_path(&cache, &md5_hex(b"hi\n"));
    let inner_obj = object_path(&cache, &md5_hex(b"z\n"));
    assert!(out_obj.exists() && inner_obj.exists());

    write(&repo.join("data/file.csv"), b"x,y\n3,4\n");
    sb.vintner(&repo)
        .args(["add", "data/file.csv"])
        .assert()
        .success();
    let garbage = object_path(&cache, &md5_hex(b"x,y\n1,2\n"));
    assert!(garbage.exists());
    sb.vintner(&repo)
        .args(["gc", "-w", "--force"])
        .assert()
        .success();
    assert!(!garbage.exists());
    assert!(out_obj.exists() && inner_obj.exists());
    // The real DVC restores the pipeline outputs from what is left.
    std::fs::remove_file(pipe.join("out.txt")).unwrap();
    std::fs::remove_dir_all(pipe.join("outdir")).unwrap();
    peers::dvc(&sb, &repo).arg("checkout").assert().success();
    assert_eq!(read(&pipe.join("out.txt")), b"hi\n");
    assert_eq!(read(&pipe.join("outdir/z.txt")), b"z\n");
    peers::dvc(&sb, &repo)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
}

#[test]
fn killed_push_leaves_no_partial_object_and_the_next_push_completes() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let remote = sb.path().join("remote");
    sb.vintner(&repo)
        .args(["init", "--remote"])
        .arg(&remote)
        .assert()
        .success();
    for i in 0..200 {
        let body: Vec<u8> = (0..65536u32).map(|j| ((i * 7 + j) % 251) as u8).collect();
        write(&repo.join(format!("big/{i:03}.bin")), &body);
    }
    sb.vintner(&repo).args(["add", "big"]).assert().success();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
    sb.isolate_std(&mut child);
    let mut child = child
        .current_dir(&repo)
        .args(["push", "-j", "1"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(60));
    let _ = child.kill();
    let _ = child.wait();
    // Whatever was interrupted, every object under its final name is whole and correct.
    for e in walkdir::WalkDir::new(&remote)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if !e.file_type().is_file() || name.ends_with(".tmp") {
            continue;
        }
        let rel = e
            .path()
            .strip_prefix(remote.join("files/md5"))
            .unwrap()
            .to_string_lossy()
            .replace('/', "");
        let want = rel.trim_end_matches(".dir");
        assert_eq!(md5_hex(&read(e.path())), want, "{}", e.path().display());
    }
    sb.vintner(&repo).arg("push").assert().success();
    sb.vintner(&repo)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 'local' are in sync.\n");
}

#[test]
fn concurrent_adds_do_not_corrupt_the_cache() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    for d in ["one", "two"] {
        for i in 0..300 {
            write(
                &repo.join(format!("{d}/{i}.txt")),
                format!("{d} {i}\n").as_bytes(),
            );
        }
    }
    let spawn = |target: &str| {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
        sb.isolate_std(&mut c);
        c.current_dir(&repo).args(["add", target]).spawn().unwrap()
    };
    let (mut a, mut b) = (spawn("one"), spawn("two"));
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    sb.vintner(&repo)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
    peers::dvc(&sb, &repo)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
}

#[test]
fn dvcignore_is_honoured_like_dvc() {
    let sb = Sandbox::new();
    let ours = sb.mkdir("ours");
    let theirs = sb.mkdir("theirs");
    sb.vintner(&ours)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    git(&theirs, &["init", "--quiet"]);
    peers::dvc(&sb, &theirs).arg("init").assert().success();
    for root in [&ours, &theirs] {
        let mut ignore = String::from_utf8(read(&root.join(".dvcignore"))).unwrap();
        ignore.push_str("*.tmp\nscratch/\n");
        std::fs::write(root.join(".dvcignore"), ignore).unwrap();
        write(&root.join("d/keep.csv"), b"k\n");
        write(&root.join("d/skip.tmp"), b"s\n");
        write(&root.join("d/scratch/x.csv"), b"x\n");
        write(&root.join("d/sub/kept.txt"), b"kept\n");
        // A `.git` file (as a submodule has) is one of DVC's default ignores.
        write(
            &root.join("d/vendored/.git"),
            b"gitdir: ../../.git/modules/vendored\n",
        );
        write(&root.join("d/vendored/lib.txt"), b"lib\n");
    }
    sb.vintner(&ours).args(["add", "d"]).assert().success();
    peers::dvc(&sb, &theirs)
        .args(["add", "d"])
        .assert()
        .success();
    assert_eq!(read(&ours.join("d.dvc")), read(&theirs.join("d.dvc")));
    // A `.dvcignore` inside the folder is refused by both, and nothing is written.
    for root in [&ours, &theirs] {
        write(&root.join("e/.dvcignore"), b"x\n");
        write(&root.join("e/data.csv"), b"1\n");
    }
    let out = sb.vintner(&ours).args(["add", "e"]).assert().code(1);
    assert!(stderr(&out).contains("e/.dvcignore"), "{}", stderr(&out));
    assert!(!ours.join("e.dvc").exists());
    peers::dvc(&sb, &theirs)
        .args(["add", "e"])
        .assert()
        .failure();
}

#[test]
fn hardlink_cache_type_links_workspace_files() {
    use std::os::unix::fs::MetadataExt;
    let sb = Sandbox::new();
    let (repo, _remote) = pushed_repo(&sb);
    peers::dvc(&sb, &repo)
        .args(["config", "cache.type", "hardlink"])
        .assert()
        .success();
    std::fs::remove_dir_all(repo.join("data/dir")).unwrap();
    sb.vintner(&repo).arg("checkout").assert().success();
    let ws = std::fs::metadata(repo.join("data/dir/a.txt")).unwrap();
    let cached =
        std::fs::metadata(object_path(&repo.join(".dvc/cache"), &md5_hex(b"a\n"))).unwrap();
    assert_eq!(ws.ino(), cached.ino());
    assert_eq!(ws.mode() & 0o777, 0o444);
    peers::dvc(&sb, &repo)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
}

#[test]
fn legacy_dvc2_outputs_are_pulled_checked_out_and_verified() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    let remote = sb.path().join("remote");
    sb.vintner(&repo)
        .args(["init", "--remote"])
        .arg(&remote)
        .assert()
        .success();
    // A DVC 2 `.dvc` file (no `hash` key): md5 of the dos2unix'ed text, legacy remote layout.
    let content = b"a\r\nb\r\n";
    let legacy = md5_hex(b"a\nb\n");
    write(&remote.join(&legacy[..2]).join(&legacy[2..]), content);
    std::fs::write(
        repo.join("crlf.txt.dvc"),
        format!("outs:\n- md5: {legacy}\n  size: 6\n  path: crlf.txt\n"),
    )
    .unwrap();
    sb.vintner(&repo).arg("pull").assert().success();
    assert_eq!(
        read(&repo.join("crlf.txt")),
        content,
        "the raw bytes are checked out"
    );
    sb.vintner(&repo)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
    peers::dvc(&sb, &repo)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
    // A wrong legacy object is refused like any other.
    std::fs::remove_file(repo.join("crlf.txt")).unwrap();
    let cached = repo
        .join(".dvc/cache")
        .join(&legacy[..2])
        .join(&legacy[2..]);
    std::fs::remove_file(&cached).unwrap();
    force_write(&remote.join(&legacy[..2]).join(&legacy[2..]), b"a\r\nX\r\n");
    sb.vintner(&repo).arg("pull").assert().code(1);
    assert!(!repo.join("crlf.txt").exists());
}

#[test]
fn remote_commands_write_what_dvc_reads_and_hide_secrets() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    sb.vintner(&repo)
        .args(["remote", "add", "-d", "one", "../store-one"])
        .assert()
        .success();
    sb.vintner(&repo)
        .args(["remote", "add", "two", "s3://bucket/path"])
        .assert()
        .success();
    let out = sb
        .vintner(&repo)
        .args([
            "remote",
            "modify",
            "--local",
            "two",
            "secret_access_key",
            "s3cr3t-value",
        ])
        .assert()
        .success();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.get_output().stdout),
        String::from_utf8_lossy(&out.get_output().stderr)
    );
    assert!(!all.contains("s3cr3t-value"), "{all}");
    assert_eq!(
        String::from_utf8(read(&repo.join(".dvc/config"))).unwrap(),
        "[core]\n    remote = one\n['remote \"one\"']\n    url = ../../store-one\n['remote \"two\"']\n    url = s3://bucket/path\n"
    );
    peers::dvc(&sb, &repo)
        .args(["remote", "list"])
        .assert()
        .success();
    peers::dvc(&sb, &repo)
        .args(["remote", "default"])
        .assert()
        .success()
        .stdout("one\n");
    sb.vintner(&repo)
        .args(["remote", "default", "two"])
        .assert()
        .success();
    peers::dvc(&sb, &repo)
        .args(["remote", "default"])
        .assert()
        .success()
        .stdout("two\n");
    let listed = sb
        .vintner(&repo)
        .args(["remote", "list", "--json"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&listed.get_output().stdout).unwrap();
    assert_eq!(json[1]["name"], "two");
    assert_eq!(json[1]["default"], true);
    assert!(!String::from_utf8_lossy(&listed.get_output().stdout).contains("s3cr3t"));
    // Removing a remote leaves no half section in config.local (which would break DVC).
    sb.vintner(&repo)
        .args(["remote", "remove", "two"])
        .assert()
        .success();
    assert!(
        !String::from_utf8(read(&repo.join(".dvc/config.local")))
            .unwrap()
            .contains("two")
    );
    peers::dvc(&sb, &repo)
        .args(["remote", "list"])
        .assert()
        .success();
}

#[test]
fn status_cloud_treats_an_outputs_own_remote_like_dvc() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    git(&repo, &["init", "--quiet"]);
    peers::dvc(&sb, &repo).arg("init").assert().success();
    for (name, default) in [("main", true), ("side", false)] {
        let mut add = peers::dvc(&sb, &repo);
        add.args(["remote", "add"]);
        if default {
            add.arg("-d");
        }
        add.arg(name).arg(sb.path().join(name)).assert().success();
    }
    write(&repo.join("a.txt"), b"goes to main\n");
    write(&repo.join("b.txt"), b"goes to side\n");
    sb.vintner(&repo)
        .args(["add", "a.txt", "b.txt"])
        .assert()
        .success();
    // `b.txt` names its own remote, as a user would add it by hand.
    let dvc_file = repo.join("b.txt.dvc");
    let text = String::from_utf8(read(&dvc_file)).unwrap();
    write(
        &dvc_file,
        text.replace("  path: b.txt\n", "  path: b.txt\n  remote: side\n")
            .as_bytes(),
    );
    sb.vintner(&repo).arg("push").assert().success();
    assert!(
        sb.path().join("side/files/md5").is_dir(),
        "b.txt went to its own remote"
    );
    let statuses = |tool: &str| -> String {
        let out = if tool == "dvc" {
            peers::dvc(&sb, &repo)
                .args(["status", "-c", "--json"])
                .output()
        } else {
            sb.vintner(&repo).args(["status", "-c", "--json"]).output()
        }
        .unwrap();
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.to_string()
    };
    assert_eq!(statuses("vintner"), statuses("dvc"));
    assert_eq!(statuses("vintner"), "{}");
    // DVC's `status -c` leaves out outputs with their own remote: emptying that remote changes
    // nothing, while emptying the default one shows `a.txt` as new. vintner says the same.
    std::fs::remove_dir_all(sb.path().join("side")).unwrap();
    assert_eq!(statuses("vintner"), statuses("dvc"));
    assert_eq!(statuses("vintner"), "{}");
    std::fs::remove_dir_all(sb.path().join("main")).unwrap();
    assert_eq!(statuses("vintner"), statuses("dvc"));
    assert_eq!(statuses("vintner"), r#"{"a.txt":"new"}"#);
}

#[test]
fn diff_reports_renames_and_missing_objects_like_dvc() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    git(&repo, &["init", "--quiet"]);
    peers::dvc(&sb, &repo).arg("init").assert().success();
    for (name, text) in [
        ("a.txt", "alpha\n"),
        ("b.txt", "bravo\n"),
        ("c.txt", "charlie\n"),
        ("d.txt", "delta\n"),
        ("sub/e.txt", "echo\n"),
    ] {
        write(&repo.join("data").join(name), text.as_bytes());
    }
    write(&repo.join("single.txt"), b"one file\n");
    sb.vintner(&repo)
        .args(["add", "data", "single.txt"])
        .assert()
        .success();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "data"]);
    let compare = |args: &[&str]| {
        let ours = sb.vintner(&repo).arg("diff").args(args).output().unwrap();
        let theirs = peers::dvc(&sb, &repo)
            .arg("diff")
            .args(args)
            .output()
            .unwrap();
        assert!(
            ours.status.success(),
            "{}",
            String::from_utf8_lossy(&ours.stderr)
        );
        assert!(
            theirs.status.success(),
            "{}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        if args.contains(&"--json") {
            let a: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
            let b: serde_json::Value = serde_json::from_slice(&theirs.stdout).unwrap();
            assert_eq!(a, b, "diff {args:?}");
            a.to_string()
        } else {
            let (a, b) = (
                String::from_utf8_lossy(&ours.stdout).into_owned(),
                String::from_utf8_lossy(&theirs.stdout).into_owned(),
            );
            assert_eq!(a, b, "diff {args:?}");
            a
        }
    };
    assert_eq!(compare(&["--json"]), "{}");
    // Modify, delete, add, and rename (same bytes under a new name) inside the folder.
    write(&repo.join("data/a.txt"), b"alpha, changed\n");
    std::fs::remove_file(repo.join("data/b.txt")).unwrap();
    write(&repo.join("data/f.txt"), b"foxtrot\n");
    std::fs::rename(repo.join("data/c.txt"), repo.join("data/sub/c2.txt")).unwrap();
    // An unchanged file whose object left the cache.
    let md5 = md5_hex(b"delta\n");
    let object = repo.join(format!(".dvc/cache/files/md5/{}/{}", &md5[..2], &md5[2..]));
    std::fs::remove_file(object).unwrap();
    let json = compare(&["--json"]);
    for needle in [
        "data/a.txt",
        "data/b.txt",
        "data/f.txt",
        "data/sub/c2.txt",
        "data/d.txt",
    ] {
        assert!(json.contains(needle), "{needle} in {json}");
    }
    compare(&["--json", "--show-hash"]);
    compare(&["--json", "--hide-missing"]);
    let text = compare(&[]);
    assert!(
        text.contains("Renamed:\n    data/c.txt -> data/sub/c2.txt\n"),
        "{text}"
    );
    compare(&["--show-hash"]);
    // Between two revisions (no cache check, as DVC).
    sb.vintner(&repo).args(["add", "data"]).assert().success();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "changes"]);
    let json = compare(&["HEAD~1", "HEAD", "--json"]);
    assert!(
        json.contains("renamed") && !json.contains("not in cache"),
        "{json}"
    );
    compare(&["HEAD~1", "HEAD", "--show-hash"]);
    compare(&["HEAD", "HEAD~1", "--json"]);
}

#[test]
fn checkout_gives_back_a_recorded_execute_bit_like_dvc() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let chmod =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    let mut outputs = Vec::new();
    for tool in ["vintner", "dvc"] {
        let repo = sb.mkdir(tool);
        git(&repo, &["init", "--quiet"]);
        peers::dvc(&sb, &repo).arg("init").assert().success();
        let script = repo.join("run.sh");
        write(&script, b"#!/bin/sh\necho hi\n");
        chmod(&script, 0o755);
        sb.vintner(&repo).args(["add", "run.sh"]).assert().success();
        chmod(&script, 0o644);
        let out = if tool == "dvc" {
            peers::dvc(&sb, &repo).arg("checkout").output().unwrap()
        } else {
            sb.vintner(&repo).arg("checkout").output().unwrap()
        };
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(mode(&script), 0o744, "{tool} adds the owner's execute bit");
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    assert_eq!(outputs[0], outputs[1]);
}
