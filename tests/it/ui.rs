//! `vintner ui`: the pages over a store that `train` and `register` filled in a temporary
//! project, requested in-process through the router, and the command's start-up refusal.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use crate::common::{Sandbox, stderr as stderr_of};
use crate::workflow::project;

fn json(sb: &Sandbox, cwd: &Path, args: &[&str]) -> Value {
    let out = sb.vintner(cwd).args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "vintner {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// GETs `uri` from the router over the project's `mlflow.db`: status and body.
fn get(db: &Path, uri: &str) -> (StatusCode, String) {
    get_from(db, uri, "127.0.0.1:5002")
}

/// [`get`] with the `Host` header a browser would send.
fn get_from(db: &Path, uri: &str, host: &str) -> (StatusCode, String) {
    let store = vintner::track::sqlite::SqliteStore::open_existing(db).unwrap();
    let app = vintner::ui::app(vintner::ui::UiState {
        tracker: Arc::new(store),
        registry_metric: "rmse".into(),
        loopback_only: true,
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let req = Request::get(uri).header("host", host);
        let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    })
}

fn ok(db: &Path, uri: &str) -> String {
    let (status, body) = get(db, uri);
    assert_eq!(status, StatusCode::OK, "GET {uri}:\n{body}");
    assert!(!body.contains("<script"), "GET {uri} has a script:\n{body}");
    body
}

#[test]
fn pages_show_runs_lineage_and_registry_read_only() {
    let sb = Sandbox::new();
    let remote = sb.path().join("remote");
    let proj = project(&sb, "proj", Some(&remote));
    sb.vintner(&proj).arg("push").assert().success();
    let first = json(&sb, &proj, &["train", "--run-name", "first"]);
    let second = json(
        &sb,
        &proj,
        &["train", "--run-name", "second", "-P", "n_estimators=10"],
    );
    let run_id = first["run_id"].as_str().unwrap().to_string();
    let other_id = second["run_id"].as_str().unwrap().to_string();
    let model_md5 = first["model"]["md5"].as_str().unwrap().to_string();
    let data_md5 = first["data"][0]["md5"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_default();
    let reg = json(&sb, &proj, &["register", "--run", &run_id]);
    let name = reg["name"].as_str().unwrap().to_string();
    // A tag value a browser would run if it were not escaped.
    sb.vintner(&proj)
        .args([
            "runs",
            "tag",
            "set",
            &run_id,
            "note",
            "<script>alert(1)</script>",
        ])
        .assert()
        .success();
    let db = proj.join("mlflow.db");
    let before = std::fs::read(&db).unwrap();
    let exp_id = first["experiment_id"].as_str().unwrap().to_string();

    let home = ok(&db, "/");
    assert!(home.contains(&format!("/experiments/{exp_id}")), "{home}");

    let runs = ok(&db, &format!("/experiments/{exp_id}"));
    assert!(runs.contains(&run_id) && runs.contains(&other_id), "{runs}");
    assert!(runs.contains("prefers-color-scheme"), "{runs}");
    // The registry metric is the first metric column.
    let header = &runs[runs.find("<thead>").unwrap()..runs.find("</thead>").unwrap()];
    let rmse = header.find(">rmse").expect("an rmse column");
    assert!(header.find(">mae").is_none_or(|mae| rmse < mae), "{header}");

    // Sorting by rmse both ways reverses the two rows.
    let asc = ok(
        &db,
        &format!("/experiments/{exp_id}?order_by=metrics.rmse+ASC"),
    );
    let desc = ok(
        &db,
        &format!("/experiments/{exp_id}?order_by=metrics.rmse+DESC"),
    );
    let order = |page: &str| page.find(&run_id).unwrap() < page.find(&other_id).unwrap();
    assert_ne!(order(&asc), order(&desc));

    // A filter in runs list's grammar, and pages linked by MLflow page tokens.
    let filtered = ok(
        &db,
        &format!("/experiments/{exp_id}?filter=attributes.run_name+%3D+%27second%27"),
    );
    assert!(
        filtered.contains(&other_id) && !filtered.contains(&run_id),
        "{filtered}"
    );
    let page1 = ok(&db, &format!("/experiments/{exp_id}?max_results=1"));
    let token = page1
        .split("page_token=")
        .nth(1)
        .and_then(|t| t.split(['"', '&']).next())
        .expect("a next page link");
    let page2 = ok(
        &db,
        &format!("/experiments/{exp_id}?max_results=1&page_token={token}"),
    );
    assert_ne!(page1.contains(&run_id), page2.contains(&run_id));

    // A broken filter: 400, the parse error on the page, the form kept.
    let (status, body) = get(
        &db,
        &format!("/experiments/{exp_id}?filter=metrics.rmse+%3C%3C+1"),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("invalid filter") && body.contains("name=\"filter\""),
        "{body}"
    );

    // The run: its id, lineage with the fetch commands, charts, the tag escaped.
    let run = ok(&db, &format!("/runs/{run_id}"));
    assert!(run.contains(&run_id) && run.contains(&model_md5), "{run}");
    if !data_md5.is_empty() {
        assert!(run.contains(&data_md5), "{run}");
    }
    assert!(
        run.contains("vintner pull ") && run.contains("dvc pull "),
        "{run}"
    );
    assert!(
        run.contains(&format!("vintner infer --run {run_id}")),
        "{run}"
    );
    assert!(run.contains("<svg") && run.contains("<path "), "{run}");
    assert!(
        run.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{run}"
    );
    assert!(run.contains(&format!("/models/{name}")), "{run}");

    // Compare: both runs, the differing param marked, overlaid charts (a path per run).
    let cmp = ok(&db, &format!("/compare?runs={run_id},{other_id}"));
    assert!(cmp.contains(&run_id) && cmp.contains(&other_id), "{cmp}");
    assert!(cmp.contains("class=\"differs\""), "{cmp}");
    let scatter = ok(
        &db,
        &format!("/compare?runs={run_id}&runs={other_id}&x=n_estimators&y=rmse"),
    );
    assert!(scatter.contains("rmse by n_estimators"), "{scatter}");
    let (status, body) = get(&db, &format!("/compare?runs={run_id}"));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // The registry: the model, its version linked to the run and the model md5.
    let models = ok(&db, "/models");
    assert!(
        models.contains(&format!("/models/{name}")) && models.contains("@champion"),
        "{models}"
    );
    let model = ok(&db, &format!("/models/{name}"));
    assert!(
        model.contains(&run_id) && model.contains(&model_md5),
        "{model}"
    );
    assert!(
        model.contains("@champion") && model.contains("<svg"),
        "{model}"
    );

    // Unknown ids: 404 pages; a write method is refused.
    for uri in [
        "/runs/0123456789abcdef0123456789abcdef",
        "/models/nope",
        "/experiments/999",
        "/nope",
    ] {
        let (status, body) = get(&db, uri);
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {uri}:\n{body}");
        assert!(body.contains("not found"), "{body}");
    }

    // A page reached through another name (DNS rebinding) is refused on loopback.
    let (status, body) = get_from(&db, &format!("/runs/{run_id}"), "evil.example:5002");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(!body.contains(&model_md5), "{body}");
    assert_eq!(get_from(&db, "/", "localhost:5002").0, StatusCode::OK);

    // Reading changed nothing.
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the pages wrote to mlflow.db"
    );
}

#[test]
fn ui_without_a_store_fails_at_start_up_and_creates_none() {
    let sb = Sandbox::new();
    let dir = sb.mkdir("empty");
    let out = sb
        .vintner(&dir)
        .args(["ui", "--port", "0"])
        .assert()
        .code(1);
    let err = stderr_of(&out);
    assert!(
        err.contains("no tracking store") && err.contains("hint:"),
        "{err}"
    );
    assert!(!dir.join("mlflow.db").exists());
}

/// One raw HTTP/1.1 request to `addr`: the whole response as text.
fn http(addr: &str, method: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Stops the server however the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ui_command_serves_on_loopback_and_says_where() {
    use std::io::BufRead;
    let sb = Sandbox::new();
    let dir = sb.mkdir("proj");
    sb.vintner(&dir)
        .args(["experiments", "create", "<demo>"])
        .assert()
        .success();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
    sb.isolate_std(&mut cmd);
    let mut server = Server(
        cmd.current_dir(&dir)
            .args(["ui", "--port", "0"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = std::io::BufReader::new(server.0.stderr.take().unwrap()).lines();
    let said = lines.next().unwrap().unwrap();
    let addr = said
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {said:?}"))
        .to_string();
    let home = http(&addr, "GET", "/");
    let posted = http(&addr, "POST", "/");
    drop(server);
    assert!(addr.starts_with("127.0.0.1:"), "{said}");
    assert!(said.contains("read-only"), "{said}");
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    assert!(
        home.contains("&lt;demo&gt;") && !home.contains("<demo>"),
        "{home}"
    );
    assert!(
        home.to_ascii_lowercase()
            .contains("content-security-policy: default-src 'none'"),
        "{home}"
    );
    assert!(posted.starts_with("HTTP/1.1 405"), "{posted}");
}
