//! The remote index: after a push, `status -c` asks an S3 remote about a pushed folder with one
//! request (as the real `dvc status -c` does), never trusts an entry whose `.dir` is gone, is
//! not broken by a garbage index file, and `gc -c` clears it; a pull indexes what it fetched
//! whole.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::common::{Sandbox, git, write};
use crate::peers::{self, Moto};
use crate::proxy::{Fault, Proxy};
use crate::s3::configure_s3;

/// The index files of a repository.
fn index_files(repo: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(repo.join(".dvc/tmp/vintner/remote-index")) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    out.sort();
    out
}

/// The text of the repository's one index file, or `None` when there is none.
fn index_text(repo: &Path) -> Option<String> {
    let files = index_files(repo);
    assert!(files.len() <= 1, "one remote, one index: {files:?}");
    files.first().map(|f| std::fs::read_to_string(f).unwrap())
}

/// The md5 of the folder output `data/dir` (with `.dir`).
fn dir_md5(repo: &Path) -> String {
    let dvc = std::fs::read_to_string(repo.join("data/dir.dvc")).unwrap();
    dvc.lines()
        .find_map(|l| l.trim().trim_start_matches("- ").strip_prefix("md5: "))
        .unwrap()
        .to_string()
}

/// The object path of an md5 in DVC 3's layout.
fn object_key(md5: &str) -> String {
    format!("files/md5/{}/{}", &md5[..2], &md5[2..])
}

/// Deletes keys from a moto bucket directly, behind vintner's back.
fn delete_keys(moto: &Moto, bucket: &str, keys: &[String]) {
    let script = format!(
        "import boto3, sys\nc = boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', \
         aws_secret_access_key='test', region_name='us-east-1')\n\
         for k in sys.argv[1:]:\n    c.delete_object(Bucket='{bucket}', Key=k)\n",
        moto.endpoint
    );
    let out = std::process::Command::new(peers::bin("moto", "python"))
        .arg("-c")
        .arg(&script)
        .args(keys)
        .output()
        .expect("run python");
    assert!(out.status.success(), "delete keys: {out:?}");
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

#[test]
fn status_c_after_push_asks_s3_about_an_indexed_folder_once_and_checks_it_is_still_there() {
    let moto = Moto::start();
    moto.create_bucket("idx");
    let proxy = Proxy::start(&moto.endpoint, Fault::Nothing);
    let requests = || proxy.injected().requests.load(Ordering::SeqCst);
    let sb = Sandbox::new();
    let repo = sb.mkdir("r");
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    configure_s3(&sb, &repo, &moto, "idx", false);
    sb.vintner(&repo)
        .args(["remote", "modify", "s3", "endpointurl", &proxy.url])
        .assert()
        .success();
    let files = 2_000;
    for i in 0..files {
        write(
            &repo.join(format!("data/dir/f{i:05}.txt")),
            format!("file {i}\n").as_bytes(),
        );
    }
    sb.vintner(&repo)
        .args(["add", "data/dir"])
        .assert()
        .success();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "data"]);
    sb.vintner(&repo).arg("push").assert().success();
    let dir = dir_md5(&repo);
    let text = index_text(&repo).expect("push wrote the remote's index");
    assert!(text.contains(&object_key(&dir)), "{text}");
    assert!(
        !text.contains("test"),
        "no credentials in the index: {text}"
    );
    let in_sync = "Cache and remote 's3' are in sync.\n";

    // With the index: one existence check of the `.dir`.
    let before = requests();
    sb.vintner(&repo)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout(in_sync);
    let ours = requests() - before;
    // A push with nothing new costs the same check.
    let before = requests();
    sb.vintner(&repo).arg("push").assert().success();
    let push = requests() - before;
    assert!(
        push <= 2,
        "a push of an indexed folder made {push} requests"
    );
    let before = requests();
    peers::dvc(&sb, &repo)
        .args(["status", "-c"])
        .assert()
        .success();
    let dvc = requests() - before;
    // A garbage index is ignored: the remote is asked in full, and the folder indexed again.
    let index = index_files(&repo).remove(0);
    std::fs::write(&index, b"\x00not json{").unwrap();
    let before = requests();
    sb.vintner(&repo)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout(in_sync);
    let full = requests() - before;
    eprintln!(
        "status -c on {files} files: dvc {dvc} requests, vintner {ours} with the index, \
         {full} without (push again: {push})"
    );
    assert!(
        ours <= 2 && ours <= dvc && ours < full,
        "vintner {ours}, dvc {dvc}, without the index {full}"
    );
    let text = index_text(&repo).expect("status -c indexed the folder it found whole");
    assert!(text.contains(&object_key(&dir)), "{text}");

    // The `.dir` and one file deleted behind vintner's back: the index is not trusted.
    let gone_file = {
        let manifest =
            std::fs::read_to_string(repo.join(".dvc/cache").join(object_key(&dir))).unwrap();
        let v: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        v[7]["md5"].as_str().unwrap().to_string()
    };
    delete_keys(
        &moto,
        "idx",
        &[
            format!("store/{}", object_key(&dir)),
            format!("store/{}", object_key(&gone_file)),
        ],
    );
    let out = sb.vintner(&repo).args(["status", "-c"]).assert().success();
    let said = stdout(&out);
    assert!(
        said.contains("new:") && said.contains("data/dir\n"),
        "{said}"
    );
    assert!(said.contains("data/dir/f00007.txt\n"), "{said}");
    assert_eq!(index_text(&repo), None, "the stale index is cleared");
    // A push restores both, and indexes the folder again.
    sb.vintner(&repo).arg("push").assert().success();
    sb.vintner(&repo)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout(in_sync);
    assert!(index_text(&repo).is_some_and(|t| t.contains(&object_key(&dir))));

    // `gc -c` deleting the old folder version clears the index.
    write(&repo.join("data/dir/f00000.txt"), b"changed\n");
    sb.vintner(&repo)
        .args(["add", "data/dir"])
        .assert()
        .success();
    sb.vintner(&repo).arg("push").assert().success();
    let text = index_text(&repo).unwrap();
    assert!(text.contains(&object_key(&dir)) && text.contains(&object_key(&dir_md5(&repo))));
    sb.vintner(&repo)
        .args(["gc", "-w", "-c", "-f"])
        .assert()
        .success();
    let text = index_text(&repo).unwrap();
    assert!(
        text.contains("\"dirs\": []") && !text.contains(&object_key(&dir)),
        "gc -c empties the remote's index: {text}"
    );
    sb.vintner(&repo)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout(in_sync);
}

#[test]
fn pull_indexes_a_folder_it_fetched_whole_and_a_deleted_dir_is_reported_again() {
    let sb = Sandbox::new();
    let a = sb.mkdir("a");
    let store = sb.path().join("store");
    sb.vintner(&a)
        .args(["init", "--remote", store.to_str().unwrap()])
        .assert()
        .success();
    for i in 0..20 {
        write(
            &a.join(format!("data/dir/f{i:02}.txt")),
            format!("f {i}\n").as_bytes(),
        );
    }
    sb.vintner(&a).args(["add", "data/dir"]).assert().success();
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-qm", "data"]);
    sb.vintner(&a).arg("push").assert().success();
    git(sb.path(), &["clone", "-q", "a", "b"]);
    let b = sb.path().join("b");
    assert_eq!(index_text(&b), None);
    sb.vintner(&b).arg("pull").assert().success();
    let dir = dir_md5(&b);
    let text = index_text(&b).expect("pull indexed the folder it fetched whole");
    assert!(text.contains(&object_key(&dir)), "{text}");
    sb.vintner(&b)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout(predicates::str::contains("are in sync"));

    // The remote's `.dir` deleted behind vintner's back: `status -c` reports it again.
    let object = store.join(object_key(&dir));
    std::fs::remove_file(&object).unwrap();
    let out = sb.vintner(&b).args(["status", "-c"]).assert().success();
    let said = stdout(&out);
    assert!(
        said.contains("new:") && said.contains("data/dir\n"),
        "{said}"
    );
    assert_eq!(index_text(&b), None);
}
