//! `vintner destroy`: take DVC out of this repository — outputs stay as plain files, the `.dvc`
//! files, `.dvcignore` and the `.dvc` folder (and the cache in it) go — after a confirmation,
//! or at once with `-f`, as `dvc destroy`.

use std::io::{BufRead, IsTerminal, Write};

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{Error, Repo, destroy};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    if !args.force {
        if !std::io::stdin().is_terminal() {
            return Err(Error::NeedsConfirmation("destroy").into());
        }
        eprint!(
            "This will destroy all information about your pipelines, all data files, as well \
             as cache in .dvc/cache.\nAre you sure you want to continue? [y/n]: "
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(crate::cli::Hinted::new(
                "Cannot destroy without a confirmation from the user",
                "answer `y`, or pass `-f` to go ahead without asking",
            )
            .into());
        }
    }
    let done = destroy::destroy(&repo)?;
    if args.json.json {
        return ctx.printer.json(&done);
    }
    ctx.printer.status(format!(
        "removed {} DVC file(s), `.dvcignore` and `.dvc/`; {} output(s) kept as plain files",
        done.dvc_files.len(),
        done.outputs_kept.len()
    ));
    Ok(())
}
