//! What OpenSSH's client config (`~/.ssh/config`) says about the host of an `ssh://` remote, so
//! that `ssh://gpu-box/data` reaches the machine, port, user, keys and known-hosts file that
//! `ssh gpu-box` would, as DVC's ssh remote (through asyncssh) does. Parsing is `ssh2-config`'s;
//! this module reads `Include`d files in (so that `Match` blocks apply nowhere in them either),
//! picks the options vintner honours and expands their `%` tokens. It depends on nothing but
//! the files it reads.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use ssh2_config::{ParseRule, SshConfig};

/// Why `~/.ssh/config` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{}`: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}`{} is not a valid OpenSSH client config: {message}; fix that line (`man ssh_config` describes the format)",
        path.display(),
        line.map(|l| format!(", line {l},")).unwrap_or_default())]
    Malformed {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
}

/// The options of one host, first value winning as in OpenSSH; `None` where the file sets none.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HostOptions {
    pub host_name: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// `IdentityFile`s in order, `~` already expanded, `%` tokens not yet.
    pub identity_files: Vec<String>,
    pub identities_only: bool,
    /// `UserKnownHostsFile` (`none` gives an empty list), tokens not yet expanded.
    pub known_hosts_files: Option<Vec<String>>,
    /// `IdentityAgent`: a socket path, `SSH_AUTH_SOCK`, or `none`.
    pub identity_agent: Option<String>,
    /// `ProxyJump` or `ProxyCommand` as written (`none` is no proxy): a route vintner cannot
    /// take, so connecting directly instead would reach the wrong place or nothing.
    pub proxy: Option<String>,
}

/// The options `config` (a missing file is an empty one) gives the host named `alias` in a URL.
pub fn lookup(config: &Path, home: &Path, alias: &str) -> Result<HostOptions, ConfigError> {
    let mut lines = Vec::new();
    match expand_includes(config, home, alias, 0, &mut lines) {
        Ok(()) => {}
        Err(ConfigError::Unreadable { path, source })
            if path == config && source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(HostOptions::default());
        }
        Err(e) => return Err(e),
    }
    let text = lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let parsed = parse(&text, home).map_err(|e| {
        let at = lines.iter().find(|l| parse(&l.text, home).is_err());
        ConfigError::Malformed {
            path: at.map_or_else(|| config.to_path_buf(), |l| l.file.clone()),
            line: at.map(|l| l.number),
            message: e.to_string(),
        }
    })?;
    let params = parsed.query(alias);
    let malformed = |message: String| ConfigError::Malformed {
        path: config.to_path_buf(),
        line: None,
        message,
    };
    let field = |name: &str| {
        params
            .unsupported_fields
            .get(name)
            .filter(|v| !v.is_empty())
    };
    let identities_only = match field("identitiesonly").map(|v| v[0].to_lowercase()) {
        None => false,
        Some(v) if matches!(v.as_str(), "yes" | "true") => true,
        Some(v) if matches!(v.as_str(), "no" | "false") => false,
        Some(v) => {
            return Err(malformed(format!(
                "`IdentitiesOnly {v}` is neither `yes` nor `no`"
            )));
        }
    };
    let known_hosts_files = field("userknownhostsfile").map(|files| {
        if files.len() == 1 && files[0].eq_ignore_ascii_case("none") {
            Vec::new()
        } else {
            files.iter().map(|f| tilde(unquote(f), home)).collect()
        }
    });
    Ok(HostOptions {
        host_name: params.host_name,
        port: params.port,
        user: params.user,
        identity_files: params
            .identity_file
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        identities_only,
        known_hosts_files,
        identity_agent: field("identityagent").map(|v| v[0].clone()),
        proxy: params
            .proxy_jump
            .filter(|j| !(j.len() == 1 && j[0].eq_ignore_ascii_case("none")))
            .map(|j| format!("ProxyJump {}", j.join(",")))
            .or_else(|| {
                field("proxycommand")
                    .filter(|c| !(c.len() == 1 && c[0].eq_ignore_ascii_case("none")))
                    .map(|c| format!("ProxyCommand {}", c.join(" ")))
            }),
    })
}

fn parse(text: &str, home: &Path) -> Result<SshConfig, ssh2_config::SshParserError> {
    SshConfig::default().home_dir(home).parse(
        &mut BufReader::new(text.as_bytes()),
        // Options vintner has no use for are ignored, as unknown ones are by asyncssh.
        ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
    )
}

/// One line of the config once its `Include`s are read in, and where it came from.
struct Line {
    text: String,
    file: PathBuf,
    number: usize,
}

/// OpenSSH gives up on `Include`s nested deeper than this.
const MAX_INCLUDE_DEPTH: usize = 16;

/// The lines of `file` with every `Include` replaced by the files it names, as OpenSSH reads
/// them, and `Match` blocks made to match no host in every file. The parser would read included
/// files itself, but it has no notion of `Match`: it would skip the keyword and give the
/// block's options (`User`, `IdentityAgent`, `ProxyJump`…) to every host. `Match` criteria test
/// things (the command line, the local network, `exec`) only `ssh` itself knows, so their
/// options apply nowhere.
///
/// An `Include` inside a block applies only where that block does (a block that does not match
/// `alias` contributes nothing, as in OpenSSH), and the enclosing block resumes after it.
fn expand_includes(
    file: &Path,
    home: &Path,
    alias: &str,
    depth: usize,
    out: &mut Vec<Line>,
) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Unreadable {
        path: file.to_path_buf(),
        source,
    })?;
    // The block the lines are in: `None` at the top level, else its header and whether it
    // applies to `alias`.
    let mut block: Option<(String, bool)> = None;
    for (i, line) in text.lines().enumerate() {
        let at = |text: String| Line {
            text,
            file: file.to_path_buf(),
            number: i + 1,
        };
        let trimmed = line.trim_start();
        let keyword = trimmed
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or_default();
        if keyword.eq_ignore_ascii_case("match") {
            block = Some(("Host !*".into(), false));
            out.push(at("Host !*".into()));
        } else if keyword.eq_ignore_ascii_case("host") {
            block = Some((line.to_string(), host_line_matches(line, home, alias)));
            out.push(at(line.to_string()));
        } else if keyword.eq_ignore_ascii_case("include") {
            if block.as_ref().is_some_and(|(_, applies)| !applies) {
                continue;
            }
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(ConfigError::Malformed {
                    path: file.to_path_buf(),
                    line: Some(i + 1),
                    message: format!(
                        "`Include`s are nested more than {MAX_INCLUDE_DEPTH} deep (one \
                         includes itself?)"
                    ),
                });
            }
            let resume = block
                .as_ref()
                .map_or("Host *", |(header, _)| header.as_str());
            let args = trimmed[keyword.len()..]
                .trim_start_matches(|c: char| c.is_whitespace() || c == '=')
                .split_whitespace()
                .map(unquote);
            for arg in args {
                let pattern = tilde(arg, home);
                let pattern = if Path::new(&pattern).is_absolute() {
                    PathBuf::from(pattern)
                } else {
                    home.join(".ssh").join(pattern)
                };
                for included in glob(&pattern) {
                    // Each file starts a block of its own where the enclosing one applies (at
                    // the top level, every host), so the first value wins across files, too.
                    out.push(at(resume.to_string()));
                    expand_includes(&included, home, alias, depth + 1, out)?;
                }
            }
            // The enclosing block resumes.
            out.push(at(resume.to_string()));
        } else {
            out.push(at(line.to_string()));
        }
    }
    Ok(())
}

/// Whether the `Host` line `line` names `alias`, as the parser itself decides.
fn host_line_matches(line: &str, home: &Path, alias: &str) -> bool {
    const PROBE: &str = "vintner-probe";
    parse(&format!("{line}\n  HostName {PROBE}\n"), home)
        .is_ok_and(|c| c.query(alias).host_name.as_deref() == Some(PROBE))
}

/// The files `pattern` names (`*` and `?` in any component), sorted as `glob(3)` sorts them;
/// none when nothing matches, as OpenSSH ignores an `Include` that matches nothing.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for part in pattern.components() {
        let name = part.as_os_str().to_string_lossy();
        if !name.contains(['*', '?']) {
            found = found.into_iter().map(|f| f.join(part)).collect();
            continue;
        }
        let mut next = Vec::new();
        for dir in &found {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // As in a shell, a wildcard does not match a leading dot.
                .filter(|n| !n.starts_with('.') || name.starts_with('.'))
                .filter(|n| wildcard_match(&name, n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| dir.join(n)));
        }
        found = next;
    }
    found.into_iter().filter(|f| f.is_file()).collect()
}

/// OpenSSH's patterns: `*` is any run of characters, `?` any one.
pub(super) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and how much of the name it had taken.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A token without the double quotes that kept its spaces together.
fn unquote(token: &str) -> &str {
    token
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(token)
}

/// A leading `~` or `~/` against `home`.
fn tilde(path: &str, home: &Path) -> String {
    match path.strip_prefix('~') {
        Some("") => home.to_string_lossy().into_owned(),
        Some(rest) if rest.starts_with('/') => format!("{}{rest}", home.display()),
        _ => path.to_string(),
    }
}

/// The values OpenSSH substitutes for `%` tokens in paths.
pub struct Tokens<'a> {
    /// `%h`: the host name connected to (after `HostName`).
    pub host: &'a str,
    /// `%n`: the host as the URL names it.
    pub alias: &'a str,
    /// `%p`
    pub port: u16,
    /// `%r`: the remote user.
    pub remote_user: &'a str,
    /// `%u`: the local user.
    pub local_user: &'a str,
    /// `%d`
    pub home: &'a Path,
}

/// Expands `~`, `${VAR}` and the `%` tokens OpenSSH documents for `IdentityFile` and
/// `UserKnownHostsFile` (`%%`, `%d`, `%h`, `%i`, `%L`, `%l`, `%n`, `%p`, `%r`, `%u`); any other
/// token, or an unset variable, is an error naming it.
pub fn expand(path: &str, t: &Tokens) -> Result<PathBuf, String> {
    let path = tilde(path, t.home);
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek() == Some(&'{') {
            chars.next();
            let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
            match std::env::var(&name) {
                Ok(v) => out.push_str(&v),
                Err(_) => return Err(format!("`{path}` uses `${{{name}}}`, which is not set")),
            }
            continue;
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('d') => out.push_str(&t.home.to_string_lossy()),
            Some('h') => out.push_str(t.host),
            // SAFETY: getuid cannot fail.
            Some('i') => out.push_str(&unsafe { libc::getuid() }.to_string()),
            Some('l') => out.push_str(&local_host_name()),
            Some('L') => out.push_str(local_host_name().split('.').next().unwrap_or_default()),
            Some('n') => out.push_str(t.alias),
            Some('p') => out.push_str(&t.port.to_string()),
            Some('r') => out.push_str(t.remote_user),
            Some('u') => out.push_str(t.local_user),
            Some(other) => {
                return Err(format!(
                    "`{path}` uses the token `%{other}`, which vintner does not expand"
                ));
            }
            None => return Err(format!("`{path}` ends with a lone `%`")),
        }
    }
    Ok(PathBuf::from(out))
}

/// This machine's host name (`%l`), empty if it has none.
fn local_host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the name is NUL-terminated within it when the
    // call succeeds (the last byte stays 0 even if it was truncated).
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) } == 0;
    if !ok {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(text: &str, alias: &str) -> Result<HostOptions, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, text).unwrap();
        lookup(&path, Path::new("/home/u"), alias)
    }

    const CONFIG: &str = "\
# global options first: they win over every block below, as in OpenSSH
ServerAliveInterval 30
SomeOptionFromTheFuture yes

Host gpu-box gpu?
    HostName=10.0.0.7
    User\tana
    Port 2222
    IdentityFile ~/.ssh/gpu_%r_%h
    IdentitiesOnly yes
    UserKnownHostsFile ~/.ssh/hosts_%n \"/etc/ssh/team hosts\"

Match host gpu-box exec \"true\"
    User someone-else

Host *.lab !private.lab
    User lab

Host *
    User fallback
    IdentityFile ~/.ssh/id_ed25519
    IdentityAgent none
";

    #[test]
    fn host_blocks_apply_in_order_first_value_winning() {
        let o = options(CONFIG, "gpu-box").unwrap();
        assert_eq!(o.host_name.as_deref(), Some("10.0.0.7"));
        assert_eq!(
            o.user.as_deref(),
            Some("ana"),
            "a Match block applies nowhere"
        );
        assert_eq!(o.port, Some(2222));
        assert_eq!(
            o.identity_files,
            vec!["/home/u/.ssh/gpu_%r_%h", "/home/u/.ssh/id_ed25519"]
        );
        assert!(o.identities_only);
        assert_eq!(
            o.known_hosts_files,
            Some(vec![
                "/home/u/.ssh/hosts_%n".to_string(),
                "/etc/ssh/team hosts".to_string()
            ])
        );
        assert_eq!(o.identity_agent.as_deref(), Some("none"));
        // `?` matches one character; `!` excludes a host from a block.
        assert_eq!(options(CONFIG, "gpu7").unwrap().port, Some(2222));
        assert_eq!(options(CONFIG, "gpu77").unwrap().port, None);
        assert_eq!(
            options(CONFIG, "a.lab").unwrap().user.as_deref(),
            Some("lab")
        );
        let private = options(CONFIG, "private.lab").unwrap();
        assert_eq!(private.user.as_deref(), Some("fallback"));
        assert!(!private.identities_only);
        assert_eq!(private.known_hosts_files, None);
    }

    #[test]
    fn a_proxy_route_is_reported_and_none_is_no_route() {
        let text = "Host a\n  ProxyJump bastion\nHost b\n  ProxyCommand ssh -W %h:%p gw\n\
                    Host c\n  ProxyJump none\nHost *\n  ProxyJump other\n";
        let proxy = |alias: &str| options(text, alias).unwrap().proxy;
        assert_eq!(proxy("a").as_deref(), Some("ProxyJump bastion"));
        // Which of the two wins when both apply does not matter: either is a route.
        assert!(proxy("b").is_some_and(|p| p.starts_with("Proxy")));
        assert_eq!(
            options("Host b\n  ProxyCommand ssh -W %h:%p gw\n", "b")
                .unwrap()
                .proxy
                .as_deref(),
            Some("ProxyCommand ssh -W %h:%p gw")
        );
        assert_eq!(proxy("c"), None);
    }

    #[test]
    fn a_missing_file_is_an_empty_config() {
        let o = lookup(
            Path::new("/nonexistent/.ssh/config"),
            Path::new("/h"),
            "box",
        )
        .unwrap();
        assert_eq!(o, HostOptions::default());
    }

    #[test]
    fn a_malformed_config_names_the_file_and_line() {
        let err = options("Host box\n  HostName 10.0.0.1\n  Port twenty-two\n", "box")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config`, line 3,") && err.contains("port"),
            "{err}"
        );
        let err = options("Host box\n  IdentitiesOnly perhaps\n", "box")
            .unwrap_err()
            .to_string();
        assert!(err.contains("IdentitiesOnly perhaps"), "{err}");
        let err = options("Host box\n  User \"ana\n", "box")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    /// The options for `alias` of `~/.ssh/config` holding `config`, beside `files` (relative to
    /// `~/.ssh`) in a fresh home.
    fn with_includes(
        config: &str,
        files: &[(&str, &str)],
        alias: &str,
    ) -> Result<HostOptions, ConfigError> {
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        for (name, text) in files {
            let path = ssh.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::write(ssh.join("config"), config).unwrap();
        lookup(&ssh.join("config"), home.path(), alias)
    }

    #[test]
    fn match_blocks_in_included_files_apply_nowhere() {
        let corp = "Match host *.corp exec \"on-vpn\"\n  User vpn-user\n  ProxyJump bastion\n  \
                    IdentityAgent ~/.vpn-agent\nHost gpu\n  Port 2200\n";
        let files = [("conf.d/corp", corp), ("conf.d/.hidden", "User hidden\n")];
        let config = "Include conf.d/*\nHost *\n  User fallback\n";
        for alias in ["gpu", "a.corp"] {
            let o = with_includes(config, &files, alias).unwrap();
            assert_eq!(o.user.as_deref(), Some("fallback"), "{alias}");
            assert_eq!(o.proxy, None, "{alias}");
            assert_eq!(o.identity_agent, None, "{alias}");
        }
        assert_eq!(
            with_includes(config, &files, "gpu").unwrap().port,
            Some(2200)
        );
        // `~` and absolute paths too; files of a glob in sorted order, the first value winning.
        let files = [("d/20-b", "User b\n"), ("d/10-a", "User a\n")];
        let o = with_includes("Include ~/.ssh/d/*-?\n", &files, "x").unwrap();
        assert_eq!(o.user.as_deref(), Some("a"));
        // An `Include` that matches nothing is no error, as in OpenSSH.
        assert_eq!(
            with_includes("Include nothing/*\nUser u\n", &[], "x")
                .unwrap()
                .user
                .as_deref(),
            Some("u")
        );
    }

    #[test]
    fn an_include_inside_a_host_block_applies_only_to_that_block() {
        let config = "Host gpu\n  Include inner\n  User gpu-user\nHost *\n  User all\n";
        let files = [("inner", "Port 2200\nHost other\n  Port 9\n")];
        let gpu = with_includes(config, &files, "gpu").unwrap();
        assert_eq!(
            (gpu.port, gpu.user.as_deref()),
            (Some(2200), Some("gpu-user")),
            "the block resumes after the included file"
        );
        let other = with_includes(config, &files, "other").unwrap();
        assert_eq!((other.port, other.user.as_deref()), (None, Some("all")));
    }

    #[test]
    fn a_malformed_included_file_is_named_with_its_line() {
        let err = with_includes(
            "Include team\n",
            &[("team", "# team hosts\nHost box\n  Port twenty-two\n")],
            "box",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("team`, line 3,") && err.contains("port"),
            "{err}"
        );
        let err = with_includes("Include loop\n", &[("loop", "Include loop\n")], "box")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nested"), "{err}");
    }

    #[test]
    fn tokens_expand_as_openssh_documents() {
        let t = Tokens {
            host: "10.0.0.7",
            alias: "gpu-box",
            port: 2222,
            remote_user: "ana",
            local_user: "me",
            home: Path::new("/home/me"),
        };
        assert_eq!(
            expand("~/.ssh/%r@%h:%p-%n-%u%%", &t).unwrap(),
            PathBuf::from("/home/me/.ssh/ana@10.0.0.7:2222-gpu-box-me%")
        );
        assert_eq!(expand("%d/k", &t).unwrap(), PathBuf::from("/home/me/k"));
        assert!(expand("/k/%C", &t).unwrap_err().contains("%C"));
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(
            expand("${HOME}/k", &t).unwrap(),
            PathBuf::from(format!("{home}/k"))
        );
        assert!(
            expand("${VINTNER_SURELY_UNSET_VAR}/k", &t)
                .unwrap_err()
                .contains("VINTNER_SURELY_UNSET_VAR")
        );
        let uid = expand("/run/user/%i/agent", &t).unwrap();
        assert!(
            uid.to_string_lossy()
                .trim_start_matches("/run/user/")
                .trim_end_matches("/agent")
                .parse::<u32>()
                .is_ok(),
            "{uid:?}"
        );
    }

    #[test]
    fn a_realistic_config_parses() {
        let text = "\
IgnoreUnknown UseKeychain
AddKeysToAgent yes
UseKeychain yes
ServerAliveInterval 60
ServerAliveCountMax 3
Compression yes
ConnectTimeout 10
ConnectionAttempts 2
TCPKeepAlive yes
LogLevel ERROR
SendEnv LANG LC_*
SetEnv FOO=bar
Ciphers +aes256-cbc
KexAlgorithms -diffie-hellman-group1-sha1
HostKeyAlgorithms ^ssh-ed25519
PubkeyAcceptedKeyTypes +ssh-rsa
PubkeyAcceptedAlgorithms +ssh-rsa
ControlMaster auto
ControlPath ~/.ssh/cm-%r@%h:%p
ControlPersist 10m
StrictHostKeyChecking accept-new
HashKnownHosts yes
VisualHostKey no
Host bastion
  HostName bastion.example.com
  ForwardAgent yes
  LocalForward 8888 localhost:8888
  RemoteForward 52698 localhost:52698
  DynamicFactory 1080
  DynamicForward 1080
  RequestTTY force
  RemoteCommand tmux new -A -s main
Host gpu
  ProxyJump bastion
  ProxyCommand ssh -W %h:%p bastion
  BindAddress 10.0.0.1
  CertificateFile ~/.ssh/id_ed25519-cert.pub
  PreferredAuthentications publickey,password
  PasswordAuthentication no
  GSSAPIAuthentication no
  ExitOnForwardFailure yes
  Tag work
";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, text).unwrap();
        lookup(&path, Path::new("/home/u"), "gpu").unwrap();
    }
}
