//! SSH remotes against a real OpenSSH server (Debian's `sshd` on a free loopback port, run as the
//! current user with a throw-away host key and client key, no system config): vintner ↔ DVC
//! (dvc-ssh) both ways byte for byte, and a server whose host key is not known refused.

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
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\n\
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
    std::fs::write(
        ssh.join("known_hosts"),
        format!("[127.0.0.1]:{} {}", sshd.port, other.trim()),
    )
    .unwrap();
    let out = sb.vintner(&a).arg("push").assert().failure();
    let err = crate::common::stderr(&out);
    assert!(err.contains("differs from the one at line 1"), "{err}");
    assert!(remote_files(&store).is_empty());

    // Trusted: the push goes through.
    sshd.trust(&sb);
    sb.vintner(&a).arg("push").assert().success();
    assert_eq!(remote_files(&store).len(), 1);
}
