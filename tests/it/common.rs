//! Shared helpers: a temporary workspace with an isolated HOME/XDG folders, and the `vintner`
//! command pointed at it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A temporary folder with its own HOME, so nothing a test does leaks into the real one.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("vintner-it-")
            .tempdir()
            .expect("create temp dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("create home");
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    /// A folder inside the sandbox, created.
    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(&p).expect("mkdir");
        p
    }

    /// `vintner` with the sandbox environment, run in `cwd`.
    pub fn vintner(&self, cwd: &Path) -> Command {
        let mut cmd = Command::cargo_bin("vintner").expect("vintner binary");
        self.isolate(&mut cmd);
        cmd.current_dir(cwd);
        cmd
    }

    /// Applies the sandbox environment to any command (also the peers').
    /// A developer's own ssh-agent is hidden: the SSH tests start their own.
    pub fn isolate(&self, cmd: &mut Command) {
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd.env_remove("MLFLOW_TRACKING_URI")
            .env_remove("RUST_LOG")
            .env_remove("SSH_AUTH_SOCK");
    }

    /// The same for a `std::process::Command` (for processes a test kills or runs in parallel).
    pub fn isolate_std(&self, cmd: &mut std::process::Command) {
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd.env_remove("MLFLOW_TRACKING_URI")
            .env_remove("RUST_LOG")
            .env_remove("SSH_AUTH_SOCK");
    }

    fn env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        let home = self.home();
        vec![
            ("HOME", home.clone().into()),
            ("XDG_DATA_HOME", home.join(".local/share").into()),
            ("XDG_CONFIG_HOME", home.join(".config").into()),
            ("XDG_CACHE_HOME", home.join(".cache").into()),
            ("GIT_AUTHOR_NAME", "vintner-test".into()),
            ("GIT_AUTHOR_EMAIL", "test@example.invalid".into()),
            ("GIT_COMMITTER_NAME", "vintner-test".into()),
            ("GIT_COMMITTER_EMAIL", "test@example.invalid".into()),
            ("NO_COLOR", "1".into()),
        ]
    }
}

/// Runs git in `dir` (with an author set) and returns its stdout; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Writes a file, creating its folder.
pub fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// A finished command's stderr as text.
pub fn stderr(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

/// Every file below `dir` (relative path → bytes), sorted; `.git` always and `.dvc` with
/// `skip_dvc` excluded.
pub fn snapshot(dir: &Path, skip_dvc: bool) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| {
            let n = e.file_name().to_string_lossy();
            !(n == ".git" || (skip_dvc && n == ".dvc"))
        })
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                read(e.path()),
            )
        })
        .collect();
    out.sort();
    out
}

/// Filters that make snapshots independent of the temporary folder.
pub fn path_filters(sandbox: &Sandbox) -> Vec<(String, String)> {
    let real = std::fs::canonicalize(sandbox.path()).unwrap_or_else(|_| sandbox.path().into());
    vec![
        (regex_escape(&real.to_string_lossy()), "[SANDBOX]".into()),
        (
            regex_escape(&sandbox.path().to_string_lossy()),
            "[SANDBOX]".into(),
        ),
        // The default remote's folder ends with a hash of the project's path.
        (r"(remotes/[^/\s]+)-[0-9a-f]{8}".into(), "$1-[HASH]".into()),
    ]
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
