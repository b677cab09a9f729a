//! `vintner check-ignore`: whether paths are excluded by `.dvcignore`, printed as
//! `dvc check-ignore` prints it (`-d` names the pattern as `<file>:<line>:<pattern>`), and exiting
//! 0 when some target matched a pattern and 1 when none did, for scripts.

use std::io::BufRead;
use std::path::Path;

use super::ExitWith;
use crate::cli::{Context, Hinted};
use crate::data::{Repo, check_ignore};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to check.
    targets: Vec<String>,
    /// Show the pattern that decided, with the file and line it is on.
    #[arg(short, long)]
    details: bool,
    /// With `--details`, every pattern that decided (DVC's hidden `-a`).
    #[arg(short, long, requires = "details")]
    all: bool,
    /// With `--details`, also list targets no pattern matched (as `::<TAB>path`).
    #[arg(short, long, requires = "details")]
    non_matching: bool,
    /// Read paths from standard input, one a line, until an empty line or the end.
    #[arg(long, conflicts_with = "targets")]
    stdin: bool,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    if !args.stdin && args.targets.is_empty() {
        return Err(Hinted::new(
            "`targets` or `--stdin` needed",
            "name the paths to check, or pass `--stdin` and give them one a line",
        )
        .into());
    }
    let repo = Repo::find(&ctx.cwd)?;
    let mut any = false;
    if args.stdin {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            if line.is_empty() {
                break;
            }
            any |= one(&repo, &line, &args, ctx)?;
        }
    } else {
        for target in &args.targets {
            any |= one(&repo, target, &args, ctx)?;
        }
    }
    if any { Ok(()) } else { Err(ExitWith(1).into()) }
}

/// Checks and prints one target; whether a pattern matched it.
fn one(repo: &Repo, target: &str, args: &Args, ctx: &Context) -> anyhow::Result<bool> {
    let result = check_ignore::check(repo, Path::new(target), &ctx.cwd)?;
    if !args.details {
        if result.ignored {
            ctx.printer.report(target);
        }
        return Ok(result.ignored);
    }
    let mut shown: Vec<String> = result.patterns.iter().map(|p| p.to_string()).collect();
    if shown.is_empty() && args.non_matching {
        shown.push("::".into());
    }
    if !args.all && shown.len() > 1 {
        shown.drain(..shown.len() - 1);
    }
    for pattern in shown {
        ctx.printer.report(format!("{pattern}\t{target}"));
    }
    Ok(!result.patterns.is_empty())
}
