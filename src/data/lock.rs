//! The repository lock, shared with DVC: `flock` on `.dvc/tmp/lock` holding `" <pid>\n"`, so a
//! vintner command that changes the cache or workspace and a DVC command exclude each other.
//! Read-only commands (status, diff) take no lock and never fail on it.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Error, Result};

/// Held while alive; released on drop (and by the OS if the process dies).
#[derive(Debug)]
pub struct RepoLock {
    file: File,
    path: PathBuf,
}

impl RepoLock {
    /// Takes the lock, waiting up to `wait` for another holder to finish.
    pub fn acquire(dvc_dir: &Path, wait: Duration) -> Result<RepoLock> {
        let dir = dvc_dir.join("tmp");
        std::fs::create_dir_all(&dir).map_err(Error::io("create folder", &dir))?;
        let path = dir.join("lock");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io("open", &path))?;
        let start = Instant::now();
        loop {
            // SAFETY: the descriptor is valid while `file` lives.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                break;
            }
            if start.elapsed() >= wait {
                return Err(Error::Locked(path));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = file.set_len(0);
        let _ = writeln!(file, " {}", std::process::id());
        Ok(RepoLock { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        // SAFETY: the descriptor is valid; unlocking twice is harmless.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_times_out_then_gets_it_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let first = RepoLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let err = RepoLock::acquire(dir.path(), Duration::from_millis(150)).unwrap_err();
        assert!(matches!(err, Error::Locked(_)));
        drop(first);
        RepoLock::acquire(dir.path(), Duration::ZERO).unwrap();
    }
}
