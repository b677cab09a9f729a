//! S3 remotes against a real S3-compatible server (moto on 127.0.0.1): vintner ↔ DVC (dvc-s3)
//! both ways, credentials kept in `config.local`, and clear errors for missing credentials, an
//! unreachable endpoint and one that stops answering.

use std::path::Path;

use crate::common::{Sandbox, git, snapshot};
use crate::peers::{self, Moto};

pub(crate) fn configure_s3(sb: &Sandbox, repo: &Path, moto: &Moto, bucket: &str, with_dvc: bool) {
    let url = format!("s3://{bucket}/store");
    if with_dvc {
        peers::dvc(sb, repo)
            .args(["remote", "add", "-d", "s3", &url])
            .assert()
            .success();
    } else {
        sb.vintner(repo)
            .args(["remote", "add", "-d", "s3", &url])
            .assert()
            .success();
    }
    sb.vintner(repo)
        .args(["remote", "modify", "s3", "endpointurl", &moto.endpoint])
        .assert()
        .success();
    sb.vintner(repo)
        .args(["remote", "modify", "--local", "s3", "access_key_id", "test"])
        .assert()
        .success();
    sb.vintner(repo)
        .args([
            "remote",
            "modify",
            "--local",
            "s3",
            "secret_access_key",
            "test",
        ])
        .assert()
        .success();
    let tracked = std::fs::read_to_string(repo.join(".dvc/config")).unwrap();
    assert!(
        !tracked.contains("secret_access_key"),
        "credentials leaked into .dvc/config:\n{tracked}"
    );
    let local = std::fs::read_to_string(repo.join(".dvc/config.local")).unwrap();
    assert!(local.contains("secret_access_key = test"), "{local}");
}

fn make_data(repo: &Path) {
    std::fs::create_dir_all(repo.join("data/dir/sub")).unwrap();
    std::fs::write(repo.join("data/wine.csv"), b"a;b\n1;2\n").unwrap();
    std::fs::write(repo.join("data/dir/x.txt"), b"x\n").unwrap();
    std::fs::write(repo.join("data/dir/sub/caf\u{e9} y.txt"), b"y\n").unwrap();
    let big: Vec<u8> = (0..(3 << 20)).map(|i: u32| (i % 241) as u8).collect();
    std::fs::write(repo.join("data/dir/big.bin"), big).unwrap();
}

#[test]
fn s3_round_trips_between_vintner_and_dvc() {
    let moto = Moto::start();
    moto.create_bucket("wine");
    let sb = Sandbox::new();

    // vintner pushes, DVC pulls.
    let a = sb.mkdir("a");
    sb.vintner(&a)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    configure_s3(&sb, &a, &moto, "wine", false);
    make_data(&a);
    sb.vintner(&a)
        .args(["add", "data/wine.csv", "data/dir"])
        .assert()
        .success();
    sb.vintner(&a).arg("push").assert().success();
    sb.vintner(&a)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 's3' are in sync.\n");
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-qm", "data"]);
    git(sb.path(), &["clone", "-q", "a", "a2"]);
    let a2 = sb.path().join("a2");
    std::fs::copy(a.join(".dvc/config.local"), a2.join(".dvc/config.local")).unwrap();
    peers::dvc(&sb, &a2).arg("pull").assert().success();
    assert_eq!(
        snapshot(&a2.join("data"), false),
        snapshot(&a.join("data"), false)
    );
    peers::dvc(&sb, &a2)
        .args(["status", "-c"])
        .assert()
        .success();

    // DVC pushes, vintner pulls.
    moto.create_bucket("other");
    let b = sb.mkdir("b");
    git(&b, &["init", "--quiet"]);
    peers::dvc(&sb, &b).arg("init").assert().success();
    configure_s3(&sb, &b, &moto, "other", true);
    make_data(&b);
    peers::dvc(&sb, &b)
        .args(["add", "data/wine.csv", "data/dir"])
        .assert()
        .success();
    peers::dvc(&sb, &b).arg("push").assert().success();
    git(&b, &["add", "-A"]);
    git(&b, &["commit", "-qm", "data"]);
    git(sb.path(), &["clone", "-q", "b", "b2"]);
    let b2 = sb.path().join("b2");
    std::fs::copy(b.join(".dvc/config.local"), b2.join(".dvc/config.local")).unwrap();
    sb.vintner(&b2).arg("pull").assert().success();
    assert_eq!(
        snapshot(&b2.join("data"), false),
        snapshot(&b.join("data"), false)
    );
    sb.vintner(&b2)
        .arg("status")
        .assert()
        .success()
        .stdout("Data and pipelines are up to date.\n");
}

#[test]
fn s3_without_credentials_or_endpoint_is_a_clear_error() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("r");
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    sb.vintner(&repo)
        .args(["remote", "add", "-d", "s3", "s3://bucket/p"])
        .assert()
        .success();
    let port = peers::free_port();
    sb.vintner(&repo)
        .args([
            "remote",
            "modify",
            "s3",
            "endpointurl",
            &format!("http://127.0.0.1:{port}"),
        ])
        .assert()
        .success();
    std::fs::write(repo.join("f.txt"), b"f\n").unwrap();
    sb.vintner(&repo).args(["add", "f.txt"]).assert().success();

    let out = sb
        .vintner(&repo)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .arg("push")
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("No AWS credentials found for remote `s3`"),
        "{err}"
    );
    assert!(err.contains("hint:") && err.contains("--local"), "{err}");

    // Credentials but nothing listening: an error naming the remote, not a hang or a panic.
    let out = sb
        .vintner(&repo)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .arg("push")
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("Data remote `s3` failed"), "{err}");
}

#[test]
fn s3_server_that_stops_answering_fails_the_push_naming_the_remote() {
    // Accepts connections and reads requests but never answers: each request is bounded in
    // time and retries stop after the retry window, so push ends with an error, not a hang.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            let mut reader = conn.try_clone().unwrap();
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            });
            held.push(conn);
        }
    });
    let sb = Sandbox::new();
    let repo = sb.mkdir("r");
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    sb.vintner(&repo)
        .args(["remote", "add", "-d", "s3", "s3://bucket/p"])
        .assert()
        .success();
    sb.vintner(&repo)
        .args([
            "remote",
            "modify",
            "s3",
            "endpointurl",
            &format!("http://127.0.0.1:{port}"),
        ])
        .assert()
        .success();
    std::fs::write(repo.join("f.txt"), b"f\n").unwrap();
    sb.vintner(&repo).args(["add", "f.txt"]).assert().success();
    let out = sb
        .vintner(&repo)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .arg("push")
        .timeout(std::time::Duration::from_secs(180))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("Data remote `s3` failed"), "{err}");
}
