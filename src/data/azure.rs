//! Azure Blob Storage as a data remote, through `object_store`: `url = azure://container/path`
//! with DVC's options `connection_string`, `account_name`, `account_key`, `sas_token` (and
//! `tenant_id`/`client_id`/`client_secret`) — keep the secret ones in `config.local` — else
//! `AZURE_STORAGE_CONNECTION_STRING` and the other `AZURE_STORAGE_*` variables. Only builds the
//! client; the layout and transfers are [`super::objstore`]'s.

use std::sync::Arc;

use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};

use super::Result;
use super::config::RemoteConfig;
use super::objstore::{ObjStoreRemote, retry_config};
use super::remote_opts::Opts;

/// The well-known account and key of Azure's storage emulators (`UseDevelopmentStorage=true`).
const DEV_ACCOUNT: &str = "devstoreaccount1";
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const DEV_ENDPOINT: &str = "http://127.0.0.1:10000/devstoreaccount1";

/// The parts of an Azure storage connection string vintner uses.
#[derive(Debug, Default, PartialEq, Eq)]
struct ConnectionString {
    account: Option<String>,
    key: Option<String>,
    sas: Option<String>,
    blob_endpoint: Option<String>,
}

/// Parses `Key=Value;Key=Value` (keys case-insensitive, values may hold `=`), filling the blob
/// endpoint from `DefaultEndpointsProtocol` and `EndpointSuffix` when it is not given.
fn parse_connection_string(text: &str) -> std::result::Result<ConnectionString, String> {
    let mut cs = ConnectionString::default();
    let mut protocol = "https".to_string();
    let mut suffix = "core.windows.net".to_string();
    let mut dev = false;
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!(
                "a part of it has no `=` (expected `Key=Value;…`, e.g. \
                 `AccountName=…;AccountKey=…`); part {} of {}",
                text.split(';').position(|p| p.trim() == part).unwrap_or(0) + 1,
                text.split(';').filter(|p| !p.trim().is_empty()).count()
            ));
        };
        let v = v.trim().to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "accountname" => cs.account = Some(v),
            "accountkey" => cs.key = Some(v),
            "sharedaccesssignature" => cs.sas = Some(v),
            "blobendpoint" => cs.blob_endpoint = Some(v),
            "defaultendpointsprotocol" => protocol = v,
            "endpointsuffix" => suffix = v,
            "usedevelopmentstorage" => dev = v.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    if dev {
        cs.account.get_or_insert_with(|| DEV_ACCOUNT.into());
        if cs.sas.is_none() {
            cs.key.get_or_insert_with(|| DEV_KEY.into());
        }
        cs.blob_endpoint.get_or_insert_with(|| DEV_ENDPOINT.into());
    }
    if cs.blob_endpoint.is_none()
        && let Some(account) = &cs.account
    {
        cs.blob_endpoint = Some(format!("{protocol}://{account}.blob.{suffix}"));
    }
    Ok(cs)
}

/// Builds the client from the remote's DVC settings and the environment.
pub fn open(rc: &RemoteConfig) -> Result<ObjStoreRemote> {
    let mut o = Opts::new(rc);
    let (container, prefix) = o.bucket_and_prefix("azure", "container")?;
    let conn = o.secret("connection_string", &["AZURE_STORAGE_CONNECTION_STRING"]);
    let cs = match &conn {
        Some(text) => parse_connection_string(text).map_err(|why| {
            o.fail(format!(
                "its connection string (`connection_string` or AZURE_STORAGE_CONNECTION_STRING) \
                 is malformed: {why}"
            ))
        })?,
        None => ConnectionString::default(),
    };
    let account = o
        .get("account_name")
        .map(str::to_string)
        .or(cs.account)
        .or_else(|| {
            o.get_or_env(
                "account_name",
                &["AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCOUNT_NAME"],
            )
        });
    let Some(account) = account else {
        return Err(o.fail(
            "no storage account is configured: set `account_name` \
             (`vintner remote modify <name> account_name <account>`), or a `connection_string` \
             in config.local, or AZURE_STORAGE_CONNECTION_STRING",
        ));
    };
    let key = match o.secret("account_key", &[]) {
        Some(k) => Some(k),
        None => cs.key.or_else(|| {
            o.secret(
                "account_key",
                &["AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY"],
            )
        }),
    };
    let sas = match o.secret("sas_token", &[]) {
        Some(s) => Some(s),
        None => cs
            .sas
            .or_else(|| o.secret("sas_token", &["AZURE_STORAGE_SAS_TOKEN"])),
    };
    let endpoint = cs
        .blob_endpoint
        .unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"));
    let mut b = MicrosoftAzureBuilder::new()
        .with_account(&account)
        .with_container_name(&container)
        .with_allow_http(endpoint.starts_with("http://"))
        .with_endpoint(endpoint.trim_end_matches('/').to_string())
        .with_retry(retry_config());
    if let Some(key) = &key {
        b = b.with_access_key(key);
    } else if let Some(sas) = &sas {
        b = b.with_config(AzureConfigKey::SasKey, sas.trim_start_matches('?'));
    } else {
        let tenant = o.get_or_env("tenant_id", &["AZURE_TENANT_ID"]);
        let client = o.get_or_env("client_id", &["AZURE_CLIENT_ID"]);
        let secret = o.secret("client_secret", &["AZURE_CLIENT_SECRET"]);
        match (tenant, client, secret) {
            (Some(t), Some(c), Some(s)) => {
                b = b.with_client_secret_authorization(c, s, t);
            }
            _ if o.get("allow_anonymous_login") == Some("true") => {
                b = b.with_skip_signature(true);
            }
            _ => {
                return Err(o.fail(format!(
                    "no credentials for storage account `{account}`: set `account_key` or \
                     `sas_token` with `vintner remote modify --local {} …`, or a \
                     `connection_string` there, or AZURE_STORAGE_CONNECTION_STRING / \
                     AZURE_STORAGE_KEY",
                    rc.name
                )));
            }
        }
    }
    let store = b.build().map_err(|e| o.fail(e.to_string()))?;
    ObjStoreRemote::new(&rc.name, &rc.url, Arc::new(store), &prefix, o.jobs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_string_gives_account_key_and_endpoint() {
        let cs = parse_connection_string(
            "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5==;\
             BlobEndpoint=http://127.0.0.1:10000/acct;",
        )
        .unwrap();
        assert_eq!(
            cs,
            ConnectionString {
                account: Some("acct".into()),
                key: Some("a2V5==".into()),
                sas: None,
                blob_endpoint: Some("http://127.0.0.1:10000/acct".into()),
            }
        );
        let cs = parse_connection_string("AccountName=acct;SharedAccessSignature=sv=1&sig=x%3D")
            .unwrap();
        assert_eq!(cs.sas.as_deref(), Some("sv=1&sig=x%3D"));
        assert_eq!(
            cs.blob_endpoint.as_deref(),
            Some("https://acct.blob.core.windows.net")
        );
        let dev = parse_connection_string("UseDevelopmentStorage=true").unwrap();
        assert_eq!(dev.account.as_deref(), Some(DEV_ACCOUNT));
        assert_eq!(dev.blob_endpoint.as_deref(), Some(DEV_ENDPOINT));
        let err = parse_connection_string("AccountName=a;garbage").unwrap_err();
        assert!(err.contains("no `=`"), "{err}");
        assert!(!err.contains("garbage"), "{err}");
    }
}
