//! `gc -c`: cleaning the remote as the real `dvc gc -c` does. The same history is built twice,
//! each copy with its own remote (a folder, or a moto S3 bucket); DVC cleans one, vintner the
//! other, and both must leave the same objects on the remote and in the cache — first keeping a
//! tag's data (`-T`), then only the workspace's.

use std::path::{Path, PathBuf};

use crate::common::{Sandbox, git, stderr, write};
use crate::peers::{self, Moto};
use crate::s3::configure_s3;

/// Two commits (the first tagged `v1`) of a file and a folder, each pushed, plus a pushed
/// file whose `.dvc` was then deleted: garbage on the remote and in the cache.
fn history(sb: &Sandbox, repo: &Path) {
    let v = |args: &[&str]| {
        sb.vintner(repo).args(args).assert().success();
    };
    write(&repo.join("data/a.txt"), b"a one\n");
    write(&repo.join("data/dir/x.txt"), b"x one\n");
    write(&repo.join("data/dir/y.txt"), b"y one\n");
    v(&["add", "data/a.txt", "data/dir"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "one"]);
    git(repo, &["tag", "v1"]);
    v(&["push"]);
    write(&repo.join("data/a.txt"), b"a two\n");
    write(&repo.join("data/dir/y.txt"), b"y two\n");
    write(&repo.join("data/dir/z.txt"), b"z two\n");
    v(&["add", "data/a.txt", "data/dir"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "two"]);
    v(&["push"]);
    write(&repo.join("data/tmp.txt"), b"scratch\n");
    v(&["add", "data/tmp.txt"]);
    v(&["push"]);
    std::fs::remove_file(repo.join("data/tmp.txt.dvc")).unwrap();
}

/// Every file below `dir`, relative and sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// The cache's objects (`.dvc/cache/files/…`).
fn cache_objects(repo: &Path) -> Vec<String> {
    files(&repo.join(".dvc/cache/files"))
}

/// The keys of a moto bucket, sorted.
fn bucket_keys(moto: &Moto, bucket: &str) -> Vec<String> {
    let script = format!(
        "import boto3\nc = boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', \
         aws_secret_access_key='test', region_name='us-east-1')\n\
         for page in c.get_paginator('list_objects_v2').paginate(Bucket='{bucket}'):\n    \
         for o in page.get('Contents', []):\n        print(o['Key'])\n",
        moto.endpoint
    );
    let out = std::process::Command::new(peers::bin("moto", "python"))
        .args(["-c", &script])
        .output()
        .expect("run python");
    assert!(out.status.success(), "list bucket: {out:?}");
    let mut keys: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    keys.sort();
    keys
}

/// Runs `gc <flags> -c -f` with DVC in `dvc_repo` and vintner in `ours`, then compares what
/// `remote_of` and the caches hold.
fn gc_both(
    sb: &Sandbox,
    dvc_repo: &Path,
    ours: &Path,
    flags: &[&str],
    remote_of: &dyn Fn(&Path) -> Vec<String>,
) -> Vec<String> {
    let mut args = vec!["gc"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["-c", "-f"]);
    peers::dvc(sb, dvc_repo).args(&args).assert().success();
    sb.vintner(ours).args(&args).assert().success();
    let theirs = remote_of(dvc_repo);
    assert_eq!(remote_of(ours), theirs, "remote after gc {flags:?}");
    assert_eq!(
        cache_objects(ours),
        cache_objects(dvc_repo),
        "cache after gc {flags:?}"
    );
    theirs
}

/// Objects in a remote listing (DVC 3 layout).
fn objects(keys: &[String]) -> usize {
    keys.iter().filter(|k| k.contains("files/md5/")).count()
}

#[test]
fn gc_cloud_on_a_folder_remote_leaves_what_dvc_gc_c_leaves() {
    let sb = Sandbox::new();
    let make = |name: &str| -> (PathBuf, PathBuf) {
        let repo = sb.mkdir(name);
        let store = sb.mkdir(&format!("{name}-store"));
        sb.vintner(&repo)
            .args(["init", "--no-remote"])
            .assert()
            .success();
        sb.vintner(&repo)
            .args(["remote", "add", "-d", "store", store.to_str().unwrap()])
            .assert()
            .success();
        history(&sb, &repo);
        (repo, store)
    };
    let (theirs, their_store) = make("dvc");
    let (ours, our_store) = make("ours");
    let before = files(&our_store);
    assert_eq!(before, files(&their_store));
    assert_eq!(objects(&before), 9, "{before:?}");

    // Without a terminal and without --force, nothing is removed and the hint says how.
    let asked = sb.vintner(&ours).args(["gc", "-w", "-c"]).assert().code(1);
    assert!(stderr(&asked).contains("--force"), "{}", stderr(&asked));
    assert_eq!(files(&our_store), before);
    // A dry run lists what would go and removes nothing.
    let dry = sb
        .vintner(&ours)
        .args(["gc", "-w", "-c", "--dry"])
        .assert()
        .success();
    let listed = String::from_utf8_lossy(&dry.get_output().stdout).into_owned();
    assert!(listed.contains("store: files/md5/"), "{listed}");
    assert_eq!(files(&our_store), before);

    let store_of = |repo: &Path| {
        files(&if repo == theirs.as_path() {
            their_store.clone()
        } else {
            our_store.clone()
        })
    };
    let tagged = gc_both(&sb, &theirs, &ours, &["-T"], &store_of);
    assert_eq!(
        objects(&tagged),
        8,
        "only the scratch file goes: {tagged:?}"
    );
    let now = gc_both(&sb, &theirs, &ours, &["-w"], &store_of);
    // a two, the folder's manifest, x, y two, z.
    assert_eq!(objects(&now), 5, "{now:?}");

    // The remote still gives back everything the workspace needs, to DVC.
    git(sb.path(), &["clone", "-q", "ours", "clone"]);
    let clone = sb.path().join("clone");
    peers::dvc(&sb, &clone).arg("pull").assert().success();
    assert_eq!(
        std::fs::read(clone.join("data/dir/z.txt")).unwrap(),
        b"z two\n"
    );
}

#[test]
fn gc_cloud_on_s3_leaves_what_dvc_gc_c_leaves() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    let make = |name: &str| -> PathBuf {
        moto.create_bucket(name);
        let repo = sb.mkdir(name);
        sb.vintner(&repo)
            .args(["init", "--no-remote"])
            .assert()
            .success();
        configure_s3(&sb, &repo, &moto, name, false);
        history(&sb, &repo);
        repo
    };
    let theirs = make("theirs");
    let ours = make("ours");
    let bucket_of = |repo: &Path| bucket_keys(&moto, repo.file_name().unwrap().to_str().unwrap());
    let before = bucket_of(&ours);
    assert_eq!(before, bucket_of(&theirs));
    assert_eq!(objects(&before), 9, "{before:?}");
    let tagged = gc_both(&sb, &theirs, &ours, &["-T"], &bucket_of);
    assert_eq!(objects(&tagged), 8, "{tagged:?}");
    // In a clone that never fetched anything, the folder's manifest comes from the remote.
    git(sb.path(), &["clone", "-q", "ours", "ours-clone"]);
    let clone = sb.path().join("ours-clone");
    std::fs::copy(
        ours.join(".dvc/config.local"),
        clone.join(".dvc/config.local"),
    )
    .unwrap();
    sb.vintner(&clone)
        .args(["gc", "-w", "-c", "-f"])
        .assert()
        .success();
    peers::dvc(&sb, &theirs)
        .args(["gc", "-w", "-c", "-f"])
        .assert()
        .success();
    let now = bucket_of(&ours);
    assert_eq!(now, bucket_of(&theirs));
    assert_eq!(objects(&now), 5, "{now:?}");
    sb.vintner(&clone).arg("pull").assert().success();
    assert_eq!(
        std::fs::read(clone.join("data/dir/z.txt")).unwrap(),
        b"z two\n"
    );
}
