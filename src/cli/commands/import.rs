//! `vintner import`: version a file or folder of another DVC repository (a local path or a
//! `file://` URL) here, with a `.dvc` file recording where it came from and at which commit, as
//! `dvc import` writes it; `vintner update` moves it to a newer commit.

use std::path::PathBuf;

use super::JsonFlag;
use super::get::get_error;
use crate::cli::Context;
use crate::data::{Repo, get};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The repository: a local path or a `file://` URL (recorded as given).
    url: String,
    /// The file or folder inside it.
    path: String,
    /// Where to put it (default: its name, in the current folder).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// A git revision (branch, tag, commit) to follow (default: the repository's `HEAD`).
    #[arg(long)]
    rev: Option<String>,
    /// Replace the destination if it exists.
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let done = get::import(
        &repo,
        &args.url,
        &args.path,
        args.rev.as_deref(),
        args.out.as_deref(),
        &ctx.cwd,
        args.force,
        progress.as_ref(),
    )
    .map_err(get_error)?;
    if args.json.json {
        return ctx.printer.json(&done);
    }
    ctx.printer.report(format!(
        "Importing '{} ({})' -> '{}'",
        done.source, done.url, done.path
    ));
    ctx.printer.status(format!(
        "\nTo track the changes with git, run:\n\n\tgit add {}\n",
        done.git_add.join(" ")
    ));
    Ok(())
}
