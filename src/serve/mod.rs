//! The HTTP scoring server speaking MLflow's scoring protocol (`/ping`, `/health`, `/version`,
//! `/invocations`), plus `/metrics`. Built by [`app`] so tests drive it in-process; the model it
//! answers with lives in [`State`] and is swapped atomically by [`reload`] when a registry alias
//! moves (requests in flight keep the model they started with).
//!
//! Reaches models only through `pipeline::infer` (resolve, fetch verified, load); never prints:
//! request logs go through `tracing`, without payloads.

pub mod metrics;
pub mod protocol;
pub mod reload;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;

use crate::ml;
use protocol::Rejection;

/// The response header naming the model version that answered.
pub const VERSION_HEADER: &str = "x-model-version";

/// A loaded model and what it is.
#[derive(Debug)]
pub struct Served {
    pub model: ml::Model,
    /// What was asked for: `wine-quality@champion`, `wine-quality/3`, `run <id>`.
    pub label: String,
    /// The registry version (`3`), else the run id, else the model's md5.
    pub version: String,
    /// The model's md5 (`<md5>.dir`) as versioned.
    pub md5: String,
    pub run_id: Option<String>,
}

/// Limits on what one request may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Most rows in one request (413 above).
    pub max_rows: usize,
    /// Longest time to answer a request, waiting for a slot included (504 after it, as MLflow).
    pub timeout: Duration,
    /// Most `/invocations` requests predicted at once; more wait for a slot.
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 << 20,
            max_rows: 100_000,
            timeout: Duration::from_secs(60),
            concurrency: std::thread::available_parallelism()
                .map(|n| 2 * n.get())
                .unwrap_or(4)
                .max(4),
        }
    }
}

/// Everything the handlers share.
pub struct State {
    current: RwLock<Option<Arc<Served>>>,
    /// Why the last reload failed, while the previous model keeps serving.
    reload_error: RwLock<Option<String>>,
    pub metrics: metrics::Metrics,
    pub limits: Limits,
    slots: Arc<tokio::sync::Semaphore>,
}

impl State {
    pub fn new(limits: Limits, model: Option<Served>) -> Arc<State> {
        Arc::new(State {
            current: RwLock::new(model.map(Arc::new)),
            reload_error: RwLock::new(None),
            metrics: metrics::Metrics::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(limits.concurrency.max(1))),
            limits,
        })
    }

    /// The model answering now.
    pub fn current(&self) -> Option<Arc<Served>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts `model` in place for the next requests and returns the one it replaces (requests
    /// that already hold it finish on it). Clears a reload error.
    pub fn swap(&self, model: Served) -> Option<Arc<Served>> {
        let old = self
            .current
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .replace(Arc::new(model));
        self.set_reload_error(None);
        old
    }

    pub fn reload_error(&self) -> Option<String> {
        self.reload_error
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_reload_error(&self, error: Option<String>) {
        *self.reload_error.write().unwrap_or_else(|e| e.into_inner()) = error;
    }
}

/// The server's routes, with metrics, request logs and the request timeout around them.
pub fn app(state: Arc<State>) -> Router {
    Router::new()
        .route("/ping", get(ping))
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/metrics", get(metrics_page))
        .route("/invocations", post(invocations))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then finishes the requests in
/// flight and returns.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Times, counts and logs every request (method, path, status, time, model version; never the
/// body), and answers 504 past the timeout, as MLflow does.
async fn observe(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    state.metrics.enter();
    let response = match tokio::time::timeout(state.limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (
            StatusCode::GATEWAY_TIMEOUT,
            [(header::CONTENT_TYPE, "application/json")],
            "Request processing time exceeded limit",
        )
            .into_response(),
    };
    state.metrics.leave();
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state.metrics.record(&path, status, elapsed);
    let version = response
        .headers()
        .get(VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info!(
        target: "vintner::serve",
        %method,
        path = %path,
        status,
        micros = elapsed.as_micros() as u64,
        model_version = version,
        "request"
    );
    response
}

async fn ping(AxumState(state): AxumState<Arc<State>>) -> Response {
    let status = if state.current().is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    (status, [(header::CONTENT_TYPE, "application/json")], "\n").into_response()
}

/// 200 with what is serving (and the last reload error, if the newest version could not be
/// swapped in), or 404 without a model, as MLflow's `/health`.
async fn health(AxumState(state): AxumState<Arc<State>>) -> Response {
    let error = state.reload_error();
    match state.current() {
        Some(m) => {
            let body = serde_json::json!({
                "status": if error.is_some() { "degraded" } else { "ok" },
                "model": m.label,
                "version": m.version,
                "md5": m.md5,
                "run_id": m.run_id,
                "reload_error": error,
            });
            let mut response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response();
            set_version(response.headers_mut(), &m);
            response
        }
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({"status": "no model", "reload_error": error}).to_string(),
        )
            .into_response(),
    }
}

async fn version() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        env!("CARGO_PKG_VERSION"),
    )
        .into_response()
}

async fn metrics_page(AxumState(state): AxumState<Arc<State>>) -> Response {
    let model = state.current();
    let page = state
        .metrics
        .render(model.as_deref().map(|m| metrics::ModelInfo {
            label: &m.label,
            version: &m.version,
            md5: &m.md5,
        }));
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        page,
    )
        .into_response()
}

fn set_version(headers: &mut HeaderMap, model: &Served) {
    if let Ok(v) = HeaderValue::from_str(&model.version) {
        headers.insert(VERSION_HEADER, v);
    }
}

fn reject(rejection: &Rejection) -> Response {
    let status = StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let (content_type, body) = rejection.body();
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn invocations(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let format = match protocol::format_of(content_type.as_deref()) {
        Ok(f) => f,
        Err(r) => return reject(&r),
    };
    let bytes = match read_body(body, &headers, state.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(r) => return reject(&r),
    };
    let Ok(slot) = state.slots.clone().acquire_owned().await else {
        return service_unavailable("the server is shutting down");
    };
    let Some(model) = state.current() else {
        return service_unavailable("no model is loaded");
    };
    let max_rows = state.limits.max_rows;
    let shared = state.clone();
    let answer_model = model.clone();
    // Parsing and predicting are CPU work: off the async workers. The slot is held until the
    // prediction is done, even if the client stopped waiting.
    let work = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let x = protocol::parse(format, &bytes, &model.model.feature_names, max_rows)?;
        let predictions = model
            .model
            .predict(&x)
            .map_err(|e| Rejection::BadRequest(format!("Failed to predict: {e}")))?;
        shared.metrics.add_rows(predictions.len());
        Ok::<_, Rejection>(protocol::predictions_json(&predictions))
    });
    let mut response = match work.await {
        Ok(Ok(json)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response(),
        Ok(Err(r)) => reject(&r),
        Err(e) => {
            tracing::error!(target: "vintner::serve", "prediction failed: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::json!({"error_code": "INTERNAL_ERROR", "message": "prediction failed inside the server"}).to_string(),
            )
                .into_response()
        }
    };
    set_version(response.headers_mut(), &answer_model);
    response
}

fn service_unavailable(why: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": why}).to_string(),
    )
        .into_response()
}

/// The whole body, refused with 413 as soon as it is known to be over `limit` (by its
/// `Content-Length`, or while it streams in).
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Vec<u8>, Rejection> {
    let too_large = || {
        Rejection::TooLarge(format!(
            "The request body is larger than this server takes ({limit} bytes); send fewer rows \
             per request or raise `vintner serve --max-body-bytes`."
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Rejection::BadRequest(format!(
                "Invalid input. Could not read the request body: {e}"
            ))
        })?;
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
