//! The outputs of pipeline stages, read as DVC reads them: the stages a `dvc.yaml` declares
//! (their `outs`, `metrics` and `plots` with the `cache`, `push` and `remote` flags), each
//! output's recorded hash from the `dvc.lock` beside it (the DVC 2/3 layout, `schema: '2.0'`
//! with stages under `stages`, and the DVC 1 one with stages at the top), and whether a stage's
//! command changed since it was locked. Read-only: running stages and writing `dvc.lock` are
//! not this module's business. Every path a stage names is checked to stay inside the
//! repository.

use std::path::{Path, PathBuf};

use serde_norway::Value;

use super::dvcfile::Out;
use super::fsutil::normalize;
use super::hash::HashKind;
use super::paths::Inside;
use super::{Error, Result};

/// The name DVC gives the pipeline file.
pub const PROJECT_FILE: &str = "dvc.yaml";
/// The name DVC gives the lock file beside it.
pub const LOCK_FILE: &str = "dvc.lock";

/// One stage of a `dvc.yaml`, with what its `dvc.lock` recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The stage's name (`name@key` for a stage `foreach` or `matrix` generated).
    pub name: String,
    /// The `dvc.yaml` (absolute).
    pub dvc_yaml: PathBuf,
    /// The folder its paths are relative to (absolute).
    pub wdir: PathBuf,
    /// Its outputs (`outs`, `metrics` and `plots`), paths as written (relative to `wdir`),
    /// hashes from the lock (none when the stage was never locked).
    pub outs: Vec<Out>,
    /// Its file dependencies (`deps`), paths relative to `wdir`, hashes from the lock. The
    /// `params` are not among them.
    pub deps: Vec<Out>,
    /// `frozen: true`: DVC does not look at its dependencies.
    pub frozen: bool,
    /// Whether the lock records this stage.
    pub locked: bool,
    /// Whether `cmd` differs from the locked one (DVC's `changed command`).
    pub cmd_changed: bool,
    /// `always_changed: true` (DVC's `always changed`).
    pub always_changed: bool,
}

impl Stage {
    /// An output's absolute path.
    pub fn out_path(&self, out: &Out) -> PathBuf {
        normalize(&self.wdir.join(&out.path))
    }
}

fn malformed(path: &Path, message: impl Into<String>) -> Error {
    Error::MalformedPipelineFile {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads the stages of the `dvc.yaml` at `dvc_yaml` and the `dvc.lock` beside it (which may be
/// missing: the stages were never run).
pub fn load(dvc_yaml: &Path, inside: &Inside) -> Result<Vec<Stage>> {
    let text = std::fs::read_to_string(dvc_yaml).map_err(Error::io("read", dvc_yaml))?;
    let lock_path = dvc_yaml.with_file_name(LOCK_FILE);
    let lock = match std::fs::read_to_string(&lock_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("read", &lock_path)(e)),
    };
    parse(&text, lock.as_deref(), dvc_yaml, inside)
}

/// Parses a `dvc.yaml` (`text`) and its lock (`lock`); `dvc_yaml` names the file in errors and
/// anchors the paths. Like DVC, the stages are those of `dvc.yaml`, in its order; a stage the
/// lock records but `dvc.yaml` no longer declares is not a stage.
///
/// Paths written with `${…}` are not resolved here: for such a stage (and for every stage a
/// `foreach` or `matrix` generates) the outputs are the lock's, with the flags of the
/// `dvc.yaml` entry whose literal path matches.
pub fn parse(
    text: &str,
    lock: Option<&str>,
    dvc_yaml: &Path,
    inside: &Inside,
) -> Result<Vec<Stage>> {
    let lock_path = dvc_yaml.with_file_name(LOCK_FILE);
    let doc: Value =
        serde_norway::from_str(text).map_err(|e| malformed(dvc_yaml, e.to_string()))?;
    let locked = match lock {
        Some(l) => lock_stages(l, &lock_path)?,
        None => Vec::new(),
    };
    let stages = match &doc {
        Value::Null => return Ok(Vec::new()),
        Value::Mapping(m) => match m.get("stages") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Mapping(s)) => s,
            Some(_) => return Err(malformed(dvc_yaml, "`stages` must be a mapping")),
        },
        _ => return Err(malformed(dvc_yaml, "expected a mapping with `stages`")),
    };
    let base = dvc_yaml.parent().unwrap_or(Path::new(""));
    let mut found = Vec::new();
    for (name, def) in stages {
        let name = name
            .as_str()
            .ok_or_else(|| malformed(dvc_yaml, "a stage name must be a string"))?;
        let Value::Mapping(def) = def else {
            return Err(malformed(
                dvc_yaml,
                format!("stage `{name}` must be a mapping"),
            ));
        };
        let generated = def.contains_key("foreach") || def.contains_key("matrix");
        let body = if generated {
            match def.get("do") {
                Some(Value::Mapping(d)) => d,
                _ => def,
            }
        } else {
            def
        };
        let wdir_text = match body.get("wdir") {
            None | Some(Value::Null) => ".".to_string(),
            Some(Value::String(w)) => w.clone(),
            Some(_) => {
                return Err(malformed(
                    dvc_yaml,
                    format!("`wdir` of stage `{name}` must be a path"),
                ));
            }
        };
        if wdir_text.contains("${") {
            return Err(malformed(
                dvc_yaml,
                format!(
                    "the `wdir` of stage `{name}` (`{wdir_text}`) uses `${{…}}`, which vintner \
                     does not resolve"
                ),
            ));
        }
        let wdir = resolve_wdir(inside, base, &wdir_text).map_err(|why| Error::UnsafePath {
            file: inside.shown(dvc_yaml),
            path: wdir_text.clone(),
            why,
        })?;
        let declared = declared_outs(body, name, dvc_yaml)?;
        let declared_deps = declared_deps(body, name, dvc_yaml)?;
        let frozen = matches!(body.get("frozen"), Some(Value::Bool(true)));
        let always_changed = matches!(body.get("always_changed"), Some(Value::Bool(true)));
        let interpolated = generated
            || declared
                .iter()
                .chain(&declared_deps)
                .any(|o| o.path.contains("${"));
        let cmd = body.get("cmd");
        let cmd_literal = cmd.is_some_and(|c| {
            !serde_norway::to_string(c)
                .unwrap_or_default()
                .contains("${")
        });
        let make = |stage_name: &str, lock: Option<&LockStage>| -> Result<Stage> {
            let outs = match (interpolated, lock) {
                (false, _) => declared
                    .iter()
                    .map(|d| {
                        let mut out = d.clone();
                        if let Some(l) = lock.and_then(|l| l.outs.iter().find(|o| o.path == d.path))
                        {
                            fill(&mut out, l);
                        }
                        out
                    })
                    .collect(),
                (true, Some(l)) => l
                    .outs
                    .iter()
                    .map(|o| {
                        let mut out = o.clone();
                        if let Some(d) = declared.iter().find(|d| d.path == o.path) {
                            out.cache = d.cache;
                            out.push = d.push;
                            out.remote = d.remote.clone();
                        }
                        out
                    })
                    .collect(),
                (true, None) => Vec::new(),
            };
            let deps = match (interpolated, lock) {
                (false, _) => declared_deps
                    .iter()
                    .map(|d| {
                        let mut dep = d.clone();
                        if let Some(l) = lock.and_then(|l| l.deps.iter().find(|o| o.path == d.path))
                        {
                            fill(&mut dep, l);
                        }
                        dep
                    })
                    .collect(),
                (true, Some(l)) => l.deps.clone(),
                (true, None) => Vec::new(),
            };
            for out in &outs {
                inside
                    .resolve(&wdir, Path::new(&out.path))
                    .map_err(|why| Error::UnsafePath {
                        file: inside.shown(if lock.is_some() { &lock_path } else { dvc_yaml }),
                        path: out.path.clone(),
                        why,
                    })?;
            }
            Ok(Stage {
                name: stage_name.to_string(),
                dvc_yaml: dvc_yaml.to_path_buf(),
                wdir: wdir.clone(),
                outs,
                deps,
                frozen,
                locked: lock.is_some(),
                cmd_changed: !generated
                    && cmd_literal
                    && lock.is_some_and(|l| l.cmd.as_ref() != cmd),
                always_changed,
            })
        };
        if generated {
            let prefix = format!("{name}@");
            for l in locked.iter().filter(|l| l.name.starts_with(&prefix)) {
                found.push(make(&l.name, Some(l))?);
            }
        } else {
            let l = locked.iter().find(|l| l.name == name);
            found.push(make(name, l)?);
        }
    }
    Ok(found)
}

/// A stage's working folder (`.` is the `dvc.yaml`'s own, which may be the repository root):
/// it must be inside the repository or the root itself.
fn resolve_wdir(
    inside: &Inside,
    base: &Path,
    wdir: &str,
) -> std::result::Result<PathBuf, super::paths::Escape> {
    // Checked as the folder of a file inside it, so that the root itself is allowed.
    let child = inside.resolve(base, &Path::new(wdir).join("_"))?;
    Ok(child.parent().map(Path::to_path_buf).unwrap_or(child))
}

/// Copies what the lock recorded of an output onto the declared one.
fn fill(out: &mut Out, locked: &Out) {
    out.md5 = locked.md5.clone();
    out.size = locked.size;
    out.nfiles = locked.nfiles;
    out.isexec = locked.isexec;
    out.hash = locked.hash;
}

/// The `deps` of a stage's definition (paths), no hashes.
fn declared_deps(def: &serde_norway::Mapping, stage: &str, file: &Path) -> Result<Vec<Out>> {
    let items = match def.get("deps") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(_) => {
            return Err(malformed(
                file,
                format!("`deps` of stage `{stage}` must be a list"),
            ));
        }
    };
    items
        .iter()
        .map(|item| {
            let path = item.as_str().ok_or_else(|| {
                malformed(
                    file,
                    format!("an entry of `deps` of stage `{stage}` is not a path"),
                )
            })?;
            Ok(Out {
                path: path.to_string(),
                md5: None,
                size: None,
                nfiles: None,
                isexec: false,
                hash: HashKind::Md5,
                cache: false,
                push: false,
                remote: None,
            })
        })
        .collect()
}

/// The `outs`, `metrics` and `plots` of a stage's definition, with their flags, no hashes.
fn declared_outs(def: &serde_norway::Mapping, stage: &str, file: &Path) -> Result<Vec<Out>> {
    let mut outs = Vec::new();
    for key in ["outs", "metrics", "plots"] {
        let items = match def.get(key) {
            None | Some(Value::Null) => continue,
            Some(Value::Sequence(items)) => items,
            Some(_) => {
                return Err(malformed(
                    file,
                    format!("`{key}` of stage `{stage}` must be a list"),
                ));
            }
        };
        for item in items {
            let (path, flags) = match item {
                Value::String(p) => (p.clone(), None),
                Value::Mapping(m) if m.len() == 1 => {
                    let (k, v) = m.iter().next().expect("one entry");
                    let p = k.as_str().ok_or_else(|| {
                        malformed(
                            file,
                            format!("an entry of `{key}` of stage `{stage}` is not a path"),
                        )
                    })?;
                    (p.to_string(), v.as_mapping())
                }
                _ => {
                    return Err(malformed(
                        file,
                        format!(
                            "an entry of `{key}` of stage `{stage}` must be a path or `path: {{flags}}`"
                        ),
                    ));
                }
            };
            let flag = |name: &str| -> Result<bool> {
                match flags.and_then(|f| f.get(name)) {
                    None | Some(Value::Null) => Ok(true),
                    Some(Value::Bool(b)) => Ok(*b),
                    Some(_) => Err(malformed(
                        file,
                        format!("`{name}` of `{path}` in stage `{stage}` must be true or false"),
                    )),
                }
            };
            outs.push(Out {
                path: path.clone(),
                md5: None,
                size: None,
                nfiles: None,
                isexec: false,
                hash: HashKind::Md5,
                cache: flag("cache")?,
                push: flag("push")?,
                remote: flags
                    .and_then(|f| f.get("remote"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
    }
    Ok(outs)
}

/// One stage as a `dvc.lock` records it.
#[derive(Debug, Clone)]
pub struct LockStage {
    pub name: String,
    pub cmd: Option<Value>,
    /// Paths as written (relative to the stage's `wdir`), hashes as recorded; the flags are
    /// the defaults (`dvc.yaml` holds them).
    pub outs: Vec<Out>,
    /// The file dependencies as recorded.
    pub deps: Vec<Out>,
}

/// The stages a `dvc.lock` (`text`, at `path`) records, in both layouts. An output without
/// `hash: md5` was hashed the DVC 2 way.
pub fn lock_stages(text: &str, path: &Path) -> Result<Vec<LockStage>> {
    let doc: Value = serde_norway::from_str(text).map_err(|e| malformed(path, e.to_string()))?;
    let stages = match doc.get("schema") {
        Some(_) => doc.get("stages").cloned().unwrap_or(Value::Null),
        None => doc,
    };
    let stages = match stages {
        Value::Mapping(s) => s,
        Value::Null => return Ok(Vec::new()),
        _ => return Err(malformed(path, "`stages` must be a mapping")),
    };
    let mut found = Vec::new();
    for (name, stage) in &stages {
        let name = name.as_str().unwrap_or("?").to_string();
        let mut lists = [Vec::new(), Vec::new()];
        for (key, list) in ["outs", "deps"].into_iter().zip(lists.iter_mut()) {
            match stage.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Sequence(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        list.push(lock_out(item, key, i, &name, path)?);
                    }
                }
                Some(_) => {
                    return Err(malformed(
                        path,
                        format!("`{key}` of stage `{name}` must be a list"),
                    ));
                }
            }
        }
        let [outs, deps] = lists;
        found.push(LockStage {
            name,
            cmd: stage.get("cmd").cloned(),
            outs,
            deps,
        });
    }
    Ok(found)
}

/// One output entry of a lock's stage.
fn lock_out(item: &Value, key: &str, i: usize, stage: &str, file: &Path) -> Result<Out> {
    let at = || format!("`{key}[{i}]` of stage `{stage}`");
    let path = item
        .get("path")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| malformed(file, format!("{} has no `path`", at())))?;
    let md5 = match item.get("md5") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if super::manifest::is_md5(m.strip_suffix(".dir").unwrap_or(m)) => {
            Some(m.clone())
        }
        Some(other) => {
            return Err(malformed(
                file,
                format!("{} has an `md5` that is not an md5 ({other:?})", at()),
            ));
        }
    };
    let hash = match item.get("hash").and_then(Value::as_str) {
        Some("md5") => HashKind::Md5,
        None | Some("md5-dos2unix") => HashKind::Md5Dos2Unix,
        Some(other) => {
            return Err(malformed(
                file,
                format!("{} records the hash `{other}` (vintner reads md5)", at()),
            ));
        }
    };
    Ok(Out {
        path: path.to_string(),
        md5,
        size: item.get("size").and_then(Value::as_u64),
        nfiles: item.get("nfiles").and_then(Value::as_u64),
        isexec: item.get("isexec").and_then(Value::as_bool).unwrap_or(false),
        hash,
        cache: true,
        push: true,
        remote: None,
    })
}

/// Every output a `dvc.lock` records, whatever `dvc.yaml` says (what `gc` must keep), as
/// (absolute path, output). Each path is checked to stay inside the repository; the stage's
/// `wdir` comes from the `dvc.yaml` beside it when that names one.
pub fn lock_outs(lock_path: &Path, inside: &Inside) -> Result<Vec<(String, PathBuf, Out)>> {
    let text = std::fs::read_to_string(lock_path).map_err(Error::io("read", lock_path))?;
    let base = lock_path.parent().unwrap_or(Path::new(""));
    let wdirs: Vec<(String, String)> = std::fs::read_to_string(base.join(PROJECT_FILE))
        .ok()
        .and_then(|t| serde_norway::from_str::<Value>(&t).ok())
        .and_then(|d| d.get("stages").and_then(Value::as_mapping).cloned())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let body = v.get("do").unwrap_or(v);
                    Some((
                        k.as_str()?.to_string(),
                        body.get("wdir")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    for stage in lock_stages(&text, lock_path)? {
        let base_name = stage.name.split('@').next().unwrap_or(&stage.name);
        let wdir_text = wdirs
            .iter()
            .find(|(n, _)| n == base_name)
            .map(|(_, w)| w.as_str())
            .filter(|w| !w.contains("${"))
            .unwrap_or(".");
        let escape = |path: &str, why| Error::UnsafePath {
            file: inside.shown(lock_path),
            path: path.to_string(),
            why,
        };
        let wdir = resolve_wdir(inside, base, wdir_text).map_err(|why| escape(wdir_text, why))?;
        for out in stage.outs {
            let abs = inside
                .resolve(&wdir, Path::new(&out.path))
                .map_err(|why| escape(&out.path, why))?;
            found.push((stage.name.clone(), abs, out));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_stages_read_dvc_3_and_dvc_1_lock_files() {
        let path = Path::new("dvc.lock");
        let v3 = "schema: '2.0'\nstages:\n  make:\n    cmd: echo\n    deps:\n    - path: in.txt\n      \
                  md5: 00000000000000000000000000000001\n    outs:\n    - path: out.txt\n      hash: md5\n      \
                  md5: 0123456789abcdef0123456789abcdef\n      size: 3\n    - path: d\n      \
                  md5: fedcba9876543210fedcba9876543210.dir\n";
        let stages = lock_stages(v3, path).unwrap();
        assert_eq!(stages.len(), 1);
        let outs = &stages[0].outs;
        assert_eq!(
            outs[0].md5.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(outs[0].hash, HashKind::Md5);
        assert_eq!(outs[1].hash, HashKind::Md5Dos2Unix);
        assert!(outs[1].is_dir());
        let v1 = "train:\n  cmd: x\n  outs:\n  - path: m.bin\n    md5: a1111111111111111111111111111111\n";
        let stages = lock_stages(v1, path).unwrap();
        assert_eq!(stages[0].name, "train");
        assert_eq!(stages[0].outs[0].hash, HashKind::Md5Dos2Unix);
        let err = lock_stages("stages: [unclosed\n", path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("dvc.lock"), "{err}");
    }

    #[test]
    fn stages_take_flags_from_dvc_yaml_and_hashes_from_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let inside = Inside::new(dir.path());
        let yaml = dir.path().join(PROJECT_FILE);
        let text = "stages:\n  train:\n    cmd: python train.py\n    wdir: sub\n    outs:\n    - model.bin\n    \
                    - cache_free.txt:\n        cache: false\n    metrics:\n    - m.json:\n        cache: false\n  \
                    never:\n    cmd: touch x\n    outs:\n    - x\n";
        let lock = "schema: '2.0'\nstages:\n  train:\n    cmd: python old.py\n    outs:\n    - path: model.bin\n      \
                    hash: md5\n      md5: 0123456789abcdef0123456789abcdef\n      size: 3\n  gone:\n    cmd: y\n";
        let stages = parse(text, Some(lock), &yaml, &inside).unwrap();
        assert_eq!(
            stages.len(),
            2,
            "a locked stage dvc.yaml no longer has is not a stage"
        );
        let train = &stages[0];
        assert!(train.cmd_changed);
        assert_eq!(
            train.out_path(&train.outs[0]),
            dir.path().join("sub/model.bin")
        );
        assert_eq!(
            train.outs[0].md5.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert!(!train.outs[1].cache && train.outs[1].md5.is_none());
        assert!(!train.outs[2].cache);
        assert!(!stages[1].locked && !stages[1].cmd_changed);
        let escape = "stages:\n  s:\n    cmd: x\n    outs:\n    - ../../x\n";
        let err = parse(escape, None, &yaml, &inside).unwrap_err().to_string();
        assert!(err.contains("`../../x`, which leads outside"), "{err}");
    }

    #[test]
    fn generated_stages_take_their_outputs_from_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let inside = Inside::new(dir.path());
        let yaml = dir.path().join(PROJECT_FILE);
        let text = "stages:\n  build:\n    foreach: [a, b]\n    do:\n      cmd: echo ${item} > ${item}.txt\n      \
                    outs:\n      - ${item}.txt\n";
        let lock = "schema: '2.0'\nstages:\n  build@a:\n    cmd: echo a > a.txt\n    outs:\n    - path: a.txt\n      \
                    hash: md5\n      md5: 0123456789abcdef0123456789abcdef\n";
        let stages = parse(text, Some(lock), &yaml, &inside).unwrap();
        assert_eq!(stages.len(), 1);
        assert_eq!(stages[0].name, "build@a");
        assert_eq!(stages[0].outs[0].path, "a.txt");
    }
}
