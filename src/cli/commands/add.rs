//! `vintner add`: version files or folders (DVC 3 `.dvc` files, cache, `.gitignore`), with
//! `dvc add`'s flags: `--glob`, `-o`, `--to-remote`, `--no-commit`.

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::{Context, Hinted};
use crate::data::Repo;
use crate::data::add::AddOptions;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to version (a path inside a tracked folder updates that folder).
    #[arg(required = true)]
    targets: Vec<PathBuf>,
    /// Record the hashes in the `.dvc` files without putting the data into the cache.
    #[arg(long)]
    no_commit: bool,
    /// Expand shell-style wildcards (`*`, `?`, `[…]`, `**`) in the targets.
    #[arg(long)]
    glob: bool,
    /// Bring the one target (from anywhere) into the repository at this path.
    #[arg(short, long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Upload the one target straight to the remote, without the cache or the workspace.
    #[arg(long)]
    to_remote: bool,
    /// The remote for `--to-remote` (default: the default remote).
    #[arg(short, long, value_name = "NAME")]
    remote: Option<String>,
    /// Parallel uploads for `--to-remote`.
    #[arg(long, value_name = "N")]
    remote_jobs: Option<usize>,
    /// With `-o`: replace what is at the destination (it is kept in the cache).
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    json: JsonFlag,
}

/// Refuses flag combinations `dvc add` refuses, with its reasons.
fn check_flags(args: &Args) -> anyhow::Result<()> {
    let refuse = |what: &str, with: &str| -> anyhow::Result<()> {
        Err(Hinted::new(
            format!("{what} can't be used with {with}"),
            "run `vintner add --help` for what each flag does",
        )
        .into())
    };
    if args.to_remote || args.out.is_some() {
        let with = if args.to_remote {
            "--to-remote"
        } else {
            "--out"
        };
        if args.targets.len() != 1 {
            return refuse("multiple targets", with);
        }
        if args.glob {
            return refuse("--glob option", with);
        }
        if args.no_commit {
            return refuse("--no-commit option", with);
        }
    } else if args.remote.is_some() || args.remote_jobs.is_some() {
        let what = if args.remote.is_some() {
            "--remote"
        } else {
            "--remote-jobs"
        };
        return Err(Hinted::new(
            format!("{what} can't be used without --to-remote"),
            "add `--to-remote` to upload the target straight to that remote",
        )
        .into());
    }
    Ok(())
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    check_flags(&args)?;
    let repo = Repo::find(&ctx.cwd)?;
    let targets = if args.glob {
        let mut all = Vec::new();
        for t in &args.targets {
            all.extend(crate::data::add::glob(&ctx.cwd, &t.to_string_lossy()));
        }
        if all.is_empty() {
            let shown: Vec<String> = args
                .targets
                .iter()
                .map(|t| format!("`{}`", t.display()))
                .collect();
            return Err(Hinted::new(
                format!("No path matches {}", shown.join(", ")),
                "check the pattern (quote it, so that the shell leaves it to vintner)",
            )
            .into());
        }
        all
    } else {
        args.targets.clone()
    };
    let opts = AddOptions {
        targets,
        no_commit: args.no_commit,
        out: args.out.clone(),
        to_remote: args.to_remote,
        remote: args.remote.clone(),
        jobs: args.remote_jobs,
        force: args.force,
    };
    let progress = ctx.printer.progress();
    let added = crate::data::add::add_with(&repo, &opts, &ctx.cwd, progress.as_ref())?;
    if args.json.json {
        return ctx.printer.json(&added);
    }
    let mut to_stage: Vec<String> = Vec::new();
    for a in &added {
        let what = match a.nfiles {
            Some(n) => format!("{n} files, {} bytes", a.size),
            None => format!("{} bytes", a.size),
        };
        let verb = if a.changed { "added" } else { "unchanged" };
        ctx.printer
            .status(format!("{verb:>9}  {} ({what}) -> {}", a.path, a.dvc_file));
        for f in &a.git_add {
            if !to_stage.contains(f) {
                to_stage.push(f.clone());
            }
        }
    }
    if added.iter().any(|a| a.staged) {
        ctx.printer
            .status(format!("\nStaged with git: {}", to_stage.join(" ")));
    } else {
        ctx.printer.status(format!(
            "\nTo track the changes with git, run:\n\n\tgit add {}\n",
            to_stage.join(" ")
        ));
    }
    Ok(())
}
