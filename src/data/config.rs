//! `.dvc/config` and `.dvc/config.local` read and written as DVC (configobj) does: `[core]`,
//! `['remote "name"']` sections, 4-space indented `key = value` lines, quoted values with commas,
//! comments kept. Levels merge system < global < repo < local, like `dvc config`. Section names
//! and keys match case-insensitively, as DVC lowercases them when it reads a config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Error, Result};

/// Which of DVC's config files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigLevel {
    System,
    Global,
    Repo,
    Local,
}

impl ConfigLevel {
    /// The file of this level for a repository whose `.dvc` folder is `dvc_dir`.
    pub fn path(self, dvc_dir: &Path) -> Option<PathBuf> {
        match self {
            ConfigLevel::System => Some(PathBuf::from("/etc/xdg/dvc/config")),
            ConfigLevel::Global => {
                let base = std::env::var_os("XDG_CONFIG_HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config"))
                    })?;
                Some(base.join("dvc").join("config"))
            }
            ConfigLevel::Repo => Some(dvc_dir.join("config")),
            ConfigLevel::Local => Some(dvc_dir.join("config.local")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Comment lines directly above the entry, kept verbatim.
    comments: Vec<String>,
    key: String,
    value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Section {
    comments: Vec<String>,
    name: String,
    entries: Vec<Entry>,
}

/// One config file, editable in place without losing its comments or order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    /// Comment lines before the first section.
    initial: Vec<String>,
    sections: Vec<Section>,
    /// Comment lines after the last entry.
    trailing: Vec<String>,
}

/// The section name DVC uses for a remote: `remote "name"`.
pub fn remote_section(name: &str) -> String {
    format!("remote \"{name}\"")
}

impl ConfigFile {
    /// Reads `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io("read", path)(e)),
        }
    }

    /// Parses configobj INI text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut cfg = ConfigFile::default();
        let mut pending: Vec<String> = Vec::new();
        let bad = |line: usize, message: String| Error::Config {
            path: path.to_path_buf(),
            line,
            message,
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                pending.push(raw.to_string());
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let inner = rest
                    .strip_suffix(']')
                    .ok_or_else(|| bad(i + 1, format!("section header `{line}` lacks `]`")))?;
                if inner.starts_with('[') {
                    return Err(bad(i + 1, "nested sections are not used by DVC".into()));
                }
                let name = unquote(inner.trim());
                let comments = std::mem::take(&mut pending);
                if cfg.sections.is_empty() {
                    cfg.initial = comments;
                    cfg.sections.push(Section {
                        comments: Vec::new(),
                        name,
                        entries: Vec::new(),
                    });
                } else {
                    cfg.sections.push(Section {
                        comments,
                        name,
                        entries: Vec::new(),
                    });
                }
                continue;
            }
            let (key, value) = line.split_once('=').ok_or_else(|| {
                // Never echo a whole line: it could hold a credential.
                let shown: String = line.chars().take(24).collect();
                let more = if line.chars().count() > 24 { "…" } else { "" };
                bad(
                    i + 1,
                    format!("expected `key = value`, found `{shown}{more}`"),
                )
            })?;
            let section = cfg.sections.last_mut().ok_or_else(|| {
                // The key only: the value could be a credential.
                bad(
                    i + 1,
                    format!("`{}` is set outside any [section]", key.trim()),
                )
            })?;
            section.entries.push(Entry {
                comments: std::mem::take(&mut pending),
                key: key.trim().to_string(),
                value: parse_value(value.trim()),
            });
        }
        cfg.trailing = pending;
        Ok(cfg)
    }

    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// The value of `key` in `section`.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.section(section)?
            .entries
            .iter()
            .find(|e| e.key.eq_ignore_ascii_case(key))
            .map(|e| e.value.as_str())
    }

    /// Every `key = value` of `section` in file order.
    pub fn entries(&self, section: &str) -> Vec<(&str, &str)> {
        self.section(section)
            .map(|s| {
                s.entries
                    .iter()
                    .map(|e| (e.key.as_str(), e.value.as_str()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Names of all sections in file order.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|s| s.name.as_str())
    }

    pub fn has_section(&self, section: &str) -> bool {
        self.section(section).is_some()
    }

    fn section(&self, name: &str) -> Option<&Section> {
        self.section_index(name).map(|i| &self.sections[i])
    }

    /// Where the section `name` is, its case ignored (DVC lowercases section names on read).
    fn section_index(&self, name: &str) -> Option<usize> {
        self.sections
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// Sets `key` in `section`, creating either at the end when missing.
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        let idx = match self.section_index(section) {
            Some(i) => i,
            None => {
                self.sections.push(Section {
                    comments: Vec::new(),
                    name: section.to_string(),
                    entries: Vec::new(),
                });
                self.sections.len() - 1
            }
        };
        let entries = &mut self.sections[idx].entries;
        match entries.iter_mut().find(|e| e.key.eq_ignore_ascii_case(key)) {
            Some(e) => e.value = value.to_string(),
            None => entries.push(Entry {
                comments: Vec::new(),
                key: key.to_string(),
                value: value.to_string(),
            }),
        }
    }

    /// Removes `key` from `section`, and the section once it is empty (as `dvc config --unset`).
    /// Returns whether anything was removed.
    pub fn unset(&mut self, section: &str, key: &str) -> bool {
        let Some(idx) = self.section_index(section) else {
            return false;
        };
        let before = self.sections[idx].entries.len();
        self.sections[idx]
            .entries
            .retain(|e| !e.key.eq_ignore_ascii_case(key));
        let removed = self.sections[idx].entries.len() != before;
        if self.sections[idx].entries.is_empty() {
            self.sections.remove(idx);
        }
        removed
    }

    /// Removes a whole section; returns whether it existed.
    pub fn remove_section(&mut self, section: &str) -> bool {
        let before = self.sections.len();
        self.sections
            .retain(|s| !s.name.eq_ignore_ascii_case(section));
        before != self.sections.len()
    }

    /// Renames a section in place; returns whether it existed.
    pub fn rename_section(&mut self, from: &str, to: &str) -> bool {
        match self.section_index(from) {
            Some(i) => {
                self.sections[i].name = to.to_string();
                true
            }
            None => false,
        }
    }

    /// The file's text exactly as configobj writes it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.initial {
            out.push_str(c);
            out.push('\n');
        }
        for s in &self.sections {
            for c in &s.comments {
                out.push_str(c);
                out.push('\n');
            }
            out.push('[');
            out.push_str(&quote_section(&s.name));
            out.push_str("]\n");
            for e in &s.entries {
                for c in &e.comments {
                    out.push_str(c);
                    out.push('\n');
                }
                out.push_str("    ");
                out.push_str(&e.key);
                out.push_str(" = ");
                out.push_str(&quote_value(&e.value));
                out.push('\n');
            }
        }
        for c in &self.trailing {
            out.push_str(c);
            out.push('\n');
        }
        out
    }

    /// Writes the file atomically (temp file + rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        super::fsutil::write_atomic(path, self.render().as_bytes())
    }
}

fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

/// A value: quoted text is taken literally, unquoted text loses an inline `# comment`.
fn parse_value(s: &str) -> String {
    let b = s.as_bytes();
    if let Some(&q) = b.first()
        && (q == b'"' || q == b'\'')
        && let Some(end) = s[1..].find(q as char)
    {
        return s[1..1 + end].to_string();
    }
    match s.find(" #") {
        Some(i) => s[..i].trim_end().to_string(),
        None => s.to_string(),
    }
}

fn quote_section(name: &str) -> String {
    if name.contains('"') {
        format!("'{name}'")
    } else if name.contains('\'') || name.contains('[') || name.contains(']') {
        format!("\"{name}\"")
    } else {
        name.to_string()
    }
}

/// configobj's quoting of a value when list values are on: empty, commas, `#`, quotes and
/// surrounding white space need quotes.
fn quote_value(value: &str) -> String {
    let needs = value.is_empty()
        || value.contains(',')
        || value.contains('#')
        || value.contains('"')
        || value.contains('\'')
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace);
    if !needs {
        return value.to_string();
    }
    if value.contains('"') {
        format!("'{value}'")
    } else {
        format!("\"{value}\"")
    }
}

/// DVC's merged view of all config levels of one repository.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Per level, the parsed file (missing files are empty).
    pub files: BTreeMap<ConfigLevel, ConfigFile>,
    dvc_dir: PathBuf,
}

/// One remote's merged settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    pub name: String,
    /// The URL as written, with a relative local path resolved against its config file's folder.
    pub url: String,
    /// Every other option (`endpointurl`, `region`, `profile`, credentials…).
    pub options: BTreeMap<String, String>,
}

impl Config {
    /// Reads every level for the repository whose `.dvc` folder is `dvc_dir`.
    pub fn load(dvc_dir: &Path) -> Result<Self> {
        let mut files = BTreeMap::new();
        for level in [
            ConfigLevel::System,
            ConfigLevel::Global,
            ConfigLevel::Repo,
            ConfigLevel::Local,
        ] {
            if let Some(path) = level.path(dvc_dir) {
                files.insert(level, ConfigFile::load(&path)?);
            }
        }
        Ok(Config {
            files,
            dvc_dir: dvc_dir.to_path_buf(),
        })
    }

    /// The value of `section.key` from the most specific level that sets it.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.files.values().rev().find_map(|f| f.get(section, key))
    }

    /// A path setting (like `cache.dir`), resolved against its config file's folder.
    pub fn get_path(&self, section: &str, key: &str) -> Option<PathBuf> {
        self.files.iter().rev().find_map(|(level, f)| {
            f.get(section, key)
                .map(|v| PathBuf::from(resolve_url(v, *level, &self.dvc_dir)))
        })
    }

    /// The default remote's name (`core.remote`).
    pub fn default_remote(&self) -> Option<&str> {
        self.get("core", "remote")
    }

    /// Names of all remotes across levels, sorted.
    pub fn remote_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .files
            .values()
            .flat_map(|f| f.section_names())
            .filter_map(|s| {
                let lower = s.to_ascii_lowercase();
                let name = lower.strip_prefix("remote \"")?.strip_suffix('"')?;
                Some(name.to_string())
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The merged settings of remote `name`.
    pub fn remote(&self, name: &str) -> Result<RemoteConfig> {
        let section = remote_section(name);
        let mut options = BTreeMap::new();
        let mut url = None;
        for (level, file) in &self.files {
            for (k, v) in file.entries(&section) {
                let k = k.to_ascii_lowercase();
                if k == "url" {
                    url = Some(resolve_url(v, *level, &self.dvc_dir));
                } else {
                    options.insert(k, v.to_string());
                }
            }
        }
        match url {
            Some(url) => Ok(RemoteConfig {
                name: name.to_string(),
                url,
                options,
            }),
            None => Err(Error::UnknownRemote {
                name: name.to_string(),
                known: self.remote_names(),
            }),
        }
    }
}

/// `~` and `~/…` expanded to the home folder (as DVC's config does); `None` for other values.
pub fn expand_home(path: &str) -> Option<String> {
    let rest = if path == "~" {
        ""
    } else {
        path.strip_prefix("~/")?
    };
    let home = std::env::var_os("HOME")?;
    Some(Path::new(&home).join(rest).to_string_lossy().into_owned())
}

/// A local remote path written relative is relative to the folder of the config file.
fn resolve_url(url: &str, level: ConfigLevel, dvc_dir: &Path) -> String {
    if url.contains("://") || Path::new(url).is_absolute() {
        return url.to_string();
    }
    if let Some(expanded) = expand_home(url) {
        return expanded;
    }
    let base = level
        .path(dvc_dir)
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| dvc_dir.to_path_buf());
    super::fsutil::normalize(&base.join(url))
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_remote_add_exactly_as_dvc() {
        let mut cfg = ConfigFile::default();
        cfg.set("core", "remote", "myremote");
        cfg.set(&remote_section("myremote"), "url", "/tmp/remote");
        assert_eq!(
            cfg.render(),
            "[core]\n    remote = myremote\n['remote \"myremote\"']\n    url = /tmp/remote\n"
        );
    }

    #[test]
    fn round_trips_comments_quotes_and_order() {
        let text = "# top\n[core]\n    remote = s3\n    # why\n['remote \"s3\"']\n    url = s3://b/p\n    secret_access_key = se cr=et\n[cache]\n    type = \"reflink,copy\"\n";
        let cfg = ConfigFile::parse(text, Path::new("config")).unwrap();
        assert_eq!(cfg.get("cache", "type"), Some("reflink,copy"));
        assert_eq!(
            cfg.get("remote \"s3\"", "secret_access_key"),
            Some("se cr=et")
        );
        assert_eq!(cfg.render(), text);
    }

    #[test]
    fn sections_and_keys_match_whatever_their_case_as_dvc_lowercases_them() {
        let text =
            "[Core]\n    Remote = Store\n['remote \"Store\"']\n    URL = /tmp/r\n    Region = x\n";
        let mut cfg = ConfigFile::parse(text, Path::new("config")).unwrap();
        assert_eq!(cfg.get("core", "remote"), Some("Store"));
        assert_eq!(cfg.get(&remote_section("store"), "url"), Some("/tmp/r"));
        // An update changes the existing line instead of adding a second one.
        cfg.set("core", "remote", "other");
        assert_eq!(
            cfg.render().matches("emote = ").count(),
            1,
            "{}",
            cfg.render()
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config"), text).unwrap();
        let merged = Config::load(dir.path()).unwrap();
        assert_eq!(merged.remote_names(), vec!["store".to_string()]);
        let rc = merged.remote("store").unwrap();
        assert_eq!(rc.url, "/tmp/r");
        assert_eq!(rc.options.get("region").map(String::as_str), Some("x"));
    }

    #[test]
    fn unset_drops_empty_section() {
        let mut cfg = ConfigFile::parse("[cache]\n    type = copy\n", Path::new("c")).unwrap();
        assert!(cfg.unset("cache", "type"));
        assert_eq!(cfg.render(), "");
    }

    #[test]
    fn a_value_outside_any_section_is_not_echoed() {
        let err = ConfigFile::parse(
            "secret_access_key = s3cret\n",
            Path::new(".dvc/config.local"),
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(
            err.contains("`secret_access_key` is set outside any [section]"),
            "{err}"
        );
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let err = ConfigFile::parse("[core]\n    oops\n", Path::new(".dvc/config")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Malformed DVC config `.dvc/config` (line 2): expected `key = value`, found `oops`"
        );
    }

    #[test]
    fn relative_remote_url_is_relative_to_config_folder() {
        let dvc = Path::new("/repo/.dvc");
        assert_eq!(resolve_url("../../store", ConfigLevel::Repo, dvc), "/store");
        assert_eq!(resolve_url("s3://b/x", ConfigLevel::Repo, dvc), "s3://b/x");
    }
}
