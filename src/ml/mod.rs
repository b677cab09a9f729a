//! Tabular regression for the workflow: datasets from CSV, models, metrics, cross-validation and
//! the model bundle. Knows nothing of `data` (versioning) or `track` (experiment tracking).
