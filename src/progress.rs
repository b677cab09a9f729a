//! Progress reporting for long work (hashing, transfers, folds, epochs) without printing from
//! library code: libraries call a [`Progress`], the CLI decides how (or whether) to draw it.

/// Receives progress events from library code. Implementations must be cheap and thread-safe:
/// hashing and transfers report from rayon workers.
pub trait Progress: Send + Sync {
    /// A new phase of work starts, e.g. `"hashing"` with the number of bytes or files if known.
    fn begin(&self, what: &str, total: Option<u64>);
    /// `n` more units of the current phase are done.
    fn advance(&self, n: u64);
    /// The current phase is over.
    fn end(&self);
    /// A one-line status worth showing to a person (e.g. `fold 2/5 rmse 0.634`).
    fn note(&self, message: &str);
}

/// A [`Progress`] that discards everything: for tests, `--quiet`, and non-terminal output.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _what: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
    fn end(&self) {}
    fn note(&self, _message: &str) {}
}
