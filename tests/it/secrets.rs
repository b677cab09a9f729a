//! Secrets never reach a terminal, a log, a run tag, a store or `--json`: credentials in
//! `MLFLOW_TRACKING_URI`, in the git remote of the repository and in a data remote URL, through
//! the whole workflow on the embedded store, against a real MLflow server, and in the failures
//! (an unreachable server, a bad remote). The connection itself still authenticates with them.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::common::{Sandbox, git};
use crate::workflow::project;

const GIT_URL: &str = "https://bob:ghp_secret123@git.example.invalid/org/repo.git";
const GIT_URL_CLEAN: &str = "https://git.example.invalid/org/repo.git";
/// Every string that must never be seen outside the places the user put it.
const SECRETS: &[&str] = &[
    "ghp_secret123",
    "bob:",
    "s3cret",
    "alice",
    "remote_pw",
    "carol",
    "tok_secret",
];

/// Panics naming the secret and where it leaked.
fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for s in SECRETS {
        assert!(!text.contains(s), "`{s}` leaked into {what}:\n{text}");
    }
}

/// Runs vintner (also with `-v` and `RUST_LOG=debug`), checks stdout and stderr for secrets and
/// returns the output of the plain run.
fn run_clean(
    sb: &Sandbox,
    dir: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let mut first = None;
    for verbose in [false, true] {
        let mut cmd = sb.vintner(dir);
        cmd.envs(env.iter().copied()).args(args);
        if verbose {
            cmd.arg("-v").env("RUST_LOG", "debug");
        }
        let out = cmd.output().unwrap();
        let what = format!(
            "`vintner {}`{}",
            args.join(" "),
            if verbose { " -v" } else { "" }
        );
        assert_clean(&format!("the stdout of {what}"), &out.stdout);
        assert_clean(&format!("the stderr of {what}"), &out.stderr);
        first.get_or_insert(out);
    }
    first.unwrap()
}

fn ok_json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file below `dir`, checked.
fn assert_tree_clean(what: &str, dir: &Path) {
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        if e.file_type().is_file() {
            let bytes = std::fs::read(e.path()).unwrap();
            assert_clean(&format!("{what} file `{}`", e.path().display()), &bytes);
        }
    }
}

/// Every file git tracks in `dir` (the index and HEAD), checked.
fn assert_git_tracked_clean(dir: &Path) {
    let listed = git(dir, &["ls-files", "-z"]);
    for rel in listed.split('\0').filter(|s| !s.is_empty()) {
        let p = dir.join(rel);
        if p.is_file() {
            assert_clean(&format!("git-tracked `{rel}`"), &std::fs::read(&p).unwrap());
        }
    }
    assert_clean("the last commit", git(dir, &["show", "HEAD"]).as_bytes());
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    crate::peers::free_port()
}

#[test]
fn embedded_store_records_and_prints_no_secret_of_git_or_data_remotes() {
    let sb = Sandbox::new();
    let remote = sb.path().join("remote");
    let proj = project(&sb, "proj", Some(&remote));
    git(&proj, &["remote", "add", "origin", GIT_URL]);
    sb.vintner(&proj).arg("push").assert().success();

    let t = ok_json(&run_clean(&sb, &proj, &[], &["train", "--json"]));
    let run_id = t["run_id"].as_str().unwrap().to_string();
    git(&proj, &["add", "-A"]);
    git(&proj, &["commit", "-qm", "model"]);

    // The run's repository URL is the one MLflow records: no user info at all.
    let shown = ok_json(&run_clean(
        &sb,
        &proj,
        &[],
        &["runs", "show", &run_id, "--json"],
    ));
    let tags = shown["run"]["data"]["tags"].to_string();
    assert!(tags.contains(GIT_URL_CLEAN), "{tags}");
    run_clean(&sb, &proj, &[], &["runs", "list"]);
    ok_json(&run_clean(&sb, &proj, &[], &["runs", "list", "--json"]));
    run_clean(&sb, &proj, &[], &["register"]);
    let infer = run_clean(&sb, &proj, &[], &["infer", "--run", &run_id]);
    assert!(
        infer.status.success(),
        "{}",
        String::from_utf8_lossy(&infer.stderr)
    );

    // A data remote with credentials: refused for the tracked `.dvc/config`…
    let port = closed_port();
    let creds_url = format!("http://carol:remote_pw@127.0.0.1:{port}/store?token=tok_secret");
    let config_before = std::fs::read(proj.join(".dvc/config")).unwrap();
    let refused = run_clean(&sb, &proj, &[], &["remote", "add", "creds", &creds_url]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--local"), "{err}");
    assert_eq!(
        std::fs::read(proj.join(".dvc/config")).unwrap(),
        config_before
    );
    let refused = run_clean(
        &sb,
        &proj,
        &[],
        &["remote", "modify", "local", "url", &creds_url],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        std::fs::read(proj.join(".dvc/config")).unwrap(),
        config_before
    );
    // …kept in the git-ignored `config.local`, and shown redacted.
    let added = run_clean(
        &sb,
        &proj,
        &[],
        &["remote", "add", "--local", "creds", &creds_url],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let listed = ok_json(&run_clean(&sb, &proj, &[], &["remote", "list", "--json"]));
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "creds")
        .unwrap()
        .clone();
    assert_eq!(
        row["url"],
        format!("http://***@127.0.0.1:{port}/store?token=***"),
        "{listed}"
    );
    let text = run_clean(&sb, &proj, &[], &["remote", "list"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("http://***@127.0.0.1"));
    // A remote that fails says which one, without its secrets.
    let push = run_clean(&sb, &proj, &[], &["push", "-r", "creds"]);
    assert_eq!(push.status.code(), Some(1));
    let local = std::fs::read_to_string(proj.join(".dvc/config.local")).unwrap();
    assert!(
        local.contains("remote_pw"),
        "the credential is kept where the user put it"
    );

    // Nothing in the store, nothing git tracks.
    assert_clean("mlflow.db", &std::fs::read(proj.join("mlflow.db")).unwrap());
    assert!(proj.join("mlruns").is_dir());
    assert_tree_clean("the artifact store", &proj.join("mlruns"));
    git(&proj, &["add", "-A"]);
    assert_git_tracked_clean(&proj);
}

#[test]
fn an_unreachable_server_is_named_without_its_credentials() {
    let sb = Sandbox::new();
    let proj = project(&sb, "proj", Some(&sb.path().join("remote")));
    let port = closed_port();
    let uri = format!("http://alice:s3cret@127.0.0.1:{port}");
    let env = [
        ("MLFLOW_TRACKING_URI", uri.as_str()),
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0"),
        ("MLFLOW_HTTP_REQUEST_TIMEOUT", "5"),
    ];
    for args in [
        &["runs", "list"][..],
        &["experiments", "list", "--json"],
        &["train", "--json"],
        &["infer"],
    ] {
        let out = run_clean(&sb, &proj, &env, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        // still says where it tried
        assert!(
            err.contains(&format!("127.0.0.1:{port}")),
            "{args:?}: {err}"
        );
    }
    // The flag is redacted just the same.
    let out = run_clean(
        &sb,
        &proj,
        &[("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")],
        &["runs", "list", "--tracking-uri", &uri],
    );
    assert_eq!(out.status.code(), Some(1));
}

/// A one-shot HTTP server that answers 401 and records the `Authorization` headers it got.
fn auth_recorder() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).into_owned();
            let auth: Vec<String> = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                .map(|(_, v)| v.trim().to_string())
                .collect();
            record.lock().unwrap().push(auth.join(" | "));
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, seen)
}

#[test]
fn credentials_in_the_tracking_uri_are_sent_as_basic_auth_as_mlflow_does() {
    let sb = Sandbox::new();
    let dir = sb.mkdir("work");
    let (port, seen) = auth_recorder();
    let uri = format!("http://alice:s3cret@127.0.0.1:{port}");
    // A token in the environment loses to the URL's credentials, as with MLflow's client.
    let out = run_clean(
        &sb,
        &dir,
        &[
            ("MLFLOW_TRACKING_URI", &uri),
            ("MLFLOW_TRACKING_TOKEN", "env-token"),
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0"),
        ],
        &["experiments", "list"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("http://127.0.0.1:{port}")), "{err}");
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    // base64("alice:s3cret"), once per request, nothing else
    for auth in seen {
        assert_eq!(auth, "Basic YWxpY2U6czNjcmV0");
    }
}

#[test]
fn a_real_server_reached_with_credentials_in_the_uri_never_shows_them() {
    let server = crate::track::server();
    let sb = Sandbox::new();
    let proj = project(&sb, "proj", Some(&sb.path().join("remote")));
    git(&proj, &["remote", "add", "origin", GIT_URL]);
    let exp = format!("secrets-{}", std::process::id());
    let toml = std::fs::read_to_string(proj.join("vintner.toml"))
        .unwrap()
        .replace(
            "experiment = \"wine-quality\"",
            &format!("experiment = \"{exp}\""),
        )
        .replace(
            "model_name = \"wine-quality\"",
            &format!("model_name = \"{exp}\""),
        );
    std::fs::write(proj.join("vintner.toml"), toml).unwrap();
    git(&proj, &["commit", "-qam", "experiment"]);
    sb.vintner(&proj).arg("push").assert().success();
    let uri = server.url.replacen("http://", "http://alice:s3cret@", 1);
    let env = [("MLFLOW_TRACKING_URI", uri.as_str())];

    let t = ok_json(&run_clean(&sb, &proj, &env, &["train", "--json"]));
    assert_eq!(t["tracking_uri"], server.url.as_str(), "{t}");
    let run_id = t["run_id"].as_str().unwrap().to_string();
    git(&proj, &["add", "-A"]);
    git(&proj, &["commit", "-qm", "model"]);
    ok_json(&run_clean(
        &sb,
        &proj,
        &env,
        &["runs", "list", "--json", "--experiment", &exp],
    ));
    ok_json(&run_clean(
        &sb,
        &proj,
        &env,
        &["runs", "show", &run_id, "--json"],
    ));
    let infer = run_clean(&sb, &proj, &env, &["infer", "--run", &run_id]);
    assert!(
        infer.status.success(),
        "{}",
        String::from_utf8_lossy(&infer.stderr)
    );

    // What the server stored, read past vintner's printer: the clean repository URL.
    let cfg = vintner::track::rest::RestConfig::from_env(&server.url, &|_| None).unwrap();
    let tracker = vintner::track::rest::RestTracker::connect(cfg).unwrap();
    use vintner::track::Tracker as _;
    let run = tracker.get_run(&run_id).unwrap();
    let stored = serde_json::to_vec(&run).unwrap();
    assert_clean("the run stored on the server", &stored);
    let repo_url = run
        .data
        .tags
        .iter()
        .find(|t| t.key == "mlflow.source.git.repoURL")
        .map(|t| t.value.clone());
    assert_eq!(repo_url.as_deref(), Some(GIT_URL_CLEAN));
    assert_git_tracked_clean(&proj);
}
