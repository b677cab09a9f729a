//! Resolves the tracking URI the way MLflow does, with vintner's precedence on top:
//! `--tracking-uri` flag > `MLFLOW_TRACKING_URI` > `vintner.toml` > `sqlite:///<repo root>/mlflow.db`.

use std::path::{Path, PathBuf};

use crate::track::{Error, Result};

/// The environment variable MLflow reads.
pub const ENV_TRACKING_URI: &str = "MLFLOW_TRACKING_URI";
/// The default embedded store file name, at the repository root (MLflow's own default name).
pub const DEFAULT_DB_FILE: &str = "mlflow.db";

/// Where the URI came from, for debug logs and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriSource {
    Flag,
    Env,
    Config,
    Default,
}

impl UriSource {
    pub fn describe(self) -> &'static str {
        match self {
            UriSource::Flag => "--tracking-uri",
            UriSource::Env => "MLFLOW_TRACKING_URI",
            UriSource::Config => "vintner.toml",
            UriSource::Default => "the default",
        }
    }
}

/// A tracking URI vintner can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackingUri {
    /// The embedded store: an absolute path to an MLflow-schema SQLite file.
    Sqlite { path: PathBuf, source: UriSource },
    /// An MLflow tracking server, without a trailing slash.
    Http { url: String, source: UriSource },
}

impl TrackingUri {
    /// Applies the precedence. `env` looks up environment variables (injected for tests).
    /// Relative `sqlite:///` paths from the flag or the environment are relative to `cwd` (as in
    /// MLflow); from `vintner.toml`, relative to the repository root.
    pub fn resolve(
        flag: Option<&str>,
        config: Option<&str>,
        repo_root: &Path,
        cwd: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<TrackingUri> {
        let non_empty = |s: &str| !s.trim().is_empty();
        if let Some(f) = flag.filter(|s| non_empty(s)) {
            return Self::parse(f, UriSource::Flag, cwd);
        }
        if let Some(e) = env(ENV_TRACKING_URI).filter(|s| non_empty(s)) {
            return Self::parse(&e, UriSource::Env, cwd);
        }
        if let Some(c) = config.filter(|s| non_empty(s)) {
            return Self::parse(c, UriSource::Config, repo_root);
        }
        Ok(TrackingUri::Sqlite {
            path: absolute(repo_root).join(DEFAULT_DB_FILE),
            source: UriSource::Default,
        })
    }

    /// Parses one URI; `base` anchors relative sqlite paths.
    pub fn parse(uri: &str, source: UriSource, base: &Path) -> Result<TrackingUri> {
        let uri = uri.trim();
        let lower = uri.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Ok(TrackingUri::Http {
                url: uri.trim_end_matches('/').to_string(),
                source,
            });
        }
        if let Some(rest) = uri.strip_prefix("sqlite://") {
            // SQLAlchemy form: sqlite:///relative.db, sqlite:////absolute.db
            let Some(path) = rest.strip_prefix('/') else {
                return Err(Error::UnsupportedUri {
                    uri: uri.to_string(),
                    source_name: source.describe().to_string(),
                });
            };
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() || path == ":memory:" {
                return Err(Error::UnsupportedUri {
                    uri: uri.to_string(),
                    source_name: source.describe().to_string(),
                });
            }
            let p = Path::new(path);
            let path = if p.is_absolute() {
                p.to_path_buf()
            } else {
                absolute(base).join(p)
            };
            return Ok(TrackingUri::Sqlite { path, source });
        }
        let has_scheme = uri.split_once(':').is_some_and(|(s, _)| {
            s.len() > 1
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
        // MLflow's Databricks URIs (`databricks`, `databricks://profile`, `databricks-uc`) name
        // a hosted backend, not a folder of the file store.
        let databricks = lower == "databricks"
            || lower == "databricks-uc"
            || lower.starts_with("databricks:")
            || lower.starts_with("databricks-uc:");
        if !databricks && (lower.starts_with("file:") || !has_scheme) {
            return Err(Error::FileStore {
                uri: uri.to_string(),
            });
        }
        Err(Error::UnsupportedUri {
            uri: uri.to_string(),
            source_name: source.describe().to_string(),
        })
    }

    pub fn source(&self) -> UriSource {
        match self {
            TrackingUri::Sqlite { source, .. } | TrackingUri::Http { source, .. } => *source,
        }
    }
}

/// The URI for messages and logs: credentials in an `http(s)://user:password@…` URI and secret
/// query values are shown as `***` (the connection uses [`TrackingUri::Http`]'s `url`).
impl std::fmt::Display for TrackingUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrackingUri::Sqlite { path, .. } => write!(f, "sqlite:///{}", path.display()),
            TrackingUri::Http { url, .. } => f.write_str(&crate::redact::url(url)),
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(v: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
        move |k| {
            (k == ENV_TRACKING_URI)
                .then(|| v.map(str::to_string))
                .flatten()
        }
    }

    #[test]
    fn default_is_mlflow_db_at_repo_root() {
        let u = TrackingUri::resolve(
            None,
            None,
            Path::new("/repo"),
            Path::new("/cwd"),
            &env_with(None),
        )
        .unwrap();
        assert_eq!(
            u,
            TrackingUri::Sqlite {
                path: PathBuf::from("/repo/mlflow.db"),
                source: UriSource::Default
            }
        );
    }

    #[test]
    fn flag_beats_env_beats_config() {
        let env = env_with(Some("http://env:5000/"));
        let u = TrackingUri::resolve(
            Some("sqlite:///b.db"),
            Some("http://cfg"),
            Path::new("/r"),
            Path::new("/cwd"),
            &env,
        )
        .unwrap();
        assert_eq!(
            u,
            TrackingUri::Sqlite {
                path: PathBuf::from("/cwd/b.db"),
                source: UriSource::Flag
            }
        );
        let u = TrackingUri::resolve(
            None,
            Some("http://cfg"),
            Path::new("/r"),
            Path::new("/cwd"),
            &env,
        )
        .unwrap();
        assert_eq!(
            u,
            TrackingUri::Http {
                url: "http://env:5000".into(),
                source: UriSource::Env
            }
        );
        let u = TrackingUri::resolve(
            None,
            Some("sqlite:///x.db"),
            Path::new("/r"),
            Path::new("/cwd"),
            &env_with(None),
        )
        .unwrap();
        assert_eq!(
            u,
            TrackingUri::Sqlite {
                path: PathBuf::from("/r/x.db"),
                source: UriSource::Config
            }
        );
    }

    #[test]
    fn display_hides_credentials_the_url_keeps() {
        let u = TrackingUri::parse(
            "http://alice:s3cret@127.0.0.1:5000/",
            UriSource::Env,
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(u.to_string(), "http://***@127.0.0.1:5000");
        let TrackingUri::Http { url, .. } = &u else {
            panic!("{u:?}")
        };
        assert_eq!(url, "http://alice:s3cret@127.0.0.1:5000");
        let e = TrackingUri::parse("mysql://alice:s3cret@db/x", UriSource::Flag, Path::new("/"))
            .unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }

    #[test]
    fn file_store_and_plain_folders_are_refused_with_a_migration_hint() {
        for uri in ["file:///tmp/mlruns", "./mlruns", "mlruns"] {
            let e = TrackingUri::parse(uri, UriSource::Flag, Path::new("/")).unwrap_err();
            assert!(matches!(e, Error::FileStore { .. }), "{uri}: {e}");
            assert!(e.hint().unwrap().contains("migrate-filestore"));
        }
        let e =
            TrackingUri::parse("postgresql://u@h/db", UriSource::Env, Path::new("/")).unwrap_err();
        assert!(matches!(e, Error::UnsupportedUri { .. }));
        for uri in ["databricks", "databricks://profile", "databricks-uc"] {
            let e = TrackingUri::parse(uri, UriSource::Flag, Path::new("/")).unwrap_err();
            assert!(matches!(e, Error::UnsupportedUri { .. }), "{uri}: {e}");
            assert!(!e.to_string().contains("file store"), "{uri}: {e}");
        }
    }
}
