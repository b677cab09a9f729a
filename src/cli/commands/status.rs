//! `vintner status`: the workspace against the `.dvc` files, or with `-c` the cache against a
//! remote, in DVC's words and layout (and `--json` in DVC's JSON shape). Takes no lock.

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{Repo, status};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Outputs or `.dvc` files; every `.dvc` file of the repository when omitted.
    targets: Vec<PathBuf>,
    /// Compare the cache with the remote instead of the workspace with the cache.
    #[arg(short, long)]
    cloud: bool,
    /// Remote for `-c` (default: the configured default remote).
    #[arg(short, long, requires = "cloud")]
    remote: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let p = &ctx.printer;
    if args.cloud {
        let (remote, states) =
            status::cloud_status(&repo, &args.targets, args.remote.as_deref(), &ctx.cwd)?;
        if args.json.json {
            return p.json(&states);
        }
        if states.is_empty() {
            p.data(format!("Cache and remote '{remote}' are in sync."));
        }
        for (path, state) in states {
            p.data(format!("\t{:<20}{path}", format!("{state}:")));
        }
        return Ok(());
    }
    let progress = p.progress();
    let changes = status::status(&repo, &args.targets, &ctx.cwd, progress.as_ref())?;
    if args.json.json {
        return p.json(&status::to_dvc_json(&changes));
    }
    if changes.is_empty() {
        p.data("Data and pipelines are up to date.");
        return Ok(());
    }
    let mut last = None;
    for c in &changes {
        if last != Some(&c.dvc_file) {
            p.data(format!("{}:\n\tchanged outs:", c.dvc_file));
            last = Some(&c.dvc_file);
        }
        p.data(format!(
            "\t\t{:<20}{}",
            format!("{}:", c.state.label()),
            c.path
        ));
    }
    Ok(())
}
