//! The few git operations vintner needs, done by running `git` (as DVC does): finding the
//! work tree, `git init`, `git add`, and reading the commit/branch/origin for run lineage.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a git call failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("Failed to run `git`; is it installed and on PATH?")]
    Missing(#[source] std::io::Error),
    #[error(
        "`git {}` failed in `{}`: {}",
        crate::redact::Redacted(args),
        dir.display(),
        crate::redact::Redacted(stderr)
    )]
    Failed {
        args: String,
        dir: PathBuf,
        stderr: String,
    },
}

fn git<I, S>(dir: &Path, args: I) -> Result<String, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = Command::new("git")
        .args(&args)
        .current_dir(dir)
        .output()
        .map_err(GitError::Missing)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    } else {
        Err(GitError::Failed {
            args: args
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            dir: dir.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// The top of the git work tree containing `dir`, or `None` when `dir` is not in one.
pub fn toplevel(dir: &Path) -> Result<Option<PathBuf>, GitError> {
    match git(dir, ["rev-parse", "--show-toplevel"]) {
        Ok(top) => Ok(Some(PathBuf::from(top))),
        Err(GitError::Failed { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `git init` in `dir`.
pub fn init(dir: &Path) -> Result<(), GitError> {
    git(dir, ["init", "--quiet"]).map(drop)
}

/// Whether git tracks `path` (or, for a folder, anything in it).
pub fn is_tracked(dir: &Path, path: &Path) -> bool {
    git(
        dir,
        [OsStr::new("ls-files"), OsStr::new("--"), path.as_os_str()],
    )
    .map(|out| !out.is_empty())
    .unwrap_or(false)
}

/// `git add` of the given paths (relative to `dir` or absolute).
pub fn add<P: AsRef<Path>>(dir: &Path, paths: &[P]) -> Result<(), GitError> {
    if paths.is_empty() {
        return Ok(());
    }
    let mut args: Vec<&OsStr> = vec![OsStr::new("add"), OsStr::new("--")];
    args.extend(paths.iter().map(|p| p.as_ref().as_os_str()));
    git(dir, args).map(drop)
}

/// Where the code that produced a run came from, as MLflow records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// The `origin` URL without any user info (`https://user:token@host/…` is read as
    /// `https://host/…`, as MLflow records it), so it can go into a run tag.
    pub origin: Option<String>,
    /// Uncommitted changes to tracked files.
    pub dirty: bool,
}

/// Reads commit, branch, origin URL and dirtiness; fields stay empty outside a repository or
/// before the first commit.
pub fn lineage(dir: &Path) -> Lineage {
    std::thread::scope(|scope| {
        // Two git processes at once: the origin, and one status for commit, branch and changes.
        let origin = scope.spawn(|| {
            git(dir, ["remote", "get-url", "origin"])
                .ok()
                .map(|url| crate::redact::strip_credentials(&url).into_owned())
        });
        let status = git(
            dir,
            [
                "status",
                "--porcelain=v2",
                "--branch",
                "--untracked-files=no",
            ],
        )
        .ok();
        let Some(status) = status else {
            // An old git or no work tree: the commit alone, as `rev-parse` gives it.
            return Lineage {
                commit: git(dir, ["rev-parse", "HEAD"]).ok(),
                branch: git(dir, ["rev-parse", "--abbrev-ref", "HEAD"])
                    .ok()
                    .filter(|b| b != "HEAD"),
                origin: origin.join().ok().flatten(),
                dirty: false,
            };
        };
        let mut commit = None;
        let mut branch = None;
        let mut dirty = false;
        for line in status.lines() {
            if let Some(oid) = line.strip_prefix("# branch.oid ") {
                commit = Some(oid.to_string()).filter(|o| o != "(initial)");
            } else if let Some(head) = line.strip_prefix("# branch.head ") {
                branch = Some(head.to_string()).filter(|h| h != "(detached)");
            } else if !line.starts_with('#') && !line.is_empty() {
                dirty = true;
            }
        }
        Lineage {
            // A branch without a commit yet has no name to record, as `rev-parse` sees it.
            branch: branch.filter(|_| commit.is_some()),
            commit,
            origin: origin.join().ok().flatten(),
            dirty,
        }
    })
}

/// Every file path (relative to the top) in the tree of `rev`.
pub fn ls_tree(dir: &Path, rev: &str) -> Result<Vec<String>, GitError> {
    let out = git(dir, ["ls-tree", "-r", "-z", "--name-only", rev])?;
    Ok(out
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// The commits of every branch tip, every tag, and (`all_commits`) every commit reachable from
/// a ref, each once, in that order.
pub fn commits(
    dir: &Path,
    branches: bool,
    tags: bool,
    all_commits: bool,
) -> Result<Vec<String>, GitError> {
    let mut found: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |out: String| {
        for c in out.lines().map(str::trim).filter(|c| !c.is_empty()) {
            if seen.insert(c.to_string()) {
                found.push(c.to_string());
            }
        }
    };
    if branches {
        add(git(dir, ["rev-list", "--no-walk", "--branches"])?);
    }
    if tags {
        add(git(dir, ["rev-list", "--no-walk", "--tags"])?);
    }
    if all_commits {
        add(git(dir, ["rev-list", "--all"])?);
    }
    Ok(found)
}

/// The content of `path` (relative to the top) at `rev`.
pub fn show(dir: &Path, rev: &str, path: &str) -> Result<String, GitError> {
    git(dir, ["show", &format!("{rev}:{path}")])
}

/// The full commit id `rev` names.
pub fn rev_parse(dir: &Path, rev: &str) -> Result<String, GitError> {
    git(dir, ["rev-parse", "--verify", &format!("{rev}^{{commit}}")])
}

/// One entry of `git ls-tree -r -t -l`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// `/`-separated path from the top.
    pub path: String,
    pub is_dir: bool,
    /// Git's mode (`100755` for an executable file).
    pub mode: String,
    /// The size in bytes of the file (or of the folder's tree object).
    pub size: Option<u64>,
}

/// Every file and folder in the tree of `rev`, with modes and sizes.
pub fn ls_tree_long(dir: &Path, rev: &str) -> Result<Vec<TreeEntry>, GitError> {
    let out = git(dir, ["ls-tree", "-r", "-t", "-l", "-z", "--full-tree", rev])?;
    let mut entries = Vec::new();
    let mut trees: Vec<(usize, String)> = Vec::new();
    for line in out.split('\0') {
        let Some((meta, path)) = line.split_once('\t') else {
            continue;
        };
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [mode, kind, oid, size] = fields[..] else {
            continue;
        };
        if kind != "tree" && kind != "blob" {
            continue;
        }
        if kind == "tree" {
            trees.push((entries.len(), oid.to_string()));
        }
        entries.push(TreeEntry {
            path: path.to_string(),
            is_dir: kind == "tree",
            mode: mode.to_string(),
            size: size.parse().ok(),
        });
    }
    // Folders' sizes (their tree objects'), all in one question.
    if !trees.is_empty() {
        use std::io::Write;
        let mut child = Command::new("git")
            .args(["cat-file", "--batch-check=%(objectsize)"])
            .current_dir(dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(GitError::Missing)?;
        let ids: String = trees.iter().map(|(_, oid)| format!("{oid}\n")).collect();
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(ids.as_bytes()).map_err(GitError::Missing)?;
        }
        let out = child.wait_with_output().map_err(GitError::Missing)?;
        let text = String::from_utf8_lossy(&out.stdout);
        for ((i, _), size) in trees.iter().zip(text.lines()) {
            entries[*i].size = size.trim().parse().ok();
        }
    }
    Ok(entries)
}

/// The exact bytes of `path` (relative to the top) at `rev`.
pub fn show_bytes(dir: &Path, rev: &str, path: &str) -> Result<Vec<u8>, GitError> {
    let spec = format!("{rev}:{path}");
    let out = Command::new("git")
        .args(["cat-file", "blob", &spec])
        .current_dir(dir)
        .output()
        .map_err(GitError::Missing)?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(GitError::Failed {
            args: format!("cat-file blob {spec}"),
            dir: dir.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// `git config <key> <value>` in the repository at `dir`.
pub fn config_set(dir: &Path, key: &str, value: &str) -> Result<(), GitError> {
    git(dir, ["config", key, value]).map(drop)
}
