//! One file per command: a clap `Args` struct and a `run` function that resolves settings, calls
//! the library and prints through the [`Printer`](super::Printer).

pub mod add;
pub mod artifacts;
pub mod cache;
pub mod check_ignore;
pub mod checkout;
pub mod commit;
pub mod config;
pub mod dag;
pub mod data;
pub mod destroy;
pub mod diff;
pub mod doctor;
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
pub mod repro;
pub mod reproduce;
pub mod root;
pub mod run;
pub mod runs;
pub mod serve;
pub mod status;
pub mod train;
pub mod ui;
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
    #[command(flatten)]
    pub revs: RevArgs,
}

/// `-a`, `-T`, `--all-commits`: also the outputs the `.dvc` files of other git revisions record.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct RevArgs {
    /// Also the outputs of every git branch's `.dvc` files.
    #[arg(short = 'a', long)]
    pub all_branches: bool,
    /// Also the outputs of every git tag's `.dvc` files.
    #[arg(short = 'T', long)]
    pub all_tags: bool,
    /// Also the outputs of every git commit's `.dvc` files.
    #[arg(long)]
    pub all_commits: bool,
}

impl RevArgs {
    /// Whether any revision flag was given.
    pub fn any(self) -> bool {
        self.all_branches || self.all_tags || self.all_commits
    }

    pub fn revisions(self) -> crate::data::index::Revisions {
        crate::data::index::Revisions {
            all_branches: self.all_branches,
            all_tags: self.all_tags,
            all_commits: self.all_commits,
        }
    }
}

/// The outputs the targets name in the workspace, plus (with `-a`/`-T`/`--all-commits`) those
/// the other revisions record, each once.
pub(crate) fn collect_outs(
    repo: &crate::data::Repo,
    targets: &[std::path::PathBuf],
    revs: RevArgs,
    cwd: &std::path::Path,
) -> anyhow::Result<Vec<crate::data::index::Tracked>> {
    use crate::data::index;
    let mut outs = index::collect_outputs(repo, targets, cwd)?;
    if revs.revisions().any() {
        // As DVC, the targets also narrow the other revisions' outputs (by output path).
        let wanted: Option<Vec<std::path::PathBuf>> =
            (!targets.is_empty()).then(|| outs.iter().map(|t| t.path.clone()).collect());
        let more = index::at_revisions(repo, revs.revisions())?;
        outs.extend(
            more.into_iter()
                .filter(|t| wanted.as_ref().is_none_or(|w| w.contains(&t.path))),
        );
        index::dedup_objects(&mut outs);
    }
    Ok(outs)
}

/// DVC's warning for objects neither the cache nor the remote holds.
pub(crate) fn warn_missing(ctx: &crate::cli::Context, missing: &[String]) {
    if missing.is_empty() {
        return;
    }
    let list: Vec<String> = missing.iter().map(|m| format!("md5: {m}")).collect();
    ctx.printer.warn(format!(
        "Some of the cache files do not exist neither locally nor on remote. Missing cache \
         files:\n{}",
        list.join("\n")
    ));
}

/// The error for outputs checkout could not restore, in DVC's words, paths shown from `cwd`.
pub(crate) fn checkout_failed(
    failed: &[std::path::PathBuf],
    cwd: &std::path::Path,
) -> anyhow::Error {
    let mut shown: Vec<String> = failed
        .iter()
        .map(|p| crate::data::index::shown_from(p, cwd))
        .collect();
    shown.sort();
    super::Hinted::new(
        format!(
            "Checkout failed for following targets:\n{}\nIs your cache up to date?",
            shown.join("\n")
        ),
        "everything else was restored and these were left as they were; fetch their data \
         (`vintner pull`) or push it from a machine that has it, or pass `--allow-missing`",
    )
    .into()
}

/// The error for folder files the remote lists but could not give.
pub(crate) fn download_failed(failed: &[String]) -> anyhow::Error {
    super::Hinted::new(
        format!(
            "{} files failed to download: {}",
            failed.len(),
            failed.join(", ")
        ),
        "the remote holds the folders' manifests but not these files; push them from a \
         machine that has them (`vintner push`)",
    )
    .into()
}

/// DVC's summary of a transfer and checkout: `2 files fetched and 1 file added`, or
/// `Everything is up to date.`
pub(crate) fn summary(counts: &[(usize, &str)]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{} {what}", files(*n)))
        .collect();
    match parts.len() {
        0 => "Everything is up to date.".to_string(),
        1 => parts[0].clone(),
        n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}

/// With remotes configured but none the default (and no `-r`), DVC's advice instead of "no
/// remote": set a default or name one.
pub(crate) fn explain_no_remote(
    err: anyhow::Error,
    repo: &crate::data::Repo,
    verb: &str,
) -> anyhow::Error {
    let no_remote = matches!(
        err.downcast_ref::<crate::data::Error>(),
        Some(crate::data::Error::NoRemote)
    );
    if !no_remote {
        return err;
    }
    let names = repo.config().map(|c| c.remote_names()).unwrap_or_default();
    if names.is_empty() {
        return err;
    }
    super::Hinted::new(
        "No remote specified, and no default remote is set",
        format!(
            "set up a default remote with `vintner remote default <remote name>`, or use \
             `vintner {verb} -r <remote name>` (remotes: {})",
            names.join(", ")
        ),
    )
    .into()
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
#[allow(dead_code)] // every command is built today; kept for the next one announced early
pub(crate) fn not_built(command: &'static str, meanwhile: &'static str) -> anyhow::Result<()> {
    Err(super::NotBuilt { command, meanwhile }.into())
}
