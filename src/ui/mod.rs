//! `vintner ui`: read-only web pages over any tracking store the CLI can open — experiments and
//! their runs, a run with its metric charts and data/model lineage, run comparison, and the
//! model registry — rendered on the server as plain HTML and SVG, so they need no script and
//! fetch nothing from the internet.
//!
//! Runs and models are read through the [`Tracker`] trait only; no route changes the store (every
//! route is a `GET`). The router is built by [`app`] so tests call it in-process. This module
//! never prints.

mod chart;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::Markup;

use crate::track::{self, Tracker};

pub use chart::Series;

/// What every page reads from.
pub struct UiState {
    pub tracker: Arc<dyn Tracker>,
    /// The metric `register` ranks runs by (`registry.metric`): the first metric column.
    pub registry_metric: String,
    /// Answer only requests addressed to a loopback name (`localhost`, `127.0.0.1`, `[::1]`):
    /// set when listening on loopback, so a web page elsewhere cannot read the store through a
    /// DNS name rebound to this machine.
    pub loopback_only: bool,
}

/// Why a page could not be shown; each becomes an HTML error page with its status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },

    #[error("invalid `{param}` in the address: {reason}")]
    BadQuery { param: &'static str, reason: String },

    #[error("requests for host `{host}` are not served: the pages listen on loopback only")]
    ForeignHost { host: String },

    #[error(transparent)]
    Track(#[from] track::Error),

    #[error("the page could not be built: {0}")]
    Internal(String),
}

impl Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound { .. } | Error::Track(track::Error::NotFound { .. }) => {
                StatusCode::NOT_FOUND
            }
            Error::BadQuery { .. }
            | Error::Track(
                track::Error::Filter(_) | track::Error::PageToken(_) | track::Error::Invalid { .. },
            ) => StatusCode::BAD_REQUEST,
            Error::ForeignHost { .. } => StatusCode::FORBIDDEN,
            Error::Track(track::Error::Connect { .. }) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::NotFound { .. } | Error::Track(track::Error::NotFound { .. }) => Some(
                "check the id in the address, or start from the list of experiments or models"
                    .into(),
            ),
            Error::BadQuery { .. } => Some("fix the value in the address and reload".into()),
            Error::ForeignHost { .. } => Some(
                "open the pages as http://127.0.0.1:<port>/ or http://localhost:<port>/, or start \
                 `vintner ui --host <address>` to serve them to other machines"
                    .into(),
            ),
            Error::Track(e) => e.hint(),
            Error::Internal(_) => None,
        }
    }
}

/// A rendered page and its status (a page can say 400 and still show its form).
pub struct Page {
    pub status: StatusCode,
    pub body: Markup,
}

impl From<Markup> for Page {
    fn from(body: Markup) -> Self {
        Page {
            status: StatusCode::OK,
            body,
        }
    }
}

/// No script may run and nothing may load from elsewhere: the pages are plain HTML with inline
/// styles and inline SVG.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut res = (self.status, self.body).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        // Live enough: a reload always shows the store as it is now.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        Page {
            status,
            body: pages::error_page(status, &self.to_string(), self.hint().as_deref()),
        }
        .into_response()
    }
}

/// The query string's pairs, decoded (`runs=a&runs=b` keeps both).
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first non-blank value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The router of every page, over `state`.
pub fn app(state: UiState) -> Router {
    let state = Arc::new(state);
    Router::new()
        .route("/", get(experiments))
        .route("/experiments/{id}", get(experiment))
        .route("/runs/{run_id}", get(run))
        .route("/compare", get(compare))
        .route("/models", get(models))
        .route("/models/{name}", get(model))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            loopback_guard,
        ))
        .with_state(state)
}

/// Whether a `Host` header names this machine's loopback (`localhost`, `127.0.0.1`, `[::1]`,
/// with any port).
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Refuses requests addressed to another name when serving loopback only (DNS rebinding).
async fn loopback_guard(
    State(s): Shared,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if s.loopback_only
        && let Some(host) = req.headers().get(header::HOST)
    {
        let host = String::from_utf8_lossy(host.as_bytes()).into_owned();
        if !is_loopback_host(&host) {
            return Error::ForeignHost { host }.into_response();
        }
    }
    next.run(req).await
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

type Shared = State<Arc<UiState>>;

/// Builds a page on the blocking pool: the tracker is synchronous (the REST backend drives its
/// own runtime), so it must not run on the server's async workers.
async fn render<F>(state: Arc<UiState>, page: F) -> Response
where
    F: FnOnce(&UiState) -> Result<Page, Error> + Send + 'static,
{
    match tokio::task::spawn_blocking(move || page(&state)).await {
        Ok(Ok(page)) => page.into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => Error::Internal(e.to_string()).into_response(),
    }
}

async fn experiments(State(s): Shared) -> Response {
    render(s, |s| pages::experiments(s).map(Page::from)).await
}

async fn experiment(State(s): Shared, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q.as_deref());
    render(s, move |s| pages::experiment(s, &id, &q)).await
}

async fn run(State(s): Shared, Path(run_id): Path<String>) -> Response {
    render(s, move |s| pages::run(s, &run_id).map(Page::from)).await
}

async fn compare(State(s): Shared, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q.as_deref());
    render(s, move |s| pages::compare(s, &q).map(Page::from)).await
}

async fn models(State(s): Shared) -> Response {
    render(s, |s| pages::models(s).map(Page::from)).await
}

async fn model(State(s): Shared, Path(name): Path<String>) -> Response {
    render(s, move |s| pages::model(s, &name).map(Page::from)).await
}

async fn not_found(uri: axum::http::Uri) -> Response {
    Error::NotFound {
        what: "page",
        id: uri.path().to_string(),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_repeated_keys_and_decodes() {
        let q = Query::parse(Some("runs=a%2Cb&runs=c&filter=metrics.rmse+%3C+1&empty="));
        assert_eq!(q.all("runs").collect::<Vec<_>>(), ["a,b", "c"]);
        assert_eq!(q.get("filter"), Some("metrics.rmse < 1"));
        assert_eq!(q.get("empty"), None);
        assert_eq!(q.get("missing"), None);
    }

    #[test]
    fn only_loopback_names_pass_the_host_check() {
        for ok in [
            "localhost",
            "localhost:5002",
            "127.0.0.1:80",
            "[::1]:5002",
            "LOCALHOST.",
            "a.localhost",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:5002",
            "10.0.0.1:5002",
            "localhost.evil.example",
            "[fe80::1]",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn errors_map_to_http_statuses() {
        let nf = Error::Track(track::Error::not_found("run", "x"));
        assert_eq!(nf.status(), StatusCode::NOT_FOUND);
        let bad = Error::Track(track::Error::PageToken("zz".into()));
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad.hint().is_some());
    }
}
