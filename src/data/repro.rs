//! `repro`: which stages of a `dvc.yaml` changed, decided as DVC 3 decides it (command,
//! dependencies' md5s, parameter values, outputs missing, changed or not in the cache,
//! `always_changed`, `frozen`), in DVC's order, and the `dvc.lock` written back byte for byte as
//! DVC 3 writes it, with the outputs cached. Running a stage's commands is the caller's: it
//! comes in as a [`Runner`], so this module never spawns or prints anything itself.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_norway::{Mapping, Value};

use super::add::{LOCK_WAIT, relink};
use super::dvcfile::Out;
use super::dvcyaml::{self, OutKind, Pipeline, StageDef, YamlError};
use super::fsutil::write_atomic;
use super::hash::HashKind;
use super::index::Tracked;
use super::lock::RepoLock;
use super::odb::{Odb, Oid};
use super::paths::Inside;
use super::pipeline_lock::{LOCK_FILE, LockStage, PROJECT_FILE, lock_stages};
use super::repo::Repo;
use super::state::State;
use super::status::out_state;
use super::{gitignore, workspace};
use crate::progress::Progress;

/// What can stop a `repro`.
#[derive(Debug, thiserror::Error)]
pub enum ReproError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error(transparent)]
    Data(#[from] super::Error),
    #[error("`{}` has a cycle: {}", file.display(), stages.join(" -> "))]
    Cycle { file: PathBuf, stages: Vec<String> },
    #[error("`{}` line {line}: {what}", file.display())]
    Overlap {
        file: PathBuf,
        line: usize,
        what: String,
    },
    #[error("`{}` line {line}: the output `{out}` of stage `{stage}` is or contains `{}`, which running the stage would delete", file.display(), inner.display())]
    PipelineInOutput {
        file: PathBuf,
        line: usize,
        stage: String,
        out: String,
        inner: PathBuf,
    },
    #[error("`{}` line {line}: the dependency `{dep}` of stage `{stage}` does not exist and no stage makes it", file.display())]
    MissingDep {
        file: PathBuf,
        line: usize,
        stage: String,
        dep: String,
    },
    #[error("`{}` line {line}: stage `{stage}` did not make its output `{out}`", file.display())]
    MissingOut {
        file: PathBuf,
        line: usize,
        stage: String,
        out: String,
    },
    #[error("`{}` line {line}: the parameters of stage `{stage}`: {key}", file.display())]
    MissingParam {
        file: PathBuf,
        line: usize,
        stage: String,
        /// What is missing, and from which file.
        key: String,
    },
    #[error("`{}` line {line}: {what} of `{}` makes", file.display(), other_file.display())]
    UpstreamElsewhere {
        file: PathBuf,
        line: usize,
        /// Which stage depends on what, and which stage makes it.
        what: String,
        other_file: PathBuf,
    },
    #[error("the targets are stages of several pipeline files: {}", .0.iter().map(|f| format!("`{}`", f.display())).collect::<Vec<_>>().join(", "))]
    SeveralFiles(Vec<PathBuf>),
    #[error("`{}` has no stage named `{name}`", file.display())]
    NoSuchStage { file: PathBuf, name: String },
    #[error("Failed to reproduce stage `{stage}`: `{cmd}` {why}")]
    CmdFailed {
        stage: String,
        cmd: String,
        why: String,
    },
    #[error("`{}` is written in DVC 1's layout; vintner writes only DVC 3's", .0.display())]
    OldLock(PathBuf),
}

impl ReproError {
    /// The fix to suggest to a person.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ReproError::Yaml(YamlError::Unsupported { .. }) => {
                "run this pipeline with `dvc repro`, or rewrite that part of `dvc.yaml`".into()
            }
            ReproError::Yaml(YamlError::Io { .. }) => {
                "run it where the pipeline's `dvc.yaml` is, or name it: `vintner repro \
                 path/to/dvc.yaml`"
                    .into()
            }
            ReproError::Yaml(_) => "fix that line of the file; nothing was run or written".into(),
            ReproError::Data(e) => return e.hint(),
            ReproError::Cycle { .. } => {
                "a stage cannot depend, directly or not, on its own outputs: remove one of these \
                 dependencies"
                    .into()
            }
            ReproError::Overlap { .. } => {
                "declare the outer folder only, or move the inner output elsewhere (DVC refuses \
                 this too)"
                    .into()
            }
            ReproError::PipelineInOutput { .. } => {
                "name a file or folder the stage writes, not one holding pipeline files (DVC \
                 refuses this too); nothing was run or removed"
                    .into()
            }
            ReproError::MissingDep { .. } => {
                "create it, pull it (`vintner pull`), or add the stage that makes it".into()
            }
            ReproError::MissingOut { .. } => {
                "make the command write it, or remove it from the stage's outputs".into()
            }
            ReproError::MissingParam { .. } => {
                "add the key to the parameters file, or remove it from the stage's `params`".into()
            }
            ReproError::UpstreamElsewhere { other_file, .. } => format!(
                "vintner reproduces one `dvc.yaml` at a time: run `vintner repro {}` first, or \
                 `dvc repro`, which follows stages across files",
                other_file.display()
            ),
            ReproError::SeveralFiles(_) => {
                "vintner reproduces one `dvc.yaml` at a time: run `vintner repro` once per file \
                 (name stages of another folder as `path/dvc.yaml:stage`)"
                    .into()
            }
            ReproError::NoSuchStage { .. } => {
                "`vintner dag` lists the stages; name one of them".into()
            }
            ReproError::CmdFailed { .. } => {
                "fix the command and run `vintner repro` again; `dvc.lock` keeps this stage's \
                 previous record"
                    .into()
            }
            ReproError::OldLock(_) => "run `dvc repro` once to convert it".into(),
        })
    }
}

pub type Result<T, E = ReproError> = std::result::Result<T, E>;

/// What the caller does for `repro`: runs commands and hears what happens.
pub trait Runner {
    /// A stage did not change.
    fn skipped(&self, stage: &str);
    /// A stage is about to run (or would, with `--dry`).
    fn running(&self, stage: &str);
    /// Runs one command of a stage in `wdir` with `env` added; `Err` says why it failed.
    fn command(&self, cmd: &str, wdir: &Path, env: &[(String, String)]) -> Result<(), String>;
    /// A stage's outputs come back from the cache instead of running its command.
    fn restored(&self, stage: &str);
    /// A frozen stage's outputs are verified instead of run.
    fn frozen(&self, stage: &str);
    /// A stage ran and its `dvc.lock` entry is written.
    fn finished(&self, _stage: &str, _done: &StageDone) {}
    /// A stage's command failed (or its outputs could not be recorded).
    fn failed(&self, _stage: &str) {}
}

/// What one stage that ran is recorded with.
#[derive(Debug, Clone)]
pub struct StageDone {
    /// Its commands, as they ran.
    pub commands: Vec<String>,
    /// Its `dvc.lock` entry (`cmd`, `deps`, `params`, `outs`).
    pub entry: Value,
    /// Its metrics files (absolute), which may be JSON or YAML.
    pub metrics: Vec<PathBuf>,
    /// Its outputs kept in the cache (absolute).
    pub cached: Vec<PathBuf>,
    /// Its folder, the root of the paths in `entry`.
    pub wdir: PathBuf,
}

/// `vintner repro`'s flags.
#[derive(Debug, Clone, Default)]
pub struct ReproOptions {
    /// `dvc.yaml`, `dvc.yaml:stage`, `stage` or `path/dvc.yaml`, relative to the working folder.
    pub targets: Vec<String>,
    pub dry: bool,
    pub force: bool,
    pub single_item: bool,
}

/// What `repro` did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReproReport {
    /// The stages that ran (or would run, with `--dry`), in order.
    pub ran: Vec<String>,
    /// The changed stages whose outputs came back from the cache instead of running.
    pub restored: Vec<String>,
    pub unchanged: Vec<String>,
    /// Whether `dvc.lock` changed.
    pub lock_changed: bool,
    /// Files git should stage.
    pub git_add: Vec<String>,
}

/// A pipeline with its graph: for each stage, the stages whose outputs it depends on.
pub struct Graph {
    pub pipeline: Pipeline,
    pub upstream: Vec<Vec<usize>>,
}

fn inside_or_eq(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}

/// Builds the graph of a pipeline, refusing an output inside another and cycles.
pub fn graph(pipeline: Pipeline) -> Result<Graph> {
    let outs: Vec<(usize, PathBuf, &str)> = pipeline
        .stages
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.outs
                .iter()
                .map(move |o| (i, s.abs(&o.path), o.path.as_str()))
        })
        .collect();
    for (a, pa, ra) in &outs {
        for (b, pb, rb) in &outs {
            if (a, pa) != (b, pb) && inside_or_eq(pa, pb) {
                let s = &pipeline.stages[*a];
                return Err(ReproError::Overlap {
                    file: pipeline.shown.clone(),
                    line: s.line,
                    what: format!(
                        "the output `{ra}` of stage `{}` is inside the output `{rb}` of stage `{}`",
                        s.name, pipeline.stages[*b].name
                    ),
                });
            }
        }
    }
    let upstream: Vec<Vec<usize>> = pipeline
        .stages
        .iter()
        .map(|s| {
            let mut up = Vec::new();
            // Parameters files are dependencies too (DVC's graph walks them).
            let params = s.params.iter().map(|p| &p.file);
            for d in s.deps.iter().chain(params) {
                let pd = s.abs(d);
                for (j, po, _) in &outs {
                    if (inside_or_eq(&pd, po) || inside_or_eq(po, &pd)) && !up.contains(j) {
                        up.push(*j);
                    }
                }
            }
            up
        })
        .collect();
    let g = Graph { pipeline, upstream };
    // Cycles: a depth-first search with colours.
    let n = g.upstream.len();
    let mut colour = vec![0u8; n];
    fn visit(g: &Graph, i: usize, colour: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        colour[i] = 1;
        path.push(i);
        for &j in &g.upstream[i] {
            if colour[j] == 1 {
                let at = path.iter().position(|&p| p == j).unwrap_or(0);
                let mut cycle = path[at..].to_vec();
                cycle.push(j);
                return Some(cycle);
            }
            if colour[j] == 0
                && let Some(c) = visit(g, j, colour, path)
            {
                return Some(c);
            }
        }
        path.pop();
        colour[i] = 2;
        None
    }
    for i in 0..n {
        if colour[i] == 0
            && let Some(mut c) = visit(&g, i, &mut colour, &mut Vec::new())
        {
            c.reverse();
            return Err(ReproError::Cycle {
                file: g.pipeline.shown.clone(),
                stages: c
                    .iter()
                    .map(|&i| g.pipeline.stages[i].name.clone())
                    .collect(),
            });
        }
    }
    Ok(g)
}

/// Loads the repository's `dvc.yaml` (the one at `cwd` if there is one, else the root's) and
/// its graph.
pub fn load(repo: &Repo, dvc_yaml: &Path) -> Result<Graph> {
    let inside = Inside::new(&repo.root);
    let shown = inside.shown(dvc_yaml);
    let pipeline = dvcyaml::load(dvc_yaml, &shown)?;
    for s in &pipeline.stages {
        // The stage's folder: the repository root or inside it (checked as a file in it).
        let base = pipeline.path.parent().unwrap_or(Path::new(""));
        inside
            .resolve(base, &Path::new(&s.wdir_text).join("_"))
            .map_err(|why| super::Error::UnsafePath {
                file: shown.clone(),
                path: s.wdir_text.clone(),
                why,
            })?;
        let names = s.deps.iter().chain(s.outs.iter().map(|o| &o.path));
        for p in names {
            inside
                .resolve(&s.wdir, Path::new(p))
                .map_err(|why| super::Error::UnsafePath {
                    file: shown.clone(),
                    path: p.clone(),
                    why,
                })?;
        }
        for o in &s.outs {
            if let Some(file) = pipeline_file_within(repo, &pipeline.path, &s.abs(&o.path)) {
                return Err(ReproError::PipelineInOutput {
                    file: shown.clone(),
                    line: s.line,
                    stage: s.name.clone(),
                    out: o.path.clone(),
                    inner: inside.shown(&file),
                });
            }
        }
    }
    graph(pipeline)
}

/// A `dvc.yaml`, `dvc.lock`, `.dvc` file or the `.dvc` folder an output `out` is, or contains
/// (DVC's `StagePathAsOutputError`): running the stage would delete it.
fn pipeline_file_within(repo: &Repo, dvc_yaml: &Path, out: &Path) -> Option<PathBuf> {
    let lock = dvc_yaml.with_file_name(LOCK_FILE);
    for f in [dvc_yaml, lock.as_path(), repo.dvc_dir.as_path()] {
        if f.starts_with(out) {
            return Some(f.to_path_buf());
        }
    }
    let is_pipeline_file = |p: &Path| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        name == PROJECT_FILE || name == LOCK_FILE || name.ends_with(".dvc")
    };
    if is_pipeline_file(out) {
        return Some(out.to_path_buf());
    }
    if std::fs::symlink_metadata(out).is_ok_and(|m| m.is_dir()) {
        return walkdir::WalkDir::new(out)
            .into_iter()
            .filter_map(|e| e.ok())
            .map(|e| e.into_path())
            .find(|p| is_pipeline_file(p));
    }
    None
}

/// Refuses a planned stage whose dependency a changed stage of another `dvc.yaml` of the
/// repository makes: DVC would reproduce that stage first, and vintner plans one file at a
/// time. Files that cannot be read are left out (they do not stop this pipeline).
fn upstream_elsewhere(env: &Env, g: &Graph, order: &[usize]) -> Result<()> {
    let repo = env.repo;
    let inside = Inside::new(&repo.root);
    let others = ignore::WalkBuilder::new(&repo.root)
        .hidden(false)
        .git_ignore(false)
        .git_exclude(false)
        .ignore(false)
        .filter_entry(|e| !matches!(e.file_name().to_str(), Some(".git" | ".dvc")))
        .build()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() == PROJECT_FILE && e.path() != g.pipeline.path)
        .map(|e| e.into_path());
    for other in others {
        let shown = inside.shown(&other);
        let Ok(p) = dvcyaml::load(&other, &shown) else {
            tracing::debug!("`{}` could not be read; not followed", shown.display());
            continue;
        };
        for &i in order {
            let s = &g.pipeline.stages[i];
            let params = s.params.iter().map(|p| &p.file);
            for d in s.deps.iter().chain(params) {
                let pd = s.abs(d);
                for o in p.stages.iter() {
                    let makes = o.outs.iter().any(|out| {
                        let po = o.abs(&out.path);
                        pd.starts_with(&po) || po.starts_with(&pd)
                    });
                    if makes && other_changed(env, &p, o)? {
                        return Err(ReproError::UpstreamElsewhere {
                            file: g.pipeline.shown.clone(),
                            line: s.line,
                            what: format!(
                                "stage `{}` depends on `{d}`, which stage `{}`",
                                s.name, o.name
                            ),
                            other_file: shown,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether a stage of another pipeline file would run (its lock beside its `dvc.yaml`).
fn other_changed(env: &Env, p: &Pipeline, o: &StageDef) -> Result<bool> {
    if o.frozen {
        // A frozen stage cuts DVC's walk.
        return Ok(false);
    }
    let lock_path = p.path.with_file_name(LOCK_FILE);
    let doc = read_lock(&lock_path, &p.shown.with_file_name(LOCK_FILE))?;
    let lock = doc.parsed.iter().find(|l| l.name == o.name);
    Ok(why_changed(env, p, o, lock, doc.stages.get(o.name.as_str()))?.is_some())
}

/// The `dvc.yaml` and stage names the targets mean (DVC's `dvc.yaml`, `dvc.yaml:stage`,
/// `stage`, `dir/dvc.yaml`): a bare stage name is looked up in the working folder's
/// `dvc.yaml`. With `root_fallback` (`dag`, which shows the whole repository), no target and no
/// `dvc.yaml` here means the root's. Targets in several `dvc.yaml` files are refused: one
/// pipeline file is reproduced at a time.
pub fn resolve_targets(
    repo: &Repo,
    cwd: &Path,
    targets: &[String],
    root_fallback: bool,
) -> Result<(PathBuf, Vec<Option<String>>)> {
    let here = cwd.join(PROJECT_FILE);
    let mut files: Vec<PathBuf> = Vec::new();
    let mut names = Vec::new();
    for t in targets {
        let (f, name) = match t.rsplit_once(':') {
            Some((f, n)) if f.ends_with(PROJECT_FILE) || f.ends_with("dvc.yml") => {
                (Some(f), Some(n.to_string()))
            }
            _ if t.ends_with(PROJECT_FILE) => (Some(t.as_str()), None),
            _ => (None, Some(t.clone())),
        };
        let file = match f {
            Some(f) => super::fsutil::normalize(&cwd.join(f)),
            None => here.clone(),
        };
        if !files.contains(&file) {
            files.push(file);
        }
        names.push(name);
    }
    if names.is_empty() {
        names.push(None);
    }
    if files.len() > 1 {
        let inside = Inside::new(&repo.root);
        return Err(ReproError::SeveralFiles(
            files.iter().map(|f| inside.shown(f)).collect(),
        ));
    }
    let file = match files.pop() {
        Some(f) => f,
        None if root_fallback && !here.is_file() => repo.root.join(PROJECT_FILE),
        None => here,
    };
    Ok((file, names))
}

/// The stages to consider, in DVC's order: for each target its dependencies first
/// (depth-first, post-order), frozen stages cutting the walk as DVC's active graph does.
pub fn plan(g: &Graph, targets: &[Option<String>], single_item: bool) -> Result<Vec<usize>> {
    let stages = &g.pipeline.stages;
    let mut roots = Vec::new();
    for t in targets {
        match t {
            None => roots.extend(0..stages.len()),
            Some(name) => {
                let found: Vec<usize> = stages
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| {
                        s.name == *name
                            || s.name.split('@').next() == Some(name.as_str())
                                && !name.contains('@')
                    })
                    .map(|(i, _)| i)
                    .collect();
                if found.is_empty() {
                    return Err(ReproError::NoSuchStage {
                        file: g.pipeline.shown.clone(),
                        name: name.clone(),
                    });
                }
                roots.extend(found);
            }
        }
    }
    if single_item {
        let mut seen = HashSet::new();
        return Ok(roots.into_iter().filter(|r| seen.insert(*r)).collect());
    }
    let active = |i: usize| -> &[usize] {
        if stages[i].frozen {
            &[]
        } else {
            &g.upstream[i]
        }
    };
    fn post(
        i: usize,
        active: &dyn Fn(usize) -> Vec<usize>,
        seen: &mut HashSet<usize>,
        out: &mut Vec<usize>,
    ) {
        if !seen.insert(i) {
            return;
        }
        for j in active(i) {
            post(j, active, seen, out);
        }
        out.push(i);
    }
    let act = |i: usize| active(i).to_vec();
    let mut sub = HashSet::new();
    for &r in &roots {
        let mut v = Vec::new();
        post(r, &act, &mut HashSet::new(), &mut v);
        sub.extend(v);
    }
    // networkx walks the subgraph's nodes in the graph's order.
    let restricted =
        |i: usize| -> Vec<usize> { act(i).into_iter().filter(|j| sub.contains(j)).collect() };
    let mut seen = HashSet::new();
    let mut order = Vec::new();
    for i in 0..stages.len() {
        if sub.contains(&i) {
            post(i, &restricted, &mut seen, &mut order);
        }
    }
    Ok(order)
}

/// The lock file as a document, stages in order.
struct LockDoc {
    path: PathBuf,
    text: Option<String>,
    stages: Mapping,
    parsed: Vec<LockStage>,
    /// Why the lock cannot be rewritten without losing something.
    extra: Option<YamlError>,
}

fn read_lock(path: &Path, shown: &Path) -> Result<LockDoc> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(super::Error::io("read", path)(e).into()),
    };
    let mut stages = Mapping::new();
    let mut parsed = Vec::new();
    let mut extra = None;
    if let Some(t) = &text {
        let doc: Value = serde_norway::from_str(t).map_err(|e| YamlError::Invalid {
            file: shown.to_path_buf(),
            line: e.location().map(|l| l.line()).unwrap_or(1),
            message: e.to_string(),
        })?;
        if !doc.is_null() {
            if doc.get("schema").is_none() {
                return Err(ReproError::OldLock(shown.to_path_buf()));
            }
            if let Some(other) = doc.as_mapping().and_then(|m| {
                m.keys()
                    .filter_map(Value::as_str)
                    .find(|k| *k != "schema" && *k != "stages")
            }) {
                // Rewriting the lock would drop it: refused when it comes to writing.
                extra = Some(YamlError::Unsupported {
                    file: shown.to_path_buf(),
                    line: t
                        .lines()
                        .position(|l| l.starts_with(&format!("{other}:")))
                        .map_or(1, |i| i + 1),
                    what: format!("the top-level key `{other}` in the lock file"),
                });
            }
            if let Some(Value::Mapping(m)) = doc.get("stages") {
                stages = m.clone();
            }
            parsed = lock_stages(t, shown)?;
        }
    }
    Ok(LockDoc {
        path: path.to_path_buf(),
        text,
        stages,
        parsed,
        extra,
    })
}

/// Renders the lock as DVC's YAML dumper does (ruamel, block style, sequences not indented).
fn render_lock(stages: &Mapping) -> String {
    let mut out = String::from("schema: '2.0'\nstages:\n");
    emit_map(&mut out, stages, 2);
    out
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => dvc_key(s),
        other => scalar_text(other, 0, 0).trim_start().to_string(),
    }
}

fn dvc_key(s: &str) -> String {
    super::yaml::scalar(s, 0, 0).trim_start().to_string()
}

fn scalar_text(v: &Value, column: usize, indent: usize) -> String {
    match v {
        Value::String(s) => super::yaml::scalar(s, column, indent),
        Value::Bool(b) => format!(" {b}"),
        Value::Null => String::new(),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            let s = dvcyaml::py_float(f);
            format!(
                " {}",
                match s.as_str() {
                    "nan" => ".nan".to_string(),
                    "inf" => ".inf".to_string(),
                    "-inf" => "-.inf".to_string(),
                    _ => s,
                }
            )
        }
        Value::Number(n) => format!(" {n}"),
        Value::Sequence(s) if s.is_empty() => " []".into(),
        Value::Mapping(m) if m.is_empty() => " {}".into(),
        Value::Tagged(t) => scalar_text(&t.value, column, indent),
        _ => String::new(),
    }
}

fn is_block(v: &Value) -> bool {
    matches!(v, Value::Sequence(s) if !s.is_empty())
        || matches!(v, Value::Mapping(m) if !m.is_empty())
}

fn emit_map(out: &mut String, m: &Mapping, indent: usize) {
    for (i, (k, v)) in m.iter().enumerate() {
        let _ = i;
        emit_entry(
            out,
            &format!("{}{}:", " ".repeat(indent), key_text(k)),
            v,
            indent,
        );
    }
}

/// One `key: value` whose key text (with indentation and colon) is `head`.
fn emit_entry(out: &mut String, head: &str, v: &Value, indent: usize) {
    out.push_str(head);
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(out, m, indent + 2);
        }
        Value::Sequence(s) if !s.is_empty() => {
            out.push('\n');
            emit_seq(out, s, indent);
        }
        other => {
            out.push_str(&scalar_text(other, head.chars().count(), indent + 2));
            out.push('\n');
        }
    }
}

fn emit_seq(out: &mut String, s: &[Value], indent: usize) {
    for item in s {
        let dash = format!("{}- ", " ".repeat(indent));
        match item {
            Value::Mapping(m) if !m.is_empty() => {
                for (i, (k, v)) in m.iter().enumerate() {
                    let lead = if i == 0 {
                        dash.clone()
                    } else {
                        " ".repeat(indent + 2)
                    };
                    emit_entry(out, &format!("{lead}{}:", key_text(k)), v, indent + 2);
                }
            }
            Value::Sequence(inner) if !inner.is_empty() => {
                out.push_str(&dash);
                let mut sub = String::new();
                emit_seq(&mut sub, inner, indent + 2);
                out.push_str(sub.trim_start());
            }
            other if !is_block(other) => {
                out.push_str(&format!("{}-", " ".repeat(indent)));
                out.push_str(&scalar_text(other, indent + 1, indent + 2));
                out.push('\n');
            }
            _ => {}
        }
    }
}

/// One dependency or output as the lock records it.
fn lock_entry(path: &str, h: &workspace::Hashed) -> Value {
    let mut m = Mapping::new();
    m.insert("path".into(), path.into());
    m.insert("hash".into(), "md5".into());
    m.insert("md5".into(), h.md5.clone().into());
    m.insert("size".into(), Value::Number(h.size.into()));
    if let Some(n) = h.nfiles {
        m.insert("nfiles".into(), Value::Number(n.into()));
    }
    if h.isexec {
        m.insert("isexec".into(), true.into());
    }
    Value::Mapping(m)
}

/// The current values of a stage's parameters, laid out as the lock records them: the default
/// file first, then the others by name; keys sorted.
fn param_values(g: &Pipeline, s: &StageDef) -> Result<Mapping> {
    let mut files: Vec<&dvcyaml::ParamsDef> = s.params.iter().collect();
    files.sort_by(|a, b| a.file.cmp(&b.file));
    let mut out = Mapping::new();
    let mut default = None;
    for p in files {
        let path = s.abs(&p.file);
        if !path.is_file() {
            return Err(ReproError::MissingParam {
                file: g.shown.clone(),
                line: s.line,
                stage: s.name.clone(),
                key: format!("the file `{}` does not exist", p.file),
            });
        }
        let values = dvcyaml::read_params(&path, &g.shown)?;
        let mut kv: Vec<(String, Value)> = match &p.keys {
            None => values
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v.clone()))
                .collect(),
            Some(keys) => keys
                .iter()
                .map(|k| {
                    let v =
                        dvcyaml::lookup(&values, k).ok_or_else(|| ReproError::MissingParam {
                            file: g.shown.clone(),
                            line: s.line,
                            stage: s.name.clone(),
                            key: format!("`{k}` is missing from `{}`", p.file),
                        })?;
                    Ok((k.clone(), v.clone()))
                })
                .collect::<Result<_>>()?,
        };
        kv.sort_by(|a, b| a.0.cmp(&b.0));
        kv.dedup_by(|a, b| a.0 == b.0);
        let m: Mapping = kv.into_iter().map(|(k, v)| (Value::String(k), v)).collect();
        if p.file == dvcyaml::DEFAULT_PARAMS {
            default = Some(m);
        } else {
            out.insert(p.file.clone().into(), Value::Mapping(m));
        }
    }
    if let Some(d) = default {
        let mut first = Mapping::new();
        first.insert(dvcyaml::DEFAULT_PARAMS.into(), Value::Mapping(d));
        first.extend(out);
        out = first;
    }
    Ok(out)
}

/// Loose equality of parameter values (an int equals the same float, as in Python).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Mapping(x), Value::Mapping(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        (Value::Sequence(x), Value::Sequence(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_value(v, w))
        }
        _ => a == b,
    }
}

struct Env<'a> {
    repo: &'a Repo,
    cache: Odb,
    state: State,
    listed: OnceLock<super::odb::Listing>,
    /// Paths hashed since the last stage ran: a stage's output folder is often the next
    /// stage's dependency, and is walked once.
    hashed: std::sync::Mutex<HashMap<PathBuf, Option<workspace::Hashed>>>,
    progress: &'a dyn Progress,
}

impl Env<'_> {
    /// The workspace hashes of `path` (`None`: missing), remembered until [`Env::forget`].
    fn hash(&self, path: &Path) -> Result<Option<workspace::Hashed>> {
        if let Some(h) = self.hashed.lock().ok().and_then(|m| m.get(path).cloned()) {
            return Ok(h);
        }
        let h = workspace::hash_output(path, &self.state, None, self.progress)?;
        if let Ok(mut m) = self.hashed.lock() {
            m.insert(path.to_path_buf(), h.clone());
        }
        Ok(h)
    }

    /// Forgets every remembered hash (a stage ran and may have changed anything).
    fn forget(&self) {
        if let Ok(mut m) = self.hashed.lock() {
            m.clear();
        }
    }

    /// DVC's status of one out or dep against what the lock records (`None`: unchanged):
    /// `new` or `deleted` without a record, `not in cache` for a cached output whose objects
    /// are missing, `deleted` or `modified` for the workspace.
    fn changed(&self, path: &Path, rec: Option<&Out>, cache: bool) -> Result<Option<String>> {
        let Some(md5) = rec.and_then(|r| r.md5.as_deref()) else {
            return Ok(Some(if path.exists() { "new" } else { "deleted" }.into()));
        };
        let kind = rec.map(|r| r.hash).unwrap_or(HashKind::Md5);
        if kind != HashKind::Md5 {
            // A DVC 2 record: let the status machinery hash it the old way.
            let mut out = rec.cloned().expect("a record");
            out.cache = cache;
            let t = Tracked {
                dvc_path: path.to_path_buf(),
                out,
                path: path.to_path_buf(),
                only: None,
                stage: None,
            };
            return Ok(
                out_state(&t, &self.cache, &self.listed, &self.state, self.progress)?
                    .map(|s| s.label().to_string()),
            );
        }
        let top = Oid::new(md5, kind);
        if cache && !self.cache.contains(&top) {
            return Ok(Some("not in cache".into()));
        }
        let Some(h) = self.hash(path)? else {
            return Ok(Some("deleted".into()));
        };
        if h.md5 != md5 {
            return Ok(Some("modified".into()));
        }
        if cache && top.is_dir() {
            let known = self.listed.get_or_init(|| self.cache.listing());
            if h.files
                .iter()
                .any(|f| !known.has(&Oid::new(f.md5.clone(), kind)))
            {
                return Ok(Some("not in cache".into()));
            }
        }
        Ok(None)
    }
}

/// Why a stage must run (`None`: it did not change), as DVC decides it.
fn why_changed(
    env: &Env,
    g: &Pipeline,
    s: &StageDef,
    lock: Option<&LockStage>,
    lock_raw: Option<&Value>,
) -> Result<Option<String>> {
    let Some(lock) = lock else {
        return Ok(Some("it was never run".into()));
    };
    if lock.cmd.as_ref() != Some(&s.cmd) {
        return Ok(Some("its command changed".into()));
    }
    if !s.frozen {
        if s.always_changed {
            return Ok(Some("it is always changed".into()));
        }
        if s.deps.is_empty() && s.params.is_empty() && s.outs.is_empty() {
            // DVC's callback stage: a command alone runs on every repro.
            return Ok(Some("it has no dependencies or outputs".into()));
        }
        if let Some(why) = deps_changed(env, g, s, lock, lock_raw)? {
            return Ok(Some(why));
        }
    }
    for o in &s.outs {
        let rec = lock.outs.iter().find(|r| r.path == o.path);
        if let Some(why) = env.changed(&s.abs(&o.path), rec, o.cache)? {
            return Ok(Some(format!("its output `{}` is {why}", o.path)));
        }
    }
    Ok(None)
}

/// Whether a stage's dependencies or parameters differ from what its lock entry records
/// (`None`: they do not).
fn deps_changed(
    env: &Env,
    g: &Pipeline,
    s: &StageDef,
    lock: &LockStage,
    lock_raw: Option<&Value>,
) -> Result<Option<String>> {
    for d in &s.deps {
        let rec = lock.deps.iter().find(|o| o.path == *d);
        if let Some(why) = env.changed(&s.abs(d), rec, false)? {
            return Ok(Some(format!("its dependency `{d}` is {why}")));
        }
    }
    let recorded = lock_raw
        .and_then(|l| l.get("params"))
        .and_then(Value::as_mapping);
    if !s.params.is_empty() {
        let now = match param_values(g, s) {
            Ok(v) => v,
            Err(ReproError::MissingParam { .. }) => {
                return Ok(Some("a parameter is missing".into()));
            }
            Err(e) => return Err(e),
        };
        // As DVC: each declared key against its recorded value (a whole file: every key
        // of either side); keys the stage no longer reads do not count.
        for p in &s.params {
            let now_file = now.get(p.file.as_str()).and_then(Value::as_mapping);
            let rec_file = recorded
                .and_then(|r| r.get(p.file.as_str()))
                .and_then(Value::as_mapping);
            let same = match (now_file, rec_file, &p.keys) {
                (Some(n), Some(r), Some(keys)) => {
                    keys.iter()
                        .all(|k| match (n.get(k.as_str()), r.get(k.as_str())) {
                            (Some(a), Some(b)) => same_value(a, b),
                            _ => false,
                        })
                }
                (Some(n), Some(r), None) => {
                    same_value(&Value::Mapping(n.clone()), &Value::Mapping(r.clone()))
                }
                _ => false,
            };
            if !same {
                return Ok(Some(format!("its parameters in `{}` changed", p.file)));
            }
        }
    }
    Ok(None)
}

/// Whether a changed stage's outputs can come back from the cache instead of running its
/// command, as DVC's `StageCache.restore` decides from the lock: the command, dependencies
/// and parameters as recorded, every output recorded and, if cached, its objects in the
/// cache (an uncached one unchanged). Returns the outputs' records.
fn restorable(
    env: &Env,
    g: &Pipeline,
    s: &StageDef,
    lock: Option<&LockStage>,
    lock_raw: Option<&Value>,
) -> Result<Option<Vec<Out>>> {
    let Some(lock) = lock else { return Ok(None) };
    // DVC's `_can_hash`: no frozen, always changed or persisted stage, and some inputs.
    let unhashable = s.frozen
        || s.always_changed
        || s.outs.is_empty()
        || s.outs.iter().any(|o| o.persist)
        || s.deps.is_empty() && s.params.is_empty();
    if unhashable
        || lock.cmd.as_ref() != Some(&s.cmd)
        || deps_changed(env, g, s, lock, lock_raw)?.is_some()
    {
        return Ok(None);
    }
    let mut recs = Vec::new();
    for o in &s.outs {
        let Some(rec) = lock.outs.iter().find(|r| r.path == o.path) else {
            return Ok(None);
        };
        let Some(md5) = rec.md5.as_deref() else {
            return Ok(None);
        };
        if rec.hash != HashKind::Md5 {
            return Ok(None);
        }
        if o.cache {
            let top = Oid::new(md5, rec.hash);
            if !env.cache.contains(&top) {
                return Ok(None);
            }
            if top.is_dir() {
                let known = env.listed.get_or_init(|| env.cache.listing());
                let entries = env.cache.read_manifest(&top)?;
                if entries
                    .iter()
                    .any(|e| !known.has(&Oid::new(e.md5.clone(), rec.hash)))
                {
                    return Ok(None);
                }
            }
        } else if env.changed(&s.abs(&o.path), Some(rec), false)?.is_some() {
            return Ok(None);
        }
        let mut rec = rec.clone();
        rec.cache = o.cache;
        recs.push(rec);
    }
    Ok(Some(recs))
}

/// Puts a stage's cached outputs back from the cache (their workspace copies were removed).
fn restore_outs(
    env: &Env,
    s: &StageDef,
    recs: &[Out],
    links: &[super::odb::LinkType],
) -> Result<()> {
    let inside = Inside::new(&env.repo.root);
    for rec in recs.iter().filter(|r| r.cache) {
        let abs = s.abs(&rec.path);
        let top = Oid::new(rec.md5.clone().unwrap_or_default(), rec.hash);
        if !top.is_dir() {
            env.cache.checkout_file(&top, &abs, links, rec.isexec)?;
            continue;
        }
        std::fs::create_dir_all(&abs).map_err(super::Error::io("create folder", &abs))?;
        for e in env.cache.read_manifest(&top)? {
            let dest = inside.resolve(&abs, Path::new(&e.relpath)).map_err(|why| {
                super::Error::UnsafePath {
                    file: env.cache.path(&top),
                    path: e.relpath.clone(),
                    why,
                }
            })?;
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(super::Error::io("create folder", parent))?;
            }
            env.cache
                .checkout_file(&Oid::new(e.md5, rec.hash), &dest, links, false)?;
        }
    }
    Ok(())
}

/// Runs `repro` in the repository `repo` from `cwd`.
pub fn repro(
    repo: &Repo,
    cwd: &Path,
    opts: &ReproOptions,
    runner: &dyn Runner,
    progress: &dyn Progress,
) -> Result<ReproReport> {
    let _lock = if opts.dry {
        None
    } else {
        Some(RepoLock::acquire(&repo.dvc_dir, LOCK_WAIT)?)
    };
    let (file, names) = resolve_targets(repo, cwd, &opts.targets, false)?;
    let g = load(repo, &file)?;
    let order = plan(&g, &names, opts.single_item)?;
    let config = repo.config()?;
    let env = Env {
        repo,
        cache: repo.cache(&config),
        state: repo.state(),
        listed: OnceLock::new(),
        hashed: Default::default(),
        progress,
    };
    if !opts.single_item && !opts.force {
        upstream_elsewhere(&env, &g, &order)?;
    }
    let links = repo.link_types(&config)?;
    let inside = Inside::new(&repo.root);
    let lock_path = g.pipeline.path.with_file_name(LOCK_FILE);
    let lock_shown = inside.shown(&lock_path);
    let mut doc = read_lock(&lock_path, &lock_shown)?;
    let producers: HashMap<PathBuf, usize> = g
        .pipeline
        .stages
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.outs.iter().map(move |o| (s.abs(&o.path), i)))
        .collect();
    let mut report = ReproReport::default();
    let result = (|| -> Result<()> {
        for &i in &order {
            crate::interrupt::check().map_err(|e| ReproError::CmdFailed {
                stage: g.pipeline.stages[i].name.clone(),
                cmd: String::new(),
                why: e.to_string(),
            })?;
            let s = &g.pipeline.stages[i];
            let lock = doc.parsed.iter().find(|l| l.name == s.name);
            let raw = doc.stages.get(s.name.as_str());
            let why = if opts.force {
                Some("forced".to_string())
            } else {
                why_changed(&env, &g.pipeline, s, lock, raw)?
            };
            if why.is_none() {
                runner.skipped(&s.name);
                report.unchanged.push(s.name.clone());
                continue;
            }
            tracing::debug!("stage `{}` runs: {}", s.name, why.unwrap_or_default());
            let restore = if opts.force || opts.dry {
                None
            } else {
                restorable(&env, &g.pipeline, s, lock, raw)?
            };
            if restore.is_some() {
                report.restored.push(s.name.clone());
            } else {
                report.ran.push(s.name.clone());
            }
            for d in &s.deps {
                let p = s.abs(d);
                let made = producers
                    .iter()
                    .any(|(o, _)| p.starts_with(o) || o.starts_with(&p));
                if !(p.exists() || opts.dry && made) {
                    return Err(ReproError::MissingDep {
                        file: g.pipeline.shown.clone(),
                        line: s.line,
                        stage: s.name.clone(),
                        dep: d.clone(),
                    });
                }
            }
            if opts.dry {
                runner.running(&s.name);
                continue;
            }
            if let Some(e) = doc.extra.take() {
                // Refused before anything runs: the lock could not record it.
                return Err(e.into());
            }
            // A missing parameter stops the stage before its command, as DVC's
            // MissingParamsError does.
            param_values(&g.pipeline, s)?;
            if s.frozen {
                runner.frozen(&s.name);
            } else if let Some(recs) = &restore {
                // As DVC's StageCache.restore: the outputs come back, the command does not run.
                runner.restored(&s.name);
                for o in &s.outs {
                    remove_out(&s.abs(&o.path))?;
                }
                restore_outs(&env, s, recs, &links)?;
            } else {
                runner.running(&s.name);
                for o in &s.outs {
                    let path = s.abs(&o.path);
                    if !o.persist {
                        remove_out(&path)?;
                    } else if o.cache && path.exists() {
                        // The command writes into it: a link into the cache becomes a copy.
                        super::unprotect::unprotect(&path)?;
                    }
                }
                let mut env_vars = vec![(
                    "DVC_STAGE".to_string(),
                    addressing(&g.pipeline, cwd, &s.name),
                )];
                // As DVC: a `DVC_ROOT` already set is kept.
                if std::env::var_os("DVC_ROOT").is_none() {
                    env_vars.push((
                        "DVC_ROOT".to_string(),
                        repo.root.to_string_lossy().into_owned(),
                    ));
                }
                for c in &s.commands {
                    runner.command(c, &s.wdir, &env_vars).map_err(|why| {
                        runner.failed(&s.name);
                        ReproError::CmdFailed {
                            stage: s.name.clone(),
                            cmd: c.clone(),
                            why,
                        }
                    })?;
                }
            }
            env.forget();
            let entry = match record(&env, &g.pipeline, s, &links) {
                Ok(e) => e,
                Err(e) => {
                    runner.failed(&s.name);
                    return Err(e);
                }
            };
            if !s.outs.iter().all(|o| !o.cache) {
                for o in s.outs.iter().filter(|o| o.cache) {
                    let abs = s.abs(&o.path);
                    if let (Some(dir), Some(name)) = (abs.parent(), abs.file_name())
                        && gitignore::ignore(dir, &name.to_string_lossy())?
                    {
                        let gi = inside
                            .shown(&dir.join(".gitignore"))
                            .to_string_lossy()
                            .into_owned();
                        if !report.git_add.contains(&gi) {
                            report.git_add.push(gi);
                        }
                    }
                }
            }
            let done = StageDone {
                commands: s.commands.clone(),
                entry: entry.clone(),
                metrics: s
                    .outs
                    .iter()
                    .filter(|o| o.kind == OutKind::Metric)
                    .map(|o| s.abs(&o.path))
                    .collect(),
                cached: s
                    .outs
                    .iter()
                    .filter(|o| o.cache)
                    .map(|o| s.abs(&o.path))
                    .collect(),
                wdir: s.wdir.clone(),
            };
            doc.stages.insert(s.name.clone().into(), entry);
            let text = render_lock(&doc.stages);
            if doc.text.as_deref() != Some(text.as_str()) {
                write_atomic(&doc.path, text.as_bytes())?;
                doc.text = Some(text.clone());
                doc.parsed = lock_stages(&text, &lock_shown)?;
                report.lock_changed = true;
                let l = lock_shown.to_string_lossy().into_owned();
                if !report.git_add.contains(&l) {
                    report.git_add.push(l);
                }
            }
            if restore.is_none() {
                runner.finished(&s.name, &done);
            }
        }
        Ok(())
    })();
    env.state.save();
    result.map(|()| report)
}

/// How DVC addresses a stage from `cwd` (`name`, or `path/dvc.yaml:name`).
fn addressing(p: &Pipeline, cwd: &Path, name: &str) -> String {
    if p.path.parent() == Some(cwd) {
        name.to_string()
    } else {
        format!(
            "{}:{name}",
            super::fsutil::relative_to(&p.path, cwd).display()
        )
    }
}

/// Removes a stage's output before its command runs, as DVC does (a persisted one stays).
fn remove_out(path: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    let r = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    r.map_err(|e| super::Error::io("remove", path)(e).into())
}

/// Hashes a stage's dependencies and outputs (caching the outputs), and its lock entry.
fn record(env: &Env, g: &Pipeline, s: &StageDef, links: &[super::odb::LinkType]) -> Result<Value> {
    let mut entry = Mapping::new();
    entry.insert("cmd".into(), s.cmd.clone());
    let mut deps: Vec<&String> = s.deps.iter().collect();
    deps.sort();
    deps.dedup();
    let mut dep_entries = Vec::new();
    for d in deps {
        let p = s.abs(d);
        let h = env.hash(&p)?.ok_or_else(|| ReproError::MissingDep {
            file: g.shown.clone(),
            line: s.line,
            stage: s.name.clone(),
            dep: d.clone(),
        })?;
        dep_entries.push(lock_entry(d, &h));
    }
    if !dep_entries.is_empty() {
        entry.insert("deps".into(), Value::Sequence(dep_entries));
    }
    let params = param_values(g, s)?;
    if !params.is_empty() {
        entry.insert("params".into(), Value::Mapping(params));
    }
    let mut outs: Vec<&dvcyaml::OutDef> = s.outs.iter().collect();
    outs.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out_entries = Vec::new();
    for o in outs {
        let p = s.abs(&o.path);
        let store = o.cache.then_some(&env.cache);
        let h = workspace::hash_output(&p, &env.state, store, env.progress)?.ok_or_else(|| {
            ReproError::MissingOut {
                file: g.shown.clone(),
                line: s.line,
                stage: s.name.clone(),
                out: o.path.clone(),
            }
        })?;
        if o.cache {
            if let Some(bytes) = &h.manifest {
                env.cache.add_bytes(bytes, &h.oid())?;
            }
            relink(&env.cache, &h, &p, links)?;
        }
        if let Ok(mut m) = env.hashed.lock() {
            m.insert(p.clone(), Some(h.clone()));
        }
        let _ = (OutKind::Out, HashKind::Md5, env.repo);
        out_entries.push(lock_entry(&o.path, &h));
    }
    if !out_entries.is_empty() {
        entry.insert("outs".into(), Value::Sequence(out_entries));
    }
    Ok(Value::Mapping(entry))
}

/// The stages in `keep` and their edges as `dvc dag --dot` prints them: nodes in pipeline
/// order, each edge from a dependency to the stage that uses it.
pub fn dot(g: &Graph, keep: &[usize]) -> String {
    let name = |i: usize| format!("\"{}\"", g.pipeline.stages[i].name);
    let mut out = String::from("strict digraph {\n");
    for &i in keep {
        out.push_str(&format!("{};\n", name(i)));
    }
    for &d in keep {
        for &s in keep {
            if g.upstream[s].contains(&d) {
                out.push_str(&format!("{} -> {};\n", name(d), name(s)));
            }
        }
    }
    out.push_str("}\n");
    out
}

/// The stages in `keep` as `dvc dag --mermaid` prints them: one block per connected pipeline,
/// nodes and edges sorted by name.
pub fn mermaid(g: &Graph, keep: &[usize]) -> String {
    let names = |i: usize| g.pipeline.stages[i].name.clone();
    let mut component: HashMap<usize, usize> = HashMap::new();
    let mut comps: Vec<Vec<usize>> = Vec::new();
    for &start in keep {
        if component.contains_key(&start) {
            continue;
        }
        let c = comps.len();
        let mut todo = vec![start];
        let mut members = Vec::new();
        while let Some(i) = todo.pop() {
            if component.insert(i, c).is_some() {
                continue;
            }
            members.push(i);
            for &j in keep {
                if g.upstream[i].contains(&j) || g.upstream[j].contains(&i) {
                    todo.push(j);
                }
            }
        }
        comps.push(members);
    }
    let mut out = String::from("flowchart TD");
    let mut total = 0;
    for members in comps {
        let mut nodes: Vec<(String, usize)> = members.iter().map(|&i| (names(i), i)).collect();
        nodes.sort();
        let mut ids = HashMap::new();
        for (n, i) in &nodes {
            total += 1;
            out.push_str(&format!("\n\tnode{total}[\"{n}\"]"));
            ids.insert(*i, total);
        }
        let mut edges: Vec<(String, String, usize, usize)> = Vec::new();
        for &s in &members {
            for &d in &g.upstream[s] {
                if ids.contains_key(&d) {
                    edges.push((names(d), names(s), d, s));
                }
            }
        }
        edges.sort();
        for (_, _, d, s) in edges {
            out.push_str(&format!("\n\tnode{}-->node{}", ids[&d], ids[&s]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_renders_as_dvc_writes_it() {
        let text = "schema: '2.0'\nstages:\n  train:\n    cmd:\n    - cat out/f1.txt > model.txt\n    \
                    - \"echo '{\\\"acc\\\": 0.5}' > m.json\"\n    deps:\n    - path: out\n      hash: md5\n      \
                    md5: 1bb79981009d29b60d89c6f37ea264cb.dir\n      size: 6\n      nfiles: 3\n    params:\n      \
                    params.yaml:\n        lr: 0.1\n        train.layers:\n        - 1\n        - 2\n      other.json:\n        \
                    a:\n          x: 1\n    outs:\n    - path: m.json\n      hash: md5\n      \
                    md5: d06b41c4772521161a864e11677fd710\n      size: 34\n  ev@a:\n    cmd: echo a > ev_a.txt\n";
        let doc: Value = serde_norway::from_str(text).unwrap();
        let stages = doc.get("stages").unwrap().as_mapping().unwrap();
        assert_eq!(render_lock(stages), text);
    }

    #[test]
    fn plan_orders_dependencies_first_and_refuses_cycles() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = "stages:\n  c:\n    cmd: x\n    deps: [b.txt]\n    outs: [c.txt]\n  a:\n    cmd: x\n    outs: [a.txt]\n  \
                    b:\n    cmd: x\n    deps: [a.txt]\n    outs: [b.txt]\n";
        let p = dvcyaml::parse(yaml, &dir.path().join("dvc.yaml"), Path::new("dvc.yaml")).unwrap();
        let g = graph(p).unwrap();
        let order: Vec<&str> = plan(&g, &[None], false)
            .unwrap()
            .into_iter()
            .map(|i| g.pipeline.stages[i].name.as_str())
            .collect();
        assert_eq!(order, ["a", "b", "c"]);
        let only: Vec<usize> = plan(&g, &[Some("c".into())], true).unwrap();
        assert_eq!(only, [0]);
        let cyc = "stages:\n  a:\n    cmd: x\n    deps: [b.txt]\n    outs: [a.txt]\n  b:\n    cmd: x\n    deps: [a.txt]\n    outs: [b.txt]\n";
        let p = dvcyaml::parse(cyc, &dir.path().join("dvc.yaml"), Path::new("dvc.yaml")).unwrap();
        let err = graph(p).err().unwrap().to_string();
        assert!(
            err.contains("cycle") && err.contains("a -> b -> a"),
            "{err}"
        );
        let nested =
            "stages:\n  a:\n    cmd: x\n    outs: [d]\n  b:\n    cmd: x\n    outs: [d/x.txt]\n";
        let p =
            dvcyaml::parse(nested, &dir.path().join("dvc.yaml"), Path::new("dvc.yaml")).unwrap();
        let err = graph(p).err().unwrap().to_string();
        assert!(
            err.contains("`d/x.txt` of stage `b` is inside the output `d`"),
            "{err}"
        );
    }
}
