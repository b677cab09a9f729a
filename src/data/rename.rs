//! `move`: rename a tracked output and its `.dvc` file together, as `dvc move` does — the data
//! moves in the workspace, its `.gitignore` entry follows it, the `.dvc` file is renamed when it
//! is named after the output (and otherwise only its `path` changes), and what is at the new
//! place is committed. The `.dvc` file is edited in place, so its other keys and comments stay.

use std::path::Path;

use serde::Serialize;

use super::add::{LOCK_WAIT, relink};
use super::dvcfile::{self, Hashes};
use super::fsutil::{normalize, write_atomic};
use super::hash::HashKind;
use super::index;
use super::lock::RepoLock;
use super::repo::{Repo, relative_path};
use super::target::{self, Result, VerbError};
use super::{Error, gitignore, workspace, yaml};
use crate::progress::Progress;

/// What `move` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// The output's old and new paths, relative to the repository root.
    pub from: String,
    pub to: String,
    /// The `.dvc` file before and after (the same file when it is not named after the output).
    pub dvc_from: String,
    pub dvc_to: String,
    /// False when the output was missing from the workspace (only the `.dvc` file changed).
    pub data_moved: bool,
    /// Files git should stage, relative to the root.
    pub git_add: Vec<String>,
}

/// Moves the output at `from` to `to` (both relative to `cwd`; into `to` when it is a folder).
pub fn move_output(
    repo: &Repo,
    from: &Path,
    to: &Path,
    cwd: &Path,
    progress: &dyn Progress,
) -> Result<Moved> {
    let _lock = RepoLock::acquire(&repo.dvc_dir, LOCK_WAIT)?;
    let from_abs = normalize(&cwd.join(from));
    let mut to_abs = normalize(&cwd.join(to));
    for p in [&from_abs, &to_abs] {
        if !p.starts_with(&repo.root) || *p == repo.root {
            return Err(Error::OutsideRepo {
                path: p.clone(),
                root: repo.root.clone(),
            }
            .into());
        }
    }
    if to_abs.is_dir()
        && let Some(name) = from_abs.file_name()
    {
        to_abs = to_abs.join(name);
    }
    let tracked = index::collect(repo, &[], cwd)?;
    let Some(t) = tracked.iter().find(|t| t.path == from_abs) else {
        return Err(
            match tracked.iter().find(|t| from_abs.starts_with(&t.path)) {
                Some(owner) => Error::AlreadyTracked {
                    path: from_abs,
                    by: owner.dvc_path.clone(),
                },
                None => Error::NotTracked(from_abs),
            }
            .into(),
        );
    };
    let outs = tracked.iter().filter(|o| o.dvc_path == t.dvc_path).count();
    if outs != 1 {
        return Err(VerbError::ManyOuts {
            path: target::shown(repo, &t.dvc_path),
            outs,
            verb: "move",
        });
    }
    let cannot = |why: String| VerbError::CannotMove {
        to: target::shown(repo, &to_abs),
        why,
    };
    let (Some(to_dir), Some(to_name)) = (to_abs.parent(), to_abs.file_name()) else {
        return Err(cannot("it has no file name".into()));
    };
    let to_name = to_name.to_string_lossy().into_owned();
    if std::fs::symlink_metadata(&to_abs).is_ok() {
        return Err(cannot("something is already there".into()));
    }
    if to_abs.starts_with(&from_abs) {
        return Err(cannot("it is inside the output being moved".into()));
    }
    if to_name.ends_with(".dvc")
        || to_abs
            .strip_prefix(&repo.root)
            .ok()
            .and_then(|r| r.components().next())
            .is_some_and(|c| c.as_os_str() == ".dvc" || c.as_os_str() == ".git")
    {
        return Err(cannot("it is one of DVC's or git's own files".into()));
    }
    if let Some(other) = tracked.iter().find(|o| {
        o.path != from_abs && (to_abs.starts_with(&o.path) || o.path.starts_with(&to_abs))
    }) {
        return Err(cannot(format!(
            "it overlaps the output `{}` of `{}`",
            other.display(repo),
            other.dvc_display(repo)
        )));
    }

    // Named after its output (`data.csv.dvc` for `data.csv`): the `.dvc` file follows it.
    let from_name = from_abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = t
        .dvc_path
        .file_name()
        .map(|n| n.to_string_lossy())
        .and_then(|n| n.strip_suffix(".dvc").map(str::to_string));
    let (dvc_to, out_path) = if stem.as_deref() == Some(from_name.as_str()) {
        let dvc_to = to_dir.join(format!("{to_name}.dvc"));
        if dvc_to.exists() {
            return Err(cannot(format!(
                "`{}` already exists",
                target::shown(repo, &dvc_to).display()
            )));
        }
        (dvc_to, to_name.clone())
    } else {
        let rel = relative_path(
            &to_abs,
            &normalize(t.dvc_path.parent().unwrap_or(&repo.root)),
        );
        (t.dvc_path.clone(), rel.to_string_lossy().into_owned())
    };
    let old_text = std::fs::read_to_string(&t.dvc_path).map_err(Error::io("read", &t.dvc_path))?;
    let mut text = set_out_path(&old_text, &out_path)
        .ok_or_else(|| VerbError::NotEditable(t.dvc_path.clone()))?;

    let data_moved = std::fs::symlink_metadata(&from_abs).is_ok();
    if data_moved {
        std::fs::create_dir_all(to_dir).map_err(Error::io("create folder", to_dir))?;
        std::fs::rename(&from_abs, &to_abs).map_err(Error::io("move", &from_abs))?;
    }
    // From here on, a failure puts the data back where it was.
    let mut finish = || -> Result<()> {
        if data_moved && t.out.md5.is_some() && t.out.hash == HashKind::Md5 {
            let config = repo.config()?;
            let cache = repo.cache(&config);
            let state = repo.state();
            let store = t.out.cache.then_some(&cache);
            let hashed = workspace::hash_output(&to_abs, &state, store, progress)?
                .ok_or_else(|| Error::Missing(to_abs.clone()))?;
            if t.out.cache {
                if let Some(bytes) = &hashed.manifest {
                    cache.add_bytes(bytes, &hashed.oid())?;
                }
                relink(&cache, &hashed, &to_abs, &repo.link_types(&config)?)?;
            }
            state.save();
            text = dvcfile::update_text(
                &text,
                &Hashes {
                    md5: hashed.md5.clone(),
                    size: hashed.size,
                    nfiles: hashed.nfiles,
                    isexec: hashed.isexec,
                },
            )
            .ok_or_else(|| VerbError::NotEditable(t.dvc_path.clone()))?;
        }
        write_atomic(&dvc_to, text.as_bytes())?;
        Ok(())
    };
    if let Err(e) = finish() {
        if data_moved {
            let _ = std::fs::rename(&to_abs, &from_abs);
        }
        return Err(e);
    }
    let mut git_add = vec![target::shown(repo, &dvc_to)];
    if dvc_to != t.dvc_path {
        std::fs::remove_file(&t.dvc_path).map_err(Error::io("remove", &t.dvc_path))?;
        git_add.push(target::shown(repo, &t.dvc_path));
    }
    if t.out.cache {
        if let Some(dir) = from_abs.parent()
            && target::unignore(dir, &from_name)?
        {
            git_add.push(target::shown(repo, &dir.join(".gitignore")));
        }
        gitignore::ignore(to_dir, &to_name)?;
        git_add.push(target::shown(repo, &to_dir.join(".gitignore")));
    }
    git_add.dedup();
    let show = |p: &Path| target::shown(repo, p).to_string_lossy().into_owned();
    Ok(Moved {
        from: show(&from_abs),
        to: show(&to_abs),
        dvc_from: show(&t.dvc_path),
        dvc_to: show(&dvc_to),
        data_moved,
        git_add: git_add
            .into_iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
    })
}

/// Sets the `path` of the first output of a `.dvc` file's text, keeping every other line;
/// `None` when the text is not laid out as DVC writes it.
pub fn set_out_path(old: &str, new_path: &str) -> Option<String> {
    let lines: Vec<&str> = old.lines().collect();
    let outs_at = lines.iter().position(|l| l.trim_end() == "outs:")?;
    let start = (outs_at + 1..lines.len()).find(|&i| lines[i].starts_with("- "))?;
    let end = (start + 1..lines.len())
        .find(|&i| {
            let l = lines[i];
            l.starts_with("- ") || (!l.is_empty() && !l.starts_with(' ') && !l.starts_with('#'))
        })
        .unwrap_or(lines.len());
    let at = (start..end).find(|&i| {
        let l = lines[i];
        l.strip_prefix("- ")
            .or_else(|| l.strip_prefix("  "))
            .is_some_and(|body| body.starts_with("path:"))
    })?;
    let prefix = &lines[at][..2];
    // A long path is folded onto continuation lines, indented deeper than the keys.
    let cont_end = (at + 1..end)
        .find(|&i| !lines[i].starts_with("    "))
        .unwrap_or(end);
    let mut out: Vec<String> = lines[..at].iter().map(|l| l.to_string()).collect();
    out.push(format!("{prefix}path:{}", yaml::scalar(new_path, 7, 4)));
    out.extend(lines[cont_end..].iter().map(|l| l.to_string()));
    let mut text = out.join("\n");
    text.push('\n');
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_out_path_replaces_a_folded_path_and_keeps_the_rest() {
        let long =
            "a_very_long_file_name_that_goes_on_and_on_well_past_eighty_columns of yaml_output.csv";
        let old = format!(
            "# keep me\nouts:\n- md5: 60b725f10c9c85c70d97880dfe8191b3\n  size: 2\n  hash: md5\n  path:{}\n  desc: d\n  meta:\n    owner: me\nfrozen: true\n",
            yaml::scalar(long, 7, 4)
        );
        assert!(old.contains("\n    "), "the long path is folded: {old}");
        let new = set_out_path(&old, "b: c").unwrap();
        assert_eq!(
            new,
            "# keep me\nouts:\n- md5: 60b725f10c9c85c70d97880dfe8191b3\n  size: 2\n  hash: md5\n  path: 'b: c'\n  desc: d\n  meta:\n    owner: me\nfrozen: true\n"
        );
        assert_eq!(
            set_out_path(
                "outs:\n- path: x\n  md5: 60b725f10c9c85c70d97880dfe8191b3\n",
                "y"
            )
            .unwrap(),
            "outs:\n- path: y\n  md5: 60b725f10c9c85c70d97880dfe8191b3\n"
        );
        assert!(set_out_path("outs: [{path: x}]\n", "y").is_none());
    }
}
