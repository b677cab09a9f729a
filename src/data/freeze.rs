//! `freeze` / `unfreeze`: the top-level `frozen: true` of a `.dvc` file, set and removed in place
//! exactly where `dvc freeze` puts it (the last line), keeping everything else byte for byte.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Error;
use super::add::LOCK_WAIT;
use super::fsutil::write_atomic;
use super::lock::RepoLock;
use super::repo::Repo;
use super::target::{self, Result};

/// What freezing or unfreezing did to one `.dvc` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frozen {
    /// The `.dvc` file, relative to the repository root.
    pub dvc_file: String,
    pub frozen: bool,
    /// False when it already was in that state.
    pub changed: bool,
}

/// Sets (`frozen`) or clears the `frozen` flag of each `.dvc` file `targets` names. Every
/// target is checked before any file is written.
pub fn set_frozen(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    frozen: bool,
) -> Result<Vec<Frozen>> {
    let _lock = RepoLock::acquire(&repo.dvc_dir, LOCK_WAIT)?;
    let mut edits = Vec::new();
    for t in targets {
        let file = target::dvc_file(repo, t, cwd)?;
        let old = std::fs::read_to_string(&file.path).map_err(Error::io("read", &file.path))?;
        let new = with_frozen(&old, frozen);
        edits.push((file.path, old, new));
    }
    let mut report = Vec::new();
    for (path, old, new) in edits {
        let changed = old != new;
        if changed {
            write_atomic(&path, new.as_bytes())?;
        }
        report.push(Frozen {
            dvc_file: target::shown(repo, &path).to_string_lossy().into_owned(),
            frozen,
            changed,
        });
    }
    Ok(report)
}

/// The text with its top-level `frozen:` line removed, and with `frozen` a `frozen: true` line
/// at the end (where DVC appends a new top-level key).
pub fn with_frozen(old: &str, frozen: bool) -> String {
    // A top-level `frozen:` key (nested ones are indented).
    let is_flag = |l: &str| {
        l.strip_prefix("frozen:")
            .is_some_and(|v| v.trim().is_empty() || v.starts_with([' ', '\t']))
    };
    let value = |l: &str| l.split('#').next().unwrap_or("").trim_end().to_string();
    if frozen
        && old
            .lines()
            .any(|l| is_flag(l) && value(l) == "frozen: true")
    {
        return old.to_string();
    }
    let mut text: String = old.split_inclusive('\n').filter(|l| !is_flag(l)).collect();
    if frozen {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("frozen: true\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_goes_last_and_comes_off_without_touching_the_rest() {
        let base = "# c\nouts:\n- md5: 60b725f10c9c85c70d97880dfe8191b3\n  size: 2\n  hash: md5\n  path: a\nmeta:\n  frozen: x\n";
        let frozen = with_frozen(base, true);
        assert_eq!(frozen, format!("{base}frozen: true\n"));
        assert_eq!(with_frozen(&frozen, true), frozen);
        assert_eq!(with_frozen(&frozen, false), base);
        assert_eq!(with_frozen(base, false), base);
        let was_false = format!("frozen: false\n{base}");
        assert_eq!(
            with_frozen(&was_false, true),
            format!("{base}frozen: true\n")
        );
    }
}
