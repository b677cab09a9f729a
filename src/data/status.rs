//! `status`: how each output in the workspace compares with its `.dvc` file and the cache
//! (DVC's `modified`, `deleted`, `not in cache`), and `status -c`: how the cache compares with
//! a remote (`new`, `deleted`, `missing`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;

use super::Result;
use super::hash::HashKind;
use super::index::{self, Tracked};
use super::odb::{Listing, Odb, Oid};
use super::remote_index::RemoteIndex;
use super::repo::Repo;
use super::state::State;
use super::workspace::{self, Hashed};
use crate::progress::Progress;

/// The state of one output, in DVC's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OutState {
    #[serde(rename = "modified")]
    Modified,
    #[serde(rename = "deleted")]
    Deleted,
    #[serde(rename = "not in cache")]
    NotInCache,
}

impl OutState {
    pub fn label(self) -> &'static str {
        match self {
            OutState::Modified => "modified",
            OutState::Deleted => "deleted",
            OutState::NotInCache => "not in cache",
        }
    }
}

/// The objects an output needs in the cache: the file, or the `.dir` and its files (when the
/// manifest is at hand).
pub fn objects_of(out_md5: &str, kind: HashKind, cache: &Odb) -> Result<(Vec<Oid>, bool)> {
    let oid = Oid::new(out_md5, kind);
    if !oid.is_dir() {
        return Ok((vec![oid], true));
    }
    if !cache.contains(&oid) {
        return Ok((vec![oid], false));
    }
    let entries = cache.read_manifest(&oid)?;
    let mut all: Vec<Oid> = entries.into_iter().map(|e| Oid::new(e.md5, kind)).collect();
    all.push(oid);
    Ok((all, true))
}

/// Hashes the workspace copy of an output with the output's own hash kind.
pub fn hash_workspace(
    t: &Tracked,
    state: &State,
    progress: &dyn Progress,
) -> Result<Option<Hashed>> {
    match t.out.hash {
        HashKind::Md5 => workspace::hash_output(&t.path, state, None, progress),
        HashKind::Md5Dos2Unix => workspace::hash_output_legacy(&t.path),
    }
}

/// Compares one output; `None` means up to date. Like DVC, an output whose objects are not in
/// the cache is `not in cache` whatever the workspace holds. `listed` holds the cache's listing
/// once a folder output needed it, so that the outputs of one read-only pass share one listing.
pub fn out_state(
    t: &Tracked,
    cache: &Odb,
    listed: &OnceLock<Listing>,
    state: &State,
    progress: &dyn Progress,
) -> Result<Option<OutState>> {
    let Some(md5) = t.out.md5.as_deref() else {
        return Ok(Some(if t.path.exists() {
            OutState::Modified
        } else {
            OutState::Deleted
        }));
    };
    if t.out.cache {
        let top = Oid::new(md5, t.out.hash);
        if !cache.contains(&top) {
            return Ok(Some(OutState::NotInCache));
        }
    }
    // The cache is listed (if no output listed it yet) while the workspace is hashed.
    let folder = t.out.cache && md5.ends_with(".dir");
    let (hashed, ()) = rayon::join(
        || hash_workspace(t, state, progress),
        || {
            if folder {
                listed.get_or_init(|| cache.listing());
            }
        },
    );
    let hashed = hashed?;
    if folder {
        // A folder with files missing from the cache is `not in cache` whatever the workspace
        // holds, as DVC says. When the workspace matches, the files' ids are the manifest's:
        // no need to read the cached manifest back.
        let matching = hashed
            .as_ref()
            .filter(|h| h.md5 == md5 && h.manifest.is_some());
        let (objects, complete) = match matching {
            Some(h) => {
                let mut all: Vec<Oid> = h
                    .files
                    .iter()
                    .map(|f| Oid::new(f.md5.clone(), t.out.hash))
                    .collect();
                all.push(Oid::new(md5, t.out.hash));
                (all, true)
            }
            None => objects_of(md5, t.out.hash, cache)?,
        };
        let known = listed.get_or_init(|| cache.listing());
        if !complete || objects.iter().any(|o| !known.has(o)) {
            return Ok(Some(OutState::NotInCache));
        }
    }
    let Some(h) = hashed else {
        return Ok(Some(OutState::Deleted));
    };
    if h.md5 != md5 {
        return Ok(Some(OutState::Modified));
    }
    if !t.out.cache || folder {
        return Ok(None);
    }
    let (objects, complete) = objects_of(md5, t.out.hash, cache)?;
    let known = cache.unlisted();
    if !complete || objects.iter().any(|o| !known.has(o)) {
        return Ok(Some(OutState::NotInCache));
    }
    Ok(None)
}

/// One changed output of `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The `.dvc` file, or the stage as DVC addresses it (`name`, `sub/dvc.yaml:name`).
    pub dvc_file: String,
    pub path: String,
    pub state: OutState,
}

/// What `status` says of a stage besides its outputs, in DVC's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageNote {
    /// The stage as DVC addresses it.
    pub stage: String,
    /// `always changed` or `changed command`.
    pub note: &'static str,
}

/// The workspace status: changed outputs, and what else changed in the stages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub changes: Vec<Change>,
    /// Changed dependencies of stages (`dvc_file` is the stage), `modified` or `deleted`.
    pub deps: Vec<Change>,
    pub notes: Vec<StageNote>,
}

/// The entries `status` shows for one `.dvc` file or stage.
pub struct Group<'a> {
    pub name: &'a str,
    pub deps: Vec<&'a Change>,
    pub outs: Vec<&'a Change>,
    pub notes: Vec<&'static str>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.deps.is_empty() && self.notes.is_empty()
    }

    /// The `.dvc` files and stages with something to report, in order, each with its changed
    /// dependencies, outputs and notes.
    pub fn grouped(&self) -> Vec<Group<'_>> {
        let mut order: Vec<&str> = Vec::new();
        for name in self
            .deps
            .iter()
            .chain(&self.changes)
            .map(|c| c.dvc_file.as_str())
            .chain(self.notes.iter().map(|n| n.stage.as_str()))
        {
            if !order.contains(&name) {
                order.push(name);
            }
        }
        order
            .into_iter()
            .map(|name| Group {
                name,
                deps: self.deps.iter().filter(|c| c.dvc_file == name).collect(),
                outs: self.changes.iter().filter(|c| c.dvc_file == name).collect(),
                notes: self
                    .notes
                    .iter()
                    .filter(|n| n.stage == name)
                    .map(|n| n.note)
                    .collect(),
            })
            .collect()
    }
}

/// Workspace status of the targets (all outputs of `.dvc` files and pipeline stages when none).
/// A target inside a tracked folder reports that folder's output, as DVC does; paths are shown
/// from `cwd`, as DVC shows them. Of a stage, besides its outputs, it reports its changed file
/// dependencies (unless frozen), `always changed` and `changed command` as DVC does; changed
/// `params` are not reported.
pub fn status(
    repo: &Repo,
    targets: &[PathBuf],
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<Report> {
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let state = repo.state();
    let listed = OnceLock::new();
    let mut report = Report::default();
    let (mut outs, stages) = index::collect_with_stages(repo, targets, cwd)?;
    for t in &mut outs {
        t.only = None;
    }
    index::dedup(&mut outs);
    for t in outs {
        if let Some(s) = out_state(&t, &cache, &listed, &state, progress)? {
            report.changes.push(Change {
                dvc_file: t.addressing(cwd),
                path: index::shown_from(&t.path, cwd),
                state: s,
            });
        }
    }
    for stage in stages {
        let name = index::addressing(&stage.dvc_yaml, Some(&stage.name), cwd);
        for dep in stage.deps.iter().filter(|_| !stage.frozen) {
            let t = Tracked {
                dvc_path: stage.dvc_yaml.clone(),
                path: stage.out_path(dep),
                out: dep.clone(),
                only: None,
                stage: Some(stage.name.clone()),
            };
            let verdict = match hash_workspace(&t, &state, progress)? {
                None => Some(OutState::Deleted),
                Some(h) if dep.md5.as_deref() != Some(h.md5.as_str()) => Some(OutState::Modified),
                Some(_) => None,
            };
            if let Some(state) = verdict {
                report.deps.push(Change {
                    dvc_file: name.clone(),
                    path: index::shown_from(&t.path, cwd),
                    state,
                });
            }
        }
        if stage.always_changed {
            report.notes.push(StageNote {
                stage: name.clone(),
                note: "always changed",
            });
        }
        if stage.cmd_changed {
            report.notes.push(StageNote {
                stage: name,
                note: "changed command",
            });
        }
    }
    state.save();
    Ok(report)
}

/// One entry of a stage's list in DVC's `status --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DvcStatusEntry {
    /// `{"changed deps": {path: state}}` or `{"changed outs": {path: state}}`.
    Outs(BTreeMap<String, BTreeMap<String, OutState>>),
    /// `"always changed"`, `"changed command"`.
    Note(&'static str),
}

/// DVC's `status --json` shape: `{dvc_file or stage: [{"changed outs": {path: state}}, note…]}`.
pub type DvcStatusJson = BTreeMap<String, Vec<DvcStatusEntry>>;

/// Groups a report into [`DvcStatusJson`].
pub fn to_dvc_json(report: &Report) -> DvcStatusJson {
    let mut out = DvcStatusJson::new();
    for group in report.grouped() {
        let mut entries = Vec::new();
        for (key, changes) in [("changed deps", &group.deps), ("changed outs", &group.outs)] {
            if changes.is_empty() {
                continue;
            }
            let states = changes.iter().map(|c| (c.path.clone(), c.state)).collect();
            entries.push(DvcStatusEntry::Outs(BTreeMap::from([(
                key.to_string(),
                states,
            )])));
        }
        entries.extend(group.notes.into_iter().map(DvcStatusEntry::Note));
        out.insert(group.name.to_string(), entries);
    }
    out
}

/// `status -c`: for every object of the outputs (as [`index::collect`] and
/// [`index::at_revisions`] find them) that the cache and the remote do not both hold, `new`
/// (cache only), `deleted` (remote only) or `missing` (neither), keyed by the output path (and
/// `path/file` for folder members), as DVC reports it. A folder's manifest that only the remote
/// holds is read from there and kept in the cache, as DVC keeps it. Also returns the remote's
/// name.
pub fn cloud_status(
    repo: &Repo,
    outs: &[Tracked],
    remote_name: Option<&str>,
) -> Result<(String, BTreeMap<String, &'static str>)> {
    use std::collections::HashSet;
    let config = repo.config()?;
    let cache = repo.cache(&config);
    let remote = super::remote::open(&config, remote_name)?;
    // Every object of every output, then one question to each side for all of them.
    let mut oids: Vec<(String, Oid)> = Vec::new();
    // Each folder with every file its manifest lists, and whether all of them are asked about.
    let mut folders: Vec<(Oid, Vec<Oid>, bool)> = Vec::new();
    for t in outs {
        let Some(md5) = t.out.md5.as_deref() else {
            continue;
        };
        // DVC leaves out outputs that name their own `remote:`, whatever `-r` says.
        if !t.out.cache || t.out.remote.is_some() {
            continue;
        }
        let oid = Oid::new(md5, t.out.hash);
        let name = t.display(repo);
        oids.push((name.clone(), oid.clone()));
        if oid.is_dir() {
            let entries = if cache.contains(&oid) {
                cache.read_manifest(&oid)?
            } else {
                match remote.read_verified(&oid) {
                    Ok(bytes) => {
                        let entries = super::manifest::parse(&bytes).map_err(|e| {
                            super::Error::BadManifest {
                                oid: oid.rel_path(),
                                location: remote.describe(),
                                message: e.to_string(),
                            }
                        })?;
                        // As DVC, the verified manifest is kept in the cache: the folder's
                        // files can be told apart from then on, and it is no longer `deleted`.
                        cache.add_bytes(&bytes, &oid)?;
                        entries
                    }
                    Err(super::Error::MissingFromRemote { .. }) => Vec::new(),
                    Err(e) => return Err(e),
                }
            };
            let members: Vec<Oid> = entries
                .iter()
                .map(|e| Oid::new(e.md5.clone(), t.out.hash))
                .collect();
            let all = entries.iter().all(|e| t.covers(&e.relpath));
            oids.extend(
                entries
                    .into_iter()
                    .filter(|e| t.covers(&e.relpath))
                    .map(|e| (format!("{name}/{}", e.relpath), Oid::new(e.md5, t.out.hash))),
            );
            folders.push((oid, members, all));
        }
    }
    let ids: Vec<Oid> = oids.iter().map(|(_, o)| o.clone()).collect();
    let not_local: HashSet<&Oid> = cache.missing(&ids).into_iter().collect();
    // A folder the remote index knows whole costs one check of its `.dir`, as in DVC; the
    // remote is asked about the rest.
    let mut index = RemoteIndex::open(&repo.dvc_dir, remote.as_ref());
    let held = index.confirm(
        remote.as_ref(),
        folders.iter().map(|(d, _, _)| d),
        remote.default_jobs(),
    )?;
    let whole: HashSet<&Oid> = folders
        .iter()
        .filter(|(d, _, _)| held.contains(d))
        .flat_map(|(d, members, _)| members.iter().chain([d]))
        .collect();
    let asked: Vec<Oid> = ids
        .iter()
        .filter(|o| !whole.contains(o))
        .cloned()
        .collect::<BTreeSet<Oid>>()
        .into_iter()
        .collect();
    let far_missing = remote.missing(&asked)?;
    let not_far: HashSet<&Oid> = far_missing.iter().collect();
    // A folder found on the remote with every file it lists is indexed.
    for (dir, members, all) in &folders {
        if *all && !not_far.contains(dir) && members.iter().all(|m| !not_far.contains(m)) {
            index.insert(dir.clone());
        }
    }
    index.save();
    let mut out = BTreeMap::new();
    for (label, o) in &oids {
        let state = match (!not_local.contains(o), !not_far.contains(o)) {
            (true, true) => continue,
            (true, false) => "new",
            (false, true) => "deleted",
            (false, false) => "missing",
        };
        out.insert(label.clone(), state);
    }
    Ok((remote.name().to_string(), out))
}
