//! A team's setup against a real `mlflow server` with its default settings (uvicorn, 4 workers,
//! 5 s keep-alive): `train` → `register` → `infer` from a second clone, for a folder and an S3
//! data remote and for proxied and `s3://` run artifacts; then the same under injected faults
//! (idle connections closed, responses reset midway, 503 for a while, the server gone for 10 s)
//! and with training that outlasts the server's keep-alive. Every run must end FINISHED with
//! all its metrics and tags, once, and the clone must predict with the registered bytes.

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;
use vintner::track::rest::{RestConfig, RestTracker};
use vintner::track::{RunStatus, SearchRuns, Tracker, ViewType};

use crate::common::{Sandbox, git};
use crate::peers;
use crate::proxy::{Fault, Proxy};

/// One server with MLflow's defaults for the whole test binary.
struct TeamServer {
    url: String,
    _watchdog: std::process::Child,
}

fn team_server() -> &'static TeamServer {
    static SERVER: OnceLock<TeamServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("vintner-team-server-")
            .tempdir()
            .unwrap()
            .keep();
        let db = format!("sqlite:///{}", dir.join("team.db").display());
        // Nothing but the store: workers, keep-alive and artifact proxying are MLflow's defaults.
        let (url, watchdog) = peers::start_mlflow_server(&dir, &["--backend-store-uri", &db]);
        TeamServer {
            url,
            _watchdog: watchdog,
        }
    })
}

fn rest(url: &str) -> RestTracker {
    RestTracker::connect(RestConfig::from_env(url, &|_| None).unwrap()).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DataRemote {
    /// A folder (a NAS or a mounted share).
    Folder,
    S3,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Artifacts {
    /// The server's default: artifacts through its proxy.
    Proxied,
    /// The experiment's artifact location is `s3://…`: clients write there directly.
    S3,
}

/// What a cycle saw, for the checks each test adds.
struct Cycle {
    proxy: Option<Proxy>,
}

/// Runs `vintner` with the team's environment; panics with its stderr when it fails.
fn team_cmd(
    sb: &Sandbox,
    dir: &Path,
    tracking: &str,
    moto: Option<&peers::Moto>,
    args: &[&str],
) -> std::process::Output {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
    sb.isolate_std(&mut cmd);
    team_env(&mut cmd, tracking, moto);
    let out = cmd.current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "vintner {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn team_env(cmd: &mut std::process::Command, tracking: &str, moto: Option<&peers::Moto>) {
    cmd.env("MLFLOW_TRACKING_URI", tracking)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1");
    if let Some(m) = moto {
        cmd.env("MLFLOW_S3_ENDPOINT_URL", &m.endpoint);
    }
}

/// `train --json`, paused (SIGSTOP) for `pause` once the run's params are on the server, so
/// the process sits idle with its pooled connections as long as a long training would.
fn train_paused(
    sb: &Sandbox,
    dir: &Path,
    tracking: &str,
    moto: Option<&peers::Moto>,
    exp: &str,
    pause: Duration,
) -> Value {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
    sb.isolate_std(&mut cmd);
    team_env(&mut cmd, tracking, moto);
    let child = cmd
        .current_dir(dir)
        .args(["train", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let server = rest(&team_server().url);
    let start = Instant::now();
    loop {
        let started = server
            .get_experiment_by_name(exp)
            .unwrap()
            .map(|e| {
                server
                    .search_runs(&SearchRuns {
                        experiment_ids: vec![e.experiment_id],
                        filter: None,
                        order_by: vec![],
                        max_results: 10,
                        page_token: None,
                        view: ViewType::All,
                    })
                    .unwrap()
                    .runs
            })
            .unwrap_or_default()
            .iter()
            .any(|r| !r.data.params.is_empty());
        if started {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "train never logged its params"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    let signal = |sig: &str| {
        std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
    };
    assert!(signal("-STOP").success());
    std::thread::sleep(pause);
    assert!(signal("-CONT").success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "train failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Lists `s3://bucket/prefix` on moto (which needs no signature) and returns the keys.
fn s3_keys(moto: &peers::Moto, bucket: &str, prefix: &str) -> String {
    let host = moto.endpoint.trim_start_matches("http://");
    let (status, body) =
        peers::http_get(host, &format!("/{bucket}?list-type=2&prefix={prefix}")).unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// train → register → infer from a second clone; then what the server holds is checked.
fn cycle(
    label: &str,
    remote: DataRemote,
    artifacts: Artifacts,
    fault: Option<Fault>,
    pause: Option<Duration>,
) -> Cycle {
    let server = team_server();
    let sb = Sandbox::new();
    let moto = (remote == DataRemote::S3 || artifacts == Artifacts::S3).then(peers::Moto::start);
    let a = crate::workflow::project(&sb, "trainer", None);
    match remote {
        DataRemote::Folder => {
            let nas = sb.mkdir("nas");
            sb.vintner(&a)
                .args(["remote", "add", "-d", "nas"])
                .arg(&nas)
                .assert()
                .success();
        }
        DataRemote::S3 => {
            let moto = moto.as_ref().unwrap();
            moto.create_bucket("team");
            sb.vintner(&a)
                .args(["remote", "add", "-d", "s3", "s3://team/store"])
                .assert()
                .success();
            sb.vintner(&a)
                .args(["remote", "modify", "s3", "endpointurl", &moto.endpoint])
                .assert()
                .success();
        }
    }
    let exp = format!("{label}-{}", std::process::id());
    let toml = std::fs::read_to_string(a.join("vintner.toml"))
        .unwrap()
        .replace(
            "experiment = \"wine-quality\"",
            &format!("experiment = \"{exp}\""),
        )
        .replace(
            "model_name = \"wine-quality\"",
            &format!("model_name = \"{exp}\""),
        );
    std::fs::write(a.join("vintner.toml"), toml).unwrap();
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-qm", "team config"]);
    let direct = rest(&server.url);
    if artifacts == Artifacts::S3 {
        let moto = moto.as_ref().unwrap();
        moto.create_bucket("artifacts");
        direct
            .create_experiment(&exp, Some(&format!("s3://artifacts/{exp}")), &[])
            .unwrap();
    }
    let proxy = fault.map(|f| Proxy::start(&server.url, f));
    let tracking = proxy
        .as_ref()
        .map(|p| p.url.clone())
        .unwrap_or_else(|| server.url.clone());
    let m = moto.as_ref();

    team_cmd(&sb, &a, &tracking, m, &["push"]);
    let trained: Value = match pause {
        Some(p) => train_paused(&sb, &a, &tracking, m, &exp, p),
        None => {
            serde_json::from_slice(&team_cmd(&sb, &a, &tracking, m, &["train", "--json"]).stdout)
                .unwrap()
        }
    };
    let run_id = trained["run_id"].as_str().unwrap().to_string();
    let reg: Value =
        serde_json::from_slice(&team_cmd(&sb, &a, &tracking, m, &["register", "--json"]).stdout)
            .unwrap();
    assert_eq!(reg["run_id"], run_id.as_str());
    assert_eq!(reg["source"], format!("runs:/{run_id}/model"));
    assert!(!a.join("mlflow.db").exists(), "the server is the store");
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-qm", "model"]);

    // Someone else's clone only infers: no models/, no local store.
    git(sb.path(), &["clone", "-q", "trainer", "user"]);
    let b = sb.path().join("user");
    let red = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/winequality-red.csv");
    let out = team_cmd(
        &sb,
        &b,
        &tracking,
        m,
        &[
            "infer",
            "--input",
            &red.to_string_lossy(),
            "--format",
            "json",
        ],
    );
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["run_id"], run_id.as_str());
    assert_eq!(p["predictions"].as_array().unwrap().len(), 1599);
    assert!(!b.join("mlflow.db").exists());

    // What the server holds, read around the proxy: one FINISHED run with everything.
    let exp_id = direct
        .get_experiment_by_name(&exp)
        .unwrap()
        .unwrap()
        .experiment_id;
    let runs = direct
        .search_runs(&SearchRuns {
            experiment_ids: vec![exp_id],
            filter: None,
            order_by: vec![],
            max_results: 100,
            page_token: None,
            view: ViewType::ActiveOnly,
        })
        .unwrap()
        .runs;
    assert_eq!(runs.len(), 1, "one train, one active run");
    let run = direct.get_run(&run_id).unwrap();
    assert_eq!(run.info.status, RunStatus::Finished);
    assert!(run.info.end_time.is_some());
    let metrics: Vec<&str> = run.data.metrics.iter().map(|m| m.key.as_str()).collect();
    for name in vintner::ml::metrics::METRIC_NAMES {
        for key in [
            name.to_string(),
            format!("{name}_std"),
            format!("fold_{name}"),
        ] {
            assert!(
                metrics.contains(&key.as_str()),
                "{key} missing: {metrics:?}"
            );
        }
    }
    let history = direct.get_metric_history(&run_id, "fold_rmse").unwrap();
    let mut steps: Vec<i64> = history.iter().map(|m| m.step).collect();
    steps.sort();
    assert_eq!(steps, vec![0, 1, 2], "one point per fold, none doubled");
    let tag = |k: &str| {
        run.data
            .tags
            .iter()
            .find(|t| t.key == k)
            .map(|t| t.value.clone())
            .unwrap_or_else(|| panic!("tag {k} missing"))
    };
    assert_eq!(
        tag("vintner.model.md5"),
        trained["model"]["md5"].as_str().unwrap()
    );
    assert!(tag("vintner.data.md5").len() == 32);
    assert!(tag("vintner.schema").starts_with('{'));
    assert_eq!(tag("mlflow.source.git.commit").len(), 40);
    for (k, v) in [("n_estimators", "30"), ("cv.folds", "3")] {
        assert!(
            run.data.params.iter().any(|p| p.key == k && p.value == v),
            "param {k}"
        );
    }
    // The run's logged model (the registered source) is where the experiment keeps artifacts.
    match artifacts {
        Artifacts::Proxied => {
            let files: Vec<String> = direct
                .list_artifacts(&run_id, Some("model"))
                .unwrap()
                .into_iter()
                .map(|f| f.path)
                .collect();
            assert_eq!(files, ["model/MLmodel", "model/wine-quality.dvc"]);
        }
        Artifacts::S3 => {
            let keys = s3_keys(moto.as_ref().unwrap(), "artifacts", &exp);
            for f in ["model/MLmodel", "model/wine-quality.dvc"] {
                assert!(
                    keys.contains(&format!("{run_id}/artifacts/{f}")),
                    "{f} not in s3://artifacts/{exp}: {keys}"
                );
            }
        }
    }
    // The real DVC pulls the same model bytes from the data remote.
    let mut dvc = peers::dvc(&sb, &b);
    dvc.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .args(["pull", "models/wine-quality.dvc"])
        .assert()
        .success();
    assert!(b.join("models/wine-quality/MLmodel").is_file());
    Cycle { proxy }
}

#[test]
fn team_folder_remote_with_proxied_artifacts() {
    cycle(
        "folder-proxied",
        DataRemote::Folder,
        Artifacts::Proxied,
        None,
        None,
    );
}

#[test]
fn team_s3_remote_with_proxied_artifacts() {
    cycle("s3-proxied", DataRemote::S3, Artifacts::Proxied, None, None);
}

#[test]
fn team_folder_remote_with_s3_artifacts() {
    cycle(
        "folder-s3art",
        DataRemote::Folder,
        Artifacts::S3,
        None,
        None,
    );
}

#[test]
fn team_s3_remote_with_s3_artifacts() {
    cycle("s3-s3art", DataRemote::S3, Artifacts::S3, None, None);
}

#[test]
fn training_longer_than_the_servers_keep_alive() {
    // No proxy: the server's own 5 s keep-alive closes the pooled connection while training.
    cycle(
        "slow",
        DataRemote::Folder,
        Artifacts::Proxied,
        None,
        Some(Duration::from_secs(8)),
    );
}

#[test]
fn fault_idle_connections_closed_after_one_second() {
    let c = cycle(
        "idle",
        DataRemote::Folder,
        Artifacts::Proxied,
        Some(Fault::IdleClose(Duration::from_secs(1))),
        Some(Duration::from_secs(3)),
    );
    let injected = c.proxy.as_ref().unwrap().injected();
    assert!(injected.idle_closes.load(Ordering::SeqCst) > 0);
}

#[test]
fn fault_connection_reset_in_the_middle_of_a_response() {
    let c = cycle(
        "reset",
        DataRemote::Folder,
        Artifacts::Proxied,
        Some(Fault::ResetMidResponse(vec![
            "POST runs/create",
            "GET runs/get",
            "POST runs/update",
            "POST registered-models/alias",
            "GET registered-models/alias",
            "GET model-versions/get",
        ])),
        None,
    );
    let injected = c.proxy.as_ref().unwrap().injected();
    assert!(injected.resets.load(Ordering::SeqCst) >= 5);
}

#[test]
fn fault_server_answers_503_for_six_seconds() {
    let c = cycle(
        "unavailable",
        DataRemote::Folder,
        Artifacts::Proxied,
        Some(Fault::Unavailable(Duration::from_secs(6))),
        None,
    );
    let injected = c.proxy.as_ref().unwrap().injected();
    assert!(injected.unavailable.load(Ordering::SeqCst) >= 2);
}

#[test]
fn fault_server_gone_for_ten_seconds() {
    let c = cycle(
        "down",
        DataRemote::Folder,
        Artifacts::Proxied,
        Some(Fault::Down(Duration::from_secs(10))),
        None,
    );
    let injected = c.proxy.as_ref().unwrap().injected();
    assert!(injected.refused_while_down.load(Ordering::SeqCst) >= 1);
}
