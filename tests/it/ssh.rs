//! SSH remotes against a real OpenSSH server (Debian's `sshd` on a free loopback port, run as the
//! current user with a throw-away host key and client key, no system config): vintner ↔ DVC
//! (dvc-ssh) both ways byte for byte, a server whose host key is not known refused, a host alias
//! of `~/.ssh/config` resolved as DVC resolves it, and a passphrase-protected key used through a
//! real `ssh-agent`.

use std::path::{Path, PathBuf};

use crate::common::{Sandbox, git, snapshot};
use crate::peers;

/// `sshd` on 127.0.0.1 accepting the sandbox's client key, stopped on drop.
struct Sshd {
    child: std::process::Child,
    port: u16,
    user: String,
    /// The host's public key line (`ssh-ed25519 AAAA… comment`).
    host_pub: String,
    /// The client's private key.
    client_key: PathBuf,
}

fn keygen(path: &Path) {
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "vintner-test", "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen (install openssh-client)");
    assert!(out.status.success(), "ssh-keygen: {out:?}");
}

impl Sshd {
    fn start(sb: &Sandbox) -> Sshd {
        Sshd::start_with(sb, "")
    }

    /// `sshd` with `settings` (lines of `sshd_config`) winning over the defaults below.
    fn start_with(sb: &Sandbox, settings: &str) -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.is_file(),
            "the SSH tests need OpenSSH's server: `apt-get install -y openssh-server`"
        );
        let dir = sb.mkdir("sshd");
        keygen(&dir.join("host_key"));
        let client_key = dir.join("client_key");
        keygen(&client_key);
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        let user = String::from_utf8(
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .expect("run id")
                .stdout,
        )
        .unwrap()
        .trim()
        .to_string();
        let port = peers::free_port();
        let config = format!(
            "{settings}Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\n\
             AuthorizedKeysFile {auth}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin \
             prohibit-password\nSubsystem sftp internal-sftp\nMaxSessions 20\nMaxStartups 50\n",
            host = dir.join("host_key").display(),
            pid = dir.join("sshd.pid").display(),
            auth = dir.join("authorized_keys").display(),
        );
        std::fs::write(dir.join("sshd_config"), config).unwrap();
        let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
        let mut child = std::process::Command::new(sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(dir.join("sshd_config"))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "sshd exited ({status}): {}\n(as root it needs `mkdir -p /run/sshd`)",
                    std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
                );
            }
            assert!(start.elapsed().as_secs() < 30, "sshd did not listen");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let host_pub = std::fs::read_to_string(dir.join("host_key.pub"))
            .unwrap()
            .trim()
            .to_string();
        Sshd {
            child,
            port,
            user,
            host_pub,
            client_key,
        }
    }

    /// `ssh://127.0.0.1:port/<folder>` (the user goes in the `user` option: vintner refuses
    /// user info in a URL that git tracks).
    fn url(&self, folder: &Path) -> String {
        format!("ssh://127.0.0.1:{}{}", self.port, folder.display())
    }

    /// Records the host key in the sandbox's `~/.ssh/known_hosts`, as `ssh` would.
    fn trust(&self, sb: &Sandbox) {
        let ssh = sb.home().join(".ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::write(
            ssh.join("known_hosts"),
            format!("[127.0.0.1]:{} {}\n", self.port, self.host_pub),
        )
        .unwrap();
    }

    /// Puts the client key where both tools look by default (`~/.ssh/id_ed25519`).
    fn default_key(&self, sb: &Sandbox) {
        let ssh = sb.home().join(".ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::copy(&self.client_key, ssh.join("id_ed25519")).unwrap();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real `ssh-agent` (OpenSSH's) on a socket in the sandbox, stopped on drop.
struct Agent {
    child: std::process::Child,
    socket: PathBuf,
}

impl Agent {
    fn start(sb: &Sandbox) -> Agent {
        let socket = sb.path().join("agent.sock");
        let mut child = std::process::Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run ssh-agent (install openssh-client)");
        let start = std::time::Instant::now();
        while !socket.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("ssh-agent exited: {status}");
            }
            assert!(start.elapsed().as_secs() < 30, "ssh-agent made no socket");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Agent { child, socket }
    }

    /// `ssh-add key`, the passphrase typed by an askpass script as a desktop would.
    fn add(&self, sb: &Sandbox, key: &Path, passphrase: &str) {
        let askpass = sb.path().join("askpass.sh");
        std::fs::write(&askpass, format!("#!/bin/sh\necho '{passphrase}'\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).unwrap();
        let out = std::process::Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run ssh-add");
        assert!(out.status.success(), "ssh-add: {out:?}");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn make_data(repo: &Path) {
    std::fs::create_dir_all(repo.join("data/dir/sub")).unwrap();
    std::fs::write(repo.join("data/wine.csv"), b"a;b\n1;2\n").unwrap();
    std::fs::write(repo.join("data/dir/x.txt"), b"x\n").unwrap();
    std::fs::write(repo.join("data/dir/sub/caf\u{e9} y.txt"), b"y\n").unwrap();
    let big: Vec<u8> = (0..(3 << 20)).map(|i: u32| (i % 241) as u8).collect();
    std::fs::write(repo.join("data/dir/big.bin"), big).unwrap();
}

/// Every file of a remote folder; no temp file may be left among them.
fn remote_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let files = snapshot(dir, false);
    assert!(
        files.iter().all(|(p, _)| !p.ends_with(".tmp")),
        "temp files left on the remote: {:?}",
        files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    files
}

#[test]
fn ssh_round_trips_between_vintner_and_dvc() {
    let sb = Sandbox::new();
    let sshd = Sshd::start(&sb);
    sshd.trust(&sb);
    sshd.default_key(&sb);
    let store_a = sb.mkdir("server/a");

    // vintner pushes with the default key, DVC pulls.
    let a = sb.mkdir("a");
    sb.vintner(&a)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    sb.vintner(&a)
        .args(["remote", "add", "-d", "ssh", &sshd.url(&store_a)])
        .assert()
        .success();
    sb.vintner(&a)
        .args(["remote", "modify", "ssh", "user", &sshd.user])
        .assert()
        .success();
    make_data(&a);
    sb.vintner(&a)
        .args(["add", "data/wine.csv", "data/dir"])
        .assert()
        .success();
    sb.vintner(&a)
        .args(["status", "-c"])
        .assert()
        .stdout(predicates::str::contains("new:"));
    sb.vintner(&a).arg("push").assert().success();
    sb.vintner(&a)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 'ssh' are in sync.\n");
    let pushed = remote_files(&store_a);
    assert!(
        pushed.iter().any(|(p, _)| p.starts_with("files/md5/")) && pushed.len() == 5,
        "{:?}",
        pushed.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-qm", "data"]);
    git(sb.path(), &["clone", "-q", "a", "a2"]);
    let a2 = sb.path().join("a2");
    peers::dvc(&sb, &a2).arg("pull").assert().success();
    assert_eq!(
        snapshot(&a2.join("data"), false),
        snapshot(&a.join("data"), false)
    );

    // DVC pushes with a `keyfile` (no default key any more), vintner pulls with it.
    std::fs::remove_file(sb.home().join(".ssh/id_ed25519")).unwrap();
    let store_b = sb.mkdir("server/b");
    let b = sb.mkdir("b");
    git(&b, &["init", "--quiet"]);
    peers::dvc(&sb, &b).arg("init").assert().success();
    peers::dvc(&sb, &b)
        .args(["remote", "add", "-d", "ssh", &sshd.url(&store_b)])
        .assert()
        .success();
    peers::dvc(&sb, &b)
        .args(["remote", "modify", "ssh", "user", &sshd.user])
        .assert()
        .success();
    peers::dvc(&sb, &b)
        .args(["remote", "modify", "--local", "ssh", "keyfile"])
        .arg(&sshd.client_key)
        .assert()
        .success();
    make_data(&b);
    peers::dvc(&sb, &b)
        .args(["add", "data/wine.csv", "data/dir"])
        .assert()
        .success();
    peers::dvc(&sb, &b).arg("push").assert().success();
    assert_eq!(
        remote_files(&store_b),
        pushed,
        "the same layout, byte for byte"
    );
    git(&b, &["add", "-A"]);
    git(&b, &["commit", "-qm", "data"]);
    git(sb.path(), &["clone", "-q", "b", "b2"]);
    let b2 = sb.path().join("b2");
    std::fs::copy(b.join(".dvc/config.local"), b2.join(".dvc/config.local")).unwrap();
    sb.vintner(&b2).arg("pull").assert().success();
    assert_eq!(
        snapshot(&b2.join("data"), false),
        snapshot(&b.join("data"), false)
    );
    sb.vintner(&b2)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 'ssh' are in sync.\n");

    // `gc -c` over SFTP: untrack the folder, and the remote keeps only the file's object.
    sb.vintner(&b2)
        .args(["remove", "data/dir.dvc"])
        .assert()
        .success();
    sb.vintner(&b2)
        .args(["gc", "-w", "-c", "-f"])
        .assert()
        .success();
    let dvcfile = std::fs::read_to_string(b2.join("data/wine.csv.dvc")).unwrap();
    let md5 = dvcfile
        .split("md5: ")
        .nth(1)
        .and_then(|r| r.get(..32))
        .unwrap();
    let left: Vec<String> = remote_files(&store_b).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        left,
        vec![format!("files/md5/{}/{}", &md5[..2], &md5[2..])],
        "{dvcfile}"
    );
}

#[test]
fn ssh_refuses_a_host_whose_key_is_not_known() {
    let sb = Sandbox::new();
    let sshd = Sshd::start(&sb);
    sshd.default_key(&sb);
    let store = sb.mkdir("server/store");
    let a = sb.mkdir("a");
    sb.vintner(&a)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    sb.vintner(&a)
        .args(["remote", "add", "-d", "ssh", &sshd.url(&store)])
        .assert()
        .success();
    sb.vintner(&a)
        .args(["remote", "modify", "ssh", "user", &sshd.user])
        .assert()
        .success();
    make_data(&a);
    sb.vintner(&a)
        .args(["add", "data/wine.csv"])
        .assert()
        .success();

    // No known_hosts at all: refused, naming the file and the command that fixes it.
    let out = sb.vintner(&a).arg("push").assert().failure();
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("is not in")
            && err.contains(".ssh/known_hosts")
            && err.contains(&format!("ssh-keyscan -p {} 127.0.0.1", sshd.port))
            && err.contains("SHA256:"),
        "{err}"
    );
    assert!(
        remote_files(&store).is_empty(),
        "nothing may reach an untrusted host"
    );

    // Another key recorded for the host: refused as a changed key.
    let ssh = sb.home().join(".ssh");
    keygen(&sb.path().join("other_host_key"));
    let other = std::fs::read_to_string(sb.path().join("other_host_key.pub")).unwrap();
    let (other_line, real_line) = (
        format!("[127.0.0.1]:{} {}\n", sshd.port, other.trim()),
        format!("[127.0.0.1]:{} {}\n", sshd.port, sshd.host_pub),
    );
    std::fs::write(
        ssh.join("known_hosts"),
        format!("# the team's hosts\n\n{other_line}"),
    )
    .unwrap();
    let out = sb.vintner(&a).arg("push").assert().failure();
    let err = crate::common::stderr(&out);
    assert!(err.contains("differs from the one at line 3"), "{err}");
    assert!(remote_files(&store).is_empty());

    // The server's key recorded but revoked: refused, naming the `@revoked` line.
    let key = sshd
        .host_pub
        .split(' ')
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(
        ssh.join("known_hosts"),
        format!("{real_line}# leaked\n@revoked * {key}\n"),
    )
    .unwrap();
    let out = sb.vintner(&a).arg("push").assert().failure();
    let err = crate::common::stderr(&out);
    assert!(err.contains("revoked by line 3"), "{err}");
    assert!(remote_files(&store).is_empty());

    // Two keys of one type recorded (a key rotation): the one that matches lets the push on.
    std::fs::write(ssh.join("known_hosts"), format!("{other_line}{real_line}")).unwrap();
    sb.vintner(&a).arg("push").assert().success();
    assert_eq!(remote_files(&store).len(), 1);
}

/// A vintner repository tracking `data/wine.csv` with `url` as its default remote `box`.
fn repo_with_remote(sb: &Sandbox, name: &str, url: &str) -> PathBuf {
    let repo = sb.mkdir(name);
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    sb.vintner(&repo)
        .args(["remote", "add", "-d", "box", url])
        .assert()
        .success();
    make_data(&repo);
    sb.vintner(&repo)
        .args(["add", "data/wine.csv", "data/dir"])
        .assert()
        .success();
    repo
}

#[test]
fn ssh_host_alias_from_ssh_config_round_trips_with_dvc() {
    let sb = Sandbox::new();
    let sshd = Sshd::start(&sb);
    let ssh = sb.home().join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    let closed = peers::free_port();
    // Neither the host, the port, the user nor the key is anywhere but in `~/.ssh/config`: the
    // key sits under a name no tool tries by default, the host key in a known-hosts file of its
    // own, and later blocks' values lose to the first, as in OpenSSH.
    let keys = sb.mkdir("home/keys");
    std::fs::copy(&sshd.client_key, keys.join(format!("{}_key", sshd.user))).unwrap();
    std::fs::write(
        ssh.join("team_known_hosts"),
        format!("[127.0.0.1]:{} {}\n", sshd.port, sshd.host_pub),
    )
    .unwrap();
    std::fs::write(
        ssh.join("config"),
        format!(
            "# the team's machines\n\
             Host elsewhere\n    User nobody\n\n\
             Host gpu-* !gpu-retired\n    HostName 127.0.0.1\n    Port {port}\n    \
             User {user}\n    IdentityFile ~/keys/%r_key\n    IdentitiesOnly yes\n    \
             UserKnownHostsFile ~/.ssh/team_known_hosts\n    ForwardX11 no\n\n\
             Host *\n    User wrong-user\n    HostName 127.0.0.1\n    Port {closed}\n",
            port = sshd.port,
            user = sshd.user,
        ),
    )
    .unwrap();
    let store = sb.mkdir("server/store");
    let url = format!("ssh://gpu-box{}", store.display());

    // vintner pushes through the alias; DVC (asyncssh reading the same file) pulls.
    let a = repo_with_remote(&sb, "a", &url);
    sb.vintner(&a).arg("push").assert().success();
    let pushed = remote_files(&store);
    assert_eq!(
        pushed.len(),
        5,
        "{:?}",
        pushed.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-qm", "data"]);
    git(sb.path(), &["clone", "-q", "a", "a2"]);
    let a2 = sb.path().join("a2");
    peers::dvc(&sb, &a2).arg("pull").assert().success();
    assert_eq!(
        snapshot(&a2.join("data"), false),
        snapshot(&a.join("data"), false)
    );
    sb.vintner(&a2)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 'box' are in sync.\n");

    // The remote's own `port` option wins over the config's, as in DVC.
    sb.vintner(&a2)
        .args(["remote", "modify", "box", "port", &closed.to_string()])
        .assert()
        .success();
    let out = sb.vintner(&a2).args(["status", "-c"]).assert().failure();
    let err = crate::common::stderr(&out);
    assert!(err.contains(&format!("127.0.0.1:{closed}")), "{err}");

    // A host the alias patterns exclude gets only `Host *`'s values (another port).
    let b = repo_with_remote(&sb, "b", &format!("ssh://gpu-retired{}", store.display()));
    let out = sb.vintner(&b).arg("push").assert().failure();
    let err = crate::common::stderr(&out);
    assert!(
        err.contains(&format!(
            "`127.0.0.1:{closed}` (the `HostName` of `gpu-retired`"
        )),
        "{err}"
    );
}

#[test]
fn ssh_agent_logs_in_with_a_passphrase_protected_key() {
    let sb = Sandbox::new();
    let sshd = Sshd::start(&sb);
    sshd.trust(&sb);
    // The only key the server accepts is protected by a passphrase that no config holds.
    let ssh = sb.home().join(".ssh");
    let locked = ssh.join("id_ed25519");
    let out = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "correct horse",
            "-C",
            "locked",
            "-f",
        ])
        .arg(&locked)
        .output()
        .expect("run ssh-keygen");
    assert!(out.status.success(), "ssh-keygen: {out:?}");
    std::fs::write(
        sb.path().join("sshd/authorized_keys"),
        std::fs::read(ssh.join("id_ed25519.pub")).unwrap(),
    )
    .unwrap();
    let store = sb.mkdir("server/store");
    let a = repo_with_remote(&sb, "a", &sshd.url(&store));
    sb.vintner(&a)
        .args(["remote", "modify", "box", "user", &sshd.user])
        .assert()
        .success();

    // No agent: the key cannot be used, and the error says how to make it usable.
    let out = sb
        .vintner(&a)
        .env_remove("SSH_AUTH_SOCK")
        .arg("push")
        .assert()
        .failure();
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("could not log in")
            && err.contains(".ssh/id_ed25519` (encrypted")
            && err.contains("ssh-add"),
        "{err}"
    );
    assert!(remote_files(&store).is_empty());

    // The key loaded into a real agent: the same push logs in through it.
    let agent = Agent::start(&sb);
    agent.add(&sb, &locked, "correct horse");
    sb.vintner(&a)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .arg("push")
        .assert()
        .success();
    assert_eq!(remote_files(&store).len(), 5);

    // `IdentityAgent none` in `~/.ssh/config` turns the agent off again.
    std::fs::write(ssh.join("config"), "Host *\n  IdentityAgent none\n").unwrap();
    sb.vintner(&a)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .args(["status", "-c"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("(encrypted"));

    // `IdentitiesOnly`: the agent may offer only the keys the config names. Another key named:
    // the agent's key is held back.
    keygen(&sb.path().join("other_key"));
    std::fs::write(
        ssh.join("config"),
        format!(
            "Host 127.0.0.1\n  IdentitiesOnly yes\n  IdentityFile {}\n",
            sb.path().join("other_key").display()
        ),
    )
    .unwrap();
    let out = sb
        .vintner(&a)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .args(["status", "-c"])
        .assert()
        .failure();
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("none of its keys is an `IdentityFile`")
            && err.contains("other_key` (refused)"),
        "{err}"
    );
    // The locked key named (its public half read from the key file alone): the agent signs.
    std::fs::remove_file(ssh.join("id_ed25519.pub")).unwrap();
    std::fs::write(
        ssh.join("config"),
        "Host 127.0.0.1\n  IdentitiesOnly yes\n  IdentityFile ~/.ssh/id_ed25519\n",
    )
    .unwrap();
    sb.vintner(&a)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 'box' are in sync.\n");
    // Only the public half on disk, named as the `IdentityFile` (a key on a token, or in a
    // password manager's agent): it selects the agent's key.
    let listed = std::process::Command::new("ssh-add")
        .arg("-L")
        .env("SSH_AUTH_SOCK", &agent.socket)
        .output()
        .expect("run ssh-add");
    assert!(listed.status.success(), "ssh-add -L: {listed:?}");
    std::fs::write(ssh.join("token.pub"), &listed.stdout).unwrap();
    std::fs::rename(&locked, sb.path().join("moved_away")).unwrap();
    std::fs::write(
        ssh.join("config"),
        "Host 127.0.0.1\n  IdentitiesOnly yes\n  IdentityFile ~/.ssh/token.pub\n",
    )
    .unwrap();
    sb.vintner(&a)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 'box' are in sync.\n");
}

#[test]
fn ssh_malformed_ssh_config_is_an_error_naming_the_file_and_line() {
    let sb = Sandbox::new();
    let ssh = sb.home().join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    let config = "Host gpu-box\n    HostName 127.0.0.1\n    Port twenty-two\n";
    std::fs::write(ssh.join("config"), config).unwrap();
    let a = repo_with_remote(&sb, "a", "ssh://gpu-box/srv/data");
    let out = sb.vintner(&a).arg("push").assert().failure();
    let err = crate::common::stderr(&out);
    assert!(
        err.contains(".ssh/config`, line 3,") && err.contains("port") && err.contains("fix"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(ssh.join("config")).unwrap(),
        config,
        "the user's file is left as it was"
    );
}

#[test]
fn ssh_proxy_route_in_ssh_config_is_refused_not_bypassed() {
    let sb = Sandbox::new();
    let ssh = sb.home().join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(
        ssh.join("config"),
        "Host gpu-box\n    HostName 127.0.0.1\n    ProxyJump bastion.invalid\n",
    )
    .unwrap();
    let a = repo_with_remote(&sb, "a", "ssh://gpu-box/srv/data");
    let out = sb.vintner(&a).arg("push").assert().failure();
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("reaches `gpu-box` through `ProxyJump bastion.invalid`")
            && err.contains("vintner remote modify box url"),
        "{err}"
    );
}

#[test]
fn ssh_password_alone_is_tried_before_a_full_agent_exhausts_max_auth_tries() {
    let sb = Sandbox::new();
    let sshd = Sshd::start_with(&sb, "PasswordAuthentication yes\n");
    sshd.trust(&sb);
    // An agent holding more keys than sshd's `MaxAuthTries` (6), none of them the server's.
    let agent = Agent::start(&sb);
    for i in 0..7 {
        let key = sb.path().join(format!("agent_key_{i}"));
        keygen(&key);
        agent.add(&sb, &key, "");
    }
    let store = sb.mkdir("server/store");
    let a = repo_with_remote(&sb, "a", &sshd.url(&store));
    for (key, value) in [
        ("user", sshd.user.as_str()),
        ("password", "not-the-password"),
    ] {
        sb.vintner(&a)
            .args(["remote", "modify", "--local", "box", key, value])
            .assert()
            .success();
    }

    // A password and no `keyfile`: as in DVC, only the password methods are tried, so the
    // password reaches the server (which refuses it) instead of a disconnection after six keys.
    let out = sb
        .vintner(&a)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .arg("push")
        .assert()
        .failure();
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("the password from `password` (refused)") && !err.contains("ssh-agent"),
        "{err}"
    );
    let log = std::fs::read_to_string(sb.path().join("sshd/sshd.log")).unwrap();
    assert!(
        log.contains("Failed password for") && !log.contains("Too many authentication failures"),
        "{log}"
    );
    assert!(remote_files(&store).is_empty());
    // Without the password, the agent's keys use up the tries: the error says so.
    sb.vintner(&a)
        .args(["remote", "modify", "--local", "--unset", "box", "password"])
        .assert()
        .success();
    let out = sb
        .vintner(&a)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .arg("push")
        .assert()
        .failure();
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("refused key(s) of the ssh-agent")
            && err.contains("MaxAuthTries")
            && err.contains("IdentitiesOnly yes"),
        "{err}"
    );

    // With a `keyfile` too, keys are tried first again, as in DVC (which, like OpenSSH, also
    // offers the agent's keys first: this agent would use up the tries, so it is left out).
    sb.vintner(&a)
        .args(["remote", "modify", "--local", "box", "keyfile"])
        .arg(&sshd.client_key)
        .assert()
        .success();
    sb.vintner(&a)
        .env_remove("SSH_AUTH_SOCK")
        .arg("push")
        .assert()
        .success();
    assert_eq!(remote_files(&store).len(), 5);
}
