//! The one integration-test binary: runs the real `vintner` in temporary folders, and the real
//! peers (DVC, MLflow, moto) where compatibility is the point. One module per area.

mod cli;
mod common;
mod data;
mod init;
mod interrupt;
mod peers;
mod s3;
mod track;
mod workflow;
