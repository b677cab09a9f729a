//! `.gitignore` entries for tracked outputs, written as DVC writes them: `/<name>` in the
//! output's folder, wildcard characters escaped, no duplicates, a missing final newline added.

use std::path::Path;

use super::fsutil::write_atomic;
use super::{Error, Result};

/// `/name` with `\ [ ] ! * # ?` escaped (pathspec's `GitWildMatchPattern.escape`).
pub fn entry_for(name: &str) -> String {
    let mut out = String::from("/");
    for c in name.chars() {
        if matches!(c, '\\' | '[' | ']' | '!' | '*' | '#' | '?') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Makes sure `<dir>/.gitignore` ignores `name`; returns whether the file changed.
pub fn ignore(dir: &Path, name: &str) -> Result<bool> {
    let path = dir.join(".gitignore");
    let mut text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("read", &path)(e)),
    };
    let entry = entry_for(name);
    if text.lines().any(|l| l == entry) {
        return Ok(false);
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&entry);
    text.push('\n');
    write_atomic(&path, text.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_dvc() {
        assert_eq!(entry_for("#x"), "/\\#x");
        assert_eq!(entry_for("a b[1]*?!.csv"), "/a b\\[1\\]\\*\\?\\!.csv");
    }

    #[test]
    fn appends_once_and_fixes_missing_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "/other").unwrap();
        assert!(ignore(dir.path(), "data.csv").unwrap());
        assert!(!ignore(dir.path(), "data.csv").unwrap());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
            "/other\n/data.csv\n"
        );
    }
}
