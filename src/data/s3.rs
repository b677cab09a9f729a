//! S3 (and any S3-compatible endpoint) as a data remote, through `object_store`. Settings are
//! DVC's: `url = s3://bucket/prefix`, `endpointurl`, `region`, `profile`, `credentialpath`,
//! `access_key_id`/`secret_access_key`/`session_token` (keep those in `config.local`), else the
//! `AWS_*` environment, else the `~/.aws/credentials` profile (`AWS_PROFILE` or `default`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStoreExt, PutPayload};

use super::config::{ConfigFile, RemoteConfig};
use super::odb::{Odb, Oid};
use super::remote::{Remote, verify_bytes};
use super::{Error, Result};
use crate::redact;

/// Objects up to this size are uploaded in one request; larger ones in 16 MiB parts.
const SINGLE_PUT_LIMIT: u64 = 64 << 20;
const PART_SIZE: usize = 16 << 20;

/// An S3 bucket (or prefix in one) holding DVC's object layout.
pub struct S3Remote {
    name: String,
    url: String,
    store: Arc<AmazonS3>,
    prefix: String,
    rt: tokio::runtime::Runtime,
}

/// Static keys from a profile of the AWS shared credentials file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProfileKeys {
    key_id: String,
    secret: String,
    token: Option<String>,
}

/// Reads `[profile]` from an AWS credentials file (INI).
fn profile_keys(path: &Path, profile: &str) -> Option<ProfileKeys> {
    let text = std::fs::read_to_string(path).ok()?;
    let file = ConfigFile::parse(&text, path).ok()?;
    let get = |k: &str| {
        file.get(profile, k)
            .or_else(|| file.get(&format!("profile {profile}"), k))
            .map(str::to_string)
    };
    Some(ProfileKeys {
        key_id: get("aws_access_key_id")?,
        secret: get("aws_secret_access_key")?,
        token: get("aws_session_token"),
    })
}

/// The region a profile sets in `~/.aws/config`.
fn profile_region(home: &Path, profile: &str) -> Option<String> {
    let path = std::env::var_os("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".aws").join("config"));
    let text = std::fs::read_to_string(&path).ok()?;
    let file = ConfigFile::parse(&text, &path).ok()?;
    let section = if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    };
    file.get(&section, "region").map(str::to_string)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl S3Remote {
    /// Builds the client from the remote's DVC settings and the environment.
    pub fn open(rc: &RemoteConfig) -> Result<S3Remote> {
        let fail = |message: String| Error::Remote {
            remote: rc.name.clone(),
            message,
        };
        let rest = rc
            .url
            .strip_prefix("s3://")
            .ok_or_else(|| fail(format!("`{}` is not an s3:// URL", redact::url(&rc.url))))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(fail(format!("`{}` names no bucket", redact::url(&rc.url))));
        }
        let opt = |k: &str| {
            rc.options
                .get(k)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = opt("endpointurl") {
            b = b
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let home = env("HOME").map(PathBuf::from).unwrap_or_default();
        let profile = opt("profile")
            .map(str::to_string)
            .or_else(|| env("AWS_PROFILE"));
        let region = opt("region")
            .map(str::to_string)
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| profile_region(&home, profile.as_deref().unwrap_or("default")))
            .unwrap_or_else(|| "us-east-1".into());
        b = b.with_region(region);
        match (opt("access_key_id"), opt("secret_access_key")) {
            (Some(id), Some(secret)) => {
                b = b.with_access_key_id(id).with_secret_access_key(secret);
                if let Some(t) = opt("session_token") {
                    b = b.with_token(t);
                }
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(fail(
                    "only one of `access_key_id` and `secret_access_key` is set".into(),
                ));
            }
            (None, None) => {
                let env_keys = env("AWS_ACCESS_KEY_ID").is_some() && profile.is_none();
                if !env_keys {
                    let cred_path = opt("credentialpath")
                        .map(PathBuf::from)
                        .or_else(|| env("AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from))
                        .unwrap_or_else(|| home.join(".aws").join("credentials"));
                    let name = profile.clone().unwrap_or_else(|| "default".into());
                    match profile_keys(&cred_path, &name) {
                        Some(k) => {
                            b = b
                                .with_access_key_id(k.key_id)
                                .with_secret_access_key(k.secret);
                            if let Some(t) = k.token {
                                b = b.with_token(t);
                            }
                        }
                        None if profile.is_some() => {
                            return Err(fail(format!(
                                "profile `{name}` has no keys in `{}`",
                                cred_path.display()
                            )));
                        }
                        // Web identity and container credentials are read by the client
                        // itself; the instance metadata service is never probed.
                        None if env("AWS_WEB_IDENTITY_TOKEN_FILE").is_some()
                            || env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
                            || env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some() => {}
                        None => {
                            return Err(Error::NoCredentials {
                                remote: rc.name.clone(),
                            });
                        }
                    }
                }
            }
        }
        b = b.with_retry(object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(20),
        });
        let store = b
            .build()
            .map_err(|e| fail(redact::text(&e.to_string()).into_owned()))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| fail(format!("cannot start the network runtime: {e}")))?;
        Ok(S3Remote {
            name: rc.name.clone(),
            url: rc.url.clone(),
            store: Arc::new(store),
            prefix: prefix.trim_matches('/').to_string(),
            rt,
        })
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

impl Remote for S3Remote {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_profiles_from_credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("credentials");
        std::fs::write(
            &p,
            "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s1\n\n[team]\naws_access_key_id=AKIA2\naws_secret_access_key=s2\naws_session_token=t2\n",
        )
        .unwrap();
        assert_eq!(
            profile_keys(&p, "team"),
            Some(ProfileKeys {
                key_id: "AKIA2".into(),
                secret: "s2".into(),
                token: Some("t2".into())
            })
        );
        assert_eq!(
            profile_keys(&p, "default").map(|k| k.key_id),
            Some("AKIA1".into())
        );
        assert_eq!(profile_keys(&p, "nope"), None);
    }
}
