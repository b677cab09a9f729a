//! The HTTP side of the REST backend: settings read from MLflow's environment variables, auth
//! headers, TLS, timeouts, and retries bounded in count and total time: 408/429/5xx answers and
//! transport failures (a refused connection, a pooled connection the server closed, a reset) are
//! retried with MLflow's exponential backoff and jitter, the first transport retry at once on a
//! new connection. Idle pooled connections are dropped before common servers close them.
//!
//! Uses reqwest's async client on a private current-thread tokio runtime: reqwest and tokio are in
//! the binary anyway (object_store), a current-thread runtime starts no threads, and callers keep
//! a synchronous API. (`reqwest::blocking` would add a feature and a background thread for the
//! same result.) Do not call it from inside another tokio runtime.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use reqwest::{Method, StatusCode};

use crate::track::{Error, Result};

/// How vintner authenticates, exactly as MLflow decides it.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    /// `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD`, both set.
    Basic {
        user: String,
        password: String,
    },
    /// `MLFLOW_TRACKING_TOKEN`.
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}:***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// Settings of the REST client; [`RestConfig::from_env`] reads MLflow's variables.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// `http(s)://host:port[/prefix]`, no trailing slash.
    pub base_url: String,
    pub auth: Auth,
    /// `MLFLOW_TRACKING_INSECURE_TLS`: do not verify the server certificate.
    pub insecure_tls: bool,
    /// `MLFLOW_TRACKING_SERVER_CERT_PATH`: a CA bundle to verify the server with.
    pub server_cert_path: Option<PathBuf>,
    /// `MLFLOW_HTTP_REQUEST_TIMEOUT` (seconds, default 120).
    pub timeout: Duration,
    /// `MLFLOW_HTTP_REQUEST_MAX_RETRIES` (default 7).
    pub max_retries: u32,
    /// `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR` (seconds, default 2).
    pub backoff_factor: f64,
    /// `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER` (seconds, default 1).
    pub backoff_jitter: f64,
    /// `VINTNER_HTTP_RETRY_SECONDS` (default 60): no retry starts after this long, so a server
    /// restart is waited out but a server that is gone fails the command in about a minute.
    pub retry_budget: Duration,
}

/// How long an idle pooled connection is kept: below gunicorn's 2 s and uvicorn's 5 s
/// keep-alive, so a connection is rarely reused after the server closed it (and when it is,
/// the request is sent again at once).
pub const POOL_IDLE: Duration = Duration::from_millis(1500);

/// The longest single wait between retries (urllib3's default backoff_max).
const MAX_BACKOFF: f64 = 120.0;

impl RestConfig {
    /// Reads MLflow's environment variables (through `env`, injectable for tests).
    pub fn from_env(base_url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<RestConfig> {
        let var = |k: &str| env(k).filter(|v| !v.is_empty());
        let auth = match (
            var("MLFLOW_TRACKING_USERNAME"),
            var("MLFLOW_TRACKING_PASSWORD"),
        ) {
            (Some(user), Some(password)) => Auth::Basic { user, password },
            _ => match var("MLFLOW_TRACKING_TOKEN") {
                Some(t) => Auth::Bearer(t),
                None => Auth::None,
            },
        };
        let insecure_tls = match var("MLFLOW_TRACKING_INSECURE_TLS") {
            Some(v) => parse_bool("MLFLOW_TRACKING_INSECURE_TLS", &v)?,
            None => false,
        };
        let server_cert_path = var("MLFLOW_TRACKING_SERVER_CERT_PATH").map(PathBuf::from);
        if insecure_tls && server_cert_path.is_some() {
            return Err(Error::Tls {
                setting: "MLFLOW_TRACKING_INSECURE_TLS",
                detail: "it cannot be true while MLFLOW_TRACKING_SERVER_CERT_PATH is set; unset one of them".into(),
            });
        }
        let num = |k: &'static str, default: f64| -> Result<f64> {
            match var(k) {
                None => Ok(default),
                Some(v) => {
                    v.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|x| *x >= 0.0)
                        .ok_or(Error::Setting {
                            name: k,
                            value: v,
                            reason: "expected a non-negative number",
                        })
                }
            }
        };
        Ok(RestConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            auth,
            insecure_tls,
            server_cert_path,
            timeout: Duration::from_secs_f64(num("MLFLOW_HTTP_REQUEST_TIMEOUT", 120.0)?.max(0.001)),
            max_retries: num("MLFLOW_HTTP_REQUEST_MAX_RETRIES", 7.0)? as u32,
            backoff_factor: num("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", 2.0)?,
            backoff_jitter: num("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", 1.0)?,
            retry_budget: Duration::from_secs_f64(num("VINTNER_HTTP_RETRY_SECONDS", 60.0)?),
        })
    }

    /// The wait before retry number `retry` (1-based): none for the first, then
    /// `factor * 2^(retry-1)` capped at 120 s, plus up to `jitter` seconds (urllib3's schedule).
    pub fn backoff(&self, retry: u32) -> Duration {
        if retry <= 1 {
            return Duration::ZERO;
        }
        let base = (self.backoff_factor * 2f64.powi(retry as i32 - 1)).min(MAX_BACKOFF);
        let jitter = if self.backoff_jitter > 0.0 {
            rand::random::<f64>() * self.backoff_jitter
        } else {
            0.0
        };
        Duration::from_secs_f64(base + jitter)
    }
}

fn parse_bool(name: &'static str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Error::Setting {
            name,
            value: v.to_string(),
            reason: "expected true/false or 1/0",
        }),
    }
}

/// Whether MLflow's client would retry this status.
pub fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// A raw response: status and body.
pub struct Response {
    pub status: StatusCode,
    pub body: Vec<u8>,
    /// The request was sent again after a failure that may have come after the server got it
    /// (a reset or a closed connection, not a refused one): a create may have happened twice.
    pub resent: bool,
}

/// The HTTP client with its runtime.
pub struct Http {
    pub config: Arc<RestConfig>,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

/// What to send.
pub enum Body<'a> {
    None,
    Json(&'a serde_json::Value),
    Bytes(Vec<u8>),
}

impl Http {
    pub fn new(config: RestConfig) -> Result<Http> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "X-MLflow-Client-Version",
            reqwest::header::HeaderValue::from_static("3.17.2"),
        );
        let mut b = reqwest::Client::builder()
            .user_agent(concat!("vintner/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(config.timeout)
            .pool_idle_timeout(POOL_IDLE)
            .connect_timeout(config.timeout.min(Duration::from_secs(30)));
        if config.insecure_tls {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if let Some(path) = &config.server_cert_path {
            let pem = std::fs::read(path).map_err(|e| Error::Tls {
                setting: "MLFLOW_TRACKING_SERVER_CERT_PATH",
                detail: format!("cannot read `{}`: {e}", path.display()),
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Tls {
                setting: "MLFLOW_TRACKING_SERVER_CERT_PATH",
                detail: format!("`{}` is not a PEM certificate bundle: {e}", path.display()),
            })?;
            b = b.tls_certs_only(certs);
        }
        let client = b.build().map_err(|e| Error::Tls {
            setting: "the HTTP client",
            detail: e.to_string(),
        })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Connect {
                url: config.base_url.clone(),
                detail: format!("cannot start the HTTP runtime: {e}"),
            })?;
        Ok(Http {
            config: Arc::new(config),
            client,
            rt,
        })
    }

    /// Sends one request, retrying 408/429/5xx with backoff (honouring `Retry-After`).
    pub fn send(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        body: Body<'_>,
    ) -> Result<Response> {
        let req = Request {
            method,
            url: url.to_string(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            body: match body {
                Body::None => OwnedBody::None,
                Body::Json(v) => OwnedBody::Json(v.clone()),
                Body::Bytes(b) => OwnedBody::Bytes(b),
            },
        };
        self.rt
            .block_on(execute(self.client.clone(), self.config.clone(), req))
    }

    /// Sends requests with at most `concurrency` in flight; the results are in request order.
    pub fn send_all(&self, requests: Vec<Request>, concurrency: usize) -> Vec<Result<Response>> {
        let n = requests.len();
        self.rt.block_on(async {
            let mut results: Vec<Option<Result<Response>>> = (0..n).map(|_| None).collect();
            let mut pending = requests.into_iter().enumerate();
            let mut set = tokio::task::JoinSet::new();
            let spawn = |set: &mut tokio::task::JoinSet<_>, (i, r): (usize, Request)| {
                let (client, config) = (self.client.clone(), self.config.clone());
                set.spawn(async move { (i, execute(client, config, r).await) });
            };
            for item in pending.by_ref().take(concurrency.max(1)) {
                spawn(&mut set, item);
            }
            while let Some(joined) = set.join_next().await {
                if let Ok((i, r)) = joined {
                    results[i] = Some(r);
                }
                if let Some(item) = pending.next() {
                    spawn(&mut set, item);
                }
            }
            results
                .into_iter()
                .map(|r| {
                    r.unwrap_or_else(|| {
                        Err(Error::Connect {
                            url: self.config.base_url.clone(),
                            detail: "a request task failed".into(),
                        })
                    })
                })
                .collect()
        })
    }
}

/// An owned request, so several can be in flight at once.
pub struct Request {
    pub method: Method,
    pub url: String,
    pub query: Vec<(String, String)>,
    pub body: OwnedBody,
}

pub enum OwnedBody {
    None,
    Json(serde_json::Value),
    Bytes(Vec<u8>),
}

/// One request with MLflow's retry policy, bounded in count (`max_retries`) and in total time
/// (`retry_budget`): 408/429/5xx answers are retried after `Retry-After` or the backoff, and so
/// are transport failures, as MLflow's client does for every method (the server's `log-batch`
/// is idempotent). The first transport failure is retried at once: it is most often a pooled
/// connection the server had closed, and the retry goes out on a new connection.
async fn execute(client: reqwest::Client, config: Arc<RestConfig>, r: Request) -> Result<Response> {
    let started = std::time::Instant::now();
    let mut retry = 0;
    let mut transport_failures = 0;
    let mut resent = false;
    loop {
        let mut req = client.request(r.method.clone(), &r.url);
        if !r.query.is_empty() {
            req = req.query(&r.query);
        }
        req = match &config.auth {
            Auth::None => req,
            Auth::Basic { user, password } => req.header(
                reqwest::header::AUTHORIZATION,
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                ),
            ),
            Auth::Bearer(t) => req.bearer_auth(t),
        };
        req = match &r.body {
            OwnedBody::None => req,
            OwnedBody::Json(v) => req.json(v),
            OwnedBody::Bytes(b) => req.body(b.clone()),
        };
        let result = async {
            let resp = req.send().await?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<f64>().ok());
            let body = resp.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>((status, retry_after, body))
        }
        .await;
        // How long to wait before the next try, if one is allowed.
        let next_wait = |wanted: Duration| -> Option<Duration> {
            if retry >= config.max_retries {
                return None;
            }
            let left = config.retry_budget.checked_sub(started.elapsed())?;
            (!left.is_zero()).then(|| wanted.min(left))
        };
        match result {
            Ok((status, retry_after, body)) => {
                if retryable(status) {
                    let wanted = match retry_after {
                        Some(s) if s >= 0.0 => Duration::from_secs_f64(s.min(MAX_BACKOFF)),
                        _ => config.backoff(retry + 1),
                    };
                    if let Some(wait) = next_wait(wanted) {
                        retry += 1;
                        tracing::debug!(
                            "{} {}: HTTP {status}, retry {retry} in {wait:?}",
                            r.method,
                            endpoint(&config, &r.url)
                        );
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                }
                return Ok(Response {
                    status,
                    body,
                    resent,
                });
            }
            Err(e) => {
                transport_failures += 1;
                let wanted = if transport_failures == 1 {
                    Duration::ZERO
                } else {
                    config.backoff(retry + 1)
                };
                if let Some(wait) = next_wait(wanted) {
                    retry += 1;
                    resent |= !e.is_connect();
                    tracing::debug!(
                        "{} {}: {}, retry {retry} in {wait:?}",
                        r.method,
                        endpoint(&config, &r.url),
                        root_cause(&e)
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let what = if e.is_connect() {
                    format!("connection failed ({})", root_cause(&e))
                } else if e.is_timeout() {
                    format!(
                        "no answer within {:?} (raise MLFLOW_HTTP_REQUEST_TIMEOUT if the server is slow)",
                        config.timeout
                    )
                } else {
                    root_cause(&e)
                };
                let detail = if retry > 0 {
                    format!(
                        "{what}, after {retry} retries over {:.0} s (MLFLOW_HTTP_REQUEST_MAX_RETRIES and VINTNER_HTTP_RETRY_SECONDS allow more)",
                        started.elapsed().as_secs_f64()
                    )
                } else {
                    what
                };
                return Err(Error::Connect {
                    url: r.url.clone(),
                    detail,
                });
            }
        }
    }
}

/// The part of a URL after the server's base URL (which may carry credentials), for logs.
fn endpoint<'a>(config: &RestConfig, url: &'a str) -> &'a str {
    url.strip_prefix(config.base_url.as_str())
        .unwrap_or("(request)")
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<RestConfig> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        RestConfig::from_env("http://h:5000/", &move |k| {
            vars.iter().find(|(a, _)| a == k).map(|(_, b)| b.clone())
        })
    }

    #[test]
    fn auth_is_chosen_like_mlflow() {
        assert_eq!(cfg(&[]).unwrap().auth, Auth::None);
        assert_eq!(
            cfg(&[("MLFLOW_TRACKING_TOKEN", "t")]).unwrap().auth,
            Auth::Bearer("t".into())
        );
        // Basic wins when both kinds are set; a lone username is ignored
        let both = cfg(&[
            ("MLFLOW_TRACKING_USERNAME", "u"),
            ("MLFLOW_TRACKING_PASSWORD", "p"),
            ("MLFLOW_TRACKING_TOKEN", "t"),
        ])
        .unwrap();
        assert_eq!(
            both.auth,
            Auth::Basic {
                user: "u".into(),
                password: "p".into()
            }
        );
        assert_eq!(
            cfg(&[
                ("MLFLOW_TRACKING_USERNAME", "u"),
                ("MLFLOW_TRACKING_TOKEN", "t")
            ])
            .unwrap()
            .auth,
            Auth::Bearer("t".into())
        );
        assert!(
            !format!("{both:?}").contains('p') || !format!("{:?}", both.auth).contains("\"p\"")
        );
        assert_eq!(cfg(&[]).unwrap().base_url, "http://h:5000");
    }

    #[test]
    fn tls_and_retry_settings() {
        assert!(
            cfg(&[("MLFLOW_TRACKING_INSECURE_TLS", "true")])
                .unwrap()
                .insecure_tls
        );
        assert!(cfg(&[("MLFLOW_TRACKING_INSECURE_TLS", "maybe")]).is_err());
        assert!(
            cfg(&[
                ("MLFLOW_TRACKING_INSECURE_TLS", "true"),
                ("MLFLOW_TRACKING_SERVER_CERT_PATH", "/ca.pem")
            ])
            .is_err()
        );
        let c = cfg(&[
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
            ("MLFLOW_HTTP_REQUEST_TIMEOUT", "5"),
        ])
        .unwrap();
        assert_eq!((c.max_retries, c.timeout), (2, Duration::from_secs(5)));
        let d = cfg(&[]).unwrap();
        assert_eq!((d.max_retries, d.timeout), (7, Duration::from_secs(120)));
        assert!(cfg(&[("MLFLOW_HTTP_REQUEST_TIMEOUT", "-1")]).is_err());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = RestConfig {
            backoff_jitter: 0.0,
            ..cfg(&[]).unwrap()
        };
        assert_eq!(c.backoff(1), Duration::ZERO);
        assert_eq!(c.backoff(2), Duration::from_secs(4));
        assert_eq!(c.backoff(3), Duration::from_secs(8));
        assert_eq!(c.backoff(20), Duration::from_secs(120));
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(retryable(StatusCode::from_u16(s).unwrap()));
        }
        for s in [400, 401, 403, 404, 409, 501] {
            assert!(!retryable(StatusCode::from_u16(s).unwrap()));
        }
    }
}
