//! `.dir` manifests: the JSON list of `{md5, relpath}` that stands for a tracked folder, written
//! byte for byte as Python's `json.dumps(sorted_list, sort_keys=True)` (DVC's writer), so that
//! directory ids match DVC's. Parsing refuses paths that would escape the output.

use serde::Deserialize;

use super::hash::md5_bytes;

/// One file of a tracked folder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Entry {
    /// `/`-separated path relative to the folder.
    pub relpath: String,
    pub md5: String,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("not a DVC `.dir` manifest: {0}")]
    Json(String),
    #[error("entry `{0}` escapes the folder (absolute path or `..`)")]
    UnsafePath(String),
    #[error("entry `{relpath}` has a malformed md5 `{md5}`")]
    BadHash { relpath: String, md5: String },
}

/// Sorts entries as DVC does: by the whole relpath in code-point order.
pub fn sort(entries: &mut [Entry]) {
    entries.sort_by(|a, b| a.relpath.cmp(&b.relpath));
}

/// The exact manifest bytes for `entries` (which must be sorted).
pub fn to_bytes(entries: &[Entry]) -> Vec<u8> {
    let mut out = String::with_capacity(entries.len() * 72 + 2);
    out.push('[');
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str("{\"md5\": ");
        push_py_json_str(&mut out, &e.md5);
        out.push_str(", \"relpath\": ");
        push_py_json_str(&mut out, &e.relpath);
        out.push('}');
    }
    out.push(']');
    out.into_bytes()
}

/// The folder id: md5 of the manifest bytes plus `.dir`.
pub fn dir_md5(bytes: &[u8]) -> String {
    format!("{}.dir", md5_bytes(bytes))
}

/// A JSON string as Python's `json.dumps` with `ensure_ascii=True` writes it.
pub(crate) fn push_py_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses manifest bytes, refusing entries that could write outside the folder.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, ManifestError> {
    let entries: Vec<Entry> =
        serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
    for e in &entries {
        if !is_safe_relpath(&e.relpath) {
            return Err(ManifestError::UnsafePath(e.relpath.clone()));
        }
        if !is_md5(&e.md5) {
            return Err(ManifestError::BadHash {
                relpath: e.relpath.clone(),
                md5: e.md5.clone(),
            });
        }
    }
    Ok(entries)
}

/// A relative, `/`-separated path with no empty, `.` or `..` component and no NUL.
pub fn is_safe_relpath(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains('\0')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// 32 lowercase hex digits.
pub fn is_md5(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(relpath: &str, md5: &str) -> Entry {
        Entry {
            relpath: relpath.into(),
            md5: md5.into(),
        }
    }

    #[test]
    fn bytes_match_dvc_observed_manifest() {
        let mut entries = vec![
            e("sub/deep.txt", "6983b4cd210aab338877de6d3b33c926"),
            e("empty.txt", "d41d8cd98f00b204e9800998ecf8427e"),
            e("b/z.bin", "f3abb86bd34cf4d52698f14c0da1dc60"),
            e("a.txt", "b1946ac92492d2347c6235b4d2611184"),
            e("a-b.txt", "415290769594460e2e485922904f345d"),
            e("_u.txt", "7b774effe4a349c6dd82ad4f4f21d34c"),
            e("B.txt", "9dd4e461268c8034f5c8564e155c67a6"),
        ];
        sort(&mut entries);
        let bytes = to_bytes(&entries);
        assert_eq!(bytes.len(), 471);
        assert_eq!(dir_md5(&bytes), "eb23ad1f5bab90a23ae69a10e66c7285.dir");
        assert_eq!(
            dir_md5(&to_bytes(&[])),
            "d751713988987e9331980363e24189ce.dir"
        );
    }

    #[test]
    fn escapes_like_python_json() {
        let bytes = to_bytes(&[
            e("caf\u{e9}.txt", "1679091c5a880faf6fb5e6087eb1b2dc"),
            e("\u{1F600}.bin", "c9f0f895fb98ab9159f51fd0297e236d"),
            e("q\"uote", "45c48cce2e2d7fbdea1afc51c7c6ad26"),
            e("back\\slash", "0cc175b9c0f1b6a831c399e269772661"),
            e("tab\there\u{1f}", "0cc175b9c0f1b6a831c399e269772661"),
        ]);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(r#""relpath": "caf\u00e9.txt""#), "{text}");
        assert!(text.contains(r#""relpath": "\ud83d\ude00.bin""#), "{text}");
        assert!(text.contains(r#""relpath": "q\"uote""#), "{text}");
        assert!(text.contains(r#""relpath": "back\\slash""#), "{text}");
        assert!(text.contains(r#""relpath": "tab\there\u001f""#), "{text}");
    }

    #[test]
    fn sort_is_code_point_order_of_whole_path() {
        let mut entries: Vec<Entry> =
            ["a/x", "a0", "a.txt", "a-b", "\u{65e5}.txt", "caf\u{e9}.txt"]
                .iter()
                .map(|p| e(p, "d41d8cd98f00b204e9800998ecf8427e"))
                .collect();
        sort(&mut entries);
        let order: Vec<&str> = entries.iter().map(|e| e.relpath.as_str()).collect();
        assert_eq!(
            order,
            ["a-b", "a.txt", "a/x", "a0", "caf\u{e9}.txt", "\u{65e5}.txt"]
        );
    }

    #[test]
    fn parse_round_trips_and_refuses_escapes() {
        let entries = vec![e("x/y", "d41d8cd98f00b204e9800998ecf8427e")];
        assert_eq!(parse(&to_bytes(&entries)).unwrap(), entries);
        for bad in ["../x", "/etc/passwd", "a/../../b", "a//b", "./a"] {
            let bytes = to_bytes(&[e(bad, "d41d8cd98f00b204e9800998ecf8427e")]);
            assert_eq!(
                parse(&bytes),
                Err(ManifestError::UnsafePath(bad.into())),
                "{bad}"
            );
        }
        assert!(matches!(
            parse(b"[{\"md5\": 1"),
            Err(ManifestError::Json(_))
        ));
    }
}
