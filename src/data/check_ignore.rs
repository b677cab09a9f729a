//! `check-ignore`: which `.dvcignore` pattern (if any) excludes a path, decided as DVC decides
//! it — DVC's built-in patterns first, then every `.dvcignore` from the repository root down to
//! the path's folder, the later groups of patterns winning — and named as DVC names it
//! (`<file>:<line>:<pattern>`), so that scripts written for `dvc check-ignore` keep working.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::fsutil::normalize;
use super::repo::Repo;
use super::{Error, Result};

/// Where a pattern came from, as DVC prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternInfo {
    /// The pattern as written (trimmed).
    pub pattern: String,
    /// `<file>:<line>:<pattern>` (the file relative to the root), `in sub_repo:<name>`, or
    /// empty for DVC's built-in patterns.
    pub source: String,
}

impl std::fmt::Display for PatternInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.source.is_empty() {
            write!(f, ":{}", self.pattern)
        } else {
            f.write_str(&self.source)
        }
    }
}

/// The answer for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Whether the path is excluded.
    pub ignored: bool,
    /// The pattern that decided (an exclusion, or a `!` pattern that let the path through);
    /// empty when none matched.
    pub patterns: Vec<PatternInfo>,
}

/// One pattern, compiled on its own so that the one that matched can be named.
struct Rule {
    matcher: Gitignore,
    /// The folder of the `.dvcignore` (its patterns apply below it only).
    base: PathBuf,
    /// Not a `!` pattern.
    ignore: bool,
    /// Ends with `/`: folders only.
    dir_only: bool,
    info: PatternInfo,
}

/// DVC's patterns before any `.dvcignore`.
const BUILT_IN: [&str; 4] = [".hg/", ".git/", ".git", ".dvc/"];

/// Checks `target` (relative to `cwd`) as `dvc check-ignore` does. A path outside the
/// repository, or the root itself, is never ignored.
pub fn check(repo: &Repo, target: &Path, cwd: &Path) -> Result<CheckResult> {
    let none = CheckResult {
        ignored: false,
        patterns: Vec::new(),
    };
    let abs = normalize(&cwd.join(target));
    let Some(dir) = abs.parent().filter(|d| d.starts_with(&repo.root)) else {
        return Ok(none);
    };
    let rules = rules_for(repo, dir)?;
    let Ok(rel) = abs.strip_prefix(&repo.root) else {
        return Ok(none);
    };
    let parts: Vec<&std::ffi::OsStr> = rel.iter().collect();
    let (ignored, patterns) = decide(&rules, &repo.root, &parts, abs.is_dir());
    Ok(CheckResult {
        ignored,
        patterns: patterns.into_iter().cloned().collect(),
    })
}

/// The patterns in force in `dir`: the built-in ones, then for each folder from the root down
/// to `dir` its `.dvcignore` (unless an earlier pattern excludes that file) and a `/<name>/`
/// pattern for each DVC repository nested in it.
fn rules_for(repo: &Repo, dir: &Path) -> Result<Vec<Rule>> {
    let mut rules: Vec<Rule> = BUILT_IN
        .iter()
        .filter_map(|p| {
            rule(
                &repo.root,
                p,
                PatternInfo {
                    pattern: p.to_string(),
                    source: String::new(),
                },
            )
        })
        .collect();
    let rel = dir.strip_prefix(&repo.root).unwrap_or(Path::new(""));
    let mut folder = repo.root.clone();
    let mut chain = vec![folder.clone()];
    for c in rel.iter() {
        folder.push(c);
        chain.push(folder.clone());
    }
    for folder in chain {
        let file = folder.join(".dvcignore");
        if file.is_file() {
            let rel_file = file.strip_prefix(&repo.root).unwrap_or(&file);
            let parts: Vec<&std::ffi::OsStr> = rel_file.iter().collect();
            if !decide(&rules, &repo.root, &parts, false).0 {
                rules.extend(read_dvcignore(&file, rel_file, &folder)?);
            }
        }
        if !folder.is_dir() {
            continue;
        }
        let mut nested: Vec<String> = std::fs::read_dir(&folder)
            .map_err(Error::io("read folder", &folder))?
            .filter_map(|e| e.ok())
            .filter(|e| folder != repo.root || e.file_name() != ".dvc")
            .filter(|e| e.path().join(".dvc").is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        nested.sort();
        for name in nested {
            let pattern = format!("/{name}/");
            rules.extend(rule(
                &folder,
                &pattern,
                PatternInfo {
                    source: format!("in sub_repo:{name}"),
                    pattern: pattern.clone(),
                },
            ));
        }
    }
    Ok(rules)
}

/// The patterns of one `.dvcignore`, each named `<file>:<line>:<pattern>` as DVC names them:
/// lines are trimmed, blank lines and `#` comments skipped, lines numbered from 1.
fn read_dvcignore(file: &Path, rel_file: &Path, folder: &Path) -> Result<Vec<Rule>> {
    let bytes = std::fs::read(file).map_err(Error::io("read", file))?;
    let text = String::from_utf8_lossy(&bytes);
    let name = rel_file.to_string_lossy();
    Ok(text
        .split_inclusive('\n')
        .flat_map(|l| l.split_inclusive('\r'))
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            rule(
                folder,
                line,
                PatternInfo {
                    pattern: line.to_string(),
                    source: format!("{name}:{}:{line}", i + 1),
                },
            )
        })
        .collect())
}

/// One compiled pattern; `None` for a line that is not a valid pattern (DVC skips those too).
fn rule(base: &Path, pattern: &str, info: PatternInfo) -> Option<Rule> {
    let mut builder = GitignoreBuilder::new(base);
    builder.add_line(None, pattern).ok()?;
    let matcher = builder.build().ok().filter(|m| !m.is_empty())?;
    let body = pattern.strip_prefix('!').unwrap_or(pattern);
    Some(Rule {
        matcher,
        base: base.to_path_buf(),
        ignore: !pattern.starts_with('!'),
        dir_only: body.ends_with('/'),
        info,
    })
}

/// DVC's `_ignore`: each leading part of the path is checked in turn (all but the last as
/// folders); an excluded folder decides for everything below it.
fn decide<'r>(
    rules: &'r [Rule],
    root: &Path,
    parts: &[&std::ffi::OsStr],
    is_dir: bool,
) -> (bool, Vec<&'r PatternInfo>) {
    let mut result = false;
    let mut matched = Vec::new();
    let mut path = root.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        let last = i + 1 == parts.len();
        let (ignored, info) = find_matching(rules, &path, is_dir || !last);
        result = ignored;
        if !last && !ignored {
            continue;
        }
        matched.extend(info);
        if ignored {
            break;
        }
    }
    (result, matched)
}

/// DVC's `_find_matching_pattern`: patterns are grouped into runs of the same kind (exclude
/// or `!`, folder-only or not); the last run with a match decides, and within an exclude run
/// the first pattern that matches is the one named.
fn find_matching<'r>(
    rules: &'r [Rule],
    path: &Path,
    is_dir: bool,
) -> (bool, Option<&'r PatternInfo>) {
    let mut groups: Vec<&[Rule]> = Vec::new();
    let mut start = 0;
    for i in 1..=rules.len() {
        let split = i == rules.len()
            || !rules[i].ignore
            || !rules[start].ignore
            || (rules[i].ignore, rules[i].dir_only) != (rules[start].ignore, rules[start].dir_only);
        if split {
            groups.push(&rules[start..i]);
            start = i;
        }
    }
    for group in groups.iter().rev() {
        for r in group.iter() {
            if r.dir_only && !is_dir {
                break;
            }
            if path == r.base || !path.starts_with(&r.base) {
                continue;
            }
            if !r.matcher.matched(path, is_dir).is_none() {
                return (r.ignore, Some(&r.info));
            }
        }
    }
    (false, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with(dvcignore: &str) -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".dvc")).unwrap();
        std::fs::write(dir.path().join(".dvcignore"), dvcignore).unwrap();
        let repo = Repo::at(dir.path());
        (dir, repo)
    }

    fn shown(repo: &Repo, target: &str) -> (bool, Vec<String>) {
        let r = check(repo, Path::new(target), &repo.root).unwrap();
        (
            r.ignored,
            r.patterns.iter().map(|p| p.to_string()).collect(),
        )
    }

    #[test]
    fn names_the_deciding_pattern_like_dvc() {
        let (dir, repo) = repo_with("# c\n*.tmp\n\nlogs/\n!keep.tmp\na.*\n");
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        assert_eq!(
            shown(&repo, "x.tmp"),
            (true, vec![".dvcignore:2:*.tmp".into()])
        );
        // A later run of patterns wins over an earlier one, as in DVC.
        assert_eq!(
            shown(&repo, "a.tmp"),
            (true, vec![".dvcignore:6:a.*".into()])
        );
        assert_eq!(
            shown(&repo, "logs/x"),
            (true, vec![".dvcignore:4:logs/".into()])
        );
        assert_eq!(
            shown(&repo, "logs"),
            (true, vec![".dvcignore:4:logs/".into()])
        );
        assert_eq!(
            shown(&repo, "keep.tmp"),
            (false, vec![".dvcignore:5:!keep.tmp".into()])
        );
        assert_eq!(shown(&repo, "b.txt"), (false, vec![]));
        assert_eq!(shown(&repo, ".dvc/config"), (true, vec![":.dvc/".into()]));
        assert_eq!(shown(&repo, "../outside"), (false, vec![]));
    }

    #[test]
    fn within_one_run_of_exclusions_the_first_match_is_named() {
        let (_dir, repo) = repo_with("*.tmp\na.*\n");
        assert_eq!(
            shown(&repo, "a.tmp"),
            (true, vec![".dvcignore:1:*.tmp".into()])
        );
    }

    #[test]
    fn deeper_dvcignore_files_and_nested_repositories_count() {
        let (dir, repo) = repo_with("");
        std::fs::create_dir_all(dir.path().join("data/sub/.dvc")).unwrap();
        std::fs::write(dir.path().join("data/.dvcignore"), "*.csv\n").unwrap();
        assert_eq!(
            shown(&repo, "data/x/y.csv"),
            (true, vec!["data/.dvcignore:1:*.csv".into()])
        );
        assert_eq!(shown(&repo, "y.csv"), (false, vec![]));
        assert_eq!(
            shown(&repo, "data/sub/f"),
            (true, vec!["in sub_repo:sub".into()])
        );
    }
}
