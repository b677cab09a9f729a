//! `unprotect`: with `cache.type` hardlink or symlink, workspace files are read-only links into
//! the cache, and editing one in place would corrupt the cache. Unprotecting replaces each link
//! by a writable copy of its own (a whole copy renamed over the link, so a reader never sees a
//! partial file), as `dvc unprotect` does.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::fsutil::{temp_path, umask};
use super::{Error, Result};

/// What unprotecting one target did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Unprotected {
    /// Files that were links and are now copies.
    pub copied: usize,
    /// Files that were already copies and were only made writable.
    pub made_writable: usize,
}

/// Unprotects the file or every file below the folder at `path` (tracked or not, as DVC).
pub fn unprotect(path: &Path) -> Result<Unprotected> {
    if std::fs::metadata(path).is_err() {
        return Err(Error::Missing(path.to_path_buf()));
    }
    let mut report = Unprotected::default();
    for file in files(path)? {
        if unprotect_file(&file)? {
            report.copied += 1;
        } else {
            report.made_writable += 1;
        }
    }
    Ok(report)
}

/// The files to unprotect: `path` itself, or every file (or link to a file) below the folder.
fn files(path: &Path) -> Result<Vec<PathBuf>> {
    if !std::fs::metadata(path)
        .map_err(Error::io("stat", path))?
        .is_dir()
    {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let at = e.path().unwrap_or(path).to_path_buf();
            Error::io("read folder", at)(e.into())
        })?;
        let ft = entry.file_type();
        if ft.is_file() || (ft.is_symlink() && entry.path().is_file()) {
            out.push(entry.into_path());
        }
    }
    Ok(out)
}

/// Makes one file a writable file of its own; `true` when it was a link and was copied.
/// Execute bits are kept (DVC drops them; an executable output stays executable here).
fn unprotect_file(path: &Path) -> Result<bool> {
    let link = std::fs::symlink_metadata(path).map_err(Error::io("stat", path))?;
    let meta = std::fs::metadata(path).map_err(Error::io("stat", path))?;
    let exec = meta.permissions().mode() & 0o111;
    let mode = (0o666 & !umask()) | exec;
    if !link.file_type().is_symlink() && meta.nlink() <= 1 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(Error::io("set permissions of", path))?;
        return Ok(false);
    }
    let tmp = temp_path(path);
    let copied = (|| -> std::io::Result<()> {
        let mut input = std::fs::File::open(path)?;
        let mut output = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        std::io::copy(&mut input, &mut output)?;
        output.flush()?;
        output.sync_data()?;
        output.set_permissions(std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("make a writable copy of", path)(e));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_become_writable_copies_and_the_target_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let cached = dir.path().join("cached");
        std::fs::write(&cached, b"data").unwrap();
        std::fs::set_permissions(&cached, std::fs::Permissions::from_mode(0o444)).unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(ws.join("sub")).unwrap();
        std::fs::hard_link(&cached, ws.join("hard")).unwrap();
        std::os::unix::fs::symlink(&cached, ws.join("sub/soft")).unwrap();
        std::fs::write(ws.join("plain"), b"p").unwrap();
        std::fs::set_permissions(ws.join("plain"), std::fs::Permissions::from_mode(0o444)).unwrap();

        let report = unprotect(&ws).unwrap();
        assert_eq!(
            report,
            Unprotected {
                copied: 2,
                made_writable: 1
            }
        );
        for f in ["hard", "sub/soft", "plain"] {
            let p = ws.join(f);
            let m = std::fs::symlink_metadata(&p).unwrap();
            assert!(m.is_file() && m.nlink() == 1, "{f}");
            assert_ne!(m.permissions().mode() & 0o200, 0, "{f} is writable");
        }
        std::fs::write(ws.join("hard"), b"edited").unwrap();
        assert_eq!(std::fs::read(&cached).unwrap(), b"data");
        assert_eq!(std::fs::read(ws.join("sub/soft")).unwrap(), b"data");
        assert_eq!(
            std::fs::metadata(&cached).unwrap().permissions().mode() & 0o777,
            0o444
        );
        assert!(matches!(
            unprotect(&dir.path().join("nope")),
            Err(Error::Missing(_))
        ));
    }
}
