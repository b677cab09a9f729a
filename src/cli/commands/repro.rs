//! `vintner repro`: run the stages of `dvc.yaml` that changed, in dependency order, and write
//! `dvc.lock` as DVC 3 writes it. The stages' commands run here, through the user's shell as
//! DVC runs them; deciding what changed and recording the outputs is `data::repro`'s.

use std::path::Path;

use crate::cli::{Context, Hinted, Printer};
use crate::data::Repo;
use crate::data::repro::{self, ReproError, ReproOptions, Runner};
use crate::pipeline::run::ReproTracking;
use crate::settings::Settings;
use crate::track::TrackingUri;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Stages to reproduce (`stage`, `dvc.yaml`, `dvc.yaml:stage`); every stage of `dvc.yaml`
    /// when omitted.
    targets: Vec<String>,
    /// Show what would run without running it.
    #[arg(long)]
    dry: bool,
    /// Run the stages even if nothing changed.
    #[arg(short, long)]
    force: bool,
    /// Only the named stages, not their dependencies.
    #[arg(short, long = "single-item")]
    single_item: bool,
    /// Record each stage that runs as an MLflow run, nested in one run for the pipeline.
    #[arg(long)]
    track: bool,
    /// The experiment of the tracked runs (default: `tracking.experiment` of `vintner.toml`).
    #[arg(long, requires = "track")]
    experiment: Option<String>,
    /// The tracking store (default: `MLFLOW_TRACKING_URI`, else `./mlflow.db`).
    #[arg(long, value_name = "URI", requires = "track")]
    tracking_uri: Option<String>,
    /// Print what happened as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs stage commands with the user's shell, as DVC does.
struct Shell<'a> {
    printer: &'a Printer,
}

impl Runner for Shell<'_> {
    fn skipped(&self, stage: &str) {
        self.printer
            .status(format!("Stage '{stage}' didn't change, skipping"));
    }

    fn running(&self, stage: &str) {
        self.printer.status(format!("Running stage '{stage}':"));
    }

    fn restored(&self, stage: &str) {
        self.printer.status(format!(
            "Stage '{stage}' is cached - skipping run, checking out outputs"
        ));
    }

    fn frozen(&self, stage: &str) {
        self.printer.warn(format!(
            "stage '{stage}' is frozen. Its dependencies are not going to be reproduced."
        ));
        self.printer
            .status(format!("Verifying outputs in frozen stage '{stage}'"));
    }

    fn command(&self, cmd: &str, wdir: &Path, env: &[(String, String)]) -> Result<(), String> {
        self.printer.status(format!("> {cmd}"));
        let shell = std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        let name = Path::new(&shell)
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let mut c = std::process::Command::new(&shell);
        match name.as_str() {
            "bash" => {
                c.args(["--noprofile", "--norc"]);
            }
            "zsh" => {
                c.arg("--no-rcs");
            }
            "fish" => {
                let version = std::process::Command::new(&shell).arg("--version").output();
                if version.is_ok_and(|v| {
                    v.status.success() && fish_has_no_config(&String::from_utf8_lossy(&v.stdout))
                }) {
                    c.arg("--no-config");
                }
            }
            _ => {}
        }
        c.arg("-c").arg(cmd).current_dir(wdir);
        for (k, v) in env {
            c.env(k, v);
        }
        let status = c
            .status()
            .map_err(|e| format!("could not start with `{shell}`: {e}"))?;
        if status.success() {
            return Ok(());
        }
        Err(match status.code() {
            Some(code) => format!("failed with exit code {code}"),
            None => "was killed by a signal".to_string(),
        })
    }
}

/// Whether `fish --version` (`fish, version 3.7.1`) names 3.3.0 or later, which reads
/// `--no-config` (DVC's check: no number, no flag).
fn fish_has_no_config(version: &str) -> bool {
    let last = version.split(' ').next_back().unwrap_or_default().trim();
    let nums: Option<Vec<u64>> = last.split('.').map(|n| n.parse().ok()).collect();
    match nums.as_deref() {
        Some([major, rest @ ..]) => (*major, rest.first().copied().unwrap_or(0)) >= (3, 3),
        _ => false,
    }
}

/// A repro error as a person reads it: the data layer's own errors keep their type (and exit
/// codes), the others carry their hint.
pub(super) fn hinted(e: ReproError) -> anyhow::Error {
    match e {
        ReproError::Data(d) => d.into(),
        other => {
            let hint = other.hint().unwrap_or_default();
            Hinted::new(other.to_string(), hint).into()
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let opts = ReproOptions {
        targets: args.targets.clone(),
        dry: args.dry,
        force: args.force,
        single_item: args.single_item,
    };
    let progress = ctx.printer.progress();
    let shell = Shell {
        printer: &ctx.printer,
    };
    let report = if args.track && !args.dry {
        let settings = Settings::load(&repo.root)?;
        let uri = crate::cli::tracking::resolve_at(
            args.tracking_uri.as_deref(),
            &settings,
            &repo.root,
            ctx,
        )?;
        let tracker = crate::cli::tracking::open_uri(&uri, crate::track::Access::Write)?;
        let child_tracking_uri = match &uri {
            TrackingUri::Sqlite { .. } => uri.to_string(),
            TrackingUri::Http { url, .. } => url.clone(),
        };
        let mut command = String::from("vintner repro");
        for t in &args.targets {
            command.push(' ');
            command.push_str(t);
        }
        let tracking = ReproTracking::start(
            &repo,
            &settings,
            tracker.as_ref(),
            args.experiment.as_deref(),
            child_tracking_uri,
            &command,
            &shell,
        )?;
        let parent = tracking.parent_run_id().to_string();
        let result = repro::repro(&repo, &ctx.cwd, &opts, &tracking, progress.as_ref());
        // The stages' cached outputs go to the remote once repro released the repository.
        let pushed = match &result {
            Ok(_) => tracking.push_outputs(&repo, progress.as_ref()),
            Err(_) => Ok(None),
        };
        let ended = tracking.end(result.is_ok() && pushed.is_ok());
        if let Ok(Some(warning)) = &pushed {
            ctx.printer.warn(warning.clone());
        }
        pushed?;
        let report = result.map_err(hinted)?;
        ended?;
        ctx.printer.status(format!("Pipeline run: {parent}"));
        report
    } else {
        repro::repro(&repo, &ctx.cwd, &opts, &shell, progress.as_ref()).map_err(hinted)?
    };
    if args.json {
        return ctx.printer.json(&report);
    }
    if !report.git_add.is_empty() {
        ctx.printer.status(format!(
            "\nTo track the changes with git, run:\n\n\tgit add {}\n",
            report.git_add.join(" ")
        ));
    } else if report.ran.is_empty() {
        ctx.printer.status("Data and pipelines are up to date.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fish_has_no_config;

    #[test]
    fn fish_from_3_3_reads_no_config() {
        assert!(fish_has_no_config("fish, version 3.7.1\n"));
        assert!(fish_has_no_config("fish, version 3.3"));
        assert!(fish_has_no_config("fish, version 4.0.0"));
        assert!(!fish_has_no_config("fish, version 3.2.2\n"));
        assert!(!fish_has_no_config("fish, version unknown"));
    }
}
