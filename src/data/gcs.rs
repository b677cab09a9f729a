//! Google Cloud Storage as a data remote, through `object_store`: `url = gs://bucket/path` with
//! DVC's options `credentialpath` (a service-account or authorized-user JSON file), else
//! `GOOGLE_APPLICATION_CREDENTIALS`; `endpointurl` (another GCS-compatible endpoint);
//! `allow_anonymous_login` (public buckets, emulators); `projectname` is accepted as DVC does
//! (it names the project for bucket creation, which vintner never does). Only builds the
//! client; the layout and transfers are [`super::objstore`]'s.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpService, ReqwestConnector,
};
use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder};
use object_store::{ClientOptions, StaticCredentialProvider};

use super::Result;
use super::config::RemoteConfig;
use super::objstore::{ObjStoreRemote, retry_config};
use super::remote_opts::Opts;

/// Builds the client from the remote's DVC settings and the environment.
pub fn open(rc: &RemoteConfig) -> Result<ObjStoreRemote> {
    let o = Opts::new(rc);
    let (bucket, prefix) = o.bucket_and_prefix("gs", "bucket")?;
    let mut b = GoogleCloudStorageBuilder::new()
        .with_bucket_name(&bucket)
        .with_retry(retry_config());
    if let Some(endpoint) = o.get("endpointurl") {
        let endpoint = endpoint.trim_end_matches('/');
        b = b.with_base_url(endpoint).with_client_options(
            ClientOptions::new().with_allow_http(endpoint.starts_with("http://")),
        );
    }
    let anonymous = o.get("allow_anonymous_login") == Some("true");
    let credentials = o.get_or_env("credentialpath", &["GOOGLE_APPLICATION_CREDENTIALS"]);
    match credentials {
        Some(path) if !anonymous => {
            if !Path::new(&path).is_file() {
                return Err(o.fail(format!(
                    "its credentials file `{path}` (`credentialpath` or \
                     GOOGLE_APPLICATION_CREDENTIALS) does not exist; point it at a \
                     service-account key: `vintner remote modify --local {} credentialpath \
                     <file.json>`",
                    rc.name
                )));
            }
            b = b.with_application_credentials(path);
        }
        // object_store's GCS client has no anonymous mode (`skip_signature` is not applied): it
        // gets an empty token, and the connector below sends no `Authorization` at all.
        _ if anonymous => {
            b = b
                .with_credentials(Arc::new(StaticCredentialProvider::new(GcpCredential {
                    bearer: String::new(),
                })))
                .with_http_connector(Anonymous);
        }
        _ => {
            return Err(o.fail(format!(
                "no Google Cloud credentials: set `credentialpath` to a service-account key \
                 (`vintner remote modify --local {} credentialpath <file.json>`) or \
                 GOOGLE_APPLICATION_CREDENTIALS, or `allow_anonymous_login true` for a public \
                 bucket",
                rc.name
            )));
        }
    }
    let store = b.build().map_err(|e| o.fail(e.to_string()))?;
    ObjStoreRemote::new(&rc.name, &rc.url, Arc::new(store), &prefix, o.jobs())
}

/// Connects without credentials: every request leaves without an `Authorization` header, as
/// `allow_anonymous_login` asks (DVC's `token="anon"`).
#[derive(Debug)]
struct Anonymous;

impl HttpConnector for Anonymous {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(NoAuth(
            ReqwestConnector::default().connect(options)?,
        )))
    }
}

#[derive(Debug)]
struct NoAuth(HttpClient);

#[async_trait]
impl HttpService for NoAuth {
    async fn call(&self, mut req: HttpRequest) -> Result<HttpResponse, HttpError> {
        req.headers_mut().remove("authorization");
        self.0.execute(req).await
    }
}
