//! Data remotes: where objects go on `push` and come from on `pull`, laid out like the cache.
//! Every download is hashed before it enters the cache, so a tampered remote object is refused
//! with an error naming the object and the remote (DVC accepts it unless `verify` is set).

use std::path::Path;

use super::config::{Config, RemoteConfig};
use super::odb::{Odb, Oid};
use super::{Error, Result};

/// An object store reachable for transfers.
pub trait Remote: Send + Sync {
    /// The remote's name in the DVC config.
    fn name(&self) -> &str;
    /// Its URL as configured (credentials included); show it through [`Remote::describe`] or
    /// [`crate::redact::url`].
    fn url(&self) -> &str;
    /// Whether the remote holds `oid`.
    fn contains(&self, oid: &Oid) -> Result<bool>;
    /// The ids in `oids` the remote lacks (one query per object unless the remote can list).
    fn missing(&self, oids: &[Oid]) -> Result<Vec<Oid>> {
        use rayon::prelude::*;
        oids.par_iter()
            .filter_map(|o| match self.contains(o) {
                Ok(true) => None,
                Ok(false) => Some(Ok(o.clone())),
                Err(e) => Some(Err(e)),
            })
            .collect()
    }
    /// Uploads the cache object `oid` (a file at `src`) that the remote lacks, verifying its
    /// content on the way.
    fn put(&self, src: &Path, oid: &Oid) -> Result<()>;
    /// Downloads `oid` into `cache`, refusing content whose hash does not match.
    fn get(&self, oid: &Oid, cache: &Odb) -> Result<()>;
    /// Reads a small object (a `.dir` manifest) whole, verified.
    fn read_verified(&self, oid: &Oid) -> Result<Vec<u8>>;

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
            "azure" => super::azure::open(rc).map(|r| Box::new(r) as Box<dyn Remote>),
            "gs" => super::gcs::open(rc).map(|r| Box::new(r) as Box<dyn Remote>),
            "webdav" | "webdavs" | "http" | "https" => {
                super::webdav::open(rc).map(|r| Box::new(r) as Box<dyn Remote>)
            }
            "file" => Ok(Box::new(LocalRemote::new(
                &rc.name,
                rc.url.trim_start_matches("file://"),
            ))),
            other => Err(Error::Remote {
                remote: rc.name.clone(),
                message: format!(
                    "`{other}://` remotes are not supported (local folders, s3://, gs://, \
                     azure://, webdav(s):// and http(s):// are)"
                ),
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

    fn missing(&self, oids: &[Oid]) -> Result<Vec<Oid>> {
        Ok(self.odb.missing(oids).into_iter().cloned().collect())
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
