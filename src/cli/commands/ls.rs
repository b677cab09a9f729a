//! `vintner ls`: list a repository's files and DVC outputs together (a local path or a
//! `file://` URL, in its workspace or at `--rev`), as `dvc ls` lists them, with the same `--json`.

use super::JsonFlag;
use crate::cli::{Context, Hinted};
use crate::data::external::{ExternalError, ExternalRepo};
use crate::data::ls;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The repository: a local path or a `file://` URL.
    url: String,
    /// A folder or file inside it (its top when omitted).
    path: Option<String>,
    /// A git revision (branch, tag, commit) to list instead of the workspace.
    #[arg(long)]
    rev: Option<String>,
    /// List every file below the folder, not only its children.
    #[arg(short = 'R', long)]
    recursive: bool,
    /// Only what the `.dvc` files record.
    #[arg(long)]
    dvc_only: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let listed = ExternalRepo::open(&args.url, args.rev.as_deref(), &ctx.cwd)
        .and_then(|ext| {
            ls::ls(
                &ext,
                args.path.as_deref().unwrap_or(""),
                args.recursive,
                args.dvc_only,
            )
        })
        .map_err(external_error)?;
    if args.json.json {
        return ctx.printer.json(&listed);
    }
    if !listed.is_empty() {
        let lines: Vec<&str> = listed.iter().map(|e| e.path.as_str()).collect();
        ctx.printer.data(lines.join("\n"));
    }
    Ok(())
}

/// An error reading another repository, with its hint.
pub(crate) fn external_error(e: ExternalError) -> anyhow::Error {
    match e {
        ExternalError::Data(d) => d.into(),
        other => {
            let hint = other.hint().unwrap_or_default();
            Hinted::new(other.to_string(), hint).into()
        }
    }
}
