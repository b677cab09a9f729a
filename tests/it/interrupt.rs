//! Ctrl-C (SIGINT) and SIGTERM in the middle of `train` and `reproduce`: the run is marked
//! KILLED with an end time (never left RUNNING), no staging folder stays behind, the workspace —
//! the previous model folder and its `.dvc` file — is exactly as it was, and the exit code is the
//! one a shell expects after the signal (130, 143).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::common::{Sandbox, git, snapshot};

/// A project on the red wine data, versioned and pushed, with a first model trained quickly
/// (`-P n_estimators=5`) and committed; its `vintner.toml` asks for enough trees that a plain
/// `vintner train` runs long enough to be interrupted.
fn project(sb: &Sandbox) -> PathBuf {
    let remote = sb.path().join("remote");
    let dir = crate::workflow::project_with(sb, "proj", Some(&remote), &|toml| {
        toml.replace("n_estimators = 30", "n_estimators = 1000")
    });
    let slow = std::fs::read_to_string(dir.join("vintner.toml")).unwrap();
    assert!(slow.contains("n_estimators = 1000") && slow.contains("winequality-red"));
    sb.vintner(&dir).arg("push").assert().success();
    sb.vintner(&dir)
        .args(["train", "-P", "n_estimators=5"])
        .assert()
        .success();
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "data and a first model"]);
    dir
}

/// Every file of the workspace but the tracking store (which the run is recorded in).
fn workspace(dir: &Path) -> Vec<(String, Vec<u8>)> {
    snapshot(dir, true)
        .into_iter()
        .filter(|(p, _)| p != "mlflow.db")
        .collect()
}

fn runs(sb: &Sandbox, dir: &Path) -> Vec<Value> {
    let out = sb
        .vintner(dir)
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["runs"].as_array().cloned().unwrap_or_default()
}

fn run_by_id(sb: &Sandbox, dir: &Path, id: &str) -> Value {
    runs(sb, dir)
        .into_iter()
        .find(|r| r["info"]["run_id"] == id)
        .unwrap_or_else(|| panic!("run {id} is not listed"))
}

/// A running `vintner` whose stderr is collected line by line.
struct Running {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Running {
    fn start(sb: &Sandbox, dir: &Path, args: &[&str]) -> Running {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
        sb.isolate_std(&mut cmd);
        let mut child = cmd
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Panics (with what it said) if the process has already ended: the test came too late.
    fn still_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            self.stderr.extend(self.lines.try_iter());
            panic!(
                "vintner ended ({status}) before it was interrupted:\n{}",
                self.stderr.join("\n")
            );
        }
    }

    /// Waits for a line of stderr containing `text`.
    fn wait_for_line(&mut self, text: &str) {
        loop {
            match self.lines.recv() {
                Ok(line) => {
                    let found = line.contains(text);
                    self.stderr.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => {
                    let status = self.child.wait().unwrap();
                    panic!(
                        "vintner ended ({status}) without printing `{text}`:\n{}",
                        self.stderr.join("\n")
                    );
                }
            }
        }
    }

    fn signal(&mut self, signal: i32) {
        self.still_running();
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// The exit code and everything printed on stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        self.stderr.extend(self.lines.iter());
        (status.code(), self.stderr.join("\n"))
    }
}

/// Waits until `train` has created its run in `mlflow.db` (polling the store, not the clock).
fn wait_for_new_run(sb: &Sandbox, dir: &Path, train: &mut Running, known: &[String]) -> String {
    loop {
        train.still_running();
        if let Some(r) = runs(sb, dir).into_iter().find(|r| {
            let id = r["info"]["run_id"].as_str().unwrap_or_default();
            !known.iter().any(|k| k == id)
        }) {
            return r["info"]["run_id"].as_str().unwrap().to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn staging_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join(".dvc/tmp"))
        .unwrap()
        .chain(std::fs::read_dir(dir.join("models")).unwrap())
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("vintner.tmp"))
        .collect()
}

/// Interrupts `train` with `signal` once its run exists; checks the run, the workspace and the
/// exit code, and returns the killed run's id.
fn interrupted_train(sb: &Sandbox, dir: &Path, signal: i32, code: i32) -> String {
    let before = workspace(dir);
    assert!(before.iter().any(|(p, _)| p == "models/wine-quality.dvc"));
    let known: Vec<String> = runs(sb, dir)
        .iter()
        .map(|r| r["info"]["run_id"].as_str().unwrap().to_string())
        .collect();
    let mut train = Running::start(sb, dir, &["train"]);
    let run_id = wait_for_new_run(sb, dir, &mut train, &known);
    train.signal(signal);
    let (exit, stderr) = train.finish();
    assert_eq!(exit, Some(code), "{stderr}");
    assert!(
        stderr.contains("error: Training stopped: Interrupted by"),
        "{stderr}"
    );

    let run = run_by_id(sb, dir, &run_id);
    assert_eq!(run["info"]["status"], "KILLED", "{run}");
    assert!(run["info"]["end_time"].as_i64().is_some(), "{run}");
    assert!(
        staging_leftovers(dir).is_empty(),
        "{:?}",
        staging_leftovers(dir)
    );
    assert_eq!(workspace(dir), before, "the workspace changed");
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
    run_id
}

/// Interrupts `reproduce` of `run_id` once it is working (it says so at debug level).
fn interrupted_reproduce(sb: &Sandbox, dir: &Path, run_id: &str, signal: i32, code: i32) {
    let before = workspace(dir);
    let recorded = run_by_id(sb, dir, run_id);
    let mut rep = Running::start(sb, dir, &["reproduce", run_id, "-v"]);
    rep.wait_for_line("now stop the work cleanly");
    rep.signal(signal);
    let (exit, stderr) = rep.finish();
    assert_eq!(exit, Some(code), "{stderr}");
    assert!(stderr.contains("stopped: Interrupted by"), "{stderr}");
    assert_eq!(run_by_id(sb, dir, run_id), recorded, "the run changed");
    assert!(
        staging_leftovers(dir).is_empty(),
        "{:?}",
        staging_leftovers(dir)
    );
    assert_eq!(workspace(dir), before, "the workspace changed");
}

#[test]
fn ctrl_c_during_train_marks_the_run_killed_and_leaves_the_workspace() {
    let sb = Sandbox::new();
    let dir = project(&sb);
    let killed = interrupted_train(&sb, &dir, libc::SIGINT, 130);
    // The killed run records its parameters and data, so it can be retrained: interrupted too.
    interrupted_reproduce(&sb, &dir, &killed, libc::SIGINT, 130);
}

#[test]
fn sigterm_during_train_marks_the_run_killed_and_leaves_the_workspace() {
    let sb = Sandbox::new();
    let dir = project(&sb);
    let killed = interrupted_train(&sb, &dir, libc::SIGTERM, 143);
    interrupted_reproduce(&sb, &dir, &killed, libc::SIGTERM, 143);
}
