//! `vintner unprotect`: turn read-only links into the cache (`cache.type` hardlink or symlink)
//! into writable copies, so the data can be edited without touching the cache.

use std::path::PathBuf;

use crate::cli::Context;
use crate::data::{Repo, fsutil::normalize, unprotect};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to unprotect.
    #[arg(required = true)]
    targets: Vec<PathBuf>,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    // Like DVC, it works inside a repository but on any path.
    Repo::find(&ctx.cwd)?;
    for target in &args.targets {
        let path = normalize(&ctx.cwd.join(target));
        let done = unprotect::unprotect(&path)?;
        ctx.printer.status(format!(
            "unprotected  {} ({} link(s) copied, {} file(s) made writable)",
            target.display(),
            done.copied,
            done.made_writable
        ));
    }
    Ok(())
}
