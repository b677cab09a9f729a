//! `vintner init`: git repository + DVC 3 layout (byte for byte as `dvc init`) + `vintner.toml`
//! + a default local data remote. Safe to run again: it never overwrites, it says what exists.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use super::JsonFlag;
use crate::cli::Context;
use crate::data::repo::{self, RemoteChoice};
use crate::settings;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The default data remote is a folder outside the workspace: \
$XDG_DATA_HOME/vintner/remotes/<folder name>-<hash of its path> (~/.local/share/... when \
XDG_DATA_HOME is unset), configured as the DVC remote `local`."
)]
pub struct Args {
    /// Data remote URL to configure as default instead of the local folder (a path or s3://bucket/prefix).
    #[arg(long, value_name = "URL", conflicts_with = "no_remote")]
    remote: Option<String>,
    /// Name of the default remote.
    #[arg(long, value_name = "NAME", default_value = "local")]
    remote_name: String,
    /// Configure no data remote.
    #[arg(long)]
    no_remote: bool,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Debug, Serialize)]
struct Report {
    root: PathBuf,
    git_initialized: bool,
    created: Vec<PathBuf>,
    existing: Vec<PathBuf>,
    remote: Option<RemoteReport>,
}

#[derive(Debug, Serialize)]
struct RemoteReport {
    name: String,
    url: String,
    added: bool,
}

/// Entries vintner adds to the root `.gitignore`: the embedded tracking store and its artifacts.
const ROOT_IGNORES: [&str; 2] = ["/mlflow.db", "/mlruns"];

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let dir = &ctx.cwd;
    let remote = if args.no_remote {
        RemoteChoice::None
    } else {
        let url = match args.remote {
            Some(url) => url,
            None => default_remote_dir(dir)?.to_string_lossy().into_owned(),
        };
        RemoteChoice::Url {
            name: args.remote_name.clone(),
            url,
        }
    };
    let mut outcome = repo::init(dir, &remote).context("Failed to initialise the repository")?;

    let toml_path = dir.join(settings::FILE_NAME);
    if toml_path.exists() {
        outcome.existing.push(PathBuf::from(settings::FILE_NAME));
    } else {
        crate::data::fsutil::write_atomic(&toml_path, settings::TEMPLATE.as_bytes())?;
        outcome.created.push(PathBuf::from(settings::FILE_NAME));
    }
    if add_root_ignores(dir)? {
        outcome.created.push(PathBuf::from(".gitignore"));
    }
    let mut to_stage: Vec<PathBuf> = vec![
        ".dvc/.gitignore".into(),
        ".dvc/config".into(),
        ".dvcignore".into(),
        settings::FILE_NAME.into(),
        ".gitignore".into(),
    ];
    to_stage.retain(|p| dir.join(p).exists());
    crate::git::add(dir, &to_stage).context("Failed to stage the new files with git")?;

    let remote = match (&outcome.remote_added, &outcome.remote_existing) {
        (Some((name, url)), _) => Some(RemoteReport {
            name: name.clone(),
            url: url.clone(),
            added: true,
        }),
        (None, Some((name, url))) => Some(RemoteReport {
            name: name.clone(),
            url: url.clone(),
            added: false,
        }),
        (None, None) => None,
    };
    let report = Report {
        root: dir.clone(),
        git_initialized: outcome.git_initialized,
        created: outcome.created,
        existing: outcome.existing,
        remote,
    };
    if args.json.json {
        return ctx.printer.json(&report);
    }
    let p = &ctx.printer;
    if report.git_initialized {
        p.status(format!("Initialized a git repository in {}", dir.display()));
    }
    for f in &report.created {
        p.status(format!("created  {}", f.display()));
    }
    for f in &report.existing {
        p.status(format!("exists   {} (left as it was)", f.display()));
    }
    match &report.remote {
        Some(r) if r.added => p.status(format!("remote   {} -> {} (default)", r.name, r.url)),
        Some(r) => p.status(format!(
            "remote   {} -> {} (already the default)",
            r.name, r.url
        )),
        None => {
            p.status("remote   none configured (add one with `vintner remote add -d <name> <url>`)")
        }
    }
    if report.created.is_empty() && report.remote.as_ref().is_none_or(|r| !r.added) {
        p.status("Nothing to do: this folder is already a vintner project.");
    } else {
        p.status("Next: `vintner add data/<file>.csv`, then `git commit`.");
    }
    Ok(())
}

/// `$XDG_DATA_HOME/vintner/remotes/<folder name>`.
fn default_remote_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .ok_or_else(|| {
            crate::cli::Hinted::new(
                "Neither XDG_DATA_HOME nor HOME is set, so there is no place for the default data remote",
                "pass `--remote <folder or s3://…>` or `--no-remote`",
            )
        })?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "default".into());
    // The folder name plus a short hash of the full path: two projects with the same folder
    // name never share a remote (where one's `gc -c` would delete the other's objects).
    let full = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let tag = &crate::data::hash::md5_bytes(full.to_string_lossy().as_bytes())[..8];
    Ok(base
        .join("vintner")
        .join("remotes")
        .join(format!("{name}-{tag}")))
}

/// Appends the tracking-store entries missing from the root `.gitignore`; true if it was created.
fn add_root_ignores(dir: &Path) -> anyhow::Result<bool> {
    let path = dir.join(".gitignore");
    let existed = path.exists();
    let mut text = if existed {
        std::fs::read_to_string(&path)
            .with_context(|| format!("Failed to read `{}`", path.display()))?
    } else {
        String::new()
    };
    let missing: Vec<&str> = ROOT_IGNORES
        .iter()
        .copied()
        .filter(|e| !text.lines().any(|l| l.trim() == *e))
        .collect();
    if missing.is_empty() {
        return Ok(false);
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for e in missing {
        text.push_str(e);
        text.push('\n');
    }
    crate::data::fsutil::write_atomic(&path, text.as_bytes())?;
    Ok(!existed)
}
