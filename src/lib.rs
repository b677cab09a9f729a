//! vintner: versioned data and models (DVC 3 compatible), tracked experiments and a model registry
//! (MLflow 3 compatible), training, batch inference, HTTP scoring and a read-only web view, in one
//! binary.
//!
//! Layers, dependencies pointing downward only: `cli` → `pipeline`/`serve` → `data`, `track`,
//! `ml`. The three bottom layers know nothing of each other. Library code never prints; it
//! reports progress through [`progress::Progress`].

pub mod cli;
pub mod data;
pub mod git;
pub mod interrupt;
pub mod login;
pub mod ml;
pub mod pipeline;
pub mod progress;
pub mod redact;
pub mod serve;
pub mod settings;
pub mod track;
pub mod ui;
