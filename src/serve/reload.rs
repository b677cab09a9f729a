//! Loading the model to serve, and following a registry alias: poll the registry, and when the
//! alias names another version, fetch and verify it in the background (exactly as `infer` does)
//! and swap it in atomically. A version that fails to resolve, fetch, verify or load is not
//! swapped in: the previous model keeps serving and `/health` reports the error.
//!
//! Runs on a plain thread, not in the async runtime: the tracker and the remotes block.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::{Served, State};
use crate::data::Repo;
use crate::ml;
use crate::pipeline::infer::{self, ModelChoice, Repair, Resolved};
use crate::progress::Progress;
use crate::track::Tracker;

/// The version a resolved model is known by: the registry version, else the run, else the md5.
pub fn version_of(resolved: &Resolved) -> String {
    match (&resolved.registered, &resolved.run_id) {
        (Some((_, v)), _) => v.to_string(),
        (None, Some(run)) => run.clone(),
        (None, None) => resolved.model.md5.clone(),
    }
}

/// Fetches the resolved model's exact bytes (hash-checked, damaged copies repaired) and loads
/// it.
pub fn load(
    repo: &Repo,
    resolved: &Resolved,
    progress: &dyn Progress,
) -> crate::pipeline::Result<(Served, Vec<Repair>)> {
    let (dir, repairs) = infer::fetch_model(repo, &resolved.model, progress)?;
    let (model, meta) = ml::bundle::load(&dir).map_err(ml::Error::from)?;
    Ok((
        Served {
            model,
            label: resolved.label.clone(),
            version: version_of(resolved),
            md5: resolved.model.md5.clone(),
            run_id: resolved.run_id.clone().or(meta.run_id),
        },
        repairs,
    ))
}

/// Something the watcher did, for the person running the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new version is serving.
    Swapped {
        label: String,
        from: String,
        to: String,
        repaired: Vec<String>,
    },
    /// The registry or the new version failed; the old model keeps serving.
    Failed {
        version: Option<String>,
        error: String,
    },
    /// The registry answers again and names the version serving.
    Recovered,
}

/// What to follow.
pub struct Watch<'a> {
    pub tracker: &'a dyn Tracker,
    pub repo: &'a Repo,
    pub choice: ModelChoice,
    pub every: Duration,
}

/// Polls every `watch.every` until `stop` receives or its sender is dropped.
pub fn watch(state: &State, watch: &Watch<'_>, stop: &Receiver<()>, notify: &dyn Fn(&Event)) {
    loop {
        match stop.recv_timeout(watch.every) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        if let Some(event) = check(state, watch) {
            notify(&event);
        }
    }
}

/// One poll: resolve the alias, and swap in the version it names if it is not the one serving.
/// Returns what changed (a repeated failure is reported once).
pub fn check(state: &State, watch: &Watch<'_>) -> Option<Event> {
    let fail = |version: Option<String>, error: String| {
        let message = match &version {
            Some(v) => format!("version {v}: {error}"),
            None => error.clone(),
        };
        state.metrics.reload_failed();
        let repeated = state.reload_error().as_deref() == Some(message.as_str());
        state.set_reload_error(Some(message));
        (!repeated).then_some(Event::Failed { version, error })
    };
    let resolved = match infer::resolve(watch.tracker, &watch.choice) {
        Ok(r) => r,
        Err(e) => return fail(None, error_chain(&e)),
    };
    let current = state.current();
    let version = version_of(&resolved);
    if let Some(cur) = &current
        && cur.version == version
        && cur.md5 == resolved.model.md5
    {
        if state.reload_error().is_some() {
            state.set_reload_error(None);
            return Some(Event::Recovered);
        }
        return None;
    }
    match load(watch.repo, &resolved, &crate::progress::Silent) {
        Ok((served, repairs)) => {
            let to = served.version.clone();
            let label = served.label.clone();
            let old = state.swap(served);
            state.metrics.swapped();
            Some(Event::Swapped {
                label,
                from: old.map_or_else(|| "none".into(), |m| m.version.clone()),
                to,
                repaired: repairs.iter().map(|r| r.to_string()).collect(),
            })
        }
        Err(e) => fail(Some(version), error_chain(&e)),
    }
}

/// An error and its causes on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
