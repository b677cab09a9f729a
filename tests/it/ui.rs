//! `vintner ui`: the pages over a store that `train` and `register` filled in a temporary
//! project, requested in-process through the router, and the command's start-up refusal.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use crate::common::{Sandbox, stderr as stderr_of};
use crate::peers;
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
    // MLflow 3's view of the same run: the data as a dataset input, the model as a logged model.
    assert!(
        run.contains("Dataset inputs") && run.contains("Logged models") && run.contains("m-"),
        "{run}"
    );

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
    // Since when: `register` moved the alias and recorded the time (MLflow keeps none).
    assert!(model.contains("→ version 1 since 20"), "{model}");

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

/// `vintner ui --port 0` started in `dir`: the server, the line it said, and its `host:port`.
fn start_ui(sb: &Sandbox, dir: &Path) -> (Server, String, String) {
    use std::io::BufRead;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
    sb.isolate_std(&mut cmd);
    let mut server = Server(
        cmd.current_dir(dir)
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
    (server, said, addr)
}

#[test]
fn ui_command_serves_on_loopback_and_says_where() {
    let sb = Sandbox::new();
    let dir = sb.mkdir("proj");
    sb.vintner(&dir)
        .args(["experiments", "create", "<demo>"])
        .assert()
        .success();
    let (server, said, addr) = start_ui(&sb, &dir);
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

// ---- in a real browser ----------------------------------------------------------------------

/// Loads `pages` (name, URL, keys to press) in headless Chromium through `tests/browser/visit.js`
/// and returns what it saw on each; screenshots go to `shots`.
fn browse(sb: &Sandbox, shots: &Path, pages: Value) -> Vec<Value> {
    let playwright = peers::peers_dir().join("browser/node_modules/playwright-core");
    assert!(
        playwright.is_dir(),
        "playwright-core is not installed at {}; run `bash tests/peers/install.sh browser`",
        playwright.display()
    );
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.is_file(),
        "Debian's chromium is missing; run `apt-get install -y chromium` (as .ci/run does)"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/visit.js");
    let input = serde_json::json!({
        "playwright": playwright,
        "chromium": chromium,
        // A fresh profile for each run: nothing cached, nothing remembered.
        "profile": sb.mkdir("chromium-profile"),
        "shots": shots,
        "pages": pages,
    });
    let mut cmd = std::process::Command::new("node");
    sb.isolate_std(&mut cmd);
    let mut child = cmd
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run node (install Node.js to run the browser tests)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.to_string().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the browser failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The page `name` of a [`browse`] report.
fn seen<'a>(report: &'a [Value], name: &str) -> &'a Value {
    report
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no page {name} in the report"))
}

/// The runs table of a page: its header cells and its rows.
fn runs_table(page: &Value) -> (Vec<String>, Vec<Vec<String>>) {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    let table = page["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["head"][0]
                .as_array()
                .is_some_and(|h| h.iter().any(|c| c == "Run ID"))
        })
        .unwrap_or_else(|| panic!("no runs table on {}", page["url"]));
    let head = strings(&table["head"][0]);
    let rows = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(strings)
        .collect();
    (head, rows)
}

/// The run ids of a runs table, top to bottom.
fn run_order(page: &Value) -> Vec<String> {
    let (head, rows) = runs_table(page);
    let col = head.iter().position(|h| h == "Run ID").unwrap();
    rows.into_iter().map(|r| r[col].clone()).collect()
}

/// The md5 that `models/*.dvc` records for the model output.
fn dvc_md5(proj: &Path) -> String {
    let dvc = std::fs::read_dir(proj.join("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "dvc"))
        .expect("a models/*.dvc file");
    let text = std::fs::read_to_string(&dvc).unwrap();
    text.lines()
        .find_map(|l| l.trim().trim_start_matches("- ").strip_prefix("md5: "))
        .unwrap_or_else(|| panic!("no md5 in {}:\n{text}", dvc.display()))
        .trim()
        .to_string()
}

#[test]
fn browser_shows_runs_sorts_by_keyboard_charts_folds_and_lineage() {
    let sb = Sandbox::new();
    let remote = sb.path().join("remote");
    let proj = project(&sb, "proj", Some(&remote));
    sb.vintner(&proj).arg("push").assert().success();
    let mut trained = Vec::new();
    let mut exp_id = String::new();
    let mut model_md5 = String::new();
    for (name, trees) in [("small", "3"), ("medium", "12"), ("large", "40")] {
        let t = json(
            &sb,
            &proj,
            &[
                "train",
                "--run-name",
                name,
                "-P",
                &format!("n_estimators={trees}"),
            ],
        );
        let id = t["run_id"].as_str().unwrap().to_string();
        let rmse = t["cv"]["mean"]["rmse"].as_f64().unwrap();
        let folds = t["cv"]["folds"].as_array().unwrap().len();
        exp_id = t["experiment_id"].as_str().unwrap().to_string();
        model_md5 = t["model"]["md5"].as_str().unwrap().to_string();
        trained.push((id, rmse, folds));
    }
    // The last run's model is the one `models/*.dvc` records now: register it.
    let best = trained.last().unwrap().0.clone();
    let reg = json(&sb, &proj, &["register", "--run", &best]);
    let model = reg["name"].as_str().unwrap().to_string();
    let md5_now = dvc_md5(&proj);
    assert_eq!(md5_now, model_md5);

    let (_server, _, addr) = start_ui(&sb, &proj);
    let base = format!("http://{addr}");
    let all: Vec<&str> = trained.iter().map(|(id, ..)| id.as_str()).collect();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-ui");
    let _ = std::fs::remove_dir_all(&shots);
    let report = browse(
        &sb,
        &shots,
        serde_json::json!([
            {"name": "experiments", "url": format!("{base}/")},
            {"name": "runs", "url": format!("{base}/experiments/{exp_id}"), "tabs": 60,
             "activate": ["rmse", "rmse"]},
            {"name": "run", "url": format!("{base}/runs/{best}")},
            {"name": "compare", "url": format!("{base}/compare?runs={}", all.join(","))},
            {"name": "models", "url": format!("{base}/models")},
            {"name": "model", "url": format!("{base}/models/{model}")},
            {"name": "unknown-run", "url": format!("{base}/runs/0123456789abcdef0123456789abcdef")},
            {"name": "unknown-model", "url": format!("{base}/models/no-such-model")},
            {"name": "broken-filter",
             "url": format!("{base}/experiments/{exp_id}?filter=metrics.rmse+%3C%3C+1")},
        ]),
    );
    for page in &report {
        let name = page["name"].as_str().unwrap();
        let shot = shots.join(format!("{name}.png"));
        let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "no screenshot of {name} at {}", shot.display());
    }

    // The runs: each run's rmse in its row, as the page formats numbers.
    let runs = seen(&report, "runs");
    assert_eq!(runs["status"], 200);
    let (head, rows) = runs_table(runs);
    let id_col = head.iter().position(|h| h == "Run ID").unwrap();
    let rmse_col = head
        .iter()
        .position(|h| h.starts_with("rmse"))
        .unwrap_or_else(|| panic!("no rmse column in {head:?}"));
    for (id, rmse, _) in &trained {
        let row = rows
            .iter()
            .find(|r| &r[id_col] == id)
            .unwrap_or_else(|| panic!("run {id} is not in the table: {rows:?}"));
        assert_eq!(
            row[rmse_col],
            vintner::cli::tracking::number(*rmse),
            "{row:?}"
        );
    }
    // Sorting by rmse, by keyboard (focus the header link, Enter): ascending, then descending.
    let mut by_rmse = trained.clone();
    by_rmse.sort_by(|a, b| a.1.total_cmp(&b.1));
    let ascending: Vec<String> = by_rmse.iter().map(|(id, ..)| id.clone()).collect();
    let descending: Vec<String> = ascending.iter().rev().cloned().collect();
    let after = runs["after"].as_array().unwrap();
    assert_eq!(run_order(&after[0]), ascending, "{}", after[0]["url"]);
    assert_eq!(run_order(&after[1]), descending, "{}", after[1]["url"]);
    // The sort links are reachable with Tab.
    let stops = runs["tab_stops"].as_array().unwrap();
    assert!(
        stops
            .iter()
            .any(|s| s["in_head"] == true && s["text"].as_str().unwrap().starts_with("rmse")),
        "Tab never reaches the rmse sort link: {stops:?}"
    );

    // The run: its id and model md5 on the page, and per-fold values charted, a point a fold.
    let run = seen(&report, "run");
    let text = run["text"].as_str().unwrap();
    assert!(text.contains(&best) && text.contains(&md5_now), "{text}");
    let folds = trained[0].2;
    let fold_chart = run["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == "fold_rmse")
        .unwrap_or_else(|| panic!("no fold_rmse chart: {}", run["charts"]));
    assert_eq!(fold_chart["paths"], 1, "{fold_chart}");
    assert_eq!(fold_chart["points"], folds, "{fold_chart}");

    // Compare: the fold chart overlays one path per run.
    let compare = seen(&report, "compare");
    let overlaid = compare["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"].as_str().unwrap().contains("fold_rmse"))
        .unwrap_or_else(|| panic!("no fold_rmse chart: {}", compare["charts"]));
    assert_eq!(overlaid["paths"], trained.len(), "{overlaid}");
    assert_eq!(overlaid["points"], trained.len() * folds, "{overlaid}");

    // The registry and the lineage: the md5 that models/*.dvc records.
    let models = seen(&report, "models");
    assert!(
        models["text"].as_str().unwrap().contains(&model),
        "{models}"
    );
    let lineage = seen(&report, "model");
    let text = lineage["text"].as_str().unwrap();
    assert!(
        text.contains(&md5_now) && text.contains(&best) && text.contains("champion"),
        "{text}"
    );

    // Bad input: 404 pages, and the filter's parse error on the page with the form kept.
    for name in ["unknown-run", "unknown-model"] {
        let page = seen(&report, name);
        assert_eq!(page["status"], 404, "{page}");
        assert!(
            page["text"].as_str().unwrap().contains("not found"),
            "{page}"
        );
    }
    let broken = seen(&report, "broken-filter");
    assert_eq!(broken["status"], 400, "{broken}");
    assert!(
        broken["text"].as_str().unwrap().contains("invalid filter"),
        "{broken}"
    );
}

// ---- MLflow's own UI: datasets and logged models --------------------------------------------

/// What MLflow's own client reads of a run: its dataset inputs, its logged models (and outputs)
/// and the registered version `model` 1.
const MLFLOW_READS: &str = r#"
import json, sys, mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
c = MlflowClient()
run = c.get_run(sys.argv[2])
inputs = [{"name": d.dataset.name, "digest": d.dataset.digest,
           "source_type": d.dataset.source_type, "source": json.loads(d.dataset.source),
           "schema": json.loads(d.dataset.schema), "profile": json.loads(d.dataset.profile),
           "tags": {t.key: t.value for t in d.tags}} for d in run.inputs.dataset_inputs]
models = c.search_logged_models(experiment_ids=[run.info.experiment_id],
                                filter_string=f"source_run_id = '{run.info.run_id}'")
logged = [{"id": m.model_id, "name": m.name, "status": str(m.status),
           "source_run_id": m.source_run_id, "tags": m.tags, "params": m.params,
           "artifact_location": m.artifact_location} for m in models]
outputs = [o.model_id for o in (run.outputs.model_outputs if run.outputs else [])]
versions = json.loads(c.get_logged_model(logged[0]["id"]).tags.get("mlflow.modelVersions", "[]")) if logged else []
mv = c.get_model_version(sys.argv[3], "1")
print(json.dumps({"inputs": inputs, "logged": logged, "outputs": outputs,
                  "versions": versions, "mv_run": mv.run_id}))
"#;

/// What [`mlflow_sees`] trained: run id, experiment id, logged model id, data path.
struct Seen {
    run_id: String,
    experiment_id: String,
    model_id: String,
    data_path: String,
}

/// Trains and registers in `proj` with `tracking` (an MLflow server's URL, or none for the
/// embedded store), then asks MLflow's client what it sees at `uri`.
fn mlflow_sees(sb: &Sandbox, proj: &Path, tracking: Option<&str>, uri: &str) -> Seen {
    let vintner = |args: &[&str]| -> Value {
        let mut cmd = sb.vintner(proj);
        if let Some(t) = tracking {
            cmd.env("MLFLOW_TRACKING_URI", t);
        }
        let out = cmd.args(args).arg("--json").output().unwrap();
        assert!(
            out.status.success(),
            "vintner {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let t = vintner(&["train", "--run-name", "seen"]);
    let run_id = t["run_id"].as_str().unwrap().to_string();
    let data_md5 = t["data"][0]["md5"].as_str().unwrap().to_string();
    let data_path = t["data"][0]["path"].as_str().unwrap().to_string();
    let model_md5 = t["model"]["md5"].as_str().unwrap().to_string();
    let rows = t["cv"]["n_rows"].as_u64().unwrap();
    let reg = vintner(&["register", "--run", &run_id]);
    let name = reg["name"].as_str().unwrap().to_string();
    // Registering again changes nothing (the version is listed once).
    vintner(&["register", "--run", &run_id]);

    std::fs::write(sb.path().join("reads.py"), MLFLOW_READS).unwrap();
    let out = peers::mlflow_python(sb, sb.path())
        .arg("reads.py")
        .args([uri, run_id.as_str(), name.as_str()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mlflow's client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    // Datasets: the training data by its DVC path and md5, with its source, schema and profile.
    let inputs = seen["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1, "{seen}");
    let d = &inputs[0];
    assert_eq!(d["name"], data_path.as_str(), "{d}");
    assert_eq!(d["digest"], data_md5.as_str(), "{d}");
    assert_eq!(d["source_type"], "dvc", "{d}");
    assert_eq!(d["source"]["path"], data_path.as_str(), "{d}");
    assert_eq!(d["source"]["md5"], data_md5.as_str(), "{d}");
    assert!(d["source"]["remote"].is_string(), "{d}");
    assert_eq!(d["tags"]["mlflow.data.context"], "training", "{d}");
    let columns = d["schema"]["mlflow_colspec"].as_array().unwrap();
    assert!(
        columns.iter().any(|c| c["name"] == "quality"),
        "{columns:?}"
    );
    assert_eq!(d["profile"]["num_rows"], rows, "{d}");
    assert_eq!(d["profile"]["num_columns"], columns.len(), "{d}");
    assert_eq!(
        d["profile"]["num_elements"],
        rows * columns.len() as u64,
        "{d}"
    );

    // Logged models: one, READY, made by the run, its output, with the model md5, and linked to
    // the registered version.
    let logged = seen["logged"].as_array().unwrap();
    assert_eq!(logged.len(), 1, "{seen}");
    let m = &logged[0];
    assert!(m["id"].as_str().unwrap().starts_with("m-"), "{m}");
    assert!(m["status"].as_str().unwrap().contains("READY"), "{m}");
    assert_eq!(m["source_run_id"], run_id.as_str(), "{m}");
    assert_eq!(m["tags"]["vintner.model.md5"], model_md5.as_str(), "{m}");
    assert!(m["params"]["n_estimators"].is_string(), "{m}");
    assert_eq!(seen["outputs"], serde_json::json!([m["id"]]), "{seen}");
    assert_eq!(
        seen["versions"],
        serde_json::json!([{"name": name, "version": "1"}]),
        "{seen}"
    );
    assert_eq!(seen["mv_run"], run_id.as_str());
    Seen {
        run_id,
        experiment_id: t["experiment_id"].as_str().unwrap().to_string(),
        model_id: m["id"].as_str().unwrap().to_string(),
        data_path,
    }
}

#[test]
fn mlflow_client_sees_datasets_and_logged_models_in_mlflow_db() {
    let sb = Sandbox::new();
    let remote = sb.path().join("remote");
    let proj = project(&sb, "proj", Some(&remote));
    sb.vintner(&proj).arg("push").assert().success();
    let db = format!("sqlite:///{}", proj.join("mlflow.db").display());
    mlflow_sees(&sb, &proj, None, &db);
}

#[test]
fn mlflow_client_sees_datasets_and_logged_models_on_a_server() {
    let sb = Sandbox::new();
    let remote = sb.path().join("remote");
    let proj = project(&sb, "proj", Some(&remote));
    sb.vintner(&proj).arg("push").assert().success();
    let dir = sb.mkdir("server");
    let db = format!("sqlite:///{}", dir.join("server.db").display());
    let (url, _watchdog) = peers::start_mlflow_server(&dir, &["--backend-store-uri", &db]);
    let trained = mlflow_sees(&sb, &proj, Some(&url), &url);

    // MLflow's own UI, in the browser: the run's Datasets and Logged models panels are filled.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-mlflow-ui");
    let _ = std::fs::remove_dir_all(&shots);
    let run_page = format!(
        "{url}/#/experiments/{}/runs/{}",
        trained.experiment_id, trained.run_id
    );
    let report = browse(
        &sb,
        &shots,
        serde_json::json!([{"name": "mlflow-run", "url": run_page, "wait_for": [trained.data_path],
            "wait_for_link": [trained.model_id]}]),
    );
    let page = seen(&report, "mlflow-run");
    let text = page["text"].as_str().unwrap();
    assert!(
        text.contains("Datasets") && text.contains(&trained.data_path),
        "{text}"
    );
    assert!(
        page["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains(&trained.model_id)),
        "no link to the logged model {} on MLflow's run page: {}",
        trained.model_id,
        page["links"]
    );
}
