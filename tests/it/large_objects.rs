//! Objects larger than one request on the network remotes: uploaded in parts (an S3 multipart
//! upload on moto, committed blocks on Azurite), pulled byte for byte by the real `dvc`; an
//! upload whose server goes away midway fails soon, naming the remote, with no object under
//! the final name, and the next push completes; a corrupt object is refused both ways and
//! leaves nothing behind; on a slow link, one large object or many share it in requests that
//! each finish within object_store's per-request time limit; and a plain HTTP server without
//! Range support still serves a large object.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{Sandbox, git, stderr};
use crate::peers::{self, Moto};
use crate::remotes;
use crate::s3::configure_s3;

/// Well above vintner's single-request limit (8 MiB): ten 8 MiB parts.
const BIG: usize = 80 << 20;

/// `len` bytes that no compressor or deduplicator shortens (xorshift64).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A TCP relay in front of a server that can drop off the network: once the client has sent
/// more than `cut_after` bytes it resets every connection and then closes each new one at once,
/// until [`Relay::restore`].
struct Relay {
    port: u16,
    state: Arc<RelayState>,
}

struct RelayState {
    upstream: String,
    sent: AtomicU64,
    cut_after: AtomicU64,
    down: AtomicBool,
    stop: AtomicBool,
    /// Bytes per second each connection may carry each way (0: unlimited).
    rate: AtomicU64,
    /// Bytes per second all connections together may carry each way (0: unlimited), and when
    /// each way's link is next free.
    link_rate: AtomicU64,
    link_free: [Mutex<Instant>; 2],
    conns: Mutex<Vec<TcpStream>>,
}

impl RelayState {
    fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

impl Relay {
    fn start(upstream_port: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(RelayState {
            upstream: format!("127.0.0.1:{upstream_port}"),
            sent: AtomicU64::new(0),
            cut_after: AtomicU64::new(u64::MAX),
            down: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            rate: AtomicU64::new(0),
            link_rate: AtomicU64::new(0),
            link_free: [Mutex::new(Instant::now()), Mutex::new(Instant::now())],
            conns: Mutex::new(Vec::new()),
        });
        let s = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if s.down.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&s.upstream) else {
                    continue;
                };
                {
                    let mut conns = s.conns.lock().unwrap();
                    conns.push(client.try_clone().unwrap());
                    conns.push(server.try_clone().unwrap());
                }
                let (s1, s2) = (s.clone(), s.clone());
                let (c2, v2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump(client, server, &s1, true));
                std::thread::spawn(move || pump(v2, c2, &s2, false));
            }
        });
        Relay { port, state }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Drop off the network once the client has sent `bytes` more bytes.
    fn cut_after(&self, bytes: u64) {
        self.state.sent.store(0, Ordering::SeqCst);
        self.state.cut_after.store(bytes, Ordering::SeqCst);
    }

    /// Back on the network, for good.
    fn restore(&self) {
        self.state.cut_after.store(u64::MAX, Ordering::SeqCst);
        self.state.down.store(false, Ordering::SeqCst);
    }

    /// Limits each connection to `bytes_per_sec` each way, like a slow link.
    fn throttle(&self, bytes_per_sec: u64) {
        self.state.rate.store(bytes_per_sec, Ordering::SeqCst);
    }

    /// Limits all connections together to `bytes_per_sec` each way, like a shared slow link.
    fn throttle_link(&self, bytes_per_sec: u64) {
        self.state.link_rate.store(bytes_per_sec, Ordering::SeqCst);
    }

    fn went_down(&self) -> bool {
        self.state.down.load(Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.state.go_down();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, s: &RelayState, upload: bool) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let rate = s.rate.load(Ordering::SeqCst);
        if rate > 0 {
            std::thread::sleep(Duration::from_secs_f64(n as f64 / rate as f64));
        }
        let link_rate = s.link_rate.load(Ordering::SeqCst);
        if link_rate > 0 {
            // The chunk takes the link's next free slot: connections share it chunk by chunk.
            let done = {
                let mut free = s.link_free[usize::from(upload)].lock().unwrap();
                let done = (*free).max(Instant::now())
                    + Duration::from_secs_f64(n as f64 / link_rate as f64);
                *free = done;
                done
            };
            std::thread::sleep(done.saturating_duration_since(Instant::now()));
        }
        if upload {
            let sent = s.sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            if sent > s.cut_after.load(Ordering::SeqCst) {
                s.go_down();
                break;
            }
        }
        if s.down.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

fn port_of(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

/// The md5 a `.dvc` file records for its one output.
fn md5_in(dvc_file: &Path) -> String {
    let text = std::fs::read_to_string(dvc_file).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("- md5: "))
        .unwrap_or_else(|| panic!("no md5 in {text}"));
    line.trim().to_string()
}

/// Runs `code` (after `s3`, a boto3 client on moto, is defined) with moto's Python; its stdout.
fn moto_py(moto: &Moto, code: &str) -> String {
    let script = format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', \
         aws_secret_access_key='test', region_name='us-east-1')\n{code}",
        moto.endpoint
    );
    let out = std::process::Command::new(peers::bin("moto", "python"))
        .args(["-c", &script])
        .output()
        .expect("run python");
    assert!(out.status.success(), "{code}\n{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The object's ETag on moto, or `missing`.
fn s3_etag(moto: &Moto, bucket: &str, key: &str) -> String {
    moto_py(
        moto,
        &format!(
            "try:\n    print(s3.head_object(Bucket='{bucket}', Key='{key}')['ETag'])\n\
             except s3.exceptions.ClientError:\n    print('missing')"
        ),
    )
}

fn s3_pending_uploads(moto: &Moto, bucket: &str) -> usize {
    moto_py(
        moto,
        &format!("print(len(s3.list_multipart_uploads(Bucket='{bucket}').get('Uploads', [])))"),
    )
    .parse()
    .unwrap()
}

/// A repository with `data/big.bin` (`BIG` random bytes) added; returns it and the bytes.
fn big_repo(sb: &Sandbox, name: &str) -> (PathBuf, Vec<u8>) {
    let repo = sb.mkdir(name);
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    std::fs::create_dir_all(repo.join("data")).unwrap();
    let bytes = random_bytes(BIG, 0x5eed_1a26e);
    std::fs::write(repo.join("data/big.bin"), &bytes).unwrap();
    (repo, bytes)
}

fn add_big(sb: &Sandbox, repo: &Path) -> String {
    sb.vintner(repo)
        .args(["add", "data/big.bin"])
        .assert()
        .success();
    md5_in(&repo.join("data/big.bin.dvc"))
}

fn cache_object(repo: &Path, md5: &str) -> PathBuf {
    repo.join(".dvc/cache/files/md5")
        .join(&md5[..2])
        .join(&md5[2..])
}

/// Replaces a (read-only) file's content; a test's own sandbox only.
fn overwrite(path: &Path, bytes: &[u8]) {
    let _ = std::fs::remove_file(path);
    std::fs::write(path, bytes).unwrap();
}

fn push_fails(sb: &Sandbox, repo: &Path) -> String {
    let out = sb
        .vintner(repo)
        .arg("push")
        .timeout(Duration::from_secs(120))
        .assert()
        .code(1);
    stderr(&out)
}

fn commit_and_dvc_pull(sb: &Sandbox, repo: &Path, clone: &str, bytes: &[u8]) -> PathBuf {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "big"]);
    let from = repo.file_name().unwrap().to_str().unwrap();
    git(sb.path(), &["clone", "-q", from, clone]);
    let c = sb.path().join(clone);
    std::fs::copy(repo.join(".dvc/config.local"), c.join(".dvc/config.local")).unwrap();
    peers::dvc(sb, &c).arg("pull").assert().success();
    assert!(
        std::fs::read(c.join("data/big.bin")).unwrap() == bytes,
        "dvc pulled other bytes"
    );
    c
}

#[test]
fn large_objects_on_s3_are_multipart_uploads_that_survive_failures() {
    let moto = Moto::start();
    moto.create_bucket("big");
    let relay = Relay::start(port_of(&moto.endpoint));
    let sb = Sandbox::new();
    let (repo, bytes) = big_repo(&sb, "a");
    configure_s3(&sb, &repo, &moto, "big", false);
    sb.vintner(&repo)
        .args(["remote", "modify", "s3", "endpointurl", &relay.endpoint()])
        .assert()
        .success();
    let md5 = add_big(&sb, &repo);
    let key = format!("store/files/md5/{}/{}", &md5[..2], &md5[2..]);

    // A corrupt cache object is refused before its upload completes, and the upload aborted.
    let cached = cache_object(&repo, &md5);
    let mut corrupt = bytes.clone();
    corrupt[BIG - 1] ^= 1;
    overwrite(&cached, &corrupt);
    let err = push_fails(&sb, &repo);
    assert!(err.contains("the local cache is corrupt"), "{err}");
    assert_eq!(s3_etag(&moto, "big", &key), "missing");
    assert_eq!(
        s3_pending_uploads(&moto, "big"),
        0,
        "the upload was not aborted"
    );
    overwrite(&cached, &bytes);

    // The server goes away halfway through the upload: push fails soon (retries are bounded),
    // naming the remote, and nothing appears under the object's name.
    relay.cut_after(40 << 20);
    let err = push_fails(&sb, &repo);
    assert!(relay.went_down(), "the relay never cut the upload");
    assert!(err.contains("Data remote `s3` failed"), "{err}");
    assert_eq!(s3_etag(&moto, "big", &key), "missing");

    // Back on the network, the next push completes, as a ten-part upload.
    relay.restore();
    sb.vintner(&repo).arg("push").assert().success();
    let etag = s3_etag(&moto, "big", &key);
    assert!(etag.ends_with("-10\""), "not a 10-part upload: {etag}");
    sb.vintner(&repo)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 's3' are in sync.\n");

    // The real DVC (dvc-s3) pulls it byte for byte.
    commit_and_dvc_pull(&sb, &repo, "a2", &bytes);

    // A remote copy with other bytes is refused on download: nothing in the cache or workspace.
    let other = sb.path().join("other.bin");
    std::fs::write(&other, &corrupt).unwrap();
    moto_py(
        &moto,
        &format!(
            "s3.upload_file('{}', 'big', '{key}')",
            other.display().to_string().replace('\'', "\\'")
        ),
    );
    git(sb.path(), &["clone", "-q", "a", "a3"]);
    let a3 = sb.path().join("a3");
    std::fs::copy(repo.join(".dvc/config.local"), a3.join(".dvc/config.local")).unwrap();
    let out = sb.vintner(&a3).arg("pull").assert().code(1);
    let err = stderr(&out);
    assert!(err.contains("Checksum mismatch"), "{err}");
    assert!(err.contains(&md5[2..]), "{err}");
    assert!(!cache_object(&a3, &md5).exists());
    assert!(!a3.join("data/big.bin").exists());
    let left: Vec<_> = walk_files(&a3.join(".dvc/cache"));
    assert!(left.is_empty(), "left in the cache: {left:?}");
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn large_objects_on_azure_are_block_uploads_that_survive_failures() {
    let server = remotes::azurite();
    let direct = remotes::azurite_connection_string(server.port, remotes::AZURITE_KEY);
    remotes::azure_create_container(&direct, "big");
    let relay = Relay::start(server.port);
    let conn = remotes::azurite_connection_string(relay.port, remotes::AZURITE_KEY);
    let sb = Sandbox::new();
    let (repo, bytes) = big_repo(&sb, "a");
    sb.vintner(&repo)
        .args(["remote", "add", "-d", "az", "azure://big/store"])
        .assert()
        .success();
    sb.vintner(&repo)
        .args([
            "remote",
            "modify",
            "--local",
            "az",
            "connection_string",
            &conn,
        ])
        .assert()
        .success();
    let md5 = add_big(&sb, &repo);
    let blob = format!("store/files/md5/{}/{}", &md5[..2], &md5[2..]);
    let committed_blocks = || -> String {
        let out = std::process::Command::new(peers::bin("dvc", "python"))
            .args([
                "-c",
                &format!(
                    "from azure.storage.blob import BlobServiceClient\n\
                     b = BlobServiceClient.from_connection_string('{direct}')\
                     .get_blob_client('big', '{blob}')\n\
                     if b.exists():\n    print(len(b.get_block_list('committed')[0]))\n\
                     else:\n    print('missing')"
                ),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };

    // The server goes away halfway: a clear failure naming the remote, no blob by that name.
    relay.cut_after(40 << 20);
    let err = push_fails(&sb, &repo);
    assert!(relay.went_down(), "the relay never cut the upload");
    assert!(err.contains("Data remote `az` failed"), "{err}");
    assert_eq!(committed_blocks(), "missing");

    // Back on the network: the push completes as ten committed blocks; DVC pulls it.
    relay.restore();
    sb.vintner(&repo).arg("push").assert().success();
    assert_eq!(committed_blocks(), "10");
    commit_and_dvc_pull(&sb, &repo, "a2", &bytes);
}

#[test]
fn large_objects_cross_a_slow_link_in_requests_that_finish_in_time() {
    // object_store gives each request 30 s from connecting to its last byte. At 1 MiB/s, a
    // 36 MiB object in one request (upload or download) would need 36 s.
    let moto = Moto::start();
    moto.create_bucket("big");
    let relay = Relay::start(port_of(&moto.endpoint));
    let sb = Sandbox::new();
    let repo = sb.mkdir("a");
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    std::fs::create_dir_all(repo.join("data")).unwrap();
    let bytes = random_bytes(36 << 20, 7);
    std::fs::write(repo.join("data/big.bin"), &bytes).unwrap();
    configure_s3(&sb, &repo, &moto, "big", false);
    sb.vintner(&repo)
        .args(["remote", "modify", "s3", "endpointurl", &relay.endpoint()])
        .assert()
        .success();
    add_big(&sb, &repo);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "big"]);
    relay.throttle(1 << 20);
    let slow = |cmd: &mut assert_cmd::Command| {
        let out = cmd.timeout(Duration::from_secs(300)).assert();
        let err = stderr(&out);
        out.try_success()
            .unwrap_or_else(|_| panic!("failed on a slow link: {err}"));
    };
    slow(sb.vintner(&repo).arg("push"));
    git(sb.path(), &["clone", "-q", "a", "a2"]);
    let a2 = sb.path().join("a2");
    std::fs::copy(repo.join(".dvc/config.local"), a2.join(".dvc/config.local")).unwrap();
    slow(sb.vintner(&a2).arg("pull"));
    assert!(std::fs::read(a2.join("data/big.bin")).unwrap() == bytes);
}

#[test]
fn many_large_objects_share_a_slow_link_in_requests_that_finish_in_time() {
    // Sixteen 5 MiB files over one 2 MiB/s link: all in flight at once, each would need 40 s
    // (object_store allows one request 30 s); a batch keeps only so many bytes in flight.
    let moto = Moto::start();
    moto.create_bucket("big");
    let relay = Relay::start(port_of(&moto.endpoint));
    let sb = Sandbox::new();
    let repo = sb.mkdir("a");
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    std::fs::create_dir_all(repo.join("data")).unwrap();
    for i in 0..16 {
        let name = format!("data/f{i:02}.bin");
        std::fs::write(repo.join(name), random_bytes(5 << 20, 100 + i)).unwrap();
    }
    configure_s3(&sb, &repo, &moto, "big", false);
    sb.vintner(&repo)
        .args(["remote", "modify", "s3", "endpointurl", &relay.endpoint()])
        .assert()
        .success();
    sb.vintner(&repo).args(["add", "data"]).assert().success();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "data"]);
    relay.throttle_link(2 << 20);
    let slow = |cmd: &mut assert_cmd::Command| {
        let out = cmd.timeout(Duration::from_secs(300)).assert();
        let err = stderr(&out);
        out.try_success()
            .unwrap_or_else(|_| panic!("failed on a slow link: {err}"));
    };
    slow(sb.vintner(&repo).arg("push"));
    git(sb.path(), &["clone", "-q", "a", "a2"]);
    let a2 = sb.path().join("a2");
    std::fs::copy(repo.join(".dvc/config.local"), a2.join(".dvc/config.local")).unwrap();
    slow(sb.vintner(&a2).arg("pull"));
    assert_eq!(
        crate::common::snapshot(&a2.join("data"), false),
        crate::common::snapshot(&repo.join("data"), false)
    );
}

/// A read-only `http://` remote on a server without Range support: an object larger than one
/// range is read from the server's whole answer instead of failing on its first range.
#[test]
fn large_objects_pull_from_an_http_server_without_ranges() {
    let sb = Sandbox::new();
    let repo = sb.mkdir("a");
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    std::fs::create_dir_all(repo.join("data")).unwrap();
    // Two ranges and a part of a third.
    let bytes = random_bytes((20 << 20) + 12_345, 0x0a11_b17e);
    std::fs::write(repo.join("data/big.bin"), &bytes).unwrap();
    let md5 = add_big(&sb, &repo);
    // The folder served is laid out as a remote holding the object.
    let served = tempfile::tempdir().unwrap();
    let object = served
        .path()
        .join("store/files/md5")
        .join(&md5[..2])
        .join(&md5[2..]);
    std::fs::create_dir_all(object.parent().unwrap()).unwrap();
    std::fs::copy(cache_object(&repo, &md5), &object).unwrap();
    let server = remotes::static_http(served);
    let url = format!("http://127.0.0.1:{}/store", server.port);
    sb.vintner(&repo)
        .args(["remote", "add", "-d", "r", &url])
        .assert()
        .success();
    std::fs::remove_dir_all(repo.join(".dvc/cache")).unwrap();
    std::fs::remove_file(repo.join("data/big.bin")).unwrap();

    sb.vintner(&repo)
        .arg("pull")
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    assert!(
        std::fs::read(repo.join("data/big.bin")).unwrap() == bytes,
        "pulled other bytes"
    );
}
