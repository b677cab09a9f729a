//! What `remove`, `move`, `commit` and `freeze` share: naming a `.dvc` file on the command line
//! as DVC expects it, taking an output's entry out of its `.gitignore` as DVC does, and the
//! errors these verbs can end with that the rest of the data layer never meets.

use std::path::{Path, PathBuf};

use super::dvcfile::DvcFile;
use super::fsutil::{normalize, write_atomic};
use super::repo::Repo;
use super::{Error, gitignore};

/// Why one of these verbs refused a target.
#[derive(Debug, thiserror::Error)]
pub enum VerbError {
    #[error("`{}` is not a `.dvc` file", .path.display())]
    NotDvcFile {
        path: PathBuf,
        /// The `.dvc` file that tracks it, when there is one.
        tracked_by: Option<PathBuf>,
    },
    #[error("`{}` does not exist", .0.display())]
    NoDvcFile(PathBuf),
    #[error("`{}` has {outs} outputs; `{verb}` handles `.dvc` files with one output", .path.display())]
    ManyOuts {
        path: PathBuf,
        outs: usize,
        verb: &'static str,
    },
    #[error("Cannot move to `{}`: {why}", .to.display())]
    CannotMove { to: PathBuf, why: String },
    #[error("`{}` is not laid out as DVC writes it, so it cannot be changed in place without losing its other keys", .0.display())]
    NotEditable(PathBuf),
    #[error(transparent)]
    Data(#[from] Error),
}

impl VerbError {
    /// The fix to suggest to a person.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            VerbError::NotDvcFile {
                tracked_by: Some(dvc),
                ..
            } => format!("did you mean `{}`?", dvc.display()),
            VerbError::NotDvcFile { .. } => {
                "name the `.dvc` file that tracks it (`vintner add` writes `<output>.dvc`)".into()
            }
            VerbError::NoDvcFile(_) => "check the path of the `.dvc` file".into(),
            VerbError::ManyOuts { .. } => {
                "split the outputs into one `.dvc` file each, or use DVC for this file".into()
            }
            VerbError::CannotMove { .. } => {
                "pick a destination that is free and not inside another output".into()
            }
            VerbError::NotEditable(path) => format!(
                "rewrite `{}` in DVC's layout (`- md5: …` items under `outs:`) first",
                path.display()
            ),
            VerbError::Data(e) => return e.hint(),
        })
    }
}

/// Result alias for these verbs.
pub type Result<T, E = VerbError> = std::result::Result<T, E>;

/// The `.dvc` file `target` (relative to `cwd`) names, parsed. Like DVC, an output's path is
/// not accepted in its place: the error names the `.dvc` file that was meant.
pub fn dvc_file(repo: &Repo, target: &Path, cwd: &Path) -> Result<DvcFile> {
    let abs = normalize(&cwd.join(target));
    if !abs.starts_with(&repo.root) {
        return Err(Error::OutsideRepo {
            path: abs,
            root: repo.root.clone(),
        }
        .into());
    }
    if abs.extension().is_some_and(|x| x == "dvc") {
        if !abs.is_file() {
            return Err(VerbError::NoDvcFile(shown(repo, &abs)));
        }
        let file = DvcFile::load(&abs)?;
        let inside = super::paths::Inside::new(&repo.root);
        for out in &file.outs {
            inside
                .resolve(file.dir(), Path::new(&out.path))
                .map_err(|why| Error::UnsafePath {
                    file: inside.shown(&abs),
                    path: out.path.clone(),
                    why,
                })?;
        }
        return Ok(file);
    }
    let mut with_suffix = abs.clone().into_os_string();
    with_suffix.push(".dvc");
    let with_suffix = PathBuf::from(with_suffix);
    Err(VerbError::NotDvcFile {
        path: shown(repo, &abs),
        tracked_by: with_suffix.is_file().then(|| shown(repo, &with_suffix)),
    })
}

/// `path` relative to the repository root, for messages.
pub fn shown(repo: &Repo, path: &Path) -> PathBuf {
    super::fsutil::relative_to(path, &repo.root)
}

/// Takes `name`'s entry out of `<dir>/.gitignore` as DVC does: every line equal to the entry
/// (surrounding blanks aside) goes, the rest stays as it was, and a file left with no lines
/// is deleted. Returns whether the file changed.
pub fn unignore(dir: &Path, name: &str) -> super::Result<bool> {
    let path = dir.join(".gitignore");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("read", &path)(e)),
    };
    let entry = gitignore::entry_for(name);
    let kept: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| l.trim() != entry.trim())
        .collect();
    if kept.len() == text.split_inclusive('\n').count() {
        return Ok(false);
    }
    if kept.is_empty() {
        std::fs::remove_file(&path).map_err(Error::io("remove", &path))?;
    } else {
        write_atomic(&path, kept.concat().as_bytes())?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unignore_keeps_other_lines_and_drops_an_emptied_file() {
        let dir = tempfile::tempdir().unwrap();
        let gi = dir.path().join(".gitignore");
        std::fs::write(&gi, "# mine\n/a.txt\n/b\\[1\\].csv\n/a.txt\n").unwrap();
        assert!(unignore(dir.path(), "a.txt").unwrap());
        assert_eq!(
            std::fs::read_to_string(&gi).unwrap(),
            "# mine\n/b\\[1\\].csv\n"
        );
        assert!(!unignore(dir.path(), "zzz").unwrap());
        std::fs::write(&gi, "/only\n").unwrap();
        assert!(unignore(dir.path(), "only").unwrap());
        assert!(!gi.exists());
        assert!(!unignore(dir.path(), "only").unwrap());
    }
}
