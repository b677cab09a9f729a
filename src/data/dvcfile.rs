//! `.dvc` files: reading their outputs (DVC 3 `hash: md5` and legacy DVC 2 ones), writing new
//! ones with DVC's key order and quoting, and updating existing ones in place so the user's
//! comments and other keys (`desc`, `meta`, `remote`, …) survive a re-add.

use std::path::{Path, PathBuf};

use serde_norway::Value;

use super::fsutil::write_atomic;
use super::hash::HashKind;
use super::yaml;
use super::{Error, Result};

/// One tracked output of a `.dvc` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    /// Path relative to the `.dvc` file's folder, as written.
    pub path: String,
    /// File md5 or `<md5>.dir`; `None` for an output never committed.
    pub md5: Option<String>,
    pub size: Option<u64>,
    pub nfiles: Option<u64>,
    pub isexec: bool,
    pub hash: HashKind,
    /// `cache: false` outputs are not in the cache.
    pub cache: bool,
    /// `push: false` outputs are never pushed.
    pub push: bool,
    /// A per-output remote name.
    pub remote: Option<String>,
}

impl Out {
    pub fn is_dir(&self) -> bool {
        self.md5.as_deref().is_some_and(|m| m.ends_with(".dir"))
    }
}

/// A parsed `.dvc` file.
#[derive(Debug, Clone, PartialEq)]
pub struct DvcFile {
    /// Where the file is (absolute).
    pub path: PathBuf,
    pub outs: Vec<Out>,
}

/// The hashes of a freshly added output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashes {
    pub md5: String,
    pub size: u64,
    pub nfiles: Option<u64>,
    pub isexec: bool,
}

/// The top-level keys DVC's schema allows in a `.dvc` file (`SINGLE_STAGE_SCHEMA`); it refuses
/// the file for any other.
const TOP_KEYS: [&str; 9] = [
    "md5",
    "wdir",
    "deps",
    "outs",
    "locked",
    "frozen",
    "meta",
    "always_changed",
    "desc",
];

/// The keys DVC's schema allows in an output of a `.dvc` file (`output.SCHEMA`).
const OUT_KEYS: [&str; 20] = [
    "md5",
    "checksum",
    "etag",
    "size",
    "nfiles",
    "isexec",
    "version_id",
    "path",
    "persist",
    "cloud",
    "hash",
    "desc",
    "type",
    "labels",
    "meta",
    "cache",
    "remote",
    "push",
    "files",
    "fs_config",
];

/// A YAML key as written, for messages.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_else(|_| "?".into()),
    }
}

fn malformed(path: &Path, message: impl Into<String>) -> Error {
    Error::MalformedDvcFile {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl DvcFile {
    /// Reads and validates a `.dvc` file.
    pub fn load(path: &Path) -> Result<DvcFile> {
        let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
        Self::parse(&text, path)
    }

    /// Parses `.dvc` YAML; `path` names the file in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<DvcFile> {
        let doc: Value =
            serde_norway::from_str(text).map_err(|e| malformed(path, e.to_string()))?;
        let map = match &doc {
            Value::Mapping(m) => m,
            Value::Null => return Err(malformed(path, "the file is empty")),
            _ => return Err(malformed(path, "expected a mapping with an `outs` list")),
        };
        for key in map.keys() {
            let known = key.as_str().is_some_and(|k| TOP_KEYS.contains(&k));
            if !known {
                return Err(malformed(
                    path,
                    format!(
                        "unknown key `{}` (DVC allows {})",
                        key_text(key),
                        TOP_KEYS.join(", ")
                    ),
                ));
            }
        }
        let outs = match map.get("outs") {
            Some(Value::Sequence(items)) => items,
            Some(_) => return Err(malformed(path, "`outs` must be a list")),
            None => return Err(malformed(path, "no `outs` list")),
        };
        let mut parsed = Vec::with_capacity(outs.len());
        for (i, item) in outs.iter().enumerate() {
            let m = item
                .as_mapping()
                .ok_or_else(|| malformed(path, format!("`outs[{i}]` must be a mapping")))?;
            if let Some(key) = m
                .keys()
                .find(|k| k.as_str().is_none_or(|k| !OUT_KEYS.contains(&k)))
            {
                return Err(malformed(
                    path,
                    format!(
                        "unknown key `{}` in `outs[{i}]` (DVC allows {})",
                        key_text(key),
                        OUT_KEYS.join(", ")
                    ),
                ));
            }
            let get_str = |k: &str| -> Result<Option<String>> {
                match m.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(Value::Number(n)) => Ok(Some(n.to_string())),
                    Some(Value::Bool(b)) => Ok(Some(b.to_string())),
                    Some(_) => Err(malformed(path, format!("`outs[{i}].{k}` must be a string"))),
                }
            };
            let get_u64 = |k: &str| -> Result<Option<u64>> {
                match m.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                        malformed(
                            path,
                            format!("`outs[{i}].{k}` must be a non-negative integer"),
                        )
                    }),
                }
            };
            let get_bool = |k: &str, default: bool| -> Result<bool> {
                match m.get(k) {
                    None | Some(Value::Null) => Ok(default),
                    Some(Value::Bool(b)) => Ok(*b),
                    Some(_) => Err(malformed(
                        path,
                        format!("`outs[{i}].{k}` must be true or false"),
                    )),
                }
            };
            let out_path = get_str("path")?
                .ok_or_else(|| malformed(path, format!("`outs[{i}]` has no `path`")))?;
            if out_path.is_empty() || Path::new(&out_path).is_absolute() {
                return Err(malformed(
                    path,
                    format!("`outs[{i}].path` `{out_path}` must be a relative path"),
                ));
            }
            let md5 = get_str("md5")?;
            if let Some(m) = &md5 {
                let hex = m.strip_suffix(".dir").unwrap_or(m);
                if !super::manifest::is_md5(hex) {
                    return Err(malformed(
                        path,
                        format!("`outs[{i}].md5` `{m}` is not an md5"),
                    ));
                }
            }
            let hash = match get_str("hash")?.as_deref() {
                Some("md5") => HashKind::Md5,
                None | Some("md5-dos2unix") => HashKind::Md5Dos2Unix,
                Some(other) => {
                    return Err(malformed(
                        path,
                        format!("`outs[{i}].hash: {other}` is not supported (md5 or none)"),
                    ));
                }
            };
            parsed.push(Out {
                path: out_path,
                md5,
                size: get_u64("size")?,
                nfiles: get_u64("nfiles")?,
                isexec: get_bool("isexec", false)?,
                hash,
                cache: get_bool("cache", true)?,
                push: get_bool("push", true)?,
                remote: get_str("remote")?,
            });
        }
        Ok(DvcFile {
            path: path.to_path_buf(),
            outs: parsed,
        })
    }

    /// The folder the outputs' paths are relative to.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// An output's absolute path.
    pub fn out_path(&self, out: &Out) -> PathBuf {
        super::fsutil::normalize(&self.dir().join(&out.path))
    }
}

/// The text of a new single-output `.dvc` file, byte-identical to DVC's.
pub fn render_new(out_path: &str, h: &Hashes) -> String {
    render(out_path, h, Some(h.size))
}

/// [`render_new`], with the `size` line only when the size is known.
fn render(out_path: &str, h: &Hashes, size: Option<u64>) -> String {
    let mut s = String::from("outs:\n");
    s.push_str(&format!("- md5: {}\n", h.md5));
    if let Some(size) = size {
        s.push_str(&format!("  size: {size}\n"));
    }
    if let Some(n) = h.nfiles {
        s.push_str(&format!("  nfiles: {n}\n"));
    }
    if h.isexec {
        s.push_str("  isexec: true\n");
    }
    s.push_str("  hash: md5\n");
    s.push_str(&format!("  path:{}\n", yaml::scalar(out_path, 7, 4)));
    s
}

/// Writes (or updates in place) the `.dvc` file at `dvc_path` for one output.
pub fn write(dvc_path: &Path, out_path: &str, h: &Hashes) -> Result<()> {
    write_sized(dvc_path, out_path, h, Some(h.size))
}

/// [`write`] for a folder whose total size is not known (`None`): DVC leaves `size` out after
/// some granular changes to a folder (files removed or replaced), and so does this.
pub fn write_without_size(dvc_path: &Path, out_path: &str, h: &Hashes) -> Result<()> {
    write_sized(dvc_path, out_path, h, None)
}

fn write_sized(dvc_path: &Path, out_path: &str, h: &Hashes, size: Option<u64>) -> Result<()> {
    let text = match std::fs::read_to_string(dvc_path) {
        Ok(old) => {
            DvcFile::parse(&old, dvc_path)?;
            match update_sized(&old, h, size) {
                Some(text) => text,
                None if has_user_keys(&old) => {
                    return Err(malformed(
                        dvc_path,
                        "it is not laid out as DVC writes it, so it cannot be updated in place \
                         without losing its other keys",
                    ));
                }
                None => render(out_path, h, size),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => render(out_path, h, size),
        Err(e) => return Err(Error::io("read", dvc_path)(e)),
    };
    write_atomic(dvc_path, text.as_bytes())
}

/// Whether a `.dvc` file holds anything besides what [`render_new`] writes.
fn has_user_keys(text: &str) -> bool {
    const OURS: [&str; 6] = ["md5", "size", "nfiles", "isexec", "hash", "path"];
    let Ok(Value::Mapping(top)) = serde_norway::from_str::<Value>(text) else {
        return true;
    };
    if top.keys().any(|k| k.as_str() != Some("outs")) || text.contains('#') {
        return true;
    }
    match top.get("outs") {
        Some(Value::Sequence(items)) => {
            items.len() != 1
                || items.iter().any(|i| {
                    i.as_mapping().is_none_or(|m| {
                        m.keys()
                            .any(|k| k.as_str().is_none_or(|k| !OURS.contains(&k)))
                    })
                })
        }
        _ => true,
    }
}

/// Updates the first output of an existing file in place: replaces `md5`/`size`/`nfiles`/
/// `isexec`, adds `hash: md5` after `path` when missing (as DVC does), keeps
/// everything else. `None` when the layout is not the block style DVC writes.
pub fn update_text(old: &str, h: &Hashes) -> Option<String> {
    update_sized(old, h, Some(h.size))
}

/// [`update_text`] with the size given apart (`None` drops the `size` line).
fn update_sized(old: &str, h: &Hashes, size: Option<u64>) -> Option<String> {
    let lines: Vec<&str> = old.lines().collect();
    let outs_at = lines.iter().position(|l| l.trim_end() == "outs:")?;
    let start = (outs_at + 1..lines.len()).find(|&i| lines[i].starts_with("- "))?;
    // The item ends before the next item or the next top-level line.
    let end = (start + 1..lines.len())
        .find(|&i| {
            let l = lines[i];
            l.starts_with("- ") || (!l.is_empty() && !l.starts_with(' ') && !l.starts_with('#'))
        })
        .unwrap_or(lines.len());
    let key_of = |l: &str| -> Option<String> {
        let body = l.strip_prefix("- ").or_else(|| l.strip_prefix("  "))?;
        if body.starts_with(' ') || body.starts_with('#') {
            return None;
        }
        let (k, _) = body.split_once(':')?;
        Some(k.to_string())
    };
    let mut item: Vec<String> = lines[start..end].iter().map(|l| l.to_string()).collect();
    let find =
        |item: &Vec<String>, key: &str| item.iter().position(|l| key_of(l).as_deref() == Some(key));
    let set = |item: &mut Vec<String>, key: &str, value: Option<String>, after: &[&str]| match (
        find(item, key),
        value,
    ) {
        (Some(i), Some(v)) => {
            let prefix = if item[i].starts_with("- ") {
                "- "
            } else {
                "  "
            };
            item[i] = format!("{prefix}{key}: {v}");
        }
        (Some(i), None) => {
            item.remove(i);
        }
        (None, Some(v)) => {
            let pos = after
                .iter()
                .filter_map(|k| find(item, k))
                .max()
                .map(|i| i + 1)
                .unwrap_or(item.len());
            item.insert(pos, format!("  {key}: {v}"));
        }
        (None, None) => {}
    };
    find(&item, "md5")?;
    set(&mut item, "md5", Some(h.md5.clone()), &[]);
    match (find(&item, "size"), size) {
        // A key DVC adds to an existing output goes at its end (after a granular change left
        // the folder's size out, a later add puts it back there).
        (None, Some(n)) => item.push(format!("  size: {n}")),
        (_, size) => set(&mut item, "size", size.map(|n| n.to_string()), &["md5"]),
    }
    set(
        &mut item,
        "nfiles",
        h.nfiles.map(|n| n.to_string()),
        &["md5", "size"],
    );
    set(
        &mut item,
        "isexec",
        h.isexec.then(|| "true".to_string()),
        &["md5", "size", "nfiles"],
    );
    if find(&item, "hash").is_none() {
        // DVC puts the key right after `path` (and its folded continuation lines).
        let pos = find(&item, "path").map(|i| i + 1).unwrap_or(item.len());
        let pos = (pos..item.len())
            .find(|&i| !item[i].starts_with("    "))
            .unwrap_or(item.len());
        item.insert(pos, "  hash: md5".into());
    }
    let mut out: Vec<String> = lines[..start].iter().map(|l| l.to_string()).collect();
    out.extend(item);
    out.extend(lines[end..].iter().map(|l| l.to_string()));
    let mut text = out.join("\n");
    text.push('\n');
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(md5: &str, size: u64) -> Hashes {
        Hashes {
            md5: md5.into(),
            size,
            nfiles: None,
            isexec: false,
        }
    }

    #[test]
    fn new_file_matches_dvc_bytes() {
        assert_eq!(
            render_new("data.csv", &h("822cc15c8c63a3c432a2b77e8dcaf782", 23)),
            "outs:\n- md5: 822cc15c8c63a3c432a2b77e8dcaf782\n  size: 23\n  hash: md5\n  path: data.csv\n"
        );
        let dir = Hashes {
            md5: "eb23ad1f5bab90a23ae69a10e66c7285.dir".into(),
            size: 19,
            nfiles: Some(7),
            isexec: false,
        };
        assert_eq!(
            render_new("dir", &dir),
            "outs:\n- md5: eb23ad1f5bab90a23ae69a10e66c7285.dir\n  size: 19\n  nfiles: 7\n  hash: md5\n  path: dir\n"
        );
        let exec = Hashes {
            isexec: true,
            ..h("46bbbe8aa98cc0714426e948474eaaf4", 18)
        };
        assert_eq!(
            render_new("run.sh", &exec),
            "outs:\n- md5: 46bbbe8aa98cc0714426e948474eaaf4\n  size: 18\n  isexec: true\n  hash: md5\n  path: run.sh\n"
        );
    }

    #[test]
    fn update_keeps_comments_and_other_keys_and_appends_hash() {
        let old = "# my comment\nouts:\n- md5: 1f87ef17ae7086d8cf9fcc17dd02baba\n  size: 10\n  path: legacy.txt\n  desc: my data   # inline\n  meta:\n    owner: me\nmeta:\n  top: level\n";
        let new = update_text(old, &h("0123456789abcdef0123456789abcdef", 11)).unwrap();
        assert_eq!(
            new,
            "# my comment\nouts:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 11\n  path: legacy.txt\n  hash: md5\n  desc: my data   # inline\n  meta:\n    owner: me\nmeta:\n  top: level\n"
        );
        let parsed = DvcFile::parse(&new, Path::new("x.dvc")).unwrap();
        assert_eq!(parsed.outs[0].hash, HashKind::Md5);
    }

    #[test]
    fn a_folder_size_left_out_comes_back_at_the_end_as_dvc_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data.dvc");
        let folder = |md5: &str| Hashes {
            md5: md5.into(),
            size: 11,
            nfiles: Some(3),
            isexec: false,
        };
        std::fs::write(
            &p,
            render_new("data", &folder("8b47a3ae5a3ae112fbd9f7b236d71d4e.dir")),
        )
        .unwrap();
        write_without_size(&p, "data", &folder("8b47a3ae5a3ae112fbd9f7b236d71d4e.dir")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "outs:\n- md5: 8b47a3ae5a3ae112fbd9f7b236d71d4e.dir\n  nfiles: 3\n  hash: md5\n  path: data\n"
        );
        write(&p, "data", &folder("8b47a3ae5a3ae112fbd9f7b236d71d4e.dir")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "outs:\n- md5: 8b47a3ae5a3ae112fbd9f7b236d71d4e.dir\n  nfiles: 3\n  hash: md5\n  path: data\n  size: 11\n"
        );
    }

    #[test]
    fn keys_dvc_does_not_allow_are_refused_naming_the_file() {
        let ok = "outs:\n- md5: 1f87ef17ae7086d8cf9fcc17dd02baba\n  path: a\n  desc: d\nfrozen: true\nmeta: {x: 1}\n";
        DvcFile::parse(ok, Path::new("a.dvc")).unwrap();
        for (text, key) in [
            ("outs:\n- path: a\nbogus: 1\n", "bogus"),
            ("outs:\n- path: a\n  extra: 2\n", "extra"),
        ] {
            let err = DvcFile::parse(text, Path::new("dir/a.dvc"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("unknown key `{key}`")) && err.contains("dir/a.dvc"),
                "{err}"
            );
        }
    }

    #[test]
    fn parse_reads_legacy_and_flags() {
        let f = DvcFile::parse(
            "outs:\n- md5: 1f87ef17ae7086d8cf9fcc17dd02baba\n  path: '123'\n  remote: s3\n  push: false\n",
            Path::new("/r/a.dvc"),
        )
        .unwrap();
        let o = &f.outs[0];
        assert_eq!(o.path, "123");
        assert_eq!(o.hash, HashKind::Md5Dos2Unix);
        assert_eq!(o.remote.as_deref(), Some("s3"));
        assert!(!o.push);
    }

    #[test]
    fn malformed_files_name_the_problem() {
        for (text, needle) in [
            ("", "empty"),
            ("outs: 3\n", "must be a list"),
            ("outs:\n- md5: zz\n  path: a\n", "is not an md5"),
            (
                "outs:\n- md5: 1f87ef17ae7086d8cf9fcc17dd02baba\n",
                "has no `path`",
            ),
            ("outs:\n- path: /etc/passwd\n", "relative path"),
            ("outs: [\n", "x.dvc"),
        ] {
            let err = DvcFile::parse(text, Path::new("x.dvc"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
