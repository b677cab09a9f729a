//! The hash cache ("state"), as DVC keeps one: a file's md5 is remembered with its inode,
//! mtime and size, so an unchanged file is never read twice. It lives in `.dvc/tmp/` (private to
//! the machine, git-ignored) and is only an optimisation: a stale or missing entry means a re-hash.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::fsutil::write_atomic;

/// Bump when the file format changes; an old file is then ignored.
const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    ino: u64,
    mtime_ns: i128,
    size: u64,
    md5: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    entries: HashMap<String, Stamp>,
}

/// The hash cache of one repository; thread-safe, saved explicitly.
#[derive(Debug)]
pub struct State {
    path: PathBuf,
    entries: Mutex<HashMap<String, Stamp>>,
    changed: Mutex<bool>,
}

fn stamp_of(meta: &Metadata) -> (u64, i128, u64) {
    let mtime_ns = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
    (meta.ino(), mtime_ns, meta.size())
}

impl State {
    /// Loads `.dvc/tmp/vintner-state.json`; an unreadable file is treated as empty.
    pub fn load(dvc_dir: &Path) -> State {
        let path = dvc_dir.join("tmp").join("vintner-state.json");
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<OnDisk>(&b).ok())
            .filter(|d| d.version == VERSION)
            .map(|d| d.entries)
            .unwrap_or_default();
        State {
            path,
            entries: Mutex::new(entries),
            changed: Mutex::new(false),
        }
    }

    /// The remembered md5 of `path` if its inode, mtime and size are unchanged.
    pub fn get(&self, path: &Path, meta: &Metadata) -> Option<String> {
        let (ino, mtime_ns, size) = stamp_of(meta);
        let entries = self.entries.lock().ok()?;
        let s = entries.get(path.to_string_lossy().as_ref())?;
        (s.ino == ino && s.mtime_ns == mtime_ns && s.size == size).then(|| s.md5.clone())
    }

    /// Remembers the md5 of `path` as of `meta`.
    pub fn set(&self, path: &Path, meta: &Metadata, md5: &str) {
        let (ino, mtime_ns, size) = stamp_of(meta);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                path.to_string_lossy().into_owned(),
                Stamp {
                    ino,
                    mtime_ns,
                    size,
                    md5: md5.to_string(),
                },
            );
            if let Ok(mut c) = self.changed.lock() {
                *c = true;
            }
        }
    }

    /// Writes the cache if anything was learnt; failures are ignored (it is only a cache).
    pub fn save(&self) {
        let changed = self.changed.lock().map(|c| *c).unwrap_or(false);
        if !changed {
            return;
        }
        let Ok(entries) = self.entries.lock() else {
            return;
        };
        let disk = OnDisk {
            version: VERSION,
            entries: entries.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&disk) {
            let _ = write_atomic(&self.path, &bytes);
        }
    }
}
