//! The one way tests find the real peers (DVC, MLflow, moto): venvs under `$VINTNER_PEERS_DIR`,
//! else `~/.cache/vintner/peers`, as `tests/peers/install.sh` lays them out. A missing peer fails
//! the test with the command that installs it; there is no silent skip.

use std::path::PathBuf;

/// The folder holding one venv per peer.
pub fn peers_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VINTNER_PEERS_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
        });
    cache.join("vintner").join("peers")
}

/// The executable `program` of peer venv `peer` (e.g. `("dvc", "dvc")`), or a panic that says
/// how to install it.
pub fn bin(peer: &str, program: &str) -> PathBuf {
    let path = peers_dir().join(peer).join("bin").join(program);
    assert!(
        path.is_file(),
        "the real `{program}` is not installed at {}; run `bash tests/peers/install.sh` \
         (or set VINTNER_PEERS_DIR to where the peer venvs are)",
        path.display()
    );
    path
}

/// `dvc` from its venv, with analytics off and its site cache inside the sandbox.
pub fn dvc(sandbox: &crate::common::Sandbox, cwd: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(bin("dvc", "dvc"));
    sandbox.isolate(&mut cmd);
    cmd.current_dir(cwd)
        .env("DVC_NO_ANALYTICS", "1")
        .env("DVC_SITE_CACHE_DIR", sandbox.path().join("dvc-site-cache"));
    cmd
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port")
}

/// Waits until something accepts TCP connections on `port`, or panics after `secs`.
pub fn wait_for_port(port: u16, secs: u64, what: &str, child: &mut std::process::Child) {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(secs) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{what} did not listen on 127.0.0.1:{port} within {secs} s");
}

/// A moto S3 server on 127.0.0.1, stopped on drop. Credentials `test`/`test`.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let mut child = std::process::Command::new(bin("moto", "moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto_server");
        wait_for_port(port, 60, "moto_server", &mut child);
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Creates a bucket with boto3 from moto's venv.
    pub fn create_bucket(&self, name: &str) {
        let script = format!(
            "import boto3; boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', \
             aws_secret_access_key='test', region_name='us-east-1').create_bucket(Bucket='{name}')",
            self.endpoint
        );
        let out = std::process::Command::new(bin("moto", "python"))
            .args(["-c", &script])
            .output()
            .expect("run python");
        assert!(out.status.success(), "create bucket: {out:?}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// MLflow's Python interpreter (the venv with `mlflow==3.17.2`), isolated in the sandbox, with
/// telemetry off and no tracking URI inherited.
pub fn mlflow_python(
    sandbox: &crate::common::Sandbox,
    cwd: &std::path::Path,
) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(bin("mlflow", "python"));
    sandbox.isolate(&mut cmd);
    cmd.current_dir(cwd)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// The `mlflow` CLI of the same venv (for `mlflow server`).
pub fn mlflow_cli() -> PathBuf {
    bin("mlflow", "mlflow")
}

/// A real `mlflow server` started in `dir` with `args` after `--host`/`--port`, stopped (its
/// whole process group) by a watchdog once this test process has exited; returns its URL when
/// `/health` answers, and the watchdog to keep alive.
pub fn start_mlflow_server(dir: &std::path::Path, args: &[&str]) -> (String, std::process::Child) {
    let port = free_port();
    let log = dir.join("server.log");
    let script = r#"
cd "$DIR"
setsid "$MLFLOW" server --host 127.0.0.1 --port "$PORT" "$@" >"$DIR/server.log" 2>&1 &
srv=$!
while kill -0 "$TESTPID" 2>/dev/null && kill -0 "$srv" 2>/dev/null; do sleep 1; done
kill -TERM -- "-$srv" 2>/dev/null; sleep 5; kill -KILL -- "-$srv" 2>/dev/null
rm -rf "$DIR"
"#;
    let watchdog = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("mlflow-server")
        .args(args)
        .env("MLFLOW", mlflow_cli())
        .env("PORT", port.to_string())
        .env("DIR", dir)
        .env("TESTPID", std::process::id().to_string())
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .env_remove("MLFLOW_TRACKING_URI")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let host = format!("127.0.0.1:{port}");
    let start = std::time::Instant::now();
    loop {
        if let Some((200, body)) = http_get(&host, "/health")
            && body.contains("OK")
        {
            break;
        }
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            start.elapsed() < std::time::Duration::from_secs(400),
            "mlflow server did not answer /health within 400 s:\n{log_text}"
        );
        assert!(
            !log_text.contains("Traceback") && !log_text.contains("out-of-date"),
            "mlflow server failed to start:\n{log_text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    (format!("http://{host}"), watchdog)
}

/// A plain HTTP/1.0 GET: the status and the whole answer, or `None` if nothing answered.
pub fn http_get(host_port: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(host_port).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host_port}\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, buf))
}
