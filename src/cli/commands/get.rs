//! `vintner get`: copy a file or folder out of another DVC repository (a local path or a
//! `file://` URL) — data from its cache or remote, verified — as plain files tracked by nothing.

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::{Context, Hinted};
use crate::data::get::{self, GetError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The repository: a local path or a `file://` URL.
    url: String,
    /// The file or folder inside it.
    path: String,
    /// Where to write it (default: its name, in the current folder).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// A git revision (branch, tag, commit) to take it from.
    #[arg(long)]
    rev: Option<String>,
    /// Replace the destination if it exists.
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let progress = ctx.printer.progress();
    let got = get::get(
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
        return ctx.printer.json(&got);
    }
    ctx.printer.status(format!(
        "got  {} ({})",
        got.path.display(),
        super::files(got.files)
    ));
    Ok(())
}

/// A `get`/`import`/`update` error as the CLI reports it, with its hint.
pub(crate) fn get_error(e: GetError) -> anyhow::Error {
    match e {
        GetError::External(x) => super::ls::external_error(x),
        other => {
            let hint = other.hint().unwrap_or_default();
            Hinted::new(other.to_string(), hint).into()
        }
    }
}
