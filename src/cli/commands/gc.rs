//! `vintner gc -w`: remove cache objects the workspace's `.dvc` files (and with `-a`/`-T`/
//! `--all-commits`, those of other git revisions) do not reference, and the copies `infer`
//! unpacked of them; with `-c` also the objects on the remote that they do not reference, as
//! `dvc gc -c` does. `vintner gc --tracking`: permanently remove deleted runs and experiments
//! from the embedded tracking store, as `mlflow gc` does.

use std::io::{BufRead, IsTerminal, Write};

use super::JsonFlag;
use crate::cli::tracking::{self, TrackingArgs};
use crate::cli::{Context, Hinted};
use crate::data::{Error, Repo, gc};
use crate::track::gc as tracking_gc;
use crate::track::{TrackingUri, sqlite::SqliteStore};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep what the workspace's `.dvc` files reference (always kept; this, a revision flag or
    /// --tracking is required, as in DVC).
    #[arg(short, long, required_unless_present_any = ["all_branches", "all_tags", "all_commits", "tracking"])]
    workspace: bool,
    /// Permanently delete runs and experiments in the `deleted` lifecycle stage from the embedded
    /// tracking store, with their local artifacts (as `mlflow gc`).
    #[arg(long)]
    tracking: bool,
    /// With --tracking: only what was deleted longer ago than this (`#d#h#m#s`, e.g. `30d`, `1d2h`).
    #[arg(long, requires = "tracking", value_name = "AGE")]
    older_than: Option<String>,
    /// With --tracking: only these deleted runs (comma-separated ids).
    #[arg(long, requires = "tracking", value_name = "IDS", value_delimiter = ',')]
    run_ids: Option<Vec<String>>,
    /// With --tracking: only these deleted experiments, with all their runs (comma-separated ids).
    #[arg(long, requires = "tracking", value_name = "IDS", value_delimiter = ',')]
    experiment_ids: Option<Vec<String>>,
    #[command(flatten)]
    tracking_args: TrackingArgs,
    /// Also keep what the `.dvc` files of other git revisions reference.
    #[command(flatten)]
    revs: super::RevArgs,
    /// Also remove unreferenced objects from the remote (the default one, or `-r`), as
    /// `dvc gc -c`.
    #[arg(short, long)]
    cloud: bool,
    /// With --cloud: the remote to clean (default: the configured default remote).
    #[arg(short, long, requires = "cloud")]
    remote: Option<String>,
    /// With --cloud: requests to the remote at once (default: the remote's own).
    #[arg(short, long, requires = "cloud")]
    jobs: Option<usize>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Only list what would be removed.
    #[arg(long)]
    dry: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    if args.tracking {
        run_tracking(&args, ctx)?;
        if !args.workspace && !args.revs.any() {
            return Ok(());
        }
    }
    let repo = Repo::find(&ctx.cwd)?;
    let revs = args.revs.revisions();
    // The remote is listed once; what it holds then is what gets confirmed and removed.
    let plan = if args.cloud {
        Some(gc::plan_remote(&repo, args.remote.as_deref(), revs)?)
    } else {
        None
    };
    let remote = plan.as_ref().map(|p| p.remote.as_ref());
    if !args.dry && !args.force {
        let preview = gc::gc_with(&repo, true, revs, remote)?;
        let on_remote = plan.as_ref().map_or(0, |p| p.garbage.len());
        if preview.removed.is_empty() && preview.unpacked_removed.is_empty() && on_remote == 0 {
            ctx.printer.status("No unused cache to remove.");
            return Ok(());
        }
        let mut what = amounts(&preview, "unused ");
        if let Some(p) = &plan {
            what.push_str(&format!(" and {on_remote} from {}", p.remote.describe()));
        }
        if !confirm(&format!("This will remove {what}."))? {
            ctx.printer.status("Nothing removed.");
            return Ok(());
        }
    }
    let report = gc::gc_with(&repo, args.dry, revs, remote)?;
    let remote_report = plan
        .as_ref()
        .map(|p| gc::execute_remote(p, args.dry, args.jobs))
        .transpose()?;
    if args.json.json {
        return match remote_report {
            None => ctx.printer.json(&report),
            Some(r) => ctx.printer.json(&CloudJson {
                cache: &report,
                remote: &r,
            }),
        };
    }
    if args.dry {
        for r in &report.removed {
            ctx.printer.data(r);
        }
        for r in &report.unpacked_removed {
            ctx.printer.data(format!("{UNPACKED}/{r}"));
        }
        ctx.printer
            .status(format!("Would remove {}.", amounts(&report, "")));
    } else if report.removed.is_empty() && report.unpacked_removed.is_empty() {
        ctx.printer.status("No unused cache to remove.");
    } else {
        ctx.printer
            .status(format!("Removed {}.", amounts(&report, "")));
    }
    if let (Some(r), Some(p)) = (&remote_report, &plan) {
        if r.dry {
            for o in &r.removed {
                ctx.printer.data(format!("{}: {o}", r.remote));
            }
            ctx.printer.status(format!(
                "Would remove {} object(s) from {}.",
                r.removed.len(),
                p.remote.describe()
            ));
        } else if r.removed.is_empty() {
            ctx.printer.status(format!(
                "No unused cache to remove from {}.",
                p.remote.describe()
            ));
        } else {
            ctx.printer.status(format!(
                "Removed {} object(s) from {}.",
                r.removed.len(),
                p.remote.describe()
            ));
        }
    }
    Ok(())
}

/// `gc -c --json`: the cache's report with the remote's beside it.
#[derive(serde::Serialize)]
struct CloudJson<'a> {
    #[serde(flatten)]
    cache: &'a gc::GcReport,
    remote: &'a gc::RemoteGcReport,
}

/// Where `infer` unpacks models and data, relative to the repository root.
const UNPACKED: &str = ".dvc/tmp/vintner";

/// `3 object(s) from the cache and 2 unpacked model or data copies from .dvc/tmp/vintner`.
fn amounts(report: &gc::GcReport, adjective: &str) -> String {
    let objects = format!(
        "{} {adjective}object(s) from the cache",
        report.removed.len()
    );
    match report.unpacked_removed.len() {
        0 => objects,
        n => format!("{objects} and {n} unpacked model or data copies from {UNPACKED}"),
    }
}

/// Asks `question` on the terminal; `Ok(false)` unless the answer is yes. Without a terminal the
/// caller must pass `--force`.
fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::NeedsConfirmation("gc").into());
    }
    eprint!("{question} Are you sure you want to proceed? [y/n] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// `gc --tracking`: the embedded store only, as `mlflow gc` needs the backend store itself.
fn run_tracking(args: &Args, ctx: &Context) -> anyhow::Result<()> {
    let root = crate::git::toplevel(&ctx.cwd)
        .ok()
        .flatten()
        .unwrap_or_else(|| ctx.cwd.clone());
    let settings = crate::settings::Settings::load(&root)?;
    let uri = tracking::resolve_at(
        args.tracking_args.tracking_uri.as_deref(),
        &settings,
        &root,
        ctx,
    )?;
    let path = match &uri {
        TrackingUri::Http { .. } => {
            return Err(Hinted::new(
                format!(
                    "`gc --tracking` cannot work through the tracking server {uri}: removing runs \
                     permanently needs the server's backend store itself, as `mlflow gc` does"
                ),
                "run `mlflow gc --backend-store-uri <the server's store>` where the server runs, or \
                 `vintner gc --tracking --tracking-uri sqlite:///path/to/mlflow.db` on its SQLite file",
            )
            .into());
        }
        TrackingUri::Sqlite { path, .. } => path.clone(),
    };
    // the store must exist: opened for reading first (nothing is created), then for writing
    drop(tracking::open_uri(&uri, crate::track::Access::Read)?);
    let store = SqliteStore::open(&path)?;
    let options = tracking_gc::GcOptions {
        older_than: args.older_than.clone(),
        run_ids: args.run_ids.clone(),
        experiment_ids: args.experiment_ids.clone(),
    };
    let plan = tracking_gc::plan(&store, &options)?;
    if plan.is_empty() {
        if args.json.json && !args.workspace {
            return ctx.printer.json(&tracking_gc::GcReport::default());
        }
        ctx.printer
            .status("No deleted runs or experiments to remove from the tracking store.");
        return Ok(());
    }
    let amounts = format!(
        "{} deleted run(s) and {} deleted experiment(s) from {}",
        plan.runs.len(),
        plan.experiments.len(),
        path.display()
    );
    if args.dry {
        if args.json.json && !args.workspace {
            return ctx.printer.json(&plan);
        }
        for r in &plan.runs {
            ctx.printer.data(format!("run {}", r.run_id));
        }
        for e in &plan.experiments {
            ctx.printer.data(format!("experiment {e}"));
        }
        ctx.printer
            .status(format!("Would permanently delete {amounts}."));
        return Ok(());
    }
    if !args.force
        && !confirm(&format!(
            "This will permanently delete {amounts}, with their local artifacts."
        ))?
    {
        ctx.printer.status("Nothing removed.");
        return Ok(());
    }
    let report = tracking_gc::execute(&store, &plan)?;
    for left in &report.artifacts_left {
        ctx.printer.status(format!(
            "Artifacts of run {} at {} were left in place: {}.",
            left.run_id, left.artifact_uri, left.reason
        ));
    }
    if args.json.json && !args.workspace {
        return ctx.printer.json(&report);
    }
    for r in &report.runs {
        ctx.printer.data(format!("run {r}"));
    }
    for e in &report.experiments {
        ctx.printer.data(format!("experiment {e}"));
    }
    ctx.printer
        .status(format!("Permanently deleted {amounts}."));
    Ok(())
}
