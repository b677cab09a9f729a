//! What every network remote's constructor (Azure, WebDAV/HTTP, GCS) shares: reading its DVC
//! options and environment fallbacks, splitting `scheme://bucket/prefix`, and keeping the
//! secrets it was given out of every message it returns. Knows nothing of any one backend.

use super::config::RemoteConfig;
use super::{Error, Result};
use crate::redact;

/// A remote's DVC settings, read the same way by every backend.
pub struct Opts<'a> {
    pub rc: &'a RemoteConfig,
    /// Secret values the backend was given (keys, tokens, passwords, connection strings): never
    /// allowed into a message, even if the client quotes them.
    secrets: Vec<String>,
}

impl<'a> Opts<'a> {
    pub fn new(rc: &'a RemoteConfig) -> Opts<'a> {
        Opts {
            rc,
            secrets: Vec::new(),
        }
    }

    /// The option `key`, if set and not empty.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.rc
            .options
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The option `key`, else the first of `vars` set in the environment.
    pub fn get_or_env(&self, key: &str, vars: &[&str]) -> Option<String> {
        self.get(key)
            .map(str::to_string)
            .or_else(|| vars.iter().find_map(|v| env(v)))
    }

    /// Like [`Opts::get_or_env`], for a secret: remembered so messages never show it.
    pub fn secret(&mut self, key: &str, vars: &[&str]) -> Option<String> {
        let value = self.get_or_env(key, vars)?;
        self.remember(&value);
        Some(value)
    }

    /// Marks `value` as secret, and the secret-looking parts of it if it is a `k=v;k=v`
    /// connection string or a `k=v&k=v` token.
    pub fn remember(&mut self, value: &str) {
        if value.len() >= 4 {
            self.secrets.push(value.to_string());
        }
        for part in value.split([';', '&']) {
            if let Some((k, v)) = part.split_once('=')
                && redact::is_secret_key(k)
                && v.len() >= 4
            {
                self.secrets.push(v.to_string());
            }
        }
    }

    /// The remote's `jobs` setting.
    pub fn jobs(&self) -> Option<usize> {
        self.get("jobs").and_then(|j| j.parse().ok())
    }

    /// `message` with every URL redacted and every remembered secret shown as `***`.
    pub fn scrub(&self, message: &str) -> String {
        let mut out = redact::text(message).into_owned();
        let mut secrets: Vec<&String> = self.secrets.iter().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            out = out.replace(s.as_str(), redact::MASK);
        }
        out
    }

    /// An error about this remote, its message scrubbed.
    pub fn fail(&self, message: impl AsRef<str>) -> Error {
        Error::Remote {
            remote: self.rc.name.clone(),
            message: self.scrub(message.as_ref()),
        }
    }

    /// `scheme://bucket/prefix` split into the bucket (container) and the prefix, or an error
    /// naming what is missing.
    pub fn bucket_and_prefix(&self, scheme: &str, what: &str) -> Result<(String, String)> {
        let url = &self.rc.url;
        let rest = url
            .strip_prefix(scheme)
            .and_then(|r| r.strip_prefix("://"))
            .ok_or_else(|| self.fail(format!("`{}` is not a {scheme}:// URL", redact::url(url))))?;
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(self.fail(format!(
                "`{}` names no {what}; write it as `{scheme}://<{what}>/<path>`",
                redact::url(url)
            )));
        }
        Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
    }
}

/// The environment variable `name`, if set and not empty.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rc(url: &str) -> RemoteConfig {
        RemoteConfig {
            name: "r".into(),
            url: url.into(),
            options: BTreeMap::new(),
        }
    }

    #[test]
    fn splits_bucket_and_prefix() {
        let r = rc("azure://box/some/path/");
        let o = Opts::new(&r);
        assert_eq!(
            o.bucket_and_prefix("azure", "container").unwrap(),
            ("box".to_string(), "some/path".to_string())
        );
        let r = rc("gs://b");
        let o = Opts::new(&r);
        assert_eq!(
            o.bucket_and_prefix("gs", "bucket").unwrap(),
            ("b".to_string(), String::new())
        );
        let r = rc("gs:///p");
        let err = Opts::new(&r)
            .bucket_and_prefix("gs", "bucket")
            .unwrap_err()
            .to_string();
        assert!(err.contains("names no bucket"), "{err}");
    }

    #[test]
    fn scrub_hides_remembered_secrets_and_their_parts() {
        let r = rc("azure://c");
        let mut o = Opts::new(&r);
        o.remember("AccountName=acct;AccountKey=c2VjcmV0a2V5;BlobEndpoint=http://h/acct");
        let shown = o.scrub("auth failed for key c2VjcmV0a2V5 at http://u:pw@h/acct?sig=abc");
        assert!(!shown.contains("c2VjcmV0a2V5"), "{shown}");
        assert!(
            !shown.contains("pw") && !shown.contains("sig=abc"),
            "{shown}"
        );
    }
}
