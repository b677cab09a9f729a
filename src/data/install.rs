//! `install`: the git hooks and merge driver `dvc install` sets up — `post-checkout`,
//! `pre-commit` and `pre-push` scripts running `dvc git-hook <name>`, and `merge.dvc.*` in the
//! repository's git config — written byte for byte as DVC writes them, so that a team mixing
//! both tools gets the same hooks whichever one installed them.

use std::path::PathBuf;

use super::Error;
use super::repo::Repo;
use crate::git;

/// The hooks DVC installs, in its order.
pub const HOOKS: [&str; 3] = ["post-checkout", "pre-commit", "pre-push"];

/// Why the hooks were not installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("`{}` is not in a git repository", .0.display())]
    NoGit(PathBuf),
    #[error("Hook '{name}' already exists (`{}`)", .path.display())]
    HookExists { name: &'static str, path: PathBuf },
    #[error(transparent)]
    Data(#[from] Error),
}

impl InstallError {
    /// The fix to suggest to a person.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            InstallError::NoGit(_) => "run `git init` first".into(),
            InstallError::HookExists { path, .. } => format!(
                "move `{}` aside (or merge it by hand with the line `exec dvc git-hook …`), then \
                 run it again",
                path.display()
            ),
            InstallError::Data(e) => return e.hint(),
        })
    }
}

/// Installs the merge driver, then the hooks (none is written if any exists, as DVC).
/// Returns the hooks written.
pub fn install(repo: &Repo) -> std::result::Result<Vec<PathBuf>, InstallError> {
    let top = git::toplevel(&repo.root)
        .map_err(Error::from)?
        .ok_or_else(|| InstallError::NoGit(repo.root.clone()))?;
    git::config_set(&top, "merge.dvc.name", "DVC merge driver").map_err(Error::from)?;
    git::config_set(
        &top,
        "merge.dvc.driver",
        "dvc git-hook merge-driver --ancestor %O --our %A --their %B ",
    )
    .map_err(Error::from)?;
    let hooks_dir = top.join(".git").join("hooks");
    for name in HOOKS {
        let path = hooks_dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok() {
            return Err(InstallError::HookExists { name, path });
        }
    }
    std::fs::create_dir_all(&hooks_dir).map_err(Error::io("create folder", &hooks_dir))?;
    let shell = which("sh").unwrap_or_else(|| "/bin/sh".into());
    let mut written = Vec::new();
    for name in HOOKS {
        let path = hooks_dir.join(name);
        let script = format!("#!{shell}\nexec dvc git-hook {name} $@\n");
        super::fsutil::write_atomic(&path, script.as_bytes())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
            .map_err(Error::io("set permissions of", &path))?;
        written.push(path);
    }
    Ok(written)
}

/// The first executable `program` on `PATH`, as Python's `shutil.which` finds it.
fn which(program: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .map(|p: PathBuf| p.to_string_lossy().into_owned())
}
