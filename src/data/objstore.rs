//! A data remote over any `object_store` backend (S3 today; GCS, Azure, WebDAV are only other
//! constructors): DVC's object layout `files/md5/XX/…` under a prefix, verified downloads,
//! uploads hashed before they complete. Each backend's settings (credentials, endpoint, region)
//! are parsed in its own module, which hands a built store to [`ObjStoreRemote::new`].

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::odb::{Odb, Oid};
use super::remote::{Remote, verify_bytes};
use super::{Error, Result};
use crate::redact;

/// Objects up to this size are uploaded in one request; larger ones in 16 MiB parts.
const SINGLE_PUT_LIMIT: u64 = 64 << 20;
const PART_SIZE: usize = 16 << 20;

/// Retries for every network remote: a few, bounded in time, so a dead endpoint fails in
/// seconds rather than minutes. Constructors pass it to their backend's builder.
pub fn retry_config() -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig::default(),
        max_retries: 3,
        retry_timeout: std::time::Duration::from_secs(20),
    }
}

/// A bucket (or a prefix in one) of any object store, holding DVC's object layout.
pub struct ObjStoreRemote {
    name: String,
    url: String,
    store: Arc<dyn ObjectStore>,
    prefix: String,
    jobs: Option<usize>,
    rt: tokio::runtime::Runtime,
}

impl ObjStoreRemote {
    /// A remote called `name` (configured as `url`, shown redacted) over `store`, with objects
    /// under `prefix` (no leading or trailing `/` needed). `jobs` is the remote's own
    /// `jobs` setting, if any: how many requests it may have in flight.
    pub fn new(
        name: &str,
        url: &str,
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        jobs: Option<usize>,
    ) -> Result<ObjStoreRemote> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Remote {
                remote: name.to_string(),
                message: format!("cannot start the network runtime: {e}"),
            })?;
        Ok(ObjStoreRemote {
            name: name.to_string(),
            url: url.to_string(),
            store,
            prefix: prefix.trim_matches('/').to_string(),
            jobs,
            rt,
        })
    }

    /// The remote's own `jobs` setting, if any.
    pub fn jobs(&self) -> Option<usize> {
        self.jobs
    }

    fn key(&self, oid: &Oid) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(oid.rel_path())
        } else {
            ObjPath::from(format!("{}/{}", self.prefix, oid.rel_path()))
        }
    }

    /// The client's error, with any URL it quotes (the endpoint's user info, a presigned
    /// request's signature) redacted.
    fn error(&self, e: object_store::Error) -> Error {
        Error::Remote {
            remote: self.name.clone(),
            message: redact::text(&e.to_string()).into_owned(),
        }
    }

    fn missing_error(&self, oid: &Oid) -> Error {
        Error::MissingFromRemote {
            remote: self.name.clone(),
            missing: vec![oid.rel_path()],
        }
    }
}

impl Remote for ObjStoreRemote {
    fn name(&self) -> &str {
        &self.name
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn contains(&self, oid: &Oid) -> Result<bool> {
        match self.rt.block_on(self.store.head(&self.key(oid))) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    fn put(&self, src: &Path, oid: &Oid) -> Result<()> {
        // The content is hashed before the upload completes; a corrupt cache object is refused.
        let size = std::fs::metadata(src)
            .map_err(Error::io("stat", src))?
            .len();
        let key = self.key(oid);
        let check = |found: String| -> Result<()> {
            if found == oid.hex() {
                Ok(())
            } else {
                Err(Error::HashMismatch {
                    what: format!(
                        "cache object `{}` (the local cache is corrupt)",
                        src.display()
                    ),
                    expected: oid.hex().to_string(),
                    found,
                })
            }
        };
        if size <= SINGLE_PUT_LIMIT {
            let bytes = std::fs::read(src).map_err(Error::io("read", src))?;
            check(super::hash::md5_of(&bytes, oid.kind()))?;
            return self
                .rt
                .block_on(self.store.put(&key, PutPayload::from(bytes)))
                .map(drop)
                .map_err(|e| self.error(e));
        }
        self.rt.block_on(async {
            use std::io::Read;
            let mut upload = self
                .store
                .put_multipart(&key)
                .await
                .map_err(|e| self.error(e))?;
            let mut file = std::fs::File::open(src).map_err(Error::io("open", src))?;
            let mut hasher = super::odb::Hasher::new(oid.kind());
            loop {
                let mut part = vec![0u8; PART_SIZE];
                let mut filled = 0;
                while filled < PART_SIZE {
                    let n = file
                        .read(&mut part[filled..])
                        .map_err(Error::io("read", src))?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    break;
                }
                part.truncate(filled);
                for chunk in part.chunks(super::hash::CHUNK) {
                    hasher.update(chunk);
                }
                if let Err(e) = upload.put_part(PutPayload::from(part)).await {
                    let _ = upload.abort().await;
                    return Err(self.error(e));
                }
                if filled < PART_SIZE {
                    break;
                }
            }
            if let Err(e) = check(hasher.finish()) {
                let _ = upload.abort().await;
                return Err(e);
            }
            upload.complete().await.map(drop).map_err(|e| self.error(e))
        })
    }

    fn get(&self, oid: &Oid, cache: &Odb) -> Result<()> {
        let dest = cache.path(oid);
        let what = format!("object `{}` of {}", oid.rel_path(), self.describe());
        self.rt.block_on(async {
            let result = match self.store.get(&self.key(oid)).await {
                Ok(r) => r,
                Err(object_store::Error::NotFound { .. }) => return Err(self.missing_error(oid)),
                Err(e) => return Err(self.error(e)),
            };
            let mut pending = cache.begin(oid, &dest)?;
            let mut stream = result.into_stream();
            let mut carry: Vec<u8> = Vec::new();
            // Re-chunk to 1 MiB so the legacy hash sees DVC's chunk boundaries.
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.error(e))?;
                carry.extend_from_slice(&chunk);
                while carry.len() >= super::hash::CHUNK {
                    let rest = carry.split_off(super::hash::CHUNK);
                    pending.write(&carry)?;
                    carry = rest;
                }
            }
            if !carry.is_empty() {
                pending.write(&carry)?;
            }
            pending.commit(&what)
        })
    }

    fn read_verified(&self, oid: &Oid) -> Result<Vec<u8>> {
        let bytes = self.rt.block_on(async {
            match self.store.get(&self.key(oid)).await {
                Ok(r) => r.bytes().await.map_err(|e| self.error(e)),
                Err(object_store::Error::NotFound { .. }) => Err(self.missing_error(oid)),
                Err(e) => Err(self.error(e)),
            }
        })?;
        verify_bytes(&bytes, oid, &self.describe())?;
        Ok(bytes.to_vec())
    }
}
