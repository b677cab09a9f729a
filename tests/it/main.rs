//! The one integration-test binary: runs the real `vintner` in temporary folders, and the real
//! peers (DVC, MLflow, moto) where compatibility is the point. One module per area.

mod cli;
mod clone;
mod common;
mod data;
mod hostile;
mod init;
mod peers;
mod proxy;
mod s3;
mod secrets;
mod serve;
mod team;
mod track;
mod workflow;
