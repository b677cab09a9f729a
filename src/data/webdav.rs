//! WebDAV (`webdav://`, `webdavs://`: read-write) and plain HTTP (`http://`, `https://`:
//! read-only, as in DVC) data remotes, through `object_store`'s HTTP client. DVC's options:
//! `user` and `password` (keep the password in `config.local`), `token` (a bearer token), or
//! user info in the URL. On WebDAV an object is uploaded under a temporary name beside its final
//! one and moved into place on the server, so no reader ever sees half an object under its
//! final name. Only builds the client; the layout and transfers are [`super::objstore`]'s.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::http::{HttpBuilder, HttpStore};
use object_store::path::Path as ObjPath;
use object_store::{
    ClientOptions, CopyOptions, GetOptions, GetResult, HeaderMap, HeaderValue, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, UploadPart,
};

use super::Result;
use super::config::RemoteConfig;
use super::objstore::{ObjStoreRemote, retry_config};
use super::remote_opts::Opts;
use crate::redact;

/// Builds the client for a `webdav(s)://` or `http(s)://` remote.
pub fn open(rc: &RemoteConfig) -> Result<ObjStoreRemote> {
    let mut o = Opts::new(rc);
    let (scheme, rest) = rc
        .url
        .split_once("://")
        .ok_or_else(|| o.fail("the URL has no scheme"))?;
    let (http_scheme, read_only) = match scheme {
        "webdav" => ("http", false),
        "webdavs" => ("https", false),
        "http" => ("http", true),
        "https" => ("https", true),
        other => return Err(o.fail(format!("`{other}://` is not a WebDAV or HTTP URL"))),
    };
    let (base, url_creds) = redact::split_credentials(&format!("{http_scheme}://{rest}"));
    if let Some(c) = &url_creds
        && let Some(p) = &c.password
    {
        o.remember(p);
    }
    let base = base.split(['?', '#']).next().unwrap_or_default();
    let base = base.trim_end_matches('/').to_string();
    if base.len() <= http_scheme.len() + 3 {
        return Err(o.fail(format!(
            "`{}` names no host; write it as `{scheme}://<host>[:port]/<path>`",
            redact::url(&rc.url)
        )));
    }

    let mut headers = HeaderMap::new();
    let user = o
        .get("user")
        .map(str::to_string)
        .or_else(|| url_creds.as_ref().map(|c| c.user.clone()));
    let password = o
        .secret("password", &[])
        .or_else(|| url_creds.as_ref().and_then(|c| c.password.clone()));
    let token = o.secret("token", &[]);
    let header = if let Some(token) = token {
        Some(("authorization", format!("Bearer {token}")))
    } else if let Some(name) = o.get("custom_auth_header") {
        // DVC's `custom_auth_header`: the password goes in a header of that name.
        Some((name, password.unwrap_or_default()))
    } else if let Some(user) = user {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{user}:{}", password.unwrap_or_default()));
        o.remember(&basic);
        Some(("authorization", format!("Basic {basic}")))
    } else {
        None
    };
    if let Some((name, value)) = header {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            o.fail(format!(
                "`custom_auth_header` `{name}` is not a header name"
            ))
        })?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            o.fail("its `user`, `password` or `token` holds characters a header cannot carry")
        })?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    let verify_tls = o.get("ssl_verify").is_none_or(|v| v != "false");
    let mut http = reqwest::Client::builder()
        .default_headers(headers.clone())
        .connect_timeout(std::time::Duration::from_secs(10));
    if !verify_tls {
        http = http.tls_danger_accept_invalid_certs(true);
    }
    let folders = Folders {
        http: http.build().map_err(|e| o.fail(e.to_string()))?,
        base: reqwest::Url::parse(&base).map_err(|e| {
            o.fail(format!(
                "`{}` is not a valid URL: {e}",
                redact::url(&rc.url)
            ))
        })?,
        made: Mutex::new(HashMap::new()),
    };
    let options = ClientOptions::new()
        .with_default_headers(headers)
        .with_allow_http(http_scheme == "http")
        .with_allow_invalid_certificates(!verify_tls);
    let inner = HttpBuilder::new()
        .with_url(&base)
        .with_client_options(options)
        .with_retry(retry_config())
        .build()
        .map_err(|e| o.fail(e.to_string()))?;
    let store = Dav {
        inner: Arc::new(inner),
        folders: Arc::new(folders),
        read_only: read_only.then(|| scheme.to_string()),
        root: url_root(&base),
    };
    Ok(
        ObjStoreRemote::new(&rc.name, &rc.url, Arc::new(store), "", o.jobs())?
            .with_unsorted_listing()
            .with_single_put(),
    )
}

/// The HTTP store with atomic uploads (temporary name, then a server-side move), uploads of any
/// size (parts gathered, then one `PUT`), and, for `http(s)://`, every write refused.
/// The decoded path of `base` (`http://host/dav/a%20b` → `dav/a b`).
fn url_root(base: &str) -> String {
    let path = base
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or("", |(_, path)| path);
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .trim_matches('/')
        .to_string()
}

/// `location` without the leading `root/`, as the store's own key.
fn relative(root: &str, location: ObjPath) -> ObjPath {
    if root.is_empty() {
        return location;
    }
    let rest = location
        .as_ref()
        .strip_prefix(root)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| ObjPath::parse(r).ok());
    rest.unwrap_or(location)
}

struct Dav {
    inner: Arc<HttpStore>,
    folders: Arc<Folders>,
    /// The scheme, when the remote is read-only.
    read_only: Option<String>,
    /// The base URL's path (decoded, no outer `/`): HttpStore's listings name objects by their
    /// whole URL path, which is stripped back to the store's own keys.
    root: String,
}

impl fmt::Debug for Dav {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dav({})", self.inner)
    }
}

impl fmt::Display for Dav {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

/// Why a write to a read-only remote is refused.
#[derive(Debug)]
struct ReadOnly(String);

impl fmt::Display for ReadOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{0}://` remotes are read-only (as in DVC): nothing can be pushed to them; to push \
             over HTTP, serve the folder with WebDAV and use a `webdav://` or `webdavs://` URL",
            self.0
        )
    }
}

impl std::error::Error for ReadOnly {}

impl Dav {
    fn check_writable(&self) -> object_store::Result<()> {
        match &self.read_only {
            Some(scheme) => Err(object_store::Error::NotSupported {
                source: Box::new(ReadOnly(scheme.clone())),
            }),
            None => Ok(()),
        }
    }

    /// `location` under a fresh temporary name in the same folder.
    fn temp_for(location: &ObjPath) -> ObjPath {
        let name = format!(
            ".{}.vintner-{:016x}.tmp",
            location.filename().unwrap_or("object"),
            rand::random::<u64>()
        );
        let s = location.as_ref();
        match s.rsplit_once('/') {
            Some((dir, _)) => ObjPath::from(format!("{dir}/{name}")),
            None => ObjPath::from(name),
        }
    }
}

/// Creates the folders objects go in. `object_store` creates missing parents only after a
/// failed `PUT`, and fails when a parallel upload created one of them first; here each folder
/// is made once, top-down, and "already there" counts as success. Uploads into a folder whose
/// `MKCOL` is under way wait for its answer rather than ask again.
struct Folders {
    http: reqwest::Client,
    /// The remote's URL (`http(s)://host[:port]/path`).
    base: reqwest::Url,
    /// Each folder's `MKCOL`, by path below the host: set once it is known to exist.
    made: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<()>>>>,
}

impl Folders {
    /// The URL of `location`, a path below the remote's URL.
    fn url(&self, location: &ObjPath) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(location.parts());
        }
        url
    }

    /// Renames `from` to `to` (replacing it) with one `MOVE`; whether the server did.
    async fn rename(&self, from: &ObjPath, to: &ObjPath) -> bool {
        let method = reqwest::Method::from_bytes(b"MOVE").expect("a valid method");
        self.http
            .request(method, self.url(from))
            .header("Destination", self.url(to).as_str())
            .header("Overwrite", "T")
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// Makes every folder from the host's root down to `dir` (below the remote's URL).
    async fn ensure(&self, dir: &[&str]) {
        let own: Vec<&str> = self
            .base
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        let mut urls = Vec::new();
        for i in 0..own.len() {
            let mut url = self.base.clone();
            url.set_path(&format!("/{}", own[..=i].join("/")));
            urls.push(url);
        }
        for j in 0..dir.len() {
            let mut url = self.base.clone();
            if let Ok(mut path) = url.path_segments_mut() {
                path.pop_if_empty().extend(&dir[..=j]);
            }
            urls.push(url);
        }
        for url in urls {
            let cell = match self.made.lock() {
                Ok(mut made) => Arc::clone(made.entry(url.path().to_string()).or_default()),
                Err(_) => Arc::default(),
            };
            // 201: made; 405: already there. Anything else is left for the upload to report,
            // and the next upload into the folder asks again.
            let _ = cell
                .get_or_try_init(|| async {
                    let mkcol = reqwest::Method::from_bytes(b"MKCOL").expect("a valid method");
                    match self.http.request(mkcol, url).send().await {
                        Ok(r) if matches!(r.status().as_u16(), 201 | 405) => Ok(()),
                        _ => Err(()),
                    }
                })
                .await;
        }
    }
}

/// Uploads `payload` under a temporary name beside `location`, then moves it into place on the
/// server: two requests per object, where a copy and a delete would make three.
async fn put_atomic(
    inner: &HttpStore,
    folders: &Folders,
    location: &ObjPath,
    payload: PutPayload,
) -> object_store::Result<PutResult> {
    let parts: Vec<_> = location.parts().collect();
    let dir: Vec<&str> = parts[..parts.len().saturating_sub(1)]
        .iter()
        .map(|p| p.as_ref())
        .collect();
    folders.ensure(&dir).await;
    let temp = Dav::temp_for(location);
    let result = inner.put(&temp, payload).await?;
    if folders.rename(&temp, location).await {
        return Ok(result);
    }
    // A server without `MOVE`, or a failed one: copy (retried as every request of the store)
    // and delete, as `object_store` renames.
    let copied = inner
        .copy_opts(&temp, location, CopyOptions::default())
        .await;
    // The temporary copy goes either way; a failure to delete it leaves only a stray dot-file
    // that no reader takes for an object.
    let _ = inner.delete(&temp).await;
    copied.map(|()| result)
}

#[async_trait]
impl ObjectStore for Dav {
    async fn put_opts(
        &self,
        location: &ObjPath,
        payload: PutPayload,
        _opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.check_writable()?;
        put_atomic(&self.inner, &self.folders, location, payload).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjPath,
        _opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.check_writable()?;
        Ok(Box::new(Gathered {
            store: Arc::clone(&self.inner),
            folders: Arc::clone(&self.folders),
            location: location.clone(),
            parts: Vec::new(),
        }))
    }

    async fn get_opts(
        &self,
        location: &ObjPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjPath>> {
        if let Err(e) = self.check_writable() {
            return Box::pin(futures::stream::once(async move { Err(e) }));
        }
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&ObjPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let root = self.root.clone();
        self.inner
            .list(prefix)
            .map_ok(move |mut meta| {
                meta.location = relative(&root, meta.location);
                meta
            })
            .boxed()
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjPath>,
    ) -> object_store::Result<ListResult> {
        let mut listed = self.inner.list_with_delimiter(prefix).await?;
        for meta in &mut listed.objects {
            meta.location = relative(&self.root, std::mem::take(&mut meta.location));
        }
        for p in &mut listed.common_prefixes {
            *p = relative(&self.root, std::mem::take(p));
        }
        Ok(listed)
    }

    async fn copy_opts(
        &self,
        from: &ObjPath,
        to: &ObjPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.check_writable()?;
        self.inner.copy_opts(from, to, options).await
    }
}

/// A "multipart" upload to a server that has none: the parts are kept in memory, in order, and
/// sent as one atomic `PUT` on completion. vintner's own uploads do not come here (the remote
/// is opened with `with_single_put`, which holds the transfer budget for the whole request).
struct Gathered {
    store: Arc<HttpStore>,
    folders: Arc<Folders>,
    location: ObjPath,
    parts: Vec<PutPayload>,
}

impl fmt::Debug for Gathered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gathered({}, {} parts)", self.location, self.parts.len())
    }
}

#[async_trait]
impl MultipartUpload for Gathered {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts.push(data);
        Box::pin(async { Ok(()) })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let payload: PutPayload = std::mem::take(&mut self.parts)
            .into_iter()
            .flat_map(|p| p.into_iter())
            .collect();
        put_atomic(&self.store, &self.folders, &self.location, payload).await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.parts.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::hash::HashKind;
    use crate::data::odb::Oid;
    use crate::data::remote::Remote;

    #[test]
    fn temporary_names_sit_beside_the_object_and_differ() {
        let final_name = ObjPath::from("dav/files/md5/ab/cdef");
        let a = Dav::temp_for(&final_name);
        let b = Dav::temp_for(&final_name);
        assert_ne!(a, b);
        assert!(
            a.as_ref().starts_with("dav/files/md5/ab/.cdef.vintner-"),
            "{a}"
        );
        assert!(a.as_ref().ends_with(".tmp"), "{a}");
    }

    /// A WebDAV server on a free port that answers every request with `201 Created` and
    /// records each as `METHOD path [Destination]`.
    fn recording_server() -> (u16, Arc<Mutex<Vec<String>>>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let mut out = conn.try_clone().unwrap();
                    let mut reader = BufReader::new(conn);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut request = line.split(' ').take(2).collect::<Vec<_>>().join(" ");
                        let mut length = 0;
                        loop {
                            let mut h = String::new();
                            reader.read_line(&mut h).unwrap();
                            let (k, v) = h.trim_end().split_once(": ").unwrap_or_default();
                            match k.to_ascii_lowercase().as_str() {
                                "" => break,
                                "content-length" => length = v.parse().unwrap(),
                                "destination" => request = format!("{request} {v}"),
                                _ => {}
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        if request.starts_with("MKCOL ") {
                            // Slow, as on a real server: other uploads arrive meanwhile.
                            std::thread::sleep(std::time::Duration::from_millis(50));
                        }
                        log.lock().unwrap().push(request);
                        let answer =
                            "HTTP/1.1 201 Created\r\nETag: \"e\"\r\nContent-Length: 0\r\n\r\n";
                        out.write_all(answer.as_bytes()).unwrap();
                    }
                });
            }
        });
        (port, seen)
    }

    #[test]
    fn uploads_move_the_temporary_object_into_place_in_one_request() {
        let (port, seen) = recording_server();
        let rc = RemoteConfig {
            name: "r".into(),
            url: format!("webdav://127.0.0.1:{port}/store"),
            options: Default::default(),
        };
        let remote = open(&rc).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("obj");
        std::fs::write(&src, b"x\n").unwrap();
        let oid = Oid::new("401b30e3b8b5d629635a5c613cdb7919", HashKind::Md5);
        remote.put(&src, &oid).unwrap();
        let seen = seen.lock().unwrap().clone();
        let uploads: Vec<_> = seen.iter().filter(|r| !r.starts_with("MKCOL ")).collect();
        assert_eq!(uploads.len(), 2, "{seen:?}");
        assert!(
            uploads[0].starts_with("PUT /store/files/md5/40/.1b30e3b8b5d629635a5c613cdb7919."),
            "{seen:?}"
        );
        let temp = uploads[0].trim_start_matches("PUT ");
        assert_eq!(
            uploads[1],
            &format!(
                "MOVE {temp} http://127.0.0.1:{port}/store/files/md5/40/1b30e3b8b5d629635a5c613cdb7919"
            ),
            "{seen:?}"
        );
    }

    #[test]
    fn parallel_uploads_make_each_folder_once() {
        let (port, seen) = recording_server();
        let rc = RemoteConfig {
            name: "r".into(),
            url: format!("webdav://127.0.0.1:{port}/store"),
            options: Default::default(),
        };
        let remote = open(&rc).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|scope| {
            for i in 0..16 {
                let (remote, dir) = (&remote, dir.path());
                scope.spawn(move || {
                    // Contents whose objects all go in one folder, `40/`.
                    let (body, md5) = (0..)
                        .map(|j| format!("{i} {j}\n"))
                        .map(|b| (b.clone(), crate::data::hash::md5_bytes(b.as_bytes())))
                        .find(|(_, md5)| md5.starts_with("40"))
                        .unwrap();
                    let src = dir.join(format!("obj{i}"));
                    std::fs::write(&src, body).unwrap();
                    remote.put(&src, &Oid::new(md5, HashKind::Md5)).unwrap();
                });
            }
        });
        let seen = seen.lock().unwrap().clone();
        let mkcols: Vec<_> = seen.iter().filter(|r| r.starts_with("MKCOL ")).collect();
        assert_eq!(
            mkcols,
            [
                "MKCOL /store",
                "MKCOL /store/files",
                "MKCOL /store/files/md5",
                "MKCOL /store/files/md5/40"
            ],
            "{seen:?}"
        );
    }

    #[test]
    fn http_remotes_refuse_writes_with_the_reason() {
        let rc = RemoteConfig {
            name: "r".into(),
            url: "http://127.0.0.1:9/store".into(),
            options: Default::default(),
        };
        let remote = open(&rc).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("obj");
        std::fs::write(&src, b"x\n").unwrap();
        let oid = Oid::new("401b30e3b8b5d629635a5c613cdb7919", HashKind::Md5);
        let err = remote.put(&src, &oid).unwrap_err().to_string();
        assert!(
            err.contains("read-only (as in DVC)") && err.contains("webdav://"),
            "{err}"
        );
    }
}
