//! Data remotes: where objects go on `push` and come from on `pull`, laid out like the cache.
//! Every download is hashed before it enters the cache, so a tampered remote object is refused
//! with an error naming the object and the remote (DVC accepts it unless `verify` is set).

use std::path::{Path, PathBuf};

use super::config::{Config, RemoteConfig};
use super::hash::HashKind;
use super::odb::{Odb, Oid};
use super::{Error, Result};
use crate::progress::Progress;

/// The machine's cores (2 if unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Runs `work` on a rayon pool of `jobs` threads (blocking work such as local copies).
pub fn in_pool<T: Send>(jobs: usize, work: impl FnOnce() -> T + Send) -> Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| Error::Remote {
            remote: String::new(),
            message: format!("cannot start transfer threads: {e}"),
        })?;
    Ok(pool.install(work))
}

/// An object store reachable for transfers.
pub trait Remote: Send + Sync {
    /// The remote's name in the DVC config.
    fn name(&self) -> &str;
    /// Its URL as configured (credentials included); show it through [`Remote::describe`] or
    /// [`crate::redact::url`].
    fn url(&self) -> &str;
    /// How many transfers to run at once when the user sets none: the remote's own `jobs`
    /// setting, else DVC's default of 4 × cores (network remotes use more, see
    /// [`super::objstore`]).
    fn default_jobs(&self) -> usize {
        4 * cores()
    }
    /// Whether the remote holds `oid`.
    fn contains(&self, oid: &Oid) -> Result<bool>;
    /// The ids in `oids` the remote lacks, with the remote's default parallelism.
    fn missing(&self, oids: &[Oid]) -> Result<Vec<Oid>> {
        self.missing_with(oids, self.default_jobs())
    }
    /// The ids in `oids` the remote lacks, checking up to `jobs` at once (one query per object
    /// unless the remote can list).
    fn missing_with(&self, oids: &[Oid], jobs: usize) -> Result<Vec<Oid>> {
        use rayon::prelude::*;
        in_pool(jobs, || {
            oids.par_iter()
                .filter_map(|o| match self.contains(o) {
                    Ok(true) => None,
                    Ok(false) => Some(Ok(o.clone())),
                    Err(e) => Some(Err(e)),
                })
                .collect()
        })?
    }
    /// Uploads the cache object `oid` (a file at `src`) that the remote lacks, verifying its
    /// content on the way.
    fn put(&self, src: &Path, oid: &Oid) -> Result<()>;
    /// Uploads many cache objects, up to `jobs` at once, advancing `progress` by one per
    /// object; one result per item, in order.
    fn put_many(
        &self,
        items: &[(PathBuf, Oid)],
        jobs: usize,
        progress: &dyn Progress,
    ) -> Result<Vec<Result<()>>> {
        use rayon::prelude::*;
        in_pool(jobs, || {
            items
                .par_iter()
                .map(|(src, oid)| {
                    let r = self.put(src, oid);
                    progress.advance(1);
                    r
                })
                .collect()
        })
    }
    /// Downloads `oid` into `cache`, refusing content whose hash does not match.
    fn get(&self, oid: &Oid, cache: &Odb) -> Result<()>;
    /// Downloads many objects into `cache`, up to `jobs` at once, advancing `progress` by one
    /// per object; one result per id, in order.
    fn get_many(
        &self,
        oids: &[Oid],
        cache: &Odb,
        jobs: usize,
        progress: &dyn Progress,
    ) -> Result<Vec<Result<()>>> {
        use rayon::prelude::*;
        in_pool(jobs, || {
            oids.par_iter()
                .map(|oid| {
                    let r = self.get(oid, cache);
                    progress.advance(1);
                    r
                })
                .collect()
        })
    }
    /// Reads a small object (a `.dir` manifest) whole, verified.
    fn read_verified(&self, oid: &Oid) -> Result<Vec<u8>>;
    /// Every object the remote holds in DVC's layouts (`files/md5/XX/…` and legacy `XX/…`);
    /// anything else there is not an object and is left out.
    fn list(&self) -> Result<Vec<Oid>>;
    /// Deletes these objects (for `gc -c`); an object already gone is not an error.
    fn delete(&self, oids: &[Oid], jobs: usize) -> Result<()>;

    /// `remote `name` (url)`, for messages, with the URL's credentials and secret query values
    /// shown as `***`.
    fn describe(&self) -> String {
        format!(
            "remote `{}` ({})",
            self.name(),
            crate::redact::url(self.url())
        )
    }
}

/// Opens the remote called `name`, or the default remote.
pub fn open(config: &Config, name: Option<&str>) -> Result<Box<dyn Remote>> {
    let name = match name.or(config.default_remote()) {
        Some(n) => n.to_string(),
        None => return Err(Error::NoRemote),
    };
    let rc = config.remote(&name)?;
    open_config(&rc)
}

/// Opens a remote from its merged settings.
pub fn open_config(rc: &RemoteConfig) -> Result<Box<dyn Remote>> {
    if let Some(scheme) = rc.url.split_once("://").map(|(s, _)| s) {
        return match scheme {
            "s3" => super::s3::open(rc).map(|r| Box::new(r) as Box<dyn Remote>),
            "ssh" => super::ssh::SshRemote::open(rc).map(|r| Box::new(r) as Box<dyn Remote>),
            "azure" => super::azure::open(rc).map(|r| Box::new(r) as Box<dyn Remote>),
            "gs" => super::gcs::open(rc).map(|r| Box::new(r) as Box<dyn Remote>),
            "webdav" | "webdavs" | "http" | "https" => {
                super::webdav::open(rc).map(|r| Box::new(r) as Box<dyn Remote>)
            }
            "file" => Ok(Box::new(LocalRemote::new(
                &rc.name,
                rc.url.trim_start_matches("file://"),
            ))),
            other => Err(Error::UnsupportedRemote {
                remote: rc.name.clone(),
                scheme: other.to_string(),
            }),
        };
    }
    Ok(Box::new(LocalRemote::new(&rc.name, &rc.url)))
}

/// A folder on this machine (or a mounted share), laid out like the cache.
pub struct LocalRemote {
    name: String,
    url: String,
    odb: Odb,
}

impl LocalRemote {
    pub fn new(name: &str, path: &str) -> LocalRemote {
        LocalRemote {
            name: name.to_string(),
            url: path.to_string(),
            odb: Odb::new(path),
        }
    }
}

impl Remote for LocalRemote {
    fn name(&self) -> &str {
        &self.name
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn contains(&self, oid: &Oid) -> Result<bool> {
        Ok(self.odb.contains(oid))
    }

    fn missing_with(&self, oids: &[Oid], _jobs: usize) -> Result<Vec<Oid>> {
        Ok(self.odb.missing(oids).into_iter().cloned().collect())
    }

    fn list(&self) -> Result<Vec<Oid>> {
        Ok(stored_objects(&self.odb.root)?
            .into_iter()
            .map(|(oid, _)| oid)
            .collect())
    }

    fn delete(&self, oids: &[Oid], _jobs: usize) -> Result<()> {
        for oid in oids {
            let path = self.odb.path(oid);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", &path)(e)),
            }
        }
        Ok(())
    }

    fn put(&self, src: &Path, oid: &Oid) -> Result<()> {
        // Copied (not linked) so the remote stays an independent copy of the cache; the copy
        // is hashed on the way and a corrupt cache object is refused.
        self.odb.add_file_new(src, oid).map_err(|e| match e {
            Error::HashMismatch {
                expected, found, ..
            } => Error::HashMismatch {
                what: format!(
                    "cache object `{}` (the local cache is corrupt)",
                    src.display()
                ),
                expected,
                found,
            },
            other => other,
        })
    }

    fn get(&self, oid: &Oid, cache: &Odb) -> Result<()> {
        let src = self.odb.path(oid);
        let file = match std::fs::File::open(&src) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::MissingFromRemote {
                    remote: self.name.clone(),
                    missing: vec![oid.rel_path()],
                });
            }
            Err(e) => return Err(Error::io("read", &src)(e)),
        };
        let dest = cache.path(oid);
        cache
            .store_stream(file, &src, oid, &dest)
            .map_err(|e| self.name_mismatch(e, oid))
    }

    fn read_verified(&self, oid: &Oid) -> Result<Vec<u8>> {
        let src = self.odb.path(oid);
        let bytes = match std::fs::read(&src) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::MissingFromRemote {
                    remote: self.name.clone(),
                    missing: vec![oid.rel_path()],
                });
            }
            Err(e) => return Err(Error::io("read", &src)(e)),
        };
        verify_bytes(&bytes, oid, &self.describe())?;
        Ok(bytes)
    }
}

impl LocalRemote {
    fn name_mismatch(&self, e: Error, oid: &Oid) -> Error {
        match e {
            Error::HashMismatch {
                expected, found, ..
            } => Error::HashMismatch {
                what: format!("object `{}` of {}", oid.rel_path(), self.describe()),
                expected,
                found,
            },
            other => other,
        }
    }
}

/// Every object in a store: `files/md5/XX/…` and legacy `XX/…`.
pub fn stored_objects(root: &Path) -> Result<Vec<(Oid, PathBuf)>> {
    let mut found = Vec::new();
    let mut scan = |dir: PathBuf, kind: HashKind| -> Result<()> {
        let Ok(prefixes) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for p in prefixes.flatten() {
            let head = p.file_name().to_string_lossy().into_owned();
            if !Oid::is_layout_folder(&head) {
                continue;
            }
            let inner = std::fs::read_dir(p.path()).map_err(Error::io("read folder", p.path()))?;
            for f in inner.flatten() {
                let tail = f.file_name().to_string_lossy().into_owned();
                if let Some(oid) = Oid::from_layout(&head, &tail, kind) {
                    found.push((oid, f.path()));
                }
            }
        }
        Ok(())
    };
    scan(root.join("files").join("md5"), HashKind::Md5)?;
    scan(root.to_path_buf(), HashKind::Md5Dos2Unix)?;
    Ok(found)
}

/// Checks in-memory object bytes against their id.
pub fn verify_bytes(bytes: &[u8], oid: &Oid, remote: &str) -> Result<()> {
    let found = super::hash::md5_of(bytes, oid.kind());
    if found != oid.hex() {
        return Err(Error::HashMismatch {
            what: format!("object `{}` of {remote}", oid.rel_path()),
            expected: oid.hex().to_string(),
            found,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_hides_credentials_in_the_url() {
        let r = LocalRemote::new(
            "store",
            "file://carol:pw_secret@host/store?token=tok_secret",
        );
        let shown = r.describe();
        assert!(
            !shown.contains("pw_secret") && !shown.contains("tok_secret"),
            "{shown}"
        );
        assert_eq!(shown, "remote `store` (file://***@host/store?token=***)");
    }
}
