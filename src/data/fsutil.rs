//! Small filesystem helpers the data layer relies on for safety: atomic writes (an unnamed file
//! linked into place, or a temp file in the destination folder + rename, as DVC does) and lexical
//! path normalisation.
//!
//! The unnamed-file path (`O_TMPFILE`, `linkat` by descriptor or through `/proc/self/fd`) is
//! Linux's and is compiled only there, and not with the `portable` feature, which builds the
//! temp-file-and-rename path every other Unix uses, so that it is tested on Linux too.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use super::{Error, Result};

/// A temporary file name next to `dest`, unique per process and call (`.<name>.<pid>.<n>.tmp`).
pub fn temp_path(dest: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let pid = *PID.get_or_init(std::process::id);
    let tmp = format!(".{name}.{pid}.{n}.vintner.tmp");
    dest.with_file_name(tmp)
}

/// Writes `bytes` to `path` through a temporary file and a rename, so that readers never see a
/// partial file. Creates the parent folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
    }
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write", path)(e));
    }
    Ok(())
}

/// Creates `path` exclusively with `mode` for writing, creating its folder only when missing
/// (one failed open instead of a `mkdir` per file).
pub fn create_new(path: &Path, mode: u32) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
    };
    match open() {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
            }
            open().map_err(Error::io("create", path))
        }
        Err(e) => Err(Error::io("create", path)(e)),
    }
}

/// A file being written that appears under its final name only when whole: an unnamed
/// `O_TMPFILE` inode in the destination folder, linked into place by [`NewFile::place`]
/// (one directory operation, and nothing left behind if the process dies), or — where the file
/// system has no `O_TMPFILE` — a temp sibling renamed into place. Dropped unplaced, it vanishes.
pub struct NewFile {
    file: Option<std::fs::File>,
    dest: PathBuf,
    /// The temp sibling when `O_TMPFILE` is not available.
    named: Option<PathBuf>,
}

/// Set once a file system refused `O_TMPFILE`, so later files go straight to a named temp file.
#[cfg(all(target_os = "linux", not(feature = "portable")))]
static NO_TMPFILE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl NewFile {
    /// Starts a file for `dest` with permission bits `mode` (minus the umask), creating the
    /// destination folder when it is missing.
    pub fn create(dest: &Path, mode: u32) -> Result<NewFile> {
        #[cfg(all(target_os = "linux", not(feature = "portable")))]
        if let Some(new) = NewFile::create_unnamed(dest, mode)? {
            return Ok(new);
        }
        let tmp = temp_path(dest);
        let file = create_new(&tmp, mode)?;
        Ok(NewFile {
            file: Some(file),
            dest: dest.to_path_buf(),
            named: Some(tmp),
        })
    }

    /// An unnamed `O_TMPFILE` inode in `dest`'s folder, or `None` where the file system (or a
    /// missing `/proc`) rules it out.
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    fn create_unnamed(dest: &Path, mode: u32) -> Result<Option<NewFile>> {
        use std::os::unix::fs::OpenOptionsExt;
        use std::sync::atomic::Ordering;
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // An unnamed file is named through `/proc/self/fd`; without `/proc`, use temp names.
        static PROC_FD: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let named_later = *PROC_FD.get_or_init(|| Path::new("/proc/self/fd").is_dir());
        if named_later && !NO_TMPFILE.load(Ordering::Relaxed) {
            let open = || {
                std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_TMPFILE)
                    .mode(mode)
                    .open(dir)
            };
            let opened = match open() {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir_all(dir).map_err(Error::io("create folder", dir))?;
                    open()
                }
                other => other,
            };
            match opened {
                Ok(file) => {
                    return Ok(Some(NewFile {
                        file: Some(file),
                        dest: dest.to_path_buf(),
                        named: None,
                    }));
                }
                // Kernels and file systems without O_TMPFILE answer one of these.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL | libc::ENOSYS)
                    ) =>
                {
                    NO_TMPFILE.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(Error::io("create a file in", dir)(e)),
            }
        }
        Ok(None)
    }

    /// Sets the mode exactly, whatever the umask took away at creation (for cache objects,
    /// which DVC trusts only when they are 0444). One `fchmod`, only when the umask interferes.
    pub fn exact_mode(&mut self, mode: u32) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if mode & umask() == 0 {
            return Ok(());
        }
        let dest = self.dest.clone();
        self.file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(Error::io("set permissions of", dest))
    }

    /// The open file, for writing.
    pub fn file(&mut self) -> &mut std::fs::File {
        self.file
            .as_mut()
            .expect("a NewFile has its file until placed")
    }

    /// The name errors should use for the file being written.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Decides the final name later (the id of an object is known only once it is hashed);
    /// `dest` must be on the same file system.
    pub fn retarget(&mut self, dest: &Path) {
        self.dest = dest.to_path_buf();
    }

    /// Gives the file its final name. When a file already has it: with `replace` it is replaced
    /// atomically; without, it is kept and `Ok(false)` returned. Without `replace` it is meant for
    /// content-addressed objects, where a file of that name holds the same bytes (on a file
    /// system without hard links, a name taken at the same moment by another process may be
    /// replaced by the same content).
    pub fn place(mut self, replace: bool) -> Result<bool> {
        let file = self.file.take().expect("placed once");
        let rename = |tmp: &Path, dest: &Path| match std::fs::rename(tmp, dest) {
            Ok(()) => Ok(true),
            Err(e) => {
                let _ = std::fs::remove_file(tmp);
                Err(Error::io("rename into", dest)(e))
            }
        };
        let kept = |dest: &Path| -> Result<bool> {
            // Only a file counts as the same content already there.
            match std::fs::symlink_metadata(dest) {
                Ok(m) if m.is_file() => Ok(false),
                _ => Err(Error::io("create", dest)(std::io::Error::from(
                    std::io::ErrorKind::AlreadyExists,
                ))),
            }
        };
        if let Some(tmp) = self.named.take() {
            drop(file);
            if replace {
                return rename(&tmp, &self.dest);
            }
            // A hard link never replaces what is there. Where there are no hard links (FAT, some
            // network file systems), a file already there is kept and otherwise the temp file
            // is renamed into place: the name is only ever given to the same content.
            let linked = std::fs::hard_link(&tmp, &self.dest);
            let exists = matches!(&linked, Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists);
            if linked.is_err() && !exists && std::fs::symlink_metadata(&self.dest).is_err() {
                return rename(&tmp, &self.dest);
            }
            let _ = std::fs::remove_file(&tmp);
            return match linked {
                Ok(()) => Ok(true),
                Err(_) => kept(&self.dest),
            };
        }
        #[cfg(all(target_os = "linux", not(feature = "portable")))]
        return match link_unnamed(&file, &self.dest) {
            Ok(()) => Ok(true),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                if !replace {
                    return kept(&self.dest);
                }
                let tmp = temp_path(&self.dest);
                link_unnamed(&file, &tmp)?;
                drop(file);
                rename(&tmp, &self.dest)
            }
            Err(e) => Err(e),
        };
        #[cfg(not(all(target_os = "linux", not(feature = "portable"))))]
        unreachable!("without O_TMPFILE every new file has a temp name")
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if let Some(tmp) = self.named.take() {
            drop(self.file.take());
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// The process umask (changing it to read it would race with other threads creating files); 022
/// when unknown. Linux tells it in `/proc/self/status`; elsewhere a probe file shows what it
/// takes away.
pub(crate) fn umask() -> u32 {
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        #[cfg(all(target_os = "linux", not(feature = "portable")))]
        let from_proc = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            });
        #[cfg(not(all(target_os = "linux", not(feature = "portable"))))]
        let from_proc = None;
        from_proc.or_else(umask_by_probe).unwrap_or(0o022)
    })
}

/// The umask as what it removes from a new file created with every permission bit, in the
/// temp folder; the probe file is removed at once.
fn umask_by_probe() -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let probe = temp_path(&std::env::temp_dir().join("umask-probe"));
    let file = create_new(&probe, 0o777).ok()?;
    let mode = file.metadata().map(|m| m.permissions().mode());
    drop(file);
    let _ = std::fs::remove_file(&probe);
    Some(0o777 & !mode.ok()?)
}

/// Set once `linkat(AT_EMPTY_PATH)` was refused where `/proc/self/fd` worked (kernels before
/// 6.10 allow it only with `CAP_DAC_READ_SEARCH`), so later files go straight to `/proc`.
#[cfg(all(target_os = "linux", not(feature = "portable")))]
static EMPTY_PATH_REFUSED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Gives an `O_TMPFILE` inode the name `dest`: by its descriptor (`AT_EMPTY_PATH`) where the
/// kernel allows it, else through `/proc/self/fd`, which needs no privilege.
#[cfg(all(target_os = "linux", not(feature = "portable")))]
fn link_unnamed(file: &std::fs::File, dest: &Path) -> Result<()> {
    use rustix::io::Errno;
    use std::sync::atomic::Ordering::Relaxed;
    let linked = if EMPTY_PATH_REFUSED.load(Relaxed) {
        link_unnamed_via(file, dest, false)
    } else {
        match link_unnamed_via(file, dest, true) {
            // Refused (older kernels say ENOENT, sandboxes may say anything), or `dest`'s
            // folder is missing: the path through `/proc` tells which. When that fails too,
            // the first error is the one to report unless it was the refusal itself.
            Err(first) if first != Errno::EXIST => match link_unnamed_via(file, dest, false) {
                Ok(()) => {
                    EMPTY_PATH_REFUSED.store(true, Relaxed);
                    Ok(())
                }
                Err(second) if matches!(first, Errno::NOENT | Errno::PERM) => Err(second),
                Err(_) => Err(first),
            },
            other => other,
        }
    };
    linked.map_err(|e| Error::io("create", dest)(e.into()))
}

/// [`link_unnamed`] one way: by the descriptor, or by its `/proc/self/fd` path.
#[cfg(all(target_os = "linux", not(feature = "portable")))]
fn link_unnamed_via(
    file: &std::fs::File,
    dest: &Path,
    by_descriptor: bool,
) -> rustix::io::Result<()> {
    use rustix::fs::{AtFlags, CWD, linkat};
    use std::os::fd::AsRawFd;
    if by_descriptor {
        linkat(file, "", CWD, dest, AtFlags::EMPTY_PATH)
    } else {
        let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
        linkat(CWD, proc.as_str(), CWD, dest, AtFlags::SYMLINK_FOLLOW)
    }
}

/// Removes `.` and resolves `..` lexically (no filesystem access, symlinks are not followed).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` relative to `base` when it is below it, else `path` itself.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of naming an unnamed file give it its bytes, and neither replaces a name.
    #[test]
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    fn unnamed_files_are_linked_by_descriptor_or_proc_path() {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        for by_descriptor in [true, false] {
            let mut file = match std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(rustix::fs::OFlags::TMPFILE.bits() as i32)
                .open(dir.path())
            {
                Ok(f) => f,
                Err(_) => return, // no O_TMPFILE here: NewFile uses named temp files
            };
            file.write_all(b"bytes").unwrap();
            let dest = dir.path().join(format!("f{by_descriptor}"));
            let linked = link_unnamed_via(&file, &dest, by_descriptor);
            if by_descriptor && linked == Err(rustix::io::Errno::NOENT) {
                continue; // a kernel before 6.10 without the capability: `/proc` is used
            }
            linked.unwrap();
            assert_eq!(std::fs::read(&dest).unwrap(), b"bytes");
            let again = link_unnamed_via(&file, &dest, by_descriptor).unwrap_err();
            assert_eq!(again, rustix::io::Errno::EXIST, "{again}");
        }
    }

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }

    #[test]
    fn new_files_appear_whole_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let names = |d: &Path| {
            let mut v: Vec<_> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let dest = dir.path().join("sub/obj");
        let mut f = NewFile::create(&dest, 0o444).unwrap();
        f.file().write_all(b"one").unwrap();
        assert!(!dest.exists(), "nothing under the final name before place");
        assert!(f.place(false).unwrap());
        assert_eq!(std::fs::read(&dest).unwrap(), b"one");
        // Without replace an existing file is kept; with replace it is swapped.
        let mut f = NewFile::create(&dest, 0o444).unwrap();
        f.file().write_all(b"two").unwrap();
        assert!(!f.place(false).unwrap());
        assert_eq!(std::fs::read(&dest).unwrap(), b"one");
        let mut f = NewFile::create(&dest, 0o644).unwrap();
        f.file().write_all(b"three").unwrap();
        assert!(f.place(true).unwrap());
        assert_eq!(std::fs::read(&dest).unwrap(), b"three");
        // A folder where the object should go is an error, not "already stored".
        std::fs::create_dir(dir.path().join("sub/taken")).unwrap();
        let mut f = NewFile::create(&dir.path().join("sub/taken"), 0o444).unwrap();
        f.file().write_all(b"x").unwrap();
        assert!(f.place(false).is_err());
        std::fs::remove_dir(dir.path().join("sub/taken")).unwrap();
        let mut f = NewFile::create(&dir.path().join("sub/dropped"), 0o644).unwrap();
        f.file().write_all(b"partial").unwrap();
        drop(f);
        assert_eq!(names(&dir.path().join("sub")), vec!["obj".to_string()]);
    }

    /// The portable path (the only one on other Unix systems) writes a temp sibling that
    /// becomes the file; Linux's leaves no name behind until the file is placed.
    #[test]
    fn new_files_are_temp_siblings_only_on_the_portable_path() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = NewFile::create(&dir.path().join("obj"), 0o644).unwrap();
        f.file().write_all(b"bytes").unwrap();
        let during: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        #[cfg(all(target_os = "linux", not(feature = "portable")))]
        let unnamed = !NO_TMPFILE.load(std::sync::atomic::Ordering::Relaxed);
        #[cfg(not(all(target_os = "linux", not(feature = "portable"))))]
        let unnamed = false;
        if unnamed {
            assert!(during.is_empty(), "{during:?}");
        } else {
            assert_eq!(during.len(), 1, "{during:?}");
            assert!(during[0].ends_with(".vintner.tmp"), "{during:?}");
        }
        assert!(f.place(false).unwrap());
        assert_eq!(std::fs::read(dir.path().join("obj")).unwrap(), b"bytes");
    }

    /// The probe finds the umask the kernel reports (the only way on other Unix systems).
    #[test]
    fn umask_probe_agrees_with_the_process_umask() {
        let probed = umask_by_probe().unwrap();
        #[cfg(target_os = "linux")]
        {
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let line = status.lines().find_map(|l| l.strip_prefix("Umask:"));
            let reported = u32::from_str_radix(line.unwrap().trim(), 8).unwrap();
            assert_eq!(probed, reported);
        }
        assert_eq!(umask(), probed);
    }

    #[test]
    fn write_atomic_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/f.txt");
        write_atomic(&p, b"hello").unwrap();
        write_atomic(&p, b"world").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"world");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.txt")]);
    }
}
