//! Keeps secrets out of everything a person or a store sees: a URL loses its user info and the
//! values of secret-looking query parameters before it is printed, logged, put in `--json` or
//! stored in a run tag, while the connection itself still gets the credentials
//! ([`split_credentials`]). A crate-level utility like [`crate::git`]: it depends on nothing else
//! in vintner, so `data`, `track` and `cli` all use it without crossing layers.

use std::borrow::Cow;
use std::fmt;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// `url` fit to show: any user info becomes `***` (`http://***@host:5000`, nothing of the user
/// or the password is kept) and the values of secret-looking query or fragment parameters
/// become `***` (`?token=***`). Anything without `scheme://` (a local path) comes back unchanged.
pub fn url(url: &str) -> Cow<'_, str> {
    rewrite(url, Some(MASK))
}

/// `url` with its user info dropped, as MLflow records `mlflow.source.git.repoURL`
/// (`https://user:token@host/org/repo.git` → `https://host/org/repo.git`, a link that still
/// works), and secret-looking query values masked like [`url`]. SCP-style git addresses
/// (`git@host:org/repo.git`) carry no secret and are kept.
pub fn strip_credentials(url: &str) -> Cow<'_, str> {
    rewrite(url, None)
}

/// `text` with every URL in it redacted like [`url`]: for messages that quote URLs among other
/// words (an error from a library, git's stderr, a log line).
pub fn text(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut done = 0; // bytes of `text` already copied to `out`
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let sep = search + found;
        let start = scheme_start(text, sep).filter(|&s| s >= done);
        let end = text[sep..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '`' | '<' | '>'))
            .map_or(text.len(), |i| sep + i);
        if let Some(start) = start {
            let span = &text[start..end];
            if let Cow::Owned(redacted) = url(span) {
                out.push_str(&text[done..start]);
                out.push_str(&redacted);
                done = end;
                changed = true;
            }
        }
        search = end.max(sep + 3);
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[done..]);
    Cow::Owned(out)
}

/// A value that displays redacted by [`text`], for `format!` and `thiserror` messages.
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&text(self.0))
    }
}

/// Credentials a URL carries in its user info, percent-decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlCredentials {
    pub user: String,
    /// `None` for `https://user@host` (no `:`).
    pub password: Option<String>,
}

impl fmt::Debug for UrlCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UrlCredentials(***)")
    }
}

/// Splits the user info off `url`: the URL to connect to and to show (no credentials in it),
/// and the credentials to authenticate with. `http://alice:s3cret@host:5000/x` gives
/// `http://host:5000/x` and `alice` / `s3cret`. Without user info, the URL comes back as is.
pub fn split_credentials(url: &str) -> (String, Option<UrlCredentials>) {
    let Some(parts) = Parts::of(url) else {
        return (url.to_string(), None);
    };
    let Some(userinfo) = parts.userinfo(url) else {
        return (url.to_string(), None);
    };
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(percent_decode(p))),
        None => (userinfo, None),
    };
    let bare = format!("{}{}", &url[..parts.authority], &url[parts.host..]);
    (
        bare,
        Some(UrlCredentials {
            user: percent_decode(user),
            password,
        }),
    )
}

/// Whether a query parameter or config option named `key` holds a secret: tokens, keys,
/// secrets, passwords, signatures (`sig`, `X-Amz-Signature`, every `X-Amz-*`/`X-Goog-*`
/// parameter of a presigned URL), credentials, sessions, auth codes.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    if k.starts_with("x-amz-") || k.starts_with("x-goog-") {
        return true;
    }
    const EXACT: &[&str] = &["sig", "sas", "code", "pass", "pwd", "jwt"];
    const CONTAINS: &[&str] = &[
        "token",
        "secret",
        "password",
        "passwd",
        "signature",
        "credential",
        "auth",
        "session",
        "private",
        "apikey",
        "api_key",
        "api-key",
    ];
    EXACT.contains(&k.as_str()) || k.ends_with("key") || CONTAINS.iter().any(|w| k.contains(w))
}

/// Byte offsets of the pieces of `scheme://[userinfo@]host[/path][?query][#fragment]`.
struct Parts {
    /// Start of the authority (just after `://`).
    authority: usize,
    /// Start of the host (after `userinfo@`, or `authority` when there is none).
    host: usize,
    /// End of the authority (start of path, query or fragment, or the end).
    authority_end: usize,
}

impl Parts {
    fn of(url: &str) -> Option<Parts> {
        let sep = url.find("://")?;
        if scheme_start(url, sep) != Some(0) {
            return None;
        }
        let authority = sep + 3;
        let authority_end = url[authority..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| authority + i);
        let host = url[authority..authority_end]
            .rfind('@')
            .map_or(authority, |i| authority + i + 1);
        Some(Parts {
            authority,
            host,
            authority_end,
        })
    }

    fn userinfo<'a>(&self, url: &'a str) -> Option<&'a str> {
        (self.host > self.authority).then(|| &url[self.authority..self.host - 1])
    }
}

/// Where the scheme ending at `sep` (the index of `://`) starts: letters, digits, `+-.`, first a
/// letter.
fn scheme_start(text: &str, sep: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut start = sep;
    while start > 0
        && (bytes[start - 1].is_ascii_alphanumeric() || b"+-.".contains(&bytes[start - 1]))
    {
        start -= 1;
    }
    while start < sep && !bytes[start].is_ascii_alphabetic() {
        start += 1;
    }
    (start < sep).then_some(start)
}

/// Masks or drops (`userinfo_mask = None`) the user info, and masks secret parameter values.
fn rewrite<'a>(url: &'a str, userinfo_mask: Option<&str>) -> Cow<'a, str> {
    let Some(parts) = Parts::of(url) else {
        return Cow::Borrowed(url);
    };
    let mut out = String::with_capacity(url.len());
    let mut changed = false;
    out.push_str(&url[..parts.authority]);
    if parts.host > parts.authority {
        changed = true;
        if let Some(mask) = userinfo_mask {
            out.push_str(mask);
            out.push('@');
        }
    }
    out.push_str(&url[parts.host..parts.authority_end]);
    let rest = &url[parts.authority_end..];
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (rest, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    out.push_str(path);
    if let Some(q) = query {
        out.push('?');
        changed |= mask_params(q, &mut out);
    }
    if let Some(f) = fragment {
        out.push('#');
        changed |= mask_params(f, &mut out);
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(url)
    }
}

/// Copies `a=1&token=2` to `out` as `a=1&token=***`; whether anything was masked.
fn mask_params(params: &str, out: &mut String) -> bool {
    let mut changed = false;
    for (i, pair) in params.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, value))
                if !value.is_empty() && value != MASK && is_secret_key(&percent_decode(key)) =>
            {
                out.push_str(key);
                out.push('=');
                out.push_str(MASK);
                changed = true;
            }
            _ => out.push_str(pair),
        }
    }
    changed
}

/// `%40` → `@`; invalid escapes are kept as written, invalid UTF-8 is replaced.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_masked_whole() {
        assert_eq!(url("http://alice:s3cret@host:5000"), "http://***@host:5000");
        assert_eq!(
            url("https://oauth2:TOKEN@git.example/org/repo.git"),
            "https://***@git.example/org/repo.git"
        );
        // a token as the user name, and an `@` inside the password
        assert_eq!(url("https://ghp_abc@h/x"), "https://***@h/x");
        assert_eq!(url("http://u:p@ss@h:1/a"), "http://***@h:1/a");
    }

    #[test]
    fn urls_without_secrets_are_borrowed_unchanged() {
        for u in [
            "http://127.0.0.1:5000",
            "sqlite:////tmp/mlflow.db",
            "s3://bucket/prefix",
            "/data/remote",
            "git@github.com:org/repo.git",
            "https://h/x?versionId=3&page=2#top",
            "http://h/path@with-at",
            "http://h/?q=a@b",
        ] {
            assert!(matches!(url(u), Cow::Borrowed(_)), "{u}");
            assert!(matches!(strip_credentials(u), Cow::Borrowed(_)), "{u}");
        }
    }

    #[test]
    fn secret_query_values_are_masked() {
        assert_eq!(
            url("http://h/store?token=abc&page=2"),
            "http://h/store?token=***&page=2"
        );
        assert_eq!(
            url(
                "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Signature=f00d&versionId=1"
            ),
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=***&X-Amz-Signature=***&versionId=1"
        );
        assert_eq!(
            url("https://a.blob.core.windows.net/c?sv=2022&sig=xyz%3D&se=2030"),
            "https://a.blob.core.windows.net/c?sv=2022&sig=***&se=2030"
        );
        assert_eq!(
            url("http://u:p@h/?api_key=1#access_token=2"),
            "http://***@h/?api_key=***#access_token=***"
        );
        for k in [
            "token",
            "Key",
            "secret",
            "signature",
            "password",
            "sig",
            "X-Amz-Security-Token",
            "x-goog-credential",
            "access_key",
            "secret_access_key",
            "client_secret",
            "session_token",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "page",
            "versionId",
            "region",
            "url",
            "endpointurl",
            "se",
            "sv",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn strip_drops_user_info_like_mlflow_does_for_the_git_tag() {
        assert_eq!(
            strip_credentials("https://bob:ghp_secret123@git.example/org/repo.git"),
            "https://git.example/org/repo.git"
        );
        assert_eq!(
            strip_credentials("ssh://git@host:22/org/repo.git"),
            "ssh://host:22/org/repo.git"
        );
        assert_eq!(
            strip_credentials("https://h/r.git?private_token=x"),
            "https://h/r.git?private_token=***"
        );
    }

    #[test]
    fn text_redacts_every_url_it_quotes() {
        let msg = "could not reach http://alice:s3cret@127.0.0.1:1/api/2.0/mlflow/x: refused; \
                   fatal: unable to access 'https://bob:tok@git.example/r.git/': 403 \
                   (\"url\": \"http://h/?token=abc\")";
        let out = text(msg);
        assert!(!out.contains("s3cret") && !out.contains("alice"), "{out}");
        assert!(!out.contains("tok@") && !out.contains("bob"), "{out}");
        assert!(!out.contains("abc"), "{out}");
        assert!(out.contains("http://***@127.0.0.1:1/api/2.0/mlflow/x: refused"));
        assert!(out.contains("'https://***@git.example/r.git/': 403"));
        assert!(out.contains("\"http://h/?token=***\")"));
        let plain = "no urls here, only a:b@c and s3://bucket/x";
        assert!(matches!(text(plain), Cow::Borrowed(_)));
        assert_eq!(Redacted("at x://u:p@h").to_string(), "at x://***@h");
        // a `://` with no scheme before it is skipped, later URLs are still found
        assert_eq!(text(":// then http://u:p@h"), ":// then http://***@h");
    }

    #[test]
    fn split_credentials_gives_a_clean_url_and_decoded_credentials() {
        let (u, c) = split_credentials("http://alice:s3%3Acret@host:5000/prefix");
        assert_eq!(u, "http://host:5000/prefix");
        let c = c.unwrap();
        assert_eq!(
            (c.user.as_str(), c.password.as_deref()),
            ("alice", Some("s3:cret"))
        );
        assert!(!format!("{c:?}").contains("alice"));
        let (u, c) = split_credentials("https://TOKEN@host");
        assert_eq!(u, "https://host");
        assert_eq!(c.unwrap().password, None);
        let (u, c) = split_credentials("http://host:5000");
        assert_eq!((u.as_str(), c), ("http://host:5000", None));
        let (u, c) = split_credentials("not a url");
        assert_eq!((u.as_str(), c), ("not a url", None));
    }
}
