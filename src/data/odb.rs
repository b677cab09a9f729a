//! Content-addressed object stores laid out as DVC lays out its cache and local remotes:
//! `files/md5/<2 hex>/<30 hex>[.dir]` for DVC 3 hashes, `<2 hex>/<30 hex>` for legacy ones.
//! Objects are written read-only (0444) to an unnamed or temporary file, verified, then given
//! their final name — an object at its final name is always whole and correct (DVC trusts 0444
//! objects unread).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::md5::Md5;

use super::fsutil::{NewFile, temp_path};
use super::hash::{self, HashKind};
use super::{Error, Result};

/// An object id: an md5 (with `.dir` for manifests) and how it was computed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid {
    pub md5: String,
    pub legacy: bool,
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Oid {
    pub fn new(md5: impl Into<String>, kind: HashKind) -> Oid {
        Oid {
            md5: md5.into(),
            legacy: kind == HashKind::Md5Dos2Unix,
        }
    }

    /// The object stored as `<head>/<tail>` in a cache or remote layout (`head` two lowercase
    /// hex digits, `tail` thirty more, `.dir` for a folder manifest); `None` for anything else
    /// found there.
    pub fn from_layout(head: &str, tail: &str, kind: HashKind) -> Option<Oid> {
        let hex = tail.strip_suffix(".dir").unwrap_or(tail);
        (Oid::is_layout_folder(head) && hex.len() == 30 && is_lower_hex(hex))
            .then(|| Oid::new(format!("{head}{tail}"), kind))
    }

    /// Whether `name` is one of a layout's two-hex-digit folders (`00` … `ff`).
    pub fn is_layout_folder(name: &str) -> bool {
        name.len() == 2 && is_lower_hex(name)
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
    /// `cache.shared = group`: folders are made `rwxrwsr-x` (group-writable, new entries
    /// inheriting the group), as DVC makes them for a cache a team shares.
    shared: bool,
}

/// What a store holds, for many existence questions: either a listing taken once
/// ([`Odb::listing`], the DVC 3 objects as 128-bit md5s) or, for a few questions, the store
/// itself ([`Odb::unlisted`], one `stat` each). Legacy ids are never listed and always asked.
#[derive(Debug)]
pub struct Listing {
    odb: Odb,
    listed: Option<Listed>,
}

#[derive(Debug, Default)]
struct Listed {
    files: std::collections::HashSet<u128>,
    dirs: std::collections::HashSet<u128>,
}

impl Listing {
    /// Whether the store holds `oid` (held it when listed).
    pub fn has(&self, oid: &Oid) -> bool {
        let hex = oid.hex();
        let key = (!oid.legacy && hex.len() == 32)
            .then(|| md5_key(&hex[..2], &hex[2..]))
            .flatten();
        match (&self.listed, key) {
            (Some(l), Some(key)) if oid.is_dir() => l.dirs.contains(&key),
            (Some(l), Some(key)) => l.files.contains(&key),
            _ => self.odb.contains(oid),
        }
    }
}

/// An md5 written as hex (split as in the store's layout) as a number.
fn md5_key(head: &str, tail: &str) -> Option<u128> {
    let lower_hex = |t: &str| t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !lower_hex(head) || !lower_hex(tail) {
        return None;
    }
    let hi = u128::from(u8::from_str_radix(head, 16).ok()?);
    let lo = u128::from_str_radix(tail, 16).ok()?;
    Some((hi << 120) | lo)
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
        Odb {
            root: root.into(),
            shared: false,
        }
    }

    /// The same store, shared by a group (`cache.shared = group`) or not.
    pub fn shared(mut self, shared: bool) -> Odb {
        self.shared = shared;
        self
    }

    /// For a shared store, makes the folder of `dest` as DVC does: missing folders from the
    /// store's root down are created `rwxrwsr-x`, and the object's own folder is set so (a
    /// folder someone else owns keeps its mode, as DVC shrugs that off too).
    fn prepare_folder(&self, dest: &Path) -> Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        const SHARED_DIR_MODE: u32 = 0o2775;
        let Some(dir) = dest.parent().filter(|_| self.shared) else {
            return Ok(());
        };
        let mut missing: Vec<&Path> = dir
            .ancestors()
            .take_while(|a| a.starts_with(&self.root) && !a.is_dir())
            .collect();
        missing.reverse();
        for d in missing {
            match std::fs::DirBuilder::new().mode(SHARED_DIR_MODE).create(d) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("create folder", d)(e)),
            }
            // The umask took bits away, and `mkdir` ignores the setgid bit on some systems.
            let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(SHARED_DIR_MODE));
        }
        if let Ok(meta) = std::fs::metadata(dir)
            && meta.permissions().mode() & 0o7777 != SHARED_DIR_MODE
        {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(SHARED_DIR_MODE));
        }
        Ok(())
    }

    pub fn path(&self, oid: &Oid) -> PathBuf {
        self.root.join(oid.rel_path())
    }

    pub fn contains(&self, oid: &Oid) -> bool {
        self.path(oid).is_file()
    }

    /// The ids in `oids` that the store lacks. For many ids it lists the store (a few hundred
    /// `readdir`s) instead of one `stat` per object.
    pub fn missing<'a>(&self, oids: &'a [Oid]) -> Vec<&'a Oid> {
        let known = self.known_for(oids.len());
        oids.iter().filter(|o| !known.has(o)).collect()
    }

    /// A [`Listing`] for `questions` existence checks: the store asked per object for a few,
    /// listed once for many.
    pub fn known_for(&self, questions: usize) -> Listing {
        if questions < 256 {
            self.unlisted()
        } else {
            self.listing()
        }
    }

    /// A [`Listing`] that asks the store for each object (for a handful of questions).
    pub fn unlisted(&self) -> Listing {
        Listing {
            odb: self.clone(),
            listed: None,
        }
    }

    /// Lists the DVC 3 objects the store holds now: one `readdir` per prefix folder instead of a
    /// `stat` per object, for operations over thousands of files.
    pub fn listing(&self) -> Listing {
        let base = self.root.join("files").join("md5");
        let mut listed = Listed::default();
        for dir in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let prefix = dir.file_name();
            let Some(prefix) = prefix.to_str().filter(|p| p.len() == 2) else {
                continue;
            };
            for e in std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = e.file_name();
                let Some(name) = name.to_str() else { continue };
                let (hex, set) = match name.strip_suffix(".dir") {
                    Some(h) => (h, &mut listed.dirs),
                    None => (name, &mut listed.files),
                };
                if hex.len() == 30
                    && let Some(key) = md5_key(prefix, hex)
                {
                    set.insert(key);
                }
            }
        }
        Listing {
            odb: self.clone(),
            listed: Some(listed),
        }
    }

    /// Stores a copy of `src` whose md5 the caller computed. The copy is re-hashed while it is
    /// written, so a file that changed meanwhile is refused instead of stored under a wrong id.
    pub fn add_file(&self, src: &Path, oid: &Oid) -> Result<()> {
        let dest = self.path(oid);
        if dest.is_file() {
            return Ok(());
        }
        self.add_file_new(src, oid)
    }

    /// [`Odb::add_file`] for an object the caller knows the store lacks (no existence check;
    /// one that appears meanwhile is kept).
    pub fn add_file_new(&self, src: &Path, oid: &Oid) -> Result<()> {
        let input = File::open(src).map_err(Error::io("open", src))?;
        self.store_stream(input, src, oid, &self.path(oid))
    }

    /// Stores in-memory bytes (manifests) under `oid`, verifying them.
    pub fn add_bytes(&self, bytes: &[u8], oid: &Oid) -> Result<()> {
        let dest = self.path(oid);
        if dest.is_file() {
            return Ok(());
        }
        self.store_stream(bytes, &dest.clone(), oid, &dest)
    }

    /// Copies from `input` into a new object file while hashing, checks the hash and gives it
    /// its name `dest`. `origin` names the source in errors.
    pub fn store_stream(
        &self,
        mut input: impl Read,
        origin: &Path,
        oid: &Oid,
        dest: &Path,
    ) -> Result<()> {
        thread_local! {
            /// One read buffer per thread, reused: zeroing 1 MiB per small object would cost
            /// more than copying it.
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let mut pending = self.begin(oid, dest)?;
        BUF.with_borrow_mut(|buf| -> Result<()> {
            buf.resize(hash::CHUNK, 0);
            loop {
                let n = read_full(&mut input, buf).map_err(Error::io("read", origin))?;
                if n == 0 {
                    return Ok(());
                }
                pending.write(&buf[..n])?;
                if n < buf.len() {
                    return Ok(());
                }
            }
        })?;
        pending.commit(&origin.display().to_string())
    }

    /// Starts writing object `oid` at `dest` (normally `self.path(oid)`): bytes go to a new
    /// read-only file and are hashed; [`Pending::commit`] verifies and names it. Dropping it
    /// leaves nothing behind.
    pub fn begin(&self, oid: &Oid, dest: &Path) -> Result<Pending> {
        self.prepare_folder(dest)?;
        // Created read-only: the open descriptor can still write.
        let mut file = NewFile::create(dest, OBJECT_MODE)?;
        file.exact_mode(OBJECT_MODE)?;
        Ok(Pending {
            file: Some(file),
            hasher: Some(Hasher::new(oid.kind())),
            expected: oid.hex().to_string(),
        })
    }

    /// Writes a new object whose content is in memory and already hashed.
    fn write_object(&self, dest: &Path, bytes: &[u8]) -> Result<()> {
        self.prepare_folder(dest)?;
        let mut f = NewFile::create(dest, OBJECT_MODE)?;
        f.exact_mode(OBJECT_MODE)?;
        f.file()
            .write_all(bytes)
            .map_err(Error::io("write", dest))?;
        f.place(false).map(|_| ())
    }

    /// Copies `src` into the store while hashing it (one read), under the id it turns out to
    /// have. Returns the id and the number of bytes.
    /// `known` is a listing of the store, to skip objects it already has.
    /// `len` is the size the caller saw (a file that grew is still read whole).
    pub fn ingest(&self, src: &Path, len: u64, known: &Listing) -> Result<(Oid, u64)> {
        /// Files up to this size are read whole, hashed, then written straight into place.
        const SMALL: u64 = 8 << 20;
        let mut input = File::open(src).map_err(Error::io("open", src))?;
        if len <= SMALL {
            // One byte more than expected, so that a file that grew needs no size query.
            let mut bytes = vec![0u8; len as usize + 1];
            let n = read_full(&mut input, &mut bytes).map_err(Error::io("read", src))?;
            bytes.truncate(n);
            if n == len as usize + 1 {
                input
                    .read_to_end(&mut bytes)
                    .map_err(Error::io("read", src))?;
            }
            let oid = Oid::new(hash::md5_bytes(&bytes), HashKind::Md5);
            if !known.has(&oid) {
                self.write_object(&self.path(&oid), &bytes)?;
            }
            return Ok((oid, bytes.len() as u64));
        }
        drop(input);
        let staging = self.root.join("files").join("md5").join("ingest");
        self.prepare_folder(&staging)?;
        let mut out = NewFile::create(&staging, OBJECT_MODE)?;
        out.exact_mode(OBJECT_MODE)?;
        let mut input = File::open(src).map_err(Error::io("open", src))?;
        let mut hasher = Md5::new();
        let mut total = 0u64;
        let writing = out.file();
        // Hashing and writing overlap: this thread reads and hashes, a second one writes the
        // chunks it is handed (a few MiB in flight at most).
        let (to_writer, chunks) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (write_result, read_result) = std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> std::io::Result<()> {
                for chunk in chunks {
                    writing.write_all(&chunk)?;
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
        write_result.map_err(Error::io("write", &staging))?;
        let oid = Oid::new(hasher.finish_hex(), HashKind::Md5);
        let dest = self.path(&oid);
        self.prepare_folder(&dest)?;
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
        }
        out.retarget(&dest);
        out.place(false)?;
        Ok((oid, total))
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

    /// Puts a copy of object `oid` at `dest` with the first link type that works. The workspace
    /// file appears whole under its name (a new file linked or renamed into place). Returns the
    /// new file's metadata when it is a copy or a clone (for the state cache).
    pub fn checkout_file(
        &self,
        oid: &Oid,
        dest: &Path,
        links: &[LinkType],
        isexec: bool,
    ) -> Result<Option<std::fs::Metadata>> {
        use std::sync::atomic::Ordering;
        let src = self.path(oid);
        let mut last_err = None;
        // Reflink and copy share one new file: a failed clone leaves it empty for the copy.
        let mut new: Option<(File, NewFile)> = None;
        for (k, link) in links.iter().enumerate() {
            let attempt = match link {
                LinkType::Reflink | LinkType::Copy => {
                    let copy_follows = links[k + 1..].contains(&LinkType::Copy);
                    if *link == LinkType::Reflink
                        && copy_follows
                        && NO_REFLINK.load(Ordering::Relaxed)
                    {
                        continue;
                    }
                    if new.is_none() {
                        let input = File::open(&src).map_err(Error::io("open", &src))?;
                        // The mode minus the umask, as a fresh file gets (DVC adds only the
                        // owner's execute bit).
                        let mode = if isexec { 0o744 } else { 0o644 };
                        new = Some((input, NewFile::create(dest, mode)?));
                    }
                    let (input, out) = new.as_mut().expect("just created");
                    if *link == LinkType::Reflink {
                        reflink(input, out.file()).map_err(|e| {
                            if matches!(
                                e.raw_os_error(),
                                Some(libc::EOPNOTSUPP | libc::ENOTTY | libc::EINVAL | libc::EXDEV)
                            ) {
                                NO_REFLINK.store(true, Ordering::Relaxed);
                            }
                            Error::io("reflink", &src)(e)
                        })
                    } else {
                        copy_all(input, out.file()).map_err(Error::io("copy", &src))
                    }
                }
                LinkType::Hardlink | LinkType::Symlink => {
                    let tmp = temp_path(dest);
                    if let Some(parent) = dest.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(Error::io("create folder", parent))?;
                    }
                    let linked = if *link == LinkType::Hardlink {
                        std::fs::hard_link(&src, &tmp).map_err(Error::io("hardlink", &src))
                    } else {
                        std::os::unix::fs::symlink(&src, &tmp).map_err(Error::io("symlink", &src))
                    };
                    match linked {
                        Ok(()) => {
                            return match std::fs::rename(&tmp, dest) {
                                Ok(()) => Ok(None),
                                Err(e) => {
                                    let _ = std::fs::remove_file(&tmp);
                                    Err(Error::io("write", dest)(e))
                                }
                            };
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match attempt {
                Ok(()) => {
                    let (_, mut out) = new.take().expect("reflink and copy write the new file");
                    let meta = out.file().metadata().ok();
                    out.place(true)?;
                    return Ok(meta);
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or(Error::NoLinkType))
    }
}

/// Set once a clone failed as unsupported, so later files skip straight to the copy.
static NO_REFLINK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A copy-on-write clone (`FICLONE`) of `src` into `dest`; fails on file systems without
/// reflinks, and everywhere but Linux (or with the `portable` feature).
pub(crate) fn reflink(src: &File, dest: &File) -> std::io::Result<()> {
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    {
        rustix::fs::ioctl_ficlone(dest, src).map_err(std::io::Error::from)
    }
    #[cfg(not(all(target_os = "linux", not(feature = "portable"))))]
    {
        let _ = (src, dest);
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// Copies all of `src` into `dest` in the kernel (`copy_file_range`), falling back to a
/// read/write loop where that is unsupported.
#[cfg(all(target_os = "linux", not(feature = "portable")))]
fn copy_all(src: &mut File, dest: &mut File) -> std::io::Result<()> {
    // The size is known up front, so no extra call is needed to find the end, and a copy that
    // ends early is an error instead of a shorter file passing for the object.
    let want = src.metadata()?.len();
    let mut copied = 0u64;
    while copied < want {
        let left = usize::try_from(want - copied)
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        match rustix::fs::copy_file_range(&*src, None, &*dest, None, left) {
            Ok(0) => {
                return Err(std::io::Error::other(format!(
                    "copied {copied} of {want} bytes"
                )));
            }
            Ok(n) => copied += n as u64,
            Err(rustix::io::Errno::INTR) => {}
            Err(
                rustix::io::Errno::XDEV
                | rustix::io::Errno::NOSYS
                | rustix::io::Errno::OPNOTSUPP
                | rustix::io::Errno::INVAL,
            ) => {
                copied += std::io::copy(src, dest)?;
                if copied != want {
                    return Err(std::io::Error::other(format!(
                        "copied {copied} of {want} bytes"
                    )));
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Copies all of `src` into `dest` with `std::io::copy` (the standard library picks the
/// platform's fastest way); a copy that ends early is an error.
#[cfg(not(all(target_os = "linux", not(feature = "portable"))))]
fn copy_all(src: &mut File, dest: &mut File) -> std::io::Result<()> {
    let want = src.metadata()?.len();
    let copied = std::io::copy(src, dest)?;
    if copied != want {
        return Err(std::io::Error::other(format!(
            "copied {copied} of {want} bytes"
        )));
    }
    Ok(())
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

/// An object being written: a new file plus a running hash. Vanishes on drop unless committed.
pub struct Pending {
    file: Option<NewFile>,
    hasher: Option<Hasher>,
    expected: String,
}

impl Pending {
    /// Appends a chunk (feed 1 MiB chunks for the legacy hash to match DVC's).
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if let Some(h) = self.hasher.as_mut() {
            h.update(chunk);
        }
        match self.file.as_mut() {
            Some(f) => f
                .file()
                .write_all(chunk)
                .map_err(|e| Error::io("write", f.dest())(e)),
            None => Ok(()),
        }
    }

    /// Verifies the hash against the id and gives the object its name (0444). `origin` names
    /// the source in a mismatch error.
    pub fn commit(mut self, origin: &str) -> Result<()> {
        let found = self.hasher.take().map(Hasher::finish).unwrap_or_default();
        if found != self.expected {
            return Err(Error::HashMismatch {
                what: origin.to_string(),
                expected: self.expected.clone(),
                found,
            });
        }
        match self.file.take() {
            Some(f) => f.place(false).map(|_| ()),
            None => Ok(()),
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
    fn listing_knows_files_and_manifests_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let odb = Odb::new(dir.path());
        let file = Oid::new(hash::md5_bytes(b"x"), HashKind::Md5);
        odb.add_bytes(b"x", &file).unwrap();
        let manifest = b"[]";
        let dir_oid = Oid::new(format!("{}.dir", hash::md5_bytes(manifest)), HashKind::Md5);
        odb.add_bytes(manifest, &dir_oid).unwrap();
        std::fs::write(dir.path().join("files/md5/zz"), b"").unwrap();
        let listing = odb.listing();
        assert!(listing.has(&file) && listing.has(&dir_oid));
        let other = Oid::new(hash::md5_bytes(b"y"), HashKind::Md5);
        assert!(!listing.has(&other));
        assert!(!listing.has(&Oid::new(format!("{}.dir", file.hex()), HashKind::Md5)));
        let many: Vec<Oid> = (0..300)
            .map(|i| Oid::new(hash::md5_bytes(format!("{i}").as_bytes()), HashKind::Md5))
            .chain([file.clone()])
            .collect();
        assert_eq!(odb.missing(&many).len(), 300);
    }

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
    fn layout_names_parse_to_ids_and_nothing_else_does() {
        let tail = "946ac92492d2347c6235b4d2611184";
        let oid = Oid::from_layout("b1", tail, HashKind::Md5).unwrap();
        assert_eq!(oid.md5, format!("b1{tail}"));
        let dir = Oid::from_layout("b1", &format!("{tail}.dir"), HashKind::Md5).unwrap();
        assert!(dir.is_dir());
        assert!(
            Oid::from_layout("b1", tail, HashKind::Md5Dos2Unix)
                .unwrap()
                .legacy
        );
        for (head, tail) in [
            ("B1", tail),
            ("b1", "946AC92492D2347C6235B4D2611184"),
            ("b", tail),
            ("b1", &tail[1..]),
            ("b1", "946ac92492d2347c6235b4d2611184.tmp"),
            ("files", "md5"),
        ] {
            assert!(
                Oid::from_layout(head, tail, HashKind::Md5).is_none(),
                "{head}/{tail}"
            );
        }
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
