//! `vintner install`: the git hooks (`post-checkout`, `pre-commit`, `pre-push`) and merge driver
//! `dvc install` sets up, byte for byte as DVC writes them. They run `dvc git-hook …`, so they
//! need `dvc` on `PATH` when git runs them.

use crate::cli::{Context, Hinted};
use crate::data::Repo;
use crate::data::install::{self, InstallError};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let written = install::install(&repo).map_err(|e| match e {
        InstallError::Data(d) => anyhow::Error::from(d),
        other => {
            let hint = other.hint().unwrap_or_default();
            Hinted::new(other.to_string(), hint).into()
        }
    })?;
    for path in written {
        ctx.printer.status(format!("installed  {}", path.display()));
    }
    Ok(())
}
