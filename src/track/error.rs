//! The errors of the tracking layer, one variant per case a caller (or user) can act on.
//! Every URL or server text a message quotes is shown through [`Redacted`], so an error built
//! anywhere (a tracking URI with `user:password@`, a presigned URL in a server's answer) never
//! shows a secret.

use std::path::PathBuf;

use crate::redact::Redacted;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{kind} `{id}` not found")]
    NotFound { kind: &'static str, id: String },

    #[error("{kind} `{id}` already exists")]
    AlreadyExists { kind: &'static str, id: String },

    #[error(
        "param `{key}` of run {run_id} was already logged with value `{old}`; params are immutable, so `{new}` cannot replace it"
    )]
    ParamChanged {
        run_id: String,
        key: String,
        old: String,
        new: String,
    },

    #[error("run {run_id} is deleted, so nothing can be logged to it")]
    RunNotActive { run_id: String },

    #[error("invalid {what} `{}`: {reason}", Redacted(value))]
    Invalid {
        what: &'static str,
        value: String,
        reason: String,
    },

    #[error(transparent)]
    Filter(#[from] crate::track::filter::FilterError),

    #[error("invalid page token `{0}`")]
    PageToken(String),

    // ---- URIs --------------------------------------------------------------------------------
    #[error(
        "the tracking URI `{}` names MLflow's file store, which MLflow 3 keeps in maintenance mode and vintner does not support",
        Redacted(uri)
    )]
    FileStore { uri: String },

    #[error("unsupported tracking URI `{}` (from {source_name})", Redacted(uri))]
    UnsupportedUri { uri: String, source_name: String },

    // ---- embedded store ----------------------------------------------------------------------
    #[error("SQLite error on `{}` while {action}", path.display())]
    Sqlite {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    #[error(
        "`{}` is at MLflow schema revision {revision}, older than the {expected} vintner writes", path.display()
    )]
    SchemaTooOld {
        path: PathBuf,
        revision: String,
        expected: &'static str,
    },

    #[error(
        "`{}` is at MLflow schema revision {revision}, which vintner does not know, and its tables \
         differ from what vintner uses: {missing}", path.display()
    )]
    SchemaIncompatible {
        path: PathBuf,
        revision: String,
        missing: String,
    },

    #[error("`{}` cannot be opened as MLflow opens it: {detail}", path.display())]
    SchemaRevision { path: PathBuf, detail: String },

    #[error(
        "`{}` is a SQLite file without MLflow's `alembic_version` table, so it is not an MLflow tracking database", path.display()
    )]
    NotMlflowDb { path: PathBuf },

    #[error(
        "no tracking store at `{}`: {}", path.display(),
        if *empty_file { "the file is empty" } else { "the file does not exist" }
    )]
    NoStore { path: PathBuf, empty_file: bool },

    #[error("I/O error on `{}` while {action}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "artifact location `{}` is not one vintner writes to (mlflow-artifacts:, s3:// or a local folder)",
        Redacted(location)
    )]
    RemoteArtifacts { location: String },

    #[error(
        "run {run_id} on {} is incomplete: {missing} were not recorded",
        Redacted(server)
    )]
    Unrecorded {
        run_id: String,
        server: String,
        missing: String,
        #[source]
        source: Box<Error>,
    },

    #[error(
        "could not write an artifact to `{}`: {}",
        Redacted(location),
        Redacted(detail)
    )]
    Artifacts { location: String, detail: String },

    #[error(
        "could not read artifacts at `{}`: {}",
        Redacted(location),
        Redacted(detail)
    )]
    ArtifactRead { location: String, detail: String },

    // ---- REST --------------------------------------------------------------------------------
    #[error(
        "could not reach the MLflow tracking server at {}: {}",
        Redacted(url),
        Redacted(detail)
    )]
    Connect { url: String, detail: String },

    #[error(
        "the MLflow server at {} refused the request (HTTP {status}): not authenticated or not allowed",
        Redacted(url)
    )]
    Auth {
        url: String,
        status: u16,
        /// Whether credentials were sent.
        sent_credentials: bool,
    },

    #[error(
        "MLflow server error on {} (HTTP {status}, {error_code}): {}",
        Redacted(endpoint),
        Redacted(message)
    )]
    Server {
        endpoint: String,
        status: u16,
        error_code: String,
        message: String,
    },

    #[error(
        "unexpected response from {} (HTTP {status}): {}",
        Redacted(endpoint),
        Redacted(detail)
    )]
    BadResponse {
        endpoint: String,
        status: u16,
        detail: String,
    },

    #[error("invalid TLS setting {setting}: {}", Redacted(detail))]
    Tls {
        setting: &'static str,
        detail: String,
    },

    #[error("invalid setting {name}=`{}`: {reason}", Redacted(value))]
    Setting {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
}

impl Error {
    /// The fix to show after the error (`hint:`), when there is one.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::ParamChanged { .. } => "log the new value under another key, or start a new run".into(),
            Error::RunNotActive { .. } => "restore the run (`vintner runs restore <run-id>`) or log to another run".into(),
            Error::PageToken(_) => "pass the token a previous page returned, or none".into(),
            Error::FileStore { uri } => format!(
                "migrate it with `mlflow migrate-filestore --source {} --target sqlite:///mlflow.db` and use \
                 `sqlite:///mlflow.db`, or point --tracking-uri / MLFLOW_TRACKING_URI at an MLflow server",
                Redacted(uri)
            ),
            Error::UnsupportedUri { .. } => "use `sqlite:///path/to/mlflow.db` or `http(s)://host:port`; other MLflow \
                backends (postgresql, databricks, …) are reachable through `mlflow server`"
                .into(),
            Error::SchemaTooOld { path, .. } => format!(
                "back the file up, then run `mlflow db upgrade sqlite:///{}`",
                path.display()
            ),
            Error::SchemaIncompatible { .. } => "upgrade vintner, or serve the file with `mlflow server` and point \
                --tracking-uri at it"
                .into(),
            Error::NoStore { .. } => "runs and the model registry live where they were recorded, and a clone has no \
                `mlflow.db` (git ignores it): point at the team's server with `MLFLOW_TRACKING_URI=http://host:5000` \
                or `--tracking-uri http://host:5000`; a command that records (`vintner train`) creates a store here"
                .into(),
            Error::SchemaRevision { .. } => "MLflow 3.17.2 refuses this file too: open it with the MLflow that wrote it \
                (`mlflow server --backend-store-uri sqlite:///…`) and point --tracking-uri at the server, or restore \
                it from a backup"
                .into(),
            Error::NotMlflowDb { .. } => "choose another file with --tracking-uri or MLFLOW_TRACKING_URI".into(),
            Error::Auth { sent_credentials: false, .. } => {
                "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN".into()
            }
            Error::Auth { .. } => "check MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN".into(),
            Error::Connect { .. } => "check that the server is running and that MLFLOW_TRACKING_URI / --tracking-uri is right".into(),
            Error::RemoteArtifacts { .. } => "give the experiment an s3:// or local artifact location, or log through an MLflow server that proxies artifacts (--serve-artifacts, the default)".into(),
            Error::Unrecorded { .. } => "the server stayed unreachable past the retry bound (VINTNER_HTTP_RETRY_SECONDS, MLFLOW_HTTP_REQUEST_MAX_RETRIES); the run is not FINISHED, train again once the server is back".into(),
            Error::Artifacts { .. } => "check the AWS_* credentials and MLFLOW_S3_ENDPOINT_URL (as for MLflow's own client), or that the folder is writable".into(),
            Error::ArtifactRead { .. } => "check the AWS_* credentials and MLFLOW_S3_ENDPOINT_URL (as for MLflow's own client)".into(),
            _ => return None,
        })
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            id: id.into(),
        }
    }

    pub fn invalid(
        what: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            what,
            value: value.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_never_show_url_credentials_or_secret_parameters() {
        let errors = [
            Error::Connect {
                url: "http://alice:s3cret@127.0.0.1:1/api/2.0/mlflow/runs/get".into(),
                detail: "connection failed (http://alice:s3cret@127.0.0.1:1 refused)".into(),
            },
            Error::Auth {
                url: "https://alice:s3cret@mlflow.example".into(),
                status: 401,
                sent_credentials: true,
            },
            Error::BadResponse {
                endpoint: "runs/get".into(),
                status: 404,
                detail: "no such endpoint; is http://alice:s3cret@h an MLflow tracking server?"
                    .into(),
            },
            Error::Server {
                endpoint: "runs/get".into(),
                status: 500,
                error_code: "INTERNAL_ERROR".into(),
                message: "upload to https://b.s3/k?X-Amz-Signature=s3cret failed".into(),
            },
            Error::UnsupportedUri {
                uri: "postgresql://alice:s3cret@db/mlflow".into(),
                source_name: "MLFLOW_TRACKING_URI".into(),
            },
            Error::FileStore {
                uri: "file://alice:s3cret@host/mlruns".into(),
            },
        ];
        for e in errors {
            let shown = format!("{e} {}", e.hint().unwrap_or_default());
            assert!(
                !shown.contains("s3cret") && !shown.contains("alice"),
                "{shown}"
            );
            assert!(shown.contains("***"), "{shown}");
        }
    }
}
