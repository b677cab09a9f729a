//! `vintner doctor`: what a bug report needs, in the sections `dvc doctor` prints — version,
//! platform, supported remotes, config folders and, inside a repository, the link types its
//! cache supports, its caches and remotes, the file system and the repository kind.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::cli::Context;
use crate::data::{ConfigLevel, Error as DataError, Repo};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Context) -> anyhow::Result<()> {
    let title = format!("vintner version: {}", env!("CARGO_PKG_VERSION"));
    let mut info = vec![
        title.clone(),
        "-".repeat(title.len()),
        format!(
            "Platform: {} {} ({})",
            std::env::consts::OS,
            std::env::consts::ARCH,
            kernel_release().unwrap_or_else(|| "unknown kernel".into())
        ),
        "Compatible with: DVC 3.x repositories, MLflow 3.x stores".to_string(),
        "Supports:\n\tlocal,\n\ts3".to_string(),
    ];
    // The level paths do not depend on the repository for these two levels.
    let dir_of = |level: ConfigLevel| {
        level
            .path(Path::new(""))
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "unknown (HOME is not set)".into())
    };
    info.push(format!(
        "Config:\n\tGlobal: {}\n\tSystem: {}",
        dir_of(ConfigLevel::Global),
        dir_of(ConfigLevel::System)
    ));
    match Repo::find(&ctx.cwd) {
        Ok(repo) => repo_info(&repo, &mut info)?,
        Err(DataError::NotARepo(_)) => {}
        Err(e) => return Err(e.into()),
    }
    ctx.printer.data(info.join("\n"));
    Ok(())
}

/// The repository's part: cache link types, caches, remotes, file system, repository kind.
fn repo_info(repo: &Repo, info: &mut Vec<String>) -> anyhow::Result<()> {
    let config = repo.config()?;
    // DVC 3's objects live under `files/md5` of the cache folder; that is what it tests.
    let objects = repo.cache(&config).root.join("files").join("md5");
    if objects.is_dir() {
        info.push(format!(
            "Cache types: {}",
            link_support(&objects, &repo.root).join(", ")
        ));
        info.push(format!("Cache directory: {}", fs_type(&objects)));
    } else {
        // As DVC: the cache is not created just to test it (`cache.shared` may come later).
        info.push("Cache types: <https://error.dvc.org/no-dvc-cache>".into());
    }
    info.push("Caches: local".into());
    let remotes: Vec<String> = config
        .remote_names()
        .into_iter()
        .map(|name| match config.remote(&name) {
            Ok(rc) => rc
                .url
                .split_once("://")
                .map_or(
                    "local",
                    |(scheme, _)| if scheme == "file" { "local" } else { scheme },
                )
                .to_string(),
            Err(_) => "unknown".into(),
        })
        .collect();
    info.push(format!(
        "Remotes: {}",
        if remotes.is_empty() {
            "None".into()
        } else {
            remotes.join(", ")
        }
    ));
    info.push(format!("Workspace directory: {}", fs_type(&repo.root)));
    let no_scm = config
        .get("core", "no_scm")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let kind = if no_scm {
        "dvc (no_scm)"
    } else if git_top(&repo.root).is_some_and(|top| top != repo.root) {
        "dvc (subdir), git"
    } else {
        "dvc, git"
    };
    info.push(format!("Repo: {kind}"));
    Ok(())
}

/// Which of reflink, hardlink and symlink work from the cache folder into the workspace, tried
/// with a scratch file that is removed again.
fn link_support(cache: &Path, workspace: &Path) -> Vec<&'static str> {
    let tag = format!(".vintner-doctor-{}", std::process::id());
    let src = cache.join(&tag);
    let dest = workspace.join(format!("{tag}-link"));
    let mut found = Vec::new();
    if std::fs::write(&src, b"test").is_err() {
        return found;
    }
    let tries: [(&'static str, &dyn Fn() -> std::io::Result<()>); 3] = [
        ("reflink", &|| {
            let from = File::open(&src)?;
            let to = File::create_new(&dest)?;
            crate::data::odb::reflink(&from, &to)
        }),
        ("hardlink", &|| std::fs::hard_link(&src, &dest)),
        ("symlink", &|| std::os::unix::fs::symlink(&src, &dest)),
    ];
    for (name, attempt) in tries {
        if attempt().is_ok() {
            found.push(name);
        }
        let _ = std::fs::remove_file(&dest);
    }
    let _ = std::fs::remove_file(&src);
    found
}

/// The file system type and device of the mount holding `path` (from `/proc/mounts`).
#[cfg(target_os = "linux")]
fn fs_type(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mut best: Option<(PathBuf, String)> = None;
    for line in mounts.lines() {
        let mut f = line.split_whitespace();
        let (Some(device), Some(mount), Some(kind)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let mount = PathBuf::from(mount.replace("\\040", " "));
        if path.starts_with(&mount)
            && best
                .as_ref()
                .is_none_or(|(m, _)| mount.as_os_str().len() >= m.as_os_str().len())
        {
            best = Some((mount, format!("{kind} on {device}")));
        }
    }
    best.map_or_else(|| "unknown".into(), |(_, s)| s)
}

/// The file system type of the mount holding `path`: not known without `/proc`.
#[cfg(not(target_os = "linux"))]
fn fs_type(_path: &Path) -> String {
    "unknown".into()
}

/// The top of the git work tree holding `dir`, if any.
fn git_top(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The kernel release (`uname -r`), from `/proc`.
#[cfg(target_os = "linux")]
fn kernel_release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_string())
}

/// The kernel release (`uname -r`), from `uname`.
#[cfg(not(target_os = "linux"))]
fn kernel_release() -> Option<String> {
    // SAFETY: `uname` only writes the struct it is given, whose fields are NUL-terminated.
    unsafe {
        let mut name: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut name) != 0 {
            return None;
        }
        let release = std::ffi::CStr::from_ptr(name.release.as_ptr());
        Some(release.to_string_lossy().into_owned())
    }
}
