//! One file per command: a clap `Args` struct and a `run` function that resolves settings, calls
//! the library and prints through the [`Printer`](super::Printer).

pub mod add;
pub mod cache;
pub mod check_ignore;
pub mod checkout;
pub mod commit;
pub mod data;
pub mod destroy;
pub mod diff;
pub mod evaluate;
pub mod experiments;
pub mod fetch;
pub mod freeze;
pub mod gc;
pub mod get;
pub mod import;
pub mod infer;
pub mod init;
pub mod install;
pub mod ls;
pub mod models;
pub mod mv;
pub mod pull;
pub mod push;
pub mod register;
pub mod remote;
pub mod remove;
pub mod reproduce;
pub mod root;
pub mod runs;
pub mod serve;
pub mod status;
pub mod train;
pub mod unfreeze;
pub mod unprotect;
pub mod update;

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

/// A `remove`/`move`/`commit`/`freeze` error as the CLI reports it: errors of the data layer
/// keep their own hint, the verbs' own ones carry theirs.
pub(crate) fn verb_error(e: crate::data::target::VerbError) -> anyhow::Error {
    match e {
        crate::data::target::VerbError::Data(d) => d.into(),
        other => {
            let hint = other.hint().unwrap_or_default();
            super::Hinted::new(other.to_string(), hint).into()
        }
    }
}

/// Ends a command with an exit code and nothing more to say, as `check-ignore` does when no
/// path matched: what there was to report is already on stdout.
#[derive(Debug)]
pub struct ExitWith(pub u8);

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for ExitWith {}

/// Fails with "not built yet" (exit code 2) for a command whose implementation has not landed.
pub(crate) fn not_built(command: &'static str, meanwhile: &'static str) -> anyhow::Result<()> {
    Err(super::NotBuilt { command, meanwhile }.into())
}
