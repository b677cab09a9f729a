//! Where a run's artifacts go and come from: wherever its artifact URI says, as MLflow's own
//! client writes and reads them — through the tracking server's proxy (`mlflow-artifacts:`),
//! straight to S3 (`s3://`, with MLflow's `MLFLOW_S3_ENDPOINT_URL` and the `AWS_*` settings S3
//! remotes use), or a local or shared folder (`file://` or an absolute path). `runs:/…` and
//! `models:/…` URIs are resolved to those locations as MLflow's `RunsArtifactRepository` and
//! `ModelsArtifactRepository` do, and downloads are staged beside their destination and only
//! then renamed into place, so nothing existing is replaced by accident.

use std::path::{Path, PathBuf};

use super::{Error, FileInfo, Result, Tracker};

/// A run's artifact root, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The server's artifact proxy: the path under `/api/2.0/mlflow-artifacts/artifacts/`.
    Proxy(String),
    /// `s3://bucket/prefix`.
    S3 { bucket: String, prefix: String },
    /// A folder on this machine (or a mounted share).
    Local(PathBuf),
}

impl Location {
    /// Reads an artifact URI as MLflow's artifact repositories do.
    pub fn parse(uri: &str) -> Result<Location> {
        if let Some(rest) = uri.strip_prefix("mlflow-artifacts:") {
            // `mlflow-artifacts:/1/…` or `mlflow-artifacts://host:port/1/…`
            let path = match rest.strip_prefix("//") {
                Some(with_host) => with_host.split_once('/').map(|x| x.1).unwrap_or(""),
                None => rest.trim_start_matches('/'),
            };
            return Ok(Location::Proxy(path.trim_end_matches('/').to_string()));
        }
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(Error::RemoteArtifacts {
                    location: uri.to_string(),
                });
            }
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some(rest) = uri.strip_prefix("file://") {
            let path = rest.strip_prefix("localhost").unwrap_or(rest);
            return Ok(Location::Local(PathBuf::from(percent_decode(path))));
        }
        let p = Path::new(uri);
        if p.is_absolute() {
            return Ok(Location::Local(p.to_path_buf()));
        }
        Err(Error::RemoteArtifacts {
            location: uri.to_string(),
        })
    }
}

/// Decodes `%XX` escapes of a `file:` URI path.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A relative `/`-separated artifact sub-path with no `..`, as its parts.
pub fn clean_path(p: Option<&str>) -> Result<Vec<String>> {
    let Some(p) = p.filter(|p| !p.is_empty()) else {
        return Ok(Vec::new());
    };
    if p.starts_with('/') {
        return Err(Error::invalid(
            "artifact path",
            p,
            "it must be relative to the run's artifact root",
        ));
    }
    let mut parts = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => return Err(Error::invalid("artifact path", p, "`..` is not allowed")),
            c => parts.push(c.to_string()),
        }
    }
    Ok(parts)
}

/// The file name an artifact is stored under.
pub fn file_name(local_file: &Path) -> Result<&str> {
    local_file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            Error::invalid(
                "artifact file",
                local_file.display().to_string(),
                "it has no UTF-8 file name",
            )
        })
}

/// Copies `local_file` into `root/parts/`, atomically (temp file + rename), creating folders.
pub fn put_local(root: &Path, parts: &[String], local_file: &Path) -> Result<()> {
    let mut dest = root.to_path_buf();
    dest.extend(parts);
    std::fs::create_dir_all(&dest).map_err(|source| Error::Io {
        path: dest.clone(),
        action: "creating the artifact folder",
        source,
    })?;
    let target = dest.join(file_name(local_file)?);
    let tmp = dest.join(format!(
        ".{}.tmp{}",
        file_name(local_file)?,
        std::process::id()
    ));
    let copied = std::fs::copy(local_file, &tmp)
        .and_then(|_| std::fs::rename(&tmp, &target))
        .map_err(|source| Error::Io {
            path: target.clone(),
            action: "copying an artifact",
            source,
        });
    if copied.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    copied
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Uploads `local_file` to `s3://bucket/prefix/parts/name`, as MLflow's S3 artifact repository
/// does: credentials from the `AWS_*` environment, the endpoint from `MLFLOW_S3_ENDPOINT_URL`
/// (else `AWS_ENDPOINT_URL`), the region from `AWS_REGION`/`AWS_DEFAULT_REGION` (else
/// us-east-1).
pub fn put_s3(bucket: &str, prefix: &str, parts: &[String], local_file: &Path) -> Result<()> {
    use object_store::ObjectStoreExt;
    let location = format!("s3://{bucket}/{prefix}");
    let fail = |detail: String| Error::Artifacts {
        location: location.clone(),
        detail,
    };
    let store = s3_store(bucket).map_err(fail)?;
    let mut key = parts.to_vec();
    key.push(file_name(local_file)?.to_string());
    let bytes = std::fs::read(local_file).map_err(|source| Error::Io {
        path: local_file.to_path_buf(),
        action: "reading an artifact to upload",
        source,
    })?;
    let path = s3_key(prefix, &key);
    runtime()
        .map_err(fail)?
        .block_on(store.put(&path, bytes.into()))
        .map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// The S3 client for `bucket`, configured as MLflow's S3 artifact repository is.
fn s3_store(bucket: &str) -> std::result::Result<object_store::aws::AmazonS3, String> {
    let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(endpoint) = env("MLFLOW_S3_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT_URL")) {
        b = b
            .with_allow_http(endpoint.starts_with("http://"))
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    b = b.with_region(region).with_retry(object_store::RetryConfig {
        backoff: object_store::BackoffConfig::default(),
        max_retries: 5,
        retry_timeout: std::time::Duration::from_secs(60),
    });
    b.build().map_err(|e| e.to_string())
}

fn runtime() -> std::result::Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the network runtime: {e}"))
}

/// The object key of `prefix/parts…`.
fn s3_key(prefix: &str, parts: &[String]) -> object_store::path::Path {
    let key: Vec<&str> = std::iter::once(prefix)
        .filter(|p| !p.is_empty())
        .chain(parts.iter().map(String::as_str))
        .collect();
    object_store::path::Path::from(key.join("/"))
}

/// `parts` joined as an artifact path relative to a root.
fn rel(parts: &[String]) -> String {
    parts.join("/")
}

// ---------------------------------------------------------------------------------------------
// reading: list and download, per location kind

/// Lists what is directly under `root/parts` (paths relative to `root`, sorted), as MLflow's
/// `LocalArtifactRepository.list_artifacts`: a file or a missing folder lists nothing.
pub fn list_local(root: &Path, parts: &[String]) -> Result<Vec<FileInfo>> {
    let mut dir = root.to_path_buf();
    dir.extend(parts);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.kind() == std::io::ErrorKind::NotADirectory =>
        {
            return Ok(Vec::new());
        }
        Err(source) => {
            return Err(Error::Io {
                path: dir,
                action: "listing artifacts",
                source,
            });
        }
    };
    let io = |path: PathBuf| {
        move |source| Error::Io {
            path,
            action: "listing artifacts",
            source,
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(dir.clone()))?;
        let meta = entry.metadata().map_err(io(entry.path()))?;
        let mut path = parts.to_vec();
        path.push(entry.file_name().to_string_lossy().into_owned());
        out.push(FileInfo {
            path: rel(&path),
            is_dir: meta.is_dir(),
            file_size: (!meta.is_dir()).then_some(meta.len()),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Copies the file `root/parts` to `dest`.
pub fn get_local(root: &Path, parts: &[String], dest: &Path) -> Result<()> {
    let mut src = root.to_path_buf();
    src.extend(parts);
    if !src.is_file() {
        return Err(Error::not_found("artifact", src.display().to_string()));
    }
    std::fs::copy(&src, dest).map_err(|source| Error::Io {
        path: src,
        action: "copying an artifact",
        source,
    })?;
    Ok(())
}

/// Lists what is directly under `s3://bucket/prefix/parts` (paths relative to the prefix), as
/// MLflow's S3 artifact repository: one level, folders from the common prefixes.
pub fn list_s3(bucket: &str, prefix: &str, parts: &[String]) -> Result<Vec<FileInfo>> {
    let location = format!("s3://{bucket}/{prefix}");
    let fail = |detail: String| Error::ArtifactRead {
        location: location.clone(),
        detail,
    };
    let store = s3_store(bucket).map_err(fail)?;
    let base = s3_key(prefix, parts);
    let listing = runtime()
        .map_err(fail)?
        .block_on(object_store::ObjectStore::list_with_delimiter(
            &store,
            Some(&base),
        ))
        .map_err(|e| fail(e.to_string()))?;
    let child = |p: &object_store::path::Path| -> Option<String> {
        let name = p.filename()?.to_string();
        let mut path = parts.to_vec();
        path.push(name);
        Some(rel(&path))
    };
    let mut out: Vec<FileInfo> = listing
        .common_prefixes
        .iter()
        .filter_map(|p| {
            child(p).map(|path| FileInfo {
                path,
                is_dir: true,
                file_size: None,
            })
        })
        .chain(listing.objects.iter().filter_map(|o| {
            (o.location != base).then_some(())?;
            child(&o.location).map(|path| FileInfo {
                path,
                is_dir: false,
                file_size: Some(o.size),
            })
        }))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Downloads the object `s3://bucket/prefix/parts` to `dest`, streaming it.
pub fn get_s3(bucket: &str, prefix: &str, parts: &[String], dest: &Path) -> Result<()> {
    use futures::StreamExt;
    use std::io::Write;
    let location = format!("s3://{bucket}/{prefix}");
    let fail = |detail: String| Error::ArtifactRead {
        location: location.clone(),
        detail,
    };
    let store = s3_store(bucket).map_err(fail)?;
    let key = s3_key(prefix, parts);
    let write_err = |source| Error::Io {
        path: dest.to_path_buf(),
        action: "writing a downloaded artifact",
        source,
    };
    let mut file = std::fs::File::create(dest).map_err(write_err)?;
    runtime().map_err(fail)?.block_on(async {
        let got = object_store::ObjectStoreExt::get(&store, &key)
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => {
                    Error::not_found("artifact", format!("s3://{bucket}/{key}"))
                }
                e => fail(e.to_string()),
            })?;
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| fail(e.to_string()))?;
            file.write_all(&chunk).map_err(write_err)?;
        }
        Ok::<(), Error>(())
    })?;
    file.sync_all().map_err(write_err)
}

/// Lists under a location that is not the server's proxy (the proxy needs a tracking server).
pub fn list_direct(root_uri: &str, path: Option<&str>) -> Result<Vec<FileInfo>> {
    let parts = clean_path(path)?;
    match Location::parse(root_uri)? {
        Location::Local(root) => list_local(&root, &parts),
        Location::S3 { bucket, prefix } => list_s3(&bucket, &prefix, &parts),
        Location::Proxy(_) => Err(proxy_needs_server(root_uri)),
    }
}

/// Downloads one file from a location that is not the server's proxy.
pub fn get_direct(root_uri: &str, path: &str, dest: &Path) -> Result<()> {
    let parts = clean_path(Some(path))?;
    match Location::parse(root_uri)? {
        Location::Local(root) => get_local(&root, &parts, dest),
        Location::S3 { bucket, prefix } => get_s3(&bucket, &prefix, &parts, dest),
        Location::Proxy(_) => Err(proxy_needs_server(root_uri)),
    }
}

/// MLflow's own refusal: an `mlflow-artifacts:` location is only reachable through a server.
pub fn proxy_needs_server(uri: &str) -> Error {
    Error::invalid(
        "artifact location",
        uri,
        "`mlflow-artifacts:` locations are served by an MLflow tracking server; set \
         MLFLOW_TRACKING_URI (or --tracking-uri) to that server's http(s):// URL",
    )
}

// ---------------------------------------------------------------------------------------------
// runs:/ and models:/ URIs

/// An artifact URI as a user gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactUri {
    /// `runs:/<run_id>/<path>`.
    Run { run_id: String, path: Vec<String> },
    /// `models:/<name>/<version|stage|latest>/<path>` or `models:/<name>@<alias>/<path>`.
    ModelVersion {
        name: String,
        selector: VersionSelector,
        path: Vec<String>,
    },
    /// `models:/<model_id>` (an MLflow 3 logged model).
    LoggedModel { model_id: String, path: Vec<String> },
    /// `mlflow-artifacts:/…`, `s3://…`, `file://…` or an absolute path.
    Location(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    Version(u64),
    Alias(String),
    /// The latest version (`latest`), or the latest in a stage (`Production`, …).
    Latest(Option<String>),
}

impl ArtifactUri {
    /// Parses a URI as MLflow's `parse_runs_uri` and `_parse_model_uri` do (the artifact path
    /// of a `models:/` URI follows the version or alias, as in `split_models_uri`).
    pub fn parse(uri: &str) -> Result<ArtifactUri> {
        if let Some(rest) = uri.strip_prefix("runs:") {
            let rest = rest.strip_prefix('/').filter(|r| !r.starts_with('/'));
            let bad = || {
                Error::invalid(
                    "runs URI",
                    uri,
                    "it must look like `runs:/<run_id>/path/to/artifact`",
                )
            };
            let rest = rest.ok_or_else(bad)?;
            let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
            if run_id.is_empty() {
                return Err(bad());
            }
            return Ok(ArtifactUri::Run {
                run_id: run_id.to_string(),
                path: clean_path(Some(path))?,
            });
        }
        if let Some(rest) = uri.strip_prefix("models:") {
            let bad = || {
                Error::invalid(
                    "models URI",
                    uri,
                    "it must look like `models:/<name>/<version>`, `models:/<name>@<alias>`, \
                     `models:/<name>/latest`, `models:/<name>/<stage>` or `models:/<model_id>`",
                )
            };
            let rest = rest
                .strip_prefix('/')
                .filter(|r| !r.starts_with('/'))
                .ok_or_else(bad)?
                .trim_end_matches('/');
            let mut segs = rest.splitn(2, '/');
            let first = segs.next().unwrap_or_default();
            if first.trim().is_empty() {
                return Err(bad());
            }
            if let Some((name, alias)) = first.rsplit_once('@') {
                if name.is_empty() || alias.trim().is_empty() {
                    return Err(bad());
                }
                return Ok(ArtifactUri::ModelVersion {
                    name: name.to_string(),
                    selector: VersionSelector::Alias(alias.to_string()),
                    path: clean_path(segs.next())?,
                });
            }
            let Some(after) = segs.next() else {
                return Ok(ArtifactUri::LoggedModel {
                    model_id: first.to_string(),
                    path: Vec::new(),
                });
            };
            let (suffix, path) = after.split_once('/').unwrap_or((after, ""));
            if suffix.trim().is_empty() {
                return Err(bad());
            }
            let selector = if suffix.bytes().all(|b| b.is_ascii_digit()) {
                VersionSelector::Version(suffix.parse().map_err(|_| bad())?)
            } else if suffix.eq_ignore_ascii_case("latest") {
                VersionSelector::Latest(None)
            } else {
                VersionSelector::Latest(Some(suffix.to_string()))
            };
            return Ok(ArtifactUri::ModelVersion {
                name: first.to_string(),
                selector,
                path: clean_path(Some(path))?,
            });
        }
        Location::parse(uri)?;
        Ok(ArtifactUri::Location(uri.to_string()))
    }
}

/// A concrete place: a location URI (`mlflow-artifacts:`, `s3://`, local) and a path under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub root: String,
    pub path: Vec<String>,
    /// For a `models:/` URI: what MLflow writes into `registered_model_meta` on download.
    pub model_meta: Option<ModelMeta>,
}

/// The registered model a `models:/` URI named, as MLflow records it beside a downloaded model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMeta {
    /// `None` for a logged model (`models:/m-…`).
    pub name: Option<String>,
    pub version: Option<u64>,
    /// MLflow keeps the version as the URI's text for `/3`, `/latest` and stages, and as a
    /// number for an alias; the YAML it writes shows the difference.
    pub version_is_text: bool,
}

impl ModelMeta {
    /// The `registered_model_meta` file MLflow's `ModelsArtifactRepository` writes (PyYAML's
    /// block style).
    pub fn yaml(&self) -> String {
        let name = self.name.as_deref().map_or("null".to_string(), yaml_str);
        let version = match self.version {
            None => "null".to_string(),
            Some(v) if self.version_is_text => format!("'{v}'"),
            Some(v) => v.to_string(),
        };
        format!("model_name: {name}\nmodel_version: {version}\n")
    }
}

/// A YAML string as PyYAML's safe dumper writes a simple one: plain when it cannot be read as
/// anything else, else single-quoted.
fn yaml_str(s: &str) -> String {
    let special = [
        "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n",
    ];
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !s.starts_with(['-', '.'])
        && !special.contains(&s.to_ascii_lowercase().as_str())
        && s.parse::<f64>().is_err();
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

impl Resolved {
    pub fn path_str(&self) -> String {
        rel(&self.path)
    }
}

/// How many `models:/` → `runs:/` → … hops a resolution follows before giving up.
const MAX_HOPS: usize = 8;

/// Resolves any artifact URI to the location and path it names, as MLflow's client does: a run
/// through its artifact URI, a model version through its download URI (its storage location, else
/// its source — itself possibly a `runs:/` or `models:/` URI), a logged model through its artifact
/// location.
/// Without a tracker only plain locations resolve.
pub fn resolve(tracker: Option<&dyn Tracker>, uri: &str) -> Result<Resolved> {
    resolve_hops(tracker, uri, 0)
}

/// The tracker a `runs:/` or `models:/` URI needs.
fn needs_tracker<'a>(tracker: Option<&'a dyn Tracker>, uri: &str) -> Result<&'a dyn Tracker> {
    tracker.ok_or_else(|| {
        Error::invalid(
            "artifact URI",
            uri,
            "`runs:/` and `models:/` URIs are resolved through a tracking store",
        )
    })
}

fn resolve_hops(tracker: Option<&dyn Tracker>, uri: &str, hops: usize) -> Result<Resolved> {
    if hops > MAX_HOPS {
        return Err(Error::invalid(
            "artifact URI",
            uri,
            "it resolves through too many models:/ and runs:/ URIs (a cycle?)",
        ));
    }
    let (base, path, meta) = match ArtifactUri::parse(uri)? {
        ArtifactUri::Location(u) => {
            return Ok(Resolved {
                root: u,
                path: Vec::new(),
                model_meta: None,
            });
        }
        ArtifactUri::Run { run_id, path } => {
            let root = needs_tracker(tracker, uri)?
                .get_run(&run_id)?
                .info
                .artifact_uri;
            return Ok(Resolved {
                root,
                path,
                model_meta: None,
            });
        }
        ArtifactUri::LoggedModel { model_id, path } => (
            needs_tracker(tracker, uri)?
                .get_logged_model(&model_id)?
                .artifact_location,
            path,
            ModelMeta {
                name: None,
                version: None,
                version_is_text: false,
            },
        ),
        ArtifactUri::ModelVersion {
            name,
            selector,
            path,
        } => {
            let tracker = needs_tracker(tracker, uri)?;
            // an alias gives the version as the store has it: a number from MLflow's SQL store,
            // text over REST (the proto's string)
            let version_is_text =
                !matches!(selector, VersionSelector::Alias(_)) || tracker.uri().starts_with("http");
            let version = match selector {
                VersionSelector::Version(v) => v,
                VersionSelector::Alias(a) => tracker.get_model_version_by_alias(&name, &a)?.version,
                VersionSelector::Latest(stage) => latest_version(tracker, &name, stage.as_deref())?,
            };
            (
                tracker.get_model_version_download_uri(&name, version)?,
                path,
                ModelMeta {
                    name: Some(name),
                    version: Some(version),
                    version_is_text,
                },
            )
        }
    };
    let mut inner = resolve_hops(tracker, &base, hops + 1)?;
    inner.path.extend(path);
    inner.model_meta = Some(meta);
    Ok(inner)
}

/// The highest live version of `name` (in `stage`, compared without case, when given).
fn latest_version(tracker: &dyn Tracker, name: &str, stage: Option<&str>) -> Result<u64> {
    let mut q = super::SearchModels {
        filter: Some(format!("name = '{}'", name.replace('\'', "''"))),
        ..Default::default()
    };
    let mut best: Option<u64> = None;
    loop {
        let page = tracker.search_model_versions(&q)?;
        for v in page.model_versions {
            let live = v.current_stage != "Deleted_Internal";
            let in_stage = stage.is_none_or(|s| v.current_stage.eq_ignore_ascii_case(s));
            if v.name == name && live && in_stage {
                best = best.max(Some(v.version));
            }
        }
        match page.next_page_token {
            Some(t) => q.page_token = Some(t),
            None => break,
        }
    }
    best.ok_or_else(|| match stage {
        Some(s) => Error::not_found("model version", format!("{name} in stage {s}")),
        None => Error::not_found("model version", format!("{name} (any)")),
    })
}

/// Lists under a location through the tracker (which reaches a server's proxy), else directly.
fn list_at(tracker: Option<&dyn Tracker>, root: &str, path: &str) -> Result<Vec<FileInfo>> {
    let path = Some(path).filter(|p| !p.is_empty());
    match tracker {
        Some(t) => t.list_artifacts_at(root, path),
        None => list_direct(root, path),
    }
}

fn get_at(tracker: Option<&dyn Tracker>, root: &str, path: &str, dest: &Path) -> Result<()> {
    match tracker {
        Some(t) => t.download_artifact_at(root, path, dest),
        None => get_direct(root, path, dest),
    }
}

/// Whether reading `uri` needs a tracking store: `runs:/`, `models:/` and `mlflow-artifacts:`
/// do; `s3://` and local folders are read directly, as MLflow's client reads them.
pub fn needs_store(uri: &str) -> bool {
    !matches!(
        ArtifactUri::parse(uri),
        Ok(ArtifactUri::Location(u)) if !matches!(Location::parse(&u), Ok(Location::Proxy(_)))
    )
}

/// Lists what is directly under the place `uri` names (paths relative to that place).
pub fn list(tracker: Option<&dyn Tracker>, uri: &str) -> Result<(Resolved, Vec<FileInfo>)> {
    let r = resolve(tracker, uri)?;
    let p = r.path_str();
    let mut files = list_at(tracker, &r.root, &p)?;
    for f in &mut files {
        if let Some(stripped) = f.path.strip_prefix(&p) {
            f.path = stripped.trim_start_matches('/').to_string();
        }
    }
    Ok((r, files))
}

/// Every file under `root/path` (recursively), as paths relative to `root`; `path` itself when it
/// is a file. Folders that list nothing contribute nothing.
pub fn walk(tracker: Option<&dyn Tracker>, root: &str, path: &str) -> Result<Vec<FileInfo>> {
    let mut out = Vec::new();
    let mut pending = vec![path.to_string()];
    while let Some(dir) = pending.pop() {
        let listed = list_at(tracker, root, &dir)?;
        for f in listed {
            // a listing must stay below what was asked for (a hostile server could say `..`)
            let parts = clean_path(Some(&f.path))?;
            if !dir.is_empty() && !f.path.starts_with(&format!("{dir}/")) {
                return Err(Error::invalid(
                    "artifact listing",
                    f.path,
                    format!("it is not under `{dir}`"),
                ));
            }
            if f.is_dir {
                pending.push(rel(&parts));
            } else {
                out.push(FileInfo {
                    path: rel(&parts),
                    ..f
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// What became of one downloaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// There was no file there.
    Written,
    /// The same bytes were already there; left untouched.
    Unchanged,
    /// A different file was there and `force` replaced it.
    Replaced,
    /// A different file is there; it was kept (the download is refused without `force`).
    Conflict,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StagedFile {
    /// Where the file goes.
    pub target: PathBuf,
    pub size: u64,
    pub outcome: Outcome,
    #[serde(skip)]
    tmp: Option<PathBuf>,
}

/// A download fetched into temporary files beside each destination, not yet in place. Dropping it
/// removes the temporary files; [`Staged::commit`] renames them into place.
#[derive(Debug, serde::Serialize)]
pub struct Staged {
    pub source: String,
    pub files: Vec<StagedFile>,
}

impl Staged {
    /// The destinations that hold a different file.
    pub fn conflicts(&self) -> Vec<&Path> {
        self.files
            .iter()
            .filter(|f| f.outcome == Outcome::Conflict)
            .map(|f| f.target.as_path())
            .collect()
    }

    /// Renames every fetched file into place; a conflicting one only with `force`. Returns the
    /// files with their final outcome.
    pub fn commit(mut self, force: bool) -> Result<Vec<StagedFile>> {
        if !force && !self.conflicts().is_empty() {
            return Err(Error::invalid(
                "download destination",
                self.conflicts()[0].display().to_string(),
                "a different file is already there",
            ));
        }
        for f in &mut self.files {
            let Some(tmp) = f.tmp.take() else { continue };
            if f.outcome == Outcome::Conflict {
                f.outcome = Outcome::Replaced;
            }
            std::fs::rename(&tmp, &f.target).map_err(|source| Error::Io {
                path: f.target.clone(),
                action: "moving a downloaded artifact into place",
                source,
            })?;
        }
        Ok(std::mem::take(&mut self.files))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for f in &self.files {
            if let Some(tmp) = &f.tmp {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}

/// Fetches what `uri` names into temporary files under `dest`, as MLflow's
/// `mlflow artifacts download` lays them out: a `models:/` URI's files (or its sub-path) go
/// directly under `dest`; any other URI's last path component becomes a file or folder in `dest`.
/// Nothing in `dest` changes until [`Staged::commit`].
pub fn stage_download(tracker: Option<&dyn Tracker>, uri: &str, dest: &Path) -> Result<Staged> {
    let parsed = ArtifactUri::parse(uri)?;
    let mut r = resolve(tracker, uri)?;
    // how many leading components of each file's path (relative to the root) are not kept
    let mut skip = match &parsed {
        ArtifactUri::ModelVersion { path, .. } | ArtifactUri::LoggedModel { path, .. } => {
            r.path.len() - path.len()
        }
        ArtifactUri::Run { .. } => r.path.len().saturating_sub(1),
        ArtifactUri::Location(_) => 0,
    };
    if let ArtifactUri::Location(u) = &parsed {
        // `s3://b/a/x` downloads `x` into dest, as MLflow's `_get_root_uri_and_artifact_path`
        if let Some((parent, last)) = split_last(u) {
            r = Resolved {
                root: parent,
                path: vec![last],
                model_meta: None,
            };
            skip = 0;
        }
    }
    let path = r.path_str();
    let files = walk(tracker, &r.root, &path)?;
    let files = if files.is_empty() && !path.is_empty() {
        // not a folder: the path itself is the file (fetching it says if it is missing)
        vec![FileInfo {
            path: path.clone(),
            is_dir: false,
            file_size: None,
        }]
    } else {
        files
    };
    let mut staged = Staged {
        source: uri.to_string(),
        files: Vec::new(),
    };
    for f in files {
        let parts = clean_path(Some(&f.path))?;
        let kept = &parts[skip.min(parts.len().saturating_sub(1))..];
        let mut target = dest.to_path_buf();
        target.extend(kept);
        let parent = target.parent().unwrap_or(dest).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|source| Error::Io {
            path: parent.clone(),
            action: "creating the download folder",
            source,
        })?;
        if target.is_dir() {
            return Err(Error::invalid(
                "download destination",
                target.display().to_string(),
                "a folder is there where the artifact is a file",
            ));
        }
        let name = kept.last().map(String::as_str).unwrap_or("artifact");
        let tmp = parent.join(format!(".{name}.vintner-{}.tmp", std::process::id()));
        let mut entry = StagedFile {
            target: target.clone(),
            size: 0,
            outcome: Outcome::Written,
            tmp: Some(tmp.clone()),
        };
        let fetched = get_at(tracker, &r.root, &f.path, &tmp);
        if let Err(e) = fetched {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        entry.size = std::fs::metadata(&tmp).map(|m| m.len()).unwrap_or(0);
        compare_existing(&mut entry)?;
        staged.files.push(entry);
    }
    // as MLflow's `ModelsArtifactRepository.download_artifacts`: a whole model folder gets a
    // `registered_model_meta` beside its `MLmodel`
    if let Some(meta) = &r.model_meta {
        let model_dir = dest.join(r.path[skip..].join("/"));
        let has_mlmodel = model_dir.join("MLmodel").is_file()
            || staged
                .files
                .iter()
                .any(|f| f.target == model_dir.join("MLmodel"));
        if has_mlmodel {
            let target = model_dir.join("registered_model_meta");
            let tmp = model_dir.join(format!(
                ".registered_model_meta.vintner-{}.tmp",
                std::process::id()
            ));
            let yaml = meta.yaml();
            std::fs::write(&tmp, &yaml).map_err(|source| Error::Io {
                path: tmp.clone(),
                action: "writing registered_model_meta",
                source,
            })?;
            let mut entry = StagedFile {
                target: target.clone(),
                size: yaml.len() as u64,
                outcome: Outcome::Written,
                tmp: Some(tmp.clone()),
            };
            compare_existing(&mut entry)?;
            staged.files.push(entry);
        }
    }
    Ok(staged)
}

/// `s3://b/a/x` → (`s3://b/a`, `x`); `None` when there is no path component to split off.
fn split_last(uri: &str) -> Option<(String, String)> {
    let trimmed = uri.trim_end_matches('/');
    let start = trimmed.find("://").map_or(0, |i| i + 3);
    let (head, tail) = trimmed.split_at(start);
    let (parent, last) = tail.rsplit_once('/')?;
    if last.is_empty() {
        return None;
    }
    if parent.is_empty() {
        // `/x` → `/`; `file:///x` is left whole
        return head.is_empty().then(|| ("/".to_string(), last.to_string()));
    }
    Some((format!("{head}{parent}"), last.to_string()))
}

/// Marks a fetched file whose destination already exists: unchanged (the fetched copy is
/// dropped) when the bytes are the same, a conflict otherwise.
fn compare_existing(entry: &mut StagedFile) -> Result<()> {
    let Some(tmp) = entry.tmp.clone() else {
        return Ok(());
    };
    if entry.target.exists() {
        if same_bytes(&tmp, &entry.target)? {
            let _ = std::fs::remove_file(&tmp);
            entry.tmp = None;
            entry.outcome = Outcome::Unchanged;
        } else {
            entry.outcome = Outcome::Conflict;
        }
    }
    Ok(())
}

fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| Error::Io {
            path: p.to_path_buf(),
            action: "comparing a downloaded artifact",
            source,
        })
    };
    let (ma, mb) = (std::fs::metadata(a), std::fs::metadata(b));
    if let (Ok(ma), Ok(mb)) = (ma, mb)
        && ma.len() != mb.len()
    {
        return Ok(false);
    }
    Ok(read(a)? == read(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris_are_read_as_mlflow_does() {
        assert_eq!(
            Location::parse("mlflow-artifacts:/1/abc/artifacts").unwrap(),
            Location::Proxy("1/abc/artifacts".into())
        );
        assert_eq!(
            Location::parse("mlflow-artifacts://h:5000/1/abc/artifacts/").unwrap(),
            Location::Proxy("1/abc/artifacts".into())
        );
        assert_eq!(
            Location::parse("s3://bucket/some/prefix/").unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                prefix: "some/prefix".into()
            }
        );
        assert_eq!(
            Location::parse("file:///srv/a%20b/1").unwrap(),
            Location::Local(PathBuf::from("/srv/a b/1"))
        );
        assert_eq!(
            Location::parse("/srv/x").unwrap(),
            Location::Local(PathBuf::from("/srv/x"))
        );
        assert!(Location::parse("gs://bucket/x").is_err());
        assert!(Location::parse("relative/x").is_err());
        assert!(Location::parse("s3:///x").is_err());
    }

    #[test]
    fn runs_and_models_uris_are_read_as_mlflow_does() {
        assert_eq!(
            ArtifactUri::parse("runs:/abc/model/MLmodel").unwrap(),
            ArtifactUri::Run {
                run_id: "abc".into(),
                path: vec!["model".into(), "MLmodel".into()]
            }
        );
        assert_eq!(
            ArtifactUri::parse("models:/wine@champion/sub").unwrap(),
            ArtifactUri::ModelVersion {
                name: "wine".into(),
                selector: VersionSelector::Alias("champion".into()),
                path: vec!["sub".into()]
            }
        );
        assert_eq!(
            ArtifactUri::parse("models:/wine/3").unwrap(),
            ArtifactUri::ModelVersion {
                name: "wine".into(),
                selector: VersionSelector::Version(3),
                path: vec![]
            }
        );
        assert_eq!(
            ArtifactUri::parse("models:/wine/Production").unwrap(),
            ArtifactUri::ModelVersion {
                name: "wine".into(),
                selector: VersionSelector::Latest(Some("Production".into())),
                path: vec![]
            }
        );
        assert_eq!(
            ArtifactUri::parse("models:/m-123").unwrap(),
            ArtifactUri::LoggedModel {
                model_id: "m-123".into(),
                path: vec![]
            }
        );
        for bad in [
            "runs:/",
            "runs://x",
            "models:/",
            "models:/wine@",
            "models:/@a",
            "runs:/id/../x",
            "gs://b/x",
        ] {
            assert!(ArtifactUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_uris_split_off_their_last_component() {
        assert_eq!(
            split_last("s3://b/a/x/"),
            Some(("s3://b/a".into(), "x".into()))
        );
        assert_eq!(split_last("s3://b/x"), Some(("s3://b".into(), "x".into())));
        assert_eq!(split_last("s3://b"), None);
        assert_eq!(
            split_last("mlflow-artifacts:/1/r/artifacts"),
            Some(("mlflow-artifacts:/1/r".into(), "artifacts".into()))
        );
        assert_eq!(split_last("/x"), Some(("/".into(), "x".into())));
    }

    #[test]
    fn registered_model_meta_is_written_as_pyyaml_does() {
        let meta = |name: Option<&str>, version: Option<u64>, text: bool| ModelMeta {
            name: name.map(str::to_string),
            version,
            version_is_text: text,
        };
        assert_eq!(
            meta(Some("wine"), Some(2), true).yaml(),
            "model_name: wine\nmodel_version: '2'\n"
        );
        assert_eq!(
            meta(Some("wine"), Some(2), false).yaml(),
            "model_name: wine\nmodel_version: 2\n"
        );
        assert_eq!(
            meta(None, None, false).yaml(),
            "model_name: null\nmodel_version: null\n"
        );
        assert_eq!(
            meta(Some("yes"), Some(1), true).yaml(),
            "model_name: 'yes'\nmodel_version: '1'\n"
        );
    }

    #[test]
    fn staged_downloads_leave_nothing_behind_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join(".x.tmp");
        std::fs::write(&tmp, b"new").unwrap();
        std::fs::write(dir.path().join("x"), b"old").unwrap();
        let mut entry = StagedFile {
            target: dir.path().join("x"),
            size: 3,
            outcome: Outcome::Written,
            tmp: Some(tmp.clone()),
        };
        compare_existing(&mut entry).unwrap();
        assert_eq!(entry.outcome, Outcome::Conflict);
        let staged = Staged {
            source: "s3://b/x".into(),
            files: vec![entry],
        };
        assert!(staged.commit(false).is_err());
        assert!(!tmp.exists(), "the staged copy is removed");
        assert_eq!(std::fs::read(dir.path().join("x")).unwrap(), b"old");
    }

    #[test]
    fn artifact_paths_stay_under_the_root() {
        assert_eq!(clean_path(Some("model/a")).unwrap(), vec!["model", "a"]);
        assert!(clean_path(Some("../x")).is_err());
        assert!(clean_path(Some("/x")).is_err());
        assert!(clean_path(None).unwrap().is_empty());
    }

    #[test]
    fn local_artifacts_are_copied_into_sub_folders() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("MLmodel");
        std::fs::write(&src, b"flavors: {}\n").unwrap();
        let root = dir.path().join("artifacts");
        put_local(&root, &["model".into()], &src).unwrap();
        assert_eq!(
            std::fs::read(root.join("model/MLmodel")).unwrap(),
            b"flavors: {}\n"
        );
        let left: Vec<_> = std::fs::read_dir(root.join("model"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "no temp file is left: {left:?}");
    }
}
