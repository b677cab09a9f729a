//! A data remote over any `object_store` backend (S3 today; GCS, Azure, WebDAV are only other
//! constructors): DVC's object layout `files/md5/XX/…` under a prefix, verified downloads,
//! uploads hashed before they complete. Each backend's settings (credentials, endpoint, region)
//! are parsed in its own module, which hands a built store to [`ObjStoreRemote::new`].
//!
//! On a network remote the cost is round trips, not CPU: every batch (existence checks,
//! uploads, downloads, deletes) runs asynchronously with many requests in flight, and existence
//! checks list the remote instead of asking per object when that takes fewer requests, with
//! DVC's estimate of the remote's size (`dvc_objects`' `oids_exist`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjPath;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::odb::{Odb, Oid, Pending};
use super::remote::{Remote, verify_bytes};
use super::{Error, Result};
use crate::progress::Progress;
use crate::redact;

/// Objects up to this size are uploaded in one request; larger ones in parts of this size (or
/// larger above 78 GiB, see [`part_size`]), one after the other. object_store bounds every request as a whole (30 s from connecting to the
/// last byte), where DVC's clients bound each socket read or write, so vintner's requests must
/// stay small enough to finish within it on a slow link: boto3's own default (8 MiB parts above
/// 8 MiB; S3 wants parts of at least 5 MiB but the last). DVC uploads one request up to 100 MiB
/// (s3fs), 64 MiB (Azure's SDK) or 5 MiB (gcsfs), then parts of 50 MiB (s3fs, gcsfs) or 4 MiB
/// blocks (Azure).
const SINGLE_PUT_LIMIT: u64 = PART_SIZE as u64;
const PART_SIZE: usize = 8 << 20;

/// The most parts a multipart upload may have (S3, GCS's XML API); Azure allows 50,000 blocks.
const MAX_PARTS: u64 = 10_000;

/// Objects larger than this are downloaded in ranges of this size, one after the other, for
/// the same reason: each range is one request, finished well within the request timeout.
const GET_RANGE: u64 = 8 << 20;

/// The budget a download takes before its first request, whose answer tells the object's
/// size: all of a small object, or what is read of a larger one's first answer when the batch
/// has no room for more. [`NETWORK_JOBS`] such requests take half of [`BYTES_IN_FLIGHT`].
const FIRST_READ: u64 = 256 << 10;

/// Payload bytes a batch of transfers keeps in flight at most (a part or a range counts its
/// size, a small object its own): requests share the link, and each must finish within the
/// request timeout, so large objects go a few at a time while small ones still go `jobs` at once.
const BYTES_IN_FLIGHT: u32 = 32 << 20;

/// Requests in flight on a network remote when neither `-j` nor the remote's `jobs` says: a
/// request mostly waits on the network, so this is far above the core count.
pub const NETWORK_JOBS: usize = 64;

/// DVC's listing constants (`dvc_objects.fs.base.FileSystem`): keys per listing page, the
/// remote size above which listing is weighted against, and that weight.
const LIST_PAGE: f64 = 1000.0;
const TRAVERSE_THRESHOLD: usize = 500_000;
const TRAVERSE_WEIGHT: f64 = 5.0;
/// Listing pages one range of a parallel listing aims at: more ranges mean more requests in
/// flight but one partly filled page each.
const PAGES_PER_RANGE: f64 = 8.0;

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
    sorted_listing: bool,
    single_put: bool,
    rt: tokio::runtime::Runtime,
}

impl ObjStoreRemote {
    /// A remote called `name` (configured as `url`, shown redacted) over `store`, with objects
    /// under `prefix` (no leading or trailing `/` needed). `jobs` is the remote's own `jobs`
    /// setting, if any: how many requests it may have in flight.
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
            sorted_listing: true,
            single_put: false,
            rt,
        })
    }

    /// For a backend whose listings are not in key order (S3, GCS and Azure list in order):
    /// then a full listing is one sequential walk instead of parallel key ranges.
    pub fn with_unsorted_listing(mut self) -> ObjStoreRemote {
        self.sorted_listing = false;
        self
    }

    /// For a backend without multipart uploads, whose `put_multipart` gathers the parts in
    /// memory and sends them in one request at `complete` (WebDAV): then a large object is one
    /// PUT that holds the batch's budget until it ends, so only that many bytes are in memory.
    pub fn with_single_put(mut self) -> ObjStoreRemote {
        self.single_put = true;
        self
    }

    /// The folder objects of a kind live in: `<prefix>/files/md5`, or `<prefix>` for legacy
    /// (DVC 2) objects; empty for the bucket's root.
    fn base(&self, legacy: bool) -> String {
        match (self.prefix.is_empty(), legacy) {
            (_, false) if self.prefix.is_empty() => "files/md5".to_string(),
            (_, false) => format!("{}/files/md5", self.prefix),
            (_, true) => self.prefix.clone(),
        }
    }

    fn key(&self, oid: &Oid) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(oid.rel_path())
        } else {
            ObjPath::from(format!("{}/{}", self.prefix, oid.rel_path()))
        }
    }

    /// The object a key names, if it is one of `legacy`'s kind (`<base>/XX/<30 hex>[.dir]`).
    fn oid_of(&self, key: &str, legacy: bool) -> Option<Oid> {
        let base = self.base(legacy);
        let rel = if base.is_empty() {
            key
        } else {
            key.strip_prefix(base.as_str())?.strip_prefix('/')?
        };
        let (head, tail) = rel.split_once('/')?;
        let kind = if legacy {
            super::hash::HashKind::Md5Dos2Unix
        } else {
            super::hash::HashKind::Md5
        };
        Oid::from_layout(head, tail, kind)
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

    async fn head(&self, oid: &Oid) -> Result<bool> {
        match self.store.head(&self.key(oid)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// The ids in `oids` the remote lacks, one HEAD each, `jobs` at once.
    async fn heads(&self, oids: &[&Oid], jobs: usize) -> Result<Vec<Oid>> {
        let found: Vec<(Oid, bool)> = futures::stream::iter(oids.iter().copied())
            .map(|o| async move { self.head(o).await.map(|has| (o.clone(), has)) })
            .buffer_unordered(jobs.max(1))
            .try_collect()
            .await?;
        Ok(found
            .into_iter()
            .filter_map(|(o, has)| (!has).then_some(o))
            .collect())
    }

    /// The objects of one kind under `<base>/<sub>` (`sub` a two-hex folder), or all of them.
    async fn list_kind(&self, legacy: bool, sub: Option<&str>) -> Result<Vec<Oid>> {
        let base = self.base(legacy);
        let folder = match (base.is_empty(), sub) {
            (_, Some(sub)) if base.is_empty() => Some(sub.to_string()),
            (_, Some(sub)) => Some(format!("{base}/{sub}")),
            (true, None) => None,
            (false, None) => Some(base),
        };
        let folder = folder.map(ObjPath::from);
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(folder.as_ref())
            .try_collect()
            .await
            .map_err(|e| self.error(e))?;
        Ok(metas
            .iter()
            .filter_map(|m| self.oid_of(m.location.as_ref(), legacy))
            .collect())
    }

    /// The objects of one kind in the two-hex folders `first..last` (inclusive), in one
    /// listing that starts after `first - 1` and stops at the first key past `last` (the
    /// store lists in key order).
    async fn list_range(&self, legacy: bool, first: u8, last: u8) -> Result<Vec<Oid>> {
        let base = self.base(legacy);
        let join = |rel: String| {
            if base.is_empty() {
                rel
            } else {
                format!("{base}/{rel}")
            }
        };
        // `g` sorts after every hex digit and before the next folder.
        let end = join(format!("{last:02x}/g"));
        let folder = (!base.is_empty()).then(|| ObjPath::from(base.as_str()));
        let mut stream = if first == 0 {
            self.store.list(folder.as_ref())
        } else {
            let offset = ObjPath::from(join(format!("{:02x}/g", first - 1)));
            self.store.list_with_offset(folder.as_ref(), &offset)
        };
        let mut found = Vec::new();
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|e| self.error(e))?;
            let key = meta.location.as_ref();
            if key > end.as_str() {
                break;
            }
            if let Some(oid) = self.oid_of(key, legacy) {
                found.push(oid);
            }
        }
        Ok(found)
    }

    /// Every object of one kind, with `remote_size` the estimated count: one walk for a small
    /// remote, else key ranges listed in parallel (about [`PAGES_PER_RANGE`] pages each).
    /// `sample` holds what the estimate listed of folder `00`, which is not listed again.
    async fn list_all_kind(
        &self,
        legacy: bool,
        remote_size: usize,
        sample: Vec<Oid>,
        jobs: usize,
    ) -> Result<HashSet<Oid>> {
        let ranges = (remote_size as f64 / LIST_PAGE / PAGES_PER_RANGE).floor() as usize;
        // The legacy layout sits at the prefix's root, beside `files/`: only ranges keep the
        // listing to its two-hex folders.
        if !self.sorted_listing || (ranges < 2 && !legacy) {
            return Ok(self.list_kind(legacy, None).await?.into_iter().collect());
        }
        let ranges = ranges.clamp(1, 255);
        let bounds: Vec<(u8, u8)> = (0..ranges)
            .map(|i| {
                let first = 1 + i * 255 / ranges;
                let last = (i + 1) * 255 / ranges;
                (first as u8, last as u8)
            })
            .collect();
        let parts: Vec<Vec<Oid>> = futures::stream::iter(bounds)
            .map(|(first, last)| self.list_range(legacy, first, last))
            .buffer_unordered(jobs.max(1))
            .try_collect()
            .await?;
        let mut all: HashSet<Oid> = sample.into_iter().collect();
        all.extend(parts.into_iter().flatten());
        Ok(all)
    }

    /// The ids of one kind the remote lacks, choosing as DVC does: with the remote's size
    /// estimated from one folder (`00`, 1/256 of the keys), list everything when that takes
    /// fewer requests than one HEAD per object, else HEAD the rest, `jobs` at once.
    async fn missing_kind(&self, oids: &[&Oid], legacy: bool, jobs: usize) -> Result<Vec<Oid>> {
        if oids.len() <= 1 {
            return self.heads(oids, jobs).await;
        }
        let sample = self.list_kind(legacy, Some("00")).await?;
        let remote_size = 256 * sample.len().max(1);
        let pages = remote_size as f64 / LIST_PAGE;
        let weight = if remote_size > TRAVERSE_THRESHOLD {
            pages * TRAVERSE_WEIGHT
        } else {
            pages
        };
        if (oids.len() as f64) < weight {
            let seen: HashSet<&Oid> = sample.iter().collect();
            let rest: Vec<&Oid> = oids.iter().copied().filter(|o| !seen.contains(o)).collect();
            return self.heads(&rest, jobs).await;
        }
        let present = self
            .list_all_kind(legacy, remote_size, sample, jobs)
            .await?;
        Ok(oids
            .iter()
            .filter(|o| !present.contains(**o))
            .map(|o| (*o).clone())
            .collect())
    }

    async fn put_async(&self, src: &Path, oid: &Oid, budget: &Semaphore) -> Result<()> {
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
        // The batch's budget is taken before the bytes are read: what waits holds no memory.
        // One PUT: the object appears whole under its name or not at all. A `single_put`
        // backend would send a multipart upload as one request at `complete` anyway: the batch's
        // budget is held for the whole object (at most all of it) until that request ends.
        if size <= SINGLE_PUT_LIMIT || self.single_put {
            let _permit = take(budget, size).await;
            let bytes = std::fs::read(src).map_err(Error::io("read", src))?;
            check(super::hash::md5_of(&bytes, oid.kind()))?;
            return self
                .store
                .put(&key, PutPayload::from(bytes))
                .await
                .map(drop)
                .map_err(|e| self.error(e));
        }
        use std::io::Read;
        // The file is opened first: an upload is only started when there is something to send.
        let mut file = std::fs::File::open(src).map_err(Error::io("open", src))?;
        // Multipart: parts are invisible until `complete`, which is refused (and the upload
        // aborted) when the content does not match its id. The guard aborts the upload on
        // every way out but `complete`, a cancelled batch included.
        let mut upload = Upload::new(
            self.store
                .put_multipart(&key)
                .await
                .map_err(|e| self.error(e))?,
        );
        let part_size = part_size(size);
        let mut hasher = super::odb::Hasher::new(oid.kind());
        loop {
            let permit = take(budget, part_size as u64).await;
            let mut part = vec![0u8; part_size];
            let mut filled = 0;
            while filled < part_size {
                let n = match file.read(&mut part[filled..]) {
                    Ok(n) => n,
                    Err(e) => {
                        upload.abort().await;
                        return Err(Error::io("read", src)(e));
                    }
                };
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
            let sent = upload.put_part(PutPayload::from(part)).await;
            drop(permit);
            if let Err(e) = sent {
                upload.abort().await;
                return Err(self.error(e));
            }
            if filled < part_size {
                break;
            }
        }
        if let Err(e) = check(hasher.finish()) {
            upload.abort().await;
            return Err(e);
        }
        upload.complete().await.map_err(|e| self.error(e))
    }

    /// Streams `oid` into a new cache file while hashing it; the file gets its name only once
    /// the hash matches. An object larger than [`GET_RANGE`] is read in ranges of that size.
    async fn get_async(&self, oid: &Oid, cache: &Odb, budget: &Semaphore) -> Result<()> {
        let dest = cache.path(oid);
        let key = self.key(oid);
        // One GET, sent with a small share of the budget ([`FIRST_READ`]) and grown to what
        // the answer holds (up to one range) when the batch has room: an object that fits
        // costs one request. Otherwise only the share is read from it, and the rest comes in
        // ranges, each sent when the batch has room. Nothing waits with an answer open: the
        // request timeout runs from sending, and an unread answer still takes the link.
        let reserved = take(budget, FIRST_READ).await;
        let result = match self.store.get(&key).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Err(self.missing_error(oid)),
            Err(e) => return Err(self.error(e)),
        };
        let size = result.meta.size;
        let e_tag = result.meta.e_tag.clone();
        let mut pending = cache.begin(oid, &dest)?;
        let mut carry: Vec<u8> = Vec::new();
        let want = size.min(GET_RANGE);
        let grown = if want > FIRST_READ {
            budget.try_acquire_many((want - FIRST_READ) as u32).ok()
        } else {
            None
        };
        let first = if grown.is_some() {
            want
        } else {
            want.min(FIRST_READ)
        };
        self.copy_stream(result.into_stream(), 0, first, &mut pending, &mut carry)
            .await?;
        drop((grown, reserved));
        let mut offset = first;
        while offset < size {
            let end = (offset + GET_RANGE).min(size);
            let _permit = take(budget, end - offset).await;
            // A copy pushed again meanwhile is refused by its ETag rather than by the hash.
            let options = GetOptions::default()
                .with_range(Some(offset..end))
                .with_if_match(e_tag.clone());
            match self.store.get_opts(&key, options).await {
                Ok(part) => {
                    self.copy_stream(
                        part.into_stream(),
                        0,
                        end - offset,
                        &mut pending,
                        &mut carry,
                    )
                    .await?;
                    offset = end;
                }
                Err(e) if not_partial(&e) => {
                    // A server without ranges (a plain HTTP remote) answers with the whole
                    // object: the rest of it is read from that answer.
                    let options = GetOptions::default().with_if_match(e_tag.clone());
                    let whole = self
                        .store
                        .get_opts(&key, options)
                        .await
                        .map_err(|e| self.get_error(oid, e))?;
                    self.copy_stream(whole.into_stream(), offset, size, &mut pending, &mut carry)
                        .await?;
                    offset = size;
                }
                Err(e) => return Err(self.get_error(oid, e)),
            }
        }
        if !carry.is_empty() {
            pending.write(&carry)?;
        }
        pending.commit(&format!(
            "object `{}` of {}",
            oid.rel_path(),
            self.describe()
        ))
    }

    /// The error of a GET after the first: a failed `if_match` means the object changed.
    fn get_error(&self, oid: &Oid, e: object_store::Error) -> Error {
        match e {
            object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. } => {
                Error::Remote {
                    remote: self.name.clone(),
                    message: format!(
                        "object `{}` changed on the remote while it was downloaded \
                         (pushed again or deleted); pull again",
                        oid.rel_path()
                    ),
                }
            }
            e => self.error(e),
        }
    }

    /// Writes a response body into `pending`, re-chunked to 1 MiB so that the legacy hash sees
    /// DVC's chunk boundaries; `carry` holds what is left of an incomplete chunk. The body's
    /// first `skip` bytes are passed over and at most `limit` bytes written, then the rest of
    /// the body is left unread.
    async fn copy_stream<B: AsRef<[u8]>>(
        &self,
        mut stream: futures::stream::BoxStream<'static, object_store::Result<B>>,
        mut skip: u64,
        mut limit: u64,
        pending: &mut Pending,
        carry: &mut Vec<u8>,
    ) -> Result<()> {
        while limit > 0 {
            let Some(chunk) = stream.next().await else {
                break;
            };
            let chunk = chunk.map_err(|e| self.error(e))?;
            let mut chunk = chunk.as_ref();
            let passed = skip.min(chunk.len() as u64);
            chunk = &chunk[passed as usize..];
            skip -= passed;
            let kept = limit.min(chunk.len() as u64);
            chunk = &chunk[..kept as usize];
            limit -= kept;
            carry.extend_from_slice(chunk);
            while carry.len() >= super::hash::CHUNK {
                let rest = carry.split_off(super::hash::CHUNK);
                pending.write(carry)?;
                *carry = rest;
            }
        }
        Ok(())
    }
}

/// Whether a ranged GET was answered with the whole object (HTTP 200). object_store refuses
/// that answer: the HTTP store as `NotSupported` (the only reason a GET is), the cloud stores
/// with an error of a private type, known only by its message.
fn not_partial(e: &object_store::Error) -> bool {
    match e {
        object_store::Error::NotSupported { .. } => true,
        object_store::Error::Generic { source, .. } => {
            source.to_string() == "Received non-partial response when range requested"
        }
        _ => false,
    }
}

/// The part size of a multipart upload of `size` bytes: [`PART_SIZE`], or larger when that
/// would take more than [`MAX_PARTS`] parts, rounded up to a whole MiB (as boto3 adapts it).
fn part_size(size: u64) -> usize {
    const MIB: u64 = 1 << 20;
    let least = size.div_ceil(MAX_PARTS).max(PART_SIZE as u64);
    (least.div_ceil(MIB) * MIB) as usize
}

/// A multipart upload that is aborted unless it completes: on an error explicitly, and when
/// dropped unfinished (a sibling's error or panic cancels the batch) by a task spawned on the
/// runtime, so no invisible parts are left behind to be billed.
struct Upload {
    inner: Option<Box<dyn object_store::MultipartUpload>>,
}

impl Upload {
    fn new(inner: Box<dyn object_store::MultipartUpload>) -> Upload {
        Upload { inner: Some(inner) }
    }

    fn put_part(&mut self, data: PutPayload) -> object_store::UploadPart {
        match self.inner.as_mut() {
            Some(upload) => upload.put_part(data),
            None => Box::pin(async { Ok(()) }),
        }
    }

    /// Completes the upload; a refused `complete` is aborted too.
    async fn complete(mut self) -> object_store::Result<()> {
        let Some(mut upload) = self.inner.take() else {
            return Ok(());
        };
        match upload.complete().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }

    /// Aborts the upload; its own error is of no use beside the one that made it necessary.
    async fn abort(mut self) {
        if let Some(mut upload) = self.inner.take() {
            let _ = upload.abort().await;
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(mut upload) = self.inner.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

/// A share of a batch's [`BYTES_IN_FLIGHT`] for `bytes` of payload (at least one byte, at most
/// the whole budget), released when dropped.
async fn take(budget: &Semaphore, bytes: u64) -> Option<SemaphorePermit<'_>> {
    let units = bytes.clamp(1, u64::from(BYTES_IN_FLIGHT)) as u32;
    // The semaphore is never closed; `None` would only mean no limit.
    budget.acquire_many(units).await.ok()
}

fn budget() -> Semaphore {
    Semaphore::new(BYTES_IN_FLIGHT as usize)
}

impl Remote for ObjStoreRemote {
    fn name(&self) -> &str {
        &self.name
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn default_jobs(&self) -> usize {
        self.jobs
            .unwrap_or_else(|| NETWORK_JOBS.max(4 * super::remote::cores()))
    }

    fn contains(&self, oid: &Oid) -> Result<bool> {
        self.rt.block_on(self.head(oid))
    }

    fn missing_with(&self, oids: &[Oid], jobs: usize) -> Result<Vec<Oid>> {
        let (legacy, md5): (Vec<&Oid>, Vec<&Oid>) = oids.iter().partition(|o| o.legacy);
        self.rt.block_on(async {
            let mut missing = self.missing_kind(&md5, false, jobs).await?;
            if !legacy.is_empty() {
                missing.extend(self.missing_kind(&legacy, true, jobs).await?);
            }
            Ok(missing)
        })
    }

    fn put(&self, src: &Path, oid: &Oid) -> Result<()> {
        self.rt.block_on(self.put_async(src, oid, &budget()))
    }

    fn put_many(
        &self,
        items: &[(PathBuf, Oid)],
        jobs: usize,
        progress: &dyn Progress,
    ) -> Result<Vec<Result<()>>> {
        let mut results: Vec<Option<Result<()>>> = (0..items.len()).map(|_| None).collect();
        let budget = &budget();
        self.rt.block_on(async {
            let mut done = futures::stream::iter(items.iter().enumerate())
                .map(|(i, (src, oid))| async move { (i, self.put_async(src, oid, budget).await) })
                .buffer_unordered(jobs.max(1));
            while let Some((i, r)) = done.next().await {
                results[i] = Some(r);
                progress.advance(1);
            }
        });
        Ok(results.into_iter().flatten().collect())
    }

    fn get(&self, oid: &Oid, cache: &Odb) -> Result<()> {
        self.rt.block_on(self.get_async(oid, cache, &budget()))
    }

    fn get_many(
        &self,
        oids: &[Oid],
        cache: &Odb,
        jobs: usize,
        progress: &dyn Progress,
    ) -> Result<Vec<Result<()>>> {
        let mut results: Vec<Option<Result<()>>> = (0..oids.len()).map(|_| None).collect();
        let budget = &budget();
        self.rt.block_on(async {
            let mut done = futures::stream::iter(oids.iter().enumerate())
                .map(|(i, oid)| async move { (i, self.get_async(oid, cache, budget).await) })
                .buffer_unordered(jobs.max(1));
            while let Some((i, r)) = done.next().await {
                results[i] = Some(r);
                progress.advance(1);
            }
        });
        Ok(results.into_iter().flatten().collect())
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

    fn list(&self) -> Result<Vec<Oid>> {
        let jobs = self.default_jobs();
        self.rt.block_on(async {
            let mut all = Vec::new();
            for legacy in [false, true] {
                let sample = self.list_kind(legacy, Some("00")).await?;
                let size = 256 * sample.len().max(1);
                all.extend(self.list_all_kind(legacy, size, sample, jobs).await?);
            }
            all.sort();
            Ok(all)
        })
    }

    fn delete(&self, oids: &[Oid], _jobs: usize) -> Result<()> {
        let keys: Vec<object_store::Result<ObjPath>> =
            oids.iter().map(|o| Ok(self.key(o))).collect();
        self.rt.block_on(async {
            // The backend batches (S3: up to 1,000 keys per request).
            let mut done = self
                .store
                .delete_stream(futures::stream::iter(keys).boxed());
            while let Some(r) = done.next().await {
                match r {
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.error(e)),
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::MultipartUpload;
    use object_store::memory::InMemory;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn remote(prefix: &str) -> ObjStoreRemote {
        ObjStoreRemote::new("mem", "mem://", Arc::new(InMemory::new()), prefix, None).unwrap()
    }

    fn oid(i: usize, legacy: bool) -> Oid {
        let kind = if legacy {
            super::super::hash::HashKind::Md5Dos2Unix
        } else {
            super::super::hash::HashKind::Md5
        };
        Oid::new(
            super::super::hash::md5_bytes(i.to_string().as_bytes()),
            kind,
        )
    }

    /// A store that counts what is asked of it, can refuse `complete`, hang a part, and
    /// replace an object once its first GET is answered.
    #[derive(Debug, Default)]
    struct Spy {
        inner: InMemory,
        gets: AtomicUsize,
        multiparts: AtomicUsize,
        aborted: tokio::sync::Notify,
        aborts: AtomicUsize,
        refuse_complete: bool,
        hang_parts: bool,
        part_started: tokio::sync::Notify,
        replace_after_get: std::sync::Mutex<Option<Vec<u8>>>,
    }

    impl std::fmt::Display for Spy {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Spy")
        }
    }

    #[derive(Debug)]
    struct SpyUpload {
        inner: Box<dyn MultipartUpload>,
        spy: Arc<Spy>,
    }

    #[async_trait::async_trait]
    impl MultipartUpload for SpyUpload {
        fn put_part(&mut self, data: PutPayload) -> object_store::UploadPart {
            if self.spy.hang_parts {
                self.spy.part_started.notify_one();
                return Box::pin(futures::future::pending());
            }
            self.inner.put_part(data)
        }

        async fn complete(&mut self) -> object_store::Result<object_store::PutResult> {
            if self.spy.refuse_complete {
                return Err(object_store::Error::NotImplemented {
                    operation: "complete".into(),
                    implementer: "Spy".into(),
                });
            }
            self.inner.complete().await
        }

        async fn abort(&mut self) -> object_store::Result<()> {
            self.spy.aborts.fetch_add(1, Ordering::SeqCst);
            self.spy.aborted.notify_one();
            self.inner.abort().await
        }
    }

    /// The store's side, with the spy shared by the uploads it starts.
    #[derive(Debug)]
    struct SpyStore(Arc<Spy>);

    impl std::fmt::Display for SpyStore {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SpyStore")
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for SpyStore {
        async fn put_opts(
            &self,
            location: &ObjPath,
            payload: PutPayload,
            opts: object_store::PutOptions,
        ) -> object_store::Result<object_store::PutResult> {
            self.0.inner.put_opts(location, payload, opts).await
        }

        async fn put_multipart_opts(
            &self,
            location: &ObjPath,
            opts: object_store::PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.0.multiparts.fetch_add(1, Ordering::SeqCst);
            let inner = self.0.inner.put_multipart_opts(location, opts).await?;
            Ok(Box::new(SpyUpload {
                inner,
                spy: Arc::clone(&self.0),
            }))
        }

        async fn get_opts(
            &self,
            location: &ObjPath,
            options: GetOptions,
        ) -> object_store::Result<object_store::GetResult> {
            self.0.gets.fetch_add(1, Ordering::SeqCst);
            let got = self.0.inner.get_opts(location, options).await;
            let replacement = self.0.replace_after_get.lock().unwrap().take();
            if let Some(bytes) = replacement {
                self.0.inner.put(location, PutPayload::from(bytes)).await?;
            }
            got
        }

        fn delete_stream(
            &self,
            locations: futures::stream::BoxStream<'static, object_store::Result<ObjPath>>,
        ) -> futures::stream::BoxStream<'static, object_store::Result<ObjPath>> {
            self.0.inner.delete_stream(locations)
        }

        fn list(
            &self,
            prefix: Option<&ObjPath>,
        ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>>
        {
            self.0.inner.list(prefix)
        }

        async fn list_with_delimiter(
            &self,
            prefix: Option<&ObjPath>,
        ) -> object_store::Result<object_store::ListResult> {
            self.0.inner.list_with_delimiter(prefix).await
        }

        async fn copy_opts(
            &self,
            from: &ObjPath,
            to: &ObjPath,
            options: object_store::CopyOptions,
        ) -> object_store::Result<()> {
            self.0.inner.copy_opts(from, to, options).await
        }
    }

    fn spied(spy: Spy) -> (ObjStoreRemote, Arc<Spy>) {
        let spy = Arc::new(spy);
        let store = Arc::new(SpyStore(Arc::clone(&spy)));
        let r = ObjStoreRemote::new("spy", "spy://", store, "p", None).unwrap();
        (r, spy)
    }

    fn patterned(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i % 251) as u8 ^ (i >> 20) as u8)
            .collect()
    }

    /// A cache file holding `bytes`, and its id.
    fn cache_file(dir: &Path, bytes: &[u8]) -> (PathBuf, Oid) {
        let kind = super::super::hash::HashKind::Md5;
        let oid = Oid::new(super::super::hash::md5_of(bytes, kind), kind);
        let path = dir.join("object");
        std::fs::write(&path, bytes).unwrap();
        (path, oid)
    }

    fn put(r: &ObjStoreRemote, o: &Oid) {
        r.rt.block_on(r.store.put(&r.key(o), PutPayload::from(vec![1u8])))
            .unwrap();
    }

    #[test]
    fn keys_parse_back_to_objects_of_their_layout_only() {
        let r = remote("store/");
        let md5 = oid(1, false);
        assert_eq!(r.oid_of(r.key(&md5).as_ref(), false), Some(md5.clone()));
        assert_eq!(r.oid_of(r.key(&md5).as_ref(), true), None);
        let legacy = oid(1, true);
        assert_eq!(r.oid_of(r.key(&legacy).as_ref(), true), Some(legacy));
        assert_eq!(r.oid_of("store/files/md5/ab/short", false), None);
        assert_eq!(
            r.oid_of("other/files/md5/ab/0123456789abcdef0123456789abcd", false),
            None
        );
    }

    #[test]
    fn missing_and_list_agree_with_what_is_stored_whichever_way_they_ask() {
        // A small remote asked about many: one listing; a large one asked about a few: HEADs;
        // a large one asked about all: key ranges listed in parallel.
        for (stored, asked) in [(300usize, 2000usize), (20_000, 10), (20_000, 20_000)] {
            let r = remote("p");
            let all: Vec<Oid> = (0..stored.max(asked)).map(|i| oid(i, i % 7 == 0)).collect();
            for o in all.iter().take(stored) {
                put(&r, o);
            }
            let kept: HashSet<&Oid> = all[..stored].iter().collect();
            let query: Vec<Oid> = all.iter().rev().take(asked).cloned().collect();
            let mut missing = r.missing_with(&query, 8).unwrap();
            missing.sort();
            let mut expected: Vec<Oid> = query
                .iter()
                .filter(|o| !kept.contains(o))
                .cloned()
                .collect();
            expected.sort();
            assert_eq!(missing, expected, "{stored} stored, {asked} asked");
            let listed = r.list().unwrap();
            let mut want: Vec<Oid> = all[..stored].to_vec();
            want.sort();
            assert_eq!(listed, want);
            r.delete(&want[..10], 4).unwrap();
            assert_eq!(r.list().unwrap().len(), stored - 10);
        }
    }

    #[test]
    fn large_objects_download_in_ranges_and_bad_bytes_leave_nothing() {
        // Three and a half ranges; the legacy kind also checks the 1 MiB re-chunking across
        // range boundaries.
        let bytes: Vec<u8> = (0..(GET_RANGE * 7 / 2) as usize)
            .map(|i| (i % 251) as u8 ^ (i >> 20) as u8)
            .collect();
        for kind in [
            super::super::hash::HashKind::Md5,
            super::super::hash::HashKind::Md5Dos2Unix,
        ] {
            let r = remote("p");
            let good = Oid::new(super::super::hash::md5_of(&bytes, kind), kind);
            r.rt.block_on(r.store.put(&r.key(&good), PutPayload::from(bytes.clone())))
                .unwrap();
            // Stored under a name its bytes do not hash to.
            let mut other = bytes.clone();
            other[bytes.len() - 1] ^= 1;
            let bad = Oid::new(super::super::hash::md5_of(&other, kind), kind);
            r.rt.block_on(r.store.put(&r.key(&bad), PutPayload::from(bytes.clone())))
                .unwrap();

            let dir = tempfile::tempdir().unwrap();
            let cache = Odb::new(dir.path());
            let results = r
                .get_many(
                    &[good.clone(), bad.clone()],
                    &cache,
                    4,
                    &crate::progress::Silent,
                )
                .unwrap();
            assert!(results[0].is_ok(), "{:?}", results[0]);
            assert_eq!(std::fs::read(cache.path(&good)).unwrap(), bytes);
            let err = results[1].as_ref().unwrap_err().to_string();
            assert!(err.contains("Checksum mismatch"), "{err}");
            assert!(!cache.path(&bad).exists());
            let files: Vec<_> = walkdir::WalkDir::new(dir.path())
                .into_iter()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_file())
                .map(|e| e.path().to_path_buf())
                .collect();
            assert_eq!(files, vec![cache.path(&good)]);
        }
    }

    #[test]
    fn part_size_keeps_uploads_within_ten_thousand_parts_in_whole_mib() {
        const MIB: u64 = 1 << 20;
        assert_eq!(part_size(0), PART_SIZE);
        assert_eq!(part_size(9 * MIB), PART_SIZE);
        assert_eq!(part_size(MAX_PARTS * PART_SIZE as u64), PART_SIZE);
        assert_eq!(part_size(MAX_PARTS * PART_SIZE as u64 + 1), 9 << 20);
        // S3's largest object, 5 TiB: 525 MiB parts (boto3's answer too).
        assert_eq!(part_size(5 << 40), 525 << 20);
        for size in [80u64 << 30, 100 << 30, (5 << 40) - 1, 12_345_678_901_234] {
            let part = part_size(size) as u64;
            assert_eq!(part % MIB, 0, "{size}");
            assert!(size.div_ceil(part) <= MAX_PARTS, "{size}: {part}");
        }
    }

    #[test]
    fn a_refused_complete_is_aborted() {
        let (r, spy) = spied(Spy {
            refuse_complete: true,
            ..Spy::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let (src, oid) = cache_file(dir.path(), &patterned(PART_SIZE + 10));
        let err = r.put(&src, &oid).unwrap_err().to_string();
        assert!(err.contains("complete"), "{err}");
        assert_eq!(spy.multiparts.load(Ordering::SeqCst), 1);
        assert_eq!(spy.aborts.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_upload_cancelled_with_its_batch_is_aborted() {
        let (r, spy) = spied(Spy {
            hang_parts: true,
            ..Spy::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let (src, oid) = cache_file(dir.path(), &patterned(PART_SIZE + 10));
        let budget = budget();
        r.rt.block_on(async {
            // The first part never finishes; the batch gives up on it (as when a sibling
            // fails), dropping the upload mid-way.
            tokio::select! {
                _ = r.put_async(&src, &oid, &budget) => panic!("a hung part finished"),
                _ = spy.part_started.notified() => {}
            }
            tokio::time::timeout(std::time::Duration::from_secs(20), spy.aborted.notified())
                .await
                .expect("the dropped upload was never aborted");
        });
        assert_eq!(spy.aborts.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_single_put_remote_uploads_large_objects_in_one_request() {
        let (r, spy) = spied(Spy::default());
        let r = r.with_single_put();
        let dir = tempfile::tempdir().unwrap();
        let bytes = patterned(PART_SIZE * 2 + 10);
        let (src, oid) = cache_file(dir.path(), &bytes);
        r.put(&src, &oid).unwrap();
        assert_eq!(spy.multiparts.load(Ordering::SeqCst), 0);
        assert_eq!(r.read_verified(&oid).unwrap(), bytes);
    }

    #[test]
    fn each_object_costs_one_get_per_range_even_when_the_budget_is_busy() {
        // (size, budget other transfers hold for a while, GETs): with room for the first
        // share only, the first answer is read that far and the rest is one range.
        let all = BYTES_IN_FLIGHT;
        let share = FIRST_READ as u32;
        for (len, held, gets) in [
            (1000usize, all - 10, 1usize),
            (0, all - 10, 1),
            ((GET_RANGE * 7 / 2) as usize, all - 10, 4),
            (1 << 20, all - share - 10, 2),
            (GET_RANGE as usize, 0, 1),
        ] {
            let (r, spy) = spied(Spy::default());
            let bytes = patterned(len);
            let kind = super::super::hash::HashKind::Md5;
            let oid = Oid::new(super::super::hash::md5_of(&bytes, kind), kind);
            r.rt.block_on(r.store.put(&r.key(&oid), PutPayload::from(bytes.clone())))
                .unwrap();
            let dir = tempfile::tempdir().unwrap();
            let cache = Odb::new(dir.path());
            let budget = budget();
            let held = budget.try_acquire_many(held).unwrap();
            let (got, ()) = r.rt.block_on(async {
                futures::join!(r.get_async(&oid, &cache, &budget), async {
                    for _ in 0..20 {
                        tokio::task::yield_now().await;
                    }
                    drop(held);
                })
            });
            got.unwrap();
            assert_eq!(std::fs::read(cache.path(&oid)).unwrap(), bytes);
            assert_eq!(spy.gets.load(Ordering::SeqCst), gets, "{len} bytes");
        }
    }

    #[test]
    fn an_object_pushed_again_during_its_download_is_named() {
        let (r, spy) = spied(Spy::default());
        let bytes = patterned((GET_RANGE * 2) as usize);
        let kind = super::super::hash::HashKind::Md5;
        let oid = Oid::new(super::super::hash::md5_of(&bytes, kind), kind);
        r.rt.block_on(r.store.put(&r.key(&oid), PutPayload::from(bytes.clone())))
            .unwrap();
        let mut other = bytes.clone();
        other[0] ^= 1;
        *spy.replace_after_get.lock().unwrap() = Some(other);
        let dir = tempfile::tempdir().unwrap();
        let cache = Odb::new(dir.path());
        let err = r.get(&oid, &cache).unwrap_err().to_string();
        assert!(err.contains("changed on the remote"), "{err}");
        assert!(err.contains(&oid.rel_path()), "{err}");
        assert!(!cache.path(&oid).exists());
    }
}
