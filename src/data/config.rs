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
            ConfigLevel::System => {
                if let Some(dir) = env_dir("DVC_SYSTEM_CONFIG_DIR") {
                    return Some(dir.join("config"));
                }
                // platformdirs' `site_config_dir`: the first of `XDG_CONFIG_DIRS`, else /etc/xdg.
                let base = std::env::var("XDG_CONFIG_DIRS")
                    .ok()
                    .and_then(|v| v.split(':').find(|d| !d.is_empty()).map(PathBuf::from))
                    .unwrap_or_else(|| PathBuf::from("/etc/xdg"));
                Some(base.join("dvc").join("config"))
            }
            ConfigLevel::Global => {
                if let Some(dir) = env_dir("DVC_GLOBAL_CONFIG_DIR") {
                    return Some(dir.join("config"));
                }
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

/// A folder named by an environment variable, when it is set and not empty.
fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
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

    /// Sets `key` in `section`, creating either when missing: a new key at the end of its
    /// section; a new section where DVC's writer puts it (plain sections like `[core]` before
    /// the named `remote "…"`, `machine "…"` and `db "…"` ones, named ones at the end).
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        let idx = match self.section_index(section) {
            Some(i) => i,
            None => {
                let at = if named_section(section).is_some() {
                    self.sections.len()
                } else {
                    self.sections
                        .iter()
                        .position(|s| named_section(&s.name).is_some())
                        .unwrap_or(self.sections.len())
                };
                self.sections.insert(
                    at,
                    Section {
                        comments: Vec::new(),
                        name: section.to_string(),
                        entries: Vec::new(),
                    },
                );
                at
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

    /// Renames a section and moves it to the end, where DVC's writer puts a renamed remote.
    fn rename_section_to_end(&mut self, from: &str, to: &str) -> bool {
        match self.section_index(from) {
            Some(i) => {
                let mut s = self.sections.remove(i);
                s.name = to.to_string();
                self.sections.push(s);
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

    /// Every option as `dvc config --list` names it (`remote.name.key`, `section.key`), in
    /// the order DVC reads them: the named sections (`remote`, `machine`, `db`) first, then
    /// the plain ones, each in file order; names lowercased as DVC lowercases them on read.
    pub fn flatten(&self) -> Vec<(String, String)> {
        let mut named: Vec<(String, String)> = Vec::new();
        let mut plain: Vec<(String, String)> = Vec::new();
        for kind in ["remote", "machine", "db"] {
            for s in &self.sections {
                if let Some((k, name)) = named_section(&s.name)
                    && k == kind
                {
                    for e in &s.entries {
                        let key = format!("{k}.{}.{}", name.to_lowercase(), e.key.to_lowercase());
                        named.push((key, e.value.clone()));
                    }
                }
            }
        }
        for s in &self.sections {
            if named_section(&s.name).is_none() {
                let section = s.name.trim().to_lowercase();
                for e in &s.entries {
                    plain.push((
                        format!("{section}.{}", e.key.to_lowercase()),
                        e.value.clone(),
                    ));
                }
            }
        }
        named.extend(plain);
        named
    }

    /// Writes the file atomically (temp file + rename). An empty config is written as one
    /// newline, as DVC's writer (configobj) leaves it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = self.render();
        let text = if text.is_empty() {
            "\n".to_string()
        } else {
            text
        };
        super::fsutil::write_atomic(path, text.as_bytes())
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
pub fn resolve_url(url: &str, level: ConfigLevel, dvc_dir: &Path) -> String {
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

/// `remote "name"`, `machine "name"` or `db "name"` as `(kind, name)`, the way DVC splits its
/// named sections (kind lowercased).
fn named_section(section: &str) -> Option<(String, String)> {
    let s = section.trim();
    let end = s.find(|c: char| c.is_whitespace() || c == '"')?;
    let kind = s[..end].to_ascii_lowercase();
    if !matches!(kind.as_str(), "remote" | "machine" | "db") {
        return None;
    }
    let rest = s[end..].trim_start();
    let name = rest.strip_prefix('"')?.trim_end().strip_suffix('"')?;
    Some((kind, name.to_string()))
}

/// How DVC's config schema (`dvc/config_schema.py`) checks one value. Every value read from a
/// config file is a string, so a check that wants a Python `bool` or `int` object refuses
/// anything written there.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// Any text.
    Str,
    /// `true` or `false`, any case.
    Bool,
    /// A Python `int(…)` literal, optionally bounded.
    Int(Option<i64>, Option<i64>),
    /// A Python `float(…)` literal, optionally at least the bound.
    Float(Option<f64>),
    /// One of these words, any case.
    Choice(&'static [&'static str]),
    /// A comma-separated list of link types.
    CacheType,
    /// A Python object of this type, which text never is.
    Object(&'static str),
}

use Check::{Bool, CacheType, Choice, Float, Int, Object, Str};

type Keys = &'static [(&'static str, Check)];

const REMOTE_COMMON: Keys = &[
    ("url", Str),
    ("checksum_jobs", Int(Some(1), None)),
    ("jobs", Int(Some(1), None)),
    ("worktree", Bool),
    ("no_traverse", Bool),
    ("version_aware", Bool),
];
const LOCAL_COMMON: Keys = &[
    ("type", CacheType),
    ("protected", Bool),
    ("shared", Choice(&["group"])),
    ("slow_link_warning", Bool),
    ("verify", Bool),
];
const HTTP: Keys = &[
    ("auth", Choice(&["basic", "digest", "custom"])),
    ("custom_auth_header", Str),
    ("user", Str),
    ("password", Str),
    ("ask_password", Bool),
    ("ssl_verify", Str),
    ("method", Str),
    ("connect_timeout", Float(Some(0.0))),
    ("read_timeout", Float(Some(0.0))),
    ("verify", Bool),
];
const WEBDAV: Keys = &[
    ("user", Str),
    ("password", Str),
    ("ask_password", Bool),
    ("token", Str),
    ("bearer_token_command", Str),
    ("custom_auth_header", Str),
    ("cert_path", Str),
    ("key_path", Str),
    ("timeout", Int(None, None)),
    ("ssl_verify", Str),
    ("verify", Bool),
];
const S3: Keys = &[
    ("region", Str),
    ("profile", Str),
    ("credentialpath", Str),
    ("configpath", Str),
    ("endpointurl", Str),
    ("access_key_id", Str),
    ("secret_access_key", Str),
    ("session_token", Str),
    ("listobjects", Bool),
    ("use_ssl", Bool),
    ("allow_anonymous_login", Bool),
    ("ssl_verify", Str),
    ("sse", Str),
    ("sse_kms_key_id", Str),
    ("sse_customer_algorithm", Str),
    ("sse_customer_key", Str),
    ("acl", Str),
    ("grant_read", Str),
    ("grant_read_acp", Str),
    ("grant_write_acp", Str),
    ("grant_full_control", Str),
    ("cache_regions", Object("bool")),
    ("read_timeout", Int(None, None)),
    ("connect_timeout", Int(None, None)),
    ("verify", Bool),
];
const GS: Keys = &[
    ("projectname", Str),
    ("credentialpath", Str),
    ("endpointurl", Str),
    ("verify", Bool),
    ("allow_anonymous_login", Bool),
];
const SSH: Keys = &[
    ("type", CacheType),
    ("port", Int(None, None)),
    ("user", Str),
    ("password", Str),
    ("ask_password", Bool),
    ("passphrase", Str),
    ("ask_passphrase", Bool),
    ("keyfile", Str),
    ("timeout", Int(None, None)),
    ("gss_auth", Bool),
    ("allow_agent", Bool),
    ("max_sessions", Int(None, None)),
    ("verify", Bool),
];
const HDFS: Keys = &[
    ("user", Str),
    ("kerb_ticket", Str),
    ("replication", Object("int")),
];
const WEBHDFS: Keys = &[
    ("kerberos", Bool),
    ("kerberos_principal", Str),
    ("proxy_to", Str),
    ("ssl_verify", Str),
    ("token", Str),
    ("use_https", Bool),
    ("user", Str),
    ("password", Str),
    ("data_proxy_target", Str),
    ("verify", Bool),
];
const AZURE: Keys = &[
    ("connection_string", Str),
    ("sas_token", Str),
    ("account_name", Str),
    ("account_key", Str),
    ("tenant_id", Str),
    ("client_id", Str),
    ("client_secret", Str),
    ("allow_anonymous_login", Bool),
    ("exclude_environment_credential", Bool),
    ("exclude_visual_studio_code_credential", Bool),
    ("exclude_shared_token_cache_credential", Bool),
    ("exclude_managed_identity_credential", Bool),
    ("verify", Bool),
    ("timeout", Int(None, None)),
    ("read_timeout", Int(None, None)),
    ("connection_timeout", Int(None, None)),
];
const OSS: Keys = &[
    ("oss_key_id", Str),
    ("oss_key_secret", Str),
    ("oss_endpoint", Str),
    ("verify", Bool),
];
const GDRIVE: Keys = &[
    ("profile", Str),
    ("gdrive_use_service_account", Bool),
    ("gdrive_client_id", Str),
    ("gdrive_client_secret", Str),
    ("gdrive_user_credentials_file", Str),
    ("gdrive_service_account_user_email", Str),
    ("gdrive_service_account_json_file_path", Str),
    ("gdrive_trash_only", Bool),
    ("gdrive_acknowledge_abuse", Bool),
    ("verify", Bool),
];

const CORE: Keys = &[
    ("remote", Str),
    ("checksum_jobs", Int(Some(1), None)),
    ("interactive", Bool),
    ("analytics", Bool),
    ("hardlink_lock", Bool),
    ("no_scm", Bool),
    ("autostage", Bool),
    ("experiments", Bool),
    ("check_update", Bool),
    ("site_cache_dir", Str),
    ("machine", Str),
];
const CACHE: Keys = &[
    ("local", Str),
    ("s3", Str),
    ("gs", Str),
    ("hdfs", Str),
    ("webhdfs", Str),
    ("ssh", Str),
    ("azure", Str),
    ("dir", Str),
];
const STATE: Keys = &[
    ("dir", Str),
    ("row_limit", Int(Some(1), None)),
    ("row_cleanup_quota", Int(Some(0), Some(100))),
];
const INDEX: Keys = &[("dir", Str)];
const MACHINE: Keys = &[
    ("cloud", Choice(&["aws", "azure"])),
    (
        "region",
        Choice(&["us-west", "us-east", "eu-west", "eu-north"]),
    ),
    ("image", Str),
    ("spot", Bool),
    ("spot_price", Float(None)),
    ("instance_hdd_size", Int(None, None)),
    ("instance_type", Str),
    ("instance_gpu", Str),
    ("ssh_private", Str),
    ("startup_script", Str),
    ("setup_script", Str),
];
const PLOTS: Keys = &[
    ("html_template", Str),
    ("auto_open", Bool),
    ("out_dir", Str),
];
const EXP: Keys = &[
    ("code", Str),
    ("data", Str),
    ("models", Str),
    ("metrics", Str),
    ("params", Str),
    ("plots", Str),
    ("live", Str),
    ("auto_push", Bool),
    ("git_remote", Str),
];
const PARSING: Keys = &[
    ("bool", Choice(&["store_true", "boolean_optional"])),
    ("list", Choice(&["nargs", "append"])),
];
const HYDRA: Keys = &[
    ("enabled", Bool),
    ("config_dir", Str),
    ("config_module", Str),
    ("config_name", Str),
    ("plugins_path", Str),
];
const STUDIO: Keys = &[
    ("token", Str),
    ("url", Str),
    ("repo_url", Str),
    ("offline", Bool),
];
const DB: Keys = &[("url", Str), ("username", Str), ("password", Str)];

/// The option tables of a remote whose URL has this scheme (`""` for a local folder), as DVC
/// picks them: by the scheme only when the URL has a host part.
fn remote_schema(url: &str) -> std::result::Result<(&'static str, Vec<Keys>), String> {
    let (scheme, has_host) = match url.split_once(':') {
        Some((s, rest))
            if s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            let host = rest
                .strip_prefix("//")
                .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
            (s.to_ascii_lowercase(), host.is_some_and(|h| !h.is_empty()))
        }
        _ => (String::new(), url.starts_with("//") && url.len() > 2),
    };
    if !has_host {
        return Ok(("local", vec![LOCAL_COMMON, REMOTE_COMMON]));
    }
    Ok(match scheme.as_str() {
        "" => ("local", vec![LOCAL_COMMON, REMOTE_COMMON]),
        "s3" => ("s3", vec![S3, REMOTE_COMMON]),
        "gs" => ("gs", vec![GS, REMOTE_COMMON]),
        "ssh" => ("ssh", vec![SSH, REMOTE_COMMON]),
        "hdfs" => ("hdfs", vec![HDFS, REMOTE_COMMON]),
        "webhdfs" => ("webhdfs", vec![WEBHDFS, REMOTE_COMMON]),
        "azure" => ("azure", vec![AZURE, REMOTE_COMMON]),
        "oss" => ("oss", vec![OSS, REMOTE_COMMON]),
        "gdrive" => ("gdrive", vec![GDRIVE, REMOTE_COMMON]),
        "http" | "https" => ("http", vec![HTTP, REMOTE_COMMON]),
        "webdav" | "webdavs" => ("webdav", vec![WEBDAV, REMOTE_COMMON]),
        "remote" => ("remote", Vec::new()),
        other => return Err(format!("Unsupported URL type {other}://")),
    })
}

/// The options a remote with this URL accepts, sorted (for hints).
pub fn remote_options(url: &str) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = remote_schema(url)
        .map(|(_, tables)| {
            tables
                .iter()
                .flat_map(|t| t.iter().map(|(k, _)| *k))
                .collect()
        })
        .unwrap_or_default();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Python's `int(text)`: white space around, a sign, digits with single `_` between them.
fn py_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let n: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `float(text)` (close enough: Rust's grammar plus `_` between digits).
fn py_float(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.contains("__") || t.starts_with('_') || t.ends_with('_') {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// Checks one value; the error is voluptuous' message.
fn check_value(check: Check, value: &str) -> std::result::Result<(), String> {
    let lower = value.to_lowercase();
    match check {
        Str => Ok(()),
        Bool if lower == "true" || lower == "false" => Ok(()),
        Bool => Err("expected true or false".into()),
        Int(min, max) => {
            let n = py_int(value).ok_or("expected int")?;
            match (min, max) {
                (Some(m), _) if n < m => Err(format!("value must be at least {m}")),
                (_, Some(m)) if n > m => Err(format!("value must be at most {m}")),
                _ => Ok(()),
            }
        }
        Float(min) => {
            let x = py_float(value).ok_or("expected float")?;
            match min {
                Some(m) if x.is_nan() || x < m => Err(format!("value must be at least {m}")),
                _ => Ok(()),
            }
        }
        Choice(words) if words.contains(&lower.as_str()) => Ok(()),
        Choice(words) => Err(format!("expected one of {}", words.join(", "))),
        CacheType => {
            let bad: Vec<&str> = value
                .split(',')
                .map(str::trim)
                .filter(|t| !["reflink", "hardlink", "symlink", "copy"].contains(t))
                .collect();
            if bad.is_empty() {
                Ok(())
            } else {
                Err(format!("Unsupported cache type(s): {}", bad.join(", ")))
            }
        }
        Object(kind) => Err(format!("expected {kind}")),
    }
}

/// `data['a']['b']`, voluptuous' way of saying where.
fn at(path: &[&str]) -> String {
    let mut s = String::from("data");
    for p in path {
        s.push_str(&format!("['{p}']"));
    }
    s
}

/// Checks a section's keys against its tables; unknown keys are refused unless `extra_ok`.
fn check_keys(
    path: &[&str],
    entries: &BTreeMap<String, String>,
    tables: &[Keys],
    extra_ok: bool,
) -> std::result::Result<(), String> {
    for (key, value) in entries {
        let found = tables
            .iter()
            .find_map(|t| t.iter().find(|(k, _)| k == key).map(|(_, c)| *c));
        let mut here = path.to_vec();
        here.push(key);
        match found {
            Some(check) => check_value(check, value)
                .map_err(|m| format!("{m} for dictionary value @ {}", at(&here)))?,
            None if extra_ok => {}
            None => return Err(format!("extra keys not allowed @ {}", at(&here))),
        }
    }
    Ok(())
}

/// DVC's merged view of some config levels: `section → key → value`, with named sections as
/// `(kind, name)`. Section names and keys read from files are lowercased, as DVC reads them.
#[derive(Debug, Default)]
struct Merged {
    plain: BTreeMap<String, BTreeMap<String, String>>,
    named: BTreeMap<(String, String), BTreeMap<String, String>>,
}

impl Merged {
    fn of<'a>(files: impl IntoIterator<Item = &'a ConfigFile>) -> Merged {
        let mut m = Merged::default();
        for f in files {
            for s in &f.sections {
                let lower = s.name.to_lowercase();
                let into = match named_section(&lower) {
                    Some(key) => m.named.entry(key).or_default(),
                    None => m.plain.entry(lower.trim().to_string()).or_default(),
                };
                for e in &s.entries {
                    into.insert(e.key.to_lowercase(), e.value.clone());
                }
            }
        }
        m
    }

    /// The first way this config breaks DVC's schema, in voluptuous' words.
    fn validate(&self) -> std::result::Result<(), String> {
        for (section, entries) in &self.plain {
            let path = [section.as_str()];
            match section.as_str() {
                "core" => check_keys(&path, entries, &[CORE], false)?,
                "cache" => check_keys(&path, entries, &[CACHE, LOCAL_COMMON], false)?,
                "state" => check_keys(&path, entries, &[STATE], false)?,
                "index" => check_keys(&path, entries, &[INDEX], false)?,
                "feature" => check_keys(&path, entries, &[&[("machine", Bool)]], true)?,
                "plots" => check_keys(&path, entries, &[PLOTS], false)?,
                "exp" => check_keys(&path, entries, &[EXP], false)?,
                "parsing" => check_keys(&path, entries, &[PARSING], false)?,
                "hydra" => {
                    check_keys(&path, entries, &[HYDRA], false)?;
                    if entries.contains_key("config_dir") && entries.contains_key("config_module") {
                        return Err(format!(
                            "two or more values in the same group of exclusion 'config_source' @ {}",
                            at(&path)
                        ));
                    }
                }
                "studio" => check_keys(&path, entries, &[STUDIO], false)?,
                "remote" | "machine" | "db" => {
                    if let Some(key) = entries.keys().next() {
                        return Err(format!(
                            "expected a dictionary for dictionary value @ {}",
                            at(&[section, key])
                        ));
                    }
                }
                _ => return Err(format!("extra keys not allowed @ {}", at(&path))),
            }
        }
        for ((kind, name), entries) in &self.named {
            let path = [kind.as_str(), name.as_str()];
            match kind.as_str() {
                "remote" => {
                    let Some(url) = entries.get("url") else {
                        return Err(format!(
                            "expected 'url' for dictionary value @ {}",
                            at(&path)
                        ));
                    };
                    let (scheme, tables) = remote_schema(url)
                        .map_err(|m| format!("{m} for dictionary value @ {}", at(&path)))?;
                    check_keys(&path, entries, &tables, scheme == "remote").map_err(|m| {
                        if m.starts_with("extra keys") {
                            format!(
                                "{m} (a {scheme} remote takes {})",
                                remote_options(url).join(", ")
                            )
                        } else {
                            m
                        }
                    })?;
                }
                "machine" => check_keys(&path, entries, &[MACHINE], false)?,
                _ => check_keys(&path, entries, &[DB], false)?,
            }
        }
        Ok(())
    }
}

impl Config {
    /// The merged config of the levels below `level` (DVC's `load_config_to_level`).
    fn below(&self, level: ConfigLevel) -> Config {
        Config {
            files: self
                .files
                .range(..level)
                .map(|(l, f)| (*l, f.clone()))
                .collect(),
            dvc_dir: self.dvc_dir.clone(),
        }
    }

    /// Whether the merged config defines remote `name` (at any of its levels).
    pub fn has_remote(&self, name: &str) -> bool {
        self.files
            .values()
            .any(|f| f.has_section(&remote_section(name)))
    }

    /// Checks the config as DVC's schema does; `path` names the file being written in the
    /// error.
    pub fn validate(&self, path: &Path) -> Result<()> {
        Merged::of(self.files.values())
            .validate()
            .map_err(|message| Error::InvalidConfig {
                path: path.to_path_buf(),
                message,
            })
    }

    /// `core.autostage`: whether commands `git add` the files they write, as DVC's do.
    pub fn autostage(&self) -> bool {
        self.get("core", "autostage")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// `cache.shared = group`: a cache shared by a team, its folders group-writable.
    pub fn shared_cache(&self) -> bool {
        self.get("cache", "shared")
            .is_some_and(|v| v.eq_ignore_ascii_case("group"))
    }

    /// Changes the file of one level as `dvc config` and `dvc remote` do: `change` gets the
    /// file and the merged config of the levels below it; the levels up to this one must then
    /// pass DVC's schema, or nothing is written. The file is replaced atomically.
    pub fn edit<T>(
        dvc_dir: &Path,
        level: ConfigLevel,
        change: impl FnOnce(&mut ConfigFile, &Config) -> Result<T>,
    ) -> Result<T> {
        let all = Config::load(dvc_dir)?;
        let path = level.path(dvc_dir).ok_or_else(|| {
            Error::io("locate", "the global DVC config")(std::io::Error::other(
                "neither XDG_CONFIG_HOME nor HOME is set",
            ))
        })?;
        let below = all.below(level);
        let mut file = all.files.get(&level).cloned().unwrap_or_default();
        let out = change(&mut file, &below)?;
        let mut merged = below;
        merged.files.insert(level, file.clone());
        merged.validate(&path)?;
        file.save(&path)?;
        Ok(out)
    }
}

/// `dvc remote add [-d] [-f] name url` at `level` (the URL as it is to be written).
pub fn remote_add(
    dvc_dir: &Path,
    level: ConfigLevel,
    name: &str,
    url: &str,
    default: bool,
    force: bool,
) -> Result<()> {
    Config::edit(dvc_dir, level, |file, _| {
        let section = remote_section(name);
        if file.has_section(&section) {
            if !force {
                return Err(Error::RemoteExists(name.to_string()));
            }
            // DVC replaces the remote's settings where it stands.
            if let Some(i) = file.section_index(&section) {
                file.sections[i].entries.clear();
            }
        }
        file.set(&section, "url", url);
        if default {
            file.set("core", "remote", name);
        }
        Ok(())
    })
}

/// `dvc remote modify [-u] name option [value]` at `level`: the remote must exist at this level
/// or below; the option and value must be valid for its type.
pub fn remote_modify(
    dvc_dir: &Path,
    level: ConfigLevel,
    name: &str,
    option: &str,
    value: Option<&str>,
) -> Result<()> {
    Config::edit(dvc_dir, level, |file, below| {
        let section = remote_section(name);
        if !below.has_remote(name) && !file.has_section(&section) {
            return Err(unknown_remote(below, file, name));
        }
        match value {
            Some(v) => {
                if option != option.to_lowercase() {
                    // DVC keeps the key as typed, and its schema knows lowercase keys only.
                    return Err(Error::InvalidConfig {
                        path: level.path(dvc_dir).unwrap_or_default(),
                        message: format!(
                            "extra keys not allowed @ {}",
                            at(&["remote", name, option])
                        ),
                    });
                }
                file.set(&section, option, v)
            }
            None => {
                let had_section = file.has_section(&section);
                file.unset(&section, option);
                if had_section && !file.has_section(&section) && !below.has_remote(name) {
                    // The remote would be left without its `url`, which DVC's schema refuses.
                    return Err(Error::InvalidConfig {
                        path: level.path(dvc_dir).unwrap_or_default(),
                        message: format!(
                            "expected 'url' for dictionary value @ {}",
                            at(&["remote", name])
                        ),
                    });
                }
            }
        }
        Ok(())
    })
}

/// `dvc remote default name` (or with `None`, `--unset`) at `level`: the remote must exist at
/// this level or below.
pub fn remote_default(dvc_dir: &Path, level: ConfigLevel, name: Option<&str>) -> Result<()> {
    Config::edit(dvc_dir, level, |file, below| {
        match name {
            Some(name) => {
                if !below.has_remote(name) && !file.has_section(&remote_section(name)) {
                    return Err(unknown_remote(below, file, name));
                }
                file.set("core", "remote", name);
            }
            None => {
                file.unset("core", "remote");
            }
        }
        Ok(())
    })
}

/// `dvc remote rename from to` at `level`: `to` must be free at every level, `from` must be
/// at this one; a default naming it (here or at a level above) follows the new name.
pub fn remote_rename(dvc_dir: &Path, level: ConfigLevel, from: &str, to: &str) -> Result<()> {
    let all = Config::load(dvc_dir)?;
    if all.has_remote(to) {
        return Err(Error::RemoteExists(to.to_string()));
    }
    Config::edit(dvc_dir, level, |file, below| {
        if !file.rename_section_to_end(&remote_section(from), &remote_section(to)) {
            return Err(unknown_remote(below, file, from));
        }
        if file.get("core", "remote") == Some(from) {
            file.set("core", "remote", to);
        }
        Ok(())
    })?;
    for above in all.files.keys().filter(|l| **l > level) {
        if all.files[above].get("core", "remote") == Some(from) {
            Config::edit(dvc_dir, *above, |file, _| {
                file.set("core", "remote", to);
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn unknown_remote(below: &Config, file: &ConfigFile, name: &str) -> Error {
    let mut known = below.remote_names();
    known.extend(file.section_names().filter_map(|s| {
        let (kind, n) = named_section(s)?;
        (kind == "remote").then(|| n.to_lowercase())
    }));
    known.sort();
    known.dedup();
    Error::UnknownRemote {
        name: name.to_string(),
        known,
    }
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
    fn schema_checks_options_per_remote_type_as_dvc() {
        let check = |text: &str| {
            let cfg = ConfigFile::parse(text, Path::new("config")).unwrap();
            Merged::of([&cfg]).validate()
        };
        let local = "['remote \"r\"']\n    url = /x\n";
        assert_eq!(check(local), Ok(()));
        assert_eq!(
            check(&format!(
                "{local}    jobs = 1_0\n    verify = TRUE\n    shared = Group\n"
            )),
            Ok(())
        );
        for (extra, message) in [
            (
                "bogus = 1",
                "extra keys not allowed @ data['remote']['r']['bogus']",
            ),
            (
                "jobs = x",
                "expected int for dictionary value @ data['remote']['r']['jobs']",
            ),
            ("jobs = 0", "value must be at least 1 for dictionary value"),
            (
                "verify = maybe",
                "expected true or false for dictionary value",
            ),
            (
                "region = eu",
                "extra keys not allowed @ data['remote']['r']['region']",
            ),
        ] {
            let err = check(&format!("{local}    {extra}\n")).unwrap_err();
            assert!(err.starts_with(message), "{extra}: {err}");
        }
        let s3 = "['remote \"s\"']\n    url = s3://b/p\n    region = eu\n    connect_timeout = 5\n";
        assert_eq!(check(s3), Ok(()));
        assert!(
            check(&format!("{s3}    cache_regions = true\n"))
                .unwrap_err()
                .starts_with("expected bool")
        );
        assert!(
            check("['remote \"f\"']\n    url = foo://h/x\n")
                .unwrap_err()
                .starts_with("Unsupported URL type foo://")
        );
        // `s3:///x` has no host: DVC takes it for a local path.
        assert_eq!(
            check("['remote \"l\"']\n    url = s3:///x\n    shared = group\n"),
            Ok(())
        );
        assert!(check("[core]\n    autostage = yes\n").is_err());
        assert!(
            check("[nosuch]\n    a = b\n")
                .unwrap_err()
                .contains("data['nosuch']")
        );
    }

    #[test]
    fn a_new_plain_section_goes_before_the_remotes_as_dvc_writes_it() {
        let mut cfg =
            ConfigFile::parse("['remote \"r\"']\n    url = /x\n", Path::new("c")).unwrap();
        cfg.set("core", "remote", "r");
        assert_eq!(
            cfg.render(),
            "[core]\n    remote = r\n['remote \"r\"']\n    url = /x\n"
        );
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
