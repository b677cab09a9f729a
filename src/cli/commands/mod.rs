//! One file per command: a clap `Args` struct and a `run` function that resolves settings, calls
//! the library and prints through the [`Printer`](super::Printer).

pub mod add;
pub mod checkout;
pub mod diff;
pub mod evaluate;
pub mod experiments;
pub mod fetch;
pub mod gc;
pub mod infer;
pub mod init;
pub mod models;
pub mod pull;
pub mod push;
pub mod register;
pub mod remote;
pub mod reproduce;
pub mod runs;
pub mod serve;
pub mod status;
pub mod train;

/// `--json`, for every command that reports something.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct JsonFlag {
    /// Print machine-readable JSON on stdout (fields are only ever added, never renamed).
    #[arg(long)]
    pub json: bool,
}

/// Targets, remote and parallelism: what `push`, `fetch` and `pull` share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TransferArgs {
    /// Outputs or `.dvc` files; every `.dvc` file of the repository when omitted.
    pub targets: Vec<std::path::PathBuf>,
    /// Remote to use (default: each output's `remote`, else the default remote).
    #[arg(short, long)]
    pub remote: Option<String>,
    /// Parallel transfers (default: 4 × cores, as DVC).
    #[arg(short, long)]
    pub jobs: Option<usize>,
}

impl TransferArgs {
    pub fn options(self) -> crate::data::transfer::TransferOptions {
        crate::data::transfer::TransferOptions {
            targets: self.targets,
            remote: self.remote,
            jobs: self.jobs,
        }
    }
}

/// "1 file" / "3 files".
pub(crate) fn files(n: usize) -> String {
    format!("{n} file{}", if n == 1 { "" } else { "s" })
}

/// Fails with "not built yet" (exit code 2) for a command whose implementation has not landed.
#[allow(dead_code)] // every command is built today; kept for the next one announced early
pub(crate) fn not_built(command: &'static str, meanwhile: &'static str) -> anyhow::Result<()> {
    Err(super::NotBuilt { command, meanwhile }.into())
}
