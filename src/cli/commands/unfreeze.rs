//! `vintner unfreeze`: take `frozen: true` off `.dvc` files, as `dvc unfreeze` does.

use crate::cli::Context;

pub use super::freeze::Args;

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    super::freeze::set(args, ctx, false)
}
