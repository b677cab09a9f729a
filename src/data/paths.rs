//! The one containment check for paths that come from a repository (`.dvc` outs, `dvc.lock`
//! outs, `.dir` members' folders, `vintner.toml` paths): a cloned repository is someone else's
//! data, so every path it names must resolve inside it before anything is read for writing or
//! written. Pure path logic plus `lstat`/`realpath`; knows nothing of the formats that name
//! the paths.

use std::path::{Component, Path, PathBuf};

use super::fsutil::normalize;

/// Why a path named by a repository file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Escape {
    #[error("is absolute; only paths relative to the repository are allowed")]
    Absolute,
    #[error("leads outside the repository")]
    Outside,
    #[error("is the repository itself")]
    Root,
    #[error("is inside `{0}/`, a folder only git or DVC may write")]
    Internal(String),
    #[error("would overwrite a DVC file")]
    DvcFile,
    #[error("goes through the symlink `{0}`, which leads outside the repository")]
    SymlinkOut(String),
}

/// Folder names whose insides belong to git, Mercurial or DVC: DVC ignores them always, so it
/// never reads or writes an output there.
const INTERNAL: [&str; 3] = [".git", ".dvc", ".hg"];

/// Checks paths against one repository root (its real path is looked up once).
#[derive(Debug, Clone)]
pub struct Inside {
    root: PathBuf,
    /// `root` with its symlinks resolved; `None` until a symlink needs it.
    real_root: std::sync::OnceLock<Option<PathBuf>>,
}

impl Inside {
    /// A checker for the repository at `root` (absolute and normalised, as [`super::Repo`]
    /// holds it).
    pub fn new(root: &Path) -> Inside {
        Inside {
            root: root.to_path_buf(),
            real_root: std::sync::OnceLock::new(),
        }
    }

    /// How to show `path` in a message: relative to the root when it is inside.
    pub fn shown(&self, path: &Path) -> PathBuf {
        super::fsutil::relative_to(path, &self.root)
    }

    /// Resolves `rel`, written in a file of folder `base`, to an absolute path inside the
    /// repository, or says why it is refused: absolute, `..` out of the repository, the
    /// repository itself, inside `.git/`, `.dvc/` or `.hg/`, a DVC file as the target, or a
    /// folder on the way that is a symlink leading outside.
    pub fn resolve(&self, base: &Path, rel: &Path) -> Result<PathBuf, Escape> {
        if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::Prefix(_))) {
            return Err(Escape::Absolute);
        }
        let abs = normalize(&base.join(rel));
        self.check_lexical(&abs)?;
        self.check_parents(&abs, false)?;
        Ok(abs)
    }

    /// The lexical rules of [`Inside::resolve`] for an absolute, normalised path.
    pub fn check_lexical(&self, abs: &Path) -> Result<(), Escape> {
        let rel = abs.strip_prefix(&self.root).map_err(|_| Escape::Outside)?;
        if rel.components().any(|c| c == Component::ParentDir) {
            return Err(Escape::Outside);
        }
        let parts: Vec<&std::ffi::OsStr> = rel.iter().collect();
        let Some((last, folders)) = parts.split_last() else {
            return Err(Escape::Root);
        };
        if let Some(name) = folders
            .iter()
            .chain(std::iter::once(last))
            .find(|n| INTERNAL.iter().any(|i| *n == i))
        {
            return Err(Escape::Internal(name.to_string_lossy().into_owned()));
        }
        // As DVC's `is_valid_filename`: an output never replaces a `.dvc` file or `dvc.yaml`.
        let last = last.to_string_lossy();
        if last.ends_with(".dvc") || last == "dvc.yaml" {
            return Err(Escape::DvcFile);
        }
        Ok(())
    }

    /// Refuses `abs` when a folder between the root and it (and `abs` itself with
    /// `including_self`, for a folder about to be written into) is a symlink whose target is
    /// outside the repository or inside one of its internal folders. Stops at the first part
    /// that does not exist: nothing below it can be a symlink yet.
    pub fn check_parents(&self, abs: &Path, including_self: bool) -> Result<(), Escape> {
        let Ok(rel) = abs.strip_prefix(&self.root) else {
            return Err(Escape::Outside);
        };
        let parts: Vec<Component> = rel.components().collect();
        let upto = if including_self {
            parts.len()
        } else {
            parts.len().saturating_sub(1)
        };
        let mut here = self.root.clone();
        for part in &parts[..upto] {
            here.push(part);
            match std::fs::symlink_metadata(&here) {
                Ok(m) if m.file_type().is_symlink() => self.check_link(&here)?,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// A symlink inside the repository is fine when it leads to a place inside it that is not
    /// internal.
    fn check_link(&self, link: &Path) -> Result<(), Escape> {
        let shown = || {
            link.strip_prefix(&self.root)
                .unwrap_or(link)
                .to_string_lossy()
                .into_owned()
        };
        let real_root = self
            .real_root
            .get_or_init(|| std::fs::canonicalize(&self.root).ok());
        let (Some(real_root), Ok(target)) = (real_root, std::fs::canonicalize(link)) else {
            // A dangling link or a loop: where it leads cannot be told, so it is not trusted.
            return Err(Escape::SymlinkOut(shown()));
        };
        match target.strip_prefix(real_root) {
            Ok(inner)
                if inner.as_os_str().is_empty()
                    || !inner.iter().any(|n| INTERNAL.iter().any(|i| n == *i)) =>
            {
                Ok(())
            }
            _ => Err(Escape::SymlinkOut(shown())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_escapes_are_refused() {
        let inside = Inside::new(Path::new("/r/repo"));
        let base = Path::new("/r/repo/sub");
        let ok = |rel: &str| inside.resolve(base, Path::new(rel));
        assert_eq!(ok("a.csv"), Ok(PathBuf::from("/r/repo/sub/a.csv")));
        assert_eq!(ok("../data/x"), Ok(PathBuf::from("/r/repo/data/x")));
        assert_eq!(ok("../../outside.txt"), Err(Escape::Outside));
        assert_eq!(ok("../../repo2/x"), Err(Escape::Outside));
        assert_eq!(ok("/etc/passwd"), Err(Escape::Absolute));
        assert_eq!(ok(".."), Err(Escape::Root));
        assert_eq!(
            ok("../.git/hooks/post-checkout"),
            Err(Escape::Internal(".git".into()))
        );
        assert_eq!(ok("../.dvc/config"), Err(Escape::Internal(".dvc".into())));
        assert_eq!(ok("vendor/.git"), Err(Escape::Internal(".git".into())));
        assert_eq!(ok("other.dvc"), Err(Escape::DvcFile));
        assert_eq!(ok("dvc.yaml"), Err(Escape::DvcFile));
        assert!(ok("dvc.lockish").is_ok());
    }

    #[test]
    fn symlinked_parents_must_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("real/deeper")).unwrap();
        std::fs::create_dir_all(root.join(".git/hooks")).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        let link = |name: &str, to: &Path| std::os::unix::fs::symlink(to, root.join(name)).unwrap();
        link("inner", &root.join("real"));
        link("out", &dir.path().join("elsewhere"));
        link("hooks", &root.join(".git/hooks"));
        link("dangling", &dir.path().join("nothing"));
        let inside = Inside::new(&root);
        assert!(inside.resolve(&root, Path::new("inner/deeper/x")).is_ok());
        assert!(inside.resolve(&root, Path::new("not-yet/x")).is_ok());
        for bad in ["out", "hooks", "dangling"] {
            assert_eq!(
                inside.resolve(&root, Path::new(&format!("{bad}/x"))),
                Err(Escape::SymlinkOut(bad.into())),
                "{bad}"
            );
        }
        // The output itself may be a link (DVC's symlink cache type) unless it is written into.
        assert!(inside.resolve(&root, Path::new("out")).is_ok());
        assert!(inside.check_parents(&root.join("out"), true).is_err());
    }
}
