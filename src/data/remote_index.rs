//! What vintner knows a remote holds whole, so that `status -c` and `push` ask the remote about
//! an already pushed folder with one existence check of its `.dir` manifest instead of asking
//! about (or listing for) each of its files, as DVC's remote index (`ObjectDBIndex`) lets DVC.
//!
//! Per remote (keyed by its URL without credentials), the folder manifests that a push, fetch
//! or `status -c` found on that remote together with every file they list. It is a cache of
//! facts that can go stale, so it is never trusted blindly: an entry counts only while its `.dir`
//! is still on the remote (checked each time it is used), one indexed `.dir` found gone clears
//! the whole index (someone deleted objects behind vintner's back, as DVC reasons), and anything
//! that deletes remote objects (`gc -c`) clears it. Stored as vintner's own small JSON file per
//! remote under `.dvc/tmp/vintner/remote-index/` (not DVC's diskcache database), written
//! atomically; a file that cannot be read counts as an empty index. Depends only on the data
//! layer's remotes and object ids.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::hash::{self, HashKind};
use super::odb::Oid;
use super::remote::{self, Remote};
use super::{Error, Result};

/// The on-disk format's version; a file of another version counts as empty.
const FORMAT: u32 = 1;

/// The index file as stored.
#[derive(Serialize, Deserialize)]
struct OnDisk {
    format: u32,
    /// The remote's URL without credentials, as the index is keyed.
    remote: String,
    /// The complete folders' manifests, as paths in the remote's layout
    /// (`files/md5/ab/cdef….dir`, `ab/cdef….dir` for legacy ones), sorted.
    dirs: Vec<String>,
    /// When `gc -c` emptied it (nanoseconds and process), so that the file's bytes change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cleared: Option<String>,
}

/// The folders known to be whole on one remote.
#[derive(Debug)]
pub struct RemoteIndex {
    path: PathBuf,
    remote: String,
    dirs: BTreeSet<Oid>,
    changed: bool,
    /// The file's bytes when it was opened (`Some(None)`: there was none; `None`: unreadable).
    /// If they differ when saving, another command wrote or cleared the index meanwhile (a
    /// `gc -c` deleting objects, most importantly): this command's view is stale, so it does
    /// not write.
    seen: Option<Option<Vec<u8>>>,
}

/// The folder the indexes of a repository live in.
pub fn folder(dvc_dir: &Path) -> PathBuf {
    dvc_dir.join("tmp").join("vintner").join("remote-index")
}

/// What a remote is known by: its URL with any user info and secret query values masked
/// (credentials never reach the file, and changing them keeps the index), without a trailing
/// `/`.
fn key(url: &str) -> String {
    let shown = crate::redact::url(url);
    let trimmed = shown.trim_end_matches('/');
    if trimmed.is_empty() {
        shown.into_owned()
    } else {
        trimmed.to_string()
    }
}

/// The index file of the remote at `url`: named by the md5 of its key.
fn path_for(dvc_dir: &Path, key: &str) -> PathBuf {
    folder(dvc_dir).join(format!("{}.json", hash::md5_bytes(key.as_bytes())))
}

/// The `.dir` a layout path names (`files/md5/ab/….dir` or legacy `ab/….dir`).
fn parse_dir(rel: &str) -> Option<Oid> {
    let (rel, kind) = match rel.strip_prefix("files/md5/") {
        Some(rest) => (rest, HashKind::Md5),
        None => (rel, HashKind::Md5Dos2Unix),
    };
    let (head, tail) = rel.split_once('/')?;
    Oid::from_layout(head, tail, kind).filter(Oid::is_dir)
}

/// The folders a stored index holds (`None`: no index file), if it is whole, of this format and
/// of this remote.
fn parse(bytes: Option<&[u8]>, key: &str) -> std::result::Result<BTreeSet<Oid>, String> {
    let Some(bytes) = bytes else {
        return Ok(BTreeSet::new());
    };
    let stored: OnDisk = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if stored.format != FORMAT {
        return Err(format!("format {} (expected {FORMAT})", stored.format));
    }
    if stored.remote != key {
        return Err(format!("it indexes another remote ({})", stored.remote));
    }
    stored
        .dirs
        .iter()
        .map(|d| parse_dir(d).ok_or_else(|| format!("`{d}` is not a folder manifest")))
        .collect()
}

/// The index file's bytes, `None` when there is none.
fn read_raw(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl RemoteIndex {
    /// The index of `remote` in the repository whose `.dvc` folder is `dvc_dir`; empty when
    /// there is none or it cannot be read (logged at debug level: the index only saves
    /// requests, it never stops a command).
    pub fn open(dvc_dir: &Path, remote: &dyn Remote) -> RemoteIndex {
        let key = key(remote.url());
        let path = path_for(dvc_dir, &key);
        let seen = read_raw(&path);
        let dirs = match &seen {
            Ok(bytes) => parse(bytes.as_deref(), &key),
            Err(e) => Err(e.to_string()),
        }
        .unwrap_or_else(|why| {
            tracing::debug!(
                "remote index `{}` ignored ({why}); the remote is asked in full",
                path.display()
            );
            BTreeSet::new()
        });
        RemoteIndex {
            path,
            remote: key,
            dirs,
            changed: false,
            seen: seen.ok(),
        }
    }

    /// Whether `dir` was found whole on the remote (not checked again here).
    pub fn contains(&self, dir: &Oid) -> bool {
        self.dirs.contains(dir)
    }

    /// Records that the remote holds `dir` and every file it lists.
    pub fn insert(&mut self, dir: Oid) {
        if dir.is_dir() && self.dirs.insert(dir) {
            self.changed = true;
        }
    }

    /// Forgets `dir` (the remote was found to lack it or one of its files).
    pub fn remove(&mut self, dir: &Oid) {
        if self.dirs.remove(dir) {
            self.changed = true;
        }
    }

    /// Forgets everything.
    fn clear(&mut self) {
        if !self.dirs.is_empty() {
            self.dirs.clear();
            self.changed = true;
        }
    }

    /// The indexed folders among `dirs` that the remote still holds, each confirmed by one
    /// existence check of its `.dir` (`jobs` at once), as DVC checks its indexed `.dir`
    /// objects: the caller need not ask about them or their files. If any indexed `.dir` is
    /// gone, objects were deleted behind vintner's back: the whole index is cleared (as DVC
    /// clears it) and none is confirmed, so that every folder is checked in full.
    pub fn confirm<'a>(
        &mut self,
        remote: &dyn Remote,
        dirs: impl IntoIterator<Item = &'a Oid>,
        jobs: usize,
    ) -> Result<BTreeSet<Oid>> {
        let asked: Vec<Oid> = dirs
            .into_iter()
            .filter(|d| self.dirs.contains(*d))
            .cloned()
            .collect::<BTreeSet<Oid>>()
            .into_iter()
            .collect();
        let found: Vec<bool> = match asked.as_slice() {
            [] => return Ok(BTreeSet::new()),
            [one] => vec![remote.contains(one)?],
            many => {
                use rayon::prelude::*;
                remote::in_pool(jobs.min(many.len()), || {
                    many.par_iter()
                        .map(|d| remote.contains(d))
                        .collect::<Result<Vec<bool>>>()
                })??
            }
        };
        let gone: Vec<&Oid> = asked
            .iter()
            .zip(&found)
            .filter_map(|(d, there)| (!there).then_some(d))
            .collect();
        if !gone.is_empty() {
            tracing::debug!(
                "{} lacks the indexed folder manifest(s) {}; its index is cleared",
                remote.describe(),
                gone.iter()
                    .map(|d| d.rel_path())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            self.clear();
            return Ok(BTreeSet::new());
        }
        Ok(asked.into_iter().collect())
    }

    /// Writes the index back if it changed (atomically; an empty index removes its file),
    /// unless another command changed the file since this one opened it: then this one's view
    /// may be stale (a `gc -c` cleared the index and deleted objects while this push ran), and
    /// the file is left as that command wrote it. A failure is only logged: the next command
    /// asks the remote in full.
    pub fn save(&mut self) {
        if !self.changed {
            return;
        }
        let now = read_raw(&self.path).ok();
        if now.is_none() || now != self.seen {
            tracing::debug!(
                "remote index `{}` changed meanwhile (another command); not saved",
                self.path.display()
            );
            self.changed = false;
            return;
        }
        match self.write() {
            // What this command wrote is what it saw: a later save checks against it.
            Ok(()) => self.seen = read_raw(&self.path).ok(),
            Err(e) => tracing::debug!("remote index `{}` not saved: {e}", self.path.display()),
        }
        self.changed = false;
    }

    fn write(&self) -> Result<()> {
        if self.dirs.is_empty() {
            return remove_file(&self.path);
        }
        let stored = OnDisk {
            format: FORMAT,
            remote: self.remote.clone(),
            dirs: self.dirs.iter().map(Oid::rel_path).collect(),
            cleared: None,
        };
        store(&self.path, &stored)
    }
}

/// Writes `stored` to `path` atomically, as pretty JSON.
fn store(path: &Path, stored: &OnDisk) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(stored).map_err(|e| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    bytes.push(b'\n');
    super::fsutil::write_atomic(path, &bytes)
}

/// Empties the index of `remote` (before objects are deleted from it): an index that cannot be
/// emptied is an error, since it could vouch for deleted objects. What is left is an index
/// with no folders but a mark of when it was cleared, so that a command that opened the index
/// before (a long push) sees that it changed and does not write its stale view back.
pub fn clear(dvc_dir: &Path, remote: &dyn Remote) -> Result<()> {
    let key = key(remote.url());
    let path = path_for(dvc_dir, &key);
    let stored = OnDisk {
        format: FORMAT,
        remote: key,
        dirs: Vec::new(),
        cleared: Some(format!(
            "{}-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
            std::process::id()
        )),
    };
    store(&path, &stored)
}

fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::odb::Odb;
    use crate::data::remote::LocalRemote;

    fn dir_oid(s: &str) -> Oid {
        Oid::new(
            format!("{}.dir", hash::md5_bytes(s.as_bytes())),
            HashKind::Md5,
        )
    }

    /// A repository's `.dvc` folder and a folder remote holding `dirs`' manifests.
    fn setup(dirs: &[&Oid]) -> (tempfile::TempDir, PathBuf, LocalRemote) {
        let tmp = tempfile::tempdir().unwrap();
        let dvc_dir = tmp.path().join(".dvc");
        std::fs::create_dir_all(&dvc_dir).unwrap();
        let store = tmp.path().join("store");
        let odb = Odb::new(&store);
        for d in dirs {
            let p = odb.path(d);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"[]").unwrap();
        }
        let remote = LocalRemote::new("store", store.to_str().unwrap());
        (tmp, dvc_dir, remote)
    }

    #[test]
    fn an_index_round_trips_through_its_file_and_stays_per_remote() {
        let a = dir_oid("a");
        let legacy = Oid::new(a.md5.clone(), HashKind::Md5Dos2Unix);
        let (tmp, dvc_dir, remote) = setup(&[]);
        let mut idx = RemoteIndex::open(&dvc_dir, &remote);
        assert!(!idx.contains(&a));
        idx.insert(a.clone());
        idx.insert(legacy.clone());
        // Files are not folders: never indexed.
        idx.insert(Oid::new(hash::md5_bytes(b"f"), HashKind::Md5));
        idx.save();
        let again = RemoteIndex::open(&dvc_dir, &remote);
        assert_eq!(again.dirs, BTreeSet::from([a.clone(), legacy.clone()]));
        let other = LocalRemote::new("other", tmp.path().join("elsewhere").to_str().unwrap());
        assert!(RemoteIndex::open(&dvc_dir, &other).dirs.is_empty());
        // Removing the last entry removes the file.
        let mut idx = again;
        idx.remove(&a);
        idx.remove(&legacy);
        idx.save();
        assert_eq!(std::fs::read_dir(folder(&dvc_dir)).unwrap().count(), 0);
    }

    #[test]
    fn the_key_ignores_credentials_and_a_trailing_slash() {
        assert_eq!(key("s3://bucket/store/"), "s3://bucket/store");
        assert_eq!(
            key("webdavs://ann:secret@host/dav?token=abc"),
            key("webdavs://bob:other@host/dav?token=xyz")
        );
        assert!(!key("webdavs://ann:secret@host/dav").contains("secret"));
        assert_eq!(key("/"), "/");
    }

    #[test]
    fn a_garbage_or_foreign_index_file_counts_as_empty() {
        let a = dir_oid("a");
        let (_tmp, dvc_dir, remote) = setup(&[]);
        let path = path_for(&dvc_dir, &key(remote.url()));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let good = format!(
            "{{\"format\": 1, \"remote\": {}, \"dirs\": [\"{}\"]}}",
            serde_json::to_string(&key(remote.url())).unwrap(),
            a.rel_path()
        );
        std::fs::write(&path, &good).unwrap();
        assert!(RemoteIndex::open(&dvc_dir, &remote).contains(&a));
        for bad in [
            "\u{0}\u{1}garbage".to_string(),
            good.replace("\"format\": 1", "\"format\": 99"),
            good.replace(&key(remote.url()), "s3://another/remote"),
            good.replace(".dir\"", "\""),
            good.replace("files/md5/", "files/md5/zz"),
        ] {
            std::fs::write(&path, &bad).unwrap();
            let idx = RemoteIndex::open(&dvc_dir, &remote);
            assert!(idx.dirs.is_empty(), "{bad}");
        }
        // An unreadable index (a folder in its place) is empty too, and saving over it fails
        // quietly.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir_all(path.join("x")).unwrap();
        let mut idx = RemoteIndex::open(&dvc_dir, &remote);
        assert!(idx.dirs.is_empty());
        idx.insert(a);
        idx.save();
    }

    #[test]
    fn confirm_trusts_entries_only_while_their_dir_is_on_the_remote() {
        let (a, b, c) = (dir_oid("a"), dir_oid("b"), dir_oid("c"));
        let (_tmp, dvc_dir, remote) = setup(&[&a, &b]);
        let mut idx = RemoteIndex::open(&dvc_dir, &remote);
        idx.insert(a.clone());
        idx.insert(b.clone());
        idx.save();
        // Only indexed folders are confirmed; `c` is not indexed, so the caller asks in full.
        let held = idx.confirm(&remote, [&a, &c], 4).unwrap();
        assert_eq!(held, BTreeSet::from([a.clone()]));
        let held = idx.confirm(&remote, [&a, &b, &a], 4).unwrap();
        assert_eq!(held, BTreeSet::from([a.clone(), b.clone()]));
        // `b`'s manifest deleted behind vintner's back: nothing is trusted, the index is cleared.
        std::fs::remove_file(Odb::new(remote.url()).path(&b)).unwrap();
        assert!(idx.confirm(&remote, [&a, &b], 4).unwrap().is_empty());
        assert!(!idx.contains(&a) && !idx.contains(&b));
        idx.save();
        assert!(RemoteIndex::open(&dvc_dir, &remote).dirs.is_empty());
    }

    #[test]
    fn clear_removes_the_remotes_index_only() {
        let a = dir_oid("a");
        let (tmp, dvc_dir, remote) = setup(&[]);
        let other = LocalRemote::new("other", tmp.path().join("elsewhere").to_str().unwrap());
        for r in [&remote, &other] {
            let mut idx = RemoteIndex::open(&dvc_dir, r);
            idx.insert(a.clone());
            idx.save();
        }
        clear(&dvc_dir, &remote).unwrap();
        clear(&dvc_dir, &remote).unwrap();
        assert!(!RemoteIndex::open(&dvc_dir, &remote).contains(&a));
        assert!(RemoteIndex::open(&dvc_dir, &other).contains(&a));
    }

    #[test]
    fn a_command_that_opened_the_index_before_a_clear_does_not_write_it_back() {
        let (a, b) = (dir_oid("a"), dir_oid("b"));
        let (_tmp, dvc_dir, remote) = setup(&[&a, &b]);
        // With an index file, and with none, when the long command (a push) opened it.
        for before in [Some(&a), None] {
            if let Some(a) = before {
                let mut idx = RemoteIndex::open(&dvc_dir, &remote);
                idx.insert(a.clone());
                idx.save();
            }
            let mut push = RemoteIndex::open(&dvc_dir, &remote);
            clear(&dvc_dir, &remote).unwrap(); // a `gc -c` meanwhile
            push.insert(b.clone());
            push.save();
            let after = RemoteIndex::open(&dvc_dir, &remote);
            assert!(!after.contains(&a) && !after.contains(&b), "{before:?}");
            // A command that opens it after the clear writes as usual.
            let mut next = RemoteIndex::open(&dvc_dir, &remote);
            next.insert(b.clone());
            next.save();
            assert!(RemoteIndex::open(&dvc_dir, &remote).contains(&b));
            clear(&dvc_dir, &remote).unwrap();
            std::fs::remove_file(path_for(&dvc_dir, &key(remote.url()))).unwrap();
        }
    }
}
