//! `vintner status`: the workspace against the `.dvc` files and pipeline stages, or with `-c` the cache against a
//! remote, in DVC's words and layout (and `--json` in DVC's JSON shape). Takes no lock. With
//! `-q` it prints nothing and answers with its exit code (1 when anything changed), as DVC.

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::{Context, Exit};
use crate::data::{Repo, index, status};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Outputs, `.dvc` files, paths inside tracked folders, `dvc.yaml` files or stages
    /// (`dvc.yaml:stage`, or a stage name of `./dvc.yaml`); everything when omitted.
    targets: Vec<PathBuf>,
    /// Compare the cache with the remote instead of the workspace with the cache.
    #[arg(short, long)]
    cloud: bool,
    /// Remote for `-c` (default: the configured default remote); implies `-c`, as in DVC.
    #[arg(short, long)]
    remote: Option<String>,
    /// With `-c`: also the outputs the other git revisions record.
    #[command(flatten)]
    revs: super::RevArgs,
    #[command(flatten)]
    json: JsonFlag,
}

/// DVC's words for a repository with nothing tracked.
const EMPTY_PROJECT: &str = "There are no data or pipelines tracked in this project yet.\n\
                             See <https://dvc.org/doc/start> to get started!";

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let p = &ctx.printer;
    let cloud = args.cloud || args.remote.is_some();
    if args.revs.revisions().any() && !cloud {
        return Err(crate::cli::Hinted::new(
            "`-a`, `-T` and `--all-commits` compare the cache with a remote",
            "add `-c` (`vintner status -c -a`)",
        )
        .into());
    }
    if cloud {
        let nothing_tracked = args.targets.is_empty() && nothing_tracked(&repo)?;
        let changed = if nothing_tracked {
            Default::default()
        } else {
            let outs = super::collect_outs(&repo, &args.targets, args.revs, &ctx.cwd)?;
            status::cloud_status(&repo, &outs, args.remote.as_deref())
                .map_err(|e| super::explain_no_remote(e.into(), &repo, "status -c"))?
        };
        let (remote, states) = changed;
        if args.json.json {
            return p.json(&states);
        }
        if p.is_quiet() {
            return quiet_answer(!states.is_empty());
        }
        if nothing_tracked {
            p.data(EMPTY_PROJECT);
        } else if states.is_empty() {
            p.data(format!("Cache and remote '{remote}' are in sync."));
        }
        for (path, state) in states {
            p.data(format!("\t{:<20}{path}", format!("{state}:")));
        }
        return Ok(());
    }
    let progress = p.progress();
    let report = status::status(&repo, &args.targets, &ctx.cwd, progress.as_ref())?;
    if args.json.json {
        return p.json(&status::to_dvc_json(&report));
    }
    if p.is_quiet() {
        return quiet_answer(!report.is_empty());
    }
    if report.is_empty() {
        p.data(if args.targets.is_empty() && nothing_tracked(&repo)? {
            EMPTY_PROJECT
        } else {
            "Data and pipelines are up to date."
        });
        return Ok(());
    }
    for group in report.grouped() {
        p.data(format!("{}:", group.name));
        for (key, changes) in [("changed deps", &group.deps), ("changed outs", &group.outs)] {
            if changes.is_empty() {
                continue;
            }
            p.data(format!("\t{key}:"));
            for c in changes {
                p.data(format!(
                    "\t\t{:<20}{}",
                    format!("{}:", c.state.label()),
                    c.path
                ));
            }
        }
        for note in group.notes {
            p.data(format!("\t{note}"));
        }
    }
    Ok(())
}

/// `status -q`: nothing printed, exit 1 when anything changed.
fn quiet_answer(changed: bool) -> anyhow::Result<()> {
    if changed {
        return Err(Exit(1).into());
    }
    Ok(())
}

/// Whether the repository tracks nothing: no `.dvc` file, no `dvc.lock`, no `dvc.yaml`.
fn nothing_tracked(repo: &Repo) -> anyhow::Result<bool> {
    let found = index::walk(repo)?;
    Ok(found.dvc.is_empty() && found.locks.is_empty() && !repo.root.join("dvc.yaml").is_file())
}
