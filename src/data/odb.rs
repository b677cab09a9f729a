//! Content-addressed object stores laid out as DVC lays out its cache and local remotes:
//! `files/md5/<2 hex>/<30 hex>[.dir]` for DVC 3 hashes, `<2 hex>/<30 hex>` for legacy ones.
//! Objects are written to a temporary name, verified, renamed into place and made 0444 — an
//! object at its final name is always whole and correct (DVC trusts 0444 objects unread).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::md5::Md5;

use super::fsutil::temp_path;
use super::hash::{self, HashKind};
use super::{Error, Result};

/// An object id: an md5 (with `.dir` for manifests) and how it was computed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid {
    pub md5: String,
    pub legacy: bool,
}

impl Oid {
    pub fn new(md5: impl Into<String>, kind: HashKind) -> Oid {
        Oid {
            md5: md5.into(),
            legacy: kind == HashKind::Md5Dos2Unix,
        }
    }

    pub fn kind(&self) -> HashKind {
        if self.legacy {
            HashKind::Md5Dos2Unix
        } else {
            HashKind::Md5
        }
    }

    pub fn is_dir(&self) -> bool {
        self.md5.ends_with(".dir")
    }

    /// The md5 without `.dir`.
    pub fn hex(&self) -> &str {
        self.md5.strip_suffix(".dir").unwrap_or(&self.md5)
    }

    /// `files/md5/ab/cdef…` (or `ab/cdef…` for legacy ids), `/`-separated.
    pub fn rel_path(&self) -> String {
        let (head, tail) = self.md5.split_at(2.min(self.md5.len()));
        if self.legacy {
            format!("{head}/{tail}")
        } else {
            format!("files/md5/{head}/{tail}")
        }
    }
}

impl std::fmt::Display for Oid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rel_path())
    }
}

/// A local object store: the cache, or a local remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Odb {
    pub root: PathBuf,
}

/// How a workspace file relates to its cache object (`cache.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    Reflink,
    Hardlink,
    Symlink,
    Copy,
}

impl LinkType {
    /// Parses DVC's `cache.type` list (`reflink,copy` by default).
    pub fn parse_list(s: &str) -> std::result::Result<Vec<LinkType>, String> {
        s.split(',')
            .map(|t| match t.trim() {
                "reflink" => Ok(LinkType::Reflink),
                "hardlink" => Ok(LinkType::Hardlink),
                "symlink" => Ok(LinkType::Symlink),
                "copy" => Ok(LinkType::Copy),
                other => Err(format!(
                    "unknown cache type `{other}` (reflink, hardlink, symlink or copy)"
                )),
            })
            .collect()
    }
}

/// Read-only file mode of stored objects.
pub const OBJECT_MODE: u32 = 0o444;

impl Odb {
    pub fn new(root: impl Into<PathBuf>) -> Odb {
        Odb { root: root.into() }
    }

    pub fn path(&self, oid: &Oid) -> PathBuf {
        self.root.join(oid.rel_path())
    }

    pub fn contains(&self, oid: &Oid) -> bool {
        self.path(oid).is_file()
    }

    /// The ids in `oids` that the store lacks. For many ids it lists the prefix folders (a few
    /// hundred `readdir`s) instead of one `stat` per object.
    pub fn missing<'a>(&self, oids: &'a [Oid]) -> Vec<&'a Oid> {
        if oids.len() < 256 {
            return oids.iter().filter(|o| !self.contains(o)).collect();
        }
        let mut listed: std::collections::HashMap<
            PathBuf,
            std::collections::HashSet<std::ffi::OsString>,
        > = std::collections::HashMap::new();
        oids.iter()
            .filter(|o| {
                let p = self.path(o);
                let (Some(dir), Some(name)) = (p.parent(), p.file_name()) else {
                    return true;
                };
                let names = listed.entry(dir.to_path_buf()).or_insert_with(|| {
                    std::fs::read_dir(dir)
                        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
                        .unwrap_or_default()
                });
                !names.contains(name)
            })
            .collect()
    }

    /// Stores a copy of `src` whose md5 the caller computed. The copy is re-hashed while it is
    /// written, so a file that changed meanwhile is refused instead of stored under a wrong id.
    pub fn add_file(&self, src: &Path, oid: &Oid) -> Result<()> {
        let dest = self.path(oid);
        if dest.is_file() {
            return Ok(());
        }
        let input = File::open(src).map_err(Error::io("open", src))?;
        self.store_stream(input, src, oid, &dest)
    }

    /// Stores in-memory bytes (manifests) under `oid`, verifying them.
    pub fn add_bytes(&self, bytes: &[u8], oid: &Oid) -> Result<()> {
        let dest = self.path(oid);
        if dest.is_file() {
            return Ok(());
        }
        self.store_stream(bytes, &dest.clone(), oid, &dest)
    }

    /// Copies from `input` into a temp file next to `dest` while hashing, checks the hash,
    /// renames into place and sets 0444. `origin` names the source in errors.
    pub fn store_stream(
        &self,
        mut input: impl Read,
        origin: &Path,
        oid: &Oid,
        dest: &Path,
    ) -> Result<()> {
        let mut pending = self.begin(oid, dest)?;
        let mut buf = vec![0u8; hash::CHUNK];
        loop {
            let n = read_full(&mut input, &mut buf).map_err(Error::io("read", origin))?;
            if n == 0 {
                break;
            }
            pending.write(&buf[..n])?;
            if n < buf.len() {
                break;
            }
        }
        pending.commit(&origin.display().to_string())
    }

    /// Starts writing object `oid` at `dest` (normally `self.path(oid)`): bytes go to a temp
    /// file and are hashed; [`Pending::commit`] verifies and renames. Dropping it cleans up.
    pub fn begin(&self, oid: &Oid, dest: &Path) -> Result<Pending> {
        let tmp = temp_path(dest);
        // Created read-only: the open descriptor can still write, and no chmod is needed later.
        let file = super::fsutil::create_new(&tmp, OBJECT_MODE)?;
        Ok(Pending {
            file: Some(file),
            hasher: Some(Hasher::new(oid.kind())),
            tmp,
            dest: dest.to_path_buf(),
            expected: oid.hex().to_string(),
        })
    }

    /// Writes a new object whose content is in memory and already hashed: a read-only temp
    /// file in the object's folder, renamed into place.
    fn write_object(&self, dest: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = temp_path(dest);
        let result = (|| -> Result<()> {
            let mut f = super::fsutil::create_new(&tmp, OBJECT_MODE)?;
            f.write_all(bytes).map_err(Error::io("write", &tmp))?;
            drop(f);
            std::fs::rename(&tmp, dest).map_err(Error::io("rename into", dest))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Copies `src` into the store while hashing it (one read), under the id it turns out to
    /// have. Returns the id and the number of bytes.
    pub fn ingest(&self, src: &Path) -> Result<(Oid, u64)> {
        /// Files up to this size are read whole, hashed, then written straight into place.
        const SMALL: u64 = 8 << 20;
        let mut input = File::open(src).map_err(Error::io("open", src))?;
        let len = input.metadata().map_err(Error::io("stat", src))?.len();
        if len <= SMALL {
            let mut bytes = Vec::with_capacity(len as usize);
            input
                .read_to_end(&mut bytes)
                .map_err(Error::io("read", src))?;
            let oid = Oid::new(hash::md5_bytes(&bytes), HashKind::Md5);
            let dest = self.path(&oid);
            if !dest.is_file() {
                self.write_object(&dest, &bytes)?;
            }
            return Ok((oid, bytes.len() as u64));
        }
        drop(input);
        let staging = self.root.join("files").join("md5");
        std::fs::create_dir_all(&staging).map_err(Error::io("create folder", &staging))?;
        let tmp = temp_path(&staging.join("ingest"));
        let result = (|| -> Result<(Oid, u64)> {
            let mut input = File::open(src).map_err(Error::io("open", src))?;
            let mut out = File::create(&tmp).map_err(Error::io("create", &tmp))?;
            let mut hasher = Md5::new();
            let mut total = 0u64;
            // Hashing and writing overlap: this thread reads and hashes, a second one writes
            // the chunks it is handed (a few MiB in flight at most).
            let (to_writer, chunks) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
            let (write_result, read_result) = std::thread::scope(|scope| {
                let writer = scope.spawn(move || -> std::io::Result<()> {
                    for chunk in chunks {
                        out.write_all(&chunk)?;
                    }
                    Ok(())
                });
                let read_result = (|| -> Result<()> {
                    loop {
                        let mut buf = vec![0u8; hash::CHUNK];
                        let n = read_full(&mut input, &mut buf).map_err(Error::io("read", src))?;
                        if n == 0 {
                            return Ok(());
                        }
                        buf.truncate(n);
                        hasher.update(&buf);
                        total += n as u64;
                        if to_writer.send(buf).is_err() {
                            return Ok(()); // the writer failed; its error is reported below
                        }
                        if n < hash::CHUNK {
                            return Ok(());
                        }
                    }
                })();
                drop(to_writer);
                let write_result = writer
                    .join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("the writer thread panicked")));
                (write_result, read_result)
            });
            read_result?;
            write_result.map_err(Error::io("write", &tmp))?;
            let oid = Oid::new(hasher.finish_hex(), HashKind::Md5);
            let dest = self.path(&oid);
            if dest.is_file() {
                let _ = std::fs::remove_file(&tmp);
                return Ok((oid, total));
            }
            set_mode(&tmp, OBJECT_MODE)?;
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
            }
            std::fs::rename(&tmp, &dest).map_err(Error::io("rename into", &dest))?;
            Ok((oid, total))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Re-hashes a stored object; `Ok(false)` when its content does not match its id.
    pub fn verify(&self, oid: &Oid) -> Result<bool> {
        let p = self.path(oid);
        let found = hash::md5_file(&p, oid.kind(), &|_| {})?;
        Ok(found == oid.hex())
    }

    /// Reads a `.dir` manifest from the store.
    pub fn read_manifest(&self, oid: &Oid) -> Result<Vec<super::manifest::Entry>> {
        let p = self.path(oid);
        let bytes = std::fs::read(&p).map_err(Error::io("read", &p))?;
        super::manifest::parse(&bytes).map_err(|e| Error::BadManifest {
            oid: oid.rel_path(),
            location: self.root.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Puts a copy of object `oid` at `dest` with the first link type that works; the
    /// workspace file is written under a temporary name and renamed over `dest`.
    pub fn checkout_file(
        &self,
        oid: &Oid,
        dest: &Path,
        links: &[LinkType],
        isexec: bool,
    ) -> Result<()> {
        let src = self.path(oid);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
        }
        let tmp = temp_path(dest);
        let mut last_err = None;
        for link in links {
            let _ = std::fs::remove_file(&tmp);
            let attempt = match link {
                LinkType::Reflink => {
                    reflink(&src, &tmp).and_then(|_| set_mode(&tmp, file_mode(isexec)))
                }
                LinkType::Copy => std::fs::copy(&src, &tmp)
                    .map_err(Error::io("copy", &src))
                    .and_then(|_| set_mode(&tmp, file_mode(isexec))),
                LinkType::Hardlink => {
                    std::fs::hard_link(&src, &tmp).map_err(Error::io("hardlink", &src))
                }
                LinkType::Symlink => {
                    std::os::unix::fs::symlink(&src, &tmp).map_err(Error::io("symlink", &src))
                }
            };
            match attempt {
                Ok(()) => {
                    return std::fs::rename(&tmp, dest).map_err(|e| {
                        let _ = std::fs::remove_file(&tmp);
                        Error::io("write", dest)(e)
                    });
                }
                Err(e) => last_err = Some(e),
            }
        }
        let _ = std::fs::remove_file(&tmp);
        Err(last_err.unwrap_or(Error::NoLinkType))
    }
}

/// 0644 (or 0744 for executables) minus the process umask, as a fresh file would get.
fn file_mode(isexec: bool) -> u32 {
    // DVC adds only the owner's execute bit (S_IEXEC).
    let base = if isexec { 0o744 } else { 0o644 };
    base & !umask()
}

fn umask() -> u32 {
    // SAFETY: umask only swaps a process-wide integer; it is set straight back.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(Error::io("set permissions of", path))
}

/// A copy-on-write clone (`FICLONE`); fails on filesystems without reflinks.
fn reflink(src: &Path, dest: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        const FICLONE: libc::c_ulong = 0x4004_9409;
        let s = File::open(src).map_err(Error::io("open", src))?;
        let d = File::create(dest).map_err(Error::io("create", dest))?;
        // SAFETY: both descriptors are open for the duration of the call.
        let rc = unsafe { libc::ioctl(d.as_raw_fd(), FICLONE as _, s.as_raw_fd()) };
        if rc == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        drop(d);
        let _ = std::fs::remove_file(dest);
        Err(Error::io("reflink", src)(err))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dest;
        Err(Error::io("reflink", src)(std::io::Error::from(
            std::io::ErrorKind::Unsupported,
        )))
    }
}

fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// An object being written: a temp file plus a running hash. Removed on drop unless committed.
pub struct Pending {
    file: Option<File>,
    hasher: Option<Hasher>,
    tmp: PathBuf,
    dest: PathBuf,
    expected: String,
}

impl Pending {
    /// Appends a chunk (feed 1 MiB chunks for the legacy hash to match DVC's).
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if let Some(h) = self.hasher.as_mut() {
            h.update(chunk);
        }
        match self.file.as_mut() {
            Some(f) => f.write_all(chunk).map_err(Error::io("write", &self.tmp)),
            None => Ok(()),
        }
    }

    /// Verifies the hash against the id and renames the object into place (0444). `origin`
    /// names the source in a mismatch error.
    pub fn commit(mut self, origin: &str) -> Result<()> {
        drop(self.file.take());
        let found = self.hasher.take().map(Hasher::finish).unwrap_or_default();
        if found != self.expected {
            return Err(Error::HashMismatch {
                what: origin.to_string(),
                expected: self.expected.clone(),
                found,
            });
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(Error::io("rename into", &self.dest))?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Incremental md5 of either kind, fed in DVC's 1 MiB chunks.
pub struct Hasher {
    md5: Md5,
    kind: HashKind,
}

impl Hasher {
    pub fn new(kind: HashKind) -> Hasher {
        Hasher {
            md5: Md5::new(),
            kind,
        }
    }

    /// Feeds one chunk (chunk boundaries matter for the legacy dos2unix hash).
    pub fn update(&mut self, chunk: &[u8]) {
        match self.kind {
            HashKind::Md5 => self.md5.update(chunk),
            HashKind::Md5Dos2Unix => self.md5.update(hash::dos2unix_chunk(chunk).as_ref()),
        }
    }

    pub fn finish(self) -> String {
        self.md5.finish_hex()
    }
}

impl Odb {
    /// Writes a read-only copy of object `oid` (a file, or a folder from its manifest) at
    /// `dest`, through a temporary sibling renamed into place. Every object must be in the store.
    pub fn materialize(&self, oid: &Oid, dest: &Path) -> Result<()> {
        let tmp = temp_path(dest);
        let result = (|| -> Result<()> {
            if oid.is_dir() {
                std::fs::create_dir_all(&tmp).map_err(Error::io("create folder", &tmp))?;
                for e in self.read_manifest(oid)? {
                    let member = Oid::new(e.md5, oid.kind());
                    self.checkout_file(&member, &tmp.join(&e.relpath), &[LinkType::Copy], false)?;
                }
            } else {
                self.checkout_file(oid, &tmp, &[LinkType::Copy], false)?;
            }
            if dest.exists() {
                let _ = std::fs::remove_dir_all(dest);
            }
            std::fs::rename(&tmp, dest).map_err(Error::io("rename into", dest))
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_dvc() {
        let oid = Oid::new("822cc15c8c63a3c432a2b77e8dcaf782", HashKind::Md5);
        assert_eq!(
            oid.rel_path(),
            "files/md5/82/2cc15c8c63a3c432a2b77e8dcaf782"
        );
        let dir = Oid::new("eb23ad1f5bab90a23ae69a10e66c7285.dir", HashKind::Md5);
        assert_eq!(
            dir.rel_path(),
            "files/md5/eb/23ad1f5bab90a23ae69a10e66c7285.dir"
        );
        let legacy = Oid::new("dd8c6a395b5dd36c56d23275028f526c", HashKind::Md5Dos2Unix);
        assert_eq!(legacy.rel_path(), "dd/8c6a395b5dd36c56d23275028f526c");
    }

    #[test]
    fn stored_objects_are_verified_and_read_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let odb = Odb::new(dir.path().join("cache"));
        let src = dir.path().join("f");
        std::fs::write(&src, b"hello\n").unwrap();
        let good = Oid::new(hash::md5_bytes(b"hello\n"), HashKind::Md5);
        odb.add_file(&src, &good).unwrap();
        let mode = std::fs::metadata(odb.path(&good))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o444);
        let wrong = Oid::new("0".repeat(32), HashKind::Md5);
        let err = odb.add_file(&src, &wrong).unwrap_err();
        assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
        assert!(!odb.contains(&wrong));
        // No temporary file is left behind.
        let leftovers: Vec<_> = walkdir::WalkDir::new(&odb.root)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
