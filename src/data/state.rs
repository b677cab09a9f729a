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

/// What the data layer needs to know of a file from `stat`: its identity for the state cache,
/// its size and its permission bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub ino: u64,
    pub mtime_ns: i128,
    pub size: u64,
    pub mode: u32,
}

impl FileStat {
    /// Whether any execute bit is set (DVC's `isexec`).
    pub fn is_exec(&self) -> bool {
        self.mode & 0o111 != 0
    }
}

impl From<&Metadata> for FileStat {
    fn from(meta: &Metadata) -> FileStat {
        FileStat {
            ino: meta.ino(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            size: meta.size(),
            mode: meta.mode(),
        }
    }
}

impl From<&rustix::fs::Stat> for FileStat {
    // The field widths of `stat` differ between platforms.
    #[allow(clippy::unnecessary_cast)]
    fn from(st: &rustix::fs::Stat) -> FileStat {
        FileStat {
            ino: st.st_ino as u64,
            mtime_ns: st.st_mtime as i128 * 1_000_000_000 + st.st_mtime_nsec as i128,
            size: st.st_size as u64,
            mode: st.st_mode as u32,
        }
    }
}

fn stamp_of(meta: &FileStat) -> (u64, i128, u64) {
    (meta.ino, meta.mtime_ns, meta.size)
}

/// The hash cache of one repository; thread-safe, saved explicitly. The file is read and parsed
/// on a thread of its own from [`State::load`] on, so that it overlaps with walking the
/// workspace; the first lookup waits for it.
#[derive(Debug)]
pub struct State {
    path: PathBuf,
    loading: Mutex<Option<std::thread::JoinHandle<HashMap<String, Stamp>>>>,
    loaded: std::sync::OnceLock<HashMap<String, Stamp>>,
    /// Entries learnt in this process (they win over loaded ones).
    learnt: Mutex<HashMap<String, Stamp>>,
}

impl State {
    /// Starts loading `.dvc/tmp/vintner-state`; an unreadable file is treated as empty.
    pub fn load(dvc_dir: &Path) -> State {
        let path = dvc_dir.join("tmp").join("vintner-state");
        let file = path.clone();
        let read = move || {
            std::fs::read_to_string(&file)
                .ok()
                .map(|text| parse(&text))
                .unwrap_or_default()
        };
        let loading = std::thread::Builder::new()
            .name("state".into())
            .spawn(read.clone())
            .ok();
        // Without a thread it is read here.
        let loaded = std::sync::OnceLock::new();
        if loading.is_none() {
            let _ = loaded.set(read());
        }
        State {
            path,
            loading: Mutex::new(loading),
            loaded,
            learnt: Mutex::new(HashMap::new()),
        }
    }

    fn loaded(&self) -> &HashMap<String, Stamp> {
        self.loaded.get_or_init(|| {
            self.loading
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .and_then(|h| h.join().ok())
                .unwrap_or_default()
        })
    }

    /// The remembered md5 of `path` if its inode, mtime and size are unchanged.
    pub fn get(&self, path: &Path, meta: &FileStat) -> Option<String> {
        let (ino, mtime_ns, size) = stamp_of(meta);
        let key = path.to_string_lossy();
        let fresh = |s: &Stamp| s.ino == ino && s.mtime_ns == mtime_ns && s.size == size;
        if let Some(s) = self.learnt.lock().ok()?.get(key.as_ref()) {
            return fresh(s).then(|| s.md5.clone());
        }
        let s = self.loaded().get(key.as_ref())?;
        fresh(s).then(|| s.md5.clone())
    }

    /// Remembers the md5 of `path` as of `meta`.
    pub fn set(&self, path: &Path, meta: &FileStat, md5: &str) {
        let (ino, mtime_ns, size) = stamp_of(meta);
        if let Ok(mut learnt) = self.learnt.lock() {
            learnt.insert(
                path.to_string_lossy().into_owned(),
                Stamp {
                    ino,
                    mtime_ns,
                    size,
                    md5: md5.to_string(),
                },
            );
        }
    }

    /// Writes the cache if anything was learnt; failures are ignored (it is only a cache).
    pub fn save(&self) {
        let Ok(learnt) = self.learnt.lock() else {
            return;
        };
        if learnt.is_empty() {
            return;
        }
        let loaded = self.loaded();
        let mut text = String::with_capacity((loaded.len() + learnt.len()) * 100 + 16);
        text.push_str(HEADER);
        text.push('\n');
        let kept = loaded.iter().filter(|(p, _)| !learnt.contains_key(*p));
        for (path, s) in kept.chain(learnt.iter()) {
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
        let meta = FileStat::from(&std::fs::metadata(&f).unwrap());
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
        assert_eq!(
            again.get(&f, &FileStat::from(&std::fs::metadata(&f).unwrap())),
            None
        );
    }
}
