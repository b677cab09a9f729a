//! The hash cache ("state"), as DVC keeps one: a file's md5 is remembered with its inode,
//! mtime and size, so an unchanged file is never read twice. It lives in `.dvc/tmp/` (private to
//! the machine, git-ignored) and is only an optimisation: a stale or missing entry means a re-hash.
//! The file is plain text, one `md5 inode mtime_ns size path` line per file, so that loading
//! tens of thousands of entries costs a few milliseconds.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::fsutil::write_atomic;

/// First line of the file; a file with another first line is ignored.
const HEADER: &str = "vintner-state 2";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    mtime_ns: i128,
    size: u64,
    md5: String,
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
    /// Loads `.dvc/tmp/vintner-state`; an unreadable file is treated as empty.
    pub fn load(dvc_dir: &Path) -> State {
        let path = dvc_dir.join("tmp").join("vintner-state");
        let entries = std::fs::read_to_string(&path)
            .ok()
            .map(|text| parse(&text))
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
        let mut text = String::with_capacity(entries.len() * 100 + 16);
        text.push_str(HEADER);
        text.push('\n');
        for (path, s) in entries.iter() {
            if path.contains('\n') {
                continue;
            }
            use std::fmt::Write as _;
            let _ = writeln!(text, "{} {} {} {} {path}", s.md5, s.ino, s.mtime_ns, s.size);
        }
        let _ = write_atomic(&self.path, text.as_bytes());
    }
}

fn parse(text: &str) -> HashMap<String, Stamp> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return HashMap::new();
    }
    let mut entries = HashMap::new();
    for line in lines {
        let mut parts = line.splitn(5, ' ');
        let (Some(md5), Some(ino), Some(mtime), Some(size), Some(path)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            continue;
        };
        let (Ok(ino), Ok(mtime_ns), Ok(size)) = (ino.parse(), mtime.parse(), size.parse()) else {
            continue;
        };
        entries.insert(
            path.to_string(),
            Stamp {
                ino,
                mtime_ns,
                size,
                md5: md5.to_string(),
            },
        );
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_across_save_and_load_and_notices_changes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a file.txt");
        std::fs::write(&f, b"x").unwrap();
        let meta = std::fs::metadata(&f).unwrap();
        let state = State::load(dir.path());
        state.set(&f, &meta, "9dd4e461268c8034f5c8564e155c67a6");
        state.save();
        let again = State::load(dir.path());
        assert_eq!(
            again.get(&f, &meta).as_deref(),
            Some("9dd4e461268c8034f5c8564e155c67a6")
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, b"yy").unwrap();
        assert_eq!(again.get(&f, &std::fs::metadata(&f).unwrap()), None);
    }
}
