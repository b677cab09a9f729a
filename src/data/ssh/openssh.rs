//! What OpenSSH's client config (`~/.ssh/config`) says about the host of an `ssh://` remote, so
//! that `ssh://gpu-box/data` reaches the machine, port, user, keys and known-hosts file that
//! `ssh gpu-box` would, as DVC's ssh remote (through asyncssh) does. Parsing is `ssh2-config`'s;
//! this module picks the options vintner honours and expands their `%` tokens. It depends on
//! nothing but the file it reads.

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
    let text = match std::fs::read_to_string(config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HostOptions::default()),
        Err(source) => {
            return Err(ConfigError::Unreadable {
                path: config.to_path_buf(),
                source,
            });
        }
    };
    let text = without_match_blocks(&text);
    let parsed = parse(&text, home).map_err(|e| ConfigError::Malformed {
        path: config.to_path_buf(),
        line: failing_line(&text, home),
        message: e.to_string(),
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

/// `Match` blocks test things (the command line, the local network, `exec`) that only `ssh`
/// itself knows; the parser has no notion of them and would give their options to the block
/// above. They become blocks that match no host, so their options apply nowhere.
fn without_match_blocks(text: &str) -> String {
    text.lines()
        .map(|line| {
            let keyword = line
                .trim_start()
                .split(|c: char| c.is_whitespace() || c == '=')
                .next()
                .unwrap_or_default();
            if keyword.eq_ignore_ascii_case("match") {
                "Host !*"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first line that fails to parse on its own (`Include`s are skipped: they read other
/// files), so the error can point at it.
fn failing_line(text: &str, home: &Path) -> Option<usize> {
    text.lines().enumerate().find_map(|(i, line)| {
        let include = line
            .trim_start()
            .get(..7)
            .is_some_and(|w| w.eq_ignore_ascii_case("include"));
        (!include && parse(line, home).is_err()).then_some(i + 1)
    })
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
