//! The network remote kinds beyond S3 — Azure Blob (Azurite), WebDAV and read-only HTTP
//! (wsgidav), Google Cloud Storage (gcp-storage-emulator) — each against a real server started
//! here on a free loopback port: push/pull round trips in fresh clones, the real `dvc` (with
//! `dvc-azure`, `dvc-webdav`, `dvc-gs`) pulling what vintner pushed and the other way round,
//! byte for byte, and clear errors (without the secret) for bad credentials.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::{Sandbox, git, snapshot};
use crate::peers::{self, free_port, wait_for_port};

/// A server process started by a test, killed on drop, with a temp folder for its data.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(
    program: PathBuf,
    args: &[String],
    what: &str,
    dir: tempfile::TempDir,
    port: u16,
) -> Server {
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    wait_for_port(port, 90, what, &mut child);
    Server {
        child,
        port,
        _dir: dir,
    }
}

/// Python's `http.server` serving `dir` on a free loopback port: a plain HTTP server that
/// answers every GET with the whole file (no Range support), as many static hosts do.
pub(crate) fn static_http(dir: tempfile::TempDir) -> Server {
    let port = free_port();
    let args = [
        "-m".to_string(),
        "http.server".to_string(),
        "--bind".to_string(),
        "127.0.0.1".to_string(),
        port.to_string(),
    ];
    spawn(
        peers::bin("dvc", "python"),
        &args,
        "python -m http.server",
        dir,
        port,
    )
}

/// The real `dvc`, as a test here runs it. dvc-gs's client (gcsfs) by default first asks GCS's
/// Storage Control API, over gRPC and always TLS, for each bucket's layout, and retries that on
/// every call when it fails (`GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT`, on by default). Real GCS
/// answers "flat bucket", after which gcsfs takes the same JSON-API path as with the probe off;
/// gcp-storage-emulator speaks no gRPC, so the probe would cost a minute a call. Off here.
fn dvc(sb: &Sandbox, repo: &Path) -> assert_cmd::Command {
    let mut cmd = peers::dvc(sb, repo);
    cmd.env("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false");
    cmd
}

/// Runs `code` with the Python of the dvc venv (which has the Azure/GCS SDKs DVC's plugins use).
fn dvc_python(code: &str) {
    let out = Command::new(peers::bin("dvc", "python"))
        .args(["-c", code])
        .output()
        .expect("run python");
    assert!(out.status.success(), "{code}\n{out:?}");
}

/// Files of every kind a remote must carry: a `.dir` tree, a non-ASCII name, a 20 MiB file (above
/// vintner's 8 MiB parts and ranges, and gcsfs's 5 MiB limit for one-request uploads, so both
/// tools send and fetch it in pieces).
fn make_data(repo: &Path) {
    std::fs::create_dir_all(repo.join("data/dir/sub")).unwrap();
    std::fs::write(repo.join("data/wine.csv"), b"a;b\n1;2\n").unwrap();
    std::fs::write(repo.join("data/dir/x.txt"), b"x\n").unwrap();
    std::fs::write(repo.join("data/dir/sub/caf\u{e9} y.txt"), b"y\n").unwrap();
    let big: Vec<u8> = (0..(20 << 20)).map(|i: u32| (i % 241) as u8).collect();
    std::fs::write(repo.join("data/dir/big.bin"), big).unwrap();
}

/// Sets up remote `r` in `repo` with `dvc` or vintner: `url`, then `options` with
/// `remote modify` (`--local` for the secret ones).
fn configure(sb: &Sandbox, repo: &Path, with_dvc: bool, url: &str, options: &[(&str, &str, bool)]) {
    let run = |args: &[&str]| {
        if with_dvc {
            dvc(sb, repo).args(args).assert().success();
        } else {
            sb.vintner(repo).args(args).assert().success();
        }
    };
    run(&["remote", "add", "-d", "r", url]);
    for (key, value, local) in options {
        if *local {
            run(&["remote", "modify", "--local", "r", key, value]);
        } else {
            run(&["remote", "modify", "r", key, value]);
        }
    }
    let tracked = std::fs::read_to_string(repo.join(".dvc/config")).unwrap();
    for (key, value, local) in options {
        if *local {
            assert!(
                !tracked.contains(value),
                "`{key}` leaked into .dvc/config:\n{tracked}"
            );
        }
    }
}

fn clone_with_local_config(sb: &Sandbox, from: &str, to: &str) -> PathBuf {
    git(sb.path(), &["clone", "-q", from, to]);
    let src = sb.path().join(from).join(".dvc/config.local");
    let dest = sb.path().join(to);
    if src.exists() {
        std::fs::copy(src, dest.join(".dvc/config.local")).unwrap();
    }
    dest
}

/// vintner pushes to `url_a`, a fresh clone pulls it with vintner and another with `dvc`; DVC
/// pushes to `url_b` (if given) and vintner pulls it in a fresh clone. All byte for byte.
/// vintner pushes to `url_a` and pulls in a fresh clone; DVC pulls it too when `dvc_pulls`;
/// with `url_b`, DVC pushes there and vintner pulls.
fn round_trips(
    sb: &Sandbox,
    url_a: &str,
    url_b: Option<&str>,
    dvc_pulls: bool,
    options: &[(&str, &str, bool)],
) {
    let a = sb.mkdir("a");
    sb.vintner(&a)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    configure(sb, &a, false, url_a, options);
    make_data(&a);
    sb.vintner(&a)
        .args(["add", "data/wine.csv", "data/dir"])
        .assert()
        .success();
    sb.vintner(&a).arg("push").assert().success();
    sb.vintner(&a)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 'r' are in sync.\n");
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-qm", "data"]);
    let want = snapshot(&a.join("data"), false);

    let a2 = clone_with_local_config(sb, "a", "a2");
    sb.vintner(&a2).arg("pull").assert().success();
    assert_eq!(snapshot(&a2.join("data"), false), want);

    if dvc_pulls {
        let a3 = clone_with_local_config(sb, "a", "a3");
        dvc(sb, &a3).arg("pull").assert().success();
        assert_eq!(snapshot(&a3.join("data"), false), want);
        dvc(sb, &a3).args(["status", "-c"]).assert().success();
    }

    let Some(url_b) = url_b else {
        return;
    };
    let b = sb.mkdir("b");
    git(&b, &["init", "--quiet"]);
    dvc(sb, &b).arg("init").assert().success();
    configure(sb, &b, true, url_b, options);
    make_data(&b);
    std::fs::write(b.join("data/dir/x.txt"), b"x from dvc\n").unwrap();
    dvc(sb, &b)
        .args(["add", "data/wine.csv", "data/dir"])
        .assert()
        .success();
    dvc(sb, &b).arg("push").assert().success();
    git(&b, &["add", "-A"]);
    git(&b, &["commit", "-qm", "data"]);
    let b2 = clone_with_local_config(sb, "b", "b2");
    sb.vintner(&b2).arg("pull").assert().success();
    assert_eq!(
        snapshot(&b2.join("data"), false),
        snapshot(&b.join("data"), false)
    );
    sb.vintner(&b2)
        .args(["status", "-c"])
        .assert()
        .success()
        .stdout("Cache and remote 'r' are in sync.\n");
}

/// A repository with one tracked file and remote `r` set to `url` + `options`, for error cases.
fn one_file_repo(sb: &Sandbox, url: &str, options: &[(&str, &str, bool)]) -> PathBuf {
    let repo = sb.mkdir("e");
    sb.vintner(&repo)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    configure(sb, &repo, false, url, options);
    std::fs::write(repo.join("f.txt"), b"f\n").unwrap();
    sb.vintner(&repo).args(["add", "f.txt"]).assert().success();
    repo
}

fn failing(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(1);
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Azure Blob Storage, on Azurite.

/// Azurite's well-known development account key.
pub(crate) const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub(crate) fn azurite() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bin = peers::peers_dir().join("azurite/node_modules/.bin/azurite-blob");
    assert!(
        bin.is_file(),
        "Azurite is not installed at {}; run `bash tests/peers/install.sh`",
        bin.display()
    );
    let args: Vec<String> = [
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        &port.to_string(),
        "--location",
        &dir.path().display().to_string(),
        "--skipApiVersionCheck",
        "--disableTelemetry",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    spawn(bin, &args, "azurite", dir, port)
}

pub(crate) fn azurite_connection_string(port: u16, key: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};\
         BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
}

pub(crate) fn azure_create_container(conn: &str, name: &str) {
    dvc_python(&format!(
        "from azure.storage.blob import BlobServiceClient; \
         BlobServiceClient.from_connection_string('{conn}').create_container('{name}')"
    ));
}

#[test]
fn azure_round_trips_between_vintner_and_dvc() {
    let server = azurite();
    let conn = azurite_connection_string(server.port, AZURITE_KEY);
    azure_create_container(&conn, "wine");
    let sb = Sandbox::new();
    round_trips(
        &sb,
        "azure://wine/a/store",
        Some("azure://wine/b"),
        true,
        &[("connection_string", &conn, true)],
    );
}

#[test]
fn azure_wrong_key_is_a_clear_error_without_the_key() {
    let server = azurite();
    let good = azurite_connection_string(server.port, AZURITE_KEY);
    azure_create_container(&good, "wine");
    let sb = Sandbox::new();
    // A well-formed key that is not the account's.
    let wrong_key = "d3JvbmdrZXl3cm9uZ2tleXdyb25na2V5d3JvbmdrZXk=";
    let repo = one_file_repo(
        &sb,
        "azure://wine/p",
        &[(
            "connection_string",
            &azurite_connection_string(server.port, wrong_key),
            true,
        )],
    );
    let err = failing(sb.vintner(&repo).arg("push"));
    assert!(err.contains("Data remote `r` failed"), "{err}");
    assert!(err.contains("403") || err.contains("authenticate"), "{err}");
    assert!(!err.contains(wrong_key), "the key leaked: {err}");

    // No credentials at all: named, with the fix.
    std::fs::remove_file(repo.join(".dvc/config.local")).unwrap();
    sb.vintner(&repo)
        .args(["remote", "modify", "r", "account_name", "devstoreaccount1"])
        .assert()
        .success();
    let err = failing(
        sb.vintner(&repo)
            .env_remove("AZURE_STORAGE_CONNECTION_STRING")
            .env_remove("AZURE_STORAGE_KEY")
            .arg("push"),
    );
    assert!(err.contains("no credentials for storage account"), "{err}");
    assert!(err.contains("--local r"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// WebDAV and read-only HTTP, on wsgidav.

const DAV_USER: &str = "alice";
const DAV_PASSWORD: &str = "pw-for-dav-3141";

/// wsgidav serving a temp folder, basic auth for one user.
fn wsgidav() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // DVC's WebDAV client needs its remote's folder to exist (vintner makes its own).
    for dvc_folder in ["root/dav/b", "root/dav/h"] {
        std::fs::create_dir_all(dir.path().join(dvc_folder)).unwrap();
    }
    let config = format!(
        "host: 127.0.0.1\nport: {port}\nserver: cheroot\nprovider_mapping:\n  \"/\": {root}\n\
         http_authenticator:\n  accept_basic: true\n  accept_digest: false\n  \
         default_to_digest: false\nsimple_dc:\n  user_mapping:\n    \"*\":\n      \
         \"{DAV_USER}\":\n        password: \"{DAV_PASSWORD}\"\nverbose: 1\n",
        root = dir.path().join("root").display()
    );
    let config_path = dir.path().join("wsgidav.yaml");
    std::fs::write(&config_path, config).unwrap();
    let args = vec!["--config".to_string(), config_path.display().to_string()];
    spawn(peers::bin("webdav", "wsgidav"), &args, "wsgidav", dir, port)
}

fn dav_options() -> Vec<(&'static str, &'static str, bool)> {
    vec![("user", DAV_USER, false), ("password", DAV_PASSWORD, true)]
}

#[test]
fn webdav_round_trips_between_vintner_and_dvc() {
    let server = wsgidav();
    let sb = Sandbox::new();
    let base = format!("webdav://127.0.0.1:{}/dav", server.port);
    round_trips(
        &sb,
        &format!("{base}/a/store"),
        Some(&format!("{base}/b")),
        true,
        &dav_options(),
    );
    // Uploads went through temporary names, none of which is left behind.
    let mut names = Vec::new();
    for entry in walkdir::WalkDir::new(server._dir.path().join("root")) {
        names.push(entry.unwrap().file_name().to_string_lossy().into_owned());
    }
    assert!(names.iter().any(|n| n.len() == 30), "{names:?}");
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn http_remotes_are_read_only_as_in_dvc() {
    let server = wsgidav();
    let sb = Sandbox::new();
    // DVC pushes over WebDAV; vintner reads the same folder as a plain http:// remote.
    let b = sb.mkdir("b");
    git(&b, &["init", "--quiet"]);
    dvc(&sb, &b).arg("init").assert().success();
    configure(
        &sb,
        &b,
        true,
        &format!("webdav://127.0.0.1:{}/dav/h", server.port),
        &dav_options(),
    );
    make_data(&b);
    dvc(&sb, &b).args(["add", "data"]).assert().success();
    dvc(&sb, &b).arg("push").assert().success();
    let http_url = format!("http://127.0.0.1:{}/dav/h", server.port);
    dvc(&sb, &b)
        .args(["remote", "modify", "r", "url", &http_url])
        .assert()
        .success();
    dvc(&sb, &b)
        .args(["remote", "modify", "r", "auth", "basic"])
        .assert()
        .success();
    git(&b, &["add", "-A"]);
    git(&b, &["commit", "-qm", "data"]);
    let b2 = clone_with_local_config(&sb, "b", "b2");
    sb.vintner(&b2).arg("pull").assert().success();
    assert_eq!(
        snapshot(&b2.join("data"), false),
        snapshot(&b.join("data"), false)
    );

    // Pushing to it is refused, saying why and what to use instead.
    std::fs::write(b2.join("data/new.txt"), b"new\n").unwrap();
    sb.vintner(&b2).args(["add", "data"]).assert().success();
    let err = failing(sb.vintner(&b2).arg("push"));
    assert!(err.contains("read-only (as in DVC)"), "{err}");
    assert!(err.contains("webdav://"), "{err}");
}

#[test]
fn webdav_wrong_password_is_a_clear_error_without_it() {
    let server = wsgidav();
    let sb = Sandbox::new();
    let wrong = "not-the-password-2718";
    let repo = one_file_repo(
        &sb,
        &format!("webdav://127.0.0.1:{}/dav/p", server.port),
        &[("user", DAV_USER, false), ("password", wrong, true)],
    );
    let err = failing(sb.vintner(&repo).arg("push"));
    assert!(err.contains("Data remote `r` failed"), "{err}");
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains(wrong), "the password leaked: {err}");

    // The password in the URL instead: never shown either.
    let repo2 = sb.mkdir("e2");
    sb.vintner(&repo2)
        .args(["init", "--no-remote"])
        .assert()
        .success();
    let url = format!(
        "webdav://{DAV_USER}:{wrong}@127.0.0.1:{}/dav/p",
        server.port
    );
    sb.vintner(&repo2)
        .args(["remote", "add", "--local", "-d", "r", &url])
        .assert()
        .success();
    std::fs::write(repo2.join("f.txt"), b"f\n").unwrap();
    sb.vintner(&repo2).args(["add", "f.txt"]).assert().success();
    let err = failing(sb.vintner(&repo2).arg("push"));
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains(wrong), "the password leaked: {err}");
}

// ---------------------------------------------------------------------------------------------
// Google Cloud Storage, on gcp-storage-emulator.

/// Starts gcp-storage-emulator with what real GCS's XML API always has and object_store's GCS
/// client requires, but the emulator lacks: `HEAD` on an object (the emulator answers 501), and
/// the `ETag` and `Last-Modified` headers on downloads and uploads. `HEAD` runs the emulator's
/// own download handler and drops the body; the headers come from the emulator's own record of
/// the object (its md5 etag and update time). Also the XML API's listing (`GET
/// /<bucket>?list-type=2`, which object_store lists with) and `DELETE` of an object, served from
/// the emulator's own listing and delete handlers; and XML API multipart uploads (object_store
/// uploads large objects so), whose parts wait in the launcher until the upload completes and the
/// emulator's own upload handler stores them as one object. Every byte is still stored and
/// served by the emulator.
const GCS_LAUNCHER: &str = r#"
import hashlib
import html
import re
import sys
import uuid
from email.utils import format_datetime
from datetime import datetime
from http import HTTPStatus
from xml.sax.saxutils import escape
from gcp_storage_emulator import server
from gcp_storage_emulator.handlers import objects
from gcp_storage_emulator.__main__ import main

class _Sink:
    def write(self, b):
        return len(b)
    def flush(self):
        pass

def do_HEAD(self):
    real, end = self.wfile, self.end_headers
    def end_headers():
        end()
        self.wfile = _Sink()
    self.end_headers = end_headers
    try:
        server.Router(self).handle(server.GET)
    finally:
        self.wfile = real
        del self.end_headers

def with_xml_headers(handler):
    def wrapped(request, response, storage, *args, **kwargs):
        handler(request, response, storage, *args, **kwargs)
        if response.status.value < 300:
            obj = storage.get_file_obj(request.params["bucket_name"], request.params["object_id"])
            response["ETag"] = '"{}"'.format(obj.get("etag") or obj["md5Hash"])
            updated = datetime.fromisoformat(obj["updated"].replace("Z", "+00:00"))
            response["Last-Modified"] = format_datetime(updated, usegmt=True)
    return wrapped

def xml_list(request, response, storage, *args, **kwargs):
    # XML API `GET /<bucket>?list-type=2`, from the emulator's own listing, 1,000 keys a page.
    query = lambda k: (request.query.get(k) or [""])[0]
    bucket = request.params["bucket_name"]
    start = query("continuation-token") or query("start-after")
    try:
        files, _ = storage.get_file_list(bucket, query("prefix") or None, None)
    except Exception:
        response.status = HTTPStatus.NOT_FOUND
        return
    files = sorted((f for f in files if f["name"] > start), key=lambda f: f["name"])
    page = files[:1000]
    out = ['<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>',
           "<Name>{}</Name><Prefix>{}</Prefix><KeyCount>{}</KeyCount>".format(
               escape(bucket), escape(query("prefix")), len(page)),
           "<IsTruncated>{}</IsTruncated>".format("true" if len(files) > 1000 else "false")]
    if len(files) > 1000:
        out.append("<NextContinuationToken>{}</NextContinuationToken>".format(
            escape(page[-1]["name"])))
    for f in page:
        out.append("<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>\"{}\"</ETag>"
                   "<Size>{}</Size></Contents>".format(
                       escape(f["name"]), f["updated"], f.get("etag") or f["md5Hash"], f["size"]))
    out.append("</ListBucketResult>")
    response.write_file("".join(out).encode(), "application/xml")

_uploads = {}

def _upload_id(request):
    return (request.query.get("uploadId") or [None])[0]

def xml_multipart(put, delete):
    # XML API multipart uploads: `POST ?uploads` starts one, `PUT ?partNumber=N&uploadId=U`
    # sends a part, `POST ?uploadId=U` with the part list completes it (the object is then
    # created by the emulator's own XML upload handler), `DELETE ?uploadId=U` aborts it.
    def on_put(request, response, storage, *args, **kwargs):
        upload_id = _upload_id(request)
        if upload_id is None:
            return put(request, response, storage, *args, **kwargs)
        if upload_id not in _uploads:
            response.status = HTTPStatus.NOT_FOUND
            return
        data = request.data or b""
        _uploads[upload_id][int(request.query["partNumber"][0])] = data
        response["ETag"] = '"{}"'.format(hashlib.md5(data).hexdigest())

    def on_post(request, response, storage, *args, **kwargs):
        if re.search(r"(^|&)uploads(=|&|$)", request._parsed_url.query):
            upload_id = uuid.uuid4().hex
            _uploads[upload_id] = {}
            response.write_file(
                '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult>'
                "<Bucket>{}</Bucket><Key>{}</Key><UploadId>{}</UploadId>"
                "</InitiateMultipartUploadResult>".format(
                    escape(request.params["bucket_name"]),
                    escape(request.params["object_id"]), upload_id).encode(),
                "application/xml")
            return
        upload_id = _upload_id(request) or ""
        parts = _uploads.get(upload_id)
        if parts is None:
            response.status = HTTPStatus.NOT_FOUND
            return
        body = request.data
        body = body.decode() if isinstance(body, bytes) else str(body)
        # As GCS checks a completion: every listed part was uploaded with that ETag (its MD5),
        # in ascending order, all but the last at least 5 MiB. A refused one stays pending.
        def refuse(code, message):
            response.status = HTTPStatus.BAD_REQUEST
            response.write_file(
                '<?xml version="1.0" encoding="UTF-8"?><Error><Code>{}</Code>'
                "<Message>{}</Message></Error>".format(code, escape(message)).encode(),
                "application/xml")
        numbers = []
        for listed in re.findall(r"<Part>(.*?)</Part>", body, re.S):
            number = re.search(r"<PartNumber>(\d+)</PartNumber>", listed)
            etag = re.search(r"<ETag>(.*?)</ETag>", listed, re.S)
            if number is None or etag is None:
                return refuse("MalformedXML", "a part without PartNumber or ETag")
            number, etag = int(number.group(1)), html.unescape(etag.group(1)).strip('"')
            if number not in parts or hashlib.md5(parts[number]).hexdigest() != etag:
                return refuse("InvalidPart", "part {} is not uploaded with ETag {}".format(
                    number, etag))
            if numbers and number <= numbers[-1]:
                return refuse("InvalidPartOrder", "part {} after part {}".format(
                    number, numbers[-1]))
            numbers.append(number)
        if not numbers:
            return refuse("MalformedXML", "no parts listed")
        if any(len(parts[n]) < 5 << 20 for n in numbers[:-1]):
            return refuse("EntityTooSmall", "a part but the last is under 5 MiB")
        del _uploads[upload_id]
        request._data = b"".join(parts[n] for n in numbers)
        put(request, response, storage, *args, **kwargs)
        if response.status.value < 300:
            response.write_file(
                '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult>'
                "<ETag>{}</ETag></CompleteMultipartUploadResult>".format(
                    escape(response["ETag"])).encode(),
                "application/xml")

    def on_delete(request, response, storage, *args, **kwargs):
        upload_id = _upload_id(request)
        if upload_id is None:
            return delete(request, response, storage, *args, **kwargs)
        _uploads.pop(upload_id, None)
        response.status = HTTPStatus.NO_CONTENT

    return {"PUT": on_put, "POST": on_post, "DELETE": on_delete}

server.RequestHandler.do_HEAD = do_HEAD
server.HANDLERS = tuple(
    (regex, {**{m: with_xml_headers(h) if h in (objects.download, objects.xml_upload) else h
                for m, h in handlers.items()},
             **(xml_multipart(with_xml_headers(objects.xml_upload), objects.delete)
                if "object_id" in regex and regex.startswith("^/(") else {})})
    for regex, handlers in server.HANDLERS
) + ((r"^/(?P<bucket_name>[-.\w]+)/?$", {"GET": xml_list}),)
sys.exit(main(sys.argv[1:]))
"#;

fn gcs_emulator(buckets: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let launcher = dir.path().join("launch.py");
    std::fs::write(&launcher, GCS_LAUNCHER).unwrap();
    let args: Vec<String> = [
        launcher.display().to_string(),
        "start".into(),
        "--host".into(),
        "127.0.0.1".into(),
        "--port".into(),
        port.to_string(),
        "--in-memory".into(),
    ]
    .into_iter()
    .collect();
    let server = spawn(
        peers::bin("gcs", "python"),
        &args,
        "gcp-storage-emulator",
        dir,
        port,
    );
    for bucket in buckets {
        dvc_python(&format!(
            "import urllib.request, json; urllib.request.urlopen(urllib.request.Request(\
             'http://127.0.0.1:{port}/storage/v1/b', data=json.dumps({{'name': '{bucket}'}})\
             .encode(), headers={{'Content-Type': 'application/json'}}, method='POST'))"
        ));
    }
    server
}

#[test]
fn gcs_round_trips_between_vintner_and_dvc() {
    let server = gcs_emulator(&["wine"]);
    let sb = Sandbox::new();
    let endpoint = format!("http://127.0.0.1:{}", server.port);
    round_trips(
        &sb,
        "gs://wine/a/store",
        Some("gs://wine/b"),
        true,
        &[
            ("endpointurl", &endpoint, false),
            ("allow_anonymous_login", "true", false),
        ],
    );
}

#[test]
fn gcs_without_credentials_is_a_clear_error() {
    let sb = Sandbox::new();
    let repo = one_file_repo(&sb, "gs://wine/p", &[]);
    let err = failing(
        sb.vintner(&repo)
            .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
            .arg("push"),
    );
    assert!(err.contains("no Google Cloud credentials"), "{err}");
    assert!(err.contains("credentialpath"), "{err}");

    let missing = sb.path().join("nowhere.json");
    let err = failing(
        sb.vintner(&repo)
            .env("GOOGLE_APPLICATION_CREDENTIALS", &missing)
            .arg("push"),
    );
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn unknown_remote_kinds_are_named() {
    let sb = Sandbox::new();
    let repo = one_file_repo(&sb, "oss://bucket/p", &[]);
    let err = failing(sb.vintner(&repo).arg("push"));
    assert!(
        err.contains("`oss://` remote, which vintner does not speak"),
        "{err}"
    );
    assert!(err.contains("azure://") && err.contains("ssh://"), "{err}");
    assert!(err.contains("vintner remote modify r url"), "{err}");
}
