//! Experiment tracking and the model registry in MLflow's formats: the embedded `mlflow.db` store
//! and the REST client for an MLflow tracking server. Knows nothing of `data` or `ml`.
