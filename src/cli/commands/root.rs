//! `vintner root`: the repository's root relative to the current folder, as `dvc root` prints
//! it (`.`, `..`, `../..`), for scripts.

use crate::cli::Context;
use crate::data::{Repo, fsutil::normalize, repo::relative_path};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let rel = relative_path(&repo.root, &normalize(&ctx.cwd));
    let shown = if rel.as_os_str().is_empty() {
        ".".into()
    } else {
        rel.to_string_lossy().into_owned()
    };
    ctx.printer.data(shown);
    Ok(())
}
