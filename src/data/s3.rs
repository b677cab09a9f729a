//! S3 (and any S3-compatible endpoint) as a data remote, through `object_store`. Settings are
//! DVC's: `url = s3://bucket/prefix`, `endpointurl`, `region`, `profile`, `credentialpath`,
//! `access_key_id`/`secret_access_key`/`session_token` (keep those in `config.local`), else the
//! `AWS_*` environment, else the `~/.aws/credentials` profile (`AWS_PROFILE` or `default`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;

use super::config::{ConfigFile, RemoteConfig};
use super::objstore::{ObjStoreRemote, retry_config};
use super::{Error, Result};
use crate::redact;

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

/// Builds the client from the remote's DVC settings and the environment.
pub fn open(rc: &RemoteConfig) -> Result<ObjStoreRemote> {
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
    b = b.with_retry(retry_config());
    let store = b
        .build()
        .map_err(|e| fail(redact::text(&e.to_string()).into_owned()))?;
    let jobs = opt("jobs").and_then(|j| j.parse().ok());
    ObjStoreRemote::new(&rc.name, &rc.url, Arc::new(store), prefix, jobs)
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
