//! The one way tests find the real peers (DVC, MLflow, moto): venvs under `$VINTNER_PEERS_DIR`,
//! else `~/.cache/vintner/peers`, as `tests/peers/install.sh` lays them out. A missing peer fails
//! the test with the command that installs it; there is no silent skip.

use std::path::PathBuf;

/// The folder holding one venv per peer.
pub fn peers_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VINTNER_PEERS_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
        });
    cache.join("vintner").join("peers")
}

/// The executable `program` of peer venv `peer` (e.g. `("dvc", "dvc")`), or a panic that says
/// how to install it.
pub fn bin(peer: &str, program: &str) -> PathBuf {
    let path = peers_dir().join(peer).join("bin").join(program);
    assert!(
        path.is_file(),
        "the real `{program}` is not installed at {}; run `bash tests/peers/install.sh` \
         (or set VINTNER_PEERS_DIR to where the peer venvs are)",
        path.display()
    );
    path
}

/// `dvc` from its venv, with analytics off and its site cache inside the sandbox.
pub fn dvc(sandbox: &crate::common::Sandbox, cwd: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(bin("dvc", "dvc"));
    sandbox.isolate(&mut cmd);
    cmd.current_dir(cwd)
        .env("DVC_NO_ANALYTICS", "1")
        .env("DVC_SITE_CACHE_DIR", sandbox.path().join("dvc-site-cache"));
    cmd
}
