//! `vintner add`: version files or folders (DVC 3 `.dvc` files, cache, `.gitignore`).

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to version.
    #[arg(required = true)]
    targets: Vec<PathBuf>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let added = crate::data::add::add(&repo, &args.targets, &ctx.cwd, progress.as_ref())?;
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
    ctx.printer.status(format!(
        "\nTo track the changes with git, run:\n\n\tgit add {}\n",
        to_stage.join(" ")
    ));
    Ok(())
}
