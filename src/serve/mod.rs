//! The HTTP scoring server speaking MLflow's scoring protocol (`/ping`, `/invocations`, …).
