//! Content ids as DVC computes them: md5 of the raw bytes (`hash: md5`, DVC 3) and the legacy
//! DVC 2 `md5-dos2unix` (CRLF → LF in chunks that look like text), read in 1 MiB chunks.

use std::io::Read;
use std::path::Path;

use super::md5::Md5;

use super::{Error, Result};

/// DVC's read size and dos2unix chunk size.
pub const CHUNK: usize = 1 << 20;

/// Which hash an output uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum HashKind {
    /// DVC 3: md5 of raw bytes, stored under `files/md5/`.
    Md5,
    /// DVC 2: md5 after CRLF → LF in text chunks, stored at the cache root.
    Md5Dos2Unix,
}

/// The lowercase hex md5 of `bytes`.
pub fn md5_bytes(bytes: &[u8]) -> String {
    Md5::hex_of(bytes)
}

/// The md5 of a file's content; `on_bytes` is told how many bytes were read after each chunk.
pub fn md5_file(path: &Path, kind: HashKind, on_bytes: &dyn Fn(u64)) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(Error::io("open", path))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = read_full(&mut file, &mut buf).map_err(Error::io("read", path))?;
        if n == 0 {
            break;
        }
        match kind {
            HashKind::Md5 => hasher.update(&buf[..n]),
            HashKind::Md5Dos2Unix => update_dos2unix(&mut hasher, &buf[..n]),
        }
        on_bytes(n as u64);
        if n < buf.len() {
            break;
        }
    }
    Ok(hasher.finish_hex())
}

/// The md5 of in-memory content with the given kind.
pub fn md5_of(bytes: &[u8], kind: HashKind) -> String {
    match kind {
        HashKind::Md5 => md5_bytes(bytes),
        HashKind::Md5Dos2Unix => {
            let mut h = Md5::new();
            for chunk in bytes.chunks(CHUNK) {
                update_dos2unix(&mut h, chunk);
            }
            h.finish_hex()
        }
    }
}

/// Fills `buf` as far as the file allows (so chunk boundaries match DVC's 1 MiB reads).
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn update_dos2unix(hasher: &mut Md5, chunk: &[u8]) {
    hasher.update(dos2unix_chunk(chunk).as_ref());
}

/// One chunk as the legacy hash sees it: CRLF → LF when the chunk looks like text.
pub fn dos2unix_chunk(chunk: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !is_text_block(&chunk[..chunk.len().min(512)]) || !chunk.contains(&b'\r') {
        return std::borrow::Cow::Borrowed(chunk);
    }
    let mut out = Vec::with_capacity(chunk.len());
    let mut i = 0;
    while i < chunk.len() {
        if chunk[i] == b'\r' && chunk.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(chunk[i]);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// DVC's `istextblock`: no NUL, and at most 30% of bytes outside printable ASCII and
/// `\n\r\t\f\b`. An empty block is text.
fn is_text_block(block: &[u8]) -> bool {
    if block.is_empty() {
        return true;
    }
    if block.contains(&0) {
        return false;
    }
    let nontext = block
        .iter()
        .filter(|&&b| {
            !((32..=126).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x08))
        })
        .count();
    (nontext as f64) / (block.len() as f64) <= 0.30
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_md5_keeps_crlf() {
        assert_eq!(
            md5_bytes(b"line1\r\nline2\r\n"),
            "c6242222cf6ccdb15a43e0e5b1a08810"
        );
        assert_eq!(md5_bytes(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_bytes(b"[]"), "d751713988987e9331980363e24189ce");
    }

    #[test]
    fn dos2unix_normalises_text_only() {
        assert_eq!(
            md5_of(b"a\r\nb\r\n", HashKind::Md5Dos2Unix),
            md5_bytes(b"a\nb\n")
        );
        let binary = b"\0\r\n";
        assert_eq!(md5_of(binary, HashKind::Md5Dos2Unix), md5_bytes(binary));
    }

    #[test]
    fn file_hash_matches_memory_hash() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..(CHUNK * 2 + 17)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let seen = std::sync::atomic::AtomicU64::new(0);
        let h = md5_file(&p, HashKind::Md5, &|n| {
            seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(h, md5_bytes(&data));
        assert_eq!(seen.into_inner(), data.len() as u64);
    }
}
