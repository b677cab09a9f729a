//! `dvc.yaml` as `dvc repro` reads it, resolved into runnable stages: `cmd` (a string or a
//! list), `wdir`, `deps`, `params` (from `params.yaml` or named YAML/JSON/TOML files), `outs`,
//! `metrics` and `plots` with their flags, `frozen`, `always_changed`, top-level `vars` with
//! `${…}` interpolation, and `foreach`/`do`. Anything else a stage could say is refused by name
//! with the file and line, never ignored. Pure parsing: running stages is `repro`'s business.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_norway::{Mapping, Value};

use super::fsutil::normalize;

/// A problem with a `dvc.yaml` (or a file it reads), with the line it is on.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("`{}` line {line}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("`{}` line {line}: {what} is not supported by vintner yet", file.display())]
    Unsupported {
        file: PathBuf,
        line: usize,
        what: String,
    },
    #[error("Failed to read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

type Result<T, E = YamlError> = std::result::Result<T, E>;

/// Where an output is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutKind {
    Out,
    Metric,
    Plot,
}

/// One declared output, path relative to the stage's `wdir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutDef {
    pub path: String,
    pub kind: OutKind,
    pub cache: bool,
    pub persist: bool,
    pub push: bool,
    pub remote: Option<String>,
}

/// The parameters a stage reads from one file (relative to `wdir`); `keys: None` is the whole
/// file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsDef {
    pub file: String,
    pub keys: Option<Vec<String>>,
}

/// The default parameters file.
pub const DEFAULT_PARAMS: &str = "params.yaml";

/// One stage, every `${…}` resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct StageDef {
    /// Its name (`name@key` for a stage `foreach` generated).
    pub name: String,
    /// The line of its definition in `dvc.yaml`.
    pub line: usize,
    /// `cmd` as written after interpolation (a string or a list of strings), for the lock.
    pub cmd: Value,
    /// The commands to run, in order.
    pub commands: Vec<String>,
    /// The folder its paths are relative to and its commands run in (absolute).
    pub wdir: PathBuf,
    /// `wdir` as written (`.` when absent).
    pub wdir_text: String,
    pub deps: Vec<String>,
    pub params: Vec<ParamsDef>,
    pub outs: Vec<OutDef>,
    pub frozen: bool,
    pub always_changed: bool,
}

impl StageDef {
    /// The absolute path of a path the stage names.
    pub fn abs(&self, rel: &str) -> PathBuf {
        normalize(&self.wdir.join(rel))
    }
}

/// A parsed `dvc.yaml`.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The file (absolute).
    pub path: PathBuf,
    /// How to show it in messages.
    pub shown: PathBuf,
    pub stages: Vec<StageDef>,
}

/// Reads and resolves the `dvc.yaml` at `path`; `shown` is how messages name it.
pub fn load(path: &Path, shown: &Path) -> Result<Pipeline> {
    let text = std::fs::read_to_string(path).map_err(|source| YamlError::Io {
        path: shown.to_path_buf(),
        source,
    })?;
    parse(&text, path, shown)
}

/// The line (1-based) of the first `key:` at or after line `from`, else `from`.
fn line_of(text: &str, key: &str, from: usize) -> usize {
    for (i, line) in text.lines().enumerate().skip(from.saturating_sub(1)) {
        let t = line.trim_start().trim_start_matches("- ");
        let t = t.trim_start_matches(['"', '\'']);
        if let Some(rest) = t.strip_prefix(key)
            && rest.trim_start_matches(['"', '\'']).starts_with(':')
        {
            return i + 1;
        }
    }
    from.max(1)
}

struct Ctx<'a> {
    text: &'a str,
    shown: &'a Path,
}

impl Ctx<'_> {
    fn invalid(&self, line: usize, message: impl Into<String>) -> YamlError {
        YamlError::Invalid {
            file: self.shown.to_path_buf(),
            line,
            message: message.into(),
        }
    }
    fn unsupported(&self, line: usize, what: impl Into<String>) -> YamlError {
        YamlError::Unsupported {
            file: self.shown.to_path_buf(),
            line,
            what: what.into(),
        }
    }
}

const TOP_KEYS: [&str; 6] = ["stages", "vars", "params", "metrics", "plots", "artifacts"];
const STAGE_KEYS: [&str; 11] = [
    "cmd",
    "wdir",
    "deps",
    "params",
    "outs",
    "metrics",
    "plots",
    "frozen",
    "always_changed",
    "desc",
    "meta",
];
const OUT_FLAGS: [&str; 10] = [
    "cache", "persist", "push", "remote", "desc", "type", "labels", "meta", "x", "y",
];

/// Parses a `dvc.yaml` (`text`) at `path`.
pub fn parse(text: &str, path: &Path, shown: &Path) -> Result<Pipeline> {
    let cx = Ctx { text, shown };
    let doc: Value = serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(1);
        cx.invalid(line, e.to_string())
    })?;
    let doc = yaml12_numbers(doc, text, shown)?;
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let top = match doc {
        Value::Null => Mapping::new(),
        Value::Mapping(m) => m,
        _ => return Err(cx.invalid(1, "expected a mapping with `stages`")),
    };
    for key in top.keys() {
        let k = key.as_str().unwrap_or("?");
        if !TOP_KEYS.contains(&k) {
            return Err(cx.unsupported(line_of(text, k, 1), format!("the top-level key `{k}`")));
        }
    }
    let mut vars = Mapping::new();
    // DVC loads the default parameters file into the context when it exists.
    let default_params = base.join(DEFAULT_PARAMS);
    // Files loaded whole: listing one again adds nothing (DVC's `merge_from`).
    let mut loaded: Vec<PathBuf> = Vec::new();
    if default_params.is_file() {
        merge_vars(&cx, &mut vars, read_params(&default_params, shown)?, 1)?;
        loaded.push(super::fsutil::normalize(&default_params));
    }
    match top.get("vars") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(items)) => {
            let line = line_of(text, "vars", 1);
            for item in items {
                match item {
                    Value::Mapping(m) => merge_vars(&cx, &mut vars, m.clone(), line)?,
                    Value::String(file) if file.contains(':') => {
                        return Err(cx.unsupported(
                            line,
                            format!("`vars` entry `{file}` (a file with selected keys)"),
                        ));
                    }
                    Value::String(file) => {
                        let p = super::fsutil::normalize(&base.join(file));
                        if loaded.contains(&p) {
                            continue;
                        }
                        merge_vars(&cx, &mut vars, read_params(&p, shown)?, line)?;
                        loaded.push(p);
                    }
                    _ => return Err(cx.invalid(line, "a `vars` entry must be a mapping or a file")),
                }
            }
        }
        Some(_) => return Err(cx.invalid(line_of(text, "vars", 1), "`vars` must be a list")),
    }
    let stages_line = line_of(text, "stages", 1);
    let stages = match top.get("stages") {
        None | Some(Value::Null) => Mapping::new(),
        Some(Value::Mapping(m)) => m.clone(),
        Some(_) => return Err(cx.invalid(stages_line, "`stages` must be a mapping")),
    };
    let mut found: Vec<StageDef> = Vec::new();
    for (name, def) in &stages {
        let Some(name) = name.as_str() else {
            return Err(cx.invalid(stages_line, "a stage name must be a string"));
        };
        let line = line_of(text, name, stages_line);
        if name.contains('@') || name.contains(':') || name.contains('/') {
            return Err(cx.invalid(
                line,
                format!("the stage name `{name}` must not contain `@`, `:` or `/`"),
            ));
        }
        let Value::Mapping(def) = def else {
            return Err(cx.invalid(line, format!("stage `{name}` must be a mapping")));
        };
        if def.contains_key("matrix") {
            return Err(cx.unsupported(line, format!("`matrix` (stage `{name}`)")));
        }
        if def.contains_key("vars") {
            return Err(cx.unsupported(line, format!("stage-level `vars` (stage `{name}`)")));
        }
        if let Some(each) = def.get("foreach") {
            let body = match def.get("do") {
                Some(Value::Mapping(d)) => d,
                _ => {
                    return Err(cx.invalid(
                        line,
                        format!("stage `{name}` has `foreach` without a `do` mapping"),
                    ));
                }
            };
            if let Some(k) = def
                .keys()
                .filter_map(Value::as_str)
                .find(|k| *k != "foreach" && *k != "do")
            {
                return Err(cx.invalid(
                    line,
                    format!("stage `{name}` has `foreach`, so `{k}` belongs under `do`"),
                ));
            }
            let each = interpolate(&cx, each, &vars, line)?;
            let items: Vec<(String, Value, bool)> = match each {
                Value::Mapping(m) => m
                    .into_iter()
                    .map(|(k, v)| Ok((to_str(&cx, &k, line)?, v, true)))
                    .collect::<Result<_>>()?,
                Value::Sequence(s) => {
                    let composite = s.iter().any(|v| v.is_mapping() || v.is_sequence());
                    s.into_iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let key = if composite {
                                i.to_string()
                            } else {
                                to_str(&cx, &v, line)?
                            };
                            Ok((key, v, false))
                        })
                        .collect::<Result<_>>()?
                }
                _ => {
                    return Err(cx.invalid(
                        line,
                        format!("`foreach` of stage `{name}` must be a list or a mapping"),
                    ));
                }
            };
            // As DVC's dict of items: one stage per key, where the key first came, with its
            // last value.
            let mut unique: Vec<(String, Value, bool)> = Vec::new();
            for (key, item, with_key) in items {
                match unique.iter_mut().find(|u| u.0 == key) {
                    Some(u) => u.1 = item,
                    None => unique.push((key, item, with_key)),
                }
            }
            for (key, item, with_key) in unique {
                let mut scope = vars.clone();
                scope.insert("item".into(), item);
                if with_key {
                    scope.insert("key".into(), Value::String(key.clone()));
                }
                found.push(stage(
                    &cx,
                    &format!("{name}@{key}"),
                    body,
                    &scope,
                    &base,
                    line,
                )?);
            }
        } else {
            found.push(stage(&cx, name, def, &vars, &base, line)?);
        }
    }
    Ok(Pipeline {
        path: path.to_path_buf(),
        shown: shown.to_path_buf(),
        stages: found,
    })
}

fn merge_vars(cx: &Ctx, vars: &mut Mapping, new: Mapping, line: usize) -> Result<()> {
    merge_into(cx, vars, new, line, "")
}

/// DVC's `_merge`: mappings merge key by key, any other value defined twice is refused.
fn merge_into(cx: &Ctx, into: &mut Mapping, new: Mapping, line: usize, at: &str) -> Result<()> {
    for (k, v) in new {
        let name = format!("{at}{}", k.as_str().unwrap_or("?"));
        match (into.get_mut(&k), v) {
            (Some(Value::Mapping(old)), Value::Mapping(v)) => {
                merge_into(cx, old, v, line, &format!("{name}."))?;
            }
            (Some(_), _) => {
                return Err(cx.invalid(line, format!("`vars` defines `{name}` twice")));
            }
            (None, v) => {
                into.insert(k, v);
            }
        }
    }
    Ok(())
}

/// One stage's definition, interpolated with `scope`.
fn stage(
    cx: &Ctx,
    name: &str,
    def: &Mapping,
    scope: &Mapping,
    base: &Path,
    line: usize,
) -> Result<StageDef> {
    for key in def.keys() {
        let k = key.as_str().unwrap_or("?");
        if !STAGE_KEYS.contains(&k) {
            return Err(cx.unsupported(
                line_of(cx.text, k, line),
                format!("the key `{k}` in stage `{name}`"),
            ));
        }
    }
    let def = match interpolate(cx, &Value::Mapping(def.clone()), scope, line)? {
        Value::Mapping(m) => m,
        _ => unreachable!("a mapping interpolates to a mapping"),
    };
    let at = |key: &str| line_of(cx.text, key, line);
    let cmd = def.get("cmd").cloned().unwrap_or(Value::Null);
    let commands: Vec<String> = match &cmd {
        Value::String(s) if !s.trim().is_empty() => s.lines().map(str::to_string).collect(),
        Value::Sequence(items) if !items.is_empty() => items
            .iter()
            .map(|c| {
                c.as_str().map(str::to_string).ok_or_else(|| {
                    cx.invalid(
                        at("cmd"),
                        format!("every `cmd` of stage `{name}` must be a string"),
                    )
                })
            })
            .collect::<Result<_>>()?,
        Value::Null => {
            return Err(cx.invalid(line, format!("stage `{name}` has no `cmd`")));
        }
        _ => {
            return Err(cx.invalid(
                at("cmd"),
                format!("`cmd` of stage `{name}` must be a string or a list of strings"),
            ));
        }
    };
    let wdir = match def.get("wdir") {
        None | Some(Value::Null) => ".".to_string(),
        Some(Value::String(w)) => w.clone(),
        Some(_) => {
            return Err(cx.invalid(
                at("wdir"),
                format!("`wdir` of stage `{name}` must be a path"),
            ));
        }
    };
    let flag = |key: &str| -> Result<bool> {
        match def.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(cx.invalid(
                at(key),
                format!("`{key}` of stage `{name}` must be true or false"),
            )),
        }
    };
    let deps = match def.get("deps") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|d| {
                let p = d.as_str().ok_or_else(|| {
                    cx.invalid(
                        at("deps"),
                        format!("an entry of `deps` of stage `{name}` is not a path"),
                    )
                })?;
                if p.contains("://") {
                    return Err(cx.unsupported(at("deps"), format!("the remote dependency `{p}`")));
                }
                Ok(p.to_string())
            })
            .collect::<Result<_>>()?,
        Some(_) => {
            return Err(cx.invalid(
                at("deps"),
                format!("`deps` of stage `{name}` must be a list"),
            ));
        }
    };
    let params = params_of(cx, &def, name, at("params"))?;
    let mut outs = Vec::new();
    for (key, kind) in [
        ("outs", OutKind::Out),
        ("metrics", OutKind::Metric),
        ("plots", OutKind::Plot),
    ] {
        let l = at(key);
        let items = match def.get(key) {
            None | Some(Value::Null) => continue,
            Some(Value::Sequence(items)) => items,
            Some(_) => {
                return Err(cx.invalid(l, format!("`{key}` of stage `{name}` must be a list")));
            }
        };
        for item in items {
            let (path, flags) = match item {
                Value::String(p) => (p.clone(), None),
                Value::Mapping(m) if m.len() == 1 => {
                    let (k, v) = m.iter().next().expect("one entry");
                    let p = k.as_str().ok_or_else(|| {
                        cx.invalid(
                            l,
                            format!("an entry of `{key}` of stage `{name}` is not a path"),
                        )
                    })?;
                    match v {
                        Value::Null => (p.to_string(), None),
                        Value::Mapping(f) => (p.to_string(), Some(f)),
                        _ => {
                            return Err(cx.invalid(
                                l,
                                format!("the flags of `{p}` in stage `{name}` must be a mapping"),
                            ));
                        }
                    }
                }
                _ => {
                    return Err(cx.invalid(
                        l,
                        format!("an entry of `{key}` of stage `{name}` must be a path or `path: {{flags}}`"),
                    ));
                }
            };
            if path.contains("://") {
                return Err(cx.unsupported(l, format!("the remote output `{path}`")));
            }
            let mut cache = true;
            let mut persist = false;
            let mut push = true;
            let mut remote = None;
            for (fk, fv) in flags.into_iter().flatten() {
                let fk = fk.as_str().unwrap_or("?");
                let line = line_of(cx.text, fk, l);
                let b = || -> Result<bool> {
                    fv.as_bool().ok_or_else(|| {
                        cx.invalid(
                            line,
                            format!("`{fk}` of `{path}` in stage `{name}` must be true or false"),
                        )
                    })
                };
                match fk {
                    "cache" => cache = b()?,
                    "persist" => persist = b()?,
                    "push" => push = b()?,
                    "remote" => remote = fv.as_str().map(str::to_string),
                    f if OUT_FLAGS.contains(&f) => {}
                    f if kind == OutKind::Plot => {
                        let _ = f;
                    }
                    f => {
                        return Err(
                            cx.unsupported(line, format!("the output flag `{f}` of `{path}`"))
                        );
                    }
                }
            }
            outs.push(OutDef {
                path,
                kind,
                cache,
                persist,
                push,
                remote,
            });
        }
    }
    Ok(StageDef {
        name: name.to_string(),
        line,
        cmd,
        commands,
        wdir: normalize(&base.join(&wdir)),
        wdir_text: wdir,
        deps,
        params,
        outs,
        frozen: flag("frozen")?,
        always_changed: flag("always_changed")?,
    })
}

/// The `params` of a stage: bare keys are from `params.yaml`, `file: [keys]` (or `file:` for
/// all of it) from a named file.
fn params_of(cx: &Ctx, def: &Mapping, name: &str, line: usize) -> Result<Vec<ParamsDef>> {
    let items = match def.get("params") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(_) => {
            return Err(cx.invalid(line, format!("`params` of stage `{name}` must be a list")));
        }
    };
    let mut found: Vec<ParamsDef> = Vec::new();
    let mut add =
        |file: &str, keys: Option<Vec<String>>| match found.iter_mut().find(|p| p.file == file) {
            Some(p) => match (&mut p.keys, keys) {
                (Some(old), Some(new)) => old.extend(new),
                (k, _) => *k = None,
            },
            None => found.push(ParamsDef {
                file: file.to_string(),
                keys,
            }),
        };
    for item in items {
        match item {
            Value::String(k) => add(DEFAULT_PARAMS, Some(vec![k.clone()])),
            Value::Mapping(m) => {
                for (file, keys) in m {
                    let file = file
                        .as_str()
                        .ok_or_else(|| cx.invalid(line, "a params file must be a path"))?;
                    let keys = match keys {
                        Value::Null => None,
                        Value::Sequence(ks) if ks.is_empty() => None,
                        Value::Sequence(ks) => Some(
                            ks.iter()
                                .map(|k| {
                                    k.as_str().map(str::to_string).ok_or_else(|| {
                                        cx.invalid(line, format!("the keys of `{file}` in stage `{name}` must be strings"))
                                    })
                                })
                                .collect::<Result<_>>()?,
                        ),
                        _ => return Err(cx.invalid(line, format!("the keys of `{file}` in stage `{name}` must be a list"))),
                    };
                    add(file, keys);
                }
            }
            _ => {
                return Err(cx.invalid(
                    line,
                    format!(
                        "an entry of `params` of stage `{name}` must be a key or `file: [keys]`"
                    ),
                ));
            }
        }
    }
    Ok(found)
}

/// Reads a parameters file (YAML, JSON or TOML, by extension) as a mapping, keys in file order.
pub fn read_params(path: &Path, shown_dvc_yaml: &Path) -> Result<Mapping> {
    let text = std::fs::read_to_string(path).map_err(|source| YamlError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, message: String| YamlError::Invalid {
        file: path.to_path_buf(),
        line,
        message,
    };
    let _ = shown_dvc_yaml;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let value: Value = match ext {
        "toml" => {
            let t: toml::Value = toml::from_str(&text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| text[..s.start].lines().count().max(1))
                    .unwrap_or(1);
                bad(line, e.message().to_string())
            })?;
            toml_to_yaml(t)
        }
        "yaml" | "yml" => yaml12_numbers(
            serde_norway::from_str(&text)
                .map_err(|e| bad(e.location().map(|l| l.line()).unwrap_or(1), e.to_string()))?,
            &text,
            path,
        )?,
        "json" => serde_norway::from_str(&text)
            .map_err(|e| bad(e.location().map(|l| l.line()).unwrap_or(1), e.to_string()))?,
        other => {
            return Err(YamlError::Unsupported {
                file: path.to_path_buf(),
                line: 1,
                what: format!(
                    "a parameters file with the extension `.{other}` (use YAML, JSON or TOML)"
                ),
            });
        }
    };
    match value {
        Value::Mapping(m) => Ok(m),
        Value::Null => Ok(Mapping::new()),
        _ => Err(bad(1, "a parameters file must hold a mapping".into())),
    }
}

/// The number a plain scalar is under YAML 1.2 as ruamel (DVC's reader) resolves it, for the
/// forms the YAML reader here keeps as text (`10_000`, `017`, `1_0.5`).
fn yaml12_number(s: &str) -> Option<Value> {
    static INT: OnceLock<regex::Regex> = OnceLock::new();
    static FLOAT: OnceLock<regex::Regex> = OnceLock::new();
    let int = INT.get_or_init(|| {
        regex::Regex::new(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$")
            .expect("int pattern")
    });
    let float = FLOAT.get_or_init(|| {
        regex::Regex::new(
            r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?)$",
        )
        .expect("float pattern")
    });
    if !s.starts_with(|c: char| "-+0123456789.".contains(c)) {
        return None;
    }
    let digits = s.replace('_', "");
    if int.is_match(s) {
        let (sign, body) = match digits.strip_prefix('-') {
            Some(b) => (-1i64, b),
            None => (1, digits.strip_prefix('+').unwrap_or(&digits)),
        };
        let n = if let Some(b) = body.strip_prefix("0b") {
            i64::from_str_radix(b, 2)
        } else if let Some(b) = body.strip_prefix("0x") {
            i64::from_str_radix(b, 16)
        } else if let Some(b) = body.strip_prefix("0o") {
            i64::from_str_radix(b, 8)
        } else {
            body.parse()
        };
        return n.ok().map(|n| Value::Number((sign * n).into()));
    }
    if float.is_match(s) {
        return digits.parse::<f64>().ok().map(|f| Value::Number(f.into()));
    }
    None
}

/// Reads as numbers the plain scalars YAML 1.2 makes numbers but the reader here keeps as
/// text. Whether a scalar was quoted is read from `text`: one written both ways is refused.
fn yaml12_numbers(v: Value, text: &str, file: &Path) -> Result<Value> {
    Ok(match v {
        Value::String(s) => match yaml12_number(&s) {
            None => Value::String(s),
            Some(n) => {
                let quoted = text.contains(&format!("'{s}'")) || text.contains(&format!("\"{s}\""));
                let plain = text.match_indices(s.as_str()).any(|(at, _)| {
                    let before = text[..at].chars().next_back();
                    let after = text[at + s.len()..].chars().next();
                    !matches!(before, Some('\'' | '"'))
                        && before.is_none_or(|c| " \t\n[,:-".contains(c))
                        && after.is_none_or(|c| " \t\r\n],#".contains(c))
                });
                match (plain, quoted) {
                    (true, true) => {
                        return Err(YamlError::Unsupported {
                            file: file.to_path_buf(),
                            line: text
                                .lines()
                                .position(|l| l.contains(s.as_str()))
                                .map_or(1, |i| i + 1),
                            what: format!(
                                "`{s}` written both quoted and plain (quote it, or write it \
                                 as a plain number everywhere)"
                            ),
                        });
                    }
                    (true, false) => n,
                    _ => Value::String(s),
                }
            }
        },
        Value::Sequence(items) => Value::Sequence(
            items
                .into_iter()
                .map(|i| yaml12_numbers(i, text, file))
                .collect::<Result<_>>()?,
        ),
        Value::Mapping(m) => Value::Mapping(
            m.into_iter()
                .map(|(k, v)| Ok((k, yaml12_numbers(v, text, file)?)))
                .collect::<Result<_>>()?,
        ),
        other => other,
    })
}

fn toml_to_yaml(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::Number(i.into()),
        toml::Value::Float(f) => Value::Number(f.into()),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Sequence(a.into_iter().map(toml_to_yaml).collect()),
        toml::Value::Table(t) => Value::Mapping(
            t.into_iter()
                .map(|(k, v)| (Value::String(k), toml_to_yaml(v)))
                .collect(),
        ),
    }
}

/// Looks a parameters key (`train.lr`, `layers.1`) up in `root` as DVC's `dpath.get` with
/// `.` between keys: a number indexes a list; `[0]` is no index here.
pub fn lookup<'a>(root: &'a Mapping, key: &str) -> Option<&'a Value> {
    let mut cur: Option<&Value> = None;
    for (i, seg) in key.split('.').enumerate() {
        cur = match (i, cur) {
            (0, _) => root.get(seg),
            (_, Some(Value::Sequence(items))) => items.get(seg.parse::<usize>().ok()?),
            (_, Some(Value::Mapping(m))) => m.get(seg),
            _ => None,
        };
        cur?;
    }
    cur
}

/// Looks an interpolated name (`train.lr`, `layers[0]`, `layers.-1`) up in `scope` as DVC's
/// context does: `[i]` reads as `.i`, each part is trimmed, a list takes an integer index.
fn lookup_interpolated<'a>(scope: &'a Mapping, expr: &str) -> Option<&'a Value> {
    let key = expr.replace('[', ".").replace(']', "");
    let mut cur: Option<&Value> = None;
    for (i, seg) in key.split('.').map(str::trim).enumerate() {
        cur = match (i, cur) {
            (0, _) => scope.get(seg),
            (_, Some(Value::Sequence(items))) => {
                let n: i64 = seg.replace('_', "").parse().ok()?;
                let at = if n < 0 { items.len() as i64 + n } else { n };
                items.get(usize::try_from(at).ok()?)
            }
            (_, Some(Value::Mapping(m))) => m.get(seg),
            _ => None,
        };
        cur?;
    }
    cur
}

/// Python's `repr` of a float, as DVC prints parameter values into strings and YAML.
pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let body = if exp < 0 {
            format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        } else {
            let point = exp as usize + 1;
            if digits.len() <= point {
                format!("{}{}.0", digits, "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let e = if exp < 0 {
            format!("-{:02}", -exp)
        } else {
            format!("+{exp:02}")
        };
        format!("{sign}{m}e{e}")
    }
}

/// A scalar as DVC puts it into a string.
fn to_str(cx: &Ctx, v: &Value, line: usize) -> Result<String> {
    Ok(match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => py_float(f),
            _ => n.to_string(),
        },
        Value::Null => "None".into(),
        _ => {
            return Err(cx.unsupported(
                line,
                "putting a list or a mapping into a string with `${…}`".to_string(),
            ));
        }
    })
}

/// Resolves every `${…}` in `v`. A string that is one `${…}` takes the value's type.
fn interpolate(cx: &Ctx, v: &Value, scope: &Mapping, line: usize) -> Result<Value> {
    Ok(match v {
        Value::String(s) => interpolate_str(cx, s, scope, line)?,
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .map(|i| interpolate(cx, i, scope, line))
                .collect::<Result<_>>()?,
        ),
        Value::Mapping(m) => {
            let mut out = Mapping::new();
            for (k, v) in m {
                let k = match k {
                    Value::String(s) => interpolate_str(cx, s, scope, line)?,
                    other => other.clone(),
                };
                out.insert(k, interpolate(cx, v, scope, line)?);
            }
            Value::Mapping(out)
        }
        other => other.clone(),
    })
}

fn interpolate_str(cx: &Ctx, s: &str, scope: &Mapping, line: usize) -> Result<Value> {
    if !s.contains("${") {
        return Ok(Value::String(s.to_string()));
    }
    let mut out = String::new();
    let mut rest = s;
    let mut whole: Option<Value> = None;
    while let Some(start) = rest.find("${") {
        if start > 0 && rest.as_bytes()[start - 1] == b'\\' {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        let Some(len) = rest[start..].find('}') else {
            return Err(cx.invalid(line, format!("unclosed `${{` in `{s}`")));
        };
        let expr = rest[start + 2..start + len].trim();
        let value = lookup_interpolated(scope, expr).ok_or_else(|| {
            cx.invalid(
                line,
                format!("`${{{expr}}}` is not defined (in `vars`, `params.yaml` or `foreach`)"),
            )
        })?;
        if start == 0 && start + len + 1 == rest.len() && out.is_empty() && std::ptr::eq(rest, s) {
            whole = Some(value.clone());
        }
        out.push_str(&rest[..start]);
        out.push_str(&to_str(cx, value, line).or_else(|e| {
            if whole.is_some() {
                Ok(String::new())
            } else {
                Err(e)
            }
        })?);
        rest = &rest[start + len + 1..];
    }
    if let Some(v) = whole {
        return Ok(v);
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in(dir: &Path, text: &str) -> Result<Pipeline> {
        let path = dir.join("dvc.yaml");
        parse(text, &path, Path::new("dvc.yaml"))
    }

    #[test]
    fn floats_print_as_python_repr() {
        for (f, s) in [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (123456.5, "123456.5"),
            (-2.5e-7, "-2.5e-07"),
            (1e15, "1000000000000000.0"),
        ] {
            assert_eq!(py_float(f), s);
        }
    }

    #[test]
    fn plain_numbers_read_as_yaml_1_2() {
        let text = "a: 10_000\nb: 017\nc: '42'\nd: [1_0.5, 0o17, x17]\n";
        let v: Value = serde_norway::from_str(text).unwrap();
        let v = yaml12_numbers(v, text, Path::new("p.yaml")).unwrap();
        let back = serde_norway::to_string(&v).unwrap();
        assert_eq!(back, "a: 10000\nb: 17\nc: '42'\nd:\n- 10.5\n- 15\n- x17\n");
        let text = "a: 017\nb: '017'\n";
        let v: Value = serde_norway::from_str(text).unwrap();
        let e = yaml12_numbers(v, text, Path::new("p.yaml")).unwrap_err();
        assert!(
            e.to_string()
                .contains("`017` written both quoted and plain"),
            "{e}"
        );
    }

    #[test]
    fn foreach_items_repeated_make_one_stage_each() {
        let dir = tempfile::tempdir().unwrap();
        let p = parse_in(
            dir.path(),
            "stages:\n  x:\n    foreach: [a, b, a]\n    do:\n      cmd: echo ${item}\n",
        )
        .unwrap();
        let names: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["x@a", "x@b"]);
    }

    #[test]
    fn vars_foreach_and_params_resolve() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("params.yaml"),
            "lr: 0.5\ntrain:\n  epochs: 3\n",
        )
        .unwrap();
        let text = "vars:\n  - n: 2\nstages:\n  a:\n    cmd: run ${n} ${train.epochs} ${lr}\n    params:\n    - lr\n    \
                    - other.json:\n      - x\n  each:\n    foreach:\n      k1: {v: 1}\n      k2: {v: 2}\n    do:\n      \
                    cmd:\n      - echo ${key} ${item.v}\n      outs:\n      - o_${key}.txt:\n          cache: false\n";
        let p = parse_in(dir.path(), text).unwrap();
        let names: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "each@k1", "each@k2"]);
        assert_eq!(p.stages[0].commands, ["run 2 3 0.5"]);
        assert_eq!(p.stages[0].params.len(), 2);
        assert_eq!(p.stages[2].commands, ["echo k2 2"]);
        assert_eq!(p.stages[2].outs[0].path, "o_k2.txt");
        assert!(!p.stages[2].outs[0].cache);
    }

    #[test]
    fn unsupported_and_bad_input_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let err = parse_in(
            dir.path(),
            "stages:\n  a:\n    cmd: x\n  b:\n    matrix:\n      x: [1]\n    cmd: y\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("dvc.yaml` line 4") && err.contains("matrix"),
            "{err}"
        );
        let err = parse_in(dir.path(), "stages:\n  a:\n    cmd: x\n    bogus: 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 4") && err.contains("bogus"), "{err}");
        let err = parse_in(dir.path(), "stages:\n  a:\n    cmd: ${nope}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("nope"), "{err}");
        let err = parse_in(dir.path(), "stages:\n  a: [\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dvc.yaml` line"), "{err}");
    }
}
