//! `run`: a tracked run of any command, so a team's own training code gets the lineage that
//! `train` records. Its dependencies are verified (pulled when missing), an MLflow run is created
//! and handed to the command through `MLFLOW_TRACKING_URI`, `MLFLOW_EXPERIMENT_ID` and
//! `MLFLOW_RUN_ID` (so `mlflow.start_run()` in the user's code logs into that same run), the
//! command's output streams through, and only when it succeeds are its outputs versioned, pushed
//! and recorded on the run. The run ends FINISHED, FAILED (with the exit code) or KILLED (a
//! signal); it is never left RUNNING, and a failed command versions nothing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::lineage::{self, DataRef, ModelRef};
use super::{Error, Result};
use crate::data::fsutil::normalize;
use crate::data::paths::Inside;
use crate::data::repo::Repo;
use crate::data::transfer::{self, TransferOptions};
use crate::progress::Progress;
use crate::settings::Settings;
use crate::track::{self, Metric, NewRun, Param, Run, RunStatus, RunUpdate, Tag, Tracker};

/// The command line that ran (shell-quoted).
pub const COMMAND: &str = "vintner.command";
/// The command's exit code (128 + the signal's number when a signal ended it).
pub const EXIT_CODE: &str = "vintner.command.exit_code";
/// JSON list of [`OutputRef`]: what the command wrote, as versioned.
pub const OUTPUTS: &str = "vintner.outputs";
/// The folder of run artifacts holding the outputs' `.dvc` files.
pub const OUTPUTS_ARTIFACT_DIR: &str = "outputs";

/// One output of a tracked run, as versioned and pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRef {
    /// Relative to the repository root.
    pub path: String,
    pub md5: String,
    pub size: u64,
    pub remote: String,
    pub remote_url: String,
}

impl OutputRef {
    /// The output as the model a registry version or `get` points at.
    pub fn model_ref(&self) -> ModelRef {
        ModelRef {
            path: self.path.clone(),
            md5: self.md5.clone(),
            remote: self.remote.clone(),
            remote_url: self.remote_url.clone(),
        }
    }
}

/// The run artifact folder that holds the `.dvc` file of the output at `path`: its folder in the
/// repository under [`OUTPUTS_ARTIFACT_DIR`].
pub fn artifact_dir(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some((parent, _)) => format!("{OUTPUTS_ARTIFACT_DIR}/{parent}"),
        None => OUTPUTS_ARTIFACT_DIR.to_string(),
    }
}

/// The outputs a run made by `vintner run` recorded (none for other runs).
pub fn outputs_of(run: &Run) -> Vec<OutputRef> {
    run.data
        .tags
        .iter()
        .find(|t| t.key == OUTPUTS)
        .and_then(|t| serde_json::from_str(&t.value).ok())
        .unwrap_or_default()
}

/// The model of a run: the output named `output` (of a tracked run, or the model `train`
/// recorded under that path); without a name, the model `train` recorded, else the run's only
/// output.
pub fn model_of(run: &Run, output: Option<&str>) -> Result<ModelRef> {
    let outputs = outputs_of(run);
    let trained = ModelRef::from_tags(&run.data.tags);
    let names = || {
        outputs
            .iter()
            .map(|o| o.path.clone())
            .chain(trained.iter().map(|m| m.path.clone()))
            .collect::<Vec<_>>()
    };
    match output {
        Some(name) => {
            let wanted = name.trim_start_matches("./").trim_end_matches('/');
            if let Some(o) = outputs.iter().find(|o| o.path == wanted) {
                return Ok(o.model_ref());
            }
            match trained {
                Some(m) if m.path.trim_end_matches('/') == wanted => Ok(m),
                _ => Err(Error::NoSuchOutput {
                    run: run.info.run_id.clone(),
                    output: name.to_string(),
                    outputs: names(),
                }),
            }
        }
        None => match (trained.clone(), outputs.as_slice()) {
            (Some(m), _) => Ok(m),
            (None, [one]) => Ok(one.model_ref()),
            (None, []) => Err(Error::NoModel {
                run: run.info.run_id.clone(),
            }),
            (None, _) => Err(Error::OutputNotNamed {
                run: run.info.run_id.clone(),
                outputs: names(),
            }),
        },
    }
}

/// What to run and record.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The program and its arguments.
    pub command: Vec<OsString>,
    /// Where the command runs; relative `-o`/`-d` paths are relative to it.
    pub cwd: PathBuf,
    pub run_name: Option<String>,
    pub experiment: Option<String>,
    /// Paths the command writes, versioned and pushed when it succeeds.
    pub outputs: Vec<PathBuf>,
    /// Paths it reads (default: `data.paths` of `vintner.toml`, when the file exists).
    pub deps: Vec<PathBuf>,
    /// Data remote for the outputs (default: the default remote).
    pub remote: Option<String>,
    /// The tracking URI the command gets in `MLFLOW_TRACKING_URI` (with any credentials: it is
    /// only put in the child's environment, never shown).
    pub child_tracking_uri: String,
    /// Send the command's stdout to stderr (so that this process's stdout stays data).
    pub stdout_to_stderr: bool,
}

/// What `run` did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub run_name: String,
    pub experiment_id: String,
    pub experiment: String,
    pub tracking_uri: String,
    pub command: String,
    pub exit_code: i32,
    pub deps: Vec<DataRef>,
    pub outputs: Vec<OutputRef>,
    /// What to `git add` so the outputs' versions are committed.
    pub git_add: Vec<String>,
}

/// A path given on the command line, checked to be inside the repository; returns it relative
/// to the root.
fn inside_repo(repo: &Repo, cwd: &Path, path: &Path, what: &'static str) -> Result<PathBuf> {
    let abs = normalize(&cwd.join(path));
    let inside = Inside::new(&repo.root);
    let bad = |why| Error::BadPath {
        what,
        path: path.to_string_lossy().into_owned(),
        why,
    };
    inside.check_lexical(&abs).map_err(bad)?;
    inside.check_parents(&abs, false).map_err(bad)?;
    Ok(abs.strip_prefix(&repo.root).unwrap_or(&abs).to_path_buf())
}

/// Refuses an output inside another one.
fn check_nesting(outputs: &[PathBuf]) -> Result<()> {
    for a in outputs {
        for b in outputs {
            if a != b && b.starts_with(a) {
                return Err(Error::NestedOutputs {
                    outer: a.to_string_lossy().into_owned(),
                    inner: b.to_string_lossy().into_owned(),
                });
            }
        }
    }
    Ok(())
}

/// Finds `program` as `execvp` would: a path when it has a `/`, else on `PATH`.
fn find_program(program: &std::ffi::OsStr, cwd: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let as_path = Path::new(program);
    if as_path.components().count() > 1 || program.to_string_lossy().contains('/') {
        let p = cwd.join(as_path);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| cwd.join(dir).join(program))
        .find(|p| executable(p))
}

/// The command line as a person would type it.
pub fn shell_words(command: &[OsString]) -> String {
    command
        .iter()
        .map(|a| {
            let s = a.to_string_lossy();
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                s.into_owned()
            } else {
                format!("'{}'", s.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The dependencies, verified: versioned ones are the bytes their `.dvc` file records (pulled
/// when missing), others must exist and are recorded with their md5 (git versions them).
fn verify_deps(repo: &Repo, deps: &[PathBuf], progress: &dyn Progress) -> Result<Vec<DataRef>> {
    let mut refs = Vec::new();
    for rel in deps {
        let abs = repo.root.join(rel);
        let mut dvc = abs.clone().into_os_string();
        dvc.push(".dvc");
        if Path::new(&dvc).is_file() {
            let (mut r, _) =
                super::train::ensure_data(repo, std::slice::from_ref(rel), false, progress)?;
            refs.append(&mut r);
            continue;
        }
        let shown = rel.to_string_lossy().into_owned();
        if std::fs::symlink_metadata(&abs).is_err() {
            return Err(Error::MissingDependency { path: shown });
        }
        let state = repo.state();
        let h = crate::data::workspace::hash_output(&abs, &state, None, progress)?.ok_or_else(
            || Error::MissingDependency {
                path: shown.clone(),
            },
        )?;
        state.save();
        refs.push(DataRef {
            path: shown,
            md5: h.md5,
            size: h.size,
            remote: None,
        });
    }
    Ok(refs)
}

/// How the command ended.
enum Ended {
    Code(i32),
    Signal(i32),
}

/// Runs the command with the run handed over in its environment, forwarding a stop request:
/// SIGTERM at once, SIGINT after a second (a Ctrl-C at a terminal reaches the command itself).
fn execute(program: &Path, opts: &RunOptions, experiment_id: &str, run_id: &str) -> Result<Ended> {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let shown = opts.command[0].to_string_lossy().into_owned();
    let mut cmd = std::process::Command::new(program);
    cmd.arg0(&opts.command[0])
        .args(&opts.command[1..])
        .current_dir(&opts.cwd)
        .env(track::uri::ENV_TRACKING_URI, &opts.child_tracking_uri)
        .env("MLFLOW_EXPERIMENT_ID", experiment_id)
        .env("MLFLOW_RUN_ID", run_id)
        // An experiment named here would contradict the run's own.
        .env_remove("MLFLOW_EXPERIMENT_NAME");
    if opts.stdout_to_stderr {
        cmd.stdout(std::io::stderr());
    }
    let mut child = cmd.spawn().map_err(|source| Error::CommandStart {
        program: shown,
        source,
    })?;
    let mut asked: Option<(i32, std::time::Instant)> = None;
    let mut forwarded = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(_) => {
                break child.wait().map_err(|source| Error::CommandStart {
                    program: opts.command[0].to_string_lossy().into_owned(),
                    source,
                })?;
            }
        }
        if let Some(i) = crate::interrupt::requested() {
            let since = *asked.get_or_insert((i.signal, std::time::Instant::now()));
            let due =
                since.0 != libc::SIGINT || since.1.elapsed() >= std::time::Duration::from_secs(1);
            if due && !forwarded {
                // SAFETY: `kill` with the id of a child this process has not yet reaped.
                unsafe { libc::kill(child.id() as libc::pid_t, since.0) };
                forwarded = true;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => Ended::Code(code),
        (None, Some(signal)) => Ended::Signal(signal),
        (None, None) => Ended::Code(-1),
    })
}

/// Runs and records; see the module documentation.
pub fn run(
    repo: &Repo,
    settings: &Settings,
    tracker: &dyn Tracker,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let Some(first) = opts.command.first() else {
        return Err(Error::CommandNotFound {
            program: String::new(),
        });
    };
    let command = shell_words(&opts.command);
    // Everything that can be refused is refused before a run exists.
    let program = find_program(first, &opts.cwd).ok_or_else(|| Error::CommandNotFound {
        program: first.to_string_lossy().into_owned(),
    })?;
    let outputs = opts
        .outputs
        .iter()
        .map(|p| inside_repo(repo, &opts.cwd, p, "output"))
        .collect::<Result<Vec<_>>>()?;
    check_nesting(&outputs)?;
    let deps = if opts.deps.is_empty() {
        if repo.root.join(crate::settings::FILE_NAME).is_file() {
            settings.data.paths.clone()
        } else {
            Vec::new()
        }
    } else {
        opts.deps
            .iter()
            .map(|p| inside_repo(repo, &opts.cwd, p, "dependency"))
            .collect::<Result<Vec<_>>>()?
    };
    let target = if outputs.is_empty() {
        None
    } else {
        let config = repo.config()?;
        let name = opts
            .remote
            .clone()
            .or_else(|| config.default_remote().map(str::to_string))
            .ok_or(crate::data::Error::NoRemote)?;
        Some((config.remote(&name)?.url, name))
    };
    let root = repo.root.clone();
    let git = std::thread::spawn(move || crate::git::lineage(&root));
    let deps = verify_deps(repo, &deps, progress)?;
    crate::interrupt::check()?;

    let experiment_name = opts
        .experiment
        .clone()
        .unwrap_or_else(|| settings.tracking.experiment.clone());
    let experiment = tracker.get_or_create_experiment(&experiment_name)?;
    let git = git.join().unwrap_or_default();
    let mut tags = track::git::SystemTags::from_lineage(&git, &command).to_tags();
    tags.push(Tag::new(lineage::VERSION, env!("CARGO_PKG_VERSION")));
    tags.push(Tag::new(lineage::GIT_DIRTY, git.dirty.to_string()));
    tags.push(Tag::new(COMMAND, &command));
    if let Some(n) = &opts.run_name {
        tags.push(Tag::new(lineage::RUN_NAME, n));
    }
    tags.push(Tag::new(
        lineage::DATA,
        serde_json::to_string(&deps).unwrap_or_default(),
    ));
    if let Some(d) = deps.first() {
        tags.push(Tag::new(lineage::DATA_PATH, &d.path));
        tags.push(Tag::new(lineage::DATA_MD5, &d.md5));
        if let Some(r) = &d.remote {
            tags.push(Tag::new(lineage::DATA_REMOTE, r));
        }
    }
    let run = tracker.create_run(&NewRun {
        experiment_id: experiment.experiment_id.clone(),
        run_name: opts.run_name.clone(),
        start_time: Some(track::now_ms()),
        user_id: Some(super::train::user()),
        tags,
    })?;
    let run_id = run.info.run_id.clone();
    let close = |status: RunStatus| {
        tracker.update_run(
            &run_id,
            &RunUpdate {
                status: Some(status),
                end_time: Some(track::now_ms()),
                run_name: None,
            },
        )
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ended = execute(&program, opts, &experiment.experiment_id, &run_id)?;
        let code = match ended {
            Ended::Code(c) => c,
            Ended::Signal(s) => 128 + s,
        };
        tracker.log_batch(&run_id, &[], &[], &[Tag::new(EXIT_CODE, code.to_string())])?;
        if let Some(i) = crate::interrupt::requested() {
            return Err(Error::Interrupted(i));
        }
        match ended {
            Ended::Signal(signal) => {
                return Err(Error::CommandKilled {
                    command: command.clone(),
                    signal,
                    run: run_id.clone(),
                });
            }
            Ended::Code(c) if c != 0 => {
                return Err(Error::CommandFailed {
                    command: command.clone(),
                    code: c,
                    run: run_id.clone(),
                });
            }
            Ended::Code(_) => {}
        }
        let (recorded, git_add) = match &target {
            Some((url, name)) => record_outputs(
                repo, tracker, &run_id, &command, &outputs, name, url, progress,
            )?,
            None => (Vec::new(), Vec::new()),
        };
        Ok((code, recorded, git_add))
    }))
    .unwrap_or_else(|panic| {
        let _ = close(RunStatus::Failed);
        std::panic::resume_unwind(panic)
    });
    let outcome = match (outcome, crate::interrupt::requested()) {
        (Err(_), Some(interrupted)) => Err(Error::Interrupted(interrupted)),
        (outcome, _) => outcome,
    };
    let ended = close(match &outcome {
        Ok(_) => RunStatus::Finished,
        Err(Error::Interrupted(_)) | Err(Error::CommandKilled { .. }) => RunStatus::Killed,
        Err(_) => RunStatus::Failed,
    });
    let (exit_code, outputs, git_add) = outcome?;
    ended?;
    Ok(RunReport {
        run_id,
        run_name: run.info.run_name,
        experiment_id: experiment.experiment_id,
        experiment: experiment.name,
        tracking_uri: tracker.uri().to_string(),
        command,
        exit_code,
        deps,
        outputs,
        git_add,
    })
}

/// Versions and pushes the outputs of a command that succeeded, and records them on the run.
#[allow(clippy::too_many_arguments)]
fn record_outputs(
    repo: &Repo,
    tracker: &dyn Tracker,
    run_id: &str,
    command: &str,
    outputs: &[PathBuf],
    remote: &str,
    remote_url: &str,
    progress: &dyn Progress,
) -> Result<(Vec<OutputRef>, Vec<String>)> {
    let abs: Vec<PathBuf> = outputs.iter().map(|p| repo.root.join(p)).collect();
    for (a, rel) in abs.iter().zip(outputs) {
        if std::fs::symlink_metadata(a).is_err() {
            return Err(Error::MissingOutput {
                command: command.to_string(),
                path: rel.to_string_lossy().into_owned(),
                run: run_id.to_string(),
            });
        }
    }
    let added = crate::data::add::add(repo, &abs, &repo.root, progress)?;
    crate::interrupt::check()?;
    transfer::push(
        repo,
        &TransferOptions {
            targets: abs.clone(),
            remote: Some(remote.to_string()),
            jobs: None,
        },
        &repo.root,
        progress,
    )?;
    crate::interrupt::check()?;
    let recorded: Vec<OutputRef> = added
        .iter()
        .map(|a| OutputRef {
            path: a.path.clone(),
            md5: a.md5.clone(),
            size: a.size,
            remote: remote.to_string(),
            remote_url: remote_url.to_string(),
        })
        .collect();
    tracker.log_batch(
        run_id,
        &[],
        &[],
        &[Tag::new(
            OUTPUTS,
            serde_json::to_string(&recorded).unwrap_or_default(),
        )],
    )?;
    for a in &added {
        tracker.log_artifact(
            run_id,
            &repo.root.join(&a.dvc_file),
            Some(&artifact_dir(&a.path)),
        )?;
    }
    let mut git_add: Vec<String> = added.iter().flat_map(|a| a.git_add.clone()).collect();
    git_add.sort();
    git_add.dedup();
    Ok((recorded, git_add))
}

/// The stage a run of `repro --track` recorded (`dvc.yaml` stage name).
pub const STAGE: &str = "vintner.stage";
/// JSON list of [`DataRef`]: the outputs of a stage, as `dvc.lock` records them.
pub const STAGE_OUTS: &str = "vintner.stage.outs";
/// MLflow's tag for a nested run's parent.
pub const PARENT_RUN: &str = "mlflow.parentRunId";

/// `repro --track`: wraps the runner of `repro` so that one pipeline run is the parent of one
/// MLflow run per stage that runs. Each stage's run gets the tracking environment (so the
/// stage's own `mlflow` calls log into it), its parameters as MLflow params, the numbers of its
/// metrics files as metrics, and the lineage tags `run` records (git, command, dependencies and
/// outputs with their md5s).
pub struct ReproTracking<'a> {
    inner: &'a dyn crate::data::repro::Runner,
    tracker: &'a dyn Tracker,
    experiment_id: String,
    child_tracking_uri: String,
    parent: String,
    git: crate::git::Lineage,
    current: std::sync::Mutex<Option<String>>,
    failure: std::sync::Mutex<Option<track::Error>>,
    /// Each finished stage's run and its cached outputs, pushed once `repro` is over.
    pending: std::sync::Mutex<Vec<(String, Vec<PendingOut>)>>,
}

/// A cached output of a stage, as its `dvc.lock` entry records it.
struct PendingOut {
    abs: PathBuf,
    md5: String,
    size: u64,
    nfiles: Option<u64>,
    isexec: bool,
}

impl<'a> ReproTracking<'a> {
    /// Creates the pipeline's parent run in `experiment` (default: `tracking.experiment`).
    pub fn start(
        repo: &Repo,
        settings: &Settings,
        tracker: &'a dyn Tracker,
        experiment: Option<&str>,
        child_tracking_uri: String,
        command: &str,
        inner: &'a dyn crate::data::repro::Runner,
    ) -> Result<ReproTracking<'a>> {
        let git = crate::git::lineage(&repo.root);
        let name = experiment.unwrap_or(&settings.tracking.experiment);
        let experiment = tracker.get_or_create_experiment(name)?;
        let mut tags = track::git::SystemTags::from_lineage(&git, command).to_tags();
        tags.push(Tag::new(lineage::VERSION, env!("CARGO_PKG_VERSION")));
        tags.push(Tag::new(lineage::GIT_DIRTY, git.dirty.to_string()));
        tags.push(Tag::new(COMMAND, command));
        let run = tracker.create_run(&NewRun {
            experiment_id: experiment.experiment_id.clone(),
            run_name: Some("repro".into()),
            start_time: Some(track::now_ms()),
            user_id: Some(super::train::user()),
            tags,
        })?;
        Ok(ReproTracking {
            inner,
            tracker,
            experiment_id: experiment.experiment_id,
            child_tracking_uri,
            parent: run.info.run_id,
            git,
            current: std::sync::Mutex::new(None),
            failure: std::sync::Mutex::new(None),
            pending: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The pipeline run's id.
    pub fn parent_run_id(&self) -> &str {
        &self.parent
    }

    fn remember(&self, r: track::Result<()>) {
        if let Err(e) = r
            && let Ok(mut f) = self.failure.lock()
            && f.is_none()
        {
            *f = Some(e);
        }
    }

    fn close(&self, run_id: &str, status: RunStatus) -> track::Result<()> {
        self.tracker
            .update_run(
                run_id,
                &RunUpdate {
                    status: Some(status),
                    end_time: Some(track::now_ms()),
                    run_name: None,
                },
            )
            .map(drop)
    }

    fn begin(&self, stage: &str) {
        let mut tags = track::git::SystemTags::from_lineage(&self.git, stage).to_tags();
        tags.push(Tag::new(PARENT_RUN, &self.parent));
        tags.push(Tag::new(STAGE, stage));
        tags.push(Tag::new(lineage::VERSION, env!("CARGO_PKG_VERSION")));
        tags.push(Tag::new(lineage::GIT_DIRTY, self.git.dirty.to_string()));
        let run = self.tracker.create_run(&NewRun {
            experiment_id: self.experiment_id.clone(),
            run_name: Some(stage.to_string()),
            start_time: Some(track::now_ms()),
            user_id: Some(super::train::user()),
            tags,
        });
        match run {
            Ok(r) => {
                if let Ok(mut c) = self.current.lock() {
                    *c = Some(r.info.run_id);
                }
            }
            Err(e) => self.remember(Err(e)),
        }
    }

    fn current(&self) -> Option<String> {
        self.current.lock().ok().and_then(|c| c.clone())
    }

    /// Versions the cached outputs of the stages that ran as `run -o` does: pushed to the
    /// default remote, recorded on each stage's run (`vintner.outputs`, a `.dvc` file per
    /// output under `outputs/`), so `register --output` takes them. Called once `repro` is
    /// over (it holds the repository lock while it runs). Without a default remote nothing is
    /// pushed and the reason is returned.
    pub fn push_outputs(&self, repo: &Repo, progress: &dyn Progress) -> Result<Option<String>> {
        let pending = self
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        if pending.iter().all(|(_, outs)| outs.is_empty()) {
            return Ok(None);
        }
        let config = repo.config()?;
        let Some(name) = config.default_remote().map(str::to_string) else {
            return Ok(Some(
                "no default remote: the stages' outputs were not pushed or recorded on their \
                 runs (add one with `vintner remote add -d NAME URL`)"
                    .into(),
            ));
        };
        let url = config.remote(&name)?.url;
        let targets: Vec<PathBuf> = pending
            .iter()
            .flat_map(|(_, outs)| outs.iter().map(|o| o.abs.clone()))
            .collect();
        transfer::push(
            repo,
            &TransferOptions {
                targets,
                remote: Some(name.clone()),
                jobs: None,
            },
            &repo.root,
            progress,
        )?;
        let tmp = repo.dvc_dir.join("tmp").join("vintner-stage-outputs");
        for (run_id, outs) in &pending {
            let recorded: Vec<OutputRef> = outs
                .iter()
                .map(|o| OutputRef {
                    path: crate::data::fsutil::relative_to(&o.abs, &repo.root)
                        .to_string_lossy()
                        .into_owned(),
                    md5: o.md5.clone(),
                    size: o.size,
                    remote: name.clone(),
                    remote_url: url.clone(),
                })
                .collect();
            self.tracker.log_batch(
                run_id,
                &[],
                &[],
                &[Tag::new(
                    OUTPUTS,
                    serde_json::to_string(&recorded).unwrap_or_default(),
                )],
            )?;
            for (o, r) in outs.iter().zip(&recorded) {
                let file_name = o.abs.file_name().unwrap_or_default().to_string_lossy();
                let text = crate::data::dvcfile::render_new(
                    &file_name,
                    &crate::data::dvcfile::Hashes {
                        md5: o.md5.clone(),
                        size: o.size,
                        nfiles: o.nfiles,
                        isexec: o.isexec,
                    },
                );
                std::fs::create_dir_all(&tmp)
                    .map_err(crate::data::Error::io("create folder", &tmp))?;
                let dvc_file = tmp.join(format!("{file_name}.dvc"));
                crate::data::fsutil::write_atomic(&dvc_file, text.as_bytes())?;
                let logged =
                    self.tracker
                        .log_artifact(run_id, &dvc_file, Some(&artifact_dir(&r.path)));
                let _ = std::fs::remove_file(&dvc_file);
                logged?;
            }
        }
        let _ = std::fs::remove_dir(&tmp);
        Ok(None)
    }

    /// Ends the pipeline run (FINISHED when `ok`), and reports the first tracking failure.
    pub fn end(self, ok: bool) -> Result<()> {
        if let Some(open) = self.current() {
            let _ = self.close(&open, RunStatus::Failed);
        }
        let closed = self.close(
            &self.parent,
            if ok {
                RunStatus::Finished
            } else {
                RunStatus::Failed
            },
        );
        if let Some(e) = self.failure.lock().ok().and_then(|mut f| f.take()) {
            return Err(e.into());
        }
        closed?;
        Ok(())
    }
}

/// `path: md5` entries of a `dvc.lock` list, paths relative to the repository root.
fn lock_refs(list: Option<&serde_norway::Value>, wdir: &Path, root: &Path) -> Vec<DataRef> {
    let Some(items) = list.and_then(serde_norway::Value::as_sequence) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| {
            let path = i.get("path")?.as_str()?;
            let abs = normalize(&wdir.join(path));
            Some(DataRef {
                path: crate::data::fsutil::relative_to(&abs, root)
                    .to_string_lossy()
                    .into_owned(),
                md5: i.get("md5")?.as_str()?.to_string(),
                size: i
                    .get("size")
                    .and_then(serde_norway::Value::as_u64)
                    .unwrap_or(0),
                remote: None,
            })
        })
        .collect()
}

/// The numbers of a metrics file (JSON or YAML), nested keys joined with `.`.
fn metric_values(path: &Path) -> Vec<(String, f64)> {
    fn walk(prefix: &str, v: &serde_norway::Value, out: &mut Vec<(String, f64)>) {
        match v {
            serde_norway::Value::Number(n) => {
                if let Some(f) = n.as_f64() {
                    out.push((prefix.to_string(), f));
                }
            }
            serde_norway::Value::Mapping(m) => {
                for (k, v) in m {
                    let Some(k) = k.as_str() else { continue };
                    let key = if prefix.is_empty() {
                        k.to_string()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(v) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_norway::from_str::<serde_norway::Value>(&t).ok())
    {
        walk("", &v, &mut out);
    }
    out
}

/// A parameter value as MLflow params hold it (text).
fn param_text(v: &serde_norway::Value) -> String {
    match v {
        serde_norway::Value::String(s) => s.clone(),
        serde_norway::Value::Number(n) if n.is_f64() => {
            crate::data::dvcyaml::py_float(n.as_f64().unwrap_or(0.0))
        }
        serde_norway::Value::Number(n) => n.to_string(),
        serde_norway::Value::Bool(b) => b.to_string(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

impl crate::data::repro::Runner for ReproTracking<'_> {
    fn skipped(&self, stage: &str) {
        self.inner.skipped(stage);
    }

    fn running(&self, stage: &str) {
        self.inner.running(stage);
        self.begin(stage);
    }

    fn restored(&self, stage: &str) {
        self.inner.restored(stage);
    }

    fn frozen(&self, stage: &str) {
        self.inner.frozen(stage);
        self.begin(stage);
    }

    fn command(
        &self,
        cmd: &str,
        wdir: &Path,
        env: &[(String, String)],
    ) -> std::result::Result<(), String> {
        let mut env = env.to_vec();
        if let Some(run_id) = self.current() {
            env.push((
                "MLFLOW_TRACKING_URI".into(),
                self.child_tracking_uri.clone(),
            ));
            env.push(("MLFLOW_EXPERIMENT_ID".into(), self.experiment_id.clone()));
            env.push(("MLFLOW_RUN_ID".into(), run_id));
        }
        self.inner.command(cmd, wdir, &env)
    }

    fn finished(&self, stage: &str, done: &crate::data::repro::StageDone) {
        let Some(run_id) = self.current.lock().ok().and_then(|mut c| c.take()) else {
            return;
        };
        let root = self.git_root(&done.wdir);
        let mut params = Vec::new();
        if let Some(files) = done.entry.get("params").and_then(|p| p.as_mapping()) {
            for (file, values) in files {
                let file = file.as_str().unwrap_or_default();
                for (k, v) in values.as_mapping().into_iter().flatten() {
                    let k = k.as_str().unwrap_or_default();
                    let key = if file == crate::data::dvcyaml::DEFAULT_PARAMS {
                        k.to_string()
                    } else {
                        format!("{file}/{k}")
                    };
                    params.push(Param::new(key, param_text(v)));
                }
            }
        }
        let now = track::now_ms();
        let metrics: Vec<Metric> = done
            .metrics
            .iter()
            .flat_map(|m| metric_values(m))
            .map(|(k, v)| Metric::new(k, v, now, 0))
            .collect();
        let command = done.commands.join("\n");
        let deps = lock_refs(done.entry.get("deps"), &done.wdir, &root);
        let outs = lock_refs(done.entry.get("outs"), &done.wdir, &root);
        let tags = vec![
            Tag::new(COMMAND, &command),
            Tag::new(
                lineage::DATA,
                serde_json::to_string(&deps).unwrap_or_default(),
            ),
            Tag::new(STAGE_OUTS, serde_json::to_string(&outs).unwrap_or_default()),
        ];
        let _ = stage;
        let cached: Vec<PendingOut> = done
            .entry
            .get("outs")
            .and_then(serde_norway::Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|o| {
                let abs = normalize(&done.wdir.join(o.get("path")?.as_str()?));
                done.cached.contains(&abs).then(|| PendingOut {
                    md5: o
                        .get("md5")
                        .and_then(|m| m.as_str())
                        .unwrap_or_default()
                        .into(),
                    size: o.get("size").and_then(|s| s.as_u64()).unwrap_or(0),
                    nfiles: o.get("nfiles").and_then(|n| n.as_u64()),
                    isexec: o.get("isexec").and_then(|x| x.as_bool()).unwrap_or(false),
                    abs,
                })
            })
            .collect();
        if let Ok(mut p) = self.pending.lock() {
            p.push((run_id.clone(), cached));
        }
        self.remember(self.tracker.log_batch(&run_id, &metrics, &params, &tags));
        self.remember(self.close(&run_id, RunStatus::Finished));
    }

    fn failed(&self, stage: &str) {
        let _ = stage;
        if let Some(run_id) = self.current.lock().ok().and_then(|mut c| c.take()) {
            self.remember(self.close(&run_id, RunStatus::Failed));
        }
    }
}

impl ReproTracking<'_> {
    /// The repository root above a stage's folder.
    fn git_root(&self, wdir: &Path) -> PathBuf {
        wdir.ancestors()
            .find(|a| a.join(".dvc").is_dir())
            .unwrap_or(wdir)
            .to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_are_shown_quoted_as_a_shell_reads_them() {
        let cmd: Vec<OsString> = ["python", "train.py", "--lr=0.1", "a b", "it's"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(
            shell_words(&cmd),
            "python train.py --lr=0.1 'a b' 'it'\\''s'"
        );
    }

    #[test]
    fn output_artifacts_mirror_the_repository_folders() {
        assert_eq!(artifact_dir("models/model.pkl"), "outputs/models");
        assert_eq!(artifact_dir("model.pkl"), "outputs");
        assert_eq!(artifact_dir("a/b/c/"), "outputs/a/b");
    }

    #[test]
    fn nested_outputs_are_refused() {
        let outs = [PathBuf::from("models"), PathBuf::from("models/model.pkl")];
        let err = check_nesting(&outs).unwrap_err();
        assert!(err.to_string().contains("`models/model.pkl`"), "{err}");
        assert!(check_nesting(&[PathBuf::from("models"), PathBuf::from("modelsx")]).is_ok());
    }

    fn run_with(tags: Vec<Tag>) -> Run {
        Run {
            info: track::RunInfo {
                run_id: "r1".into(),
                run_name: "n".into(),
                experiment_id: "1".into(),
                user_id: "u".into(),
                status: RunStatus::Finished,
                start_time: None,
                end_time: None,
                artifact_uri: String::new(),
                lifecycle_stage: "active".into(),
            },
            data: track::RunData {
                tags,
                ..Default::default()
            },
        }
    }

    #[test]
    fn the_model_of_a_run_is_the_named_output() {
        let out = |p: &str, md5: &str| OutputRef {
            path: p.into(),
            md5: md5.into(),
            size: 1,
            remote: "r".into(),
            remote_url: "/remote".into(),
        };
        let two = serde_json::to_string(&[out("models/m.pkl", "aa"), out("reports/r.json", "bb")])
            .unwrap();
        let run = run_with(vec![Tag::new(OUTPUTS, &two)]);
        assert_eq!(model_of(&run, Some("models/m.pkl")).unwrap().md5, "aa");
        assert_eq!(model_of(&run, Some("./reports/r.json")).unwrap().md5, "bb");
        let err = model_of(&run, None).unwrap_err().to_string();
        assert!(err.contains("models/m.pkl, reports/r.json"), "{err}");
        let err = model_of(&run, Some("x")).unwrap_err().to_string();
        assert!(err.contains("no output `x`"), "{err}");
        let one = serde_json::to_string(&[out("models/m.pkl", "aa")]).unwrap();
        assert_eq!(
            model_of(&run_with(vec![Tag::new(OUTPUTS, &one)]), None)
                .unwrap()
                .md5,
            "aa"
        );
        assert!(matches!(
            model_of(&run_with(vec![]), None),
            Err(Error::NoModel { .. })
        ));
    }
}
