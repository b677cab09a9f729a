//! The one integration-test binary: runs the real `vintner` in temporary folders, and the real
//! peers (DVC, MLflow, moto) where compatibility is the point. One module per area.

mod artifacts;
mod cli;
mod clone;
mod common;
mod data;
mod dvc_add_config;
mod dvc_config;
mod dvc_parity;
mod dvc_verbs;
mod dvc_verbs2;
mod gc_cloud;
mod hostile;
mod init;
mod interrupt;
mod large_objects;
mod manage;
mod mlflow_parity;
mod peers;
mod pipeline_outs;
mod proxy;
mod remote_index;
mod remotes;
mod repro;
mod run_cmd;
mod s3;
mod secrets;
mod serve;
mod ssh;
mod team;
mod track;
mod ui;
mod workflow;
