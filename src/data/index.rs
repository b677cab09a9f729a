//! Which outputs a command works on: every `.dvc` file of the repository (found by walking it as
//! DVC does), or the ones named by targets — a `.dvc` file, an output path, or a folder holding
//! `.dvc` files.

use std::path::{Path, PathBuf};

use super::dvcfile::{DvcFile, Out};
use super::fsutil::normalize;
use super::repo::Repo;
use super::{Error, Result};

/// One output of one `.dvc` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    /// The `.dvc` file (absolute).
    pub dvc_path: PathBuf,
    pub out: Out,
    /// The output's absolute path.
    pub path: PathBuf,
}

impl Tracked {
    /// The output path relative to the repository root, `/`-separated (DVC's display form).
    pub fn display(&self, repo: &Repo) -> String {
        self.path
            .strip_prefix(&repo.root)
            .unwrap_or(&self.path)
            .to_string_lossy()
            .into_owned()
    }

    /// The `.dvc` file relative to the repository root.
    pub fn dvc_display(&self, repo: &Repo) -> String {
        self.dvc_path
            .strip_prefix(&repo.root)
            .unwrap_or(&self.dvc_path)
            .to_string_lossy()
            .into_owned()
    }
}

/// Every `.dvc` file below `dir` (skipping `.git`, `.dvc` and `.dvcignore`d paths), sorted.
pub fn dvc_files(dir: &Path) -> Result<Vec<PathBuf>> {
    files_where(dir, |p| p.extension().is_some_and(|x| x == "dvc"))
}

/// Every `dvc.lock` (the recorded outputs of pipelines) below `dir`, found as [`dvc_files`].
pub fn lock_files(dir: &Path) -> Result<Vec<PathBuf>> {
    files_where(dir, |p| p.file_name().is_some_and(|n| n == "dvc.lock"))
}

/// The files below `dir` that `wanted` accepts, honouring the repository's `.dvcignore` files
/// and skipping what DVC never looks into and tracked output folders.
fn files_where(dir: &Path, wanted: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .hidden(false)
        // Only the repository's own `.dvcignore` files count, not those of folders above it.
        .parents(false)
        .add_custom_ignore_filename(".dvcignore")
        .filter_entry(|e| {
            if e.depth() == 0 || !e.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            if [".git", ".dvc", ".hg"].iter().any(|n| e.file_name() == *n) {
                return false;
            }
            // A folder with a `<name>.dvc` beside it is a tracked output: DVC forbids `.dvc`
            // files inside outputs, so there is nothing to find in it.
            let mut sibling = e.path().as_os_str().to_owned();
            sibling.push(".dvc");
            !Path::new(&sibling).is_file()
        })
        .build();
    let mut found = Vec::new();
    for entry in walker.flatten() {
        if entry.file_type().is_some_and(|t| t.is_file()) && wanted(entry.path()) {
            found.push(entry.path().to_path_buf());
        }
    }
    found.sort();
    Ok(found)
}

fn outs_of(path: &Path) -> Result<Vec<Tracked>> {
    let file = DvcFile::load(path)?;
    Ok(file
        .outs
        .iter()
        .map(|out| Tracked {
            dvc_path: path.to_path_buf(),
            path: file.out_path(out),
            out: out.clone(),
        })
        .collect())
}

/// The outputs named by `targets` (relative to `cwd`), or all outputs when there are none.
pub fn collect(repo: &Repo, targets: &[PathBuf], cwd: &Path) -> Result<Vec<Tracked>> {
    if targets.is_empty() {
        let mut all = Vec::new();
        for f in dvc_files(&repo.root)? {
            all.extend(outs_of(&f)?);
        }
        return Ok(all);
    }
    let mut picked: Vec<Tracked> = Vec::new();
    let mut everything: Option<Vec<Tracked>> = None;
    let mut all_dvc_files: Option<Vec<PathBuf>> = None;
    for target in targets {
        let abs = normalize(&cwd.join(target));
        if !abs.starts_with(&repo.root) {
            return Err(Error::OutsideRepo {
                path: abs,
                root: repo.root.clone(),
            });
        }
        let as_dvc = if abs.extension().is_some_and(|x| x == "dvc") {
            Some(abs.clone())
        } else {
            let mut p = abs.clone().into_os_string();
            p.push(".dvc");
            Some(PathBuf::from(p))
        };
        if let Some(f) = as_dvc.filter(|p| p.is_file()) {
            picked.extend(outs_of(&f)?);
            continue;
        }
        if abs.is_dir() {
            // Every `.dvc` file of the repository (so that the `.dvcignore` rules from the root
            // down apply), keeping those inside the folder.
            let repo_files = match &all_dvc_files {
                Some(f) => f,
                None => all_dvc_files.insert(dvc_files(&repo.root)?),
            };
            let inside: Vec<PathBuf> = repo_files
                .iter()
                .filter(|f| f.starts_with(&abs))
                .cloned()
                .collect();
            if !inside.is_empty() {
                for f in inside {
                    picked.extend(outs_of(&f)?);
                }
                continue;
            }
        }
        let all = match &everything {
            Some(a) => a,
            None => everything.insert(collect(repo, &[], cwd)?),
        };
        match all.iter().find(|t| t.path == abs) {
            Some(t) => picked.push(t.clone()),
            None => {
                if let Some(owner) = all.iter().find(|t| abs.starts_with(&t.path)) {
                    return Err(Error::AlreadyTracked {
                        path: abs,
                        by: owner.dvc_path.clone(),
                    });
                }
                return Err(Error::NotTracked(abs));
            }
        }
    }
    picked.dedup_by(|a, b| a.dvc_path == b.dvc_path && a.out.path == b.out.path);
    Ok(picked)
}
