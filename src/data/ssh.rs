//! SSH servers as data remotes, over SFTP, as DVC 3 (`dvc-ssh`) configures and lays them out:
//! `url = ssh://[user@]host[:port]/absolute/path`, options `user`, `port`, `keyfile`,
//! `passphrase`, `password` (keep secrets in `config.local`), `timeout`, `max_sessions`. As with
//! DVC (through asyncssh), `~/.ssh/config` fills in what the URL and options leave open
//! (`HostName`, `Port`, `User`, `IdentityFile`, `IdentitiesOnly`, `UserKnownHostsFile`,
//! `IdentityAgent`), a running ssh-agent (`SSH_AUTH_SOCK`) is asked first, then the key files
//! (`keyfile`, else the config's, else `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`), then
//! `password` (keyboard-interactive, then password; alone when neither `keyfile` nor
//! `passphrase` is set, as in DVC); the server's host key must be in `~/.ssh/known_hosts`. Uploads go to a temp name
//! renamed into place; downloads are hashed on the way into the cache. Pure Rust (`russh`); it
//! depends on nothing above the data layer but the neutral login-name helper.

mod openssh;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use russh::client;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{self, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::{OpenFlags, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::OnceCell;

use super::config::RemoteConfig;
use super::odb::{Hasher, Odb, Oid};
use super::remote::{Remote, verify_bytes};
use super::{Error, Result};
use crate::redact;

/// Above this many objects, `missing` lists the remote's `XX/` folders instead of asking about
/// each object (at most 256 listings, as DVC does when listing is cheaper).
const LIST_ABOVE: usize = 256;
/// SFTP channels opened on the one connection (OpenSSH allows 10 sessions per connection).
const DEFAULT_SESSIONS: usize = 4;

/// Where and how to log in, from the URL and the remote's options (options win, as in DVC).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// The host as the URL names it: a name, an address, or a `Host` alias of `~/.ssh/config`.
    host: String,
    port: Option<u16>,
    user: Option<String>,
    /// The remote folder (absolute, no trailing slash).
    root: String,
}

/// Splits `ssh://[user[:password]@]host[:port]/path`; the URL's password is ignored (DVC too
/// reads it only from the `password` option).
fn parse_url(url: &str) -> std::result::Result<Target, String> {
    let rest = url
        .strip_prefix("ssh://")
        .ok_or_else(|| "is not an ssh:// URL".to_string())?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((userinfo, hp)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            (Some(user.to_string()).filter(|u| !u.is_empty()), hp)
        }
        None => (None, authority),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| "has an unclosed `[` in its host".to_string())?;
        (h, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("names no host".into());
    }
    let port = match port.filter(|p| !p.is_empty()) {
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("has a port `{p}` that is not a number"))?,
        ),
        None => None,
    };
    let root = path.trim_end_matches('/');
    Ok(Target {
        host: host.to_string(),
        port,
        user,
        root: if root.is_empty() {
            "/".into()
        } else {
            root.into()
        },
    })
}

/// Where to connect and how to log in, once `~/.ssh/config` has filled in what the URL and the
/// remote's options leave open (they win, as in DVC).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Login {
    host: String,
    port: u16,
    user: String,
    /// Key files to try, in order; `explicit` when they come from the `keyfile` option.
    key_files: Vec<PathBuf>,
    explicit_keys: bool,
    /// `IdentitiesOnly`: only the agent's keys that match a key file are offered.
    identities_only: bool,
    /// The files the host key is looked up in (empty with `UserKnownHostsFile none`).
    known_hosts: Vec<PathBuf>,
    /// The ssh-agent's socket, if one is to be asked.
    agent: Option<PathBuf>,
}

/// Checks the server's host key against the known-hosts files, remembering why it refused.
struct Client {
    host: String,
    port: u16,
    known_hosts: Vec<PathBuf>,
    refusal: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> std::result::Result<bool, Self::Error> {
        let key = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                *self.refusal.lock().expect("not poisoned") = Some(
                    "the server offered a host certificate, which vintner does not check".into(),
                );
                return Ok(false);
            }
        };
        let fingerprint = key.fingerprint(Default::default());
        let scan = if self.port == 22 {
            format!("ssh-keyscan {}", self.host)
        } else {
            format!("ssh-keyscan -p {} {}", self.port, self.host)
        };
        let why = match check_host_key(&self.known_hosts, &self.host, self.port, key) {
            HostKey::Known => return Ok(true),
            HostKey::Unknown => None,
            HostKey::Changed { file, line } => Some(format!(
                "the host key of `{}:{}` ({} {fingerprint}) differs from the one at line \
                 {line} of `{}`: the server was replaced or someone is intercepting the \
                 connection; update that line only if the server's administrator confirms \
                 the new key",
                self.host,
                self.port,
                key.algorithm(),
                file.display(),
            )),
            HostKey::Revoked { file, line } => Some(format!(
                "the host key of `{}:{}` ({} {fingerprint}) is revoked by line {line} of `{}` \
                 (`@revoked`): vintner will not trust it; ask the server's administrator for \
                 its new key",
                self.host,
                self.port,
                key.algorithm(),
                file.display(),
            )),
            HostKey::Unreadable { file, error } => {
                Some(format!("cannot read `{}`: {error}", file.display()))
            }
        };
        if let Some(why) = why {
            *self.refusal.lock().expect("not poisoned") = Some(why);
            return Ok(false);
        }
        let why = match self.known_hosts.first() {
            Some(first) => format!(
                "the host key of `{}:{}` ({} {fingerprint}) is not in `{}`, so the server \
                 cannot be trusted; if the fingerprint is the server's, add it: `{scan} >> {}`",
                self.host,
                self.port,
                key.algorithm(),
                self.known_hosts
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join("`, `"),
                first.display(),
            ),
            None => format!(
                "the host key of `{}:{}` ({} {fingerprint}) cannot be checked: \
                 `~/.ssh/config` sets `UserKnownHostsFile none`; name a file there and add the \
                 key to it (`{scan}`)",
                self.host,
                self.port,
                key.algorithm(),
            ),
        };
        *self.refusal.lock().expect("not poisoned") = Some(why);
        Ok(false)
    }
}

/// What the known-hosts files say about a server's host key.
#[derive(Debug)]
enum HostKey {
    /// A line records this very key for the host.
    Known,
    /// Lines record other keys of the same type for the host, none this one: the first of them.
    Changed { file: PathBuf, line: usize },
    /// A `@revoked` line names this key: it is refused even where another line records it.
    Revoked { file: PathBuf, line: usize },
    /// No line says anything about this key type for the host.
    Unknown,
    Unreadable {
        file: PathBuf,
        error: std::io::Error,
    },
}

/// Checks `key` against every line of `files` naming `host:port`, as OpenSSH does: a
/// `@revoked` line refuses the key, any line recording it accepts it (a host may have several,
/// during a key rotation or behind a load balancer), another key of its type means it changed.
fn check_host_key(files: &[PathBuf], host: &str, port: u16, key: &keys::PublicKey) -> HostKey {
    let mut known = false;
    let mut changed = None;
    for file in files {
        let lines = match known_host_lines(file, host, port) {
            Ok(lines) => lines,
            Err(error) => {
                return HostKey::Unreadable {
                    file: file.clone(),
                    error,
                };
            }
        };
        for (line, entry) in lines {
            let recorded = entry.public_key();
            let same = recorded.key_data() == key.key_data();
            match entry.marker() {
                Some(keys::ssh_key::known_hosts::Marker::Revoked) if same => {
                    return HostKey::Revoked {
                        file: file.clone(),
                        line,
                    };
                }
                // Certificate authorities vouch for host certificates, which are refused.
                Some(_) => {}
                None if same => known = true,
                None if recorded.algorithm() == key.algorithm() && changed.is_none() => {
                    changed = Some((file.clone(), line));
                }
                None => {}
            }
        }
    }
    match (known, changed) {
        (true, _) => HostKey::Known,
        (false, Some((file, line))) => HostKey::Changed { file, line },
        (false, None) => HostKey::Unknown,
    }
}

/// The entries of a known-hosts file that name `host:port` (`[host]:port` off port 22, as
/// OpenSSH writes it), with their line numbers counted from 1 over every line. A missing file
/// has none; lines that do not parse are skipped, as OpenSSH skips them.
fn known_host_lines(
    file: &Path,
    host: &str,
    port: u16,
) -> std::io::Result<Vec<(usize, keys::ssh_key::known_hosts::Entry)>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let name = if port == 22 {
        host.to_lowercase()
    } else {
        format!("[{}]:{port}", host.to_lowercase())
    };
    Ok(text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let entry: keys::ssh_key::known_hosts::Entry = line.parse().ok()?;
            host_matches(entry.host_patterns(), &name).then_some((i + 1, entry))
        })
        .collect())
}

/// Whether a known-hosts line's hosts name `name`: its hash (`|1|salt|hash`, HMAC-SHA1), or a
/// comma-separated list of patterns (`*`, `?`) none of whose negations (`!…`) matches.
fn host_matches(patterns: &keys::ssh_key::known_hosts::HostPatterns, name: &str) -> bool {
    use hmac::{KeyInit, Mac};
    use keys::ssh_key::known_hosts::HostPatterns;
    match patterns {
        HostPatterns::HashedName { salt, hash } => {
            let Ok(mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(salt) else {
                return false;
            };
            mac.chain_update(name.as_bytes()).verify_slice(hash).is_ok()
        }
        HostPatterns::Patterns(list) => {
            let mut matched = false;
            for pattern in list {
                let pattern = pattern.to_lowercase();
                match pattern.strip_prefix('!') {
                    Some(negated) if openssh::wildcard_match(negated, name) => return false,
                    Some(_) => {}
                    None => matched |= openssh::wildcard_match(&pattern, name),
                }
            }
            matched
        }
    }
}

/// One authenticated connection and its SFTP channels, opened on first use.
struct Connection {
    handle: client::Handle<Client>,
    sessions: Vec<OnceCell<SftpSession>>,
    next: AtomicUsize,
}

/// A folder on an SSH server holding DVC's object layout.
pub struct SshRemote {
    name: String,
    url: String,
    target: Target,
    options: std::collections::BTreeMap<String, String>,
    home: PathBuf,
    jobs: usize,
    sessions: usize,
    /// The connection, or why it could not be made (kept, so a failure is reported once per
    /// object instead of retried for each).
    conn: OnceCell<std::result::Result<Connection, String>>,
    rt: tokio::runtime::Runtime,
}

impl SshRemote {
    /// Reads the remote's settings; connects on first use.
    pub fn open(rc: &RemoteConfig) -> Result<SshRemote> {
        let fail = |message: String| Error::Remote {
            remote: rc.name.clone(),
            message,
        };
        let mut target =
            parse_url(&rc.url).map_err(|m| fail(format!("`{}` {m}", redact::url(&rc.url))))?;
        let opt = |k: &str| rc.options.get(k).filter(|v| !v.is_empty());
        // Prompts (a library never asks) and Kerberos are DVC's alone: say so, never ignore.
        for option in ["ask_password", "ask_passphrase", "gss_auth"] {
            if opt(option)
                .is_some_and(|v| matches!(v.to_lowercase().as_str(), "true" | "1" | "yes"))
            {
                return Err(Error::UnsupportedOption {
                    remote: rc.name.clone(),
                    option: option.into(),
                });
            }
        }
        if let Some(p) = opt("port") {
            target.port = Some(
                p.parse()
                    .map_err(|_| fail(format!("option `port` = `{p}` is not a port number")))?,
            );
        }
        if let Some(u) = opt("user") {
            target.user = Some(u.clone());
        }
        let number =
            |k: &str, default: usize| -> Result<usize> {
                match opt(k) {
                    Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        fail(format!("option `{k}` = `{v}` is not a positive number"))
                    }),
                    None => Ok(default),
                }
            };
        let jobs = number("jobs", 16)?;
        let sessions = number("max_sessions", DEFAULT_SESSIONS)?.min(jobs);
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_default();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| fail(format!("cannot start the network runtime: {e}")))?;
        Ok(SshRemote {
            name: rc.name.clone(),
            url: rc.url.clone(),
            target,
            options: rc.options.clone(),
            home,
            jobs,
            sessions,
            conn: OnceCell::new(),
            rt,
        })
    }

    fn opt(&self, k: &str) -> Option<&str> {
        self.options
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn fail(&self, message: impl Into<String>) -> Error {
        Error::Remote {
            remote: self.name.clone(),
            message: redact::text(&message.into()).into_owned(),
        }
    }

    /// `~/…` in a path option, as DVC expands it.
    fn expand(&self, p: &str) -> PathBuf {
        match p.strip_prefix("~/") {
            Some(rest) => self.home.join(rest),
            None => PathBuf::from(p),
        }
    }

    /// Applies `~/.ssh/config` to the URL and options, as asyncssh does for DVC: the URL's and
    /// the options' `user` and `port` win over the file, which wins over the defaults.
    fn login(&self) -> std::result::Result<Login, String> {
        let t = &self.target;
        let config = self.home.join(".ssh").join("config");
        let o = openssh::lookup(&config, &self.home, &t.host).map_err(|e| e.to_string())?;
        if let Some(proxy) = &o.proxy {
            return Err(format!(
                "`{}` reaches `{}` through `{proxy}`, which vintner cannot take yet; give the \
                 remote a host it can reach directly (`vintner remote modify {} url \
                 ssh://<host>/<path>`)",
                config.display(),
                t.host,
                self.name
            ));
        }
        let local_user = crate::login::user_name();
        let host = o.host_name.clone().unwrap_or_else(|| t.host.clone());
        let host = host.replace("%h", &t.host).replace("%%", "%");
        let port = t.port.or(o.port).unwrap_or(22);
        let user = t
            .user
            .clone()
            .or(o.user.clone())
            .or_else(|| local_user.clone())
            .ok_or_else(|| {
                "no user name: set one with the `user` option or `User` in `~/.ssh/config`"
                    .to_string()
            })?;
        let tokens = openssh::Tokens {
            host: &host,
            alias: &t.host,
            port,
            remote_user: &user,
            local_user: local_user.as_deref().unwrap_or(&user),
            home: &self.home,
        };
        let in_config = |e: String| format!("`{}`: {e}", config.display());
        let expand_all = |files: &[String]| -> std::result::Result<Vec<PathBuf>, String> {
            files
                .iter()
                .map(|f| openssh::expand(f, &tokens).map_err(in_config))
                .collect()
        };
        let (key_files, explicit_keys) = match self.opt("keyfile") {
            Some(k) => (vec![self.expand(k)], true),
            None if !o.identity_files.is_empty() => (expand_all(&o.identity_files)?, false),
            None => (
                ["id_ed25519", "id_ecdsa", "id_rsa"]
                    .iter()
                    .map(|n| self.home.join(".ssh").join(n))
                    .collect(),
                false,
            ),
        };
        let known_hosts = match &o.known_hosts_files {
            Some(files) => expand_all(files)?,
            None => vec![self.home.join(".ssh").join("known_hosts")],
        };
        let from_env = || {
            std::env::var_os("SSH_AUTH_SOCK")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let agent = match o.identity_agent.as_deref() {
            Some(a) if a.eq_ignore_ascii_case("none") => None,
            Some("SSH_AUTH_SOCK") | None => from_env(),
            // `$NAME`: the variable holding the socket's path.
            Some(var) if var.starts_with('$') && !var.starts_with("${") => {
                std::env::var_os(&var[1..])
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            }
            Some(path) => Some(openssh::expand(path, &tokens).map_err(in_config)?),
        };
        Ok(Login {
            host,
            port,
            user,
            key_files,
            explicit_keys,
            identities_only: o.identities_only,
            known_hosts,
            agent,
        })
    }

    /// The connection, made once.
    async fn conn(&self) -> Result<&Connection> {
        let made = self
            .conn
            .get_or_init(|| async { self.connect().await })
            .await;
        made.as_ref().map_err(|m| self.fail(m.clone()))
    }

    /// One SFTP channel, round robin; each is opened on first use.
    async fn sftp(&self) -> Result<&SftpSession> {
        let conn = self.conn().await?;
        let i = conn.next.fetch_add(1, Ordering::Relaxed) % conn.sessions.len();
        conn.sessions[i]
            .get_or_try_init(|| async {
                let channel = conn
                    .handle
                    .channel_open_session()
                    .await
                    .map_err(|e| self.fail(format!("cannot open an SFTP channel: {e}")))?;
                channel
                    .request_subsystem(true, "sftp")
                    .await
                    .map_err(|e| self.fail(format!("cannot start SFTP: {e}")))?;
                SftpSession::new(channel.into_stream())
                    .await
                    .map_err(|e| self.fail(format!("cannot start SFTP: {e}")))
            })
            .await
    }

    async fn connect(&self) -> std::result::Result<Connection, String> {
        let login = self.login()?;
        let (host, port) = (login.host.as_str(), login.port);
        // Say where a name the URL does not show came from.
        let via = if login.host != self.target.host {
            format!(
                " (the `HostName` of `{}` in `~/.ssh/config`)",
                self.target.host
            )
        } else {
            String::new()
        };
        let mut preferred = russh::Preferred::DEFAULT.clone();
        // Ask for the kinds of host key already known for this host first, as OpenSSH does,
        // so a server with several keys shows the one that can be checked.
        let known: Vec<keys::PublicKey> = login
            .known_hosts
            .iter()
            .filter_map(|f| known_host_lines(f, host, port).ok())
            .flatten()
            .filter(|(_, e)| e.marker().is_none())
            .map(|(_, e)| e.public_key().clone())
            .collect();
        if !known.is_empty() {
            let family = |a: &keys::Algorithm| match a {
                keys::Algorithm::Rsa { .. } => "rsa".to_string(),
                other => other.to_string(),
            };
            let wanted: Vec<String> = known.iter().map(|k| family(&k.algorithm())).collect();
            let mut algs = preferred.key.to_vec();
            algs.sort_by_key(|a| !wanted.contains(&family(a)));
            preferred.key = algs.into();
        }
        let timeout = self
            .opt("timeout")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1800);
        let config = client::Config {
            preferred,
            inactivity_timeout: Some(std::time::Duration::from_secs(timeout)),
            nodelay: true,
            ..Default::default()
        };
        let refusal = Arc::new(Mutex::new(None));
        let handler = Client {
            host: host.to_string(),
            port,
            known_hosts: login.known_hosts.clone(),
            refusal: refusal.clone(),
        };
        let connecting = client::connect(Arc::new(config), (host, port), handler);
        let mut handle =
            match tokio::time::timeout(std::time::Duration::from_secs(timeout.min(60)), connecting)
                .await
            {
                Ok(Ok(h)) => h,
                Ok(Err(e)) => {
                    return Err(refusal.lock().expect("not poisoned").take().unwrap_or_else(
                        || format!("cannot connect to `{host}:{port}`{via}: {e}"),
                    ));
                }
                Err(_) => return Err(format!("no answer from `{host}:{port}`{via}")),
            };
        self.authenticate(&mut handle, &login).await?;
        Ok(Connection {
            handle,
            sessions: (0..self.sessions).map(|_| OnceCell::new()).collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// Tries the ssh-agent's keys, then the key files; `true` once one is accepted. What was
    /// tried and refused goes to `tried`.
    async fn authenticate_with_keys(
        &self,
        handle: &mut client::Handle<Client>,
        login: &Login,
        tried: &mut Vec<String>,
    ) -> std::result::Result<bool, String> {
        let user = login.user.as_str();
        let auth_failed = |e: &dyn std::fmt::Display| format!("authentication failed: {e}");
        // The default key files are tried only where they exist; a named one must.
        let key_files: Vec<&PathBuf> = login
            .key_files
            .iter()
            .filter(|p| login.explicit_keys || p.is_file())
            .collect();
        if let Some(socket) = &login.agent {
            // Every configured key counts, even one whose private half is only in the agent.
            let file_keys: Vec<keys::PublicKey> = login
                .key_files
                .iter()
                .filter_map(|p| public_key_of(p))
                .collect();
            match agent_identities(socket).await {
                Ok((mut agent, identities)) => {
                    let offered: Vec<keys::PublicKey> = identities
                        .into_iter()
                        .filter_map(|id| match id {
                            AgentIdentity::PublicKey { key, .. } => Some(key),
                            AgentIdentity::Certificate { .. } => None,
                        })
                        .filter(|k| {
                            !login.identities_only
                                || file_keys.iter().any(|f| f.key_data() == k.key_data())
                        })
                        .collect();
                    // A server closes the connection after `MaxAuthTries` refusals (6).
                    let closed = |n: usize, e: &dyn std::fmt::Display| {
                        if n == 0 {
                            return auth_failed(e);
                        }
                        format!(
                            "authentication failed: the server closed the connection after \
                             {n} refused key(s) of the ssh-agent at `{}` (too many for its \
                             `MaxAuthTries`?): {e}; name the key to use with `IdentityFile` and \
                             `IdentitiesOnly yes` in `~/.ssh/config`",
                            socket.display()
                        )
                    };
                    for (n, key) in offered.iter().enumerate() {
                        let hash = handle
                            .best_supported_rsa_hash()
                            .await
                            .map_err(|e| closed(n, &e))?
                            .flatten();
                        let result = handle
                            .authenticate_publickey_with(user, key.clone(), hash, &mut agent)
                            .await
                            .map_err(|e| closed(n, &e))?;
                        if result.success() {
                            return Ok(true);
                        }
                    }
                    tried.push(match offered.len() {
                        0 if login.identities_only => format!(
                            "the ssh-agent at `{}` (none of its keys is an `IdentityFile`, \
                             and `IdentitiesOnly` is set)",
                            socket.display()
                        ),
                        0 => format!("the ssh-agent at `{}` (it holds no key)", socket.display()),
                        n => format!(
                            "{n} key(s) of the ssh-agent at `{}` (refused)",
                            socket.display()
                        ),
                    });
                }
                Err(e) => tried.push(format!(
                    "the ssh-agent at `{}` (unreachable: {e})",
                    socket.display()
                )),
            }
        }
        for path in key_files {
            let key = match keys::load_secret_key(path, self.opt("passphrase")) {
                Ok(k) => k,
                Err(keys::Error::KeyIsEncrypted) => {
                    tried.push(format!(
                        "`{}` (encrypted: load it into ssh-agent with `ssh-add {}`, or set \
                         `passphrase` in config.local)",
                        path.display(),
                        path.display()
                    ));
                    continue;
                }
                Err(_) if keys::load_public_key(path).is_ok() => {
                    tried.push(format!(
                        "`{}` (a public key: only the ssh-agent can use it)",
                        path.display()
                    ));
                    continue;
                }
                Err(e) => {
                    tried.push(format!("`{}` (unreadable: {e})", path.display()));
                    continue;
                }
            };
            let hash = handle
                .best_supported_rsa_hash()
                .await
                .map_err(|e| auth_failed(&e))?
                .flatten();
            let with_alg = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
            let result = handle
                .authenticate_publickey(user, with_alg)
                .await
                .map_err(|e| auth_failed(&e))?;
            if result.success() {
                return Ok(true);
            }
            tried.push(format!("`{}` (refused)", path.display()));
        }
        Ok(false)
    }

    /// Logs in with the methods DVC (dvc-ssh) would: with a `password` and neither `keyfile`
    /// nor `passphrase`, only keyboard-interactive and password (so a server's `MaxAuthTries`
    /// is not spent on keys first); otherwise keys first: the ssh-agent's (only those of the key
    /// files with `IdentitiesOnly`), then the key files, as OpenSSH orders them, then the
    /// password if one is set. A passphrase-protected key whose identity the agent holds thus
    /// logs in without its passphrase.
    async fn authenticate(
        &self,
        handle: &mut client::Handle<Client>,
        login: &Login,
    ) -> std::result::Result<(), String> {
        let user = login.user.as_str();
        let password = self.opt("password");
        let publickey =
            password.is_none() || self.opt("keyfile").is_some() || self.opt("passphrase").is_some();
        let auth_failed = |e: &dyn std::fmt::Display| format!("authentication failed: {e}");
        let mut tried = Vec::new();
        if publickey
            && self
                .authenticate_with_keys(handle, login, &mut tried)
                .await?
        {
            return Ok(());
        }
        if let Some(password) = password {
            if keyboard_interactive(handle, user, password)
                .await
                .map_err(|e| auth_failed(&e))?
            {
                return Ok(());
            }
            let result = handle
                .authenticate_password(user, password)
                .await
                .map_err(|e| auth_failed(&e))?;
            if result.success() {
                return Ok(());
            }
            tried.push("the password from `password` (refused)".into());
        }
        if tried.is_empty() {
            tried.push(
                "nothing: no ssh-agent (`SSH_AUTH_SOCK`), no `keyfile`, no key in `~/.ssh`, \
                 no `password`"
                    .into(),
            );
        }
        Err(format!(
            "`{user}@{}` could not log in; tried {}; set `keyfile` (`vintner remote modify {} \
             keyfile <path>`) or a password (`vintner remote modify --local {} password …`)",
            login.host,
            tried.join(", "),
            self.name,
            self.name
        ))
    }

    fn path(&self, oid: &Oid) -> String {
        format!(
            "{}/{}",
            self.target.root.trim_end_matches('/'),
            oid.rel_path()
        )
    }

    fn sftp_error(&self, what: &str, path: &str, e: russh_sftp::client::error::Error) -> Error {
        self.fail(format!("cannot {what} `{path}`: {e}"))
    }

    fn missing_error(&self, oid: &Oid) -> Error {
        Error::MissingFromRemote {
            remote: self.name.clone(),
            missing: vec![oid.rel_path()],
        }
    }

    async fn exists(&self, path: &str) -> Result<bool> {
        let sftp = self.sftp().await?;
        match sftp.metadata(path).await {
            Ok(m) => Ok(!m.is_dir()),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(self.sftp_error("stat", path, e)),
        }
    }

    /// Creates `dir` and its missing parents (an existing one is fine).
    async fn make_dirs(&self, sftp: &SftpSession, dir: &str) -> Result<()> {
        let mut missing = Vec::new();
        let mut cur = dir.trim_end_matches('/').to_string();
        while !cur.is_empty() && cur != "/" {
            match sftp.metadata(cur.clone()).await {
                Ok(m) if m.is_dir() => break,
                Ok(_) => return Err(self.fail(format!("`{cur}` is a file, not a folder"))),
                Err(e) if is_not_found(&e) => {
                    missing.push(cur.clone());
                    cur = match cur.rfind('/') {
                        Some(i) => cur[..i].to_string(),
                        None => String::new(),
                    };
                }
                Err(e) => return Err(self.sftp_error("stat", &cur, e)),
            }
        }
        for d in missing.into_iter().rev() {
            if let Err(e) = sftp.create_dir(d.clone()).await {
                // Another transfer may have made it meanwhile.
                let made = matches!(sftp.metadata(d.clone()).await, Ok(m) if m.is_dir());
                if !made {
                    return Err(self.sftp_error("create folder", &d, e));
                }
            }
        }
        Ok(())
    }

    async fn upload(&self, src: &Path, oid: &Oid) -> Result<()> {
        let sftp = self.sftp().await?;
        let dest = self.path(oid);
        let dir = dest.rsplit_once('/').map_or("/", |(d, _)| d).to_string();
        let tmp = format!("{dir}/.{}.{}.vintner.tmp", oid.hex(), rand::random::<u64>());
        let flags = OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::WRITE;
        let mut out = match sftp.open_with_flags(tmp.clone(), flags).await {
            Ok(f) => f,
            Err(e) if is_not_found(&e) => {
                self.make_dirs(sftp, &dir).await?;
                sftp.open_with_flags(tmp.clone(), flags)
                    .await
                    .map_err(|e| self.sftp_error("create", &tmp, e))?
            }
            Err(e) => return Err(self.sftp_error("create", &tmp, e)),
        };
        let written: Result<String> = async {
            let mut input = tokio::fs::File::open(src)
                .await
                .map_err(Error::io("open", src))?;
            let mut hasher = Hasher::new(oid.kind());
            let mut buf = vec![0u8; super::hash::CHUNK];
            loop {
                let n = read_full(&mut input, &mut buf)
                    .await
                    .map_err(Error::io("read", src))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n])
                    .await
                    .map_err(|e| self.fail(format!("cannot write `{tmp}`: {e}")))?;
                if n < buf.len() {
                    break;
                }
            }
            out.shutdown()
                .await
                .map_err(|e| self.fail(format!("cannot write `{tmp}`: {e}")))?;
            Ok(hasher.finish())
        }
        .await;
        let found = match written {
            Ok(found) => found,
            Err(e) => {
                let _ = sftp.remove_file(tmp.clone()).await;
                return Err(e);
            }
        };
        if found != oid.hex() {
            let _ = sftp.remove_file(tmp.clone()).await;
            return Err(Error::HashMismatch {
                what: format!(
                    "cache object `{}` (the local cache is corrupt)",
                    src.display()
                ),
                expected: oid.hex().to_string(),
                found,
            });
        }
        if let Err(e) = sftp.rename(tmp.clone(), dest.clone()).await {
            // SFTP's rename does not replace: an object already there holds the same bytes.
            let _ = sftp.remove_file(tmp.clone()).await;
            if !self.exists(&dest).await? {
                return Err(self.sftp_error("rename into", &dest, e));
            }
        }
        Ok(())
    }

    async fn download(&self, oid: &Oid, cache: &Odb) -> Result<()> {
        let sftp = self.sftp().await?;
        let path = self.path(oid);
        let mut input = match sftp.open(path.clone()).await {
            Ok(f) => f,
            Err(e) if is_not_found(&e) => return Err(self.missing_error(oid)),
            Err(e) => return Err(self.sftp_error("open", &path, e)),
        };
        let dest = cache.path(oid);
        let mut pending = cache.begin(oid, &dest)?;
        let mut buf = vec![0u8; super::hash::CHUNK];
        loop {
            let n = read_full(&mut input, &mut buf)
                .await
                .map_err(|e| self.fail(format!("cannot read `{path}`: {e}")))?;
            if n == 0 {
                break;
            }
            pending.write(&buf[..n])?;
            if n < buf.len() {
                break;
            }
        }
        let _ = input.shutdown().await;
        pending.commit(&format!(
            "object `{}` of {}",
            oid.rel_path(),
            self.describe()
        ))
    }

    /// The object names under `XX/` folders, by listing the folders `oids` fall in.
    async fn listed(&self, oids: &[Oid]) -> Result<std::collections::HashSet<String>> {
        let mut prefixes: Vec<String> = oids
            .iter()
            .filter_map(|o| self.path(o).rsplit_once('/').map(|(d, _)| d.to_string()))
            .collect();
        prefixes.sort();
        prefixes.dedup();
        let lists = futures::stream::iter(prefixes)
            .map(|dir| async move {
                let sftp = self.sftp().await?;
                match sftp.read_dir(dir.clone()).await {
                    Ok(entries) => Ok(entries
                        .filter(|e| !e.file_type().is_dir())
                        .map(|e| format!("{dir}/{}", e.file_name()))
                        .collect::<Vec<_>>()),
                    Err(e) if is_not_found(&e) => Ok(Vec::new()),
                    Err(e) => Err(self.sftp_error("list", &dir, e)),
                }
            })
            .buffer_unordered(self.jobs)
            .collect::<Vec<Result<Vec<String>>>>()
            .await;
        let mut found = std::collections::HashSet::new();
        for l in lists {
            found.extend(l?);
        }
        Ok(found)
    }
}

impl SshRemote {
    /// The objects under `base`'s two-hex-digit folders, as ids of `kind`.
    async fn list_layout(&self, base: String, kind: super::hash::HashKind) -> Result<Vec<Oid>> {
        let sftp = self.sftp().await?;
        let heads: Vec<String> = match sftp.read_dir(base.clone()).await {
            Ok(entries) => entries
                .filter(|e| e.file_type().is_dir())
                .map(|e| e.file_name())
                .filter(|n| Oid::is_layout_folder(n))
                .collect(),
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(self.sftp_error("list", &base, e)),
        };
        let lists = futures::stream::iter(heads)
            .map(|head| {
                let dir = format!("{base}/{head}");
                async move {
                    let sftp = self.sftp().await?;
                    let entries = match sftp.read_dir(dir.clone()).await {
                        Ok(entries) => entries,
                        Err(e) if is_not_found(&e) => return Ok(Vec::new()),
                        Err(e) => return Err(self.sftp_error("list", &dir, e)),
                    };
                    Ok(entries
                        .filter(|e| !e.file_type().is_dir())
                        .filter_map(|e| Oid::from_layout(&head, &e.file_name(), kind))
                        .collect::<Vec<_>>())
                }
            })
            .buffer_unordered(self.jobs)
            .collect::<Vec<Result<Vec<Oid>>>>()
            .await;
        let mut all = Vec::new();
        for l in lists {
            all.extend(l?);
        }
        Ok(all)
    }
}

/// The public half of a key file, as OpenSSH finds it: its `.pub` beside it (even when the
/// private half is only in an agent or on a token), else the path itself as a public key
/// (`IdentityFile ~/.ssh/key.pub`), else the private key (an OpenSSH key stores its public half
/// in the clear even when the private half is encrypted).
fn public_key_of(path: &Path) -> Option<keys::PublicKey> {
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push(".pub");
    keys::load_public_key(PathBuf::from(pub_path))
        .ok()
        .or_else(|| keys::load_public_key(path).ok())
        .or_else(|| {
            let text = std::fs::read_to_string(path).ok()?;
            keys::PrivateKey::from_openssh(text.trim())
                .ok()
                .map(|k| k.public_key().clone())
        })
}

/// Keyboard-interactive login answering a lone password prompt with `password`, as asyncssh
/// does for DVC (PAM servers often offer only this); `false` when the server refuses it or asks
/// something else.
async fn keyboard_interactive(
    handle: &mut client::Handle<Client>,
    user: &str,
    password: &str,
) -> std::result::Result<bool, russh::Error> {
    use russh::client::KeyboardInteractiveAuthResponse as Reply;
    let mut reply = handle
        .authenticate_keyboard_interactive_start(user, None::<String>)
        .await?;
    let mut answered = false;
    loop {
        let prompts = match reply {
            Reply::Success => return Ok(true),
            Reply::Failure { .. } => return Ok(false),
            Reply::InfoRequest { prompts, .. } => prompts,
        };
        let answers = match prompts.as_slice() {
            // Instructions only: acknowledged with no answer.
            [] => Vec::new(),
            [only]
                if !answered && {
                    let p = only.prompt.to_lowercase();
                    p.contains("password") || p.contains("passcode")
                } =>
            {
                answered = true;
                vec![password.to_string()]
            }
            // A question vintner cannot answer, or the password asked again (it was wrong).
            _ => return Ok(false),
        };
        reply = handle
            .authenticate_keyboard_interactive_respond(answers)
            .await?;
    }
}

/// A connection to the ssh-agent at `socket` and the identities it holds.
async fn agent_identities(
    socket: &Path,
) -> std::result::Result<(AgentClient<tokio::net::UnixStream>, Vec<AgentIdentity>), keys::Error> {
    let mut agent = AgentClient::connect_uds(socket).await?;
    let identities = agent.request_identities().await?;
    Ok((agent, identities))
}

fn is_not_found(e: &russh_sftp::client::error::Error) -> bool {
    matches!(e, russh_sftp::client::error::Error::Status(s) if s.status_code == StatusCode::NoSuchFile)
}

async fn read_full(
    input: &mut (impl tokio::io::AsyncRead + Unpin),
    buf: &mut [u8],
) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

impl Remote for SshRemote {
    fn name(&self) -> &str {
        &self.name
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn contains(&self, oid: &Oid) -> Result<bool> {
        self.rt.block_on(self.exists(&self.path(oid)))
    }

    fn missing(&self, oids: &[Oid]) -> Result<Vec<Oid>> {
        self.rt.block_on(async {
            if oids.len() > LIST_ABOVE {
                let found = self.listed(oids).await?;
                return Ok(oids
                    .iter()
                    .filter(|o| !found.contains(&self.path(o)))
                    .cloned()
                    .collect());
            }
            let checked = futures::stream::iter(oids)
                .map(|o| async move { (o, self.exists(&self.path(o)).await) })
                .buffered(self.jobs)
                .collect::<Vec<_>>()
                .await;
            let mut missing = Vec::new();
            for (o, there) in checked {
                if !there? {
                    missing.push(o.clone());
                }
            }
            Ok(missing)
        })
    }

    fn put(&self, src: &Path, oid: &Oid) -> Result<()> {
        self.rt.block_on(self.upload(src, oid))
    }

    fn get(&self, oid: &Oid, cache: &Odb) -> Result<()> {
        self.rt.block_on(self.download(oid, cache))
    }

    fn list(&self) -> Result<Vec<Oid>> {
        use super::hash::HashKind;
        let root = self.target.root.trim_end_matches('/').to_string();
        self.rt.block_on(async {
            let mut all = self
                .list_layout(format!("{root}/files/md5"), HashKind::Md5)
                .await?;
            all.extend(self.list_layout(root, HashKind::Md5Dos2Unix).await?);
            all.sort();
            Ok(all)
        })
    }

    fn delete(&self, oids: &[Oid], jobs: usize) -> Result<()> {
        self.rt.block_on(async {
            let done = futures::stream::iter(oids)
                .map(|o| async move {
                    let path = self.path(o);
                    let sftp = self.sftp().await?;
                    match sftp.remove_file(path.clone()).await {
                        Ok(()) => Ok(()),
                        Err(e) if is_not_found(&e) => Ok(()),
                        Err(e) => Err(self.sftp_error("remove", &path, e)),
                    }
                })
                .buffer_unordered(jobs.max(1))
                .collect::<Vec<Result<()>>>()
                .await;
            done.into_iter().collect()
        })
    }

    fn read_verified(&self, oid: &Oid) -> Result<Vec<u8>> {
        let path = self.path(oid);
        let bytes = self.rt.block_on(async {
            let sftp = self.sftp().await?;
            match sftp.read(path.clone()).await {
                Ok(b) => Ok(b),
                Err(e) if is_not_found(&e) => Err(self.missing_error(oid)),
                Err(e) => Err(self.sftp_error("read", &path, e)),
            }
        })?;
        verify_bytes(&bytes, oid, &self.describe())?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_as_dvc_reads_them() {
        assert_eq!(
            parse_url("ssh://alice@example.com:2222/srv/dvc/").unwrap(),
            Target {
                host: "example.com".into(),
                port: Some(2222),
                user: Some("alice".into()),
                root: "/srv/dvc".into()
            }
        );
        let t = parse_url("ssh://bob:secret@[::1]/data").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_deref()),
            ("::1", None, Some("bob"))
        );
        assert_eq!(parse_url("ssh://host").unwrap().root, "/");
        assert!(parse_url("ssh:///path").unwrap_err().contains("no host"));
        assert!(parse_url("ssh://h:x/p").unwrap_err().contains("port"));
    }

    #[test]
    fn url_and_options_win_over_ssh_config_which_wins_over_defaults() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
        std::fs::write(
            home.path().join(".ssh/config"),
            "Host gpu-box\n  HostName 10.1.2.3\n  Port 2222\n  User ana\n  \
             IdentityFile ~/keys/%r@%n\n  IdentityAgent ~/agent.sock\n  \
             UserKnownHostsFile ~/hosts/%h\nHost *\n  User nobody\n",
        )
        .unwrap();
        let login = |url: &str, options: &[(&str, &str)]| {
            let mut remote = SshRemote::open(&RemoteConfig {
                name: "box".into(),
                url: url.into(),
                options: options
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            })
            .unwrap();
            remote.home = home.path().to_path_buf();
            remote.login().unwrap()
        };
        let h = home.path();
        let l = login("ssh://gpu-box/data", &[]);
        assert_eq!(
            (l.host.as_str(), l.port, l.user.as_str()),
            ("10.1.2.3", 2222, "ana")
        );
        assert_eq!(l.key_files, vec![h.join("keys/ana@gpu-box")]);
        assert!(!l.explicit_keys);
        assert_eq!(l.known_hosts, vec![h.join("hosts/10.1.2.3")]);
        assert_eq!(l.agent, Some(h.join("agent.sock")));

        // The URL's user and port win, and the tokens follow them.
        let l = login("ssh://bob@gpu-box:2200/data", &[]);
        assert_eq!((l.port, l.user.as_str()), (2200, "bob"));
        assert_eq!(l.key_files, vec![h.join("keys/bob@gpu-box")]);
        // The options win over the URL; `keyfile` replaces the config's keys.
        let l = login(
            "ssh://bob@gpu-box:2200/data",
            &[("user", "carol"), ("port", "2300"), ("keyfile", "/k/id")],
        );
        assert_eq!((l.port, l.user.as_str()), (2300, "carol"));
        assert_eq!(l.key_files, vec![PathBuf::from("/k/id")]);
        assert!(l.explicit_keys);
        // Another host: only `Host *` applies, then the defaults.
        let l = login("ssh://other/data", &[]);
        assert_eq!(
            (l.host.as_str(), l.port, l.user.as_str()),
            ("other", 22, "nobody")
        );
        assert_eq!(l.key_files[0], h.join(".ssh/id_ed25519"));
        assert_eq!(l.known_hosts, vec![h.join(".ssh/known_hosts")]);
    }

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ6kIpq4XBAJAan4XI0aLWSvm3sirC2M4n9ZiaSk09YK";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAwmRfJGuQvk+A9nnHJoGjgwcYlbIb45YhnW4qwddxB5";

    fn public(line: &str) -> keys::PublicKey {
        keys::PublicKey::from_openssh(line).unwrap()
    }

    /// The verdict on `key` for `host:port` of a known-hosts file holding `text`.
    fn verdict(text: &str, host: &str, port: u16, key: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        std::fs::write(&file, text).unwrap();
        let missing = dir.path().join("missing");
        match check_host_key(&[missing, file], host, port, &public(key)) {
            HostKey::Known => "known".into(),
            HostKey::Unknown => "unknown".into(),
            HostKey::Changed { line, .. } => format!("changed at {line}"),
            HostKey::Revoked { line, .. } => format!("revoked at {line}"),
            HostKey::Unreadable { error, .. } => format!("unreadable: {error}"),
        }
    }

    #[test]
    fn any_known_hosts_line_recording_the_key_accepts_it() {
        // Two keys of one type for a host (a rotation, or hosts behind a load balancer).
        let both = format!("# rotated keys\n\ngpu {KEY_B}\ngpu {KEY_A} new\n");
        assert_eq!(verdict(&both, "gpu", 22, KEY_A), "known");
        assert_eq!(verdict(&both, "gpu", 22, KEY_B), "known");
        // The line named counts every line, comments and blank ones too.
        let other = format!("# a comment\n\n# another\nweb {KEY_A}\ngpu,10.0.0.7 {KEY_B}\n");
        assert_eq!(verdict(&other, "gpu", 22, KEY_A), "changed at 5");
        assert_eq!(verdict(&other, "10.0.0.7", 22, KEY_A), "changed at 5");
        assert_eq!(verdict(&other, "db", 22, KEY_A), "unknown");
        // Off port 22 a host is `[host]:port`; patterns and negations as OpenSSH reads them.
        let ports = format!("[gpu]:2222 {KEY_A}\n*.lab,!secret.lab {KEY_B}\n");
        assert_eq!(verdict(&ports, "gpu", 2222, KEY_A), "known");
        assert_eq!(verdict(&ports, "gpu", 22, KEY_A), "unknown");
        assert_eq!(verdict(&ports, "A.Lab", 22, KEY_B), "known");
        assert_eq!(verdict(&ports, "secret.lab", 22, KEY_B), "unknown");
        // A line that does not parse is skipped, not fatal.
        let junk = format!("gpu ssh-ed25519 notbase64\ngpu {KEY_A}\n");
        assert_eq!(verdict(&junk, "gpu", 22, KEY_A), "known");
    }

    #[test]
    fn a_revoked_host_key_is_refused_even_where_another_line_records_it() {
        let text = format!("gpu {KEY_A}\n# revoked after the leak\n@revoked * {KEY_A}\n");
        assert_eq!(verdict(&text, "gpu", 22, KEY_A), "revoked at 3");
        assert_eq!(
            verdict(
                &format!("@revoked * {KEY_B}\ngpu {KEY_A}\n"),
                "gpu",
                22,
                KEY_A
            ),
            "known"
        );
        // A certificate authority's line records no host key.
        let ca = format!("@cert-authority gpu {KEY_B}\n");
        assert_eq!(verdict(&ca, "gpu", 22, KEY_A), "unknown");
    }

    #[test]
    fn hashed_known_hosts_names_still_match() {
        use base64::Engine;
        use hmac::{KeyInit, Mac};
        let b64 = base64::engine::general_purpose::STANDARD;
        let hashed = |name: &str| {
            let salt = [7u8; 20];
            let mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt)
                .unwrap()
                .chain_update(name.as_bytes())
                .finalize()
                .into_bytes();
            format!("|1|{}|{}", b64.encode(salt), b64.encode(mac))
        };
        let text = format!(
            "{} {KEY_B}\n{} {KEY_A}\n",
            hashed("[127.0.0.1]:2222"),
            hashed("[127.0.0.1]:2222")
        );
        assert_eq!(verdict(&text, "127.0.0.1", 2222, KEY_A), "known");
        assert_eq!(verdict(&text, "127.0.0.1", 22, KEY_A), "unknown");
        let one = format!("{} {KEY_B}\n", hashed("gpu"));
        assert_eq!(verdict(&one, "gpu", 22, KEY_A), "changed at 1");
    }

    #[test]
    fn a_key_file_public_half_is_found_without_its_private_half() {
        let dir = tempfile::tempdir().unwrap();
        // `IdentityFile ~/.ssh/token.pub`: the path itself is the public key.
        let named_pub = dir.path().join("token.pub");
        std::fs::write(&named_pub, format!("{KEY_A} yubikey\n")).unwrap();
        assert_eq!(
            public_key_of(&named_pub).map(|k| k.key_data().clone()),
            Some(public(KEY_A).key_data().clone())
        );
        // A private key only in the agent, its `.pub` beside the missing path.
        let agent_only = dir.path().join("id_agent");
        std::fs::write(dir.path().join("id_agent.pub"), format!("{KEY_B}\n")).unwrap();
        assert_eq!(
            public_key_of(&agent_only).map(|k| k.key_data().clone()),
            Some(public(KEY_B).key_data().clone())
        );
        assert!(public_key_of(&dir.path().join("nothing")).is_none());
    }

    #[test]
    fn prompting_options_are_refused_not_ignored() {
        let rc = |k: &str, v: &str| RemoteConfig {
            name: "box".into(),
            url: "ssh://h/p".into(),
            options: [(k.to_string(), v.to_string())].into(),
        };
        let err = SshRemote::open(&rc("ask_password", "true")).err().unwrap();
        assert!(
            matches!(err, Error::UnsupportedOption { ref option, .. } if option == "ask_password")
        );
        let remote = SshRemote::open(&rc("port", "2200")).unwrap();
        assert_eq!(
            (remote.target.port, remote.target.root.as_str()),
            (Some(2200), "/p")
        );
        assert!(SshRemote::open(&rc("port", "x")).is_err());
    }
}
