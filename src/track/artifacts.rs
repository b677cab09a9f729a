//! Where a run's artifacts go: wherever its artifact URI says, as MLflow's own client writes
//! them — through the tracking server's proxy (`mlflow-artifacts:`), straight to S3 (`s3://`,
//! with MLflow's `MLFLOW_S3_ENDPOINT_URL` and the `AWS_*` settings S3 remotes use), or into a
//! local or shared folder (`file://` or an absolute path).

use std::path::{Path, PathBuf};

use super::{Error, Result};

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
    let store = b.build().map_err(|e| fail(e.to_string()))?;
    let mut key: Vec<&str> = Vec::new();
    if !prefix.is_empty() {
        key.push(prefix);
    }
    key.extend(parts.iter().map(String::as_str));
    let name = file_name(local_file)?;
    key.push(name);
    let bytes = std::fs::read(local_file).map_err(|source| Error::Io {
        path: local_file.to_path_buf(),
        action: "reading an artifact to upload",
        source,
    })?;
    let path = object_store::path::Path::from(key.join("/"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the network runtime: {e}")))?;
    rt.block_on(store.put(&path, bytes.into()))
        .map_err(|e| fail(e.to_string()))?;
    Ok(())
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
